"""Grain for what is painted: the skin's own detail tiled into a painted-out region, and the
photo's noise made again for a region painted smooth (the mouth's cavity, see
:func:`noise_tile`).

Skin grain for a painted-out region: the fine detail of the bare skin near it, tiled in.

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


#: A photo's noise is what is left above a blur of this sigma (pixels).
NOISE_SIGMA = 1.0
#: Its amplitude: this percentile of the residual's local RMS (over :data:`NOISE_WINDOW`
#: pixels square) over a region: the floor under the skin's own detail (pores, stubble, a
#: beard and wrinkles raise the local RMS where they are; the noise is everywhere).
NOISE_PERCENTILE, NOISE_WINDOW = 20, 5
#: The side of the noise tile (pixels) tiled over a painted region.
NOISE_TILE = 64
#: How coarse the noise may be: the blur (sigma, pixels) of white noise whose neighbouring
#: residuals correlate as the photo's do is chosen among these (0: white; a soft or upsampled
#: photo's grain is coarser).
NOISE_BLURS = (0.0, 0.4, 0.6, 0.8, 1.0, 1.3, 1.7)
#: The noise is kept within this many of its standard deviations.
NOISE_CLIP = 2.5


def noise_floor(image: np.ndarray, region: np.ndarray) -> tuple[np.ndarray, float]:
    """The amplitude of ``image``'s noise over ``region`` ((h, w) bool) per channel ((3,)
    float, grey levels: see :data:`NOISE_PERCENTILE`), and how much neighbouring pixels of it
    correlate (the mean lag-one correlation of the residual across and down, over the
    region): how fine its grain is."""
    residual = _residual(image.astype(np.float32))
    local = np.sqrt(np.maximum(cv2.blur(residual**2, (NOISE_WINDOW, NOISE_WINDOW)), 0.0))
    if region.sum() < 50:
        return np.zeros(3), 0.0
    floor = np.percentile(local[region], NOISE_PERCENTILE, axis=0)
    grey = residual.mean(2)
    across = region[:, :-1] & region[:, 1:]
    down = region[:-1] & region[1:]
    pairs = [(grey[:, :-1][across], grey[:, 1:][across]), (grey[:-1][down], grey[1:][down])]
    correlation = float(np.mean([np.corrcoef(a, b)[0, 1] for a, b in pairs if len(a) > 10]))
    return floor, correlation if np.isfinite(correlation) else 0.0


def noise_tile(
    image: np.ndarray, region: np.ndarray, seed: int, then_blurred: float = 0.0
) -> np.ndarray | None:
    """A tile of noise like ``image``'s over ``region`` ((h, w) bool): (T, T, 3) float32,
    zero-mean, tileable (T: :data:`NOISE_TILE`), to add to a region painted smooth (the mouth's
    cavity) so that it has the photo's grain: as strong per channel (by the same estimate,
    :func:`noise_floor`), as coarse, and as correlated between channels, once blurred by
    ``then_blurred`` (a Gaussian's sigma, pixels: what the painting is blurred by to match a
    soft photo). None when the region has no measurable noise."""
    if not region.any():
        return None
    # (only the region's box, and a margin for the blur: the photo may be large)
    ys, xs = np.nonzero(region)
    margin = 3 * round(NOISE_SIGMA) + NOISE_WINDOW
    y0, x0 = max(int(ys.min()) - margin, 0), max(int(xs.min()) - margin, 0)
    image = image[y0 : int(ys.max()) + margin + 1, x0 : int(xs.max()) + margin + 1]
    region = region[y0 : int(ys.max()) + margin + 1, x0 : int(xs.max()) + margin + 1]
    floor, correlation = noise_floor(image, region)
    if floor.max() < 0.25:
        return None
    residual = _residual(image.astype(np.float32))[region]
    # Between the channels: the residual's correlation (a colour photo's noise is mostly in
    # its lightness, a grey photo's all of it).
    cov = np.cov(residual.T) + np.eye(3) * 1e-3
    scale = np.sqrt(np.diag(cov))
    mix = np.linalg.cholesky(cov / np.outer(scale, scale) + np.eye(3) * 1e-6)
    rng = np.random.default_rng(seed)
    white = rng.standard_normal((NOISE_TILE, NOISE_TILE, 3)).astype(np.float32) @ mix.T.astype(
        np.float32
    )
    best = None
    for blur in NOISE_BLURS:
        # (only the band the measure sees: coarser than that, noise is blotches of shade)
        tile = _wrapped_blur(white, blur)
        tile = tile - _wrapped_blur(tile, NOISE_SIGMA)
        seen = _wrapped_blur(tile, then_blurred)
        own_floor, own_correlation = noise_floor(seen, np.ones(tile.shape[:2], bool))
        if best is None or abs(own_correlation - correlation) < best[0]:
            best = (abs(own_correlation - correlation), tile, own_floor)
    assert best is not None
    _, tile, own_floor = best
    tile = tile - tile.mean((0, 1))
    # (no rare bright or dark speck: a tail of the normal distribution, not the photo's grain)
    limit = NOISE_CLIP * tile.std((0, 1))
    tile = np.clip(tile, -limit, limit)
    return (tile * (floor / np.maximum(own_floor, 1e-6))).astype(np.float32)


def _residual(image: np.ndarray) -> np.ndarray:
    return image - cv2.GaussianBlur(image, (0, 0), NOISE_SIGMA)


def _wrapped_blur(tile: np.ndarray, sigma: float) -> np.ndarray:
    """``tile`` blurred as if it repeated (so it still tiles without a seam)."""
    if sigma <= 0:
        return tile.copy()
    side = tile.shape[0]
    around = np.tile(tile, (3, 3, 1))
    return cv2.GaussianBlur(around, (0, 0), sigma)[side : 2 * side, side : 2 * side]
