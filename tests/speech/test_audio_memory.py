"""Audio analysis works through long recordings a block at a time: its memory beyond the
audio itself does not grow with the length."""

from __future__ import annotations

import tracemalloc

import numpy as np

from gioconda.speech.audio import Audio, AudioResampling, analyze_audio, log_mel, resample
from gioconda.timeline import ANALYSIS_SAMPLE_RATE


def _peak_beyond_input(work, seconds: float, rate: int) -> float:
    """Peak bytes ``work(audio)`` allocates, less the audio's own size, for noisy tones."""
    rng = np.random.default_rng(0)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    samples = (0.3 * np.sin(2 * np.pi * 180 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)
    audio = Audio(samples, rate)
    tracemalloc.start()
    try:
        work(audio)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - samples.nbytes


def test_analysis_memory_grows_only_with_the_audio() -> None:
    works = (
        (analyze_audio, ANALYSIS_SAMPLE_RATE),
        (log_mel, ANALYSIS_SAMPLE_RATE),
        (lambda audio: resample(audio, ANALYSIS_SAMPLE_RATE), 48_000),
    )
    for work, rate in works:
        short = _peak_beyond_input(work, 30.0, rate)
        long = _peak_beyond_input(work, 300.0, rate)
        extra_audio = 270.0 * rate * 4
        # Padding, the features and the output grow with the audio (a few times its size);
        # whole-clip frame matrices and spectra (tens of times its size) do not appear.
        assert long - short < 3 * extra_audio, (work, short / 2**20, long / 2**20)


def test_soundtrack_resampled_piece_by_piece_holds_no_whole_copy() -> None:
    """The MP4 writer takes its 48 kHz soundtrack a frame's worth at a time: the pieces are
    the samples a whole resampling gives, and no copy of the whole output is ever held."""
    rng = np.random.default_rng(1)
    audio = Audio((0.1 * rng.standard_normal(16_000 * 120)).astype(np.float32), 16_000)
    whole = resample(audio, 48_000).samples

    def piecewise(audio: Audio) -> np.ndarray:
        resampling = AudioResampling(audio, 48_000)
        pieces = []
        while len(piece := resampling.take(1920)):  # one video frame at 25 fps
            pieces.append(np.sum(piece))  # kept small: only the sums are compared
        return np.array(pieces)

    tracemalloc.start()
    try:
        sums = piecewise(audio)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    expected = whole[: len(whole) // 1920 * 1920].reshape(-1, 1920).sum(axis=1)
    np.testing.assert_allclose(sums[: len(expected)], expected, rtol=1e-5, atol=1e-6)
    assert peak < whole.nbytes / 4, peak / 2**20  # a whole 48 kHz copy would be 23 MB
