"""Outputs to a local folder or an fsspec URL, committed whole; Ray asked for but missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gioconda.batch.manifest import MANIFEST_NAME, Manifest
from gioconda.batch.store import PARTIAL_DIR, OutputStore
from gioconda.errors import GiocondaError


def test_local_folder_commits_whole_files_and_clears_leftovers(tmp_path: Path):
    out = tmp_path / "out"
    (out / PARTIAL_DIR).mkdir(parents=True)
    (out / PARTIAL_DIR / "3.1.mp4").write_bytes(b"half a video")  # left by a killed batch
    store = OutputStore(out)
    assert not (out / PARTIAL_DIR / "3.1.mp4").exists()
    scratch = store.partial / "x.mp4"
    scratch.write_bytes(b"a whole video")
    assert store.commit(scratch, "deep/er/v.mp4") == 13
    assert (out / "deep/er/v.mp4").read_bytes() == b"a whole video"
    assert store.size("deep/er/v.mp4") == 13 and store.size("none.mp4") is None
    store.close()
    assert sorted(p.name for p in out.iterdir()) == ["deep"]


def test_fsspec_url_gets_uploaded_files_and_the_manifest():
    fsspec = pytest.importorskip("fsspec")
    url = "memory://gioconda-test/batch"
    store = OutputStore(url)
    assert not store.is_local
    scratch = store.partial / "x.mp4"
    scratch.write_bytes(b"video bytes")
    store.commit(scratch, "sub/v.mp4")
    assert not scratch.exists()
    fs = fsspec.filesystem("memory")
    assert fs.cat_file("/gioconda-test/batch/sub/v.mp4") == b"video bytes"
    manifest = Manifest()
    manifest.record(store, "sub/v.mp4", "k" * 64, 11, 25, 1)
    assert Manifest.load(store).is_done("sub/v.mp4", "k" * 64, store)
    partial = store.partial
    store.close()
    assert not partial.exists()


def test_a_foreign_manifest_is_refused(tmp_path: Path):
    (tmp_path / MANIFEST_NAME).write_text('{"something": "else"}\n')
    store = OutputStore(tmp_path)
    with pytest.raises(GiocondaError, match="not a Gioconda batch manifest"):
        Manifest.load(store)
    store.close()


def test_the_journal_survives_a_line_cut_short(tmp_path: Path):
    store = OutputStore(tmp_path)
    manifest = Manifest()
    manifest.record(store, "a.mp4", "a" * 64, 10, 25, 1)
    with open(tmp_path / MANIFEST_NAME, "a") as file:
        file.write('{"output":"b.mp4","key":"bb')  # a hard kill mid-write
    manifest.record(store, "c.mp4", "c" * 64, 30, 25, 3)
    manifest.record(store, "a.mp4", "d" * 64, 40, 25, 1)  # made again: the later line wins
    again = Manifest.load(store)
    assert sorted(again.entries) == ["a.mp4", "c.mp4"]
    assert again.entries["a.mp4"]["key"] == "d" * 64 and again.entries["c.mp4"]["bytes"] == 30
    store.close()


def test_ray_asked_for_but_not_installed_says_how_to_get_it(monkeypatch):
    from gioconda.batch.on_ray import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    with pytest.raises(GiocondaError, match=r"pip install 'gioconda\[ray\]'"):
        import_ray()
