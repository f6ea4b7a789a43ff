"""Writing files safely: a temporary file beside the target, moved into place only when
complete; what cannot be written is refused before any work starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gioconda.errors import GiocondaError
from gioconda.output.targets import check_output, resolve_target, temp_path


def check_writable(path: str | os.PathLike[str]) -> None:
    """Check that a file can be written at ``path``, without leaving anything behind.

    Call it before long work so that a bad ``-o`` fails in a second, not after rendering.

    Raises
    ------
    GiocondaError: the folder is missing, is not a folder, or cannot be written, or
        ``path`` is a folder, a FIFO, a device or a socket.
    """
    # The path's own rules (no FIFO, device or folder; a folder that exists; a legal name) are
    # in targets.py; a symlink is written through to the file it points at.
    target = check_output(path)
    # Try it for real: permission bits, read-only mounts and ACLs all show up here, and
    # os.access() would say yes to root regardless.
    probe = _reserve_temp(target)
    _remove(probe)


#: Temporary files this process has made and not yet moved into place or removed: what
#: :func:`remove_temporary_files` removes when the process is stopped at an awkward moment.
_LIVE_TEMPS: set[Path] = set()


def _reserve_temp(target: Path) -> Path:
    """Create an empty, uniquely named hidden file next to ``target`` and return its path."""
    temp = temp_path(resolve_target(target))
    # Registered before it exists: a signal between creating and registering would leak it.
    _LIVE_TEMPS.add(temp)
    try:
        # O_EXCL: never clobber someone else's file; mode 0o666 lets the umask decide, so the
        # final file gets the same permissions as one written with open().
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as error:
        _LIVE_TEMPS.discard(temp)
        raise GiocondaError(f"cannot write to {target.parent}: {error.strerror}") from None
    return temp


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    _LIVE_TEMPS.discard(path)


def remove_temporary_files() -> None:
    """Remove every temporary file this process still has (called when it is stopped)."""
    for temp in list(_LIVE_TEMPS):
        _remove(temp)


def _commit(temp: Path, target: Path) -> None:
    """Move a complete temporary file into place, or remove it and explain."""
    try:
        os.replace(temp, resolve_target(target))
        _LIVE_TEMPS.discard(temp)
    except OSError as error:
        _remove(temp)
        raise GiocondaError(f"cannot write {target}: {error.strerror}") from None


@contextmanager
def _atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; it becomes ``path`` only if the block succeeds."""
    target = Path(path)
    check_writable(target)
    temp = _reserve_temp(target)
    try:
        yield temp
    except BaseException:
        _remove(temp)
        raise
    _commit(temp, target)
