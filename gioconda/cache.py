"""Where models assembled from PyPI packages (and other per-user data) are kept, and the small
file helpers that go with it: finding an installed package's folder without importing it, and
hashing what is assembled, so that nothing in the cache is trusted unchecked."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

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
