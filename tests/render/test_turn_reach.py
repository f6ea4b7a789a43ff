"""A head turn reaches the commanded angle on faces the photo shows turned, not only frontal ones.

The warp turns a smoothed depth map with the landmarks' relief tapered to nothing at the face's
oval; on a face turned 35 degrees in the photo the far half lies in that taper, and the turn fell
0.2 short. Checked with tools we did not write: OpenCV's optical flow on the rendered frames, and
MediaPipe re-detecting the turn.
"""

import cv2
import numpy as np
import pytest

from gioconda.eval.measure import FaceMeasurer
from gioconda.face.portrait import analyze_portrait
from gioconda.geometry import rotation_matrix, solve_pose
from gioconda.motion.frames import MotionFrame
from gioconda.render.renderer import Renderer
from gioconda.render.rig import FRONTAL_YAW_GAIN, drawn_yaw_gain, rest_yaw

N_MESH = 468


@pytest.fixture(scope="module")
def turned_renderer(mona_renderer: Renderer) -> Renderer:
    """A face the photo shows turned about 35 degrees: the Mona Lisa (turned 19) rendered turned
    15 degrees further, taken as a new photo."""
    photo = mona_renderer.render(MotionFrame.still((-15.0, 0.0, 0.0)))
    return Renderer(analyze_portrait(photo, 512))


def _flow_shares(renderer: Renderer, gain: float | tuple[float, float]) -> list[float]:
    """How far the rendered image moves at the landmarks when the head turns 10 degrees to -yaw
    and to +yaw (OpenCV's DIS optical flow from the rest frame), as shares of a rigid turn of the
    photo's own 3D landmarks (none behind the pivot: there the head is seen edge on): the
    least-squares slope about the mean, one a turn."""
    kept = renderer.yaw_gain
    renderer.yaw_gain = gain
    try:
        grey = [
            cv2.cvtColor(renderer.render(MotionFrame.still((yaw, 0.0, 0.0))), cv2.COLOR_RGB2GRAY)
            for yaw in (0.0, -10.0, 10.0)
        ]
    finally:
        renderer.yaw_gain = kept
    landmarks, pivot = renderer.rig.neutral[:N_MESH], renderer.rig.pivot
    points = landmarks.copy()
    points[:, 2] = np.minimum(points[:, 2], pivot[2])
    x, y = np.round(landmarks[:, :2]).astype(int).T
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    shares = []
    for yaw, frame in zip((-10.0, 10.0), grey[1:], strict=True):
        moved = flow.calc(grey[0], frame, None)[y, x, 0]
        rigid = (points - pivot) @ rotation_matrix(yaw, 0.0, 0.0)[0] - (points[:, 0] - pivot[0])
        rigid, moved = rigid - rigid.mean(), moved - moved.mean()
        shares.append(float(rigid @ moved) / float(rigid @ rigid))
    return shares


def test_a_turned_face_turns_as_far_as_its_own_shape(turned_renderer):
    """The photo's own yaw takes the frontal gain away; the features' further turn still makes up
    what the warp's smoothing loses, so the frame moves as a rigid turn of the photo's 3D
    landmarks would (it moved 0.77 as far without it)."""
    own = rest_yaw(turned_renderer.portrait.landmarks)
    assert own < -28 and drawn_yaw_gain(own) == 1.0
    assert min(turned_renderer.yaw_gain) > 1.15
    for share in _flow_shares(turned_renderer, turned_renderer.yaw_gain):
        assert 0.93 < share < 1.07
    # What the frontal gain alone drew.
    assert max(_flow_shares(turned_renderer, 1.0)) < 0.85


def test_a_frontal_face_keeps_its_gain(astronaut_renderer):
    """On a frontal face the frontal gain already covers the warp's own shortfall: its frames are
    as before."""
    assert astronaut_renderer.yaw_gain == (FRONTAL_YAW_GAIN, FRONTAL_YAW_GAIN)


def test_the_mona_lisa_reads_the_commanded_turn(mona_renderer):
    """MediaPipe re-detects the Mona Lisa (turned 19 degrees in the painting) turned 10 degrees
    each way as turned that far, within 10 % (the slope through both, as `gioconda eval render`'s
    yaw k: Face Mesh reads her turns toward the camera a little further than those away)."""
    commanded = np.array([-10.0, 10.0])
    with FaceMeasurer(video=False) as measurer:
        rest = measurer.measure(mona_renderer.render(MotionFrame.still())).landmarks
        read = []
        for yaw in commanded:
            frame = mona_renderer.render(MotionFrame.still((yaw, 0.0, 0.0)))
            read.append(solve_pose(rest, measurer.measure(frame).landmarks)[0])
    assert 0.9 < float(commanded @ read) / float(commanded @ commanded) < 1.1, read
