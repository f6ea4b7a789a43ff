"""What every command does before and around its work: check all its paths at once, stop cleanly
on SIGTERM and SIGHUP, and keep each message on one line."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from gioconda.errors import GiocondaError

#: The containers ``-o`` may name, by suffix (gioconda/output/video.py CONTAINERS): H.264 +
#: AAC in each but WebM (VP9 + Opus). AVI is refused rather than faked (an old container
#: that browsers do not play).
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm")
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


def motion_file_fps(motion_out: str | None, motion_fps: float | None) -> float | None:
    """The rate ``--motion-out`` is written at: ``--motion-fps`` when given, else Live Link
    Face's 60 for a CSV (what its importers expect) and the video's own (None) for JSON.

    Raises
    ------
    GiocondaError: ``--motion-fps`` without ``--motion-out``, or not between 1 and 240.
    """
    from gioconda.output.motion_files import LIVE_LINK_FACE_FPS

    if motion_fps is not None:
        if motion_out is None:
            raise GiocondaError("--motion-fps sets the rate of --motion-out; give that too")
        if not 1 <= motion_fps <= 240:  # NaN too
            raise GiocondaError(f"--motion-fps must be between 1 and 240, got {motion_fps:g}")
        return motion_fps
    if motion_out is not None and Path(motion_out).suffix.lower() == ".csv":
        return LIVE_LINK_FACE_FPS
    return None
