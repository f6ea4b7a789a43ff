"""The watermark's compiled passes against the same steps in NumPy and OpenCV, on a real photo,
flat and clipped frames and a size that is not a multiple of 4; the same frames from two
threads at once as from one."""

from __future__ import annotations

import math
import threading

import cv2
import numpy as np
import pytest

from gioconda.provenance import mark_loops
from gioconda.provenance.watermark import (
    BOOST,
    FINE_TEXTURE,
    FLAT_SHARE,
    MIN_PSNR_DB,
    PATTERN_STEPS,
    STRENGTH,
    TILES_PER_SIDE,
    Payload,
    Watermarker,
    _frame_pattern,
)


def _photo(mona_lisa: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.ascontiguousarray(
        cv2.resize(mona_lisa, (width, height), interpolation=cv2.INTER_AREA)
    )


def _reference_luma_texture(frame: np.ndarray, small: tuple[int, int]):
    """Quarter-size luma and texture the OpenCV way: grey in floats, area resizes, Laplacian."""
    width, height = small
    rgb = frame[: 4 * height, : 4 * width].astype(np.float64)
    grey = (rgb @ np.array([4899, 9617, 1868]) / 16384).astype(np.float32)
    half = cv2.resize(grey, (2 * width, 2 * height), interpolation=cv2.INTER_AREA)
    grain = np.abs(cv2.Laplacian(half, cv2.CV_32F, ksize=1))
    return (cv2.resize(half, small, interpolation=cv2.INTER_AREA),
            cv2.resize(grain, small, interpolation=cv2.INTER_AREA))  # fmt: skip


def _reference_gain(texture: np.ndarray, luma: np.ndarray, max_rms: float) -> np.ndarray:
    masking = np.clip(texture / FINE_TEXTURE, FLAT_SHARE, 1.0)
    gain = cv2.blur(masking, (5, 5)) * STRENGTH
    lands = np.where((luma < 5.5) | (luma > 249.5), 0.5, 1.0)
    rms = math.sqrt(float(np.mean(lands * gain * gain)))
    if rms > max_rms:
        return gain * (max_rms / rms)
    flat = FLAT_SHARE * STRENGTH
    gain = flat + (gain - flat) * BOOST
    rms = math.sqrt(float(np.mean(lands * gain * gain)))
    return gain * min(1.0, max_rms / rms)


@pytest.fixture(scope="module")
def frames(mona_lisa: np.ndarray) -> dict[str, np.ndarray]:
    photo = _photo(mona_lisa, 512, 512)
    ramp = np.linspace(60, 220, 512, dtype=np.float32)
    return {
        "photo": photo,
        "odd size": _photo(mona_lisa, 203, 150),
        "flat": np.full((512, 512, 3), 128, np.uint8),
        "ramp": np.repeat(np.tile(ramp[:, None], (1, 512))[..., None], 3, 2).astype(np.uint8),
        "blown out": np.clip(photo.astype(np.float32) * 2.2 + 40, 0, 255).astype(np.uint8),
    }


@pytest.mark.parametrize("name", ["photo", "odd size", "flat", "ramp", "blown out"])
def test_luma_texture_and_gain_as_opencv_computes_them(frames, name):
    frame = frames[name]
    small = (frame.shape[1] // TILES_PER_SIDE, frame.shape[0] // TILES_PER_SIDE)
    luma = np.empty(small[::-1], np.float32)
    texture = np.empty_like(luma)
    mark_loops.luma_and_texture(frame, luma, texture)
    want_luma, want_texture = _reference_luma_texture(frame, small)
    assert np.abs(luma - want_luma).max() < 1e-3
    assert np.abs(texture - want_texture).max() < 1e-3
    max_rms = 255.0 / 10 ** (MIN_PSNR_DB / 20)
    gain = np.empty_like(luma)
    mark_loops.gain_map(texture, luma, FINE_TEXTURE, FLAT_SHARE, STRENGTH, BOOST, max_rms, gain)
    assert np.abs(gain - _reference_gain(want_texture, want_luma, max_rms)).max() < 1e-4


def test_mark_added_with_saturation_as_numpy_adds_it(frames):
    """Frame plus the rounded product of the gain (linearly interpolated to full size) and the
    pattern, clipped to 0..255: black and white pixels included (a third of the frame)."""
    frame = frames["photo"].copy()
    frame[:100] = 0
    frame[100:200] = 255
    frame[200:240] = 3
    mark = Watermarker(512, 512, Payload(1, 0x5EED5))
    assert mark._pattern.shape == (128, 512)  # one tile period of rows
    gain = np.random.default_rng(1).uniform(0.2, 5.2, (128, 128)).astype(np.float32)
    out = np.empty_like(frame)
    mark_loops.add_mark(frame, gain / np.float32(PATTERN_STEPS), mark._columns, mark._rows,
                        mark._pattern, out)  # fmt: skip
    full_gain = cv2.resize(gain, (512, 512), interpolation=cv2.INTER_LINEAR)
    pattern = np.rint(_frame_pattern(mark.payload, 512, 512) * PATTERN_STEPS) / PATTERN_STEPS
    change = np.floor(full_gain * pattern + 0.5)
    want = np.clip(frame + change[..., None], 0, 255)
    differs = np.abs(out - want)
    # A product within a float rounding of .5 may go either way: a few pixels by 1.
    assert differs.max() <= 1 and np.mean(differs > 0) < 1e-4
    assert np.all(out[:100][change[:100] <= 0] == 0) and np.all(
        out[100:200][change[100:200] >= 0] == 255
    )
    assert np.abs(change).max() >= 10  # the test reaches marks of many levels


def test_two_threads_mark_as_one(frames):
    mark = Watermarker(512, 512, Payload(1, 0x77777))
    inputs = [frames["photo"], frames["blown out"], frames["ramp"]] * 4
    alone = [mark(f) for f in inputs]
    together: list[np.ndarray | None] = [None] * len(inputs)

    def work(start: int) -> None:
        for i in range(start, len(inputs), 2):
            together[i] = mark(inputs[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(a, b) for a, b in zip(alone, together, strict=True))


def test_frames_of_any_size_are_marked_within_budget(frames):
    """Sizes whose short side is not a multiple of 4 keep a pattern of every row."""
    frame = frames["odd size"]
    mark = Watermarker(203, 150, Payload(1, 0x12345))
    assert mark._pattern.shape == (150, 203)
    marked = mark(frame)
    mse = np.mean((marked.astype(np.float64) - frame) ** 2)
    assert 40.0 <= 10 * np.log10(255**2 / mse) < 60.0
