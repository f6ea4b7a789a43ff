"""The ``gioconda`` command as a user runs it: real processes, real files, exit codes."""

from __future__ import annotations

import csv
import subprocess
import sys
import wave
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES
from gioconda.speech.espeak import synthesize

pytestmark = pytest.mark.slow


def gioconda(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gioconda", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )  # fmt: skip


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> None:
    pcm = np.clip(samples * 32767, -32768, 32767).astype("<i2")
    if channels == 2:
        pcm = np.stack([pcm, pcm], axis=1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> tuple[Path, float]:
    """A stereo 44.1 kHz WAV of eSpeak saying a sentence, and its length."""
    spoken = synthesize("Hello, my name is Gioconda. Please, be my guest.")
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    from gioconda.speech.audio import resample

    audio = resample(spoken.audio, 44_100)
    write_wav(path, audio.samples, 44_100, channels=2)
    return path, audio.duration_s


@pytest.fixture(scope="module")
def photo(tmp_path_factory, astronaut) -> Path:
    path = tmp_path_factory.mktemp("photo") / "astronaut.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    return path


def probe(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        frames = sum(1 for _ in container.decode(video=0))
        info = {
            "frames": frames,
            "fps": float(video.average_rate),
            "size": (video.codec_context.width, video.codec_context.height),
            "codecs": (video.codec_context.name, audio.codec_context.name),
            "audio_s": float(audio.duration * audio.time_base),
            "comment": container.metadata.get("comment", ""),
        }
    return info


def test_animate_writes_a_playable_mp4_with_the_audio(tmp_path, photo, speech_wav):
    wav, duration = speech_wav
    out = tmp_path / "talk.mp4"
    motion_csv = tmp_path / "motion.csv"
    result = gioconda("animate", str(photo), str(wav), "-o", str(out), "--motion-out",
                      str(motion_csv), "--size", "256", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    info = probe(out)
    assert info["codecs"] == ("h264", "aac")
    assert info["size"] == (256, 256)
    assert info["fps"] == 25.0
    assert info["frames"] == int(np.ceil(duration * 25 - 1e-9))
    assert abs(info["audio_s"] - duration) < 0.03
    assert "Synthetic" in info["comment"]
    with open(motion_csv, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[:2] == ["Timecode", "BlendShapeCount"]
    assert header[2:54] == list(ARKIT_BLENDSHAPES)
    assert header[54:57] == ["HeadYaw", "HeadPitch", "HeadRoll"]
    # Live Link Face's own rate (60 rows a second, --motion-fps), whatever the video's.
    assert abs((len(rows) - 1) - info["frames"] * 60 / 25) <= 1
    jaw = np.array([float(r[header.index("JawOpen")]) for r in rows[1:]])
    close = np.array([float(r[header.index("MouthClose")]) for r in rows[1:]])
    # "my", "be", "Please", "name": the lips close, and they open for the vowels.
    assert close.max() > 0.95 and jaw.max() > 0.3
    assert not list(tmp_path.glob(".*part"))  # no temporary file left behind


def test_animate_from_text_at_full_frame(tmp_path, photo):
    out = tmp_path / "text.mp4"
    result = gioconda("animate", str(photo), "--text", "Good morning.", "-o", str(out),
                      "--full-frame", "--fps", "30", "-q")  # fmt: skip
    assert result.returncode == 0, result.stderr
    info = probe(out)
    assert info["size"] == (512, 512)  # the photo's own size
    assert info["fps"] == 30.0
    # One frame per 1/30 s of the soundtrack (the AAC stream may round its length a little).
    assert abs(info["frames"] - info["audio_s"] * 30) <= 1


def test_progress_bar_on_stderr_unless_quiet(tmp_path, photo):
    out = tmp_path / "p.mp4"
    # Bars show only for stages over a second: ten seconds of speech renders for longer.
    count = "One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve."
    loud = gioconda("animate", str(photo), "--text", f"{count} {count}",
                    "-o", str(out), "--size", "512")  # fmt: skip
    assert loud.returncode == 0, loud.stderr
    assert "render" in loud.stderr and "wrote" in loud.stderr
    quiet = gioconda("animate", str(photo), "--text", "One.", "-o", str(out), "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""


def bad_input_cases(tmp_path: Path, photo: Path, wav: Path) -> list[tuple[list[str], str]]:
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((300, 300, 3), 128, np.uint8))
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("this is not audio")
    empty = tmp_path / "empty.wav"
    write_wav(empty, np.zeros(0), 16_000)
    out = str(tmp_path / "out.mp4")
    return [
        (["animate", str(blank), str(wav), "-o", out], "no face found"),
        (["animate", str(tmp_path / "missing.jpg"), str(wav), "-o", out], "photo not found"),
        (["animate", str(photo), str(not_audio), "-o", out], "cannot read audio"),
        (["animate", str(photo), str(empty), "-o", out], "audio is empty"),
        (["animate", str(photo), str(tmp_path / "none.wav"), "-o", out], "audio file not found"),
        (["animate", str(photo), str(wav), "-o", out, "--max-audio-seconds", "1"], "longer than"),
        (
            ["animate", str(photo), str(wav), "-o", str(tmp_path / "no" / "dir" / "x.mp4")],
            "does not exist",
        ),
        (["animate", str(photo), "-o", out], "give an AUDIO file or --text"),
        (["animate", str(photo), str(wav), "--text", "hi", "-o", out], "not both"),
        (["animate", str(photo), "--text", "hi", "--voice", "no-such-voice", "-o", out], "voice"),
        (["animate", str(photo), str(wav), "-o", out, "--fps", "0"], "--fps"),
    ]


def test_bad_input_exits_2_with_one_clear_line_and_no_file(tmp_path, photo, speech_wav):
    wav, _ = speech_wav
    for args, message in bad_input_cases(tmp_path, photo, wav):
        result = gioconda(*args, "-q")
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        error_lines = [line for line in result.stderr.splitlines() if "error" in line]
        assert len(error_lines) == 1, result.stderr
        assert not (tmp_path / "out.mp4").exists()
        assert not list(tmp_path.glob(".out.mp4*"))


def test_demo_runs_with_no_arguments(tmp_path):
    result = gioconda("demo", "-q", "--size", "256", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = probe(tmp_path / "gioconda-demo.mp4")
    assert info["frames"] > 100 and info["size"] == (256, 256)


def test_animate_with_controls_then_render_its_motion_back(tmp_path, photo, speech_wav):
    wav, _ = speech_wav
    controls = tmp_path / "controls.json"
    controls.write_text('[{"time": 0.5, "control": "gaze", "value": [-20, 0]},'
                        ' {"time": 1.0, "control": "emotion", "value": "happy"}]')  # fmt: skip
    first = tmp_path / "first.mp4"
    motion_file = tmp_path / "motion.json"
    args = ["animate", str(photo), str(wav), "-o", str(first), "--size", "256", "-q",
            "--lipsync", "loudness", "--head-distance", "1.1", "--blink-rate", "0",
            "--controls", str(controls), "--motion-out", str(motion_file)]  # fmt: skip
    result = gioconda(*args)
    assert result.returncode == 0, result.stderr
    # Render the written motion again with a shorter soundtrack: the video keeps the motion's
    # length and frame rate, the audio is padded to it.
    short = tmp_path / "short.wav"
    write_wav(short, np.zeros(8000), 16000)
    second = tmp_path / "second.mp4"
    result = gioconda("animate", str(photo), "--motion", str(motion_file), "--audio", str(short),
                      "-o", str(second), "--size", "256", "-q")  # fmt: skip
    assert result.returncode == 0, result.stderr
    a, b = probe(first), probe(second)
    assert a["frames"] == b["frames"] and a["fps"] == b["fps"]
    assert b["audio_s"] == pytest.approx(b["frames"] / b["fps"], abs=0.05)
    with av.open(str(first)) as one, av.open(str(second)) as two:
        for i, (x, y) in enumerate(zip(one.decode(video=0), two.decode(video=0), strict=True)):
            if i % 10 == 0:  # the same motion on the same photo: the same frames, up to H.264
                diff = np.abs(
                    x.to_ndarray(format="rgb24").astype(int) - y.to_ndarray(format="rgb24")
                )
                # and up to the watermark: each render carries its own id (about 1.5 levels)
                assert diff.mean() < 3.0


def test_bad_motion_or_controls_exit_2_with_no_file(tmp_path, photo, speech_wav):
    wav, _ = speech_wav
    out = tmp_path / "out.mp4"
    broken_csv = tmp_path / "broken.csv"
    broken_csv.write_text("Timecode,BlendShapeCount,JawOpen\n00:00:00:00.000,61,0.5\n")
    wild = tmp_path / "wild.json"
    from gioconda.motion.frames import Motion
    from gioconda.output.motion_files import write_motion

    motion = Motion.rest(5, 25.0)
    motion.head_rotation_deg[2, 0] = 80.0
    write_motion(motion, wild)
    bad_controls = tmp_path / "controls.json"
    bad_controls.write_text('[{"time": 1, "control": "smile", "value": 1}]')
    cases = [
        (["--motion", str(broken_csv)], "lacks the Live Link Face columns"),
        (["--motion", str(tmp_path / "missing.json")], "not found"),
        (["--motion", str(wild)], "out of range"),
        (["--motion", str(wild), "--text", "hi"], "not --text"),
        (["--motion", str(wild), "--emotion", "sad"], "cannot change a motion"),
        ([str(wav), "--controls", str(bad_controls)], "unknown control 'smile'"),
        ([str(wav), "--gaze", "left"], "gaze must be"),
        ([str(wav), "--head-distance", "3"], "--head-distance must be"),
        ([str(wav), "--emotion", "bored"], "unknown emotion"),
    ]
    for args, message in cases:
        result = gioconda("animate", str(photo), *args, "-o", str(out), "-q")
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert len([ln for ln in result.stderr.splitlines() if "error" in ln]) == 1
        assert not out.exists() and not list(tmp_path.glob(".out.mp4*"))
