"""Formant frequencies of a voice by linear prediction (LPC), at chosen instants.

Each instant's 25 ms (Hamming-windowed, pre-emphasized) stretch of the recording at
:data:`FORMANT_SAMPLE_RATE` is fitted with an all-pole filter of order
:data:`LPC_ORDER` (autocorrelation method, Levinson-Durbin); the filter's poles with a
bandwidth under :data:`MAX_BANDWIDTH_HZ` are the resonances of the vocal tract, and the
lowest ones above :data:`MIN_FORMANT_HZ` are F1, F2, F3... in order. This is what Praat's
formant tracker does (its default: five formants up to 5.5 kHz, order 10 + 2), with the
autocorrelation method instead of Burg's; a pole pair that merges two formants, or a
spurious one, puts a single instant's F3 off, so callers take medians over many.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gioconda.speech.audio import Audio, resample

#: The recording is analysed at this rate: formants up to half of it (5.5 kHz, Praat's
#: ceiling for a female voice; it holds a male voice's five and a female voice's four).
FORMANT_SAMPLE_RATE = 11025
#: Poles of the all-pole filter: two per formant expected below the ceiling (five), and two
#: for the glottal source's and the radiation's tilt.
LPC_ORDER = 12
#: Length of each analysed stretch (s): two or three glottal periods of a low voice.
WINDOW_S = 0.025
#: A pole broader than this (Hz) is the spectrum's tilt or noise, not a resonance.
MAX_BANDWIDTH_HZ = 900.0
#: No formant lies this low (Hz); poles below are the voice's fundamental and tilt.
MIN_FORMANT_HZ = 90.0
#: Pre-emphasis from this frequency (Hz), as Praat's: the source's -6 dB/octave undone, so
#: that the higher formants weigh in the fit.
PRE_EMPHASIS_HZ = 50.0
#: Instants analysed together (their frames, spectra and filters: some 27 MB).
BLOCK_INSTANTS = 1024


def formants_at(audio: Audio, times_s: Sequence[float] | np.ndarray, count: int = 3) -> np.ndarray:
    """The lowest ``count`` formant frequencies (Hz) at each instant.

    Parameters
    ----------
    audio: mono recording, any sample rate
    times_s: the instants, each the middle of a :data:`WINDOW_S` stretch
    count: how many formants

    Returns
    -------
    (len(times_s), count) float array; NaN where the stretch has fewer resonances (silence,
    a fricative's noise) or lies outside the recording.
    """
    times = np.asarray(times_s, np.float64).reshape(-1)
    result = np.full((len(times), count), np.nan)
    if len(times) == 0:
        return result
    samples = np.asarray(resample(audio, FORMANT_SAMPLE_RATE).samples, np.float32).reshape(-1)
    if len(samples) == 0:
        return result
    emphasis = np.exp(-2 * np.pi * PRE_EMPHASIS_HZ / FORMANT_SAMPLE_RATE)
    width = round(WINDOW_S * FORMANT_SAMPLE_RATE)
    window = np.hamming(width)
    starts = np.round(times * FORMANT_SAMPLE_RATE).astype(np.int64) - width // 2
    inside = np.flatnonzero((starts >= 0) & (starts + width <= len(samples)))
    # A block of instants at a time: all of a long recording's at once (a frame, its
    # spectrum and its autocorrelation, some 27 kB an instant) took 0.8 GB over ten minutes
    # of speech.
    for block in np.array_split(inside, max(1, -(-len(inside) // BLOCK_INSTANTS))):
        if not len(block):
            continue
        # Each frame with the sample before it, pre-emphasized here (the recording's first
        # sample has none before it and is kept as it is).
        index = starts[block, None] + np.arange(-1, width)
        stretch = samples[np.maximum(index, 0)].astype(np.float64)
        previous = np.where(index[:, :-1] >= 0, stretch[:, :-1], 0.0)
        frames = (stretch[:, 1:] - emphasis * previous) * window
        coefficients, usable = _lpc(frames, LPC_ORDER)
        result[block[usable]] = _resonances(coefficients[usable], count)
    return result


def _lpc(frames: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's prediction polynomial ``[1, a1 .. a_order]`` (autocorrelation method,
    Levinson-Durbin over all frames at once), and whether the frame had any energy."""
    n = frames.shape[1]
    spectrum = np.fft.rfft(frames, 2 * n, axis=1)
    autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, : order + 1]
    usable = autocorrelation[:, 0] > 1e-10
    r = autocorrelation[usable]
    # A floor of -40 dB white noise keeps the recursion stable in near-silent frames.
    r[:, 0] *= 1.0 + 1e-4
    a = np.zeros((len(r), order + 1))
    a[:, 0] = 1.0
    error = r[:, 0].copy()
    for i in range(1, order + 1):
        reflection = -(a[:, :i] * r[:, i:0:-1]).sum(axis=1) / error
        a[:, 1 : i + 1] = a[:, 1 : i + 1] + reflection[:, None] * a[:, i - 1 :: -1][:, :i]
        error *= 1.0 - reflection**2
    coefficients = np.zeros((len(frames), order + 1))
    coefficients[usable] = a
    return coefficients, usable


def _resonances(coefficients: np.ndarray, count: int) -> np.ndarray:
    """The lowest ``count`` formants (Hz) of each all-pole filter, NaN where it has fewer."""
    order = coefficients.shape[1] - 1
    companion = np.zeros((len(coefficients), order, order))
    companion[:, 0, :] = -coefficients[:, 1:]
    companion[:, np.arange(1, order), np.arange(order - 1)] = 1.0
    poles = np.linalg.eigvals(companion)
    frequency = np.angle(poles) * FORMANT_SAMPLE_RATE / (2 * np.pi)
    bandwidth = -np.log(np.maximum(np.abs(poles), 1e-12)) * FORMANT_SAMPLE_RATE / np.pi
    resonant = (
        (frequency > MIN_FORMANT_HZ)
        & (frequency < FORMANT_SAMPLE_RATE / 2 - MIN_FORMANT_HZ)
        & (bandwidth < MAX_BANDWIDTH_HZ)
    )
    candidates = np.sort(np.where(resonant, frequency, np.inf), axis=1)[:, :count]
    return np.where(np.isfinite(candidates), candidates, np.nan)
