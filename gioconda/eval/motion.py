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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from gioconda.eval.measure import pearson
from gioconda.eval.motion_controls import contact_sheet, measure_controls
from gioconda.eval.motion_report import FPS, MotionReport, _fmt
from gioconda.face.portrait import Portrait, analyze_portrait
from gioconda.motion.blendshapes import BS
from gioconda.motion.controls import MotionControls
from gioconda.motion.frames import Motion
from gioconda.motion.generate import generate_motion
from gioconda.progress import Progress, no_progress
from gioconda.speech.audio import Audio, AudioFeatures, analyze_audio
from gioconda.speech.espeak import synthesize
from gioconda.speech.visemes import PhoneSegment
from gioconda.timeline import FEATURE_HOP_S, frame_count, frame_times, resample_track

#: The reenactment hook: called with the two test portraits (driving, driven) and a progress
#: callback; returns (metric, value) rows, e.g. ``[("lip gap r", 0.93), ("yaw MAE deg", 1.2)]``.
ReenactmentCheck = Callable[[Portrait, Portrait, Progress], list[tuple[str, float]]]


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
    assert rate is not None  # the loop ran: duration_s > 0
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
    minute_means = [
        angles[int(m * 60 * fps) : int((m + 1) * 60 * fps)].mean(axis=0)
        for m in range(max(1, int(minutes)))
    ]
    per_minute = np.array(minute_means)
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


def _portraits(quick: bool) -> list[tuple[str, np.ndarray]]:
    from importlib import resources

    from gioconda.face.photo import load_photo

    with resources.as_file(resources.files("gioconda") / "assets" / "mona_lisa.jpg") as path:
        photos = [("mona_lisa", load_photo(path))]
    if not quick:
        from gioconda.eval.portraits import astronaut

        photos.append(("astronaut", astronaut()))
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
