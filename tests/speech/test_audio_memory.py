"""Audio analysis works through long recordings a block at a time: its memory beyond the
audio itself does not grow with the length."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np

from gioconda.speech.audio import (
    Audio,
    AudioResampling,
    analyze_audio,
    log_mel,
    normalize_features,
    resample,
)
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
    # What is left, asked for at once (as the writer does on closing), at any point: the same
    # samples, also once the source is all fed and only the resampler's tail remains (a
    # recording that is no whole number of the resampler's blocks).
    audio = Audio(audio.samples[: 9 * 16_000 + 123], 16_000)
    whole = resample(audio, 48_000).samples
    for taken in (0, 1920, len(whole) - 5000, len(whole) - 1, len(whole)):
        resampling = AudioResampling(audio, 48_000)
        first = resampling.take(taken) if taken else np.zeros(0, np.float32)
        rest = resampling.take(None)
        assert np.concatenate([first, rest]).tobytes() == whole.tobytes(), taken
        assert len(resampling.take(None)) == 0 and len(resampling.take(10)) == 0


def test_network_in_blocks_equals_one_pass() -> None:
    """The viseme network runs on long recordings a block at a time (its activations for 10
    minutes would hold ~500 MB); each block carries the context its outputs depend on, so
    the posteriors are the whole pass's, also right at the blocks' edges."""
    from gioconda.speech.visemenet import PAST_CONTEXT_HOPS, VisemeNet

    rng = np.random.default_rng(2)
    t = np.arange(16_000 * 12) / 16_000
    voice = np.sin(2 * np.pi * (150 + 60 * np.sin(2 * np.pi * 0.7 * t)) * t) * (t % 0.4 < 0.25)
    samples = (0.3 * voice + 0.02 * rng.standard_normal(len(t))).astype(np.float32)
    net = VisemeNet()
    features = normalize_features(log_mel(Audio(samples, 16_000)))
    block = 2 * PAST_CONTEXT_HOPS + 7  # edges everywhere, not a multiple of anything
    np.testing.assert_allclose(
        net.forward_in_blocks(features, block), net.forward(features), rtol=0, atol=1e-5
    )
    # The context is what makes them equal: blocks without it differ at their edges.
    naive = np.concatenate(
        [net.forward(features[i : i + block]) for i in range(0, len(features), block)]
    )
    assert np.abs(naive - net.forward(features)).max() > 1e-3


def test_whisper_reads_long_recordings_in_pieces_cut_in_pauses() -> None:
    """faster-whisper computes features for all it is given at once, so a long recording is
    handed over in pieces of at most a minute: cut in the widest pause the voice activity
    detector heard, or in unbroken speech at its quietest moment."""
    from gioconda.speech.whisper import PIECE_S, WHISPER_SAMPLE_RATE, _pieces

    rate = WHISPER_SAMPLE_RATE
    rng = np.random.default_rng(3)
    samples = (0.2 * rng.standard_normal(150 * rate)).astype(np.float32)
    samples[int(47.0 * rate) : int(47.2 * rate)] *= 0.01  # a breath in unbroken speech
    pieces = list(_pieces(((0.5, 149.5),), samples))
    assert pieces[0] == (0, pieces[0][1]) and pieces[-1][1] == len(samples)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))  # no gap, no overlap
    assert all(stop - first <= PIECE_S * rate for first, stop in pieces)
    assert 47.0 <= pieces[0][1] / rate <= 47.2
    # With pauses heard, the widest one in the second half of the allowed length is the cut.
    spans = ((0.5, 31.0), (31.4, 44.0), (45.0, 52.0), (52.2, 149.0))
    assert abs(next(iter(_pieces(spans, samples)))[1] / rate - 44.5) < 0.01
    # Up to a minute: one piece, as before.
    assert list(_pieces(((0.5, 50.0),), samples[: 55 * rate])) == [(0, 55 * rate)]


def test_whisper_features_in_blocks_are_faster_whispers_bit_for_bit() -> None:
    """Whisper's features are computed a block of frames at a time: the same values as
    faster-whisper's whole transform, to the bit (so the same words), for pieces of any length
    and of speech, while its spectra of a whole minute are not held at once."""
    from faster_whisper.feature_extractor import FeatureExtractor

    from gioconda.speech.espeak import synthesize
    from gioconda.speech.whisper import WHISPER_SAMPLE_RATE
    from gioconda.speech.whisper_features import FRAMES_PER_BLOCK, LeanFeatureExtractor

    whole = FeatureExtractor(feature_size=80)
    lean = LeanFeatureExtractor.replacing(whole)
    rng = np.random.default_rng(4)
    speech = resample(synthesize("Peter Piper picked a peck.").audio, WHISPER_SAMPLE_RATE)
    minute = np.tile(speech.samples, int(60 * WHISPER_SAMPLE_RATE / len(speech.samples)) + 1)
    pieces = [
        speech.samples,
        minute[: 60 * WHISPER_SAMPLE_RATE],
        *(0.1 * rng.standard_normal(n).astype(np.float32) for n in (161, 400, 401, 12_345)),
        # Block edges: one frame either side of a whole number of blocks.
        *(minute[: FRAMES_PER_BLOCK * 160 * k + d] for k in (1, 3) for d in (-160, 0, 160)),
    ]
    for samples in pieces:
        expected, got = whole(samples), lean(samples)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert got.tobytes() == expected.tobytes(), len(samples)

    def peak(extractor: FeatureExtractor) -> int:
        tracemalloc.start()
        try:
            extractor(minute[: 60 * WHISPER_SAMPLE_RATE])
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # A minute's whole transform holds tens of MB; in blocks, a few.
    assert peak(lean) < peak(whole) / 4, (peak(lean) / 2**20, peak(whole) / 2**20)
    assert peak(lean) < 12 * 2**20, peak(lean) / 2**20


def test_analysis_windows_in_blocks_are_those_of_the_whole_padded_recording() -> None:
    """Each block of analysis windows copies and pads only its own stretch of the recording:
    the windows (and the pre-emphasis of the log-mel features) are those of the whole
    recording padded at once, bit for bit, across block edges and at both ends."""
    from gioconda.speech.audio import HOPS_PER_BLOCK, hop_frames

    hop, win = 160, 400
    rng = np.random.default_rng(5)
    for n in (100, hop * HOPS_PER_BLOCK - 1, hop * HOPS_PER_BLOCK + 77, 2 * hop * HOPS_PER_BLOCK):
        samples = (0.3 * rng.standard_normal(n)).astype(np.float32)
        n_hops = max(1, int(np.ceil(n / hop)))
        padded = np.pad(samples, (win // 2, win + hop))
        emphasized = padded.copy()
        emphasized[1:] -= 0.97 * emphasized[:-1].copy()
        starts = np.arange(n_hops)[:, None] * hop + np.arange(win)[None, :]
        for emphasis, whole in ((None, padded), (0.97, emphasized)):
            blocks = list(hop_frames(samples, n_hops, hop, win, emphasis))
            assert [first for first, _ in blocks] == list(range(0, n_hops, HOPS_PER_BLOCK))
            frames = np.concatenate([block for _, block in blocks])
            assert frames.dtype == np.float32
            assert frames.tobytes() == whole[starts].tobytes(), (n, emphasis)


def test_formants_of_a_long_recording_are_measured_a_block_at_a_time() -> None:
    """The accent's F3 (:mod:`gioconda.speech.formants`) over every instant of a long
    recording: its frames, spectra and filters are held a block of instants at a time (all
    at once they took 27 kB an instant, 0.8 GB over ten minutes), and a block's edges change
    nothing: each instant has the formants it has alone."""
    from gioconda.speech.formants import BLOCK_INSTANTS, WINDOW_S, formants_at

    def every_hop(audio: Audio) -> np.ndarray:
        return formants_at(audio, np.arange(0.0, audio.duration_s, 0.01))

    rate = ANALYSIS_SAMPLE_RATE
    short = _peak_beyond_input(every_hop, 15.0, rate)
    long = _peak_beyond_input(every_hop, 150.0, rate)
    extra_audio = 135.0 * rate * 4
    # The recording at the analysis rate and one value per instant grow with it; a whole
    # recording's frames (some 40 times the audio's size) do not appear.
    assert long - short < 3 * extra_audio, (short / 2**20, long / 2**20)

    rng = np.random.default_rng(6)
    t = np.arange(rate * 25) / rate
    vowel = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((130, 650, 1100, 2500), 1))
    audio = Audio((0.2 * vowel + 0.01 * rng.standard_normal(len(t))).astype(np.float32), rate)
    times = np.arange(0.0, audio.duration_s, 0.01)
    every = formants_at(audio, times)
    assert np.isfinite(every[:, 2]).mean() > 0.9
    # Block edges, the recording's first window (no sample before it to pre-emphasize from)
    # and one running past its end (NaN).
    for k in (0, 1, BLOCK_INSTANTS - 1, BLOCK_INSTANTS, 2 * BLOCK_INSTANTS + 1, len(times) - 1):
        np.testing.assert_array_equal(every[k], formants_at(audio, times[k : k + 1])[0])
    first = formants_at(audio, [WINDOW_S / 2, WINDOW_S / 2 + 1 / 11025, audio.duration_s])
    assert np.isfinite(first[:2]).all() and np.isnan(first[2]).all()
