"""What lies between moving parts of the head layer below the ear lobes moves with them (issue
14: a light sliver between the Mona Lisa's neck column and her hanging hair, and a dark line
along her hair's outer edge, at roll 8; the Vigee Le Brun's pendant earrings split in two)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gioconda.face.topology import EAR_LOBES
from gioconda.motion.frames import MotionFrame
from gioconda.render.renderer import Renderer


def _beside(mask: np.ndarray, reach: int, step: int) -> np.ndarray:
    """Where ``mask`` (bool) lies within ``reach`` pixels along the row, to the left
    (``step`` 1) or to the right (``step`` -1): (S, S) bool."""
    out = np.zeros_like(mask)
    for k in range(1, reach + 1):
        out |= np.roll(mask, step * k, axis=1)
    return out


def _field(renderer: Renderer, roll: float) -> np.ndarray:
    head = renderer.rig.head(MotionFrame.still((0.0, 0.0, roll)))
    return renderer.forward_field(head, np.zeros((478, 2), np.float32))


@pytest.mark.parametrize("roll", [8.0, -8.0])
def test_the_still_sliver_between_neck_and_hanging_hair_moves_with_them(
    mona_renderer: Renderer, roll: float
) -> None:
    renderer = mona_renderer
    region = renderer.layers.region
    size = renderer.size
    neck, hanging = region.neck > 0, region.hanging > 0
    moving = (region.head > 0) | neck | hanging
    still = (renderer.portrait.person_mask > 0.5) & ~moving
    # The person that the segmentation and the colours left still between the neck column
    # and the hair hanging beside it, on the same rows (19 px wide on the Mona Lisa's right).
    reach = round(0.04 * size)
    sliver = still & (
        (_beside(neck, reach, 1) & _beside(hanging, reach, -1))
        | (_beside(hanging, reach, 1) & _beside(neck, reach, -1))
    )
    # Not its last rows, where it opens onto the still body below (the layer ends there).
    sliver = cv2.erode(sliver.astype(np.uint8), np.ones((7, 1), np.uint8)) > 0
    assert sliver.sum() > 500
    # What the frame shows there moves smoothly across it and its sides (left to the still
    # picture, it stayed while the layer moved on either side: the shown displacement
    # stepped 3.2 px between neighbouring pixels at its edges)...
    field = _field(renderer, roll)
    assert np.linalg.norm(field, axis=-1)[sliver].max() > 2.0
    shown = np.linalg.norm(field, axis=-1) * renderer.layers.alpha
    band = cv2.dilate(sliver.astype(np.uint8), np.ones((3, 9), np.uint8)) > 0
    pairs = band[:, 1:] & band[:, :-1]
    assert np.abs(np.diff(shown, axis=1))[pairs].max() < 1.0
    # ... for the layer draws it.
    assert renderer.layers.alpha[sliver].min() > 0.99


def test_hanging_hair_carries_its_outline(mona_renderer: Renderer) -> None:
    """The dark outline of the Mona Lisa's hanging hair lies just outside the segmentation;
    left to the still picture it stayed behind as a dark line 18 px beside the moving hair at
    roll -8, a light strip of the painted-out plate between them."""
    renderer = mona_renderer
    region = renderer.layers.region
    portrait = renderer.portrait
    size = renderer.size
    person = portrait.person_mask
    hanging = (region.hanging > 0) & (person > 0.5)
    lobes = portrait.landmarks[list(EAR_LOBES), 1].max()
    rows = np.arange(size)[:, None] > lobes + 0.02 * size
    # The still body and what lies near it keep the layer's short edge there.
    still = (person > 0.5) & (region.head == 0) & (region.neck == 0) & (region.hanging == 0)
    broad = cv2.morphologyEx(still.astype(np.uint8), cv2.MORPH_OPEN, np.ones((15, 15), np.uint8))
    far = cv2.distanceTransform(1 - broad, cv2.DIST_L2, 5) > 0.05 * size
    # The outline: the photo's hair edge that the segmentation half keeps, beside the hair.
    near_hair = cv2.dilate(hanging.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    outline = (person > 0.2) & (person < 0.5) & near_hair & rows & far
    assert outline.sum() > 40
    assert renderer.layers.alpha[outline].min() > 0.99
