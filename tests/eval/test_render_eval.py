"""The renderer evaluation: its pose solver on synthetic points, and a quick run."""

import math

import numpy as np
import pytest

from gioconda.eval.render import COLUMNS, format_table, run_render_eval
from gioconda.eval.render_metrics import yaw_in_image
from gioconda.geometry import angles_to_rotation, rotation_to_angles, solve_pose


@pytest.mark.parametrize("ypr", [(7.0, -4.0, 3.0), (-10.0, 9.0, -8.0), (0.0, 0.0, 12.0)])
def test_pose_solver_recovers_a_known_rotation(ypr):
    rng = np.random.default_rng(0)
    rest = rng.normal(size=(478, 3)) * [60.0, 80.0, 40.0] + [256.0, 256.0, 0.0]
    posed = 1.1 * (rest - rest.mean(0)) @ angles_to_rotation(*ypr).T + [300.0, 240.0, 5.0]
    posed += rng.normal(scale=0.3, size=posed.shape)  # landmark jitter, in pixels
    assert np.abs(solve_pose(rest, posed) - ypr).max() < 0.5


@pytest.mark.parametrize("yaw", [-10.0, 5.0, 20.0])
def test_yaw_in_image_reads_the_sideways_motion_not_the_turned_frames_depth(yaw):
    rng = np.random.default_rng(1)
    # A face's landmarks: wider than deep, turned about a pivot behind them.
    rest = rng.normal(size=(478, 3)) * [60.0, 80.0, 25.0] + [256.0, 256.0, 0.0]
    pivot = np.array([256.0, 300.0, 40.0])

    def turned(degrees):
        return (rest - pivot) @ angles_to_rotation(degrees, 0.0, 0.0).T + pivot

    shift = np.array([7.0, -3.0, 2.0])
    posed = turned(yaw) + shift + rng.normal(scale=0.3, size=rest.shape)
    assert abs(yaw_in_image(rest, posed) - yaw) < 0.5
    # Face Mesh's depth of the turned face tilted only half as far as its landmarks moved
    # (its own sense of the pose): the solved yaw follows that depth, this one does not.
    posed[:, 2] = turned(yaw / 2)[:, 2]
    assert abs(solve_pose(rest, posed)[0]) < 0.8 * abs(yaw)
    assert abs(yaw_in_image(rest, posed) - yaw) < 0.5


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
    # The Mona Lisa's cheek, beside her long hair, does not tear at yaw 10 or roll 8.
    assert rows["mona_lisa"].metrics["contour"] < 1.3
    table = format_table(report)
    assert "| astronaut |" in table and "rest PSNR" in table
    assert (tmp_path / "render_eval.md").is_file() and (tmp_path / "render_eval.json").is_file()
    assert (tmp_path / "sheet_astronaut.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "eyes"),
    [
        # Behind glasses Face Mesh takes the rim's inner edge for the lid and reads a shut eye
        # as 0.75 open; test_render checks that blink by the irises it covers.
        ("astronaut_glasses", ()),
        ("astronaut_dark", (0, 1)),
        ("astronaut_bright", (0, 1)),
        ("astronaut_beard", (0, 1)),
        # The eye half under the lock (the subject's right) is not judged: the renderer paints
        # its closed lid over the hair and Face Mesh takes the hair's edge for the upper lid.
        ("astronaut_hair_over_face", (1,)),
    ],
)
def test_hard_copies_render_and_blink(name, eyes):
    """Glasses, an underexposed and an overexposed copy, a full beard, a lock of hair over one
    eye: found, rest frame exact, lids close, the lips part when the jaw opens."""
    from gioconda.eval.measure import FaceMeasurer
    from gioconda.eval.portraits import test_photos
    from gioconda.eval.render_metrics import SIZE, psnr
    from gioconda.face.portrait import analyze_portrait
    from gioconda.motion.frames import MotionFrame
    from gioconda.render.renderer import Renderer

    photo = dict(test_photos())[name]()
    renderer = Renderer(analyze_portrait(photo, SIZE))
    rest = renderer.render(MotionFrame.still())
    assert psnr(rest, renderer.portrait.image) >= 40
    shut = MotionFrame.still(EyeBlinkLeft=1.0, EyeBlinkRight=1.0)
    with FaceMeasurer(video=False) as measurer:
        at_rest = measurer.measure(rest)
        closed = measurer.measure(renderer.render(shut)).eye_openness
        opened_jaw = measurer.measure(renderer.render(MotionFrame.still(JawOpen=0.6)))
    eyes = list(eyes)
    assert (closed[eyes] < 0.7 * at_rest.eye_openness[eyes]).all()
    assert opened_jaw.lip_gap > at_rest.lip_gap + 0.1


def test_a_drawing_is_animated_or_refused_in_one_line():
    """A pencil sketch: either found (rest frame exact) or refused with one clear line."""
    from gioconda.errors import GiocondaError
    from gioconda.eval.portraits import test_photos
    from gioconda.eval.render_metrics import SIZE, psnr
    from gioconda.face.portrait import analyze_portrait
    from gioconda.motion.frames import Motion
    from gioconda.render.renderer import Renderer

    photo = dict(test_photos())["astronaut_drawing"]()
    assert photo.shape == (512, 512, 3) and photo.std() > 20  # a picture, not a blank page
    try:
        portrait = analyze_portrait(photo, SIZE)
    except GiocondaError as error:
        message = str(error)
        assert message and "\n" not in message and "face" in message
    else:
        frame = Renderer(portrait).render(Motion.rest(1, 25.0).frame(0))
        assert psnr(frame, portrait.image) >= 40


def test_extra_portraits_folder(tmp_path, monkeypatch, astronaut):
    import cv2

    from gioconda.eval.portraits import PORTRAITS_ENV, default_portraits_dir, portraits_in

    cv2.imwrite(str(tmp_path / "b.png"), astronaut[..., ::-1])
    (tmp_path / "notes.txt").write_text("not a photo")
    found = portraits_in(tmp_path)
    assert [name for name, _ in found] == [f"{tmp_path.name}/b"]
    assert found[0][1]().shape == astronaut.shape
    assert portraits_in(tmp_path / "missing") == [] and portraits_in(None) == []
    monkeypatch.setenv(PORTRAITS_ENV, str(tmp_path))
    assert default_portraits_dir() == tmp_path


def test_cli_portraits_folder_must_exist(tmp_path, capsys):
    from gioconda import cli

    assert cli.main(["eval", "render", "--portraits", str(tmp_path / "missing"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "portraits folder not found" in err
