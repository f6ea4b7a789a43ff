"""Frames rendered by forked processes: the same frames and file as threads, errors raised at
their frame, no process left behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from gioconda.errors import GiocondaError
from gioconda.forking import can_fork
from gioconda.pipeline import render_video
from gioconda.render.forked import forked_frames

from .test_stream import _decoded, _motion

pytestmark = pytest.mark.skipif(not can_fork(), reason="frames are forked on Linux only")


def _pattern(i: int) -> np.ndarray:
    """A frame that says which frame it is, made in a different process for each worker."""
    time.sleep(0.005)  # (long enough that every worker gets frames)
    frame = np.full((6, 4, 3), i % 251, np.uint8)
    frame[0, :2] = np.frombuffer(os.getpid().to_bytes(6, "little"), np.uint8).reshape(2, 3)
    return frame


def _maker(frame: np.ndarray) -> int:
    """The process id :func:`_pattern` wrote into ``frame``."""
    return int.from_bytes(frame[0, :2].tobytes(), "little")


def test_forked_frames_come_in_order_from_several_processes() -> None:
    frames = list(forked_frames(_pattern, 40, (6, 4, 3), workers=3))
    assert [int(f[1, 1, 0]) for f in frames] == list(range(40))
    # Other processes made them (each takes the next frame when it is free), not this one;
    # each frame is the caller's own copy.
    makers = {_maker(f) for f in frames}
    assert len(makers) >= 2 and os.getpid() not in makers
    assert all(f.flags.owndata for f in frames)
    assert multiprocessing.active_children() == []


def test_a_frames_error_is_raised_at_that_frame() -> None:
    def make(i: int) -> np.ndarray:
        if i == 7:
            raise GiocondaError("frame 7 is bad")
        return _pattern(i)

    got = []
    with pytest.raises(GiocondaError, match="frame 7 is bad"):
        for frame in forked_frames(make, 100, (6, 4, 3), workers=2):
            got.append(int(frame[1, 1, 0]))
    assert got == list(range(7))
    assert multiprocessing.active_children() == []


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    def make(i: int) -> np.ndarray:
        if i == 5:
            os.kill(os.getpid(), signal.SIGKILL)
        return _pattern(i)

    with pytest.raises(GiocondaError, match="render process stopped unexpectedly"):
        list(forked_frames(make, 50, (6, 4, 3), workers=2))
    assert multiprocessing.active_children() == []


def test_a_stuck_worker_is_an_error_not_a_hang(monkeypatch) -> None:
    """A worker that waits for ever inside a frame (as on a lock never released: no
    processor time used) stops the render with a one-line error once the stall limit has
    passed, and no process is left; a frame that takes longer than that limit but works
    (uses the processor) is waited for."""
    from gioconda.render import forked

    monkeypatch.setattr(forked, "STALL_S", 1.5)
    monkeypatch.setattr(forked, "_STALL_CHECK_S", 0.25)

    def stuck(i: int) -> np.ndarray:
        if i == 3:
            time.sleep(3600)
        return _pattern(i)

    start = time.monotonic()
    with pytest.raises(GiocondaError, match=r"no progress for 1\.5 s before frame 3"):
        list(forked_frames(stuck, 20, (6, 4, 3), workers=2))
    assert time.monotonic() - start < 10
    assert multiprocessing.active_children() == []

    def slow(i: int) -> np.ndarray:
        if i == 3:
            end = time.process_time() + 2.5
            while time.process_time() < end:
                pass
        return _pattern(i)

    frames = list(forked_frames(slow, 8, (6, 4, 3), workers=2))
    assert [int(f[1, 1, 0]) for f in frames] == list(range(8))


def test_stopping_early_ends_the_workers() -> None:
    frames = forked_frames(_pattern, 10_000, (6, 4, 3), workers=2)
    assert int(next(frames)[1, 1, 0]) == 0
    frames.close()
    assert multiprocessing.active_children() == []


_STOPPED_UNDER_A_HANDLER = """
import signal
import numpy as np
from gioconda.render.forked import forked_frames
# The caller's own SIGTERM handler (as the batch runner's and the CLI's guard install):
# workers inherit it until they put the default back.
signal.signal(signal.SIGTERM, lambda number, frame: None)
for _ in range(30):
    frames = forked_frames(lambda i: np.full((6, 4, 3), i % 256, np.uint8), 10_000, (6, 4, 3), 2)
    next(frames)
    frames.close()
print("ended")
"""


def test_stopping_early_ends_the_workers_under_the_callers_sigterm_handler() -> None:
    # A worker that got the SIGTERM ending it before it had put SIGTERM's default back ran
    # the caller's handler (or lost the signal) and waited for a free slot for ever, and the
    # caller waited for it: the whole test suite hung here once.
    done = subprocess.run([sys.executable, "-c", _STOPPED_UNDER_A_HANDLER],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ended"


def test_render_video_same_file_in_processes_as_in_threads(mona_portrait, tmp_path) -> None:
    motion = _motion(12)
    threads, processes = tmp_path / "threads.mp4", tmp_path / "processes.mp4"
    render_video(mona_portrait, motion, None, threads, threads=2)
    render_video(mona_portrait, motion, None, processes, threads=2, processes=True)
    assert threads.read_bytes() == processes.read_bytes()
    assert len(_decoded(processes)) == 12


_INTERRUPTED = """
import multiprocessing, signal, sys, time
import numpy as np
from gioconda.render.forked import forked_frames

# Ctrl-C as a terminal's foreground job gets it: a suite started in the background by a
# shell without job control inherits SIGINT ignored, and Python keeps it so.
signal.signal(signal.SIGINT, signal.default_int_handler)

def make(i):
    time.sleep(0.02)
    return np.full((4, 4, 3), i % 256, np.uint8)

try:
    for i, frame in enumerate(forked_frames(make, 100_000, (4, 4, 3), workers=2)):
        if i == 0:
            print("rendering", flush=True)
except KeyboardInterrupt:
    print("interrupted,", len(multiprocessing.active_children()), "workers left", flush=True)
"""


def test_ctrl_c_stops_the_workers_without_a_traceback() -> None:
    # Ctrl-C reaches the whole process group, the workers too: only the parent stops on it.
    process = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline() == "rendering\n"
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert out == "interrupted, 0 workers left\n"
    assert "Traceback" not in err
