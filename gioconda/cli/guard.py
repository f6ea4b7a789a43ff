"""What every command does before and around its work: check all its paths at once, stop cleanly
on SIGTERM and SIGHUP, and keep each message on one line."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from gioconda.errors import GiocondaError

#: The containers ``-o`` may name, by suffix.
VIDEO_SUFFIXES = (".mp4",)
#: The motion files ``--motion-out`` may name, by suffix.
MOTION_SUFFIXES = (".csv", ".json")


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so temporary files are removed.

    A BaseException, as KeyboardInterrupt is: ``except Exception`` in a stage must not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


@contextmanager
def stop_cleanly() -> Iterator[None]:
    """Within the block, SIGTERM (``kill``, ``timeout``, a job scheduler) and SIGHUP (a closed
    terminal) raise :class:`Terminated` instead of ending the process on the spot."""
    signums = (signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.signal(signum, _raise_terminated) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def one_line(message: str) -> str:
    """``message`` with line breaks and other control characters shown as escapes, so that a
    file name holding a newline cannot split an error over two lines."""
    return "".join(
        char if char.isprintable() or char == " " else repr(char)[1:-1] for char in message
    )


def check_paths(
    outputs: Mapping[str, str | None],
    inputs: Mapping[str, str | None],
    video: str | None = "-o",
    motion: str | None = "--motion-out",
) -> None:
    """Check a command's paths together, before any long work: each output's kind and suffix,
    and that no output is an input or another output (:mod:`gioconda.output.targets`).

    Parameters
    ----------
    outputs: output paths by flag (None: not asked for)
    inputs: input paths by argument name or flag
    video: the flag in ``outputs`` that names the video, held to :data:`VIDEO_SUFFIXES`
    motion: the flag in ``outputs`` that names a motion file, held to :data:`MOTION_SUFFIXES`

    Raises
    ------
    GiocondaError: naming the flag and the path.
    """
    from gioconda.output.targets import check_outputs

    check_outputs(outputs, inputs)  # first: "that is your photo" matters more than a suffix
    for flag, suffixes, what in (
        (video, VIDEO_SUFFIXES, "a video"),
        (motion, MOTION_SUFFIXES, "a motion file"),
    ):
        path = outputs.get(flag) if flag is not None else None
        if path is not None and Path(path).suffix.lower() not in suffixes:
            raise GiocondaError(
                f"{flag} {path}: {what} must end in {' or '.join(suffixes)}, "
                f"got {Path(path).suffix or 'no suffix'!r}"
            )
