"""Face regions as polygons and masks: the lip and lid outlines the renderer draws with."""

from __future__ import annotations

import cv2
import numpy as np

from gioconda.render.cv2_typing import NO_ARRAY

#: Sub-pixel bits for anti-aliased drawing (OpenCV's fixed-point ``shift``).
SUBPIXEL_BITS = 4


def outline(points: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...]) -> np.ndarray:
    """A closed lip or lid outline, (N, 2): the upper contour, then the lower one back.

    ``upper`` and ``lower`` are landmark indices running corner to corner in the same
    direction (as in :mod:`gioconda.face`).
    """
    return np.concatenate([points[list(upper), :2], points[list(lower[::-1]), :2]])


def polygon_mask(shape: tuple[int, ...], polygon: np.ndarray, soft: bool = True) -> np.ndarray:
    """Rasterize a polygon given in pixel coordinates.

    Returns an anti-aliased float32 mask in [0, 1] (``soft``) or a bool mask.
    """
    canvas = np.zeros(shape, np.uint8)
    pts = np.round(np.asarray(polygon) * (1 << SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(canvas, [pts], (255,), cv2.LINE_AA if soft else cv2.LINE_8, shift=SUBPIXEL_BITS)
    return canvas.astype(np.float32) / 255.0 if soft else canvas > 0


def closer_in_colour(
    image: np.ndarray, like: np.ndarray, unlike: np.ndarray, where: np.ndarray, k: int = 5
) -> np.ndarray:
    """Which pixels of ``where`` are nearer in colour to the pixels of ``like`` than to those
    of ``unlike`` (all (S, S) bool masks over the (S, S, 3) uint8 RGB ``image``).

    Each set is summarized by ``k`` colours (k-means in CIE Lab, so that distance is
    perceived difference); a pixel belongs to the set of its nearest summary colour.
    Returns an (S, S) bool mask, False off ``where``.
    """
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    rng = np.random.default_rng(0)
    centres = []
    for mask in (like, unlike):
        pixels = lab[mask]
        if len(pixels) > 4000:
            pixels = pixels[rng.choice(len(pixels), 4000, replace=False)]
        n = min(k, len(pixels))
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
        cv2.setRNGSeed(0)
        _, _, summary = cv2.kmeans(pixels, n, NO_ARRAY, criteria, 1, cv2.KMEANS_PP_CENTERS)
        centres.append(summary)
    pixels = lab[where]
    nearest = [np.min(np.linalg.norm(pixels[:, None] - c[None], axis=2), axis=1) for c in centres]
    out = np.zeros(where.shape, bool)
    out[where] = nearest[0] < nearest[1]
    return out


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Rows y0:y1 and columns x0:x1 of the bounding box of a non-empty (H, W) bool mask."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
