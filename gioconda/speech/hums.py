"""Hums: where the voice goes on with the lips shut, whether or not a word is written there.

A hum (the /m/ of a filled pause "um", "mm", "hmm", or a drawn-out /m/) is a nasal murmur:
voiced, with its energy low (below ~400 Hz) and little above ~1.8 kHz, since the closed lips
let no vowel's formants out. Whisper writes such fillers with no length or not at all, and
our network hears them as silence or an open vowel; this module finds them in the waveform.
A breath (unvoiced) or a pause (at the noise floor) is no hum.
"""

from __future__ import annotations

import numpy as np

from gioconda.speech.audio import Audio, autocorrelation_pitch, hop_frames, resample
from gioconda.timeline import ANALYSIS_SAMPLE_RATE, FEATURE_HOP_S

#: Analysis window (s): long enough for two periods of a low male voice (80 Hz).
WINDOW_S = 0.032
#: Bands (Hz): the murmur's own (its first resonance and the voice's pitch) and the vowels'
#: upper formants, which closed lips muffle.
LOW_BAND_HZ = (60.0, 400.0)
HIGH_BAND_HZ = (1800.0, 4000.0)


def hum_features(audio: Audio) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every 10 ms (hop ``i`` centred at ``i * 10`` ms): loudness (dB, RMS), periodicity
    (0-1, the normalized autocorrelation peak at 70-400 Hz), and how much the low band
    exceeds the high band (dB)."""
    audio = resample(audio, ANALYSIS_SAMPLE_RATE)
    sr = audio.sample_rate
    hop = round(FEATURE_HOP_S * sr)
    win = round(WINDOW_S * sr)
    n_hops = max(1, int(np.ceil(len(audio.samples) / hop)))
    n_fft = 1 << (win - 1).bit_length()
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    low = (freqs >= LOW_BAND_HZ[0]) & (freqs < LOW_BAND_HZ[1])
    high = (freqs >= HIGH_BAND_HZ[0]) & (freqs < HIGH_BAND_HZ[1])
    window = np.hanning(win).astype(np.float32)
    loudness = np.empty(n_hops, np.float32)
    periodicity = np.empty(n_hops, np.float32)
    tilt = np.empty(n_hops, np.float32)
    for first, frames in hop_frames(audio.samples, n_hops, hop, win):
        done = slice(first, first + len(frames))
        power = np.abs(np.fft.rfft(frames * window, n_fft, axis=1)) ** 2
        rms = np.sqrt(np.mean(frames**2, axis=1) + 1e-12)
        loudness[done] = 20 * np.log10(rms + 1e-10)
        _, periodicity[done] = autocorrelation_pitch(frames, sr)
        tilt[done] = 10 * np.log10(
            (power[:, low].mean(axis=1) + 1e-12) / (power[:, high].mean(axis=1) + 1e-12)
        )
    return loudness, periodicity, tilt


#: A hop is hum-like (:func:`hum_strength`) when periodic above this (the voice goes on)...
MIN_PERIODICITY = 0.5
#: ...no quieter than this below the recording's speech level (95th percentile of loudness)...
MAX_BELOW_SPEECH_DB = 20.0
#: ...and this far above its noise floor (10th percentile): a pause in a noisy room is none.
MIN_ABOVE_FLOOR_DB = 6.0
#: The low band's excess over the high band (dB) at which a hop is half a hum, and how fast
#: the strength rises around it (dB for e-fold). The labelled /m/ of two real English voices
#: (the hand-labelled speaker, the MFA recording): median 33 and 31 dB; their vowels 22 and
#: 19 dB, but back rounded vowels and /l/ reach a hum's, so the alignment weighs a hum only
#: where the network hears silence (``transcript.HUM_SILENCE_REF``), and only to place a
#: written /m/.
HALF_HUM_TILT_DB = 28.0
HUM_TILT_SPREAD_DB = 2.0


def hum_strength(audio: Audio) -> np.ndarray:
    """How much each 10 ms hop sounds like a nasal murmur (lips shut, voice on), 0-1.

    Voiced, loud enough to be speech, and with the vowels' upper formants muffled
    (:func:`hum_features`); a breath (no periodicity) or a pause (at the noise floor) is 0.

    Returns
    -------
    (hops,) float32, hop ``i`` centred at ``i * 10`` ms
    """
    loudness, periodicity, tilt = hum_features(audio)
    speech_db = float(np.percentile(loudness, 95))
    floor_db = float(np.percentile(loudness, 10))
    voiced = (
        (periodicity > MIN_PERIODICITY)
        & (loudness > speech_db - MAX_BELOW_SPEECH_DB)
        & (loudness > floor_db + MIN_ABOVE_FLOOR_DB)
    )
    murmur = 1.0 / (1.0 + np.exp(-(tilt - HALF_HUM_TILT_DB) / HUM_TILT_SPREAD_DB))
    return np.where(voiced, murmur, 0.0).astype(np.float32)
