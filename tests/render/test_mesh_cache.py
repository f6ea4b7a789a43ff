"""The renderer's landmark meshes on disk: the second set-up of a photo reads them back and
renders the same frames, bit for bit; a corrupt, tampered or other-version entry is built
again, never trusted."""

from __future__ import annotations

import numpy as np
import pytest

from gioconda.cache import arrays_digest
from gioconda.motion.frames import MotionFrame
from gioconda.render import mesh_cache
from gioconda.render.mesh_cache import mesh_cache_dir
from gioconda.render.renderer import Renderer

#: A still face, an open mouth, a turned head with a smile: the meshes carry all of them.
FRAMES = (
    MotionFrame.still(),
    MotionFrame.still(JawOpen=0.7, MouthFunnel=0.3),
    MotionFrame.still((12.0, -5.0, 3.0), (8.0, 2.0), MouthSmileLeft=0.6, MouthSmileRight=0.6),
)


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GIOCONDA_CACHE", str(tmp_path))
    return tmp_path


def _entries() -> dict[str, int]:
    """Each entry's name and when it was last written."""
    folder = mesh_cache_dir()
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.npz")} if folder.is_dir() else {}


def _frames(renderer: Renderer) -> list[np.ndarray]:
    return [renderer.render(frame) for frame in FRAMES]


def _same_matrix(a: Renderer, b: Renderer) -> bool:
    return all(
        x.box == y.box
        and np.array_equal(x.matrix.data, y.matrix.data)
        and np.array_equal(x.matrix.indices, y.matrix.indices)
        and np.array_equal(x.matrix.indptr, y.matrix.indptr)
        for x, y in ((a._mesh, b._mesh), (a._smooth_mesh, b._smooth_mesh))
    )


def test_second_setup_reads_the_meshes_back_and_renders_the_same(cache_home, mona_portrait) -> None:
    built = Renderer(mona_portrait)  # nothing cached yet: built
    entries = _entries()
    assert len(entries) == 2  # the full-resolution mesh and the smooth grid's
    assert mesh_cache_dir().is_relative_to(cache_home)
    read = Renderer(mona_portrait)
    assert _entries() == entries  # read, not built and written again
    assert _same_matrix(built, read)
    for a, b in zip(_frames(built), _frames(read), strict=True):
        assert np.array_equal(a, b)


def test_corrupt_tampered_or_other_version_entry_is_rebuilt(
    cache_home, mona_portrait, monkeypatch
) -> None:
    fresh = Renderer(mona_portrait)
    paths = sorted(mesh_cache_dir().glob("*.npz"), key=lambda p: p.stat().st_size)
    smooth, full = paths
    good = full.read_bytes()
    for broken in (good[: len(good) // 2], b"not a cache entry", b""):
        full.write_bytes(broken)
        assert _same_matrix(Renderer(mona_portrait), fresh)
        assert full.read_bytes() == good  # built again and rewritten, the same bytes
    # Entries whose arrays were changed: one value (its digest no longer matches), and a
    # row pointer out of order with the digest made to match (the matrix is checked too).
    with np.load(full) as stored:
        arrays = {name: stored[name] for name in stored.files}
    for name, change in (("data", 0.5), ("indptr", 10**6)):
        tampered = {k: v.copy() for k, v in arrays.items()}
        tampered[name][len(tampered[name]) // 2] += change
        if name == "indptr":
            named = {k: tampered[k] for k in mesh_cache._ARRAYS}
            tampered["digest"] = np.array(arrays_digest(named))
        np.savez(full, **tampered)
        assert _same_matrix(Renderer(mona_portrait), fresh)
        assert full.read_bytes() == good
    # Another version of the mesh is another entry: the old one is not read.
    monkeypatch.setattr(mesh_cache, "MESH_VERSION", mesh_cache.MESH_VERSION + 1)
    assert _same_matrix(Renderer(mona_portrait), fresh)
    assert len(_entries()) == 4
    assert smooth.read_bytes() and full.read_bytes() == good
    # So is an edit of the module that builds meshes, whether or not the version was bumped.
    monkeypatch.setattr(mesh_cache, "_builder_digest", lambda: "an edited warp.py")
    assert _same_matrix(Renderer(mona_portrait), fresh)
    assert len(_entries()) == 6
