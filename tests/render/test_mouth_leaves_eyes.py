"""The mouth's gestures stay below the eyes.

On a short face or a broad smile (the astronaut: her mouth is as wide as her eyes are apart)
the mouth's region, measured in mouth widths, reached the lower lids: a smile, or a smiling
photo's smile undone for a chosen emotion, moved her eyes and irises with the mouth's corners,
so a frowning emotion's lowered brows read as raised above the eyes (disgusted +0.003).
"""

import numpy as np
import pytest

from gioconda.eval.measure import FaceMeasurer
from gioconda.eval.motion_controls import expression_features
from gioconda.face.topology import (
    IRIS_CENTRES,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from gioconda.motion.controls import EMOTIONS
from gioconda.motion.frames import MotionFrame
from gioconda.render.rig import FaceRig

EYES = sorted(set(RIGHT_EYE_UPPER + RIGHT_EYE_LOWER + LEFT_EYE_UPPER + LEFT_EYE_LOWER))

# Mouth gestures at full strength, negative as a photo's own undone.
MOUTH_GESTURES = [
    {"MouthSmileLeft": 1.0, "MouthSmileRight": 1.0},
    {"MouthSmileLeft": -1.0, "MouthSmileRight": -1.0},
    {"MouthFrownLeft": 1.0, "MouthFrownRight": 1.0},
    {"MouthStretchLeft": 1.0, "MouthStretchRight": 1.0},
    {"MouthDimpleLeft": 1.0, "MouthDimpleRight": 1.0},
    {"MouthLeft": 1.0},
    {"MouthPucker": 1.0},
    {"JawOpen": 1.0},
]


@pytest.mark.parametrize("portrait", ["astronaut_portrait", "mona_portrait"])
def test_mouth_gestures_leave_the_eyes_and_irises_where_they_are(request, portrait):
    rig = FaceRig(request.getfixturevalue(portrait).landmarks)
    rest = rig.expressions(MotionFrame.still())[0]
    moved = []
    for shapes in MOUTH_GESTURES:
        posed = rig.expressions(MotionFrame.still(**shapes))[0]
        ids = EYES + list(IRIS_CENTRES)
        shift = np.linalg.norm(posed[ids, :2] - rest[ids, :2], axis=1).max() / rig.inter_ocular
        if shift > 0.002:
            moved.append(f"{shapes}: eyes moved {shift:.3f} inter-ocular distances")
    assert not moved, moved


@pytest.fixture(scope="module")
def astronaut_features(astronaut_renderer):
    """Re-detected (corner lift, brow height, eye openness) of the astronaut by pose name."""
    poses = {
        "photo": MotionFrame.still(),
        "smile undone": MotionFrame.still(replaces_photo=1.0),
        "disgusted": MotionFrame.still(replaces_photo=1.0, **EMOTIONS["disgusted"]),
    }
    with FaceMeasurer(video=False) as measurer:
        found = {
            name: measurer.measure(astronaut_renderer.render(frame)).landmarks
            for name, frame in poses.items()
        }
    assert all(lm is not None for lm in found.values())
    return {k: expression_features(lm) for k, lm in found.items()}


def test_undoing_a_smile_leaves_the_brows_height_above_the_eyes(astronaut_features):
    # Before the fix the undone smile took her eyes down and read as brows raised +0.039.
    change = astronaut_features["smile undone"] - astronaut_features["photo"]
    assert change[0] < -0.05  # the smile is gone
    assert abs(change[1]) < 0.02


def test_disgust_lowers_the_astronauts_brows(astronaut_features):
    # FACS AU4 (with AU9): the brows come down. The motion evaluation needs below -0.01.
    change = astronaut_features["disgusted"] - astronaut_features["photo"]
    assert change[1] < -0.015
