"""Motion as the audio arrives: the offline generator's parts, run frame by frame.

One code path with :func:`gioconda.motion.generate.generate_motion`:

- The mouth is the offline function itself (:func:`_mouth_from_phones`: the same
  co-articulation, bilabial closures and jaw gain) evaluated on a window of the phones known so
  far. A frame's mouth depends only on the phones within :data:`MOUTH_SUPPORT_S` of it, so with
  that much look-ahead a live frame equals the offline frame exactly; with less, the mouth
  cannot anticipate phones not yet heard and the window's last phone is held open.
- Controls are the offline :class:`MotionControls` with keyframes: a change during a session is
  a keyframe at the current time, eased by the offline :func:`control_track`.
- Head, blinks, gaze and brows use the offline constants and filters (spring, band noise, soft
  limit, pulse shapes, renewal intervals, fixations, glances) run causally on the 10 ms grid,
  with state carried from hop to hop. The offline generator normalizes some of them over the
  whole clip (blink hazard, pitch median, accent peak-picking); here they are running
  estimates, so these parts follow the same model but not the same random draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
from scipy.signal import bilinear, lfilter, lfilter_zi

import gioconda.motion.expression as _expr
import gioconda.motion.eyes as _eyes
import gioconda.motion.frames as _frames
import gioconda.motion.head as _head
import gioconda.motion.mouth as _mouth
import gioconda.motion.tracks as _tracks
from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES, BS
from gioconda.motion.controls import Keyframe, MotionControls, control_track
from gioconda.speech.audio import AudioFeatures
from gioconda.speech.visemes import PhoneSegment
from gioconda.timeline import FEATURE_HOP_S, frame_times, smoothstep

GRID_FPS = _tracks.GRID_FPS
#: How far around a frame the offline mouth looks (the longest dominance support: lip shape
#: anticipates 3.5 time constants of 0.12 s), in seconds; with this much look-ahead a live
#: frame's mouth equals the offline one.
MOUTH_SUPPORT_S = max(
    _mouth._SUPPORT * max(before, after) for before, after in _mouth.GROUP_DECAY_S
)
#: Phones this far either side of the frames being made are handed to the offline mouth.
MOUTH_CONTEXT_S = MOUTH_SUPPORT_S + 0.2
#: A control changed during a session eases to its new value over this long (seconds).
LIVE_TRANSITION_S = 0.25
_HOP = FEATURE_HOP_S


@dataclass
class _OnePole:
    """Causal first-order low-pass (as the offline ``_one_pole``) that keeps its state."""

    tau_s: float
    state: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        a = np.exp(-1.0 / (self.tau_s * GRID_FPS))
        if self.state is None:
            self.state = np.zeros((1, *x.shape[1:]))
        y, self.state = lfilter([1.0 - a], [1.0, -a], x, axis=0, zi=self.state)
        return y


class _BandNoise:
    """The offline ``_band_noise`` (two low-passes, a high-pass, unit std) drawn hop by hop."""

    def __init__(self, rng: np.random.Generator, tau_s: float, channels: int = 1) -> None:
        self.rng, self.channels, self.tau_s = rng, channels, tau_s
        self.low1, self.low2, self.slow = self._filters()
        burn_in = int(5 * _tracks.HEAD_SLOW_S * GRID_FPS)
        impulse = np.zeros((2 * burn_in, 1))
        impulse[0] = 1.0
        # The filters' gain on unit white noise, from their impulse response (as offline).
        self.std = float(np.sqrt(np.sum(self._band(impulse, *self._filters()) ** 2)))
        self.next(burn_in)  # start in the steady state, not at zero

    def _filters(self) -> tuple[_OnePole, _OnePole, _OnePole]:
        return _OnePole(self.tau_s), _OnePole(self.tau_s), _OnePole(_tracks.HEAD_SLOW_S)

    @staticmethod
    def _band(x: np.ndarray, low1: _OnePole, low2: _OnePole, slow: _OnePole) -> np.ndarray:
        smooth = low2(low1(x))
        return smooth - slow(smooth)

    def next(self, n: int) -> np.ndarray:
        """The next ``n`` hops: (n, channels)."""
        noise = self.rng.standard_normal((n, self.channels))
        return self._band(noise, self.low1, self.low2, self.slow) / self.std


class _Spring:
    """The offline head spring per axis, keeping its filter state between calls."""

    def __init__(self) -> None:
        self.coefficients = []
        self.states = []
        for hz in _head.HEAD_SPRING_HZ:
            omega = 2.0 * np.pi * hz
            b, a = bilinear([omega**2], [1.0, 2.0 * _head.HEAD_DAMPING * omega, omega**2], GRID_FPS)
            self.coefficients.append((b, a))
            self.states.append(lfilter_zi(b, a) * 0.0)

    def __call__(self, target: np.ndarray) -> np.ndarray:
        out = np.empty_like(target)
        for axis, (b, a) in enumerate(self.coefficients):
            out[:, axis], self.states[axis] = lfilter(b, a, target[:, axis], zi=self.states[axis])
        return out


class MotionStream:
    """Per-frame motion from hop features and phones, generated in order, frame by frame.

    Parameters
    ----------
    fps: frame rate
    controls: the session's starting controls (seed, gaze, emotion, ...)
    """

    def __init__(self, fps: float, controls: MotionControls) -> None:
        self.fps = fps
        self.controls = replace(controls, keyframes=tuple(controls.keyframes))
        head_rng, blink_rng, gaze_rng, brow_rng, emotion_rng, style_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(controls.seed).spawn(6)
        )
        self.blink_rng, self.gaze_rng, self.brow_rng = blink_rng, gaze_rng, brow_rng
        self.style = _head._head_style(style_rng)
        self.sway = [_BandNoise(head_rng, tau * self.style.tempo) for tau in _head.HEAD_SWAY_TAU_S]
        self.body = _BandNoise(head_rng, 1.0, 2)
        self.emotion_noise = [
            _BandNoise(emotion_rng, _expr.EMOTION_VARIATION_TAU_S) for _ in _expr.EMOTION_REGIONS
        ]
        self.emotion_columns = [
            [i for i, name in enumerate(ARKIT_BLENDSHAPES) if name.startswith(prefixes)]
            for prefixes in _expr.EMOTION_REGIONS
        ]
        self.spring = _Spring()
        self.activity = _OnePole(_head.ACTIVITY_TAU_S)
        self.nod_mean = _OnePole(_tracks.HEAD_SLOW_S)
        self.drive_level = _OnePole(0.15)
        self.prominence = _OnePole(0.04)
        self.baseline = _OnePole(1.5)
        self.hop = 0  # next grid hop to simulate
        self.rotation = np.zeros(3)
        self.translation = np.zeros(2)
        self.emotion_variation = np.ones(len(_expr.EMOTION_REGIONS))
        # Prosody's running state: speech on/off, pauses, accents.
        self.speaking = False
        self.pause_from_s = 0.0
        self.pause_starts: list[float] = []
        self.drive_sum, self.drive_count = 0.0, 0
        self.peak = (-np.inf, 0.0, 0.0)  # (prominence, time, rise) of the rising syllable
        self.last_accent_s = -np.inf
        self.nods: list[tuple[float, float]] = []  # (start_s, size)
        self.brows: list[tuple[float, float]] = []  # (peak_s, height)
        # Blinks: a renewal process in hazard-warped time.
        k = _eyes.BLINK_INTERVAL_SHAPE
        self.warped = 0.0
        self.next_blink_warped = self.blink_rng.gamma(k, 1.0 / k) * self.blink_rng.uniform()
        self.hazard_sum, self.hazard_count = 0.0, 0
        self.blinks: list[float] = []  # peak times
        self.last_blink_s = -np.inf
        # Gaze: fixations joined by saccades, glances as phrases start.
        self.fixation = (0.0, np.zeros(2), np.zeros(2), 0.0)  # start, previous, target, end
        self.glance: tuple[float, float, np.ndarray] | None = None  # begin, hold, target

    # -- controls ---------------------------------------------------------------------------

    def set_control(self, control: str, value: object, at_s: float) -> None:
        """Change a control from time ``at_s``, eased over :data:`LIVE_TRANSITION_S`."""
        # control_value's checked value (the session checks it before it comes here).
        checked = cast("float | str | tuple[float, float] | None", value)
        key = Keyframe(at_s, control, checked, LIVE_TRANSITION_S)
        kept = tuple(
            k for k in self.controls.keyframes if not (k.control == control and k.time_s >= at_s)
        )
        self.controls = replace(self.controls, keyframes=(*kept, key))

    def _control(self, name: str, times: np.ndarray) -> np.ndarray:
        return control_track(self.controls, name, times)

    # -- the mouth: the offline function on a window ------------------------------------------

    def mouth(
        self,
        first_frame: int,
        n_frames: int,
        phones: Sequence[PhoneSegment] | None,
        prosody: AudioFeatures,
        prosody_first_hop: int,
    ) -> np.ndarray:
        """Mouth channels of frames ``first_frame ..`` as the offline generator makes them.

        ``phones`` are on the session's clock; ``prosody`` starts at hop ``prosody_first_hop``.
        Returns (n_frames, 52) with only the mouth's columns set.
        """
        shapes = np.zeros((n_frames, len(ARKIT_BLENDSHAPES)))
        # The offline functions index frames from time 0: move the origin to a frame that is
        # also on the 10 ms grid, MOUTH_CONTEXT_S before the first frame.
        frames_back = int(np.ceil(MOUTH_CONTEXT_S * self.fps))
        while first_frame - frames_back > 0 and not _on_grid(
            (first_frame - frames_back) / self.fps
        ):
            frames_back += 1
        origin_frame = max(first_frame - frames_back, 0)
        origin_s = origin_frame / self.fps
        origin_hop = round(origin_s / _HOP)
        # As many frames after as before, so that the loudness smoothing and the phones'
        # influence are computed over the same span as offline.
        n_total = first_frame - origin_frame + n_frames + frames_back
        times = frame_times(n_total, self.fps)
        # As many hops as the offline generator takes for this many frames.
        n_hops = max(1, int(np.ceil((n_total - 1) / self.fps * GRID_FPS - 1e-9))) + 1
        window = _prosody_hops(prosody, origin_hop - prosody_first_hop, n_hops)
        keep = slice(first_frame - origin_frame, first_frame - origin_frame + n_frames)
        if phones is None:
            shapes[:, BS["JawOpen"]] = _mouth._jaw_from_loudness(window, times)[keep]
            return shapes
        shifted = [
            PhoneSegment(p.start_s - origin_s, p.end_s - origin_s, p.phone, p.viseme)
            for p in phones
            if p.end_s >= origin_s - MOUTH_CONTEXT_S
        ]
        mouth = _mouth._mouth_from_phones(shifted, window, times, self.fps)
        shapes[:, _mouth._MOUTH_COLUMNS] = mouth[keep]
        return shapes

    # -- everything else, causal, on the 10 ms grid ---------------------------------------------

    def frame(
        self, index: int, mouth: np.ndarray, prosody: AudioFeatures, first_hop: int
    ) -> _frames.MotionFrame:
        """The full motion of frame ``index`` (frames must come in order).

        ``mouth``: (52,) from :meth:`mouth`; ``prosody``: hop features from hop ``first_hop``
        covering at least up to this frame's time.
        """
        t = index / self.fps
        target_hop = int(np.floor(t * GRID_FPS + 1e-9))
        if target_hop >= self.hop:
            self._advance(prosody, first_hop, target_hop + 1)
        shapes = mouth.astype(np.float64).copy()[None, :]
        ease_in = float(smoothstep(np.array(t / _tracks.OPENING_EASE_S)))
        blink = self._blink_at(t)
        shapes[0, BS["EyeBlinkLeft"]] = shapes[0, BS["EyeBlinkRight"]] = blink
        gaze = _eyes._commanded_gaze(
            self._natural_gaze(t)[None, :] * ease_in, self._control("gaze", np.array([t]))
        )
        _expr._set_brows(shapes, np.array([self._brow_at(t) * ease_in]))
        emotion = self._control("emotion", np.array([t])) * self._control(
            "emotion_strength", np.array([t])
        )
        for factor, columns in zip(self.emotion_variation, self.emotion_columns, strict=True):
            emotion[:, columns] *= 1.0 + _expr.EMOTION_VARIATION * factor
        _expr._add_emotion(shapes, emotion)
        rotation = self.rotation * ease_in
        translation = self.translation * ease_in
        _eyes._set_eye_look(shapes, gaze - rotation[None, :2])
        scale = self._control("head_distance", np.array([t]))[0, 0]
        return _frames.MotionFrame(
            np.clip(shapes[0], 0.0, 1.0).astype(np.float32),
            rotation.astype(np.float32),
            translation.astype(np.float32),
            float(scale),
            gaze[0].astype(np.float32),
        )

    def _advance(self, prosody: AudioFeatures, first_hop: int, to_hop: int) -> None:
        """Simulate the grid from ``self.hop`` up to (not including) ``to_hop``."""
        n = to_hop - self.hop
        window = _prosody_hops(prosody, self.hop - first_hop, n)
        hop_t = (self.hop + np.arange(n)) / GRID_FPS
        intensity = self._control("motion_intensity", hop_t)[:, 0]
        rate = self._control("blink_rate", hop_t)[:, 0]
        # Speech state, pauses and glances.
        speech = window.speech
        for i in range(n):
            if speech[i] and not self.speaking:
                self._on_speech_start(hop_t[i], hop_t[i] - self.pause_from_s)
            elif not speech[i] and self.speaking:
                self.pause_from_s = hop_t[i]
                self.pause_starts = [*self.pause_starts[-4:], hop_t[i]]
            self.speaking = bool(speech[i])
        # Accents: a syllable's prominence peak, once it has fallen back (a few hops late).
        level = window.level.astype(np.float64)
        prominence = self.prominence(level[:, None])[:, 0]
        baseline = self.baseline(prominence[:, None])[:, 0]
        for i in range(n):
            value, at, rise = self.peak
            if prominence[i] > value:
                self.peak = (prominence[i], hop_t[i], prominence[i] - baseline[i])
            elif prominence[i] < value - 0.05:
                if (
                    rise >= _expr.ACCENT_MIN_RISE
                    and at - self.last_accent_s >= _expr.ACCENT_MIN_GAP_S
                    and speech[i]
                ):
                    self._on_accent(hop_t[i], float(np.clip(rise / 0.5, 0.0, 1.0)))
                self.peak = (prominence[i], hop_t[i], prominence[i] - baseline[i])
        # Head: sway and nods through the spring.
        activity = (
            _head.IDLE_MOTION
            + (1.0 - _head.IDLE_MOTION) * self.activity(speech.astype(np.float64)[:, None])[:, 0]
        )
        drive_level = self.drive_level(level[:, None])[:, 0]
        if speech.any():
            self.drive_sum += float(drive_level[speech].sum())
            self.drive_count += int(speech.sum())
        centre = self.drive_sum / self.drive_count if self.drive_count else 0.0
        drive = np.clip(1.0 + _head.PROSODY_DRIVE * (drive_level - centre), 0.3, 2.0)
        target = np.concatenate([noise.next(n) for noise in self.sway], axis=1)
        target *= np.array(_head.HEAD_SWAY_DEG) * self.style.sway
        nods = self._nods_at(hop_t) * self.style.nod
        target[:, 1] += nods - self.nod_mean(nods[:, None])[:, 0]
        target *= (intensity * activity * drive)[:, None]
        rotation = self.spring(target)
        self.rotation = np.array(
            [_head._soft_limit(rotation[-1, axis], _head.HEAD_LIMIT_DEG[axis]) for axis in range(3)]
        )
        sway = self.body.next(n) * np.array([1.0, 0.5])
        sway *= _head.BODY_SWAY * (intensity * activity)[:, None]
        self.translation = np.clip(sway[-1], -_head.BODY_SWAY_LIMIT, _head.BODY_SWAY_LIMIT)
        for j, noise in enumerate(self.emotion_noise):
            self.emotion_variation[j] = noise.next(n)[-1, 0]
        self._advance_blinks(hop_t, rate)
        self.hop = to_hop

    # -- events ----------------------------------------------------------------------------

    def _on_speech_start(self, t: float, pause_before_s: float) -> None:
        rng = self.gaze_rng
        chosen = rng.uniform() < _eyes.GLANCE_PROBABILITY
        side = -1.0 if rng.uniform() < 0.5 else 1.0
        glance = np.array(
            [side * rng.uniform(*_eyes.GLANCE_YAW_DEG), rng.uniform(*_eyes.GLANCE_PITCH_DEG)]
        )
        hold = rng.uniform(*_eyes.GLANCE_DURATION_S)
        if chosen and pause_before_s >= _eyes.GLANCE_AFTER_PAUSE_S:
            self.glance = (t, hold, glance)

    def _on_accent(self, t: float, strength: float) -> None:
        self.last_accent_s = t
        size = _head.NOD_DEG * (0.3 + 0.7 * strength) * self.brow_rng.uniform(0.6, 1.2)
        self.nods = [*(n for n in self.nods if n[0] > t - 2.0), (t, size)]
        if self.brow_rng.uniform() < _expr.BROW_PROBABILITY:
            height = np.clip(
                (0.08 + 0.15 * strength) * self.brow_rng.uniform(0.7, 1.3), 0.0, _expr.BROW_MAX
            )
            rise, hold, _ = _expr.BROW_SHAPE
            self.brows = [
                *(b for b in self.brows if b[0] > t - 2.0),
                (t + rise + hold / 2, float(height)),
            ]

    def _nods_at(self, hop_t: np.ndarray) -> np.ndarray:
        out = np.zeros(len(hop_t))
        half = 0.5 * _head.NOD_WIDTH_S
        for start, size in self.nods:
            phase = np.clip((hop_t - start - half) / half, -1.0, 1.0)
            out += size * 0.5 * (1.0 + np.cos(np.pi * phase))
        return out

    def _brow_at(self, t: float) -> float:
        value = 0.0
        for peak, height in self.brows:
            pulse = _tracks._pulse(np.array([t - peak]), *_expr.BROW_SHAPE)[0]
            value = max(value, height * float(pulse))
        return value

    def _advance_blinks(self, hop_t: np.ndarray, rate: np.ndarray) -> None:
        bumps = np.zeros(len(hop_t))
        for start in self.pause_starts:
            offset = (hop_t - start - _eyes.BLINK_PAUSE_DELAY_S) / _eyes.BLINK_PAUSE_WIDTH_S
            bumps += np.exp(-0.5 * offset**2)
        hazard = 1.0 + _eyes.BLINK_PAUSE_BOOST * bumps
        # Offline the hazard is normalized over the whole clip; live, over what has passed.
        self.hazard_sum += float(hazard.sum())
        self.hazard_count += len(hazard)
        hazard *= (rate / 60.0) / (self.hazard_sum / self.hazard_count)
        warped = self.warped + np.cumsum(hazard) / GRID_FPS
        k = _eyes.BLINK_INTERVAL_SHAPE
        rise, hold, _ = _eyes.BLINK_SHAPE
        for i in np.flatnonzero(warped >= self.next_blink_warped):
            if warped[i] < self.next_blink_warped:
                continue
            self.next_blink_warped += self.blink_rng.gamma(k, 1.0 / k)
            start = max(hop_t[i], self.last_blink_s + _eyes.BLINK_MIN_GAP_S)
            if start < _tracks.OPENING_STILL_S:
                continue
            # The lids start closing now; the closed plateau is centred on a frame.
            peak = round((start + rise + hold / 2) * self.fps) / self.fps
            self.last_blink_s = peak
            self.blinks = [*(b for b in self.blinks if b > hop_t[i] - 1.0), peak]
        self.warped = float(warped[-1])

    def _blink_at(self, t: float) -> float:
        value = 0.0
        for peak in self.blinks:
            value = max(value, float(_tracks._pulse(np.array([t - peak]), *_eyes.BLINK_SHAPE)[0]))
        return value

    def _natural_gaze(self, t: float) -> np.ndarray:
        start, previous, target, end = self.fixation
        while t >= end:
            rng = self.gaze_rng
            scale = _eyes.FIXATION_MEAN_S / _eyes.FIXATION_SHAPE
            duration = float(
                np.clip(rng.gamma(_eyes.FIXATION_SHAPE, scale), *_eyes.FIXATION_RANGE_S)
            )
            radius = rng.uniform(*_eyes.FIXATION_OFFSET_DEG)
            angle = rng.uniform(0.0, 2 * np.pi)
            off = rng.uniform() >= _eyes.FIXATION_ON_CAMERA and end > 0
            new: np.ndarray = np.array([radius * np.cos(angle), 0.6 * radius * np.sin(angle)]) * off
            start, previous, target, end = end, target, new, end + duration
            self.fixation = (start, previous, target, end)
        progress = float(smoothstep(np.array((t - start) / _eyes.SACCADE_S)))
        gaze = previous + progress * (target - previous)
        if self.glance is not None:
            begin, hold, away = self.glance
            saccade = _eyes.SACCADE_S
            if t > begin + hold + saccade:
                self.glance = None
            else:
                weight = float(
                    smoothstep(np.array((t - begin) / saccade))
                    * smoothstep(np.array((hold + saccade - (t - begin)) / saccade))
                )
                gaze = gaze + weight * (away - gaze)
        return gaze


def _prosody_hops(prosody: AudioFeatures, offset: int, n_hops: int) -> AudioFeatures:
    """Hops ``offset .. offset + n_hops`` of ``prosody``, silence where it has none."""
    fills = (-100.0, False, False, 0.0, 0.0)
    parts = []
    for values, fill in zip(
        (prosody.loudness_db, prosody.speech, prosody.voiced, prosody.pitch_hz, prosody.level),
        fills,
        strict=True,
    ):
        out = np.full(n_hops, fill, dtype=values.dtype)
        lo, hi = max(offset, 0), min(offset + n_hops, len(values))
        if hi > lo:
            out[lo - offset : hi - offset] = values[lo:hi]
        parts.append(out)
    return AudioFeatures(*parts)


def _on_grid(t_s: float) -> bool:
    """Whether ``t_s`` falls on the 10 ms feature grid."""
    hops = t_s / _HOP
    return abs(hops - round(hops)) < 1e-6
