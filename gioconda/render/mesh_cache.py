"""The renderer's landmark meshes kept on disk, so that a photo's are built once, not once per
video.

A :class:`~gioconda.render.warp.LandmarkMesh` (the triangulation of a portrait's landmarks and
each pixel's barycentric weights, as one sparse matrix) is the largest part of setting up a
:class:`~gioconda.render.renderer.Renderer`: its two meshes (full resolution, coarser grid)
took 0.1-0.15 s of CPU and held up to 48 MB of temporary arrays while they were built, beside
Whisper's own peak (a 60 s ``animate``). Read back, they take milliseconds and only their own
10 MB.

An entry is found by what decides the mesh: the landmarks' and the pixel grid's bytes, the
size, :data:`MESH_VERSION`, the source of :mod:`gioconda.render.warp` (where the mesh is built:
an edit there cannot leave a stale mesh in use) and NumPy's and SciPy's versions (the
triangulation and the inverses are theirs). Inside, it carries the same key and a SHA-256 of
its arrays. An entry that cannot be read, whose key or digest does not match, or whose matrix
is not a well-formed CSR matrix of the mesh's shape is built again and overwritten: never
trusted. A mesh read back is the very matrix built (the same values in the same order), so
frames are the same, bit for bit.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cache
from pathlib import Path

import numpy as np
import scipy
from scipy import sparse

from gioconda.cache import cache_dir, read_arrays, write_arrays
from gioconda.render import warp
from gioconda.render.warp import N_MESH_LANDMARKS, LandmarkMesh, landmark_mesh

_log = logging.getLogger(__name__)

#: Bump whenever :func:`~gioconda.render.warp.landmark_mesh` changes what it makes: entries
#: made by another version are then built again.
MESH_VERSION = 1

_ARRAYS = ("box", "shape", "data", "indices", "indptr")


def mesh_cache_dir() -> Path:
    """Where meshes are kept: ``meshes/`` in :func:`gioconda.cache.cache_dir`."""
    return cache_dir() / "meshes"


@cache
def _builder_digest() -> str:
    """SHA-256 of :mod:`gioconda.render.warp`'s source ("unknown" where it cannot be read)."""
    try:
        return hashlib.sha256(Path(warp.__file__).read_bytes()).hexdigest()
    except (OSError, TypeError):
        return "unknown"


def mesh_key(neutral: np.ndarray, size: int, grid: np.ndarray) -> str:
    """Hex SHA-256 naming the mesh :func:`~gioconda.render.warp.landmark_mesh` builds from
    these arguments, with this version (and source) of it and of NumPy and SciPy."""
    digest = hashlib.sha256()
    header = f"gioconda-mesh {MESH_VERSION} {_builder_digest()} numpy {np.__version__} "
    header += f"scipy {scipy.__version__} "
    header += f"size {size} landmarks {neutral.shape} {neutral.dtype} grid {grid.shape} "
    header += f"{grid.dtype}\n"
    digest.update(header.encode())
    digest.update(np.ascontiguousarray(neutral).data)
    digest.update(np.ascontiguousarray(grid).data)
    return digest.hexdigest()


def cached_landmark_mesh(neutral: np.ndarray, size: int, grid: np.ndarray) -> LandmarkMesh:
    """:func:`~gioconda.render.warp.landmark_mesh`, read from the cache when it was built for
    these landmarks, size and grid before, else built and stored."""
    key = mesh_key(neutral, size, grid)
    path = mesh_cache_dir() / f"{key}.npz"
    mesh = _load(path, key)
    if mesh is not None:
        _log.info("landmark mesh: read from the cache (%s)", path)
        return mesh
    mesh = landmark_mesh(neutral, size, grid)
    _store(path, key, mesh)
    return mesh


def _arrays_of(mesh: LandmarkMesh) -> dict[str, np.ndarray]:
    matrix = mesh.matrix
    return {
        "box": np.array(mesh.box, np.int64),
        "shape": np.array(matrix.shape, np.int64),
        "data": matrix.data,
        "indices": matrix.indices,
        "indptr": matrix.indptr,
    }


def _load(path: Path, key: str) -> LandmarkMesh | None:
    """The mesh stored at ``path``, or None if there is none or it is not exactly what
    ``key`` names."""
    arrays = read_arrays(path, key, _ARRAYS)
    if arrays is None:
        return None
    box, shape = arrays["box"], arrays["shape"]
    data, indices, indptr = arrays["data"], arrays["indices"], arrays["indptr"]
    if box.shape != (4,) or shape.shape != (2,):
        return None
    x0, y0, x1, y1 = (int(v) for v in box)
    rows, columns = (int(v) for v in shape)
    well_formed = (
        0 <= x0 < x1
        and 0 <= y0 < y1
        and rows == (x1 - x0) * (y1 - y0)
        and columns == N_MESH_LANDMARKS
        and data.dtype == np.float32
        and data.ndim == indices.ndim == indptr.ndim == 1
        and indices.dtype in (np.int32, np.int64)
        and indptr.dtype == indices.dtype
        and len(indptr) == rows + 1
        and len(indices) == len(data)
        and indptr[0] == 0
        and indptr[-1] == len(data)
        and bool(np.all(np.diff(indptr) >= 0))
        and (len(indices) == 0 or (indices.min() >= 0 and indices.max() < columns))
    )
    if not well_formed:
        return None
    # The arrays as stored (no copy, no re-sorting): the same products as the mesh built.
    matrix = sparse.csr_matrix((data, indices, indptr), shape=(rows, columns), copy=False)
    return LandmarkMesh((x0, y0, x1, y1), matrix)


def _store(path: Path, key: str, mesh: LandmarkMesh) -> None:
    """Write the entry (:func:`~gioconda.cache.write_arrays`: atomically; a cache that cannot
    be written only costs the next set-up the mesh)."""
    write_arrays(path, key, _arrays_of(mesh))
