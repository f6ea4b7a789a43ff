"""How long work reports how far it has come: one callback type that every stage takes, so the CLI
can draw a bar, the server can send events and a batch can count clips, with the same calls."""

from __future__ import annotations

import threading
from collections.abc import Callable

#: Reports progress: (stage name, units done, units in all).
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """A :data:`Progress` that reports nowhere."""


def serialized(progress: Progress) -> Progress:
    """``progress`` called by one thread at a time, for stages that run at once on several
    threads (a CLI's bars and a server's events are not written for concurrent calls)."""
    if progress is no_progress:
        return progress
    lock = threading.Lock()

    def report(stage: str, done: int, total: int) -> None:
        with lock:
            progress(stage, done, total)

    return report
