"""A dropping jaw moves the chin and squeezes the throat under it; the neck column's foot, where
the head layer ends over the still chest, moves as little as that squeeze without a fold allows
(issue 14: the column's foot slid over what lies below it by over half the chin's drop)."""

from __future__ import annotations

import numpy as np
import pytest

from gioconda.face.topology import CHIN, FACE_OVAL
from gioconda.motion.frames import MotionFrame
from gioconda.render.renderer import Renderer

#: How far below the chin's level, share of the crop, the neck column counts as its foot (the
#: column reaches about 0.09 below it).
FOOT_DEPTH = 0.08


def _jaw_drop(renderer: Renderer) -> tuple[np.ndarray, np.ndarray, float]:
    """The forward field at JawOpen 1 (no head motion), each pixel's distance below the chin's
    level along the face's down axis, and the chin's own drop, pixels."""
    frame = MotionFrame.still(JawOpen=1.0)
    head = renderer.rig.head(frame)
    expressed, _ = renderer.rig.expressions(frame)
    field = renderer.forward_field(head, renderer._landmark_motion(head, expressed).expression)
    neutral, down = renderer.rig.neutral, renderer.rig.axes[1].astype(np.float32)
    centre = neutral[list(FACE_OVAL), :2].mean(0)
    chin = float((neutral[CHIN, :2] - centre) @ down)
    grid = np.stack(np.meshgrid(np.arange(renderer.size), np.arange(renderer.size)), -1)
    below = (grid.astype(np.float32) - centre) @ down - chin
    chin_drop = float((expressed[CHIN, :2] - neutral[CHIN, :2]) @ down)
    return field, below, chin_drop


def test_the_neck_columns_foot_barely_moves_as_the_jaw_drops(mona_renderer: Renderer) -> None:
    renderer = mona_renderer
    field, below, chin_drop = _jaw_drop(renderer)
    foot = (renderer.layers.region.neck > 0) & (below > FOOT_DEPTH * renderer.size)
    assert foot.sum() > 200
    shown = np.linalg.norm(field, axis=-1) * renderer.layers.alpha
    # (Before: 21 px of the chin's 36; now 11. The Mona Lisa's throat is long enough for the
    # drop to end above the column's foot at most of its columns.)
    assert shown[foot].max() < 0.35 * chin_drop


@pytest.mark.parametrize("which", ["mona_renderer", "astronaut_renderer"])
def test_the_throat_is_squeezed_not_folded(which: str, request: pytest.FixtureRequest) -> None:
    renderer: Renderer = request.getfixturevalue(which)
    field, below, _ = _jaw_drop(renderer)
    gx, gy = np.gradient(field[..., 0]), np.gradient(field[..., 1])
    det = (1 + gx[1]) * (1 + gy[0]) - gx[0] * gy[1]
    under_chin = (renderer.layers.alpha > 0) & (below > 3)
    # The squeeze's slope is at most 0.8 (a determinant of 0.2); a fold would be below 0.
    assert det[under_chin].min() > 0.1
