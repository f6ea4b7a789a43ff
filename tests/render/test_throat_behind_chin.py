"""A dropping chin moves down in front of the neck, which stays where it is (issue 14: the
backward warp dragged the astronaut's neck 22 px down over her still turtleneck at JawOpen 1,
as a continuous field cannot carry a 54-px drop over a 47-px neck column without moving its
foot)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gioconda.face.topology import CHIN
from gioconda.motion.frames import MotionFrame
from gioconda.render.renderer import Renderer


def _foot_band(renderer: Renderer) -> np.ndarray:
    """The neck column's bottom 3 rows, grown by 3 pixels: where the head layer ends over the
    still chest; (S, S) bool."""
    neck = renderer.layers.region.neck > 0
    bottom = int(np.flatnonzero(neck.any(1)).max())
    foot = neck & (np.arange(renderer.size)[:, None] > bottom - 3)
    return cv2.dilate(foot.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0


def _change(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    """Mean over ``where`` of the largest channel's absolute difference of two frames."""
    return float(np.abs(a.astype(int) - b.astype(int)).max(-1)[where].mean())


@pytest.mark.parametrize("jaw", [0.5, 1.0])
def test_the_necks_foot_stays_on_the_collar_as_the_jaw_drops(
    astronaut_renderer: Renderer, jaw: float
) -> None:
    renderer = astronaut_renderer
    band = _foot_band(renderer)
    frame = renderer.render(MotionFrame.still(JawOpen=jaw))
    # (Before: a mean change of 39 grey levels at JawOpen 1, the neck's skin over the black
    # turtleneck.)
    assert _change(frame, renderer.portrait.image, band) < 0.5


def test_the_chin_drops_over_the_neck(astronaut_renderer: Renderer) -> None:
    renderer = astronaut_renderer
    frame = MotionFrame.still(JawOpen=1.0)
    expressed, _ = renderer.rig.expressions(frame)
    chin = renderer.rig.neutral[CHIN, :2]
    # A patch of the chin above its landmark, where the fully dropped jaw takes it.
    dropped = chin + (expressed[CHIN, :2] - chin)
    (x0, y0), (x1, y1) = (
        np.round(chin - [6, 12]).astype(int),
        np.round(dropped - [6, 12]).astype(int),
    )
    rest, image = renderer.portrait.image, renderer.render(frame)
    here = image[y1 : y1 + 9, x1 : x1 + 13].astype(int)
    assert np.abs(here - rest[y0 : y0 + 9, x0 : x0 + 13]).mean() < 8.0
    # (It lies where the neck was: the frame changed there.)
    assert (
        np.abs(here - rest[y1 : y1 + 9, x1 : x1 + 13]).mean()
        > 2 * np.abs(here - rest[y0 : y0 + 9, x0 : x0 + 13]).mean()
    )


@pytest.mark.parametrize("pose", [(10.0, 10.0, 8.0), (-10.0, -10.0, -8.0)])
def test_the_neck_under_an_open_jaw_moves_with_the_head_alone(
    astronaut_renderer: Renderer, pose: tuple[float, float, float]
) -> None:
    renderer = astronaut_renderer
    band = _foot_band(renderer)
    shut = renderer.render(MotionFrame.still(pose))
    open_jaw = renderer.render(MotionFrame.still(pose, JawOpen=0.6))
    # (Before: 1.5, the jaw's drop spread down the column.)
    assert _change(open_jaw, shut, band) < 0.5
