"""Recordings of any channel count become mono at the level they were recorded (issue 12)."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from gioconda.speech.audio import load_audio


def _wav(path, frames: np.ndarray, rate: int = 16000) -> None:
    pcm = np.round(frames * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(frames.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def _tone(seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.7 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.mark.parametrize("channels", [2, 6])
def test_equal_channels_downmix_without_gain(tmp_path, channels):
    tone = _tone()
    _wav(tmp_path / "many.wav", np.repeat(tone[:, None], channels, axis=1))
    _wav(tmp_path / "one.wav", tone[:, None])
    many, one = load_audio(tmp_path / "many.wav", 16000), load_audio(tmp_path / "one.wav", 16000)
    # FFmpeg's own 5.1 downmix adds the channels: 3x the level, clipped at 1.
    assert np.abs(many.samples).max() == pytest.approx(np.abs(one.samples).max(), abs=1e-3)
    assert np.allclose(many.samples, one.samples, atol=1e-3)


def test_a_voice_in_one_channel_keeps_its_level(tmp_path):
    tone = _tone()
    frames = np.zeros((tone.size, 6), np.float32)
    frames[:, 2] = tone  # the centre channel of 5.1
    _wav(tmp_path / "centre.wav", frames)
    mono = load_audio(tmp_path / "centre.wav", 16000)
    assert np.abs(mono.samples).max() == pytest.approx(0.7, abs=0.01)
