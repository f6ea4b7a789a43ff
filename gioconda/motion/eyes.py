"""The eyes in the motion: blinks as a renewal process favouring pauses, fixations and
saccades, glances at phrase starts, and a commanded gaze that holds.
"""

from __future__ import annotations

import numpy as np

from gioconda.motion.blendshapes import BS
from gioconda.motion.tracks import (
    GRID_FPS,
    OPENING_STILL_S,
    _frames_between,
    _pulse_track,
    _speech_onsets,
)
from gioconda.speech.audio import AudioFeatures
from gioconda.timeline import (
    frame_times,
    smoothstep,
    time_to_frame,
)

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
