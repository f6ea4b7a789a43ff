"""A float recording's NaN or infinite samples are read as silence: a few of them must not
reach the analysis, where every filter spreads a NaN over the rest."""

from __future__ import annotations

import struct

import numpy as np

from gioconda.speech.audio import load_audio
from gioconda.speech.espeak import synthesize

RATE = 16000


def _float_wav(path, frames: np.ndarray, rate: int = RATE) -> None:
    """A 32-bit IEEE float WAV (format 3), which holds NaN and infinity as written."""
    data = np.ascontiguousarray(frames, "<f4").tobytes()
    channels = frames.shape[1]
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 3, channels, rate, rate * 4 * channels, 4 * channels, 32)
        + b"data"
        + struct.pack("<I", len(data))
    )
    path.write_bytes(header + data)


def test_nan_and_infinite_samples_are_read_as_silence(tmp_path):
    speech = synthesize("Her father never saw the water.", voice="en-us").audio
    voice = speech.samples.astype(np.float32)
    frames = np.stack([voice, voice], axis=1)
    _float_wav(tmp_path / "clean.wav", frames, speech.sample_rate)
    burst = slice(len(voice) // 3, len(voice) // 3 + 100)
    frames[burst, 0] = np.nan
    frames[burst.stop : burst.stop + 50, 0] = np.inf
    frames[burst.stop : burst.stop + 50, 1] = -np.inf  # their mean alone would be NaN
    _float_wav(tmp_path / "hostile.wav", frames, speech.sample_rate)

    clean = load_audio(tmp_path / "clean.wav", None).samples
    hostile = load_audio(tmp_path / "hostile.wav", None).samples
    assert np.isfinite(hostile).all()
    assert len(hostile) == len(clean)
    # The rest of the recording is as it was, at its level; the burst is silent.
    outside = np.ones(len(clean), bool)
    outside[burst.start : burst.stop + 50] = False
    assert np.array_equal(hostile[outside], clean[outside])
    assert not hostile[burst.stop : burst.stop + 50].any()
    # Resampled to the analysis rate too (FFmpeg's filter spreads a NaN over its taps).
    assert np.isfinite(load_audio(tmp_path / "hostile.wav", RATE).samples).all()
