"""Where outputs may go: checked together, before any work, so that no run loses a user's file.

The rules (the README's "Files" section says the same):

- An output is never an input: ``-o`` naming the photo, the recording, the driving video, a
  motion or controls file is refused, however it is spelled (``./face.png``, ``a/../face.png``,
  a symlink to it, a hard link to it).
- Two outputs of one run are never the same file (``-o out.json --motion-out out.json``).
- An output is a regular file or nothing yet: a FIFO, a device node, a socket or a folder at
  that path is refused and left as it is (``-o /dev/null`` never replaces the system's null
  device).
- **Symlinks are written through**: ``-o link.mp4`` where ``link.mp4`` points at
  ``clips/today.mp4`` replaces ``clips/today.mp4`` (atomically, with a temporary file in
  *its* folder) and keeps the link, as ``cp`` and most editors do. A link to a missing file
  creates that file.
- Names as long as the file system allows (255 bytes) work: the temporary file's name is cut
  to fit.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from gioconda.errors import GiocondaError

#: Longest file name, in bytes, on the file systems Gioconda writes to (ext4, APFS, NTFS, ...).
NAME_MAX = 255
#: What a temporary name adds around the (possibly cut) target name: "." + ".xxxxxxxx.part".
_TEMP_EXTRA = len(".") + len(".") + 8 + len(".part")

PathLike = str | os.PathLike[str]


def resolve_target(path: PathLike) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or where its symlinks lead.

    Only the links are followed (the folder part is left as given, so messages read as the
    user wrote them); a chain of links is followed to its end.

    Raises
    ------
    GiocondaError: the links go round in a circle.
    """
    target = Path(path)
    for _ in range(40):  # the kernel's own limit on links followed is 40
        try:
            if not target.is_symlink():
                return target
        except OSError:  # a name too long, a folder we may not read: not a link we can follow
            return target
        link = Path(os.readlink(target))
        target = link if link.is_absolute() else target.parent / link
    raise GiocondaError(f"too many levels of symbolic links: {path}")


def temp_path(target: Path) -> Path:
    """A fresh hidden temporary name beside ``target``, short enough for any legal name."""
    stem = target.name
    room = NAME_MAX - _TEMP_EXTRA
    encoded = stem.encode("utf-8", "surrogateescape")
    if len(encoded) > room:
        stem = encoded[:room].decode("utf-8", "ignore")
    return target.with_name(f".{stem}.{secrets.token_hex(4)}.part")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same inode, or (not yet existing) the same path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_output(path: PathLike, flag: str = "output") -> Path:
    """Check one output path on its own; returns the file that will be replaced.

    Raises
    ------
    GiocondaError: the folder is missing, the path is a folder, a FIFO, a device or a socket,
        or its name is longer than the file system allows.
    """
    shown = os.fspath(path)
    for name in (Path(path).name, resolve_target(path).name):
        if len(name.encode("utf-8", "surrogateescape")) > NAME_MAX:
            raise GiocondaError(f"{flag} {shown}: file name longer than {NAME_MAX} bytes")
    target = resolve_target(path)
    folder = target.parent
    if not folder.exists():
        raise GiocondaError(f"{flag} {shown}: folder does not exist: {folder}")
    if not folder.is_dir():
        raise GiocondaError(f"{flag} {shown}: {folder} is not a folder")
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as error:
        raise GiocondaError(f"{flag} {shown}: {error.strerror}") from None
    if stat.S_ISDIR(mode):
        raise GiocondaError(f"{flag} {shown} is a folder, not a file")
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file"
        )  # fmt: skip
        raise GiocondaError(f"{flag} {shown} is {kind}: Gioconda writes only regular files")
    return target


def check_outputs(
    outputs: Mapping[str, PathLike | None], inputs: Mapping[str, PathLike | None]
) -> None:
    """Check every output of a run against the others and against every input.

    Parameters
    ----------
    outputs: output paths by the flag that names them (``{"-o": ..., "--motion-out": ...}``);
        None for one not asked for
    inputs: input paths by their flag or argument name (``{"PHOTO": ..., "AUDIO": ...}``)

    Raises
    ------
    GiocondaError: as :func:`check_output`, or an output is an input or another output.
    """
    checked: dict[str, Path] = {}
    for flag, path in outputs.items():
        if path is None:
            continue
        target = check_output(path, flag)
        for name, source in inputs.items():
            if source is not None and _same_file(target, resolve_target(source)):
                raise GiocondaError(
                    f"{flag} {os.fspath(path)} is the input {name} ({os.fspath(source)}): "
                    "it would be overwritten; choose another output"
                )
        for other, other_target in checked.items():
            if _same_file(target, other_target):
                raise GiocondaError(
                    f"{flag} and {other} name the same file ({os.fspath(path)}): "
                    "give each output its own name"
                )
        checked[flag] = target
