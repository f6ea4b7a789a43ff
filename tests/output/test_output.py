"""Output files, checked by decoding them with PyAV and parsing them as a user's importer would."""

from __future__ import annotations

import csv
import json
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from gioconda.errors import GiocondaError
from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES
from gioconda.motion.frames import Motion
from gioconda.output.files import check_writable
from gioconda.output.motion_files import read_motion, write_motion
from gioconda.output.video import Mp4Writer
from gioconda.speech.audio import Audio

# --------------------------------------------------------------------------------------
# Test data


def gradient_frames(n: int, width: int, height: int) -> list[np.ndarray]:
    """Colour gradients that move one pixel a frame; brightness rises with the frame index."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for i in range(n):
        r = (x + i) / (width + n) * 160
        g = y / height * 160
        b = np.full_like(x, 40.0)
        base = 4.0 * i  # frame i is 4*i levels brighter than frame 0
        frames.append(np.clip(np.stack([r, g, b], -1) + base, 0, 255).astype(np.uint8))
    return frames


def tone(seconds: float, sample_rate: int = 16_000, hz: float = 440.0) -> Audio:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return Audio((0.4 * np.sin(2 * np.pi * hz * t)).astype(np.float32), sample_rate)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def random_motion(n: int, fps: float, seed: int = 0) -> Motion:
    rng = np.random.default_rng(seed)
    return Motion(
        fps=fps,
        blendshapes=rng.uniform(0, 1, (n, len(ARKIT_BLENDSHAPES))).astype(np.float32),
        head_rotation_deg=rng.normal(0, 10, (n, 3)).astype(np.float32),
        head_translation=rng.normal(0, 0.05, (n, 2)).astype(np.float32),
        head_scale=(1 + rng.normal(0, 0.05, n)).astype(np.float32),
        gaze_deg=rng.normal(0, 8, (n, 2)).astype(np.float32),
    )


def as_written(values: np.ndarray) -> np.ndarray:
    """What a six-decimal file holds, read back as float32."""
    return np.round(values.astype(np.float64), 6).astype(np.float32)


# --------------------------------------------------------------------------------------
# MP4


@pytest.mark.parametrize(
    ("fps", "width", "height"),
    [(25, 96, 64), (Fraction(30000, 1001), 97, 65)],  # odd sizes lose their last column/row
)
def test_mp4_decodes_with_exact_timing_content_and_audio(tmp_path, fps, width, height):
    n = 24
    frames = gradient_frames(n, width, height)
    audio = tone(1.23)  # longer than the video: 0.8 to 0.96 s
    path = tmp_path / "out.mp4"
    with Mp4Writer(path, fps=fps, width=width, height=height, audio=audio) as video:
        for frame in frames:
            video.write(frame)
    assert os.listdir(tmp_path) == ["out.mp4"]  # no temporary file left beside it

    with av.open(str(path)) as container:
        assert container.format.name.startswith("mov,mp4")
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (width & ~1, height & ~1)
        assert stream.average_rate == Fraction(fps)
        decoded = list(container.decode(stream))
    assert len(decoded) == n
    for i, frame in enumerate(decoded):
        assert frame.pts * frame.time_base == Fraction(i) / Fraction(fps)
        rgb = frame.to_ndarray(format="rgb24")
        # ~42 dB here; decoding with the wrong colour matrix (BT.601 for the BT.709 the file
        # is tagged with) gives ~32 dB, so 35 also checks that the colours are tagged right.
        assert psnr(rgb, frames[i][: height & ~1, : width & ~1]) > 35, f"frame {i}"
    brightness = [f.to_ndarray(format="rgb24").mean() for f in decoded]
    assert np.all(np.diff(brightness) > 2)  # frames come out in the order they went in

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac"
        assert stream.sample_rate == 48_000
        assert abs(float(stream.duration * stream.time_base) - audio.duration_s) < 0.030
        chunks = list(container.decode(stream))
    assert chunks[0].pts == 0  # starts with the video, at t = 0
    samples = np.concatenate([c.to_ndarray().reshape(-1) for c in chunks])
    assert abs(len(samples) / 48_000 - audio.duration_s) < 1024 / 48_000 + 1e-9
    spectrum = np.abs(np.fft.rfft(samples[:48_000]))  # one second: bins 1 Hz apart
    assert abs(np.argmax(spectrum) - 440) <= 1  # the tone, at its pitch


def test_mp4_keeps_audio_shorter_than_video(tmp_path):
    audio = tone(0.3, sample_rate=48_000)
    path = tmp_path / "short_audio.mp4"
    with Mp4Writer(path, fps=25, width=64, height=64, audio=audio) as video:
        for frame in gradient_frames(25, 64, 64):
            video.write(frame)
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 25
        assert abs(float(container.duration / 1e6) - 1.0) < 0.030  # the video's second
        audio_stream = container.streams.audio[0]
        assert abs(float(audio_stream.duration * audio_stream.time_base) - 0.3) < 0.030


def test_mp4_without_audio_has_only_video(tmp_path):
    path = tmp_path / "silent.mp4"
    with Mp4Writer(path, fps=25, width=32, height=32) as video:
        video.write(gradient_frames(1, 32, 32)[0])
    with av.open(str(path)) as container:
        assert [s.type for s in container.streams] == ["video"]


def test_exception_inside_with_leaves_nothing(tmp_path):
    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="render failed"):
        with Mp4Writer(path, fps=25, width=64, height=64, audio=tone(1.0)) as video:
            for frame in gradient_frames(5, 64, 64):
                video.write(frame)
            raise RuntimeError("render failed")
    assert os.listdir(tmp_path) == []


def test_failure_keeps_the_previous_file(tmp_path):
    path = tmp_path / "out.mp4"
    path.write_bytes(b"the previous render")
    with pytest.raises(ValueError, match="frame must be"):
        with Mp4Writer(path, fps=25, width=64, height=64) as video:
            video.write(gradient_frames(1, 64, 64)[0])
            video.write(np.zeros((64, 64, 4), np.uint8))  # RGBA: a caller's bug
    assert os.listdir(tmp_path) == ["out.mp4"]
    assert path.read_bytes() == b"the previous render"


def test_close_without_frames_fails_and_leaves_nothing(tmp_path):
    with pytest.raises(GiocondaError, match="no video frames"):
        with Mp4Writer(tmp_path / "empty.mp4", fps=25, width=64, height=64):
            pass
    assert os.listdir(tmp_path) == []


def test_unwritable_destination_fails_before_any_work(tmp_path):
    missing = tmp_path / "no" / "such" / "folder" / "out.mp4"
    with pytest.raises(GiocondaError, match="does not exist"):
        Mp4Writer(missing, fps=25, width=64, height=64)
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    with pytest.raises(GiocondaError, match="not a folder"):
        Mp4Writer.check_writable(not_a_folder / "out.mp4")
    with pytest.raises(GiocondaError, match="is a folder"):
        check_writable(tmp_path)
    assert os.listdir(tmp_path) == ["file.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to read-only folders")
def test_read_only_folder_fails_with_one_line(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(GiocondaError, match="cannot write") as error:
            Mp4Writer(folder / "out.mp4", fps=25, width=64, height=64)
        assert "\n" not in str(error.value)
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize(
    "kwargs",
    [{"fps": 0}, {"fps": float("nan")}, {"crf": 60}, {"preset": "warp"}, {"width": 1}],
)
def test_bad_parameters_are_refused(tmp_path, kwargs):
    args = {"fps": 25, "width": 64, "height": 64} | kwargs
    with pytest.raises(GiocondaError):
        Mp4Writer(tmp_path / "out.mp4", **args)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------
# Motion files

LIVE_LINK_FACE_HEADER = (
    "Timecode,BlendShapeCount,EyeBlinkLeft,EyeLookDownLeft,EyeLookInLeft,EyeLookOutLeft,"
    "EyeLookUpLeft,EyeSquintLeft,EyeWideLeft,EyeBlinkRight,EyeLookDownRight,EyeLookInRight,"
    "EyeLookOutRight,EyeLookUpRight,EyeSquintRight,EyeWideRight,JawForward,JawRight,JawLeft,"
    "JawOpen,MouthClose,MouthFunnel,MouthPucker,MouthRight,MouthLeft,MouthSmileLeft,"
    "MouthSmileRight,MouthFrownLeft,MouthFrownRight,MouthDimpleLeft,MouthDimpleRight,"
    "MouthStretchLeft,MouthStretchRight,MouthRollLower,MouthRollUpper,MouthShrugLower,"
    "MouthShrugUpper,MouthPressLeft,MouthPressRight,MouthLowerDownLeft,MouthLowerDownRight,"
    "MouthUpperUpLeft,MouthUpperUpRight,BrowDownLeft,BrowDownRight,BrowInnerUp,BrowOuterUpLeft,"
    "BrowOuterUpRight,CheekPuff,CheekSquintLeft,CheekSquintRight,NoseSneerLeft,NoseSneerRight,"
    "TongueOut,HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,"
    "RightEyePitch,RightEyeRoll"
)


def test_csv_is_live_link_face_layout_in_radians(tmp_path):
    motion = random_motion(30, fps=25)
    path = tmp_path / "motion.csv"
    write_motion(motion, path)
    lines = path.read_text().splitlines()
    assert lines[0] == LIVE_LINK_FACE_HEADER
    rows = list(csv.DictReader(lines))
    assert len(rows) == 30
    assert rows[0]["Timecode"] == "00:00:00:00.000"
    assert rows[26]["Timecode"] == "00:00:01:01.000"  # 26 frames at 25 fps: 1 s + 1 frame
    assert all(row["BlendShapeCount"] == "61" for row in rows)
    assert float(rows[3]["JawOpen"]) == pytest.approx(motion.blendshapes[3, 17], abs=1e-6)
    # Live Link Face writes radians (gioconda/output/motion_files.py says how we know).
    head = np.radians(motion.head_rotation_deg[3])
    assert float(rows[3]["HeadYaw"]) == pytest.approx(head[0], abs=1e-6)
    assert float(rows[3]["HeadRoll"]) == pytest.approx(head[2], abs=1e-6)
    # Live Link Face's eye angles are the eyes' turn in the head: gaze minus head.
    in_head = np.radians(motion.gaze_deg[3] - motion.head_rotation_deg[3, :2])
    for eye in ("LeftEye", "RightEye"):
        assert float(rows[3][f"{eye}Yaw"]) == pytest.approx(in_head[0], abs=1e-5)
        assert float(rows[3][f"{eye}Pitch"]) == pytest.approx(in_head[1], abs=1e-5)
        assert float(rows[3][f"{eye}Roll"]) == 0.0
    assert os.listdir(tmp_path) == ["motion.csv"]


@pytest.mark.parametrize("fps", [25, 30, 29.97, 60, 12.5])
@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_motion_round_trip(tmp_path, suffix, fps):
    motion = random_motion(100, fps=fps, seed=int(fps * 100))
    path = tmp_path / f"motion{suffix}"
    write_motion(motion, path)
    back = read_motion(path)
    assert back.fps == fps
    assert len(back) == len(motion)
    np.testing.assert_array_equal(back.blendshapes, as_written(motion.blendshapes))
    if suffix == ".json":
        np.testing.assert_array_equal(back.head_rotation_deg, as_written(motion.head_rotation_deg))
        np.testing.assert_array_equal(back.gaze_deg, as_written(motion.gaze_deg))
    else:  # radians at nine decimals; the gaze as eye-in-head angles, read back plus the head
        np.testing.assert_allclose(back.head_rotation_deg, motion.head_rotation_deg, atol=1e-5)
        np.testing.assert_allclose(back.gaze_deg, motion.gaze_deg, atol=1e-5, rtol=0)
    if suffix == ".json":
        np.testing.assert_array_equal(back.head_translation, as_written(motion.head_translation))
        np.testing.assert_array_equal(back.head_scale, as_written(motion.head_scale))
    else:  # the CSV has no columns for these
        np.testing.assert_array_equal(back.head_translation, 0)
        np.testing.assert_array_equal(back.head_scale, 1)
    for array in (back.blendshapes, back.head_rotation_deg, back.head_scale, back.gaze_deg):
        assert array.dtype == np.float32


def test_csv_of_one_frame_reads_at_25_fps(tmp_path):
    path = tmp_path / "still.csv"
    write_motion(random_motion(1, fps=30), path)
    assert read_motion(path).fps == 25


def test_reads_a_live_link_face_recording(tmp_path):
    """Timecodes from the wall clock, with a constant subframe, at 60 fps."""
    path = tmp_path / "take.csv"
    write_motion(random_motion(90, fps=60), path)
    lines = path.read_text().splitlines()
    start = 16 * 3600 + 38 * 60 + 49  # 16:38:49, frame 15
    for i in range(1, len(lines)):
        frame = 15 + (i - 1)
        s, ff = start + frame // 60, frame % 60
        stamp = f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{ff:02d}.433"
        lines[i] = stamp + lines[i][lines[i].index(",") :]
    path.write_text("\n".join(lines) + "\n")
    assert read_motion(path).fps == 60


def test_json_is_columnar(tmp_path):
    motion = random_motion(5, fps=25)
    path = tmp_path / "motion.json"
    write_motion(motion, path)
    document = json.loads(path.read_text())
    assert document["format"] == "gioconda-motion"
    assert document["version"] == 1
    assert document["frame_count"] == 5
    assert document["time_s"] == [0.0, 0.04, 0.08, 0.12, 0.16]
    assert document["blendshape_names"] == list(ARKIT_BLENDSHAPES)
    assert document["blendshapes"]["JawOpen"][2] == pytest.approx(motion.blendshapes[2, 17])
    assert document["head_rotation_deg"]["pitch"][4] == pytest.approx(
        motion.head_rotation_deg[4, 1], abs=1e-6
    )
    assert len(document["gaze_deg"]["yaw"]) == 5


def _drop_csv_columns(text: str, names: set[str]) -> str:
    rows = list(csv.reader(text.splitlines()))
    keep = [j for j, name in enumerate(rows[0]) if name not in names]
    return "\n".join(",".join(row[j] for j in keep) for row in rows) + "\n"


def _edit_json(text: str, edit) -> str:
    document = json.loads(text)
    edit(document)
    return json.dumps(document)


MALFORMED = {
    "missing columns": (
        ".csv",
        lambda t: _drop_csv_columns(t, {"HeadYaw", "TongueOut"}),
        "lacks .*TongueOut, HeadYaw",
    ),
    "empty csv": (".csv", lambda t: "", "empty"),
    "header only": (".csv", lambda t: t.splitlines()[0] + "\n", "no frames"),
    "not a number": (".csv", lambda t: t.replace(",0.", ",zero.", 1), "line 2: .*not a number"),
    "short row": (".csv", lambda t: t.rsplit(",", 5)[0] + "\n", "fields"),
    "bad timecode": (".csv", lambda t: t.replace("00:00:00:02.000", "yesterday"), "timecode"),
    "timecodes backwards": (
        ".csv",
        lambda t: t.replace("00:00:00:03.000", "00:00:00:01.000"),
        "do not increase",
    ),
    "not json": (".json", lambda t: t[:-20], "not valid JSON"),
    "other format": (".json", lambda t: _edit_json(t, lambda d: d.update(format="x")), "not a"),
    "newer version": (".json", lambda t: _edit_json(t, lambda d: d.update(version=2)), "version"),
    "missing channel": (
        ".json",
        lambda t: _edit_json(t, lambda d: d["blendshapes"].pop("JawOpen")),
        "lacks JawOpen",
    ),
    "missing field": (".json", lambda t: _edit_json(t, lambda d: d.pop("gaze_deg")), "gaze_deg"),
    "ragged": (
        ".json",
        lambda t: _edit_json(t, lambda d: d["head_scale"].pop()),
        "different lengths",
    ),
    "strings": (
        ".json",
        lambda t: _edit_json(t, lambda d: d["head_rotation_deg"].update(yaw=["a"] * 6)),
        "list of numbers",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_motion_files_raise_one_clear_line(tmp_path, case):
    suffix, corrupt, message = MALFORMED[case]
    path = tmp_path / f"motion{suffix}"
    write_motion(random_motion(6, fps=25), path)
    path.write_text(corrupt(path.read_text()))
    with pytest.raises(GiocondaError, match=message) as error:
        read_motion(path)
    assert "\n" not in str(error.value)


def test_motion_paths_are_checked(tmp_path):
    motion = random_motion(3, fps=25)
    with pytest.raises(GiocondaError, match=r"\.csv or \.json"):
        write_motion(motion, tmp_path / "motion.txt")
    with pytest.raises(GiocondaError, match=r"\.csv or \.json"):
        read_motion(tmp_path / "motion.bvh")
    with pytest.raises(GiocondaError, match="not found"):
        read_motion(tmp_path / "absent.json")
    with pytest.raises(GiocondaError, match="does not exist"):
        write_motion(motion, tmp_path / "missing" / "motion.json")
    assert os.listdir(tmp_path) == []


def test_motion_write_replaces_atomically(tmp_path):
    path = tmp_path / "motion.json"
    write_motion(random_motion(3, fps=25, seed=1), path)
    write_motion(random_motion(4, fps=25, seed=2), path)
    assert len(read_motion(path)) == 4
    assert os.listdir(tmp_path) == ["motion.json"]


def test_paths_may_be_strings(tmp_path):
    path = str(Path(tmp_path) / "motion.csv")
    write_motion(random_motion(3, fps=25), path)
    assert len(read_motion(path)) == 3
