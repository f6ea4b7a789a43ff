"""The renderer evaluation: its pose solver on synthetic points, and a quick run."""

import math

import numpy as np
import pytest

from gioconda.evaluate_render import (
    COLUMNS,
    angles_to_rotation,
    format_table,
    rotation_to_angles,
    run_render_eval,
    solve_pose,
)


@pytest.mark.parametrize("ypr", [(7.0, -4.0, 3.0), (-10.0, 9.0, -8.0), (0.0, 0.0, 12.0)])
def test_pose_solver_recovers_a_known_rotation(ypr):
    rng = np.random.default_rng(0)
    rest = rng.normal(size=(478, 3)) * [60.0, 80.0, 40.0] + [256.0, 256.0, 0.0]
    posed = 1.1 * (rest - rest.mean(0)) @ angles_to_rotation(*ypr).T + [300.0, 240.0, 5.0]
    posed += rng.normal(scale=0.3, size=posed.shape)  # landmark jitter, in pixels
    assert np.abs(solve_pose(rest, posed) - ypr).max() < 0.5


def test_angle_conventions():
    nose = np.array([0.0, 0.0, -1.0])  # in front of the head centre
    assert (angles_to_rotation(10, 0, 0) @ nose)[0] > 0  # +yaw: nose to the image's right
    assert (angles_to_rotation(0, 10, 0) @ nose)[1] > 0  # +pitch: nose down
    assert (angles_to_rotation(0, 0, 10) @ [1.0, 0, 0])[1] > 0  # +roll: clockwise on screen
    np.testing.assert_allclose(rotation_to_angles(angles_to_rotation(5, -3, 2)), [5, -3, 2])


def test_quick_run(tmp_path):
    report = run_render_eval(tmp_path, quick=True)
    assert report.wall_s < 60
    rows = {row.portrait: row for row in report.rows}
    assert set(rows) == {"mona_lisa", "astronaut"}
    for row in rows.values():
        assert set(row.metrics) == {key for key, _, _ in COLUMNS}
    astro = rows["astronaut"].metrics
    assert astro["rest_psnr"] >= 40
    assert astro["background"] < 1.0
    # Every sweep is read back going the commanded way.
    for key in ("lip_r", "eye_r", "iris_r", "yaw_r", "pitch_r", "roll_r"):
        assert astro[key] > 0.8, (key, astro[key])
    assert all(math.isfinite(v) for v in astro.values())
    table = format_table(report)
    assert "| astronaut |" in table and "rest PSNR" in table
    assert (tmp_path / "render_eval.md").is_file() and (tmp_path / "render_eval.json").is_file()
    assert (tmp_path / "sheet_astronaut.png").is_file()
