"""Where a batch's videos go: a local folder, or any fsspec URL (``s3://``, ``gs://``, ...).

Nothing half-written ever appears under an output name. Locally a video is made in a
scratch folder inside the output folder (``.gioconda-partial``, removed when the batch ends
and, after a hard kill, when the next batch starts) and moved into place with
:func:`os.replace`. For a URL it is made in a local temporary folder and uploaded in one
piece: object stores show an object only once its upload is complete. On Ray the worker
that made a video uploads it itself (:func:`upload`), so videos do not pass through the
driver.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from gioconda.errors import GiocondaError

#: Scratch folder for videos being made, inside a local output folder.
PARTIAL_DIR = ".gioconda-partial"


def is_url(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


class OutputStore:
    """An output folder, local or remote, that files are committed to whole.

    Parameters
    ----------
    location: a folder path (created if missing) or an fsspec URL
    """

    def __init__(self, location: str | os.PathLike[str]) -> None:
        location = os.fspath(location)
        self.location = location
        self.is_local = not is_url(location)
        if self.is_local:
            if location.startswith("file://"):
                location = location[len("file://") :]
            self.root = Path(location)
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise GiocondaError(f"cannot make output folder {location}: {error}") from None
            self.partial = self.root / PARTIAL_DIR
            # Left by a batch that was killed outright: nothing in it can be trusted.
            shutil.rmtree(self.partial, ignore_errors=True)
            self.partial.mkdir()
        else:
            try:
                import fsspec
            except ImportError:
                raise GiocondaError(
                    f"writing to {location} needs fsspec and its filesystem "
                    "(pip install 'gioconda[ray]' s3fs, or gcsfs, ...)"
                ) from None
            try:
                self.fs, self.root_path = fsspec.core.url_to_fs(location)
                self.fs.makedirs(self.root_path, exist_ok=True)
            except (ImportError, ValueError, OSError) as error:
                raise GiocondaError(f"cannot use output location {location}: {error}") from None
            self.partial = Path(tempfile.mkdtemp(prefix="gioconda-batch-"))

    def describe(self, name: str) -> str:
        return str(self.root / name) if self.is_local else f"{self.location.rstrip('/')}/{name}"

    def url(self, name: str) -> str | None:
        """The URL a worker anywhere can upload ``name`` to; None for a local folder."""
        return None if self.is_local else f"{self.location.rstrip('/')}/{name}"

    def _remote(self, name: str) -> str:
        return f"{self.root_path.rstrip('/')}/{name}"

    def size(self, name: str) -> int | None:
        """Size in bytes of a committed file, None if there is none."""
        if self.is_local:
            path = self.root / name
            return path.stat().st_size if path.is_file() else None
        try:
            return int(self.fs.size(self._remote(name)))
        except (FileNotFoundError, OSError):
            return None

    def read_text(self, name: str) -> str | None:
        try:
            if self.is_local:
                return (self.root / name).read_text(encoding="utf-8")
            with self.fs.open(self._remote(name), "rt", encoding="utf-8") as file:
                return file.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise GiocondaError(f"cannot read {self.describe(name)}: {error}") from None

    def write_text(self, name: str, text: str) -> None:
        local = self.partial / f"{name}.{os.getpid()}.tmp"
        local.write_text(text, encoding="utf-8")
        self.commit(local, name)

    def commit(self, local: Path, name: str) -> int:
        """Move a finished local file to ``name`` (replacing what was there); returns its size."""
        size = local.stat().st_size
        try:
            if self.is_local:
                target = self.root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(local, target)
            else:
                remote = self._remote(name)
                parent = remote.rsplit("/", 1)[0]
                self.fs.makedirs(parent, exist_ok=True)
                self.fs.put_file(str(local), remote)
                local.unlink()
        except OSError as error:
            local.unlink(missing_ok=True)
            raise GiocondaError(f"cannot write {self.describe(name)}: {error}") from None
        return size

    def close(self) -> None:
        """Remove the scratch folder and anything unfinished in it."""
        shutil.rmtree(self.partial, ignore_errors=True)


def upload(local: str | os.PathLike[str], url: str) -> int:
    """Upload a finished file to ``url`` in one piece; returns its size.

    Raises
    ------
    GiocondaError: the upload failed (nothing is left under the name then).
    """
    import fsspec

    size = os.path.getsize(local)
    try:
        fs, path = fsspec.core.url_to_fs(url)
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(os.fspath(local), path)
    except (ImportError, ValueError, OSError) as error:
        raise GiocondaError(f"cannot upload to {url}: {error}") from None
    return size
