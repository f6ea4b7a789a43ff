"""What a moving head uncovers along its rest outline continues the background beside it: no
thin light or dark line where the head layer's edge was (issue 14)."""

from __future__ import annotations

import cv2
import numpy as np

from gioconda.render.renderer import Renderer

#: How far past the range of the photo beside it the painted-out plate's edge may lie, grey
#: levels (the line across the astronaut's collar stood up to 60 levels off it).
LINE_EXCESS = 20

#: The reach of "beside it", pixels: the photo's pixels that far either side.
AROUND = 3


def plate_edge_excess(renderer: Renderer) -> tuple[np.ndarray, np.ndarray]:
    """The painted-out plate's edge (its pixels beside the photo: what a moving head
    uncovers first), (S, S) bool, and how far each of its pixels lies outside the range of
    the photo within ``AROUND`` pixels where the plate is the photo itself, grey levels,
    worst channel (0 off the edge)."""
    photo = renderer.portrait.image
    plate = renderer._plate_shown
    kept = (plate == photo).all(-1).astype(np.uint8)
    edge = (kept == 0) & (cv2.dilate(kept, np.ones((3, 3), np.uint8)) > 0)
    kernel = np.ones((2 * AROUND + 1,) * 2, np.uint8)
    high = cv2.dilate(np.where(kept[..., None] > 0, photo, 0).astype(np.uint8), kernel)
    low = cv2.erode(np.where(kept[..., None] > 0, photo, 255).astype(np.uint8), kernel)
    shown = plate.astype(np.int16)
    excess = np.maximum(shown - high, low.astype(np.int16) - shown).max(-1)
    return edge, np.where(edge, np.maximum(excess, 0), 0)


def test_the_painted_out_plate_continues_the_photo_at_its_edge(
    astronaut_renderer: Renderer,
) -> None:
    # The astronaut's jaw meets a white wall, a purple collar and a black suit: stripes a few
    # pixels tall, which the plate under the jaw must continue where the head uncovers it.
    edge, excess = plate_edge_excess(astronaut_renderer)
    lines = np.count_nonzero(excess > LINE_EXCESS)
    # (Painted out small and enlarged, 2.8 % of the edge stood more than 20 levels off.)
    assert lines <= 0.005 * edge.sum(), (
        f"{lines} of {edge.sum()} edge pixels off by up to {excess.max()}"
    )
