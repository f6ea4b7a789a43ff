"""Face regions as polygons and masks: the lip and lid outlines the renderer draws with."""

from __future__ import annotations

import cv2
import numpy as np

#: Sub-pixel bits for anti-aliased drawing (OpenCV's fixed-point ``shift``).
SUBPIXEL_BITS = 4


def outline(points: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...]) -> np.ndarray:
    """A closed lip or lid outline, (N, 2): the upper contour, then the lower one back.

    ``upper`` and ``lower`` are landmark indices running corner to corner in the same
    direction (as in :mod:`gioconda.face`).
    """
    return np.concatenate([points[list(upper), :2], points[list(lower[::-1]), :2]])


def polygon_mask(shape: tuple[int, int], polygon: np.ndarray, soft: bool = True) -> np.ndarray:
    """Rasterize a polygon given in pixel coordinates.

    Returns an anti-aliased float32 mask in [0, 1] (``soft``) or a bool mask.
    """
    canvas = np.zeros(shape, np.uint8)
    pts = np.round(np.asarray(polygon) * (1 << SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 255, cv2.LINE_AA if soft else cv2.LINE_8, shift=SUBPIXEL_BITS)
    return canvas.astype(np.float32) / 255.0 if soft else canvas > 0
