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
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, uniform_filter1d
from scipy.optimize import least_squares

from gioconda.face.topology import (
    EYE_LIDS,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_IRIS,
    MOUTH_CORNERS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_IRIS,
    SKULL_LANDMARKS,
    eye_openness,
    lip_gap,
    mouth_width,
)
from gioconda.geometry import rotation_to_angles, similarity
from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES, BS
from gioconda.motion.eyes import EYE_LOOK_FULL_DEG
from gioconda.motion.frames import Motion, MotionFrame
from gioconda.motion.tracking import FaceTrack
from gioconda.render.rig import FaceRig
from gioconda.timeline import frame_count, frame_times

#: Brows, by the subject's side: inner and outer halves (upper and lower edges).
RIGHT_BROW_INNER, RIGHT_BROW_OUTER = (107, 66, 55, 65), (70, 63, 46, 53)


LEFT_BROW_INNER, LEFT_BROW_OUTER = (336, 296, 285, 295), (300, 293, 276, 283)


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


# The rig's own BrowDown = 1, as Face Mesh re-detects it on real photos (0.066-0.072): a driving
# face's frown comes back out of the rig as deep as it went in.
BROW_LOWER_FULL = 0.068


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
    width = mouth_width(reference)
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


_EYES = EYE_LIDS


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
