"""The face-analysis cache: a hit reads the entry back; a corrupt, tampered or other-version
entry is analyzed again, never trusted."""

from __future__ import annotations

import numpy as np
import pytest

from gioconda.face import cache
from gioconda.face.cache import analysis_key, cached_analysis, portrait_cache_dir

SIZE = 256


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GIOCONDA_CACHE", str(tmp_path))
    return tmp_path


def _same(a, b) -> bool:
    return (
        np.array_equal(a.image, b.image)
        and np.allclose(a.landmarks, b.landmarks, atol=1e-3)
        and np.allclose(a.person_mask, b.person_mask, atol=1e-4)
        and np.array_equal(a.background, b.background)
        and a.crop == b.crop
    )


def _entry(photo):
    return portrait_cache_dir() / f"{analysis_key(photo, SIZE, 0)}.npz"


def test_second_analysis_is_read_back(cache_home, mona_lisa) -> None:
    first = cached_analysis(mona_lisa, SIZE)
    entry = _entry(mona_lisa)
    assert entry.is_file() and entry.is_relative_to(cache_home)
    written = entry.stat().st_mtime_ns
    second = cached_analysis(mona_lisa, SIZE)
    assert _same(first, second)
    assert second.photo is mona_lisa
    assert entry.stat().st_mtime_ns == written  # read, not analyzed and written again
    # Another size or another photo is another entry.
    assert analysis_key(mona_lisa, 512, 0) != analysis_key(mona_lisa, SIZE, 0)
    assert analysis_key(mona_lisa[::-1], SIZE, 0) != analysis_key(mona_lisa, SIZE, 0)


def test_corrupt_or_tampered_entry_is_rebuilt(cache_home, mona_lisa) -> None:
    fresh = cached_analysis(mona_lisa, SIZE)
    entry = _entry(mona_lisa)
    good = entry.read_bytes()
    for broken in (good[: len(good) // 2], b"not a cache entry", b""):
        entry.write_bytes(broken)
        assert _same(cached_analysis(mona_lisa, SIZE), fresh)
        assert entry.read_bytes() != broken  # rewritten, readable again
    # A readable entry whose pixels were changed (its digest no longer matches).
    with np.load(entry) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["image"] = arrays["image"].copy()
    arrays["image"][0, 0] ^= 255
    np.savez(entry, **arrays)
    assert _same(cached_analysis(mona_lisa, SIZE), fresh)


def test_entry_from_another_version_is_rebuilt(cache_home, mona_lisa, monkeypatch) -> None:
    fresh = cached_analysis(mona_lisa, SIZE)
    entry = _entry(mona_lisa)
    # The same file name but made by another version: its key inside does not match.
    with np.load(entry) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["key"] = np.array("0" * 64)
    np.savez(entry, **arrays)
    assert _same(cached_analysis(mona_lisa, SIZE), fresh)
    with np.load(entry) as stored:
        assert str(stored["key"]) == analysis_key(mona_lisa, SIZE, 0)
    # A new analysis version names new entries: the old ones are not read.
    monkeypatch.setattr(cache, "ANALYSIS_VERSION", cache.ANALYSIS_VERSION + 1)
    assert _entry(mona_lisa) != entry
    assert _same(cached_analysis(mona_lisa, SIZE), fresh)
    assert _entry(mona_lisa).is_file()


def test_unwritable_cache_still_analyzes(tmp_path, monkeypatch, mona_lisa) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("GIOCONDA_CACHE", str(blocker))
    portrait = cached_analysis(mona_lisa, SIZE)
    assert portrait.size == SIZE
