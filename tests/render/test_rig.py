"""The face rig's upper-face and extra mouth shapes, checked on rendered frames by MediaPipe
re-detecting the face, and on the rig's own landmarks (no folds, lids and lips that meet)."""

import numpy as np
import pytest
from scipy.spatial import Delaunay

from gioconda.eval.measure import FaceMeasurer
from gioconda.face.topology import (
    LEFT_BROW_UPPER,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    RIGHT_BROW_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    eye_openness,
)
from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES, BS
from gioconda.motion.controls import EMOTIONS
from gioconda.motion.frames import Motion, MotionFrame
from gioconda.render.renderer import Renderer
from gioconda.render.rig import FaceRig

BOTH_SIDES = ("BrowDown", "BrowOuterUp", "EyeSquint", "EyeWide", "MouthFrown", "NoseSneer",
              "CheekSquint")  # fmt: skip


def _shapes(**values: float) -> np.ndarray:
    """Blendshapes by name; a name in BOTH_SIDES sets its Left and Right channels."""
    shapes = np.zeros(len(ARKIT_BLENDSHAPES), np.float32)
    for name, value in values.items():
        for channel in (f"{name}Left", f"{name}Right") if name in BOTH_SIDES else (name,):
            shapes[BS[channel]] = value
    return shapes


def _motion_frame(shapes: np.ndarray) -> MotionFrame:
    motion = Motion.rest(1, 25.0)
    motion.blendshapes[0] = shapes
    return motion.frame(0)


def _features(landmarks: np.ndarray) -> dict[str, float]:
    """What a viewer reads off a face, from re-detected landmarks; up is positive.

    corners: mouth corners above the lips' middle, mouth widths; brows: the brows' upper edge
    above the irises, inter-iris distances; eyes: lid-to-lid opening over eye width (mean of
    both); nostrils: the nose's wings above the eyes' corners, inter-iris distances.
    """
    lm = landmarks[:, :2]
    mouth_width = np.linalg.norm(lm[291] - lm[61])
    iod = np.linalg.norm(lm[468] - lm[473])
    iris_y = (lm[468, 1] + lm[473, 1]) / 2
    eye_corners_y = lm[[33, 133, 263, 362], 1].mean()
    return {
        "corners": ((lm[13, 1] + lm[14, 1]) / 2 - (lm[61, 1] + lm[291, 1]) / 2) / mouth_width,
        "brows": (iris_y - lm[list(RIGHT_BROW_UPPER + LEFT_BROW_UPPER), 1].mean()) / iod,
        "eyes": float(eye_openness(landmarks).mean()),
        "nostrils": (eye_corners_y - lm[[64, 294, 129, 358, 98, 327], 1].mean()) / iod,
    }


@pytest.fixture(scope="module")
def measurer():
    with FaceMeasurer(video=False) as m:
        yield m


@pytest.fixture(scope="module", params=["mona_portrait", "astronaut_portrait"])
def redetect(request, measurer):
    """For one portrait: the change of each feature from the rest frame under some shapes."""
    renderer = Renderer(request.getfixturevalue(request.param))

    def features(shapes: np.ndarray) -> dict[str, float]:
        found = measurer.measure(renderer.render(_motion_frame(shapes))).landmarks
        assert found is not None
        return _features(found)

    rest = features(_shapes())

    def change(**values: float) -> dict[str, float]:
        moved = features(_shapes(**values))
        return {k: moved[k] - rest[k] for k in rest}

    return change


# Each gesture at 1, the feature it moves, and the least change (sign = direction) that counts:
# about half of what MediaPipe reads on the weaker of the two portraits (the Mona Lisa has no
# eyebrows to see), and well clear of what other gestures move the same feature by chance.
GESTURES = [
    ({"BrowInnerUp": 1.0}, "brows", 0.02),
    ({"BrowOuterUp": 1.0}, "brows", 0.015),
    ({"BrowDown": 1.0}, "brows", -0.02),
    ({"MouthFrown": 1.0}, "corners", -0.035),
    ({"EyeSquint": 1.0}, "eyes", -0.015),
    ({"EyeWide": 1.0}, "eyes", 0.02),
    ({"NoseSneer": 1.0}, "nostrils", 0.006),
]


def test_gestures_move_what_a_viewer_sees(redetect):
    failed = []
    for values, feature, least in GESTURES:
        change = redetect(**values)[feature]
        if not change * np.sign(least) > abs(least):
            failed.append(f"{values}: {feature} {change:+.3f}, wanted {least:+.3f} or beyond")
    assert not failed, failed


# -- the rig's own landmarks ----------------------------------------------------------------


@pytest.fixture(scope="module", params=["mona_portrait", "astronaut_portrait"])
def rig(request):
    return FaceRig(request.getfixturevalue(request.param).landmarks)


def _face_y(rig: FaceRig, points: np.ndarray) -> np.ndarray:
    return points[:, :2] @ rig.axes[1]


def test_rest_is_the_neutral_face_exactly(rig):
    assert np.array_equal(rig.expression(_motion_frame(_shapes())), rig.neutral)


NEW_SHAPES = [
    name
    for name in ARKIT_BLENDSHAPES
    if name.startswith(("Brow", "Cheek", "Nose", "EyeSquint", "EyeWide"))
    or name.startswith(("MouthFrown", "MouthPress", "MouthDimple", "MouthLowerDown"))
    or name.startswith(("MouthShrug", "MouthRollUpper", "MouthLeft", "MouthRight"))
]


def test_every_new_shape_moves_the_face(rig):
    for name in NEW_SHAPES:
        moved = rig.expression(_motion_frame(_shapes(**{name: 1.0}))) - rig.neutral
        # At least a pixel somewhere on a face a few hundred pixels tall.
        assert np.abs(moved[:, :2]).max() > 1.0, name


def test_new_shapes_and_emotions_do_not_fold_the_mesh(rig):
    """No triangle of the landmark mesh turns over (the warp would tear or fold there)."""
    points = rig.neutral[:468, :2]
    triangles = Delaunay(points).simplices
    upper, lower = set(LIPS_INNER_UPPER[1:-1]), set(LIPS_INNER_LOWER[1:-1])
    # Triangles across the mouth's opening close with the lips, by design; slivers (under 1.5
    # pixels high) at the edge of a turned face flip from sub-pixel moves.
    across_mouth = np.array([bool(set(t) & upper and set(t) & lower) for t in triangles])

    def signed_area(p: np.ndarray) -> np.ndarray:
        a, b, c = p[triangles[:, 0]], p[triangles[:, 1]], p[triangles[:, 2]]
        return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])

    rest = signed_area(points)
    longest = np.max(
        [np.linalg.norm(points[triangles[:, i]] - points[triangles[:, i - 1]], axis=1)
         for i in range(3)], axis=0,
    )  # fmt: skip
    judged = ~across_mouth & (np.abs(rest) / longest > 1.5)
    cases = {name: _shapes(**{name: 1.0}) for name in NEW_SHAPES}
    for emotion, preset in EMOTIONS.items():
        cases[emotion] = _shapes(**preset)
    for label, shapes in cases.items():
        moved = rig.expression(_motion_frame(shapes))[:468, :2]
        ratio = signed_area(moved)[judged] / rest[judged]
        assert ratio.min() > 0.1, label


def test_lids_meet_but_never_cross(rig):
    """A squinting, cheek-raised eye that blinks shuts; the lids do not pass each other."""
    shut = _shapes(EyeBlinkLeft=1.0, EyeBlinkRight=1.0, EyeSquint=1.0, CheekSquint=1.0)
    posed = rig.expression(_motion_frame(shut))
    for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
        gap = _face_y(rig, posed[list(lower[1:-1])]) - _face_y(rig, posed[list(upper[1:-1])])
        assert np.all(gap > -0.05) and np.all(gap < 0.5)


def test_a_wide_eye_stays_below_the_brow(rig):
    posed = rig.expression(_motion_frame(_shapes(EyeWide=1.0, BrowDown=1.0)))
    for lid, brow in ((RIGHT_EYE_UPPER, RIGHT_BROW_UPPER), (LEFT_EYE_UPPER, LEFT_BROW_UPPER)):
        assert _face_y(rig, posed[list(lid)]).min() > _face_y(rig, posed[list(brow)]).max()


def test_mouth_close_still_shuts_the_lips_whatever_else_moves_them(rig):
    """The closure that /p b m/ relies on wins over the new lip shapes."""
    shapes = _shapes(
        JawOpen=0.3, MouthClose=1.0, MouthLowerDownLeft=1.0, MouthLowerDownRight=1.0,
        MouthShrugLower=1.0, MouthShrugUpper=1.0, MouthPressLeft=1.0, MouthPressRight=1.0,
        MouthFrown=1.0, MouthRollUpper=1.0, NoseSneer=1.0,
    )  # fmt: skip
    posed = rig.expression(_motion_frame(shapes))
    gap = _face_y(rig, posed[list(LIPS_INNER_LOWER)]) - _face_y(rig, posed[list(LIPS_INNER_UPPER)])
    assert gap.max() < 0.01 * rig.mouth_width
