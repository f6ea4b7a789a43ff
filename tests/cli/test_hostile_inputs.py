"""Hostile inputs fed to the ``gioconda`` command: nothing lost, never a traceback (issue 12).

Every case runs the real command in a subprocess, in a folder of its own made here (a portrait,
a recording, and whatever the case needs), and checks what a user would see and keep:

- exit status 2 and exactly one line on stderr, ``gioconda...: error: ...`` (usage errors may
  put the subcommand's usage before it), never a traceback;
- afterwards the folder holds exactly the files it held before, byte for byte and of the same
  kind (a FIFO is still a FIFO): no output appeared, no ``.part`` file was left, no input
  changed.

The inputs are generated: scikit-image's astronaut as the portrait, a voiced tone as the
recording, and the hostile files (a 16000x12000 PNG of 0.6 MB, a 100,000-deep JSON, ...).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import stat
import subprocess
import sys
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

#: How a run is started: the installed package's module, with this interpreter.
COMMAND = [sys.executable, "-m", "gioconda"]
#: A case that has not finished by then has hung.
CASE_TIMEOUT_S = 60
_ERROR_LINE = re.compile(r"^gioconda( [a-z-]+)*: error: \S")


# --------------------------------------------------------------------------------------
# Inputs


def _write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> None:
    """16-bit PCM; ``samples`` is (n,) or (n, channels) float in [-1, 1]."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    pcm = np.clip(np.round(frames * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(frames.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def _voice(seconds: float, rate: int = 16000) -> np.ndarray:
    """A voiced, syllable-paced tone: enough for loudness lip sync, no speech needed."""
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.4 * np.sin(2 * np.pi * 140 * t) + 0.2 * np.sin(2 * np.pi * 280 * t)
    return (tone * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2)).astype(np.float32)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ordinary inputs every case starts from, made once."""
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("inputs")
    Image.fromarray(data.astronaut()).save(folder / "face.png")
    _write_wav(folder / "speech.wav", _voice(2.0))
    return folder


@pytest.fixture
def case(inputs: Path, tmp_path: Path) -> Path:
    """A fresh folder holding copies of the ordinary inputs."""
    for source in inputs.iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    return tmp_path


# --------------------------------------------------------------------------------------
# What a run leaves


@dataclass(frozen=True)
class Entry:
    kind: str  # "file", "fifo", "char", "link", "dir"
    digest: str = ""  # SHA-256 of a regular file's bytes, a link's target


def snapshot(folder: Path) -> dict[str, Entry]:
    """Every entry under ``folder`` (recursively), by relative path; never opens a FIFO."""
    entries: dict[str, Entry] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            info = os.lstat(path)
            relative = str(path.relative_to(folder))
            if stat.S_ISLNK(info.st_mode):
                entries[relative] = Entry("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                entries[relative] = Entry("file", hashlib.sha256(path.read_bytes()).hexdigest())
            elif stat.S_ISFIFO(info.st_mode):
                entries[relative] = Entry("fifo")
            elif stat.S_ISCHR(info.st_mode):
                entries[relative] = Entry("char", str(info.st_rdev))
            elif stat.S_ISDIR(info.st_mode):
                entries[relative] = Entry("dir")
            else:
                entries[relative] = Entry("other")
    return entries


@dataclass
class Run:
    returncode: int
    stderr: str
    stdout: str
    seconds: float
    before: dict[str, Entry] = field(default_factory=dict)
    after: dict[str, Entry] = field(default_factory=dict)


def run_cli(folder: Path, *args: str, timeout: float = CASE_TIMEOUT_S) -> Run:
    """Run ``gioconda ARGS`` in ``folder`` and record the folder before and after."""
    before = snapshot(folder)
    start = time.monotonic()
    done = subprocess.run(
        [*COMMAND, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "100"},
    )
    return Run(
        done.returncode,
        done.stderr,
        done.stdout,
        time.monotonic() - start,
        before,
        snapshot(folder),
    )


def assert_refused(run: Run, usage: bool = False, mention: str | None = None) -> None:
    """Exit 2, one error line, nothing changed. With ``usage``, the command's usage may come
    before the line (argparse's own errors: a value that is not a number)."""
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 2, f"exit {run.returncode}: {run.stderr}"
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines, "no message"
    if lines[0].startswith("usage: gioconda"):
        assert usage, f"a usage message for a value error: {run.stderr}"
        message = lines[-1]
        assert sum(bool(_ERROR_LINE.match(line)) for line in lines) == 1, run.stderr
    else:
        assert len(lines) == 1, run.stderr
        message = lines[0]
    assert _ERROR_LINE.match(message), run.stderr
    if mention is not None:
        assert mention.lower() in message.lower(), message
    changed = {
        name: (run.before.get(name), run.after.get(name))
        for name in run.before.keys() | run.after.keys()
        if run.before.get(name) != run.after.get(name)
    }
    assert not changed, f"the folder changed: {changed}"


ANIMATE = ("animate", "face.png", "speech.wav", "--lipsync", "loudness", "-q")


# --------------------------------------------------------------------------------------
# Nothing lost


@pytest.mark.parametrize(
    "output",
    ["face.png", "./face.png", "speech.wav", "sub/../speech.wav"],
    ids=["photo", "photo-dotted", "audio", "audio-dotdot"],
)
def test_output_naming_an_input_is_refused(case: Path, output: str) -> None:
    (case / "sub").mkdir()
    assert_refused(run_cli(case, *ANIMATE, "-o", output), mention="input")


def test_output_through_a_symlink_to_an_input_is_refused(case: Path) -> None:
    (case / "link.mp4").symlink_to("face.png")
    assert_refused(run_cli(case, *ANIMATE, "-o", "link.mp4"), mention="input")


def test_video_and_motion_at_one_path_are_refused(case: Path) -> None:
    assert_refused(run_cli(case, *ANIMATE, "-o", "out.json", "--motion-out", "out.json"))


def test_motion_out_naming_an_input_is_refused(case: Path) -> None:
    assert_refused(run_cli(case, *ANIMATE, "-o", "out.mp4", "--motion-out", "speech.wav"))


def test_bad_motion_suffix_fails_before_the_old_video_is_touched(case: Path) -> None:
    (case / "out.mp4").write_bytes(b"yesterday's video")
    run = run_cli(case, *ANIMATE, "-o", "out.mp4", "--motion-out", "motion.txt")
    assert_refused(run, mention="--motion-out")
    assert run.seconds < 20, "checked after the long work"


@pytest.mark.parametrize("suffix", [".txt", ".avi", ""], ids=["txt", "avi", "none"])
def test_output_that_is_not_a_video_container_is_refused(case: Path, suffix: str) -> None:
    assert_refused(run_cli(case, *ANIMATE, "-o", f"out{suffix}"), mention="-o")


def test_fifo_as_output_is_refused_and_kept(case: Path) -> None:
    os.mkfifo(case / "pipe.mp4")
    assert_refused(run_cli(case, *ANIMATE, "-o", "pipe.mp4"))


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_device_node_as_output_is_refused_and_kept(case: Path) -> None:
    # A null device of our own, in the test's folder: the system's /dev/null is never at risk.
    os.mknod(case / "null.mp4", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    assert_refused(run_cli(case, *ANIMATE, "-o", "null.mp4"))


def test_output_in_a_missing_folder_or_at_a_folder_is_refused(case: Path) -> None:
    assert_refused(run_cli(case, *ANIMATE, "-o", "missing/out.mp4"), mention="missing")
    (case / "clips.mp4").mkdir()
    assert_refused(run_cli(case, *ANIMATE, "-o", "clips.mp4"))


def test_a_line_break_in_a_name_still_gives_one_line(case: Path) -> None:
    assert_refused(run_cli(case, *ANIMATE, "-o", "two\nlines.txt"))


def test_a_250_character_name_is_checked_like_any_other(case: Path) -> None:
    # Legal (255 bytes is the limit): the temporary name must not push it over. The run is
    # refused for a bad --motion-out suffix, which is checked after the output path.
    name = "v" * 246 + ".mp4"
    run = run_cli(case, *ANIMATE, "-o", name, "--motion-out", "m.txt")
    assert_refused(run, mention="--motion-out")


@pytest.mark.parametrize(
    "args",
    [
        ("reenact", "face.png", "speech.wav", "-o", "speech.wav"),
        ("reenact", "face.png", "speech.wav", "-o", "out.mp4", "--motion-out", "face.png"),
        ("animate", "face.png", "--motion", "m.json", "-o", "m.json"),
        ("animate", "face.png", "speech.wav", "-o", "c.json", "--controls", "c.json"),
    ],
    ids=["reenact-video", "reenact-motion-photo", "motion-file", "controls-file"],
)
def test_other_outputs_naming_an_input_are_refused(case: Path, args: tuple[str, ...]) -> None:
    (case / "m.json").write_text("[]")
    (case / "c.json").write_text("[]")
    assert_refused(run_cli(case, *args))


# --------------------------------------------------------------------------------------
# Never a traceback, never a hang


def _png(path: Path, array: np.ndarray, **params: object) -> None:
    from PIL import Image

    Image.fromarray(array).save(path, **params)


def test_decompression_bomb_png_is_one_line(case: Path) -> None:
    from PIL import Image

    Image.new("L", (16000, 12000), 128).save(case / "huge.png", optimize=True)
    assert (case / "huge.png").stat().st_size < 2_000_000
    run = run_cli(case, "animate", "huge.png", "speech.wav", "-o", "out.mp4")
    assert_refused(run, mention="huge.png")


@pytest.mark.parametrize(
    "content",
    [b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, b"not an image at all"],
    ids=["empty", "truncated-png", "text"],
)
def test_unreadable_photo_is_one_line(case: Path, content: bytes) -> None:
    (case / "bad.png").write_bytes(content)
    assert_refused(run_cli(case, "animate", "bad.png", "speech.wav", "-o", "out.mp4"))


def test_photo_that_is_a_fifo_or_a_folder_is_one_line(case: Path) -> None:
    os.mkfifo(case / "pipe.png")
    assert_refused(run_cli(case, "animate", "pipe.png", "speech.wav", "-o", "out.mp4"))
    (case / "photos").mkdir()
    assert_refused(run_cli(case, "animate", "photos", "speech.wav", "-o", "out.mp4"))


@pytest.mark.parametrize(
    "content",
    [b"", b"RIFF\x24\0\0\0WAVEfmt ", b"\0" * 5000],
    ids=["empty", "truncated-wav", "zeros"],
)
def test_unreadable_audio_is_one_line(case: Path, content: bytes) -> None:
    (case / "bad.wav").write_bytes(content)
    assert_refused(run_cli(case, "animate", "face.png", "bad.wav", "-o", "out.mp4"))


@pytest.mark.parametrize("value", ["inf", "nan", "-5"])
def test_bad_audio_limit_is_one_line(case: Path, value: str) -> None:
    run = run_cli(case, *ANIMATE, "-o", "out.mp4", f"--max-audio-seconds={value}")
    assert_refused(run, usage=True, mention="--max-audio-seconds")


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_bad_reenact_limit_is_one_line(case: Path, value: str) -> None:
    run = run_cli(
        case, "reenact", "face.png", "speech.wav", "-o", "out.mp4", f"--max-seconds={value}"
    )
    assert_refused(run, usage=True, mention="--max-seconds")


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--fps", "nan"),
        ("--size", "100000"),
        ("--head-distance", "inf"),
        ("--emotion-strength", "-1"),
        ("--gaze", "nan,0"),
    ],
)
def test_bad_render_and_motion_values_are_one_line(case: Path, flag: str, value: str) -> None:
    run = run_cli(case, *ANIMATE, "-o", "out.mp4", f"{flag}={value}")
    assert_refused(run, usage=True, mention=flag)


@pytest.mark.parametrize(
    "args",
    [
        ("--seconds", "nan"),
        ("--seconds", "-1"),
        ("--size", "7"),
    ],
)
def test_bad_bench_arguments_are_one_line(case: Path, args: tuple[str, str]) -> None:
    run = run_cli(case, "bench", f"{args[0]}={args[1]}", timeout=30)
    assert_refused(run, usage=True, mention=args[0])


@pytest.mark.parametrize(
    "document",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a": ' * 50_000 + "1" + "}" * 50_000,
        '[{"time": NaN, "control": "gaze", "value": "camera"}]',
        '[{"time": 1e999, "control": "gaze", "value": "camera"}]',
        '[{"time": 0, "control": "head_distance", "value": Infinity}]',
        "\xff\xfe not json",
        "[1, 2",
    ],
    ids=["deep-list", "deep-object", "nan-time", "inf-time", "inf-value", "binary", "cut"],
)
def test_hostile_controls_json_is_one_line(case: Path, document: str) -> None:
    (case / "controls.json").write_bytes(document.encode("utf-8", "surrogateescape"))
    run = run_cli(case, *ANIMATE, "-o", "out.mp4", "--controls", "controls.json")
    assert_refused(run, mention="controls.json")


@pytest.mark.parametrize("cell", ["nan", "1e999", "abc"], ids=["nan", "huge", "text"])
def test_hostile_motion_csv_is_one_line(case: Path, cell: str) -> None:
    names = ["EyeBlinkLeft", "JawOpen", "HeadYaw"]
    header = "Timecode,BlendShapeCount," + ",".join(names)
    rows = [f"00:00:00:{i:02d}.000,3,0,{cell if i == 2 else 0},0" for i in range(5)]
    (case / "motion.csv").write_text("\n".join([header, *rows]) + "\n")
    run = run_cli(case, "animate", "face.png", "--motion", "motion.csv", "-o", "out.mp4")
    assert_refused(run, mention="motion.csv")


def test_text_far_over_the_limit_is_refused_before_synthesis(case: Path) -> None:
    text = "This sentence is said again and again. " * 3000  # about 2 hours of speech
    run = run_cli(case, "animate", "face.png", "--text", text, "-o", "out.mp4", "-q")
    assert_refused(run, mention="--max-audio-seconds")
    assert run.seconds < 20, "synthesized before refusing"


# --------------------------------------------------------------------------------------
# Killed mid-run


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_a_killed_run_leaves_no_part_file_and_the_old_video(case: Path, signum: int) -> None:
    # (Long enough that the render outlasts the wait for its first frames on a busy machine:
    # 20 s at 128 px was all rendered, once faster, before the signal came.)
    _write_wav(case / "long.wav", _voice(90.0))
    (case / "out.mp4").write_bytes(b"yesterday's video")
    before = snapshot(case)
    process = subprocess.Popen(
        [*COMMAND, "animate", "face.png", "long.wav", "-o", "out.mp4", "--motion-out", "m.json",
         "--lipsync", "loudness", "--size", "128", "-q"],
        cwd=case,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + CASE_TIMEOUT_S
    # Mid-render: the video's temporary file has frames in it.
    while not any(p.name.endswith(".part") and p.stat().st_size > 0 for p in case.iterdir()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no video was being written"
        time.sleep(0.05)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=CASE_TIMEOUT_S)
    assert "Traceback" not in stderr, stderr
    assert process.returncode == 128 + signum, stderr
    assert snapshot(case) == before


def test_nothing_left_by_a_refused_run_even_when_the_folder_is_busy(case: Path) -> None:
    # A stranger's .part file beside the output is not ours to remove.
    (case / ".out.mp4.0123abcd.part").write_bytes(b"someone else's")
    assert_refused(run_cli(case, *ANIMATE, "-o", "out.mp4", "--motion-out", "m.txt"))


def test_no_case_here_takes_the_long_path(case: Path) -> None:
    # Arguments are checked before the photo is analysed: a refusal for a bad flag takes the
    # time to start Python, not the time to load models.
    run = run_cli(case, *ANIMATE, "-o", "out.mp4", "--motion-out", "m.txt")
    assert_refused(run)
    assert run.seconds < 10, f"{run.seconds:.1f} s"


def test_version() -> None:
    done = subprocess.run([*COMMAND, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.match(r"^gioconda \d+\.\d+", done.stdout), done.stdout


def test_a_reader_that_goes_away_is_not_a_traceback() -> None:
    # `gioconda voices | head -1`: the pipe closes while the list is printed.
    with subprocess.Popen(
        [*COMMAND, "voices"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        process.stdout.readline()
        process.stdout.close()
        stderr = process.stderr.read()
        process.wait(timeout=CASE_TIMEOUT_S)
    assert "Traceback" not in stderr, stderr
    assert process.returncode in (0, 141), stderr
