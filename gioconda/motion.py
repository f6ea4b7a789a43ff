"""Motion: per-frame head pose and facial dynamics, generated from audio features.

Facial dynamics are the 52 ARKit blendshapes (:mod:`gioconda.blendshapes`), so the same
motion can drive a 3D character. Head pose is yaw, pitch, roll in degrees plus a small
translation and scale, relative to the pose in the photo.

Angle conventions (as seen in the image): positive yaw moves the nose toward the image's
right, positive pitch moves the nose down (a nod), positive roll turns the top of the head
toward the image's right (clockwise). Gaze uses the same yaw/pitch convention.

:func:`generate_motion` turns prosody (:class:`~gioconda.audio.AudioFeatures`) and timed
visemes into a :class:`Motion`, in four independent parts: the mouth (dominance-function
co-articulation of viseme targets, with hard bilabial closures), the eyes (blinks as a renewal
process, gaze as fixations and saccades), the brows (raises on prosodic accents) and the head
(a damped spring driven by nods on accents and smooth sway, calm in pauses).

Streaming: everything is causal or looks a bounded time ahead. The offline version looks
furthest ahead in the lip-shape anticipation (0.42 s support, of which the last 0.2 s carries
under 6% of the weight, so a live version can cut it to ~0.25 s), in accent peak-picking
(up to 0.35 s) and in normalizing the blink hazard over the whole clip; the rest needs at most
~0.1 s (level smoothing, nods landing on accents, head and gaze starting before the voice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import bilinear, find_peaks, lfilter
from scipy.sparse import csr_matrix

from gioconda.audio import AudioFeatures
from gioconda.blendshapes import ARKIT_BLENDSHAPES, BS
from gioconda.controls import MotionControls, control_track
from gioconda.errors import GiocondaError
from gioconda.timeline import (
    FEATURE_HOP_S,
    frame_count,
    frame_times,
    resample_track,
    smoothstep,
    time_to_frame,
)
from gioconda.visemes import VISEME_INDEX, VISEMES, PhoneSegment


@dataclass(frozen=True)
class MotionFrame:
    """One frame of motion; see :class:`Motion` for units."""

    blendshapes: np.ndarray  # (52,) float32 in [0, 1]
    head_rotation_deg: np.ndarray  # (3,) yaw, pitch, roll
    head_translation: np.ndarray  # (2,) x, y in face widths
    head_scale: float
    gaze_deg: np.ndarray  # (2,) yaw, pitch

    @classmethod
    def still(
        cls,
        rotation: Sequence[float] = (0.0, 0.0, 0.0),
        gaze: Sequence[float] = (0.0, 0.0),
        **blendshapes: float,
    ) -> MotionFrame:
        """One pose: the photo's own, turned by ``rotation`` (yaw, pitch, roll in degrees),
        looking ``gaze`` (yaw, pitch) and with the named ARKit ``blendshapes`` set."""
        shapes = np.zeros(len(ARKIT_BLENDSHAPES), np.float32)
        for name, value in blendshapes.items():
            shapes[BS[name]] = value
        return cls(
            shapes,
            np.asarray(rotation, np.float32),
            np.zeros(2, np.float32),
            1.0,
            np.asarray(gaze, np.float32),
        )


@dataclass(frozen=True)
class Motion:
    """What the face does, frame by frame.

    Attributes
    ----------
    fps: frames per second; frame ``i`` is at ``i / fps`` seconds
    blendshapes: (T, 52) float32 in [0, 1], columns in :data:`ARKIT_BLENDSHAPES` order
    head_rotation_deg: (T, 3) float32, yaw, pitch, roll in degrees relative to the photo
    head_translation: (T, 2) float32, x, y shift in units of the face's width (+y is down)
    head_scale: (T,) float32, apparent head size relative to the photo (1.2 = closer)
    gaze_deg: (T, 2) float32, eye yaw and pitch in degrees relative to looking at the camera
    """

    fps: float
    blendshapes: np.ndarray
    head_rotation_deg: np.ndarray
    head_translation: np.ndarray
    head_scale: np.ndarray
    gaze_deg: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.blendshapes)
        if self.blendshapes.shape != (n, len(ARKIT_BLENDSHAPES)):
            raise ValueError(f"blendshapes must be (T, 52), got {self.blendshapes.shape}")
        for name, shape in (
            ("head_rotation_deg", (n, 3)),
            ("head_translation", (n, 2)),
            ("head_scale", (n,)),
            ("gaze_deg", (n, 2)),
        ):
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} must be {shape}, got {getattr(self, name).shape}")

    def __len__(self) -> int:
        return len(self.blendshapes)

    def frame(self, i: int) -> MotionFrame:
        return MotionFrame(
            self.blendshapes[i],
            self.head_rotation_deg[i],
            self.head_translation[i],
            float(self.head_scale[i]),
            self.gaze_deg[i],
        )

    @classmethod
    def rest(cls, n_frames: int, fps: float) -> Motion:
        """A still face in the photo's own pose."""
        return cls(
            fps,
            np.zeros((n_frames, len(ARKIT_BLENDSHAPES)), np.float32),
            np.zeros((n_frames, 3), np.float32),
            np.zeros((n_frames, 2), np.float32),
            np.ones(n_frames, np.float32),
            np.zeros((n_frames, 2), np.float32),
        )


# ------------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------------

#: Rate of the internal prosody grid (the audio features' own 10 ms hop), in Hz. Head motion is
#: simulated on this grid, so it does not change with the video's frame rate.
#: The first frames show the photo as it is: no blink before this time (seconds)...
OPENING_STILL_S = 0.6
#: ... and head, gaze and brows ease in from rest over this long.
OPENING_EASE_S = 0.8
GRID_FPS = 1.0 / FEATURE_HOP_S


def generate_motion(
    features: AudioFeatures,
    phones: Sequence[PhoneSegment] | None,
    n_frames: int,
    fps: float,
    controls: MotionControls | None = None,
) -> Motion:
    """Head pose and facial dynamics for every video frame of an utterance.

    Parameters
    ----------
    features: prosody of the speech, one value per 10 ms (see :func:`gioconda.audio.analyze_audio`);
        padded with silence or cut to the video's length
    phones: timed phones with their visemes; None when there is no phonetic information, in which
        case the jaw follows loudness alone and the lips never close (the baseline method)
    n_frames: number of video frames; frame ``i`` is shown at ``i / fps`` seconds
    fps: video frame rate, frames per second
    controls: seed, gaze, head distance, emotion, motion intensity, blink rate and their
        keyframes (:class:`~gioconda.controls.MotionControls`; None: the defaults)

    Returns
    -------
    Motion with ``n_frames`` frames. The same inputs and seed give bit-identical arrays; another
    seed changes head, blinks, gaze and brows but not the mouth. Every frame during a /p b m/,
    and the frame nearest its middle, has the lips closed (MouthClose 1, JawOpen <= 0.02).
    Phones shorter than :data:`MIN_PHONE_S` are taken for recognizer flicker and ignored, so
    they cannot make the mouth chatter.

    Raises
    ------
    GiocondaError: ``n_frames`` is negative, ``fps`` is not positive, or a phone has an unknown
        viseme.
    """
    if n_frames < 0 or not (np.isfinite(fps) and fps > 0):
        raise GiocondaError(f"need n_frames >= 0 and fps > 0, got {n_frames} frames at {fps} fps")
    controls = MotionControls() if controls is None else controls
    if n_frames == 0:
        return Motion.rest(0, fps)
    times = frame_times(n_frames, fps)
    prosody = _fit_features(features, frame_count(times[-1], GRID_FPS) + 1)
    grid_t = frame_times(len(prosody.speech), GRID_FPS)
    # Spawned children depend only on their index: adding streams leaves the others unchanged.
    head_rng, blink_rng, gaze_rng, brow_rng, emotion_rng, style_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(controls.seed).spawn(6)
    )
    accents = _accents(prosody)

    shapes = np.zeros((n_frames, len(ARKIT_BLENDSHAPES)))
    if phones is None:
        shapes[:, BS["JawOpen"]] = _jaw_from_loudness(prosody, times)
    else:
        shapes[:, _MOUTH_COLUMNS] = _mouth_from_phones(phones, prosody, times, fps)
    blink_rate = control_track(controls, "blink_rate", grid_t)[:, 0]
    blink = _blinks(prosody, times, fps, blink_rng, blink_rate)
    shapes[:, BS["EyeBlinkLeft"]] = shapes[:, BS["EyeBlinkRight"]] = blink
    # The clip opens on the photo itself, and the head, gaze and brows ease in from it.
    ease_in = smoothstep(times / OPENING_EASE_S)
    gaze = _commanded_gaze(
        _gaze(prosody, times, fps, gaze_rng) * ease_in[:, None],
        control_track(controls, "gaze", times),
    )
    _set_brows(shapes, _brow_raise(accents, times, fps, brow_rng) * ease_in)
    _add_emotion(shapes, _emotion(controls, times, emotion_rng))

    intensity = control_track(controls, "motion_intensity", grid_t)[:, 0]
    style = _head_style(style_rng)
    rotation, translation = _head_pose(prosody, accents, times, head_rng, intensity, style)
    rotation *= ease_in[:, None]
    translation *= ease_in[:, None]
    # ARKit's eye-look shapes are the eyes' turn in the head, not toward the camera.
    _set_eye_look(shapes, gaze - rotation[:, :2])
    return Motion(
        fps,
        np.clip(shapes, 0.0, 1.0).astype(np.float32),
        rotation.astype(np.float32),
        translation.astype(np.float32),
        control_track(controls, "head_distance", times)[:, 0].astype(np.float32),
        gaze.astype(np.float32),
    )


# ------------------------------------------------------------------------------------------------
# Shared helpers: feature grid, windows, pulses, filters
# ------------------------------------------------------------------------------------------------


def _fit_features(features: AudioFeatures, n_hops: int) -> AudioFeatures:
    """The features cut or padded with silence to exactly ``n_hops`` hops."""

    def fit(values: np.ndarray, fill: float | bool) -> np.ndarray:
        out = np.full(n_hops, fill, dtype=values.dtype)
        m = min(n_hops, len(values))
        out[:m] = values[:m]
        return out

    return AudioFeatures(
        fit(np.asarray(features.loudness_db, np.float32), -100.0),
        fit(np.asarray(features.speech, bool), False),
        fit(np.asarray(features.voiced, bool), False),
        fit(np.asarray(features.pitch_hz, np.float32), 0.0),
        fit(np.asarray(features.level, np.float32), 0.0),
    )


def _frames_between(
    lo_s: np.ndarray, hi_s: np.ndarray, fps: float, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every frame near each window ``[lo_s[k], hi_s[k]]``, as flat (window k, frame index) pairs.

    One frame of margin on each side is included (callers weight by time, so extra frames get
    weight 0); frames outside ``[0, n)`` are dropped. This is how per-event shapes (phones,
    blinks, nods) are evaluated without a Python loop over events.
    """
    first = np.clip(time_to_frame(lo_s, fps) - 1, 0, n)
    last = np.clip(time_to_frame(hi_s, fps) + 1, -1, n - 1)
    counts = np.maximum(last - first + 1, 0)
    owner = np.repeat(np.arange(len(first)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, first[owner] + offset


def _pulse(t_rel: np.ndarray, rise_s: float, hold_s: float, fall_s: float) -> np.ndarray:
    """A 0 -> 1 -> 0 pulse in time ``t_rel`` relative to the middle of its plateau.

    It eases up over ``rise_s``, stays at exactly 1 for ``hold_s`` (centred on 0) and eases back
    down over ``fall_s``.
    """
    half = 0.5 * hold_s
    up = smoothstep((t_rel + half + rise_s) / rise_s)
    down = smoothstep((half + fall_s - t_rel) / fall_s)
    return np.where(t_rel < -half, up, np.where(t_rel > half, down, 1.0))


def _pulse_track(
    centers_s: np.ndarray,
    amplitudes: np.ndarray,
    shape: tuple[float, float, float],
    times: np.ndarray,
    fps: float,
) -> np.ndarray:
    """Pulses of :func:`_pulse` ``shape`` (rise, hold, fall) at ``centers_s``, max-combined.

    ``times`` are the frame times at rate ``fps``; returns one value per frame.
    """
    rise, hold, fall = shape
    n = len(times)
    out = np.zeros(n)
    owner, frame = _frames_between(centers_s - hold / 2 - rise, centers_s + hold / 2 + fall, fps, n)
    values = amplitudes[owner] * _pulse(times[frame] - centers_s[owner], rise, hold, fall)
    np.maximum.at(out, frame, values)
    return out


def _one_pole(x: np.ndarray, tau_s: float, fps: float = GRID_FPS, axis: int = 0) -> np.ndarray:
    """Causal first-order low-pass with time constant ``tau_s`` (unit gain at DC)."""
    a = np.exp(-1.0 / (tau_s * fps))
    return lfilter([1.0 - a], [1.0, -a], x, axis=axis)


def _speech_onsets(speech: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where speech starts and stops on the prosody grid.

    Returns
    -------
    onsets_s: (k,) times where a pause ends and speech begins, in seconds
    pause_before_s: (k,) length of the pause before each onset (the clip start counts as one)
    offsets_s: (m,) times where speech ends and a pause begins, in seconds
    """
    grid_t = frame_times(len(speech), GRID_FPS)
    edges = np.diff(speech.astype(np.int8), prepend=0)
    onsets = np.flatnonzero(edges == 1)
    offsets = np.flatnonzero(edges == -1)
    previous_offset = np.concatenate([[0], offsets])[np.searchsorted(offsets, onsets)]
    return grid_t[onsets], grid_t[onsets] - grid_t[previous_offset], grid_t[offsets]


# ------------------------------------------------------------------------------------------------
# Mouth: visemes with dominance-function co-articulation, bilabial closures, loudness
# ------------------------------------------------------------------------------------------------

#: Blendshapes the mouth drives, in the column order of the tables below.
MOUTH_CHANNELS: tuple[str, ...] = (
    "JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthStretchLeft",
    "MouthStretchRight", "MouthRollLower", "MouthUpperUpLeft", "MouthUpperUpRight",
)  # fmt: skip
_MOUTH_COLUMNS = np.array([BS[name] for name in MOUTH_CHANNELS])
_JAW, _CLOSE = 0, 1

#: Mouth shape of each viseme for the renderer: jaw (JawOpen: 1.0 drops the lower lip ~0.55
#: mouth widths), close (MouthClose: lips pressed whatever the jaw), funnel (rounded open),
#: pucker (narrow, protruded), stretch (both corners out), roll (lower lip rolled in, under the
#: upper teeth) and upper (upper lip raised, showing the teeth). Smiles are left to emotion.
VISEME_SHAPES: dict[str, tuple[float, float, float, float, float, float, float]] = {
    #       jaw   close funnel pucker stretch roll upper
    "sil": (0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00),
    "PP":  (0.02, 1.00, 0.00, 0.00, 0.00, 0.00, 0.00),  # /p b m/: lips fully closed
    "FF":  (0.06, 0.20, 0.00, 0.00, 0.10, 0.65, 0.30),  # /f v/: lower lip to upper teeth
    "TH":  (0.12, 0.00, 0.00, 0.00, 0.10, 0.00, 0.10),  # tongue between the teeth
    "DD":  (0.10, 0.00, 0.00, 0.00, 0.15, 0.00, 0.00),  # /t d/
    "kk":  (0.13, 0.00, 0.00, 0.00, 0.10, 0.00, 0.00),  # /k g/: lips free, jaw mid
    "CH":  (0.08, 0.00, 0.35, 0.35, 0.00, 0.00, 0.10),  # /ch j sh zh/: lips pushed forward
    "SS":  (0.05, 0.00, 0.00, 0.00, 0.35, 0.00, 0.00),  # /s z/: teeth together, lips spread
    "nn":  (0.09, 0.00, 0.00, 0.00, 0.10, 0.00, 0.00),  # /n l/
    "RR":  (0.10, 0.00, 0.20, 0.35, 0.00, 0.00, 0.00),  # /r/: slight rounding
    "aa":  (0.45, 0.00, 0.00, 0.00, 0.05, 0.00, 0.00),  # open /a/
    "E":   (0.27, 0.00, 0.00, 0.00, 0.30, 0.00, 0.00),  # mid /e/
    "ih":  (0.16, 0.00, 0.00, 0.00, 0.40, 0.00, 0.00),  # spread /i/
    "oh":  (0.32, 0.00, 0.60, 0.15, 0.00, 0.00, 0.00),  # rounded open /o/
    "ou":  (0.15, 0.00, 0.25, 0.75, 0.00, 0.00, 0.00),  # rounded close /u w/
}  # fmt: skip

#: How strongly each viseme holds its shape against its neighbours (Cohen-Massaro magnitude),
#: for three groups of channels: the jaw, lip contact (MouthClose, MouthRollLower,
#: MouthUpperUp*) and lip shape (MouthFunnel, MouthPucker, MouthStretch*). Vowels dominate the
#: jaw, /s z/ and /f v/ hold it nearly shut; /f v/ dominate lip contact (/p b m/ close through
#: :func:`_closure_weight`, which overrides everything), and vowels hold the lips apart against
#: it (an open vowel needs open lips: a 75 ms /a/ between two /m/ opens to about three
#: quarters rather than staying half pressed); rounded sounds dominate lip shape, and
#: consonants that leave the lips free (/t d k g n l/, and /p b m/ whose closed lips take the
#: rounding or spreading of the vowel next to them) let the neighbouring vowels shape them.
#: Silence is weak, so a short pause between words does not snap the mouth shut, yet it wins in
#: a long pause.
VISEME_DOMINANCE: dict[str, tuple[float, float, float]] = {
    #      jaw  contact shape
    "sil": (1.0, 1.0, 2.0),
    "PP":  (1.0, 4.0, 0.7),
    "FF":  (2.0, 6.0, 1.0),
    "TH":  (1.2, 1.0, 1.0),
    "DD":  (1.5, 1.0, 0.6),
    "kk":  (1.0, 1.0, 0.5),
    "CH":  (1.8, 1.0, 4.0),
    "SS":  (2.5, 1.0, 2.5),
    "nn":  (1.0, 1.0, 0.6),
    "RR":  (1.0, 1.0, 3.0),
    "aa":  (3.0, 3.0, 1.5),
    "E":   (2.5, 2.5, 2.0),
    "ih":  (2.0, 2.0, 2.5),
    "oh":  (2.5, 3.0, 3.5),
    "ou":  (2.0, 2.0, 5.0),
}  # fmt: skip

#: Which dominance group (0 jaw, 1 lip contact, 2 lip shape) each of MOUTH_CHANNELS is in.
_CHANNEL_GROUP = np.array([0, 1, 2, 2, 2, 2, 1, 1, 1])


def _viseme_tables() -> tuple[np.ndarray, np.ndarray]:
    """Targets and dominances as (15, len(MOUTH_CHANNELS)) arrays in :data:`VISEMES` order."""
    targets, dominance = [], []
    for viseme in VISEMES:
        jaw, close, funnel, pucker, stretch, roll, upper = VISEME_SHAPES[viseme]
        targets.append((jaw, close, funnel, pucker, stretch, stretch, roll, upper, upper))
        dominance.append(np.array(VISEME_DOMINANCE[viseme])[_CHANNEL_GROUP])
    return np.array(targets), np.array(dominance)


_TARGETS, _DOMINANCE = _viseme_tables()
_SIL, _PP = VISEME_INDEX["sil"], VISEME_INDEX["PP"]

#: Dominance decay time constants outside a phone, (before, after) in seconds, for each group of
#: channels. Decay is slower before a phone than after it (anticipation: the mouth heads for a
#: sound before it starts). Lip shape anticipates longest (rounding for /u/ starts during the
#: consonants before it); lip contact is brief, and the jaw is in between.
GROUP_DECAY_S = ((0.07, 0.04), (0.03, 0.02), (0.12, 0.05))
#: Decay is exp(-(distance / time constant) ** _DECAY_POWER), cut to exactly 0 at
#: _SUPPORT time constants so that a long pause is exactly at rest. The support before a phone
#: (0.42 s for lip shape) is the mouth's look-ahead (see the module docstring on streaming).
_DECAY_POWER = 1.5
_SUPPORT = 3.5
#: Phones shorter than this are recognizer flicker: dropped, their time given to the neighbours.
MIN_PHONE_S = 0.03
#: Bilabial closures ease in over this long before /p b m/ and release over this long after.
CLOSURE_APPROACH_S = 0.07
CLOSURE_RELEASE_S = 0.05
#: Most of the gap between two closures that each one's easing may take.
CLOSURE_EASE_SHARE = 0.3
#: Jaw opening scales with loudness between these factors (quiet .. loud).
JAW_GAIN_QUIET, JAW_GAIN_LOUD = 0.7, 1.3
#: Baseline (no phones): JawOpen at full loudness.
JAW_AT_FULL_LEVEL = 0.45


def _mouth_from_phones(
    phones: Sequence[PhoneSegment], prosody: AudioFeatures, times: np.ndarray, fps: float
) -> np.ndarray:
    """Mouth channels per frame from timed visemes: (n_frames, len(MOUTH_CHANNELS)) in [0, 1]."""
    start, end, viseme = _clean_segments(*_phone_arrays(phones), times[-1])
    mouth = _coarticulate(start, end, viseme, times, fps)
    mouth[:, _JAW] *= _jaw_gain(prosody, times)
    pp = viseme == _PP
    closure = _closure_weight(start[pp], end[pp], times, fps)
    # The closure overrides the blend where it applies: lips pressed, jaw up to the /m/ jaw.
    mouth[:, _CLOSE] = np.maximum(mouth[:, _CLOSE], closure)
    closed_jaw = np.minimum(mouth[:, _JAW], _TARGETS[_PP, _JAW])
    mouth[:, _JAW] += closure * (closed_jaw - mouth[:, _JAW])
    return np.clip(mouth, 0.0, 1.0)


def _phone_arrays(phones: Sequence[PhoneSegment]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phones as (start_s, end_s, viseme index) arrays sorted by start."""
    unknown = {p.viseme for p in phones} - set(VISEME_INDEX)
    if unknown:
        raise GiocondaError(f"unknown viseme(s) {sorted(unknown)}; expected one of {VISEMES}")
    start = np.array([p.start_s for p in phones], dtype=np.float64)
    end = np.array([p.end_s for p in phones], dtype=np.float64)
    viseme = np.array([VISEME_INDEX[p.viseme] for p in phones], dtype=np.int64)
    order = np.argsort(start, kind="stable")
    return start[order], np.maximum(end[order], start[order]), viseme[order]


def _clean_segments(
    start: np.ndarray, end: np.ndarray, viseme: np.ndarray, last_time_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments that tile the whole clip: silence where no phone is, no flicker.

    Uncovered time becomes ``sil`` (so the mouth rests there, also before the first and after
    the last phone); phones shorter than :data:`MIN_PHONE_S` are dropped and the gap they leave
    is split between their neighbours, so a 10 ms flicker cannot open or close the mouth.
    """
    lead_s = start.min(initial=0.0) - 1.0
    tail_s = end.max(initial=last_time_s) + 1.0
    covered_to = np.maximum.accumulate(end)
    gap_from = np.concatenate([[lead_s], covered_to])
    gap_to = np.concatenate([start, [tail_s]])
    is_gap = gap_to - gap_from > 1e-3
    start = np.concatenate([start, gap_from[is_gap]])
    end = np.concatenate([end, gap_to[is_gap]])
    viseme = np.concatenate([viseme, np.full(is_gap.sum(), _SIL)])
    keep = end - start >= MIN_PHONE_S - 1e-9
    order = np.argsort(start[keep], kind="stable")
    start, end, viseme = start[keep][order], end[keep][order], viseme[keep][order]
    # Bridge the holes left by dropped flicker at their middle (overlaps are left to the blend).
    middle = 0.5 * (end[:-1] + start[1:])
    hole = start[1:] > end[:-1]
    end[:-1] = np.where(hole, middle, end[:-1])
    start[1:] = np.where(hole, middle, start[1:])
    return start, end, viseme


def _coarticulate(
    start: np.ndarray, end: np.ndarray, viseme: np.ndarray, times: np.ndarray, fps: float
) -> np.ndarray:
    """Dominance-weighted blend of viseme targets at the frame times (Cohen & Massaro, 1993).

    Each segment pulls every channel toward its target with weight ``dominance * decay(t)``,
    where decay is 1 inside the segment and falls off with the distance to it, more slowly
    before it (anticipation) than after it. Returns (n_frames, len(MOUTH_CHANNELS)).
    """
    mouth = np.zeros((len(times), len(MOUTH_CHANNELS)))
    for group, decay_s in enumerate(GROUP_DECAY_S):
        columns = _CHANNEL_GROUP == group
        weights = _dominance_decay(start, end, times, fps, *decay_s)
        dominance = _DOMINANCE[viseme][:, columns]
        numerator = weights @ (dominance * _TARGETS[viseme][:, columns])
        denominator = weights @ dominance
        mouth[:, columns] = np.divide(
            numerator, denominator, out=np.zeros_like(numerator), where=denominator > 1e-12
        )
    return mouth


def _dominance_decay(
    start: np.ndarray,
    end: np.ndarray,
    times: np.ndarray,
    fps: float,
    before_s: float,
    after_s: float,
) -> csr_matrix:
    """Time course of each segment's dominance: sparse (n_frames, n_segments), 1 inside it."""
    n = len(times)
    owner, frame = _frames_between(start - _SUPPORT * before_s, end + _SUPPORT * after_s, fps, n)
    t = times[frame]
    before = np.maximum(start[owner] - t, 0.0) / before_s
    after = np.maximum(t - end[owner], 0.0) / after_s
    distance = before + after  # in time constants; at most one of the two is non-zero
    taper = np.clip(1.0 - (distance / _SUPPORT) ** 2, 0.0, 1.0) ** 2
    decay = np.exp(-(distance**_DECAY_POWER)) * taper
    # Summing over segments becomes a sparse product: no Python loop over phones.
    return csr_matrix((decay, (frame, owner)), shape=(n, len(start)))


def _closure_weight(
    start: np.ndarray, end: np.ndarray, times: np.ndarray, fps: float
) -> np.ndarray:
    """How firmly bilabial closures hold each frame: (n_frames,) in [0, 1].

    Exactly 1 on every frame inside a /p b m/ and on the frame nearest its middle (so even a
    40 ms /b/ between two 25 fps frames gets a fully closed frame); eases in before and out
    after, so the lips approach and release rather than snap.
    """
    n = len(times)
    if len(start) == 0:
        return np.zeros(n)
    middle = 0.5 * (start + end)
    nearest = time_to_frame(middle, fps)
    shown = (nearest >= 0) & (nearest < n)  # closures past the last frame pull in nothing
    middle = np.where(shown, times[np.clip(nearest, 0, n - 1)], middle)
    core_from, core_to = np.minimum(start, middle), np.maximum(end, middle)
    # Between two closures close together ("mama", "papa") the easing may take at most a
    # share of the vowel each side, so the vowel still opens the lips.
    order = np.argsort(core_from)
    gap = np.full(len(start) + 1, np.inf)
    gap[1:-1] = np.maximum(core_from[order][1:] - core_to[order][:-1], 0.0)
    approach_s = np.empty(len(start))
    release_s = np.empty(len(start))
    approach_s[order] = np.minimum(CLOSURE_APPROACH_S, CLOSURE_EASE_SHARE * gap[:-1])
    release_s[order] = np.minimum(CLOSURE_RELEASE_S, CLOSURE_EASE_SHARE * gap[1:])
    approach_s, release_s = np.maximum(approach_s, 1e-3), np.maximum(release_s, 1e-3)
    owner, frame = _frames_between(core_from - approach_s, core_to + release_s, fps, n)
    t = times[frame]
    approach = smoothstep(1.0 - (core_from[owner] - t) / approach_s[owner])
    release = smoothstep(1.0 - (t - core_to[owner]) / release_s[owner])
    weight = np.where(t < core_from[owner], approach, np.where(t > core_to[owner], release, 1.0))
    out = np.zeros(n)
    np.maximum.at(out, frame, weight)
    return out


def _smoothed_level(prosody: AudioFeatures, times: np.ndarray) -> np.ndarray:
    """Loudness level in [0, 1] at the frame times, smoothed over ~syllable-internal detail."""
    # Centred Gaussian, sigma 30 ms: 90 ms of look-ahead.
    level = gaussian_filter1d(prosody.level.astype(np.float64), sigma=3.0, truncate=3.0)
    return np.clip(resample_track(level, FEATURE_HOP_S, times), 0.0, 1.0)


def _jaw_gain(prosody: AudioFeatures, times: np.ndarray) -> np.ndarray:
    """Factor on the jaw per frame: louder speech opens the mouth wider."""
    level = _smoothed_level(prosody, times)
    return JAW_GAIN_QUIET + (JAW_GAIN_LOUD - JAW_GAIN_QUIET) * level


def _jaw_from_loudness(prosody: AudioFeatures, times: np.ndarray) -> np.ndarray:
    """Baseline mouth without phones: JawOpen follows loudness, (n_frames,) in [0, 1]."""
    # Voice activity gates out clicks and breaths that are loud but not speech.
    speech = gaussian_filter1d(prosody.speech.astype(np.float64), sigma=3.0, truncate=3.0)
    gate = np.clip(resample_track(speech, FEATURE_HOP_S, times), 0.0, 1.0)
    return JAW_AT_FULL_LEVEL * _smoothed_level(prosody, times) * gate


# ------------------------------------------------------------------------------------------------
# Eyes: blinks, gaze
# ------------------------------------------------------------------------------------------------

#: Blink shape in seconds: lids close, stay shut, reopen (opening is the slower half).
BLINK_SHAPE = (0.09, 0.04, 0.15)
#: Gamma shape of the intervals between blinks: 2.5 gives a spread (CV ~0.6) like people's.
BLINK_INTERVAL_SHAPE = 2.5
#: No two blinks closer than this, in seconds.
BLINK_MIN_GAP_S = 0.6
#: Extra blink hazard just after a pause begins (the end of a phrase), relative to the base rate.
BLINK_PAUSE_BOOST = 3.0
BLINK_PAUSE_DELAY_S, BLINK_PAUSE_WIDTH_S = 0.15, 0.25


def _blinks(
    prosody: AudioFeatures,
    times: np.ndarray,
    fps: float,
    rng: np.random.Generator,
    rate_per_min: np.ndarray,
) -> np.ndarray:
    """Eyelid closure per frame (both eyes), (n_frames,) in [0, 1].

    A renewal process with gamma intervals, run in a time warped by a hazard that is higher at
    phrase ends, so blinks cluster there while keeping the requested mean rate
    (``rate_per_min``, one value per prosody hop). Each blink's closed plateau is centred on a
    frame, so it is fully closed on at least one frame at any fps.
    """
    n = len(times)
    if not np.any(rate_per_min > 0.0):
        return np.zeros(n)
    grid_t = frame_times(len(prosody.speech), GRID_FPS)
    _, _, pause_starts = _speech_onsets(prosody.speech)
    bumps = np.zeros(len(grid_t))
    reach = 3 * BLINK_PAUSE_WIDTH_S
    owner, hop = _frames_between(pause_starts - reach, pause_starts + reach, GRID_FPS, len(grid_t))
    offset = (grid_t[hop] - pause_starts[owner] - BLINK_PAUSE_DELAY_S) / BLINK_PAUSE_WIDTH_S
    np.add.at(bumps, hop, np.exp(-0.5 * offset**2))
    # Normalized over the whole clip so the mean rate is exact (offline); a streaming version
    # would normalize by the expected rate of pauses instead.
    hazard = 1.0 + BLINK_PAUSE_BOOST * bumps
    hazard *= (rate_per_min / 60.0) / hazard.mean()
    warped = np.cumsum(hazard) / GRID_FPS  # expected blinks up to each hop
    n_draws = int(1.5 * warped[-1]) + 10
    k = BLINK_INTERVAL_SHAPE
    intervals = rng.gamma(k, 1.0 / k, n_draws)
    intervals[0] *= rng.uniform()  # start the process mid-interval, as if it ran before
    events = np.cumsum(intervals)
    events = events[events < warped[-1]]
    blink_s = np.interp(events, warped, grid_t)
    # Push any blink that follows the previous one too closely to BLINK_MIN_GAP_S after it:
    # t'[i] = max(t[i], t'[i-1] + gap), solved in closed form with a running maximum.
    spacing = BLINK_MIN_GAP_S * np.arange(len(blink_s))
    blink_s = np.maximum.accumulate(blink_s - spacing) + spacing
    # The clip opens on the photo itself: no blink in its first moments.
    blink_s = blink_s[(blink_s <= times[-1]) & (blink_s >= OPENING_STILL_S)]
    peak_s = times[np.clip(time_to_frame(blink_s, fps), 0, n - 1)]
    return _pulse_track(peak_s, np.ones(len(peak_s)), BLINK_SHAPE, times, fps)


#: Fixation durations (s): gamma with this shape and mean, clipped to the range.
FIXATION_SHAPE, FIXATION_MEAN_S, FIXATION_RANGE_S = 2.0, 1.2, (0.5, 3.0)
#: Probability that a fixation is on the camera; the others are a few degrees off it.
FIXATION_ON_CAMERA = 0.7
FIXATION_OFFSET_DEG = (2.0, 5.5)
#: Saccade duration (s): eye jumps of a few degrees take ~30-40 ms.
SACCADE_S = 0.035
#: Glances away at phrase starts (after a pause of at least GLANCE_AFTER_PAUSE_S).
GLANCE_PROBABILITY, GLANCE_AFTER_PAUSE_S = 0.35, 0.4
GLANCE_YAW_DEG, GLANCE_PITCH_DEG, GLANCE_DURATION_S = (6.0, 12.0), (-6.0, 2.0), (0.4, 1.0)


def _gaze(
    prosody: AudioFeatures, times: np.ndarray, fps: float, rng: np.random.Generator
) -> np.ndarray:
    """Gaze yaw and pitch per frame in degrees, (n_frames, 2); (0, 0) looks at the camera.

    Fixations of 0.5-3 s, most on the camera and the rest a few degrees off it, joined by quick
    saccades; now and then a glance away as a phrase starts, and back.
    """
    n = len(times)
    n_fix = int(times[-1] / FIXATION_RANGE_S[0]) + 2
    scale = FIXATION_MEAN_S / FIXATION_SHAPE
    durations = np.clip(rng.gamma(FIXATION_SHAPE, scale, n_fix), *FIXATION_RANGE_S)
    fix_start = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
    radius = rng.uniform(*FIXATION_OFFSET_DEG, n_fix)
    angle = rng.uniform(0.0, 2 * np.pi, n_fix)
    off_camera = rng.uniform(size=n_fix) >= FIXATION_ON_CAMERA
    off_camera[0] = False
    # Vertical offsets are smaller than horizontal ones in conversation.
    target = np.stack([radius * np.cos(angle), 0.6 * radius * np.sin(angle)], 1)
    target *= off_camera[:, None]
    gaze = _saccade_track(fix_start, target, times)

    onsets, pause_before, _ = _speech_onsets(prosody.speech)
    k = len(onsets)
    chosen = (rng.uniform(size=k) < GLANCE_PROBABILITY) & (pause_before >= GLANCE_AFTER_PAUSE_S)
    side = np.where(rng.uniform(size=k) < 0.5, -1.0, 1.0)
    glance = np.stack(
        [side * rng.uniform(*GLANCE_YAW_DEG, k), rng.uniform(*GLANCE_PITCH_DEG, k)], 1
    )[chosen]
    hold = rng.uniform(*GLANCE_DURATION_S, k)[chosen]
    begin = onsets[chosen] - 0.1  # the eyes leave just before the voice starts
    owner, frame = _frames_between(begin, begin + hold + SACCADE_S, fps, n)
    t = times[frame] - begin[owner]
    weight = smoothstep(t / SACCADE_S) * smoothstep((hold[owner] + SACCADE_S - t) / SACCADE_S)
    away = np.zeros(n)
    np.maximum.at(away, frame, weight)
    target_away = np.zeros((n, 2))
    target_away[frame] = glance[owner]  # glances rarely overlap; the later one wins
    return gaze + away[:, None] * (target_away - gaze)


def _saccade_track(start_s: np.ndarray, target: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Piecewise-constant fixations joined by :data:`SACCADE_S` eased jumps: (n_frames, 2)."""
    index = np.clip(np.searchsorted(start_s, times, side="right") - 1, 0, len(start_s) - 1)
    previous = target[np.maximum(index - 1, 0)]
    progress = smoothstep((times - start_s[index]) / SACCADE_S)[:, None]
    return previous + progress * (target[index] - previous)


#: Share of the natural eye motion (fixational wander, glances) left while a gaze is commanded.
COMMANDED_GAZE_WANDER = 0.15


def _commanded_gaze(natural: np.ndarray, command: np.ndarray) -> np.ndarray:
    """Natural gaze (n_frames, 2) pulled toward the commanded direction.

    ``command`` is the gaze control's track, (n_frames, 3) weight, yaw, pitch: where the weight
    is 1 the eyes hold the commanded direction with a little of their natural wander left.
    """
    weight, target = command[:, :1], command[:, 1:]
    return natural * (1.0 - weight * (1.0 - COMMANDED_GAZE_WANDER)) + weight * target


#: Gaze angle at which an EyeLook* blendshape reaches 1.
EYE_LOOK_FULL_DEG = 30.0


def _set_eye_look(shapes: np.ndarray, gaze: np.ndarray) -> None:
    """Write the EyeLook* blendshapes that match ``gaze`` (n_frames, 2) into ``shapes``.

    Positive yaw looks toward the image's right, which is the subject's own left: the left
    eye looks out and the right eye looks in. Negative pitch looks up.
    """
    right = np.clip(gaze[:, 0] / EYE_LOOK_FULL_DEG, 0.0, 1.0)
    left = np.clip(-gaze[:, 0] / EYE_LOOK_FULL_DEG, 0.0, 1.0)
    up = np.clip(-gaze[:, 1] / EYE_LOOK_FULL_DEG, 0.0, 1.0)
    down = np.clip(gaze[:, 1] / EYE_LOOK_FULL_DEG, 0.0, 1.0)
    for name, value in (
        ("EyeLookOutLeft", right),
        ("EyeLookInRight", right),
        ("EyeLookInLeft", left),
        ("EyeLookOutRight", left),
        ("EyeLookUpLeft", up),
        ("EyeLookUpRight", up),
        ("EyeLookDownLeft", down),
        ("EyeLookDownRight", down),
    ):
        shapes[:, BS[name]] = value


# ------------------------------------------------------------------------------------------------
# Emotion: a preset held across the clip, with micro-variation, on top of speech
# ------------------------------------------------------------------------------------------------

#: Slow variation of a held emotion: relative std and time constant of its smooth noise (s).
EMOTION_VARIATION, EMOTION_VARIATION_TAU_S = 0.12, 1.2
#: Blendshapes of the face regions whose emotion varies together (left and right alike).
EMOTION_REGIONS = (
    ("Mouth", "Jaw"),
    ("Eye", "Cheek"),
    ("Brow", "Nose"),
)
#: Shapes that part the lips: an emotion's share of them yields to the lips closing for speech.
LIP_PARTING = ("JawOpen", "MouthUpperUpLeft", "MouthUpperUpRight", "MouthLowerDownLeft",
               "MouthLowerDownRight")  # fmt: skip
#: Rounded lips (pucker, funnel) take back this share of a smile: one cannot smile an /u/.
ROUNDING_MASKS_SMILE = 0.6


def _emotion(controls: MotionControls, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The emotion's blendshapes per frame, (n_frames, 52), with slow per-region variation."""
    preset = control_track(controls, "emotion", times)
    strength = control_track(controls, "emotion_strength", times)
    grid_n = frame_count(times[-1], GRID_FPS) + 1
    variation = np.ones_like(preset)
    for prefixes in EMOTION_REGIONS:
        noise = _band_noise(rng, grid_n, EMOTION_VARIATION_TAU_S)
        factor = 1.0 + EMOTION_VARIATION * resample_track(noise, FEATURE_HOP_S, times)
        columns = [i for i, name in enumerate(ARKIT_BLENDSHAPES) if name.startswith(prefixes)]
        variation[:, columns] = factor[:, None]
    return preset * strength * variation


def _add_emotion(shapes: np.ndarray, emotion: np.ndarray) -> None:
    """Add the emotion to the speech's shapes (in place), leaving lip closures closed."""
    open_lips = 1.0 - shapes[:, BS["MouthClose"]]
    parting = [BS[name] for name in LIP_PARTING]
    emotion = emotion.copy()
    emotion[:, parting] *= open_lips[:, None]
    rounding = np.maximum(shapes[:, BS["MouthPucker"]], shapes[:, BS["MouthFunnel"]])
    smiles = [BS["MouthSmileLeft"], BS["MouthSmileRight"]]
    emotion[:, smiles] *= (1.0 - ROUNDING_MASKS_SMILE * rounding)[:, None]
    shapes += emotion


# ------------------------------------------------------------------------------------------------
# Prosodic accents: brows and nods
# ------------------------------------------------------------------------------------------------

#: An accent is a syllable whose loudness-plus-pitch prominence rises this far above the
#: speaker's recent average; syllable peaks closer than ACCENT_MIN_GAP_S are one.
ACCENT_MIN_RISE = 0.12
ACCENT_MIN_GAP_S = 0.35
#: Brow raise: shape (rise, hold, fall, s), share of accents that raise the brows, max height.
BROW_SHAPE = (0.12, 0.15, 0.35)
BROW_PROBABILITY, BROW_MAX = 0.3, 0.3


def _accents(prosody: AudioFeatures) -> tuple[np.ndarray, np.ndarray]:
    """Stressed syllables: peaks of loudness and raised pitch.

    Returns
    -------
    times_s: (k,) time of each accent, in seconds
    strength: (k,) in [0, 1]
    """
    level = gaussian_filter1d(prosody.level.astype(np.float64), sigma=4.0, truncate=2.5)
    voiced = prosody.voiced & (prosody.pitch_hz > 0)
    semitones = np.zeros(len(voiced))
    if voiced.any():
        median = np.median(prosody.pitch_hz[voiced])
        semitones[voiced] = 12.0 * np.log2(prosody.pitch_hz[voiced] / median)
    # Smooth the pitch over voiced hops only (normalized convolution), so gaps don't pull it to 0.
    weight = gaussian_filter1d(voiced.astype(np.float64), sigma=4.0, truncate=2.5)
    pitch = gaussian_filter1d(semitones, sigma=4.0, truncate=2.5)
    pitch = np.divide(pitch, weight, out=np.zeros_like(pitch), where=weight > 0.1)
    prominence = level + 0.4 * np.clip(pitch / 6.0, 0.0, 1.0)
    # The speaker's recent average (causal, ~1.5 s) is the bar an accent must clear.
    baseline = _one_pole(prominence, 1.5)
    # Peak picking looks ahead up to ACCENT_MIN_GAP_S (offline; a live version waits that long).
    peaks, _ = find_peaks(prominence, distance=int(ACCENT_MIN_GAP_S * GRID_FPS), prominence=0.1)
    rise = prominence[peaks] - baseline[peaks]
    keep = (rise >= ACCENT_MIN_RISE) & prosody.speech[peaks]
    strength = np.clip(rise[keep] / 0.5, 0.0, 1.0)
    return frame_times(len(prominence), GRID_FPS)[peaks[keep]], strength


def _brow_raise(
    accents: tuple[np.ndarray, np.ndarray], times: np.ndarray, fps: float, rng: np.random.Generator
) -> np.ndarray:
    """Brow raise per frame on some of the accents, (n_frames,) in [0, BROW_MAX]."""
    at_s, strength = accents
    k = len(at_s)
    raised = rng.uniform(size=k) < BROW_PROBABILITY
    height = np.clip((0.08 + 0.15 * strength) * rng.uniform(0.7, 1.3, k), 0.0, BROW_MAX)
    return _pulse_track(at_s[raised] + 0.05, height[raised], BROW_SHAPE, times, fps)


def _set_brows(shapes: np.ndarray, raise_: np.ndarray) -> None:
    """Write the brow raise (n_frames,) into ``shapes``: inner brows most, outer a little less."""
    shapes[:, BS["BrowInnerUp"]] = raise_
    shapes[:, BS["BrowOuterUpLeft"]] = shapes[:, BS["BrowOuterUpRight"]] = 0.7 * raise_


# ------------------------------------------------------------------------------------------------
# Head: prosody-driven targets through a damped spring
# ------------------------------------------------------------------------------------------------

#: Sway of yaw, pitch, roll while speaking (degrees, std at motion_intensity 1) and the time
#: constant of its smooth noise (s); HEAD_SLOW_S removes anything slower, so the head never drifts.
HEAD_SWAY_DEG = (3.4, 2.0, 1.7)
HEAD_SWAY_TAU_S = (0.5, 0.4, 0.6)
HEAD_SLOW_S = 4.0
#: Nods: downward pitch pulses on accents, peaking NOD_LEAD_S after the pulse centre so that the
#: spring's lag lands them on the stressed syllable.
NOD_DEG, NOD_WIDTH_S, NOD_LEAD_S = 3.5, 0.45, 0.12
#: Head dynamics: a damped spring per axis (natural frequency in Hz, damping ratio).
HEAD_SPRING_HZ = (1.2, 1.8, 1.0)
HEAD_DAMPING = 0.75
#: Share of the motion left in pauses (breathing, idle); the rest fades with time constant
#: ACTIVITY_TAU_S after speech stops and starts ACTIVITY_LEAD_S before it resumes.
IDLE_MOTION = 0.1
ACTIVITY_TAU_S, ACTIVITY_LEAD_S = 0.3, 0.1
#: Hard bounds on yaw, pitch, roll in degrees (approached softly).
HEAD_LIMIT_DEG = (12.0, 12.0, 8.0)
#: Body sway carried into the head's position, in face widths (std at motion_intensity 1, bound).
BODY_SWAY, BODY_SWAY_LIMIT = 0.003, 0.01


#: Spread of a speaker's style across seeds: log-normal std of the sway amplitude per axis and
#: of the nod size, and the range of the sway's tempo (a factor on its time constants).
STYLE_AMPLITUDE_SPREAD, STYLE_NOD_SPREAD, STYLE_TEMPO = 0.3, 0.3, (0.75, 1.35)


@dataclass(frozen=True)
class HeadStyle:
    """How one seed's speaker moves: sway amplitude per axis (yaw, pitch, roll), nod size and
    tempo (time constants of the sway), as factors on the typical speaker's."""

    sway: np.ndarray
    nod: float
    tempo: float


def _head_style(rng: np.random.Generator) -> HeadStyle:
    """A speaker's style for one seed: some sway more in yaw, some nod more, some are slower."""
    sway = np.clip(np.exp(rng.normal(0.0, STYLE_AMPLITUDE_SPREAD, 3)), 0.55, 1.8)
    nod = float(np.clip(np.exp(rng.normal(0.0, STYLE_NOD_SPREAD)), 0.55, 1.8))
    return HeadStyle(sway, nod, float(rng.uniform(*STYLE_TEMPO)))


def _head_pose(
    prosody: AudioFeatures,
    accents: tuple[np.ndarray, np.ndarray],
    times: np.ndarray,
    rng: np.random.Generator,
    intensity: np.ndarray,
    style: HeadStyle,
) -> tuple[np.ndarray, np.ndarray]:
    """Head rotation and translation per frame; ``intensity`` scales them, one value per hop.

    Returns
    -------
    rotation: (n_frames, 3) yaw, pitch, roll in degrees
    translation: (n_frames, 2) x, y in face widths
    """
    n = len(prosody.speech)
    activity = _speech_activity(prosody.speech)
    target = np.stack([_band_noise(rng, n, tau * style.tempo) for tau in HEAD_SWAY_TAU_S], 1)
    target *= np.array(HEAD_SWAY_DEG) * style.sway
    nods = _nod_track(accents, rng, n) * style.nod
    target[:, 1] += nods - _one_pole(nods, HEAD_SLOW_S)  # nods are down-only: remove their mean
    # Scaled before the spring, so a change of intensity eases in with the head's own dynamics.
    target *= (intensity * activity * _prosodic_drive(prosody))[:, None]
    rotation = np.stack(
        [_spring(target[:, axis], HEAD_SPRING_HZ[axis], HEAD_DAMPING) for axis in range(3)], 1
    )
    rotation = np.stack(
        [_soft_limit(rotation[:, axis], HEAD_LIMIT_DEG[axis]) for axis in range(3)], 1
    )
    sway = np.stack([_band_noise(rng, n, 1.0), 0.5 * _band_noise(rng, n, 1.0)], 1)
    sway *= BODY_SWAY * (intensity * activity)[:, None]
    translation = np.clip(sway, -BODY_SWAY_LIMIT, BODY_SWAY_LIMIT)
    return (
        resample_track(rotation, FEATURE_HOP_S, times),
        resample_track(translation, FEATURE_HOP_S, times),
    )


#: How much louder syllables and raised pitch enliven the head: the sway is scaled by
#: 1 + PROSODY_DRIVE * (loudness + pitch excursion - their mean), over ~0.15 s.
PROSODY_DRIVE = 0.8
#: Pitch excursion (semitones above the last ~2 s) that counts as fully raised.
PITCH_EXCURSION_ST = 3.0


def _prosodic_drive(prosody: AudioFeatures) -> np.ndarray:
    """Factor on head movement per hop, around 1: more on loud and pitch-raised stretches.

    People move their heads more as they stress words (loudness) and raise their voice's pitch
    (Yehia et al., 2002: head motion and F0 are correlated); between them the head calms.
    """
    level = gaussian_filter1d(prosody.level.astype(np.float64), sigma=15.0, truncate=2.0)
    voiced = (prosody.voiced & (prosody.pitch_hz > 0)).astype(np.float64)
    semitones = np.zeros(len(voiced))
    if voiced.any():
        on = voiced > 0
        semitones[on] = 12.0 * np.log2(prosody.pitch_hz[on] / np.median(prosody.pitch_hz[on]))

    def voiced_mean(sigma: float) -> np.ndarray:
        weight = gaussian_filter1d(voiced, sigma=sigma, truncate=2.0)
        total = gaussian_filter1d(semitones * voiced, sigma=sigma, truncate=2.0)
        return np.divide(total, weight, out=np.zeros_like(total), where=weight > 0.05)

    excursion = np.clip((voiced_mean(15.0) - voiced_mean(200.0)) / PITCH_EXCURSION_ST, -1, 1)
    drive = level + 0.5 * excursion
    speaking = prosody.speech
    centre = drive[speaking].mean() if speaking.any() else 0.0
    return np.clip(1.0 + PROSODY_DRIVE * (drive - centre), 0.3, 2.0)


def _speech_activity(speech: np.ndarray) -> np.ndarray:
    """How much the head moves on each hop: 1 while speaking, IDLE_MOTION deep in a pause."""
    lead = round(ACTIVITY_LEAD_S * GRID_FPS)
    ahead = speech[np.minimum(np.arange(len(speech)) + lead, len(speech) - 1)].astype(np.float64)
    return IDLE_MOTION + (1.0 - IDLE_MOTION) * _one_pole(ahead, ACTIVITY_TAU_S)


def _band_noise(rng: np.random.Generator, n: int, tau_s: float) -> np.ndarray:
    """Smooth seeded noise on the prosody grid with unit std: (n,).

    White noise through two causal one-pole low-passes (time constant ``tau_s``) and a
    high-pass at :data:`HEAD_SLOW_S`, so it wanders on a scale of seconds and never drifts.
    """
    burn_in = int(5 * HEAD_SLOW_S * GRID_FPS)  # start in the steady state, not at zero

    def band(x: np.ndarray) -> np.ndarray:
        smooth = _one_pole(_one_pole(x, tau_s), tau_s)
        return smooth - _one_pole(smooth, HEAD_SLOW_S)

    impulse = np.zeros(2 * burn_in)
    impulse[0] = 1.0
    std = np.sqrt(np.sum(band(impulse) ** 2))  # the filter's gain on unit white noise
    return band(rng.standard_normal(n + burn_in))[burn_in:] / std


def _nod_track(
    accents: tuple[np.ndarray, np.ndarray], rng: np.random.Generator, n: int
) -> np.ndarray:
    """Pitch target (degrees, positive = nose down) with one nod pulse per accent: (n,)."""
    at_s, strength = accents
    size = NOD_DEG * (0.3 + 0.7 * strength) * rng.uniform(0.6, 1.2, len(at_s))
    centre = at_s - NOD_LEAD_S
    half = 0.5 * NOD_WIDTH_S
    owner, hop = _frames_between(centre - half, centre + half, GRID_FPS, n)
    phase = np.clip((frame_times(n, GRID_FPS)[hop] - centre[owner]) / half, -1.0, 1.0)
    out = np.zeros(n)
    np.add.at(out, hop, size[owner] * 0.5 * (1.0 + np.cos(np.pi * phase)))
    return out


def _spring(target: np.ndarray, frequency_hz: float, damping: float) -> np.ndarray:
    """Response of a damped spring (unit DC gain) pulled toward ``target`` on the prosody grid.

    Causal: the head follows its targets with a lag of about ``damping / (pi * frequency_hz)``.
    """
    omega = 2.0 * np.pi * frequency_hz
    b, a = bilinear([omega**2], [1.0, 2.0 * damping * omega, omega**2], fs=GRID_FPS)
    return lfilter(b, a, target)


def _soft_limit(x: np.ndarray, limit: float, knee: float = 0.6) -> np.ndarray:
    """Identity up to ``knee * limit``, then eased so ``|x|`` never reaches ``limit``."""
    k = knee * limit
    over = np.abs(x) - k
    eased = np.sign(x) * (k + (limit - k) * np.tanh(np.maximum(over, 0.0) / (limit - k)))
    return np.where(over > 0.0, eased, x)
