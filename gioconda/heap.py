"""Giving freed memory back to the system between the stages of a long job (glibc only).

glibc's allocator keeps what a thread frees inside its heaps, to hand it out again; memory
freed in the middle of a heap stays resident. Whisper's reading allocates and frees buffers of
a few MB for every 30 s window, on two threads, and the holes they leave add up: reading a
10-minute recording, the resident memory crept up until its peak was ~60 MB higher than with
the free pages given back between pieces (709 -> 647 MB, the reading alone). Giving them back
between pieces of work of seconds each costs milliseconds. Elsewhere (macOS, musl) this is a
no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache


@cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018  (glibc's; musl has none)
    except (OSError, AttributeError):
        return None
    return libc


def release_free_memory() -> None:
    """Return the pages of memory the process has freed to the system (glibc's
    ``malloc_trim``); what is in use is untouched."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
