"""Where models assembled from PyPI packages (and other per-user data) are kept, and the small
file helpers that go with it: finding an installed package's folder without importing it,
hashing what is assembled, and entries of named arrays written atomically and read back only
when their key and digest match, so that nothing in the cache is trusted unchecked."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from gioconda.errors import GiocondaError


def cache_dir() -> Path:
    """Where assembled models are kept: ``$GIOCONDA_CACHE``, else ``$XDG_CACHE_HOME/gioconda``,
    else ``~/.cache/gioconda``."""
    if os.environ.get("GIOCONDA_CACHE"):
        return Path(os.environ["GIOCONDA_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gioconda"


def package_folder(name: str, install_hint: str) -> Path:
    """The installed package ``name``'s folder, without importing it.

    Raises
    ------
    GiocondaError: the package is not installed (``install_hint`` says how to install it).
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise GiocondaError(f"the {name.replace('_', '-')} package is missing: {install_hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def arrays_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """Hex SHA-256 of named arrays in the mapping's order: each one's name, shape, dtype and
    bytes."""
    digest = hashlib.sha256()
    for name, array in arrays.items():
        value = np.ascontiguousarray(array)
        digest.update(f"{name} {value.shape} {value.dtype}\n".encode())
        digest.update(value.data)
    return digest.hexdigest()


def write_arrays(path: Path, key: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Store ``arrays`` at ``path`` (.npz) with ``key`` and their digest, atomically (a
    temporary file moved into place). A cache that cannot be written (read-only home, full
    disk) only costs the next run the work again, so that is not an error."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "wb") as out:
            np.savez(out, key=np.array(key), digest=np.array(arrays_digest(arrays)), **arrays)
        os.replace(temp, path)
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass


def read_arrays(path: Path, key: str, names: Sequence[str]) -> dict[str, np.ndarray] | None:
    """The arrays ``names`` stored at ``path`` by :func:`write_arrays`, or None if there is no
    entry, it cannot be read, or its key or digest does not match (the caller still checks
    the arrays' shapes before trusting them)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                return None
            arrays = {name: stored[name] for name in names}
            if str(stored["digest"]) != arrays_digest(arrays):
                return None
    except Exception:  # missing, truncated, not a zip, a member missing...: made again
        return None
    return arrays
