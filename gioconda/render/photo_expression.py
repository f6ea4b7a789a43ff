"""The photo's own expression, as blendshapes, so that a chosen emotion can replace it.

The renderer's rig moves a portrait's landmarks from the photo as it is: a smiling photo
asked to look sad would smile and frown at once. What the photo's face already does is
estimated here as the rig's own blendshapes (so that applying them negatively undoes it),
from the one cue a single photo gives without a neutral of the same person: where the mouth's
corners sit against the line where the lips meet. A face at rest holds its corners a little
below that line; a smile lifts them by :data:`gioconda.render.rig.SMILE_LIFT` mouth widths per unit
of ``MouthSmile``, a frown drops them by :data:`gioconda.render.rig.FROWN_DROP`.
"""

from __future__ import annotations

import numpy as np

from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES, BS
from gioconda.render.rig import FROWN_DROP, REST_CORNER_LIFT, SMILE_LIFT, FaceRig

#: Corners this far below the rest height before any of it is read as a frown (mouth widths):
#: faces differ more than a smile's first hundredths.
FROWN_DEAD_ZONE = 0.03
#: Mouth-corner landmarks by side, and the inner lips' middle.
CORNERS = {"Right": 61, "Left": 291}
SEAM = (13, 14)


def photo_expression(rig: FaceRig) -> np.ndarray:
    """The photo's own expression as blendshapes, (52,) float32 in [0, 1].

    Only the mouth's corners are read (smile and frown, one side each): they are what a
    chosen emotion must be able to undo, and the one cue a single photo carries reliably.
    """
    shapes = np.zeros(len(ARKIT_BLENDSHAPES), np.float32)
    seam = rig.xy[list(SEAM), 1].mean()
    for side, corner in CORNERS.items():
        lift = (seam - rig.xy[corner, 1]) / rig.mouth_width - REST_CORNER_LIFT
        shapes[BS[f"MouthSmile{side}"]] = np.clip(lift / SMILE_LIFT, 0.0, 1.0)
        drop = -lift - FROWN_DEAD_ZONE
        shapes[BS[f"MouthFrown{side}"]] = np.clip(drop / FROWN_DROP, 0.0, 1.0)
    return shapes


#: A chosen smile this strong keeps all of a smiling photo's own and smiles on top of it.
CHOSEN_SMILE_KEEPS = 0.3
_SMILES = [BS["MouthSmileLeft"], BS["MouthSmileRight"]]


def undone_expression(
    shapes: np.ndarray, replaces_photo: float, photo: np.ndarray
) -> np.ndarray | None:
    """How much of the photo's own expression ``photo`` (52,) to take back in a frame with
    ``shapes`` (52,): (52,) float32 to subtract from the frame's shapes, or None for nothing.

    All of it as far as the chosen emotion replaces it (``replaces_photo``, 0 to 1), except
    that a chosen smile keeps a smiling photo's own and smiles on top of it ("happy" on a
    smiling photo smiles more than the photo).
    """
    undo = float(replaces_photo) * photo.astype(np.float32)
    own, chosen = photo[_SMILES], shapes[_SMILES]
    kept = own * np.clip(chosen / CHOSEN_SMILE_KEEPS, 0.0, 1.0)
    undo[_SMILES] = float(replaces_photo) * (own - kept)
    return undo.astype(np.float32) if undo.any() else None
