"""How long work reports how far it has come: one callback type that every stage takes, so the CLI
can draw a bar, the server can send events and a batch can count clips, with the same calls."""

from __future__ import annotations

from collections.abc import Callable

#: Reports progress: (stage name, units done, units in all).
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """A :data:`Progress` that reports nowhere."""
