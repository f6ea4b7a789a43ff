"""Every long stage in a log file, and ``-v`` (issue 12): the real command, stderr to a pipe.

A pipe is not a terminal, so each stage must come as a few whole lines (``gioconda: render 50%
(44/88)``), never a bar's carriage returns, and nothing asks for a terminal; ``-v`` says which
model, method and settings each stage used; ``-q`` leaves stderr empty.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import wave
from pathlib import Path

import av
import numpy as np
import pytest

pytestmark = pytest.mark.slow

_STAGE_LINE = re.compile(
    r"^gioconda: (?P<stage>.+) (?P<share>\d+)% \((?P<done>\d+)/(?P<total>\d+)\)$"
)


def gioconda(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """The command as a job runs it: no terminal anywhere (stdin closed, stdout and stderr
    pipes). Read as bytes and decoded here: text mode would turn carriage returns into
    newlines and hide exactly what a log must not get."""
    run = subprocess.run(
        [sys.executable, "-m", "gioconda", *args],
        cwd=cwd, capture_output=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    run.stdout, run.stderr = run.stdout.decode(), run.stderr.decode()
    return run


def stage_lines(stderr: str) -> dict[str, list[tuple[int, int]]]:
    """(done, total) of each progress line, by stage."""
    stages: dict[str, list[tuple[int, int]]] = {}
    for line in stderr.splitlines():
        match = _STAGE_LINE.match(line)
        if match:
            stages.setdefault(match["stage"], []).append((int(match["done"]), int(match["total"])))
    return stages


def assert_log_friendly(stderr: str) -> None:
    assert "\r" not in stderr and "\x1b[" not in stderr, "terminal control in a log"
    assert "Traceback" not in stderr, stderr
    for stage, lines in stage_lines(stderr).items():
        assert len(lines) <= 5, f"{stage}: {len(lines)} lines"


def assert_finished(stages: dict[str, list[tuple[int, int]]], stage: str) -> None:
    assert stage in stages, f"no {stage} progress in {sorted(stages)}"
    done, total = stages[stage][-1]
    assert done == total > 0, stages[stage]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A portrait, a spoken sentence (eSpeak NG) and a driving video of the portrait itself."""
    from PIL import Image
    from skimage import data

    from gioconda.output.video import Mp4Writer
    from gioconda.speech.espeak import synthesize

    folder = tmp_path_factory.mktemp("stages")
    photo = data.astronaut()
    Image.fromarray(photo).save(folder / "face.png")
    spoken = synthesize("Hello, my name is Gioconda.").audio
    pcm = np.clip(spoken.samples * 32767, -32768, 32767).astype("<i2")
    with wave.open(str(folder / "speech.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(spoken.sample_rate)
        out.writeframes(pcm.tobytes())
    # A still face, slightly shifted frame to frame: enough for the tracker to follow.
    small = np.asarray(Image.fromarray(photo).resize((256, 256)))
    with Mp4Writer(folder / "driving.mp4", 10, 256, 256) as video:
        for i in range(12):
            video.write(np.roll(small, i % 3, axis=1))
    return folder


def test_animate_from_a_recording_logs_each_stage_and_what_it_used(folder, tmp_path):
    """Recognition, alignment, face analysis and render each in a few whole lines; -v names
    Whisper's model and the language it found, the face analysis and the encoding."""
    run = gioconda(
        "-v", "animate", "face.png", "speech.wav", "-o", str(tmp_path / "talk.webm"),
        "--size", "128", cwd=folder, env={"GIOCONDA_CACHE": str(tmp_path / "cache")},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert_log_friendly(run.stderr)
    stages = stage_lines(run.stderr)
    for stage in ("recognition", "alignment", "face analysis", "render"):
        assert_finished(stages, stage)
    assert stages["face analysis"][-1] == (4, 4)
    verbose = run.stderr
    assert re.search(r"recognition: Whisper tiny\.en .*language en \(detected", verbose)
    assert "alignment: " in verbose and "face 0 of the 512x512 photo" in verbose
    assert re.search(r"render: \d+ frames of 128x128 at 25 fps.*webm, VP9", verbose), verbose
    with av.open(str(tmp_path / "talk.webm")) as container:
        assert [s.codec_context.name for s in container.streams] == ["vp9", "opus"]
        frames = sum(1 for _ in container.decode(video=0))
    assert stages["render"][-1] == (frames, frames)


def test_reenact_logs_tracking_and_its_settings_and_q_silences(folder, tmp_path):
    out = tmp_path / "re.mp4"
    run = gioconda("-v", "reenact", "face.png", "driving.mp4", "-o", str(out), "--size", "64",
                   cwd=folder)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert_log_friendly(run.stderr)
    stages = stage_lines(run.stderr)
    assert_finished(stages, "track")
    assert_finished(stages, "render")
    assert "tracking: MediaPipe Face Mesh in tracking mode" in run.stderr
    assert re.search(r"12 frames of 256x256 at 10 fps, a face in 1[0-2]", run.stderr), run.stderr
    assert "render: 12 frames of 64x64 at 10 fps" in run.stderr
    quiet = gioconda("reenact", "face.png", "driving.mp4", "-o", str(out), "--size", "64", "-q",
                     cwd=folder)  # fmt: skip
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_bench_says_what_it_measures_as_it_goes(folder):
    run = gioconda("bench", "live", "--seconds", "1", "--sessions", "1", "--size", "128",
                   cwd=folder)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert_log_friendly(run.stderr)
    assert stage_lines(run.stderr) == {"bench live, 1 session for 1 s": [(0, 1), (1, 1)]}
    # The measurement's own line, on stdout, after its progress had said what it measured.
    assert run.stdout.startswith("live  1 session(s):")


def test_batch_and_serve_say_what_they_will_use(folder, tmp_path):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(f"photo,text,voice\n{folder / 'face.png'},Hi.,en-us\n")
    run = gioconda("-v", "batch", str(jobs), "-o", str(tmp_path / "videos"), "--workers", "1",
                   "--size", "64", cwd=folder)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "\r" not in run.stderr, "the batch's bar in a log"
    assert re.search(r"row 1 row-1\.mp4: done, \d+ frames", run.stderr)
    assert re.search(r"batch: 1 rows from .*jobs\.csv .*; 1 local worker processes", run.stderr)
    assert "batch defaults for rows: lip sync whisper, voice joe, 64 px at 25 fps" in run.stderr

    server = subprocess.Popen(
        [sys.executable, "-m", "gioconda", "-v", "serve", "--size", "128",
         "--port", str(20000 + os.getpid() % 20000)],
        cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.stderr is not None:
            line = server.stderr.readline().decode()
            lines.append(line)
            if not line or line.startswith("gioconda: serve: file jobs"):
                break
    finally:
        server.terminate()
        server.wait(timeout=30)
    said = "".join(lines)
    assert "\r" not in said
    assert "serve: live frames 128 px at 25 fps" in said and "viseme network" in said, said
    assert re.search(r"serve: file jobs at 128 px, 25 fps, lip sync whisper, mp4, H\.264", said)


def test_quiet_verbose_says_what_it_used_without_progress(folder, tmp_path):
    """-q silences progress and notes; -v beside it still says what each stage used."""
    run = gioconda("-v", "animate", "face.png", "--text", "Hi.", "--voice", "en-us", "-o",
                   str(tmp_path / "hi.mp4"), "--size", "64", "-q", cwd=folder)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert stage_lines(run.stderr) == {}
    assert "gioconda: speech synthesis: eSpeak NG, voice en-us" in run.stderr.splitlines()
    assert "render: " in run.stderr and "wrote" not in run.stderr
