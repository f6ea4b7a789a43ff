"""How the ``gioconda`` process ends: at once after a success with nothing left running (its
output flushed), as usual otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av

_PRELUDE = """
import atexit, sys, threading, time
from gioconda.cli.app import finish
mark = sys.argv[1]
atexit.register(lambda: open(mark + ".atexit", "w").close())
print("said before the end", end="")  # buffered: a pipe
"""


def _run(code: str, mark: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PRELUDE + code, str(mark)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_success_ends_at_once_with_the_output_flushed(tmp_path: Path) -> None:
    done = _run("finish(0)", tmp_path / "m")
    assert done.returncode == 0
    assert done.stdout == "said before the end"
    assert not (tmp_path / "m.atexit").exists()  # the interpreter's teardown was skipped


def test_a_failure_or_a_thread_still_running_ends_as_usual(tmp_path: Path) -> None:
    failed = _run("finish(2)", tmp_path / "failed")
    assert failed.returncode == 2 and failed.stdout == "said before the end"
    assert (tmp_path / "failed.atexit").exists()
    # A thread that is not a daemon is waited for: its file is written before the end.
    late = """
def late():
    time.sleep(0.3)
    open(mark + ".thread", "w").close()
threading.Thread(target=late).start()
finish(0)
"""
    waited = _run(late, tmp_path / "waited")
    assert waited.returncode == 0
    assert (tmp_path / "waited.thread").exists() and (tmp_path / "waited.atexit").exists()


def test_the_command_writes_a_whole_video_and_says_so(tmp_path: Path) -> None:
    from importlib import resources

    photo = resources.files("gioconda") / "assets" / "mona_lisa.jpg"
    out = tmp_path / "hello.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "gioconda", "animate", str(photo), "--text", "Hello.",
         "--voice", "en-us", "-o", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout + done.stderr
    with av.open(str(out)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(str(out)) as container:
        audio = sum(f.samples for f in container.decode(audio=0))
    assert frames > 10 and audio > 0.4 * 48_000
