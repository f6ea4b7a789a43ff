"""``gioconda eval motion``: is the motion lifelike, and do the controls do what they say?

Two kinds of measurement, printed as one table (section, metric, value, what to compare with):

**Motion from audio alone** (no rendering: the motion is read as numbers). A long clip of
speech is synthesized with eSpeak NG: paragraphs of generated sentences, each spoken at its
own rate and pitch, joined by pauses of 0.3-2 s, ten minutes in all (``--quick``: 90 s). The
motion Gioconda makes for it is measured against the audio's own envelopes:

- blinks: rate, inter-blink intervals (mean, coefficient of variation, 10/50/90th
  percentiles), and where blinks fall: at phrase ends (in a pause, or within
  :data:`PHRASE_END_S` of one starting) or mid-speech (speech on both sides for
  :data:`MID_SPEECH_S`), each against the share of time that is such (the chance level);
- head: standard deviation of yaw, pitch and roll and mean angular speed while speaking and
  deep in pauses (:data:`SETTLED_S` after speech stops); Pearson correlation of head speed with
  the loudness envelope and with the pitch envelope (semitones above the last 2 s's mean,
  voiced hops), at the best lag
  of the head behind the voice up to :data:`MAX_LAG_S`;
- drift: the mean head angle over each minute (the largest over all minutes and axes);
- gaze: share of speaking time on the camera (within 1 degree), and share of glances away
  (gaze beyond 5 degrees) that start within 0.5 s of a phrase start;
- brows: loudness level at the peaks of brow raises against the mean level while speaking;
- determinism: the same seed twice gives bit-identical motion; a second seed's head yaw
  correlates with the first's (near 0 means a different performance) and its head sway
  differs in size.

**Control accuracy** (rendered, then read back by MediaPipe Face Mesh on the frames): on the
Mona Lisa and the astronaut (``--quick``: the Mona Lisa), still frames under commanded gaze
(yaw -20..20, pitch -15 and 15), head distance (0.8, 1.0, 1.2) and each emotion preset at
full strength:

- gaze: correlation of commanded yaw with the re-detected iris offset from the eye centre,
  and whether looking left, right, up and down moves the irises that way;
- head distance: re-detected inter-iris distance over that at 1.0, against the command, and
  the mean change of the background far from the person (:data:`FAR_FROM_PERSON`; grey
  levels);
- emotion: re-detected change from neutral of mouth-corner height (mouth widths, + up), brow
  height above the eyes (inter-iris distances, + up) and eye openness (+ wider), and how many
  of the directions each preset should move them in are met.

**Reenactment**: a hook (:data:`ReenactmentCheck`) for the video-driven path; rows it returns
are printed in their own section, or "not measured" without it.

With ``--out-dir``, the table is written as ``motion_eval.md`` and the control frames as the
contact sheet ``motion_controls.png``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from gioconda.errors import GiocondaError
from gioconda.eval.measure import FaceMeasurer, pearson
from gioconda.face.portrait import Portrait, analyze_portrait
from gioconda.face.topology import (
    EYE_LIDS,
    INNER_LIP_MIDDLE,
    IRIS_CENTRES,
    LEFT_BROW_UPPER,
    MOUTH_CORNERS,
    RIGHT_BROW_UPPER,
    eye_openness,
    inter_iris_distance,
    mouth_width,
)
from gioconda.motion.blendshapes import BS
from gioconda.motion.controls import EMOTIONS, MotionControls
from gioconda.motion.frames import Motion
from gioconda.motion.generate import generate_motion
from gioconda.progress import Progress, no_progress
from gioconda.render.renderer import Renderer
from gioconda.speech.audio import Audio, AudioFeatures, analyze_audio
from gioconda.speech.espeak import synthesize
from gioconda.speech.visemes import PhoneSegment
from gioconda.timeline import FEATURE_HOP_S, frame_count, frame_times, resample_track

#: The reenactment hook: called with the two test portraits (driving, driven) and a progress
#: callback; returns (metric, value) rows, e.g. ``[("lip gap r", 0.93), ("yaw MAE deg", 1.2)]``.
ReenactmentCheck = Callable[[Portrait, Portrait, Progress], list[tuple[str, float]]]


FPS = 25.0


#: Length of the long clip, seconds (full and quick).
CLIP_S, QUICK_CLIP_S = 600.0, 90.0


#: A blink this soon after a pause begins (or in the pause) is at a phrase end.
PHRASE_END_S = 0.5


#: A blink with speech this long on both sides is mid-speech.
MID_SPEECH_S = 0.25


#: Pause frames this long after speech stopped count as "in pauses" for the head.
SETTLED_S = 0.5


#: Longest lag of head speed behind the audio envelopes searched for the correlation.
MAX_LAG_S = 0.5


#: Gaze within this of the camera is on the camera; beyond GLANCE_DEG it is a glance away.
ON_CAMERA_DEG, GLANCE_DEG = 1.0, 5.0


GAZE_COMMANDS = (
    (-20.0, 0.0),
    (-10.0, 0.0),
    (0.0, 0.0),
    (10.0, 0.0),
    (20.0, 0.0),
    (0.0, -15.0),
    (0.0, 15.0),
)


DISTANCE_COMMANDS = (0.8, 1.0, 1.2)


#: Background "far from the person": outside the person mask grown by this share of the crop
#: (a head drawn 1.2 times as big about its chin grows by about 0.12 of the crop upward).
FAR_FROM_PERSON = 0.15


#: Which way each emotion should move (mouth corners, brows, eye openness): +1 up/wider,
#: -1 down/narrower, 0 not judged. From the presets in :data:`gioconda.controls.EMOTIONS`.
EMOTION_DIRECTIONS: dict[str, tuple[int, int, int]] = {
    "happy": (1, 0, -1),
    "sad": (-1, 1, 0),
    "angry": (0, -1, -1),
    "surprised": (0, 1, 1),
    "disgusted": (0, -1, 0),
    "fearful": (0, 1, 1),
    "contempt": (1, 0, 0),
}


_WORDS = {
    "det": ("the", "a", "this", "my", "our", "every", "that"),
    "adj": ("quiet", "bright", "old", "small", "famous", "careful", "open", "golden", "simple"),
    "noun": (
        "painter",
        "river",
        "garden",
        "letter",
        "window",
        "morning",
        "question",
        "story",
        "market",
        "teacher",
        "city",
        "picture",
        "journey",
        "family",
        "evening",
    ),
    "verb": (
        "remembers",
        "brings",
        "finds",
        "paints",
        "follows",
        "watches",
        "carries",
        "opens",
        "answers",
        "explains",
        "leaves",
        "keeps",
    ),
    "prep": ("near", "after", "behind", "before", "under", "beside", "across"),
    "adv": ("slowly", "often", "never", "suddenly", "always", "perhaps", "really"),
}


@dataclass(frozen=True)
class MotionEvalOptions:
    """What ``gioconda eval motion`` runs.

    Attributes
    ----------
    quick: a 90 s clip and one portrait (for tests)
    seed: seed of the text, the voices' rates and the motion
    reenactment: the video-driven check, or None to leave that section unmeasured
    """

    quick: bool = False
    seed: int = 0
    reenactment: ReenactmentCheck | None = None


@dataclass(frozen=True)
class Row:
    """One line of the table: section, metric, measured value, what to compare it with."""

    section: str
    metric: str
    value: str
    reference: str = ""


@dataclass
class MotionReport:
    rows: list[Row] = field(default_factory=list)
    contact_sheet: np.ndarray | None = None
    clip_s: float = 0.0

    def add(self, section: str, metric: str, value: str, reference: str = "") -> None:
        self.rows.append(Row(section, metric, value, reference))


def _sentence(rng: np.random.Generator) -> str:
    def pick(kind: str) -> str:
        return str(rng.choice(_WORDS[kind]))

    clause = (
        f"{pick('det')} {pick('adj')} {pick('noun')} {pick('verb')} {pick('det')} {pick('noun')}"
    )
    if rng.uniform() < 0.6:
        clause += f" {pick('prep')} {pick('det')} {pick('noun')}"
    if rng.uniform() < 0.4:
        clause = f"{pick('adv').capitalize()}, {clause}"
    if rng.uniform() < 0.3:
        clause += f", and {pick('det')} {pick('noun')} {pick('verb')} it"
    end = "?" if rng.uniform() < 0.15 else "."
    return clause[0].upper() + clause[1:] + end


def long_speech(
    duration_s: float, seed: int, progress: Progress = no_progress
) -> tuple[Audio, tuple[PhoneSegment, ...]]:
    """About ``duration_s`` of eSpeak NG speech in paragraphs joined by pauses, and its phones.

    Each paragraph (1-4 sentences) has its own rate (140-190 words a minute) and pitch; the
    pauses between paragraphs last 0.3 to 2 s.
    """
    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    phones: list[PhoneSegment] = []
    t, rate = 0.0, None
    while t < duration_s:
        text = " ".join(_sentence(rng) for _ in range(rng.integers(1, 5)))
        spoken = synthesize(
            text,
            "en-us",
            words_per_minute=int(rng.integers(140, 191)),
            pitch=int(rng.integers(35, 66)),
        )
        rate = spoken.audio.sample_rate
        pause = np.zeros(round(rng.uniform(0.3, 2.0) * rate), np.float32)
        for piece in (spoken.audio.samples.astype(np.float32), pause):
            pieces.append(piece)
        phones += [
            PhoneSegment(p.start_s + t, p.end_s + t, p.phone, p.viseme) for p in spoken.phones
        ]
        t += (len(spoken.audio.samples) + len(pause)) / rate
        progress("speech", min(int(t), int(duration_s)), int(duration_s))
    samples = np.concatenate(pieces)[: round(duration_s * rate)]
    kept = tuple(p for p in phones if p.start_s < duration_s)
    return Audio(samples, rate), kept


def blink_times(motion: Motion) -> np.ndarray:
    """Time of each blink (the middle of each run of frames with the lids over half closed)."""
    closed = motion.blendshapes[:, BS["EyeBlinkLeft"]] > 0.5
    edges = np.diff(closed.astype(np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return (starts + ends - 1) / 2 / motion.fps


def _speech_on_frames(features: AudioFeatures, times: np.ndarray) -> np.ndarray:
    return resample_track(features.speech.astype(float), FEATURE_HOP_S, times) > 0.5


def _seconds_since(flags: np.ndarray, fps: float, value: bool) -> np.ndarray:
    """For each frame, seconds since ``flags`` last differed from ``value`` (0 where it does)."""
    out = np.zeros(len(flags))
    run = 0.0
    for i, f in enumerate(flags):
        run = run + 1.0 / fps if f == value else 0.0
        out[i] = run
    return out


def _envelopes(features: AudioFeatures, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loudness level and pitch excursion (semitones, voiced hops only), at the frames."""
    level = gaussian_filter1d(features.level.astype(float), 10)
    voiced = features.voiced & (features.pitch_hz > 0)
    semitones = np.full(len(voiced), np.nan)
    if voiced.any():
        median = np.median(features.pitch_hz[voiced])
        semitones[voiced] = 12 * np.log2(features.pitch_hz[voiced] / median)

    def voiced_mean(sigma_hops: float) -> tuple[np.ndarray, np.ndarray]:
        weight = gaussian_filter1d(voiced.astype(float), sigma_hops)
        total = gaussian_filter1d(np.nan_to_num(semitones), sigma_hops)
        return total / np.maximum(weight, 1e-9), weight

    # Pitch accents are excursions from the speaker's recent pitch, not the pitch itself (which
    # also moves with the voice and the sentence): the local pitch minus a 2 s mean.
    local, weight = voiced_mean(10)
    recent, _ = voiced_mean(200)
    pitch = np.where(weight > 0.2, local - recent, np.nan)
    return (
        resample_track(level, FEATURE_HOP_S, times),
        resample_track(np.nan_to_num(pitch, nan=np.nan), FEATURE_HOP_S, times),
    )


def _best_lag_correlation(
    speed: np.ndarray, envelope: np.ndarray, fps: float
) -> tuple[float, float]:
    """Highest correlation of ``speed`` with ``envelope`` shifted later by 0..MAX_LAG_S."""
    best = (float("nan"), 0.0)
    for lag in range(int(MAX_LAG_S * fps) + 1):
        r = pearson(speed[lag:], envelope[: len(envelope) - lag])
        if np.isfinite(r) and not (r <= best[0]):
            best = (r, lag / fps)
    return best


def _within(t: np.ndarray, events: np.ndarray, reach_s: float) -> np.ndarray:
    """Whether each of ``t`` is within ``reach_s`` of one of the sorted ``events``."""
    i = np.clip(np.searchsorted(events, t), 1, len(events) - 1) if len(events) > 1 else None
    if i is None:
        return np.abs(t - events[0]) <= reach_s
    nearest = np.minimum(np.abs(t - events[i - 1]), np.abs(t - events[i]))
    return nearest <= reach_s


def _fmt(x: float, digits: int = 2) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.{digits}f}"


def measure_motion(
    report: MotionReport, motion: Motion, features: AudioFeatures, other_seed: Motion, same: bool
) -> None:
    """Add the rows of the audio-only section to ``report``."""
    fps = motion.fps
    times = frame_times(len(motion), fps)
    minutes = len(motion) / fps / 60
    speaking = _speech_on_frames(features, times)
    since_speech = _seconds_since(speaking, fps, False)  # seconds into the current pause
    since_pause = _seconds_since(speaking, fps, True)  # seconds into the current speech
    until_pause = _seconds_since(speaking[::-1], fps, True)[::-1]

    blinks = blink_times(motion)
    section = "blinks"
    report.add(
        section,
        "rate per minute",
        _fmt(len(blinks) / minutes, 1),
        "commanded 17; people 10-25 talking",
    )
    intervals = np.diff(blinks)
    if len(intervals) >= 2:
        p10, p50, p90 = np.percentile(intervals, [10, 50, 90])
        report.add(
            section,
            "interval mean s (CV)",
            f"{intervals.mean():.2f} ({intervals.std() / intervals.mean():.2f})",
            "people: a few s, CV ~0.5-1",
        )
        report.add(section, "interval p10 / p50 / p90 s", f"{p10:.2f} / {p50:.2f} / {p90:.2f}")
    frame_of = np.clip(np.round(blinks * fps).astype(int), 0, len(motion) - 1)
    # Phrase end: in a pause, or in the last PHRASE_END_S of speech before one.
    at_end = ~speaking | (until_pause <= PHRASE_END_S)
    mid = speaking & (since_pause >= MID_SPEECH_S) & (until_pause >= MID_SPEECH_S)
    if len(blinks):
        report.add(
            section,
            "share at phrase ends (time share)",
            f"{at_end[frame_of].mean():.2f} ({at_end.mean():.2f})",
            "above the time share",
        )
        report.add(
            section,
            "share mid-speech (time share)",
            f"{mid[frame_of].mean():.2f} ({mid.mean():.2f})",
            "below the time share",
        )

    section = "head"
    angles = motion.head_rotation_deg.astype(float)
    speed = np.linalg.norm(np.gradient(angles, axis=0), axis=1) * fps
    settled = ~speaking & (since_speech >= SETTLED_S)
    for label, mask in (("speaking", speaking), ("in pauses", settled)):
        if mask.sum() < 2:
            continue
        std = angles[mask].std(axis=0)
        report.add(section, f"yaw/pitch/roll std deg, {label}", " / ".join(f"{s:.2f}" for s in std))
        report.add(section, f"mean speed deg/s, {label}", _fmt(speed[mask].mean(), 2))
    level, pitch = _envelopes(features, times)
    smooth_speed = gaussian_filter1d(speed, 0.1 * fps)
    for name, envelope in (("loudness", level), ("pitch", pitch)):
        r, lag = _best_lag_correlation(smooth_speed, envelope, fps)
        report.add(
            section,
            f"r(head speed, {name})",
            f"{_fmt(r)} at lag {lag * 1000:.0f} ms",
            "> 0: moves with the voice",
        )

    section = "drift"
    per_minute = [
        angles[int(m * 60 * fps) : int((m + 1) * 60 * fps)].mean(axis=0)
        for m in range(max(1, int(minutes)))
    ]
    per_minute = np.array(per_minute)
    report.add(section, "minutes", str(len(per_minute)))
    report.add(
        section,
        "max |minute mean| yaw/pitch/roll deg",
        " / ".join(f"{v:.2f}" for v in np.abs(per_minute).max(axis=0)),
        "near 0 (rest pose)",
    )

    section = "gaze"
    gaze = np.abs(motion.gaze_deg).max(axis=1)
    report.add(
        section,
        "share on camera while speaking",
        _fmt((gaze[speaking] < ON_CAMERA_DEG).mean()),
        "most of the time",
    )
    away = gaze > GLANCE_DEG
    glance_starts = np.flatnonzero(np.diff(away.astype(np.int8), prepend=0) == 1)
    phrase_starts = np.flatnonzero(np.diff(speaking.astype(np.int8), prepend=0) == 1) / fps
    if len(glance_starts) and len(phrase_starts):
        near = _within(glance_starts / fps, phrase_starts, 0.5)
        chance = _within(times, phrase_starts, 0.5)  # share of time near a phrase start
        report.add(section, "glances away per minute", _fmt(len(glance_starts) / minutes, 1))
        report.add(
            section,
            "glances within 0.5 s of a phrase start (time share)",
            f"{near.mean():.2f} ({chance.mean():.2f})",
            "above the time share",
        )

    section = "brows"
    brow = motion.blendshapes[:, BS["BrowInnerUp"]]
    peaks = (
        np.flatnonzero((brow[1:-1] > brow[:-2]) & (brow[1:-1] >= brow[2:]) & (brow[1:-1] > 0.05))
        + 1
    )
    if len(peaks):
        report.add(section, "raises per minute", _fmt(len(peaks) / minutes, 1))
        report.add(
            section,
            "loudness at raise peaks (while speaking)",
            f"{level[peaks].mean():.2f} ({level[speaking].mean():.2f})",
            "above: raises on emphasis",
        )

    section = "seeds"
    report.add(section, "same seed twice: bit-identical", "yes" if same else "NO")
    yaw_r = pearson(angles[:, 0], other_seed.head_rotation_deg[:, 0])
    other_std = other_seed.head_rotation_deg.std(axis=0)
    report.add(section, "r(yaw seed s, yaw seed s+1)", _fmt(yaw_r), "near 0: another performance")
    report.add(
        section,
        "yaw/pitch/roll std deg, seed s+1",
        " / ".join(f"{s:.2f}" for s in other_std),
        "differs: another style",
    )


def controlled_frame(
    renderer: Renderer, controls: MotionControls, seconds: float = 1.2
) -> np.ndarray:
    """The last frame of a silent clip under ``controls`` with a still head and no blinks.

    Goes through the whole motion path (controls, :func:`generate_motion`, the renderer), so it
    measures what a user of the flags would get.
    """
    hops = round(seconds / FEATURE_HOP_S)
    silence = AudioFeatures(
        np.full(hops, -100.0, np.float32),
        np.zeros(hops, bool),
        np.zeros(hops, bool),
        np.zeros(hops, np.float32),
        np.zeros(hops, np.float32),
    )
    n = frame_count(seconds, FPS)
    motion = generate_motion(silence, [], n, FPS, controls)
    return renderer.render(motion.frame(n - 1))


def iris_position(landmarks: np.ndarray) -> np.ndarray:
    """Mean (x, y) offset of both irises from their eye-corner midpoints, in eye widths."""
    out = []
    for iris, (upper, _) in zip(IRIS_CENTRES, EYE_LIDS, strict=True):
        a, b = upper[0], upper[-1]
        mid = (landmarks[a, :2] + landmarks[b, :2]) / 2
        width = np.linalg.norm(landmarks[a, :2] - landmarks[b, :2])
        out.append((landmarks[iris, :2] - mid) / width)
    return np.mean(out, axis=0)


def expression_features(landmarks: np.ndarray) -> np.ndarray:
    """(mouth-corner lift in mouth widths, brow height in inter-iris distances, eye openness).

    Corner lift is how far the mouth's corners sit above the middle of the inner lips;
    brow height is the mean height of the brows' upper edge above the irises. Up is positive.
    """
    width = mouth_width(landmarks)
    lips_middle = landmarks[list(INNER_LIP_MIDDLE), 1].mean()
    corners = landmarks[list(MOUTH_CORNERS), 1].mean()
    iris_y = landmarks[list(IRIS_CENTRES), 1].mean()
    brows = np.mean([landmarks[list(b), 1].mean() for b in (RIGHT_BROW_UPPER, LEFT_BROW_UPPER)])
    iod = inter_iris_distance(landmarks)
    return np.array(
        [(lips_middle - corners) / width, (iris_y - brows) / iod, eye_openness(landmarks).mean()]
    )


def far_background(portrait: Portrait) -> np.ndarray:
    """Pixels well away from the person: beyond where a head drawn 1.2 times as big reaches."""
    person = (portrait.person_mask > 0.2).astype(np.uint8)
    reach = max(3, round(FAR_FROM_PERSON * portrait.size))
    grown = cv2.dilate(person, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
    return grown == 0


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    tile = tile.copy()
    for colour, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(tile, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, colour, width, cv2.LINE_AA)
    return tile


def measure_controls(
    report: MotionReport, name: str, portrait: Portrait, tiles: list[np.ndarray], progress: Progress
) -> None:
    """Add the control-accuracy rows for one portrait; append its labelled frames to ``tiles``."""
    renderer = Renderer(portrait)
    still = dict(motion_intensity=0.0, blink_rate=0.0)
    jobs: list[tuple[str, MotionControls]] = []
    jobs += [
        (f"gaze {y:+.0f},{p:+.0f}", MotionControls(gaze=(y, p), **still)) for y, p in GAZE_COMMANDS
    ]
    jobs += [
        (f"distance {d:.1f}", MotionControls(head_distance=d, **still)) for d in DISTANCE_COMMANDS
    ]
    jobs += [(e, MotionControls(emotion=e, **still)) for e in EMOTIONS]
    frames, found = {}, {}
    with FaceMeasurer(video=False) as measurer:
        for i, (label, controls) in enumerate(jobs):
            frames[label] = controlled_frame(renderer, controls)
            found[label] = measurer.measure(frames[label]).landmarks
            progress(f"controls {name}", i + 1, len(jobs))
    missing = [label for label, lm in found.items() if lm is None]
    if missing:
        report.add(f"controls {name}", "frames with no face re-detected", ", ".join(missing))

    section = f"gaze {name}"
    iris = {
        label: iris_position(lm)
        for label, lm in found.items()
        if lm is not None and label.startswith("gaze")
    }
    commanded = [(y, p) for y, p in GAZE_COMMANDS if f"gaze {y:+.0f},{p:+.0f}" in iris]
    measured = np.array([iris[f"gaze {y:+.0f},{p:+.0f}"] for y, p in commanded])
    if len(commanded) == len(GAZE_COMMANDS):
        yaw_rows = [i for i, (_, p) in enumerate(commanded) if p == 0]
        rest = measured[commanded.index((0.0, 0.0))]
        report.add(
            section,
            "r(commanded yaw, iris x)",
            _fmt(pearson([commanded[i][0] for i in yaw_rows], measured[yaw_rows, 0])),
            "1",
        )
        shift = measured - rest
        left, right = shift[commanded.index((-20.0, 0.0))], shift[commanded.index((20.0, 0.0))]
        up, down = shift[commanded.index((0.0, -15.0))], shift[commanded.index((0.0, 15.0))]
        moves = {"left": left[0] < 0, "right": right[0] > 0, "up": up[1] < 0, "down": down[1] > 0}
        wrong = [k for k, v in moves.items() if not v]
        met = f"{sum(moves.values())}/4" + (f" (not {', '.join(wrong)})" if wrong else "")
        report.add(section, "irises move left/right/up/down", met, "4/4")
        report.add(
            section, "iris x at yaw -20 / +20 (eye widths)", f"{left[0]:+.3f} / {right[0]:+.3f}"
        )
        report.add(
            section, "iris y at pitch -15 / +15 (eye widths)", f"{up[1]:+.3f} / {down[1]:+.3f}"
        )

    section = f"distance {name}"
    base = found.get("distance 1.0")
    background = far_background(portrait)
    if base is not None:
        ratios, changes = [], []
        for d in DISTANCE_COMMANDS:
            lm = found[f"distance {d:.1f}"]
            ratios.append(
                float("nan") if lm is None else inter_iris_distance(lm) / inter_iris_distance(base)
            )
            diff = np.abs(frames[f"distance {d:.1f}"].astype(float) - portrait.image.astype(float))
            changes.append(float(diff[background].mean()) if background.any() else float("nan"))
        report.add(
            section,
            "iris distance ratio at 0.8 / 1.0 / 1.2",
            " / ".join(_fmt(r, 3) for r in ratios),
            "0.800 / 1.000 / 1.200",
        )
        error = np.nanmax(np.abs(np.array(ratios) - np.array(DISTANCE_COMMANDS)))
        report.add(section, "largest error of the ratio", _fmt(error, 3), "0")
        report.add(
            section,
            "background change far from the person (grey levels)",
            " / ".join(_fmt(c, 2) for c in changes),
            "< 1",
        )

    section = f"emotion {name}"
    neutral = found.get("neutral")
    if neutral is not None:
        rest = expression_features(neutral)
        met = total = 0
        for emotion, directions in EMOTION_DIRECTIONS.items():
            lm = found.get(emotion)
            if lm is None:
                continue
            change = expression_features(lm) - rest
            judged = [(c, d) for c, d in zip(change, directions, strict=True) if d != 0]
            # A change under these (corner lift, brow height, openness) is not a visible move.
            ok = [d * c > t for (c, d), t in zip(judged, [0.01] * len(judged), strict=True)]
            met += sum(ok)
            total += len(judged)
            report.add(
                section,
                f"{emotion}: corners / brows / eyes",
                " / ".join(f"{c:+.3f}" for c in change),
                "expected " + " / ".join({1: "up", -1: "down", 0: "-"}[d] for d in directions),
            )
        report.add(section, "expected directions met", f"{met}/{total}", f"{total}/{total}")

    sheet_labels = [
        "gaze -20,+0",
        "gaze +20,+0",
        "gaze +0,-15",
        "gaze +0,+15",
        "distance 0.8",
        "distance 1.0",
        "distance 1.2",
        *EMOTIONS,
    ]
    for label in sheet_labels:
        tile = cv2.resize(frames[label], (256, 256), interpolation=cv2.INTER_AREA)
        tiles.append(_label(tile, f"{name}: {label}"))


def contact_sheet(tiles: list[np.ndarray], columns: int = 5) -> np.ndarray:
    rows = math.ceil(len(tiles) / columns)
    h, w = tiles[0].shape[:2]
    out = np.full((rows * h, columns * w, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        y, x = (i // columns) * h, (i % columns) * w
        out[y : y + h, x : x + w] = tile
    return out


def _portraits(quick: bool) -> list[tuple[str, np.ndarray]]:
    from importlib import resources

    from gioconda.face.photo import load_photo

    with resources.as_file(resources.files("gioconda") / "assets" / "mona_lisa.jpg") as path:
        photos = [("mona_lisa", load_photo(path))]
    if not quick:
        from skimage import data

        photos.append(("astronaut", data.astronaut()))
    return photos


def run_motion_eval(
    options: MotionEvalOptions = MotionEvalOptions(), progress: Progress = no_progress
) -> MotionReport:
    """Measure the motion (see the module docstring) and return the table's rows."""
    report = MotionReport()
    clip_s = QUICK_CLIP_S if options.quick else CLIP_S
    audio, phones = long_speech(clip_s, options.seed, progress)
    report.clip_s = audio.duration_s
    features = analyze_audio(audio)
    n = frame_count(audio.duration_s, FPS)
    controls = MotionControls(seed=options.seed)
    motion = generate_motion(features, phones, n, FPS, controls)
    again = generate_motion(features, phones, n, FPS, controls)
    same = all(
        np.array_equal(getattr(motion, k), getattr(again, k))
        for k in ("blendshapes", "head_rotation_deg", "head_translation", "head_scale", "gaze_deg")
    )
    other = generate_motion(features, phones, n, FPS, MotionControls(seed=options.seed + 1))
    measure_motion(report, motion, features, other, same)

    tiles: list[np.ndarray] = []
    portraits = {}
    for name, photo in _portraits(options.quick):
        portraits[name] = analyze_portrait(photo, 512)
        measure_controls(report, name, portraits[name], tiles, progress)
    report.contact_sheet = contact_sheet(tiles)

    if options.reenactment is None:
        report.add("reenactment", "error", "not measured", "gioconda reenact")
    else:
        driving = portraits.get("astronaut") or next(iter(portraits.values()))
        driven = portraits["mona_lisa"]
        for metric, value in options.reenactment(driving, driven, progress):
            report.add("reenactment", metric, _fmt(value, 3))
    return report


def format_table(report: MotionReport) -> str:
    """The report as one Markdown table."""
    lines = [
        f"Motion on {report.clip_s / 60:.1f} min of eSpeak NG speech; controls re-detected by "
        "MediaPipe on rendered frames.",
        "",
        "| section | metric | value | compare with |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r.section} | {r.metric} | {r.value} | {r.reference} |" for r in report.rows]
    return "\n".join(lines)


def write_report(report: MotionReport, out_dir: str | Path) -> list[Path]:
    """Write motion_eval.md and motion_controls.png into ``out_dir``; returns their paths."""
    from gioconda.output.files import check_writable

    out = Path(out_dir)
    if not out.is_dir():
        raise GiocondaError(f"output folder does not exist: {out}")
    table = out / "motion_eval.md"
    check_writable(table)
    table.write_text(format_table(report) + "\n", encoding="utf-8")
    paths = [table]
    if report.contact_sheet is not None:
        sheet = out / "motion_controls.png"
        check_writable(sheet)
        cv2.imwrite(str(sheet), cv2.cvtColor(report.contact_sheet, cv2.COLOR_RGB2BGR))
        paths.append(sheet)
    return paths
