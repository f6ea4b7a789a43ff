"""Video-driven reenactment: the face in a driving video moves the portrait.

``gioconda reenact PHOTO DRIVING_VIDEO -o OUT.mp4``. Face Mesh follows the driving face frame by
frame (478 3D landmarks with irises). Its motion is read *relative to that face's own neutral*,
so whoever drives, the portrait keeps its own face and only borrows the motion:

1. **Tracking** (:func:`track_video_face`): BlazeFace finds the largest face (as in
   :mod:`gioconda.face`); Face Mesh then runs on a square crop around it that follows the face
   from frame to frame, and searches again when the face is lost.
2. **Neutral** (:func:`estimate_neutral`): the driving face at rest, from the stillest frames
   with the least mouth opening among those with open eyes and a typical pose.
3. **Head pose**: a similarity transform (Umeyama) of each frame's skull landmarks (forehead,
   nose bridge, eye corners, temples; never lips, jaw, lids or brows) onto the neutral's gives
   yaw, pitch, roll in :mod:`gioconda.motion`'s conventions, a translation and a scale.
4. **Expression** (:func:`motion_from_track`): with the head pose removed, the mouth is fitted
   with :class:`~gioconda.rig.FaceRig`'s own blendshapes built on the *driving* face (bounded
   least squares, 0..1), so the numbers mean what the renderer means by them; blinks come
   from each eye's lid-to-lid opening, gaze from the irises between the eye corners, brows,
   squint and frown from how far those landmarks moved, in the face's own units.
5. Light zero-phase smoothing (the job is offline) removes landmark jitter without blurring
   closures; frames without a face hold the last motion and ease back to rest.

The result is an ordinary :class:`~gioconda.motion.Motion`, rendered by
:func:`gioconda.pipeline.render_video` with the driving video's own soundtrack.

:func:`evaluate_reenactment` is the round trip that ``gioconda eval motion`` reports: a known
motion rendered from one portrait becomes the driving video, is reenacted onto another, and
MediaPipe reads both videos back.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from scipy.ndimage import gaussian_filter1d, uniform_filter1d
from scipy.optimize import least_squares

from gioconda.audio import DEFAULT_MAX_AUDIO_S, Audio, load_audio
from gioconda.blendshapes import ARKIT_BLENDSHAPES, BS
from gioconda.errors import GiocondaError
from gioconda.evaluate_render import rotation_to_angles
from gioconda.face import (
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_IRIS,
    MESH_INPUT_SIZE,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_IRIS,
    CropBox,
    Portrait,
    analyze_portrait,
    load_photo,
    native_stderr_silenced,
)
from gioconda.measure import FaceMeasurer, eye_openness, lip_gap, pearson
from gioconda.motion import EYE_LOOK_FULL_DEG, Motion, MotionFrame
from gioconda.output import check_writable, write_motion
from gioconda.pipeline import AnimateResult, Progress, render_video
from gioconda.rig import FaceRig
from gioconda.timeline import frame_count, frame_times

# ------------------------------------------------------------------------------------------------
# Constants
# ------------------------------------------------------------------------------------------------

#: Face Mesh landmarks that move with the skull and hardly with expressions: forehead, nose
#: bridge and tip, the eyes' corners (which neither blinks nor squints move), temples and
#: the tops of the cheekbones. Head pose is solved on these alone.
SKULL_LANDMARKS = (
    10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1,  # midline: forehead down the nose
    109, 338, 67, 297, 108, 337, 69, 299,  # forehead
    33, 133, 263, 362, 130, 359, 243, 463,  # eye corners
    127, 356, 162, 389, 234, 454, 21, 251,  # temples
    122, 351, 188, 412, 114, 343, 245, 465,  # beside the nose bridge
)  # fmt: skip
#: Brows, by the subject's side: inner and outer halves (upper and lower edges).
RIGHT_BROW_INNER, RIGHT_BROW_OUTER = (107, 66, 55, 65), (70, 63, 46, 53)
LEFT_BROW_INNER, LEFT_BROW_OUTER = (336, 296, 285, 295), (300, 293, 276, 283)
MOUTH_CORNERS = (61, 291)

#: The mouth channels the renderer draws, fitted with the rig's own basis. MouthUpperUp is one
#: parameter for both sides, as the rig moves the upper lip by their mean.
MOUTH_FIT_CHANNELS = (
    ("JawOpen",), ("MouthClose",), ("MouthFunnel",), ("MouthPucker",), ("MouthRollLower",),
    ("MouthUpperUpLeft", "MouthUpperUpRight"), ("MouthStretchLeft",), ("MouthStretchRight",),
    ("MouthSmileLeft",), ("MouthSmileRight",),
)  # fmt: skip
#: Ridge weight of each fitted channel (per unit blendshape, against residuals in mouth
#: widths): small for the jaw and the lips' closing, which the lip contours show plainly;
#: larger for the shapes that trade off against each other and against Face Mesh's own
#: reading of an open mouth (it sees the corners move less than the rig moves them).
MOUTH_RIDGE = (0.01, 0.01, 0.04, 0.04, 0.04, 0.04, 0.06, 0.06, 0.04, 0.04)

#: Re-detected eye openness (lid to lid, relative to the neutral's) at which an eye counts as
#: fully shut. Face Mesh never reports a shut eye as zero: on Gioconda's own blinks it reads
#: 0.3-0.5 of the open eye (``gioconda eval render``), on people about 0.2-0.35.
SHUT_EYE_OPENNESS = 0.35
#: Face Mesh's eye openness wavers by up to ~15 % as the head turns or the mouth opens;
#: closing by less than this is not read as a blink.
BLINK_DEAD_ZONE = 0.12
#: Brow and lid travel (in inter-ocular distances, or eye openings) that count as a full
#: blendshape. ARKit defines its shapes by look, not distance; these make a clear brow raise,
#: frown or squint about 1.
BROW_RAISE_FULL = 0.08
BROW_LOWER_FULL = 0.05
SQUINT_FULL = 0.3  # of the eye's opening, the lower lid rising
FROWN_FULL = 0.06  # mouth widths, the corners dropping beyond what the fitted mouth explains

#: Zero-phase smoothing, Gaussian sigma in seconds: the head is heavy, the face is quick.
POSE_SMOOTH_S = 0.03
SHAPE_SMOOTH_S = 0.02
#: Frames without a face: hold the last motion this long, then ease back to rest over the next.
HOLD_S = 0.2
EASE_TO_REST_S = 0.5
#: Head translation and scale are kept within these (face widths; relative size).
MAX_TRANSLATION = 0.4
SCALE_RANGE = (0.75, 1.33)
#: While the face is lost, search the whole frame at most this often (seconds): the search
#: tiles big frames and costs more than tracking.
SEARCH_EVERY_S = 0.2


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceTrack:
    """The driving face, frame by frame.

    Attributes
    ----------
    landmarks: (T, 478, 3) float64, Face Mesh landmarks in video pixels (z at the same scale,
        smaller is nearer); NaN in frames where no face was found
    times_s: (T,) float64, each frame's presentation time from the first frame, seconds
    fps: the video's average frame rate
    audio: the video's soundtrack, or None
    width, height: video frame size in pixels
    """

    landmarks: np.ndarray
    times_s: np.ndarray
    fps: float
    audio: Audio | None
    width: int
    height: int

    @property
    def found(self) -> np.ndarray:
        """(T,) bool, frames with a face."""
        return np.isfinite(self.landmarks[:, 0, 0])

    def __len__(self) -> int:
        return len(self.landmarks)


@dataclass(frozen=True)
class ReenactOptions:
    """Everything about a ``reenact`` run besides its inputs and output.

    Attributes
    ----------
    fps: output frame rate; None keeps the driving video's
    size: side of the square output in pixels (ignored with ``full_frame``)
    full_frame: render the whole photo at its own resolution, the face pasted back
    face: which face of the photo to animate, counting from the largest (0)
    label: draw the small "AI-generated" label
    max_seconds: refuse longer driving videos
    """

    fps: float | None = None
    size: int = 512
    full_frame: bool = False
    face: int = 0
    label: bool = True
    max_seconds: float = DEFAULT_MAX_AUDIO_S

    def __post_init__(self) -> None:
        if self.fps is not None and not (np.isfinite(self.fps) and 1 <= self.fps <= 120):
            raise GiocondaError(f"fps must be between 1 and 120, got {self.fps:g}")
        if not 64 <= self.size <= 4096:
            raise GiocondaError(f"size must be between 64 and 4096, got {self.size}")
        if self.face < 0:
            raise GiocondaError(f"face must be 0 or more, got {self.face}")
        if not self.max_seconds > 0:
            raise GiocondaError(f"max_seconds must be positive, got {self.max_seconds:g}")


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


# ------------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------------


def reenact(
    photo_path: str | os.PathLike[str],
    video_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    options: ReenactOptions = ReenactOptions(),
    motion_out: str | os.PathLike[str] | None = None,
    progress: Progress = _no_progress,
) -> AnimateResult:
    """Make the face in a photo do what the face in a driving video does.

    Parameters
    ----------
    photo_path: JPEG/PNG/WebP/... portrait
    video_path: the driving video (any format FFmpeg reads); its soundtrack is kept
    out_path: the MP4 to write (appears only when complete)
    options: see :class:`ReenactOptions`
    motion_out: also write the motion (.csv in Live Link Face columns, or .json)
    progress: called as stages advance ("track", then "render")

    Returns
    -------
    The video's path, its frame count (the driving video's, or its duration at
    ``options.fps``) and the motion rendered.

    Raises
    ------
    GiocondaError: a missing or unreadable photo or video, no face in either, an output
        that cannot be written; explained in one line, and no file is left behind.
    """
    check_writable(out_path)
    if motion_out is not None:
        check_writable(motion_out)
    photo = load_photo(photo_path)
    track = track_video_face(video_path, options.max_seconds, progress)
    motion = motion_from_track(track, options.fps)
    portrait = analyze_portrait(photo, None if options.full_frame else options.size, options.face)
    frames = render_video(
        portrait, motion, track.audio, out_path, options.full_frame, options.label, progress
    )
    if motion_out is not None:
        write_motion(motion, motion_out)
    return AnimateResult(os.fspath(out_path), frames, motion)


# ------------------------------------------------------------------------------------------------
# Tracking
# ------------------------------------------------------------------------------------------------


def track_video_face(
    path: str | os.PathLike[str],
    max_seconds: float | None = DEFAULT_MAX_AUDIO_S,
    progress: Progress = _no_progress,
) -> FaceTrack:
    """Decode a video (PyAV) and follow its largest face with Face Mesh, frame by frame.

    Raises
    ------
    GiocondaError: the file is missing, is not a video, is longer than ``max_seconds``, or
        shows no face in any frame.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise GiocondaError(f"driving video not found: {path}")
    landmarks: list[np.ndarray | None] = []
    times: list[float] = []
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise GiocondaError(f"no video stream in {path}")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            if not (np.isfinite(fps) and fps > 0):
                raise GiocondaError(f"cannot tell the frame rate of {path}")
            duration = _video_duration_s(container, stream)
            if max_seconds is not None and duration is not None and duration > max_seconds:
                raise GiocondaError(f"driving video is longer than {max_seconds:g} s: {path}")
            total = max(1, round(duration * fps)) if duration else 0
            with _VideoFaceTracker(fps) as tracker:
                for frame in container.decode(stream):
                    rgb = frame.to_ndarray(format="rgb24")
                    width, height = rgb.shape[1], rgb.shape[0]
                    landmarks.append(tracker(rgb))
                    times.append(float(frame.time) if frame.time is not None else math.nan)
                    if max_seconds is not None and len(times) > max_seconds * fps + 1:
                        raise GiocondaError(
                            f"driving video is longer than {max_seconds:g} s: {path}"
                        )
                    progress("track", len(times), max(total, len(times)))
    except GiocondaError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as error:
        raise GiocondaError(f"cannot read video from {path}: {error}") from None
    if len(landmarks) < 2:
        raise GiocondaError(f"not a video (one frame or none): {path}")
    if all(lm is None for lm in landmarks):
        raise GiocondaError(f"no face found in the driving video: {path}")
    stacked = np.full((len(landmarks), 478, 3), np.nan)
    for i, lm in enumerate(landmarks):
        if lm is not None:
            stacked[i] = lm
    return FaceTrack(
        stacked, _frame_times(np.array(times), fps), fps, _soundtrack(path, max_seconds),
        width, height,
    )  # fmt: skip


def _video_duration_s(container: av.container.InputContainer, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _frame_times(times: np.ndarray, fps: float) -> np.ndarray:
    """Presentation times from the first frame; the nominal ``i / fps`` where unknown or
    not increasing."""
    nominal = frame_times(len(times), fps)
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        return nominal
    return times - times[0]


def _soundtrack(path: str, max_seconds: float | None) -> Audio | None:
    from gioconda.pipeline import OUTPUT_SAMPLE_RATE

    with av.open(path) as container:
        if not container.streams.audio:
            return None
    try:
        return load_audio(path, OUTPUT_SAMPLE_RATE, max_seconds)
    except GiocondaError as error:
        if "empty" in str(error):
            return None  # an empty audio track: the video is silent
        raise


class _VideoFaceTracker:
    """Face Mesh on a square crop that follows the face; BlazeFace when it is lost.

    Face Mesh sees its input at 192 px: on the whole of a big frame a face is a few pixels.
    A crop framed as :mod:`gioconda.face` frames the portrait, resampled to
    :data:`~gioconda.face.MESH_INPUT_SIZE`, keeps the face at the size Face Mesh is best at
    wherever it is in the frame. Face Mesh runs in tracking mode (landmarks of the last frame
    seed the next), and the crop moves only when the face has drifted, so the tracker's
    prior stays valid.
    """

    def __init__(self, fps: float) -> None:
        self._mesh = None  # made on first use, see __call__
        self._crop: CropBox | None = None
        self._search_every = max(1, round(SEARCH_EVERY_S * fps))
        self._since_search = self._search_every

    def __enter__(self) -> _VideoFaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._mesh is not None:
            self._mesh.close()

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        # Imported here: private framing helpers of face analysis, shared rather than copied.
        from gioconda.face import _crop_box, _detect_face_boxes, _mesh_in_crop, _square_around

        with native_stderr_silenced():
            if self._mesh is None:
                # Made here, inside the same silenced block as its first frame: MediaPipe
                # starts its graph threads in the constructor and they log a moment later.
                from mediapipe.python.solutions import face_mesh

                self._mesh = face_mesh.FaceMesh(
                    static_image_mode=False, max_num_faces=1, refine_landmarks=True,
                    min_detection_confidence=0.3, min_tracking_confidence=0.3,
                )  # fmt: skip
            if self._crop is None:
                self._since_search += 1
                if self._since_search < self._search_every:
                    return None
                self._since_search = 0
                boxes = _detect_face_boxes(frame)
                if not boxes:
                    return None
                first = _mesh_in_crop(
                    self._mesh, frame, _square_around(boxes[0], 2.2), MESH_INPUT_SIZE
                )
                if first is None:
                    return None
                self._crop = _crop_box(first)
                # Once more on the new crop, so that this frame is read as the next ones will
                # be: from the landmarks of a frame framed the same way (a fresh detection
                # reads the same face a degree or two differently from tracking).
                _mesh_in_crop(self._mesh, frame, self._crop, MESH_INPUT_SIZE)
            landmarks = _mesh_in_crop(self._mesh, frame, self._crop, MESH_INPUT_SIZE)
        if landmarks is None:
            self._crop = None
            self._since_search = self._search_every  # search again on the next frame
            return None
        framed = _crop_box(landmarks)
        shift = math.hypot(framed.x0 - self._crop.x0, framed.y0 - self._crop.y0)
        if shift > 0.08 * self._crop.side or abs(framed.side / self._crop.side - 1) > 0.12:
            self._crop = framed
        return landmarks


# ------------------------------------------------------------------------------------------------
# Geometry
# ------------------------------------------------------------------------------------------------


def similarity(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares ``target ~ scale * source @ R.T + offset`` (Umeyama) for (N, 3) points.

    Returns ``(scale, R, offset)``, R a proper rotation (3, 3), offset (3,).
    """
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    u, sing, vt = np.linalg.svd(t.T @ s)
    d = np.ones(3)
    if np.linalg.det(u @ vt) < 0:
        d[2] = -1.0
    rotation = u @ np.diag(d) @ vt
    scale = float((sing * d).sum() / max((s**2).sum(), 1e-12))
    return scale, rotation, mu_t - scale * rotation @ mu_s


def head_pose(neutral: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) in degrees of ``landmarks`` relative to ``neutral`` (both (478, 3)),
    solved on the skull landmarks alone."""
    skull = list(SKULL_LANDMARKS)
    _, rotation, _ = similarity(neutral[skull], landmarks[skull])
    return rotation_to_angles(rotation)


@dataclass(frozen=True)
class _Pose:
    """One frame's head, from the neutral: ``frame ~ scale * neutral @ R.T + offset``."""

    scale: float
    rotation: np.ndarray
    offset: np.ndarray

    def to_neutral(self, landmarks: np.ndarray) -> np.ndarray:
        """The frame's landmarks with the head's motion undone (the neutral's frame)."""
        return (landmarks - self.offset) @ self.rotation / self.scale


def _pose(neutral: np.ndarray, landmarks: np.ndarray) -> _Pose:
    skull = list(SKULL_LANDMARKS)
    return _Pose(*similarity(neutral[skull], landmarks[skull]))


# ------------------------------------------------------------------------------------------------
# Neutral
# ------------------------------------------------------------------------------------------------


def estimate_neutral(track: FaceTrack) -> np.ndarray:
    """The driving face at rest: (478, 3) landmarks in video pixels.

    Among the frames with both eyes open (at least 85 % of the 90th percentile of openness)
    and a head pose near the clip's median, the frame whose mouth is both among the least
    open and the stillest (mouth landmarks moving least over +-0.2 s) is taken, and averaged
    with its still neighbours after aligning them on the skull. A clip that opens at rest
    (as Gioconda's own do, and most people before they speak) picks its opening frames.
    """
    found = np.flatnonzero(track.found)
    lms = track.landmarks[found]
    reference = lms[0]
    skull = list(SKULL_LANDMARKS)
    poses = [_Pose(*similarity(reference[skull], lm[skull])) for lm in lms]
    angles = np.array([rotation_to_angles(p.rotation) for p in poses])
    gaps = np.array([lip_gap(lm) for lm in lms])
    openness = np.array([eye_openness(lm).mean() for lm in lms])
    lips = list(_LIP_POINTS)
    aligned_lips = np.stack([p.to_neutral(lm)[lips, :2] for p, lm in zip(poses, lms, strict=True)])
    width = np.linalg.norm(reference[291, :2] - reference[61, :2])
    speed = np.zeros(len(found))
    speed[1:] = np.linalg.norm(np.diff(aligned_lips, axis=0), axis=2).mean(1) / width
    speed[1:] /= np.maximum(np.diff(found), 1)  # per frame, across gaps too
    window = max(1, round(0.4 * track.fps)) | 1
    activity = uniform_filter1d(speed, window, mode="nearest")

    deviation = np.linalg.norm(angles - np.median(angles, 0), axis=1)
    candidates = (openness >= 0.85 * np.percentile(openness, 90)) & (
        deviation <= max(3.0, float(np.median(deviation)))
    )
    if not candidates.any():
        candidates[:] = True
    idx = np.flatnonzero(candidates)
    cost = _ranks(gaps[idx]) + _ranks(activity[idx])
    best = idx[int(np.argmin(cost))]
    near = idx[np.abs(found[idx] - found[best]) <= max(1, round(0.2 * track.fps))]
    # Only neighbours about as closed and still as the best frame join the average.
    near = near[(gaps[near] <= gaps[best] + 0.02) & (activity[near] <= activity[best] + 0.01)]
    anchor = lms[best]
    stack = [_pose(anchor, lms[i]).to_neutral(lms[i]) for i in near]
    return np.mean(stack, axis=0)


_LIP_POINTS = (
    61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375,
    78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 95, 88, 178, 87, 14, 317, 402, 318, 324,
)  # fmt: skip


def _ranks(x: np.ndarray) -> np.ndarray:
    """Each value's rank in [0, 1] (0 = smallest)."""
    if len(x) < 2:
        return np.zeros(len(x))
    return np.argsort(np.argsort(x, kind="stable"), kind="stable") / (len(x) - 1)


# ------------------------------------------------------------------------------------------------
# Motion from the track
# ------------------------------------------------------------------------------------------------


def motion_from_track(
    track: FaceTrack, fps: float | None = None, neutral: np.ndarray | None = None
) -> Motion:
    """Head pose and blendshapes of the driving face, relative to its own neutral.

    Parameters
    ----------
    track: the driving face (:func:`track_video_face`)
    fps: frame rate of the motion; None keeps the video's frames one for one
    neutral: (478, 3) the face at rest; None estimates it (:func:`estimate_neutral`)

    Returns
    -------
    Motion: one frame per video frame (or per ``1 / fps`` over the video's duration). Filled:
    head yaw, pitch, roll, translation and scale; gaze and the EyeLook* shapes; EyeBlink,
    EyeSquint; the mouth shapes the renderer draws (JawOpen, MouthClose, MouthFunnel,
    MouthPucker, MouthRollLower, MouthUpperUp, MouthStretch, MouthSmile), MouthFrown;
    BrowInnerUp, BrowOuterUp, BrowDown. The rest stay 0.
    """
    if neutral is None:
        neutral = estimate_neutral(track)
    rig = FaceRig(neutral)
    solver = _ExpressionSolver(rig)
    n = len(track)
    shapes = np.zeros((n, len(ARKIT_BLENDSHAPES)))
    rotation = np.zeros((n, 3))
    translation = np.zeros((n, 2))
    scale = np.ones(n)
    gaze = np.zeros((n, 2))
    found = track.found
    for i in np.flatnonzero(found):
        lm = track.landmarks[i]
        pose = _pose(neutral, lm)
        rotation[i] = rotation_to_angles(pose.rotation)
        # The rig turns the head about its pivot: frame = pivot + s R (p - pivot) + t.
        shift = pose.offset + pose.scale * pose.rotation @ rig.pivot - rig.pivot
        translation[i] = shift[:2] / rig.face_width
        scale[i] = pose.scale
        shapes[i], in_head = solver.solve(pose.to_neutral(lm))
        gaze[i] = in_head
    blink = np.maximum(shapes[:, BS["EyeBlinkLeft"]], shapes[:, BS["EyeBlinkRight"]])
    # Irises are not seen through closing lids: hold the gaze from the frames around a blink.
    gaze_seen = found & (blink < 0.4)
    gaze = _fill_missing(gaze, gaze_seen, track.fps, rest=None)
    rotation = _fill_missing(rotation, found, track.fps, rest=0.0)
    translation = _fill_missing(translation, found, track.fps, rest=0.0)
    scale = _fill_missing(scale[:, None], found, track.fps, rest=1.0)[:, 0]
    shapes = _fill_missing(shapes, found, track.fps, rest=0.0)

    rotation = _smooth(rotation, POSE_SMOOTH_S * track.fps)
    translation = _smooth(translation, POSE_SMOOTH_S * track.fps)
    scale = _smooth(scale, POSE_SMOOTH_S * track.fps)
    gaze = _smooth(gaze, POSE_SMOOTH_S * track.fps)
    shapes = _smooth(shapes, SHAPE_SMOOTH_S * track.fps)
    # Gaze relative to the camera is the eyes' angle in the head plus the head's turn.
    gaze = gaze + rotation[:, :2]
    _set_eye_look(shapes, gaze)

    translation = np.clip(translation, -MAX_TRANSLATION, MAX_TRANSLATION)
    scale = np.clip(scale, *SCALE_RANGE)
    if fps is not None and not math.isclose(fps, track.fps, rel_tol=1e-6):
        n_out = frame_count(track.times_s[-1] + 1.0 / track.fps, fps)
        at = frame_times(n_out, fps)

        def resampled(values: np.ndarray) -> np.ndarray:
            flat = values.reshape(n, -1)
            cols = [np.interp(at, track.times_s, flat[:, c]) for c in range(flat.shape[1])]
            return np.stack(cols, 1).reshape((n_out, *values.shape[1:]))

        shapes, rotation, translation, scale, gaze = (
            resampled(v) for v in (shapes, rotation, translation, scale, gaze)
        )
    else:
        fps = track.fps
    return Motion(
        float(fps),
        np.clip(shapes, 0.0, 1.0).astype(np.float32),
        rotation.astype(np.float32),
        translation.astype(np.float32),
        scale.astype(np.float32),
        gaze.astype(np.float32),
    )


class _ExpressionSolver:
    """Blendshapes of one frame's head-free landmarks, against the rig of the driving face."""

    def __init__(self, rig: FaceRig) -> None:
        self.rig = rig
        lm = rig.neutral
        # The mouth fit looks where the rig's mouth shapes move anything, inner lips most.
        # The fit looks at the lips alone, the inner contour twice as hard: that is what the
        # renderer draws, and where Face Mesh is surest (on chin and cheeks it reads the
        # rig's own renders at a third of their motion).
        self.mouth_points = np.array(_LIP_POINTS)
        weight = np.where(np.arange(len(_LIP_POINTS)) >= 20, 2.0, 1.0)
        self.mouth_weight = weight[:, None] / rig.mouth_width
        self.ridge = np.array(MOUTH_RIDGE)
        self.columns = [[BS[name] for name in names] for names in MOUTH_FIT_CHANNELS]
        self.previous = np.zeros(len(MOUTH_FIT_CHANNELS))

        self.eye_gap = [self._eye_gap(lm, up, lo) for up, lo in _EYES]
        self.eye_width = [np.linalg.norm(lm[up[0], :2] - lm[up[-1], :2]) for up, _ in _EYES]
        self.inter_ocular = float(
            np.linalg.norm(lm[list(_EYE_RING[0]), :2].mean(0) - lm[list(_EYE_RING[1]), :2].mean(0))
        )
        self.iris_radius = [
            float(np.mean(np.linalg.norm(lm[list(iris[1:]), :2] - lm[iris[0], :2], axis=1)))
            for iris in (RIGHT_IRIS, LEFT_IRIS)
        ]
        self.iris_offset = [self._iris_offset(lm, k) for k in range(2)]
        self.neutral_face = self._face_frame(lm)

    @staticmethod
    def _eye_gap(lm: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...]) -> float:
        up, lo = lm[list(upper[2:-2]), :2], lm[list(lower[2:-2]), :2]
        return float(np.mean(np.linalg.norm(lo - up, axis=1)))

    def _face_frame(self, lm: np.ndarray) -> np.ndarray:
        """(x, y) of every landmark along the neutral face's own axes, pixels."""
        return lm[:, :2] @ self.rig.axes.T

    def _iris_offset(self, lm: np.ndarray, eye: int) -> np.ndarray:
        upper, _ = _EYES[eye]
        iris = (RIGHT_IRIS, LEFT_IRIS)[eye][0]
        corners = lm[[upper[0], upper[-1]], :2].mean(0)
        return (lm[iris, :2] - corners) @ self.rig.axes.T

    def solve(self, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Blendshapes (52,) and the eyes' angle in the head (yaw, pitch) in degrees."""
        shapes = np.zeros(len(ARKIT_BLENDSHAPES))
        mouth = self._fit_mouth(lm)
        for value, columns in zip(mouth, self.columns, strict=True):
            shapes[columns] = value
        moved = self._face_frame(lm) - self.neutral_face  # (478, 2) along the face's axes

        for k, (side, (upper, lower)) in enumerate(zip(("Right", "Left"), _EYES, strict=True)):
            ratio = self._eye_gap(lm, upper, lower) / max(self.eye_gap[k], 1e-6)
            closing = 1.0 - ratio - BLINK_DEAD_ZONE
            blink = np.clip(closing / (1.0 - SHUT_EYE_OPENNESS - BLINK_DEAD_ZONE), 0.0, 1.0)
            shapes[BS[f"EyeBlink{side}"]] = blink
            # A squint lifts the lower lid beyond its share of a blink.
            lower_up = -moved[list(lower[2:-2]), 1].mean()
            share = blink * (1.0 - 0.8) * self.eye_gap[k]
            shapes[BS[f"EyeSquint{side}"]] = np.clip(
                (lower_up - share) / (SQUINT_FULL * self.eye_gap[k] + 1e-6), 0.0, 1.0
            )
        iod = self.inter_ocular
        inner = -moved[list(RIGHT_BROW_INNER + LEFT_BROW_INNER), 1].mean() / iod
        shapes[BS["BrowInnerUp"]] = np.clip(inner / BROW_RAISE_FULL, 0.0, 1.0)
        for side, brow_inner, brow_outer in (
            ("Right", RIGHT_BROW_INNER, RIGHT_BROW_OUTER),
            ("Left", LEFT_BROW_INNER, LEFT_BROW_OUTER),
        ):
            outer = -moved[list(brow_outer), 1].mean() / iod
            whole = -moved[list(brow_inner + brow_outer), 1].mean() / iod
            shapes[BS[f"BrowOuterUp{side}"]] = np.clip(outer / BROW_RAISE_FULL, 0.0, 1.0)
            shapes[BS[f"BrowDown{side}"]] = np.clip(-whole / BROW_LOWER_FULL, 0.0, 1.0)

        # Corners lower than the fitted mouth puts them: a frown.
        fitted = self._face_frame(self.rig.expression(_frame(shapes))) - self.neutral_face
        for side, corner in (("Right", MOUTH_CORNERS[0]), ("Left", MOUTH_CORNERS[1])):
            drop = (moved[corner, 1] - fitted[corner, 1]) / self.rig.mouth_width
            shapes[BS[f"MouthFrown{side}"]] = np.clip(drop / FROWN_FULL, 0.0, 1.0)

        # The renderer moves each iris by 2 * radius * sin(angle in the head).
        sines = [
            (self._iris_offset(lm, k) - self.iris_offset[k]) / (2.0 * self.iris_radius[k] + 1e-6)
            for k in range(2)
        ]
        in_head = np.degrees(np.arcsin(np.clip(np.mean(sines, axis=0), -1.0, 1.0)))
        return shapes, in_head

    def _fit_mouth(self, lm: np.ndarray) -> np.ndarray:
        target = lm[self.mouth_points, :2]

        def residuals(params: np.ndarray) -> np.ndarray:
            shapes = np.zeros(len(ARKIT_BLENDSHAPES))
            for value, columns in zip(params, self.columns, strict=True):
                shapes[columns] = value
            model = self.rig.expression(_frame(shapes))[self.mouth_points, :2]
            fit = ((model - target) * self.mouth_weight).ravel()
            return np.concatenate([fit, self.ridge * params])

        # Started from the last frame's answer: faces change little from one frame to the next.
        start = np.clip(self.previous, 0.0, 1.0)
        result = least_squares(
            residuals, start, bounds=(0.0, 1.0), method="trf", x_scale=1.0, diff_step=1e-3,
            max_nfev=30,
        )  # fmt: skip
        self.previous = result.x
        return result.x


_EYES = ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER))
_EYE_RING = (RIGHT_EYE_UPPER + RIGHT_EYE_LOWER, LEFT_EYE_UPPER + LEFT_EYE_LOWER)


def _frame(shapes: np.ndarray) -> MotionFrame:
    return MotionFrame(shapes, np.zeros(3), np.zeros(2), 1.0, np.zeros(2))


def _set_eye_look(shapes: np.ndarray, gaze: np.ndarray) -> None:
    """EyeLook* from gaze (T, 2), as :func:`gioconda.motion.generate_motion` writes them:
    +yaw (image right) is the subject's left, so the left eye looks out; -pitch looks up."""
    right = np.clip(gaze[:, 0] / EYE_LOOK_FULL_DEG, 0.0, 1.0)
    left = np.clip(-gaze[:, 0] / EYE_LOOK_FULL_DEG, 0.0, 1.0)
    up = np.clip(-gaze[:, 1] / EYE_LOOK_FULL_DEG, 0.0, 1.0)
    down = np.clip(gaze[:, 1] / EYE_LOOK_FULL_DEG, 0.0, 1.0)
    for names, value in (
        (("EyeLookOutLeft", "EyeLookInRight"), right),
        (("EyeLookInLeft", "EyeLookOutRight"), left),
        (("EyeLookUpLeft", "EyeLookUpRight"), up),
        (("EyeLookDownLeft", "EyeLookDownRight"), down),
    ):
        for name in names:
            shapes[:, BS[name]] = value


def _fill_missing(
    values: np.ndarray, seen: np.ndarray, fps: float, rest: float | None
) -> np.ndarray:
    """Frames not ``seen`` hold the last seen value for :data:`HOLD_S`, then ease to ``rest``
    over :data:`EASE_TO_REST_S` (None: hold, and before the first seen frame take the first).
    Frames before the first seen one are at rest."""
    out = np.array(values, np.float64)
    if seen.all():
        return out
    if not seen.any():
        out[:] = 0.0 if rest is None else rest
        return out
    last = None
    lost_for = 0
    first = int(np.argmax(seen))
    for i in range(len(out)):
        if seen[i]:
            last, lost_for = out[i].copy(), 0
            continue
        if last is None:
            out[i] = out[first] if rest is None else rest
            continue
        lost_for += 1
        if rest is None:
            out[i] = last
            continue
        t = lost_for / fps - HOLD_S
        ease = np.clip(t / EASE_TO_REST_S, 0.0, 1.0)
        ease = ease * ease * (3 - 2 * ease)
        out[i] = last + (rest - last) * ease
    return out


def _smooth(values: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing along time (no lag: the job is offline)."""
    if sigma_frames < 0.3 or len(values) < 2:
        return values
    return gaussian_filter1d(values, sigma_frames, axis=0, mode="nearest")


# ------------------------------------------------------------------------------------------------
# Evaluation: a known motion, rendered, reenacted, read back
# ------------------------------------------------------------------------------------------------


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
        fps = float(stream.average_rate)
        audio_s = 0.0
        if container.streams.audio:
            audio = container.streams.audio[0]
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
    driving: Portrait, driven: Portrait, progress: Progress = _no_progress
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
