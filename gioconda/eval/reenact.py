"""Reenactment measured: a driving clip rendered from known motion, reenacted onto another
portrait, and both re-detected with MediaPipe.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from gioconda.eval.measure import FaceMeasurer, pearson
from gioconda.face.portrait import Portrait
from gioconda.motion.blendshapes import BS
from gioconda.motion.frames import Motion
from gioconda.motion.reenact import head_pose, motion_from_track
from gioconda.motion.tracking import track_video_face
from gioconda.pipeline import ReenactOptions, reenact, render_video
from gioconda.progress import Progress, no_progress
from gioconda.speech.audio import Audio
from gioconda.timeline import frame_count, frame_times


def reference_driving_motion(fps: float = 25.0) -> Motion:
    """A 3.6 s motion with something to see in every channel the renderer draws.

    At rest for 0.4 s, then the jaw opens and closes twice (JawOpen 0.55) while the head
    rolls +-6 degrees; both eyes blink (1.7-1.95 s, fully shut at 1.8 s); the head turns to
    yaw +10 then -10 degrees and nods (pitch +8) while the jaw opens once more (0.4); the
    gaze glances right and back; at rest again for the last 0.4 s.
    """
    n = frame_count(3.6, fps)
    t = frame_times(n, fps)
    motion = Motion.rest(n, fps)

    def bump(start: float, end: float, cycles: int = 1) -> np.ndarray:
        inside = (t >= start) & (t <= end)
        return np.where(inside, np.sin(np.pi * cycles * (t - start) / (end - start)) ** 2, 0.0)

    def wave(start: float, end: float) -> np.ndarray:
        inside = (t >= start) & (t <= end)
        return np.where(inside, np.sin(2 * np.pi * (t - start) / (end - start)), 0.0)

    shapes = motion.blendshapes
    shapes[:, BS["JawOpen"]] = 0.55 * bump(0.4, 1.6, cycles=2) + 0.4 * bump(2.4, 3.2)
    blink = np.clip(1.0 - np.abs(t - 1.8) / 0.12, 0.0, 1.0) ** 0.5
    shapes[:, BS["EyeBlinkLeft"]] = shapes[:, BS["EyeBlinkRight"]] = blink
    rotation = motion.head_rotation_deg
    rotation[:, 0] = 10.0 * wave(1.6, 3.2)
    rotation[:, 1] = 8.0 * bump(2.2, 3.0)
    rotation[:, 2] = 6.0 * wave(0.4, 1.6)
    motion.gaze_deg[:, 0] = 12.0 * bump(0.8, 1.5)
    return motion


@dataclass(frozen=True)
class VideoMeasurement:
    """What MediaPipe reads back from a video, frame by frame (NaN where it found no face).

    Attributes
    ----------
    lip_gap: (T,) inner-lip opening over mouth width (:func:`gioconda.measure.lip_gap`)
    eye_openness: (T,) mean of both eyes' opening (:func:`gioconda.measure.eye_openness`)
    head_deg: (T, 3) yaw, pitch, roll relative to the first frame (Kabsch on the skull
        landmarks, :func:`head_pose`)
    fps: the video's frame rate
    audio_s: length of the audio stream in seconds (0 without one)
    """

    lip_gap: np.ndarray
    eye_openness: np.ndarray
    head_deg: np.ndarray
    fps: float
    audio_s: float

    def __len__(self) -> int:
        return len(self.lip_gap)


def measure_video(path: str | os.PathLike[str]) -> VideoMeasurement:
    """Decode a video with PyAV and re-detect the face in every frame with MediaPipe."""
    gaps, eyes, poses = [], [], []
    first: np.ndarray | None = None
    with av.open(os.fspath(path)) as container, FaceMeasurer(video=True) as measurer:
        stream = container.streams.video[0]
        assert stream.average_rate is not None  # our own MP4s have a frame rate
        fps = float(stream.average_rate)
        audio_s = 0.0
        if container.streams.audio:
            audio = container.streams.audio[0]
            assert audio.time_base is not None  # every stream PyAV opens has one
            audio_s = float(audio.duration * audio.time_base) if audio.duration else 0.0
        for frame in container.decode(stream):
            seen = measurer.measure(frame.to_ndarray(format="rgb24"))
            gaps.append(seen.lip_gap)
            eyes.append(float(np.mean(seen.eye_openness)))
            if seen.landmarks is None:
                poses.append(np.full(3, np.nan))
                continue
            first = seen.landmarks if first is None else first
            poses.append(head_pose(first, seen.landmarks))
    return VideoMeasurement(np.array(gaps), np.array(eyes), np.array(poses), fps, audio_s)


@dataclass(frozen=True)
class ReenactmentError:
    """How closely a reenacted video follows its driving video, both read back by MediaPipe.

    Attributes
    ----------
    frames: frames in the reenacted video (and in the driving one: ``frames_match``)
    frames_match: the two videos have the same number of frames
    missing: reenacted frames where MediaPipe found no face
    lip_gap_r: Pearson correlation of the driving and the reenacted re-detected lip gap
    eye_openness_r: the same for eye openness
    blink_closure: reenacted eye openness at the driving motion's fullest blink over the
        reenacted video's median openness (0 = shut, 1 = no blink)
    head_mae_deg: (yaw, pitch, roll) mean absolute error in degrees of the reenacted video's
        head (re-detected, relative to its first frame) against the driving motion's commanded
        head
    head_r: (yaw, pitch, roll) Pearson correlation of the same
    head_mae_vs_driving_deg: (yaw, pitch, roll) mean absolute error of the reenacted head
        against the driving video's head as MediaPipe reads both (what reenactment itself
        loses, without the renderer's own under-turn counted twice)
    """

    frames: int
    frames_match: bool
    missing: int
    lip_gap_r: float
    eye_openness_r: float
    blink_closure: float
    head_mae_deg: tuple[float, float, float]
    head_r: tuple[float, float, float]
    head_mae_vs_driving_deg: tuple[float, float, float]

    def summary(self) -> str:
        mae = " / ".join(f"{x:.1f}" for x in self.head_mae_deg)
        r = " / ".join(f"{x:.2f}" for x in self.head_r)
        return (
            f"frames {self.frames} (match: {self.frames_match}), missing {self.missing}; "
            f"lip gap r {self.lip_gap_r:.2f}; eye openness r {self.eye_openness_r:.2f}, "
            f"blink closure {self.blink_closure:.2f}; yaw/pitch/roll MAE {mae} deg, r {r}"
        )


def reenactment_error(
    driving_motion: Motion, driving: VideoMeasurement, reenacted: VideoMeasurement
) -> ReenactmentError:
    """Compare a reenacted video with its driving video and the motion that drove *that*.

    ``driving`` and ``reenacted`` are :func:`measure_video` of the two videos;
    ``driving_motion`` is what the driving video was rendered from (its commanded head pose
    and blinks are the ground truth the reenactment should reproduce).
    """
    n = min(len(driving), len(reenacted), len(driving_motion))
    blink = np.maximum(
        driving_motion.blendshapes[:n, BS["EyeBlinkLeft"]],
        driving_motion.blendshapes[:n, BS["EyeBlinkRight"]],
    )
    eyes = reenacted.eye_openness[:n]
    closure = float(eyes[int(np.argmax(blink))] / np.nanmedian(eyes))
    commanded = driving_motion.head_rotation_deg[:n].astype(np.float64)
    measured = reenacted.head_deg[:n]
    ok = np.all(np.isfinite(measured), axis=1)
    mae = tuple(float(np.mean(np.abs(measured[ok, k] - commanded[ok, k]))) for k in range(3))
    head_r = tuple(pearson(commanded[:, k], measured[:, k]) for k in range(3))
    seen = driving.head_deg[:n]
    both = ok & np.all(np.isfinite(seen), axis=1)
    vs_driving = tuple(float(np.mean(np.abs(measured[both, k] - seen[both, k]))) for k in range(3))
    return ReenactmentError(
        frames=len(reenacted),
        frames_match=len(reenacted) == len(driving),
        missing=int(np.sum(~np.isfinite(reenacted.lip_gap))),
        lip_gap_r=pearson(driving.lip_gap[:n], reenacted.lip_gap[:n]),
        eye_openness_r=pearson(driving.eye_openness[:n], reenacted.eye_openness[:n]),
        blink_closure=closure,
        head_mae_deg=mae,  # type: ignore[arg-type]
        head_r=head_r,  # type: ignore[arg-type]
        head_mae_vs_driving_deg=vs_driving,  # type: ignore[arg-type]
    )


def tone_audio(duration_s: float, sample_rate: int = 48_000) -> Audio:
    """A soft 220 Hz tone with a slow swell: a soundtrack whose length can be checked."""
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    swell = 0.5 - 0.5 * np.cos(2 * np.pi * t / max(duration_s, 1e-3))
    return Audio((0.2 * swell * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32), sample_rate)


def evaluate_reenactment(
    driving_portrait: Portrait,
    target: str | os.PathLike[str] | Portrait,
    motion: Motion | None = None,
    work_dir: str | os.PathLike[str] | None = None,
) -> ReenactmentError:
    """The round trip: render ``motion`` from ``driving_portrait`` (with a tone for sound),
    reenact that video onto ``target`` (a photo file, through :func:`reenact`, or an analyzed
    portrait), and compare the two as MediaPipe reads them.

    ``motion`` defaults to :func:`reference_driving_motion`; ``work_dir`` keeps the two videos
    (``driving.mp4``, ``reenacted.mp4``), otherwise a temporary folder is used and removed.
    """
    motion = reference_driving_motion() if motion is None else motion
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp if work_dir is None else work_dir)
        folder.mkdir(parents=True, exist_ok=True)
        driving_path, out_path = folder / "driving.mp4", folder / "reenacted.mp4"
        tone = tone_audio(len(motion) / motion.fps)
        render_video(driving_portrait, motion, tone, driving_path, label=False)
        if isinstance(target, Portrait):
            track = track_video_face(driving_path)
            reenacted = motion_from_track(track, None)
            render_video(target, reenacted, track.audio, out_path, label=False)
        else:
            reenact(target, driving_path, out_path, ReenactOptions(label=False))
        return reenactment_error(motion, measure_video(driving_path), measure_video(out_path))


def reenactment_rows(
    driving: Portrait, driven: Portrait, progress: Progress = no_progress
) -> list[tuple[str, float]]:
    """:func:`evaluate_reenactment` as rows of ``gioconda eval motion``'s table."""
    progress("reenact", 0, 1)
    error = evaluate_reenactment(driving, driven)
    progress("reenact", 1, 1)
    rows = [
        ("frames match the driving video (1 = yes)", float(error.frames_match)),
        ("frames with no face found", float(error.missing)),
        ("lip gap r (driving vs output)", error.lip_gap_r),
        ("eye openness r (driving vs output)", error.eye_openness_r),
        ("eye openness at the fullest blink (share of median)", error.blink_closure),
    ]
    for k, axis in enumerate(("yaw", "pitch", "roll")):
        rows.append((f"{axis} MAE deg vs commanded", error.head_mae_deg[k]))
        rows.append(
            (f"{axis} MAE deg vs driving video as re-detected", error.head_mae_vs_driving_deg[k])
        )
    return rows
