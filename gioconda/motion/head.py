"""The head in the motion: a damped spring driven by nods on accents and smooth seeded sway,
following loudness and pitch, calm in pauses, with a style per seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from gioconda.motion.tracks import GRID_FPS, HEAD_SLOW_S, _band_noise, _frames_between, _one_pole
from gioconda.speech.audio import AudioFeatures
from gioconda.timeline import (
    FEATURE_HOP_S,
    frame_times,
    resample_track,
)

#: Sway of yaw, pitch, roll while speaking (degrees, std at motion_intensity 1) and the time
#: constant of its smooth noise (s); HEAD_SLOW_S removes anything slower, so the head never drifts.
HEAD_SWAY_DEG = (3.4, 2.0, 1.7)


HEAD_SWAY_TAU_S = (0.5, 0.4, 0.6)


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
    from scipy.signal import bilinear, lfilter  # (see gioconda.speech.audio.normalize_features)

    omega = 2.0 * np.pi * frequency_hz
    b, a = bilinear([omega**2], [1.0, 2.0 * damping * omega, omega**2], fs=GRID_FPS)
    return lfilter(b, a, target)


def _soft_limit(x: np.ndarray, limit: float, knee: float = 0.6) -> np.ndarray:
    """Identity up to ``knee * limit``, then eased so ``|x|`` never reaches ``limit``."""
    k = knee * limit
    over = np.abs(x) - k
    eased = np.sign(x) * (k + (limit - k) * np.tanh(np.maximum(over, 0.0) / (limit - k)))
    return np.where(over > 0.0, eased, x)
