"""Frames made by a few threads and handed on in order, a bounded number at a time.

The renderer's work is OpenCV remaps, NumPy loops over large arrays and SciPy's sparse products,
all of which release the GIL; libx264 encodes in threads of its own. So a pool of threads that
render while the caller encodes uses every core, and since a frame depends on its number alone
(the renderer keeps nothing from one frame to the next) the frames are the same, in the same
order, whatever the number of threads.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: Frames waiting or in the making per thread: enough to keep every thread busy while the
#: caller takes the oldest, few enough that memory does not grow with the video's length.
FRAMES_AHEAD_PER_THREAD = 2


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def ordered_frames(make: Callable[[int], T], count: int, threads: int = 0) -> Iterator[T]:
    """``make(0)``, ..., ``make(count - 1)``, computed by ``threads`` threads, yielded in order.

    Parameters
    ----------
    make: makes frame ``i``; it must depend on ``i`` alone (it is called from several threads
        at once, in no particular order)
    count: number of frames
    threads: threads to make them with; 0 means one per available core; 1 makes each frame
        in the caller's thread when it is asked for

    At most :data:`FRAMES_AHEAD_PER_THREAD` x ``threads`` frames exist at a time besides the
    one yielded. An exception raised by ``make`` is raised here, at that frame; closing the
    iterator early cancels the frames not yet started.
    """
    threads = available_cores() if threads <= 0 else threads
    if threads == 1 or count <= 1:
        for i in range(count):
            yield make(i)
        return
    ahead = FRAMES_AHEAD_PER_THREAD * threads
    pending: deque[Future[T]] = deque()
    with ThreadPoolExecutor(threads, thread_name_prefix="gioconda-frames") as pool:
        try:
            for i in range(count):
                pending.append(pool.submit(make, i))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
