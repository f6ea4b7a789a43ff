"""Skin grain for a painted-out region: the fine detail of the bare skin near it, tiled in.

An inpainted region (what a glasses rim covered) has the right colour but none of the skin's
grain, pores or fine wrinkles; dragged down by a closing lid it reads as a sticker. The grain
is the skin's detail above a blur of :data:`GRAIN_SIGMA` eye widths, taken from nearby bare
skin (no rim, eye or brow in it), in small square tiles laid with overlap over the region,
each from a donor place chosen among the nearest (a fixed seed, so the same photo always gets
the same grain), and scaled to the amplitude of the detail around.
"""

from __future__ import annotations

import cv2
import numpy as np

#: The blur, in eye widths (2 pixels on a 512-pixel portrait), under which detail is colour and
#: over which it is grain.
GRAIN_SIGMA = 0.05
#: A grain tile's side, in eye widths (the tiles overlap by half).
TILE = 0.2
#: How many of the nearest donor places a tile is drawn from: few enough to be skin like that
#: around the region (lid skin near a lid, not the cheek), enough not to repeat.
NEAREST = 48
#: Detail is kept within this many times its local amplitude (RMS): a mole or a lash
#: caught at the edge of the donor skin is not copied in as a dark spot.
CLIP = 2.5


def skin_grain(
    patch: np.ndarray, hole: np.ndarray, bare: np.ndarray, eye_width: float, seed: int
) -> np.ndarray:
    """Grain for the ``hole`` of ``patch``, tiled from its ``bare`` skin.

    Parameters
    ----------
    patch : (h, w, 3) uint8 or float32
        The photo around the region (RGB).
    hole : (h, w) bool
        The painted-out region that needs grain.
    bare : (h, w) bool
        Skin with nothing in front of it and no eye or brow in it: where grain is taken from.
    eye_width : float
        The eye's width in pixels: the scale of tiles and of the amplitude's neighbourhood.
    seed : int
        Seeds the choice of donor places (derive it from the photo: the same photo, the same
        grain).

    Returns
    -------
    (h, w, 3) float32
        Detail to add to a smooth fill: zero off ``hole`` (and everywhere when there is no
        bare skin to take it from).
    """
    h, w = hole.shape
    out = np.zeros((h, w, 3), np.float32)
    if not hole.any() or not bare.any():
        return out
    image = patch.astype(np.float32)
    sigma = max(1.0, GRAIN_SIGMA * eye_width)
    donor = bare & ~hole
    # The donor's own colour, blurred over donor pixels only: a rim or an eye beside the skin
    # does not leak into its detail as a dark halo.
    weight = cv2.GaussianBlur(donor.astype(np.float32), (0, 0), sigma)
    smooth = cv2.GaussianBlur(image * donor[..., None], (0, 0), sigma)
    detail = np.where(donor[..., None], image - smooth / np.maximum(weight, 1e-3)[..., None], 0)
    detail = detail.astype(np.float32)
    tile = max(5, round(TILE * eye_width) | 1)
    half = tile // 2
    # Donor places: tile centres whose whole tile is bare skin; failing that (a thin band of
    # skin), those whose centre is.
    places = cv2.erode(donor.astype(np.uint8), np.ones((tile, tile), np.uint8)) > 0
    places[:half] = places[h - half :] = False
    places[:, :half] = places[:, w - half :] = False
    if places.sum() < 4:
        places = donor.copy()
        places[:half] = places[h - half :] = False
        places[:, :half] = places[:, w - half :] = False
        if not places.any():
            return out
    py, px = np.nonzero(places)
    rng = np.random.default_rng(seed)
    # A raised-cosine window: overlapping at half a tile, the tiles' weights sum to one.
    ramp = np.sin(np.pi * (np.arange(tile) + 0.5) / tile) ** 2
    window = (ramp[:, None] * ramp[None, :]).astype(np.float32)
    num = np.zeros((h + 2 * tile, w + 2 * tile, 3), np.float32)
    norm = np.zeros((h + 2 * tile, w + 2 * tile), np.float32)
    ys, xs = np.nonzero(hole)
    step = max(half, 1)
    for cy in range((ys.min() // step) * step, ys.max() + step, step):
        for cx in range((xs.min() // step) * step, xs.max() + step, step):
            r0, c0 = max(cy - half, 0), max(cx - half, 0)
            if not hole[r0 : cy + half + 1, c0 : cx + half + 1].any():
                continue
            near = np.argpartition((py - cy) ** 2 + (px - cx) ** 2, min(NEAREST, len(py) - 1))
            pick = near[rng.integers(min(NEAREST, len(py)))]
            dy, dx = py[pick], px[pick]
            src = detail[dy - half : dy + half + 1, dx - half : dx + half + 1]
            ok = donor[dy - half : dy + half + 1, dx - half : dx + half + 1] * window
            # Tiles are placed in a frame padded by half a tile, so that ones at the edge fit.
            num[cy : cy + tile, cx : cx + tile] += src * ok[..., None]
            norm[cy : cy + tile, cx : cx + tile] += ok**2
    num, norm = num[half : half + h, half : half + w], norm[half : half + h, half : half + w]
    # Overlapping tiles of unrelated detail, summed with weights w, keep its variance when
    # divided by sqrt(sum w^2) (a plain average would halve it where two overlap).
    grain = num / np.sqrt(np.maximum(norm, 1e-6))[..., None]
    grain *= (norm > 1e-4)[..., None]
    # Matched to the amplitude of the detail around: local RMS over the donor skin (near the
    # region) against the tiled grain's own, both over a neighbourhood of half an eye.
    around = 0.5 * eye_width
    energy = cv2.GaussianBlur((detail**2).sum(-1), (0, 0), around)
    target = np.sqrt(energy / np.maximum(cv2.GaussianBlur(donor.astype(np.float32), (0, 0),
                                                          around), 1e-3))  # fmt: skip
    covered = (norm > 1e-4).astype(np.float32)
    own = np.sqrt(cv2.GaussianBlur((grain**2).sum(-1), (0, 0), around)
                  / np.maximum(cv2.GaussianBlur(covered, (0, 0), around), 1e-3))  # fmt: skip
    gain = np.clip(target / np.maximum(own, 1e-3), 0.5, 2.0)
    grain *= gain[..., None]
    limit = (CLIP * target / np.sqrt(3.0))[..., None]
    out[hole] = np.clip(grain, -limit, limit)[hole]
    return out
