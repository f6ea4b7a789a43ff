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

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES, BS
from gioconda.motion.controls import MotionControls, control_track
from gioconda.motion.expression import (
    _accents,
    _add_emotion,
    _brow_raise,
    _emotion,
    _set_brows,
    replaces_photo,
)
from gioconda.motion.eyes import _blinks, _commanded_gaze, _gaze, _set_eye_look
from gioconda.motion.frames import Motion
from gioconda.motion.head import _head_pose, _head_style
from gioconda.motion.mouth import _MOUTH_COLUMNS, _jaw_from_loudness, _mouth_from_phones
from gioconda.motion.tracks import GRID_FPS, OPENING_EASE_S
from gioconda.speech.audio import AudioFeatures
from gioconda.speech.visemes import PhoneSegment
from gioconda.timeline import (
    frame_count,
    frame_times,
    smoothstep,
)


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
        replaces_photo(controls, times),
    )


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
