"""Motion CSVs at Live Link Face's rate and in its units (issue 12)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from gioconda.cli.guard import motion_file_fps
from gioconda.errors import GiocondaError
from gioconda.motion.frames import Motion
from gioconda.output.motion_files import (
    LIVE_LINK_FACE_FPS,
    read_motion,
    resample_motion,
    write_motion,
)


def _ramp(frames: int, fps: float) -> Motion:
    """Every channel a straight line in time: what linear resampling must keep exactly."""
    motion = Motion.rest(frames, fps)
    t = np.arange(frames, dtype=np.float32) / fps
    head = np.stack([10 * t, -5 * t, 2 * t], axis=1).astype(np.float32)
    shapes = motion.blendshapes.copy()
    shapes[:, 17] = np.clip(t / t[-1], 0, 1)  # JawOpen
    return Motion(fps, shapes, head, motion.head_translation, motion.head_scale, head[:, :2])


def test_resampling_keeps_duration_and_values():
    motion = _ramp(50, 25.0)  # 2 s
    fast = resample_motion(motion, 60.0)
    assert fast.fps == 60.0 and len(fast) == 120
    t = np.arange(120) / 60.0
    inside = t <= 49 / 25.0
    assert np.allclose(fast.head_rotation_deg[inside, 0], 10 * t[inside], atol=1e-4)
    assert np.allclose(fast.head_rotation_deg[~inside, 0], 10 * 49 / 25.0, atol=1e-4)


def test_csv_at_live_link_face_rate_reads_back_as_that_rate(tmp_path):
    motion = _ramp(50, 25.0)
    write_motion(motion, tmp_path / "m.csv", LIVE_LINK_FACE_FPS)
    rows = list(csv.DictReader((tmp_path / "m.csv").read_text().splitlines()))
    assert len(rows) == 120 and rows[60]["Timecode"] == "00:00:01:00.000"
    assert float(rows[30]["HeadYaw"]) == pytest.approx(np.radians(10 * 0.5), abs=1e-6)
    back = read_motion(tmp_path / "m.csv")
    assert back.fps == LIVE_LINK_FACE_FPS
    assert np.allclose(back.head_rotation_deg[30], [5.0, -2.5, 1.0], atol=1e-4)


def test_the_cli_rate_rule():
    assert motion_file_fps("m.csv", None) == LIVE_LINK_FACE_FPS
    assert motion_file_fps("m.json", None) is None
    assert motion_file_fps("m.json", 30.0) == 30.0
    for bad in (0.0, float("nan"), 1000.0):
        with pytest.raises(GiocondaError, match="--motion-fps"):
            motion_file_fps("m.csv", bad)
    with pytest.raises(GiocondaError, match="--motion-out"):
        motion_file_fps(None, 60.0)
