"""Work handed to processes forked from this one (Linux): what every such child needs.

A forked child inherits everything already set up (a renderer, a decoder), copy-on-write, with
nothing pickled; it runs on the other core without sharing Python's lock. The stages that fork
(:mod:`gioconda.render.forked`, :mod:`gioconda.speech.sphinx_align`) hold Ctrl-C and SIGTERM
back while forking, and their children leave both to the parent, which ends them.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def can_fork() -> bool:
    """Whether work can go to forked processes here: Linux (elsewhere forking a process that
    runs threads is not safe), and not from a daemonic process (which may have no children)."""
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


@contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM held back (delivered after) while children are forked: a child that
    got Ctrl-C before :func:`become_child` would print a traceback, and one that got the
    SIGTERM that ends it before its default action was back ran the caller's Python handler,
    or lost the signal, and waited for ever."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def become_child() -> None:
    """A forked child's first step: Ctrl-C is the parent's to handle (it ends its children),
    and the parent's own SIGTERM handler (which raises an exception to clean up its files) is
    not the child's: SIGTERM ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
