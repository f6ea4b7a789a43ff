"""Mouth cues in Rhubarb Lip Sync's layouts, and the ``gioconda lipsync`` command."""

from __future__ import annotations

import itertools
import json
import wave

import numpy as np
import pytest

from gioconda.cli.app import main
from gioconda.errors import GiocondaError
from gioconda.output.cues import (
    RHUBARB_SHAPES,
    VISEME_TO_RHUBARB,
    mouth_cues,
    write_cues,
)
from gioconda.speech.espeak import synthesize
from gioconda.speech.visemes import VISEMES, PhoneSegment

PHONES = (
    PhoneSegment(0.0, 0.304, "sil", "sil"),
    PhoneSegment(0.304, 0.38, "m", "PP"),
    PhoneSegment(0.38, 0.5, "a", "aa"),
    PhoneSegment(0.5, 0.52, "a", "aa"),  # same shape: joined
    PhoneSegment(0.52, 0.6, "p", "PP"),
    PhoneSegment(0.6, 0.6041, "a", "aa"),  # under 10 ms: rounded away
    PhoneSegment(0.7, 0.81, "f", "FF"),  # a gap before: at rest
)


def test_cues_cover_the_audio_joined_and_rounded() -> None:
    cues = mouth_cues(PHONES, 1.0)
    assert [c.value for c in cues] == ["sil", "PP", "aa", "PP", "sil", "FF", "sil"]
    assert cues[0].start_s == 0.0 and cues[-1].end_s == 1.0
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(cues))
    assert all(round(c.start_s, 2) == c.start_s for c in cues)
    assert cues[1].start_s == 0.30


def test_rhubarb_shapes() -> None:
    assert set(VISEME_TO_RHUBARB) == set(VISEMES)
    assert set(VISEME_TO_RHUBARB.values()) <= set(RHUBARB_SHAPES)
    cues = mouth_cues(PHONES, 1.0, shapes="rhubarb")
    assert [c.value for c in cues] == ["X", "A", "D", "A", "X", "G", "X"]
    with pytest.raises(GiocondaError):
        mouth_cues(PHONES, 1.0, shapes="preston-blair")


def test_tsv_layout(tmp_path) -> None:
    path = tmp_path / "cues.tsv"
    write_cues(PHONES, 1.0, path, shapes="rhubarb")
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines]
    assert all(len(r) == 2 for r in rows)
    times = [float(t) for t, _ in rows]
    assert times == sorted(times) and times[0] == 0.0 and times[-1] == 1.0
    assert rows[-1][1] == "X"  # Rhubarb's last line: the end, at rest
    assert [v for _, v in rows[:-1]] == ["X", "A", "D", "A", "X", "G", "X"]


def test_json_layout(tmp_path) -> None:
    path = tmp_path / "cues.json"
    write_cues(PHONES, 1.0, path, sound_file="hello.wav")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["metadata"] == {"soundFile": "hello.wav", "duration": 1.0}
    cues = data["mouthCues"]
    assert set(cues[0]) == {"start", "end", "value"}
    assert cues[0]["start"] == 0.0 and cues[-1]["end"] == 1.0
    assert [c["value"] for c in cues] == ["sil", "PP", "aa", "PP", "sil", "FF", "sil"]


def test_bad_suffix_leaves_nothing(tmp_path) -> None:
    with pytest.raises(GiocondaError, match=r"\.json or \.tsv"):
        write_cues(PHONES, 1.0, tmp_path / "cues.txt")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> str:
    speech = synthesize("Bob put a big map on the table.", voice="en-us")
    path = tmp_path_factory.mktemp("audio") / "bob.wav"
    # Silence around the speech, as a recording has (eSpeak starts on the /b/ itself).
    pad = np.zeros(int(0.3 * speech.audio.sample_rate), np.float32)
    samples = np.concatenate([pad, speech.audio.samples, pad])
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(speech.audio.sample_rate)
        f.writeframes(pcm.tobytes())
    return str(path)


def test_lipsync_command_with_a_transcript(speech_wav: str, tmp_path) -> None:
    out = tmp_path / "cues.json"
    script = tmp_path / "dialog.txt"
    script.write_text("Bob put a big map on the table.\n", encoding="utf-8")
    args = ["lipsync", speech_wav, "-o", str(out), "--transcript", str(script), "--language", "en"]
    assert main([*args, "--shapes", "rhubarb", "-q"]) == 0
    cues = json.loads(out.read_text(encoding="utf-8"))["mouthCues"]
    shapes = [c["value"] for c in cues]
    assert shapes.count("A") >= 4  # Bob, put, big, map: the lips shut in each
    assert shapes[0] == "X" and shapes[-1] == "X"


def test_lipsync_command_errors(speech_wav: str, tmp_path, capsys) -> None:
    assert main(["lipsync", speech_wav, "-o", str(tmp_path / "cues.srt")]) == 2
    assert main(["lipsync", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "c.tsv")]) == 2
    assert main(["lipsync", speech_wav, "-o", str(tmp_path / "c.tsv"), "--language", "xx"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert list(tmp_path.glob("c.*")) == []
