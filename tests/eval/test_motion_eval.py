"""``gioconda eval motion --quick``: the table has every section, and the numbers are sane."""

from __future__ import annotations

import subprocess
import sys

import cv2
import pytest

pytestmark = pytest.mark.slow


def test_eval_motion_quick_prints_the_table_and_writes_the_sheet(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gioconda", "eval", "motion", "--quick", "-q",
         "--out-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4:
            rows[(cells[0], cells[1])] = cells[2]
    sections = {section for section, _ in rows}
    for needed in ("blinks", "head", "drift", "gaze", "brows", "seeds", "gaze mona_lisa",
                   "distance mona_lisa", "emotion mona_lisa", "reenactment"):  # fmt: skip
        assert needed in sections, needed
    assert 8 < float(rows[("blinks", "rate per minute")]) < 30
    assert rows[("seeds", "same seed twice: bit-identical")] == "yes"
    assert rows[("gaze mona_lisa", "irises move left/right/up/down")] == "4/4"
    # Every emotion moves the mouth corners, brows and eyes the way it should, as re-detected.
    met, total = rows[("emotion mona_lisa", "expected directions met")].split("/")
    assert met == total
    speaking = float(rows[("head", "mean speed deg/s, speaking")])
    pausing = float(rows[("head", "mean speed deg/s, in pauses")])
    assert pausing < 0.5 * speaking
    sheet = cv2.imread(str(tmp_path / "motion_controls.png"))
    assert sheet is not None and sheet.shape[0] >= 256
    assert (tmp_path / "motion_eval.md").read_text().count("|") > 100
