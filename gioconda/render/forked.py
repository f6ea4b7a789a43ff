"""Frames made by forked worker processes and handed on in order, a bounded number at a time.

Threads (:mod:`gioconda.render.stream`) share one interpreter lock: the renderer holds it for
about a third of each frame (NumPy's many small calls), so two render threads and the
encoder's thread wait for each other and a 2-core machine ran at ~1.65 cores while rendering.
Processes forked from the caller once everything is set up share nothing but the frames:
each inherits the renderer (copy-on-write, no set-up again, nothing pickled), takes the next
frame not yet taken and renders it into one of its slots in shared memory; the caller copies
the frames out in order.

A frame depends on its number alone, so the frames are the same, in the same order, as with
threads or with one thread. Linux only (:func:`gioconda.forking.can_fork`): elsewhere
forking a process that runs threads is not safe, and callers use threads.
"""

from __future__ import annotations

import itertools
import math
import mmap
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Semaphore
from typing import cast

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.forking import become_child, signals_held

#: Frames a worker may have made and not yet handed on: enough that it never waits while the
#: caller encodes, few enough that memory does not grow with the video's length.
SLOTS_PER_WORKER = 3

#: How often a worker waiting for a free slot checks that its parent is still there (s).
_PARENT_CHECK_S = 1.0

#: Seconds a worker is given to end after SIGTERM before it is killed.
_END_WAIT_S = 5.0

#: Seconds without a frame and without a worker using any processor time, after which the
#: workers are taken to be stuck (a lock never released) and the render stops with an error.
#: A frame takes milliseconds; a worker that waits for the disk or a busy machine still uses
#: some processor time now and then.
STALL_S = 60.0

#: How often the caller, waiting for a frame, looks at whether the workers still work (s).
_STALL_CHECK_S = 5.0


def forked_frames(
    make: Callable[[int], np.ndarray],
    count: int,
    shape: tuple[int, ...],
    workers: int,
) -> Iterator[np.ndarray]:
    """``make(0)``, ..., ``make(count - 1)``, made by ``workers`` forked processes, in order.

    Parameters
    ----------
    make: makes frame ``i``, a uint8 array of ``shape``; it must depend on ``i`` alone. It
        runs in the workers, on what the caller had set up when the first frame was asked for.
    count: number of frames
    shape: each frame's shape
    workers: processes to make them with (at least 1)

    Each frame yielded is the caller's own array. An exception raised by ``make`` is raised
    here, at that frame (as :class:`GiocondaError` if it was one, else as a RuntimeError naming
    it); a worker that dies is a :class:`GiocondaError`. Closing the iterator early stops the
    workers.
    """
    workers = max(1, min(workers, count))
    frame_bytes = math.prod(shape)
    slots = SLOTS_PER_WORKER
    ring = mmap.mmap(-1, max(1, frame_bytes * workers * slots))  # shared with the children
    context = multiprocessing.get_context("fork")
    # What the caller has buffered would be written again by each child as it exits.
    sys.stdout.flush()
    sys.stderr.flush()
    free = [context.Semaphore(slots) for _ in range(workers)]
    next_frame = context.Value("q", 0)  # the next frame a worker takes (under its lock)
    processes: list[multiprocessing.process.BaseProcess] = []
    connections: dict[Connection, int] = {}
    try:
        for w in range(workers):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=_work,
                args=(make, count, next_frame, ring, shape, w * slots, slots, free[w], sender),
                name=f"gioconda-render-{w}",
                daemon=True,
            )
            with signals_held():  # (SIGTERM ends a worker when the caller stops early)
                process.start()
            sender.close()  # the child's end: EOF here once the child is gone
            processes.append(process)
            connections[receiver] = w
        frames = np.frombuffer(ring, np.uint8).reshape(workers * slots, *shape)
        made: dict[int, tuple[int, int]] = {}  # frame -> (worker, slot), not yet handed on
        failed: dict[int, tuple[str, str]] = {}  # frame -> its exception's kind and message
        watch = _StallWatch(processes)
        try:
            for i in range(count):
                while i not in made:
                    if i in failed:
                        raise _raised(*failed[i])
                    if not connections:
                        raise GiocondaError(f"the render processes ended before frame {i}")
                    arrived = wait(list(connections), timeout=min(_STALL_CHECK_S, STALL_S))
                    if not arrived and watch.stuck():
                        raise GiocondaError(
                            f"the render processes made no progress for {STALL_S:g} s before "
                            f"frame {i} (stuck): stopped"
                        )
                    if arrived:
                        watch.progressed()
                    for ready in arrived:
                        connection = cast(Connection, ready)
                        w = connections[connection]
                        try:
                            message = connection.recv()
                        except EOFError:  # the worker is gone: done, or killed
                            del connections[connection]
                            connection.close()
                            processes[w].join(1)
                            if processes[w].exitcode != 0:
                                raise GiocondaError(
                                    f"a render process stopped unexpectedly (exit code "
                                    f"{processes[w].exitcode}) before frame {i}"
                                ) from None
                            continue
                        if message[0] == "error":
                            failed[message[1]] = (message[2], message[3])
                        else:
                            made[message[1]] = (w, message[2])
                w, slot = made.pop(i)
                frame = frames[slot].copy()
                free[w].release()
                yield frame
        finally:
            del frames  # (the ring cannot be closed while a view of it exists)
    finally:
        for worker in processes:
            if worker.is_alive():
                worker.terminate()
        for worker in processes:
            worker.join(_END_WAIT_S)
            if worker.is_alive():  # (never seen since SIGTERM is held back while forking)
                worker.kill()
                worker.join()
        for connection in connections:
            connection.close()
        ring.close()


def _work(
    make: Callable[[int], np.ndarray],
    count: int,
    next_frame: Synchronized[int],
    ring: mmap.mmap,
    shape: tuple[int, ...],
    first_slot: int,
    slots: int,
    free: Semaphore,
    out: Connection,
) -> None:
    """A worker: once one of its slots is free, the next frame no worker has taken, into it.

    Frames are taken as workers get to them, not dealt out in turn: on a busy machine a
    worker that the system holds back does not hold the others back (dealt in turn, the
    others filled their slots and waited, and two processes rendered slower than two threads).
    A worker's frames go to its slots in turn, and the caller takes them in that order.
    """
    become_child()
    parent = os.getppid()
    frames = np.frombuffer(ring, np.uint8).reshape(-1, *shape)
    i = -1
    try:
        for n in itertools.count():
            while not free.acquire(timeout=_PARENT_CHECK_S):
                if os.getppid() != parent:  # the parent died without ending us
                    return
            with next_frame.get_lock():
                i = next_frame.value
                next_frame.value = i + 1
            if i >= count:
                return
            slot = first_slot + n % slots
            frames[slot] = make(i)
            out.send(("frame", i, slot))
    except BaseException as error:  # handed to the parent, which raises it at that frame
        try:
            out.send(("error", i, type(error).__name__, str(error)))
        except OSError:
            pass  # the parent is gone


class _StallWatch:
    """Whether the workers have been stuck for :data:`STALL_S`: no frame handed on and no
    worker using processor time (its utime and stime in ``/proc``, Linux's, as forking is).
    A wait that lasted far longer than asked (this process stopped with Ctrl-Z, the machine
    asleep) starts the count again: the workers were stopped too."""

    def __init__(self, processes: list[multiprocessing.process.BaseProcess]) -> None:
        self._pids = [p.pid for p in processes if p.pid is not None]
        self.progressed()

    def progressed(self) -> None:
        """A frame (or an error) came: the count starts again."""
        self._since = self._checked = time.monotonic()
        self._used = self._cpu_ticks()

    def stuck(self) -> bool:
        """After a wait with nothing handed on: whether the workers are stuck."""
        now, used = time.monotonic(), self._cpu_ticks()
        paused = now - self._checked > 2 * _STALL_CHECK_S + 1.0
        self._checked = now
        if used != self._used or paused:
            self._since, self._used = now, used
            return False
        return now - self._since >= STALL_S

    def _cpu_ticks(self) -> int:
        """Processor time the workers still there have used, in clock ticks."""
        total = 0
        for pid in self._pids:
            try:
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    # (After the command's name in parentheses, utime and stime are the
                    # 12th and 13th fields.)
                    fields = stat.read().rsplit(b")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue  # gone: its pipe's end says so
        return total


def _raised(kind: str, message: str) -> Exception:
    """The exception a worker raised, as the parent raises it."""
    if kind == "GiocondaError":
        return GiocondaError(message)
    if kind == "MemoryError":
        return MemoryError(message)
    return RuntimeError(f"{kind} in a render process: {message}")
