"""Reenactment: a clip Gioconda renders from one portrait drives another, checked by MediaPipe."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import av
import numpy as np
import pytest

from gioconda.eval.measure import FaceMeasurer
from gioconda.eval.reenact import (
    measure_video,
    reenactment_error,
    reference_driving_motion,
    tone_audio,
)
from gioconda.motion.blendshapes import BS
from gioconda.motion.frames import MotionFrame
from gioconda.motion.reenact import _ExpressionSolver, head_pose
from gioconda.output.motion_files import read_motion
from gioconda.output.video import Mp4Writer
from gioconda.pipeline import ReenactOptions, reenact, render_video
from gioconda.render.rig import FaceRig

MONA_LISA = resources.files("gioconda") / "assets" / "mona_lisa.jpg"


def test_head_pose_recovers_the_rigs_rotation(astronaut_portrait):
    # The pose solver and the renderer's rig share one convention: what the rig turns by
    # (yaw, pitch, roll), head_pose reads back, sign and size.
    rig = FaceRig(astronaut_portrait.landmarks)
    for angles in ((10.0, 0.0, 0.0), (-7.0, 5.0, 0.0), (4.0, -6.0, 8.0)):
        posed = rig.landmarks(MotionFrame.still(angles))
        assert np.allclose(head_pose(rig.neutral, posed), angles, atol=0.05)


def test_a_rendered_frown_reads_back_as_deep(mona_renderer):
    """BrowDown rendered, re-detected by Face Mesh and solved as a driving face's frown comes
    back at about the strength it was rendered with: reenactment neither deepens nor flattens
    a frown (the rig's brow travel and reenactment's scale are one measurement)."""
    blank = np.zeros(len(BS))

    def frown(strength: float) -> MotionFrame:
        shapes = blank.copy()
        shapes[[BS["BrowDownLeft"], BS["BrowDownRight"]]] = strength
        return MotionFrame(shapes, np.zeros(3), np.zeros(2), 1.0, np.zeros(2))

    with FaceMeasurer(video=False) as measurer:
        rest = measurer.measure(mona_renderer.render(frown(0.0))).landmarks
        solver = _ExpressionSolver(FaceRig(rest))
        for strength in (0.5, 1.0):
            seen = measurer.measure(mona_renderer.render(frown(strength))).landmarks
            solved = solver.solve(seen)[0][[BS["BrowDownLeft"], BS["BrowDownRight"]]]
            # Both brows together: her head is turned, and Face Mesh reads the far brow's
            # drop a little short.
            assert abs(solved.mean() - strength) < 0.2, (strength, solved)


@pytest.fixture(scope="module")
def roundtrip(astronaut_portrait, tmp_path_factory):
    """The astronaut does a known motion (with a tone for sound); the Mona Lisa reenacts it."""
    folder = tmp_path_factory.mktemp("reenact")
    motion = reference_driving_motion()
    driving = folder / "driving.mp4"
    render_video(astronaut_portrait, motion, tone_audio(len(motion) / motion.fps), driving,
                 label=False)  # fmt: skip
    out = folder / "reenacted.mp4"
    with resources.as_file(MONA_LISA) as photo:
        result = reenact(photo, driving, out, ReenactOptions(), motion_out=folder / "m.json")
    return motion, driving, out, result, folder


def _audio_seconds(path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.rate


@pytest.mark.slow
def test_output_has_the_driving_videos_frames_and_sound(roundtrip):
    motion, driving, out, result, folder = roundtrip
    with av.open(str(driving)) as d, av.open(str(out)) as o:
        n_driving = sum(1 for _ in d.decode(video=0))
        n_out = sum(1 for _ in o.decode(video=0))
        assert o.streams.video[0].average_rate == d.streams.video[0].average_rate
    assert n_out == n_driving == len(motion) == result.frames
    assert abs(_audio_seconds(out) - _audio_seconds(driving)) < 0.03
    written = read_motion(folder / "m.json")
    assert len(written) == n_out
    assert np.allclose(written.head_rotation_deg, result.motion.head_rotation_deg, atol=1e-5)


@pytest.mark.slow
def test_reenacted_motion_follows_the_driving_motion(roundtrip):
    motion, driving, out, _result, _folder = roundtrip
    seen_driving, seen_out = measure_video(driving), measure_video(out)
    error = reenactment_error(motion, seen_driving, seen_out)
    assert error.missing == 0
    # The mouth opens and closes with the driving mouth (the Mona Lisa's lips are shut at rest,
    # the astronaut's open: the gaps differ, their course must not).
    assert error.lip_gap_r > 0.8, error.summary()
    # The blink closes the Mona Lisa's eyes; they are open before and after it.
    blink = motion.blendshapes[:, BS["EyeBlinkLeft"]]
    peak = int(np.argmax(blink))
    eyes = seen_out.eye_openness
    rest = np.median(eyes)
    assert eyes[peak] < 0.6 * rest, error.summary()
    assert eyes[peak - 6] > 0.85 * rest and eyes[peak + 6] > 0.85 * rest
    # The head turns as the driving head turns: the sign at both extremes of the commanded
    # yaw, and the size within a few degrees of what MediaPipe reads on the driving video.
    yaw = motion.head_rotation_deg[:, 0]
    for extreme in (int(np.argmax(yaw)), int(np.argmin(yaw))):
        out_yaw, driving_yaw = seen_out.head_deg[extreme, 0], seen_driving.head_deg[extreme, 0]
        assert np.sign(out_yaw) == np.sign(yaw[extreme]) and abs(out_yaw) > 4.0
        assert abs(out_yaw - driving_yaw) < 3.0, (extreme, out_yaw, driving_yaw)
    # Pitch and roll too, measured against the driving video as MediaPipe reads it.
    assert np.nanmean(np.abs(seen_out.head_deg - seen_driving.head_deg)) < 2.0
    assert error.head_r[0] > 0.9 and error.head_r[2] > 0.9, error.summary()


def _gioconda(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gioconda", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def faceless_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("faceless") / "noise.mp4"
    rng = np.random.default_rng(0)
    with Mp4Writer(path, 25, 128, 128, tone_audio(0.4)) as video:
        for _ in range(10):
            video.write(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("case", ["missing", "not a video", "no face"])
def test_bad_driving_video_is_one_line_and_no_file(case, tmp_path, faceless_video):
    video = {
        "missing": tmp_path / "nowhere.mp4",
        "not a video": tmp_path / "notes.mp4",
        "no face": faceless_video,
    }[case]
    if case == "not a video":
        video.write_text("this is not a video\n")
    out = tmp_path / "out.mp4"
    with resources.as_file(MONA_LISA) as photo:
        run = _gioconda("reenact", str(photo), str(video), "-o", str(out), "-q")
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gioconda: error: "), run.stderr
    assert "Traceback" not in run.stderr
    if case == "no face":
        assert "no face found in the driving video" in lines[0]
    assert sorted(tmp_path.iterdir()) == [p for p in [video] if p.parent == tmp_path and p.exists()]
