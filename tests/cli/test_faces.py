"""``gioconda faces``: every face, numbered as --face takes it, and a preview (issue 12)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image


def test_two_faces_listed_largest_first_with_a_preview(tmp_path, astronaut):
    group = Image.new("RGB", (900, 512), "white")
    group.paste(Image.fromarray(astronaut), (0, 0))
    group.paste(Image.fromarray(astronaut).resize((300, 300)), (560, 150))
    group.save(tmp_path / "two.png")
    done = subprocess.run(
        [sys.executable, "-m", "gioconda", "faces", "two.png", "--preview", "numbered.png"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    assert [row[0] for row in rows] == ["0", "1"]
    x0, x1 = float(rows[0][1]), float(rows[1][1])
    assert x0 < 450 < x1 and float(rows[0][3]) > float(rows[1][3])  # the big one first
    preview = np.asarray(Image.open(tmp_path / "numbered.png"))
    assert preview.shape == (512, 900, 3)
    assert (np.abs(preview.astype(int) - np.asarray(group)).sum(axis=2) > 60).sum() > 500


def test_the_preview_may_not_be_the_photo(tmp_path, astronaut):
    Image.fromarray(astronaut).save(tmp_path / "face.png")
    before = (tmp_path / "face.png").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "gioconda", "faces", "face.png", "--preview", "face.png"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert (tmp_path / "face.png").read_bytes() == before
