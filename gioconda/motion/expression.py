"""Expression in the motion: the chosen emotion held with slow variation, yielding to speech
where the lips must close, and brow raises on accents.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES, BS
from gioconda.motion.controls import MotionControls, control_track
from gioconda.motion.tracks import GRID_FPS, _band_noise, _one_pole, _pulse_track
from gioconda.speech.audio import AudioFeatures
from gioconda.timeline import (
    FEATURE_HOP_S,
    frame_count,
    frame_times,
    resample_track,
    smoothstep,
)

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


#: An emotion preset's blendshapes summed (their L1 norm) at which it wholly replaces the
#: photo's own expression: the smallest preset (contempt) sums to about 1. Easing in from
#: neutral, the photo's expression goes as the chosen one comes.
REPLACING_NORM = 1.0


def replaces_photo(controls: MotionControls, times: np.ndarray) -> np.ndarray:
    """How much of the photo's own expression the chosen emotion replaces, per frame,
    (n_frames,) float32: none for neutral (the photo's face as it is), all of it for any
    other emotion at full strength."""
    preset = control_track(controls, "emotion", times)
    strength = control_track(controls, "emotion_strength", times)[:, 0]
    amount = smoothstep(np.abs(preset).sum(1) / REPLACING_NORM) * np.clip(strength, 0.0, 1.0)
    return amount.astype(np.float32)


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
    from scipy.signal import find_peaks  # (see gioconda.speech.audio.normalize_features)

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
