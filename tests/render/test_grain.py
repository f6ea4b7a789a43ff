"""The photo's own noise, measured and made again for what is painted (the mouth's cavity)."""

import cv2
import numpy as np

from gioconda.render.grain import NOISE_TILE, noise_floor, noise_tile


def _noisy_photo(sigma: float, blur: float, seed: int = 1) -> np.ndarray:
    """A smooth skin-coloured gradient with Gaussian noise of ``sigma`` grey levels, blurred
    by ``blur`` pixels (then scaled back to ``sigma``): (256, 256, 3) float32."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:256, 0:256].astype(np.float32)
    base = np.stack([150 + 0.1 * xs, 110 + 0.1 * ys, 90 + 0.05 * (xs + ys)], -1)
    noise = rng.standard_normal((256, 256)).astype(np.float32)
    if blur > 0:
        noise = cv2.GaussianBlur(noise, (0, 0), blur)
    noise *= sigma / noise.std()
    return base + noise[..., None]  # (grey noise: all three channels alike)


def test_the_tile_has_the_photos_noise():
    """A tile made from a photo's noise has, by the same measure, its strength (within 10 %),
    its coarseness (neighbours' correlation within 0.15) and its grey (the channels alike),
    on fine and on coarse noise; and it repeats without a seam (its edge pixels differ from
    the ones across the seam as much as any neighbours do)."""
    everywhere = np.ones((256, 256), bool)
    for blur in (0.0, 1.0):
        photo = _noisy_photo(4.0, blur)
        floor, correlation = noise_floor(photo, everywhere)
        tile = noise_tile(photo, everywhere, seed=7)
        assert tile is not None and tile.shape == (NOISE_TILE, NOISE_TILE, 3)
        own_floor, own_correlation = noise_floor(
            np.tile(tile, (4, 4, 1)), np.ones((256, 256), bool)
        )
        assert np.allclose(own_floor, floor, rtol=0.1), (blur, own_floor, floor)
        assert abs(own_correlation - correlation) < 0.15, (blur, own_correlation, correlation)
        assert np.corrcoef(tile[..., 0].ravel(), tile[..., 2].ravel())[0, 1] > 0.95
        across_seam = np.abs(tile[:, 0] - tile[:, -1]).mean()
        inside = np.abs(tile[:, 1:] - tile[:, :-1]).mean()
        assert across_seam < 1.3 * inside, (across_seam, inside)


def test_the_same_photo_gets_the_same_grain_and_a_clean_one_none():
    everywhere = np.ones((256, 256), bool)
    photo = _noisy_photo(3.0, 0.0)
    assert np.array_equal(noise_tile(photo, everywhere, 5), noise_tile(photo, everywhere, 5))
    clean = _noisy_photo(0.0, 0.0)
    assert noise_tile(clean, everywhere, 5) is None


def test_a_soft_photos_grain_is_made_for_the_blur_to_come():
    """Painted for a soft photo, the interior is blurred to its sharpness afterwards: the tile
    is made so that it has the photo's noise after that blur, not before."""
    everywhere = np.ones((256, 256), bool)
    photo = _noisy_photo(4.0, 1.0)
    floor, _ = noise_floor(photo, everywhere)
    tile = noise_tile(photo, everywhere, seed=3, then_blurred=1.2)
    assert tile is not None
    blurred = cv2.GaussianBlur(np.tile(tile, (4, 4, 1)), (0, 0), 1.2)
    own_floor, _ = noise_floor(blurred, np.ones((256, 256), bool))
    assert np.allclose(own_floor, floor, rtol=0.15), (own_floor, floor)
