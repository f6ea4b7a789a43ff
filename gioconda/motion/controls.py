"""Controls: what the user chooses about the motion, held still or changing over time.

The same names are used everywhere: fields of :class:`MotionControls`, CLI flags
(``--gaze``, ``--head-distance``, ``--emotion``, ``--emotion-strength``,
``--motion-intensity``, ``--blink-rate``) and the ``control`` of a keyframe.

========================  ===================================================================
control                   value
========================  ===================================================================
``gaze``                  ``"camera"`` (the default: the eyes hold the camera, with natural
                          glances away), or ``[yaw, pitch]`` in degrees relative to looking at
                          the camera: positive yaw looks toward the image's right, positive
                          pitch looks down (the sign convention of :mod:`gioconda.motion`);
                          yaw within +-35, pitch within +-25
``head_distance``         1.0 as in the photo; 0.8 further away (the head drawn 80% as big),
                          1.2 closer; 0.5 to 1.5. Neck, shoulders and background stay put.
``emotion``               one of :data:`EMOTIONS`: ``neutral``, ``happy``, ``sad``, ``angry``,
                          ``surprised``, ``disgusted``, ``fearful``, ``contempt``
``emotion_strength``      0 to 1 (default 1): how much of the emotion's preset shows
``motion_intensity``      0 to 5 (default 1): scale of head movement; 0 keeps the head still
``blink_rate``            blinks per minute, 0 to 120 (default 17)
========================  ===================================================================

Keyframes (``--controls FILE.json``)
------------------------------------
A JSON list of keyframes, sorted by time; each one moves one control to a new value::

    [
      {"time": 3.0, "control": "gaze", "value": [-20, 0]},
      {"time": 5.0, "control": "emotion", "value": "happy"},
      {"time": 5.0, "control": "emotion_strength", "value": 0.6, "transition": 1.0},
      {"time": 8.0, "control": "gaze", "value": "camera"}
    ]

- ``time``: seconds from the start of the clip (0 or more); times must not decrease down the
  list, and one control cannot have two keyframes at the same time.
- ``control`` and ``value``: as in the table above.
- ``transition`` (optional, seconds, default :data:`TRANSITION_S`): the control eases from
  where it is at ``time`` to the new value over this long, starting at ``time``.

Before a control's first keyframe it has the value given by the flag (or its default). So the
file above looks left from 3 s (arriving by 3.4 s), smiles from 5 s and looks back at the
camera from 8 s.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES, BS
from gioconda.options import option
from gioconda.timeline import smoothstep

#: Default easing time of a keyframe, in seconds.
TRANSITION_S = 0.4


#: Longest transition a keyframe may ask for, in seconds.
MAX_TRANSITION_S = 30.0


#: Emotions as ARKit blendshape sets at full strength (names in Live Link Face spelling).
#: Smiles involve the eyes (cheeks raised, lids narrowed: a Duchenne smile); the others follow
#: the facial action units of each basic emotion (Ekman's FACS), as ARKit names them.
EMOTIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {
        "MouthSmileLeft": 0.75, "MouthSmileRight": 0.75,
        "CheekSquintLeft": 0.55, "CheekSquintRight": 0.55,
        "EyeSquintLeft": 0.4, "EyeSquintRight": 0.4,
        "MouthDimpleLeft": 0.2, "MouthDimpleRight": 0.2,
    },
    "sad": {
        "BrowInnerUp": 0.8, "BrowDownLeft": 0.1, "BrowDownRight": 0.1,
        "MouthFrownLeft": 0.6, "MouthFrownRight": 0.6,
        "MouthShrugLower": 0.3, "EyeSquintLeft": 0.15, "EyeSquintRight": 0.15,
    },
    "angry": {
        "BrowDownLeft": 0.8, "BrowDownRight": 0.8,
        "EyeSquintLeft": 0.5, "EyeSquintRight": 0.5,
        "NoseSneerLeft": 0.3, "NoseSneerRight": 0.3,
        "MouthPressLeft": 0.4, "MouthPressRight": 0.4,
        "MouthFrownLeft": 0.3, "MouthFrownRight": 0.3,
    },
    "surprised": {
        "BrowInnerUp": 0.8, "BrowOuterUpLeft": 0.8, "BrowOuterUpRight": 0.8,
        "EyeWideLeft": 0.7, "EyeWideRight": 0.7, "JawOpen": 0.12,
    },
    "disgusted": {
        "NoseSneerLeft": 0.7, "NoseSneerRight": 0.7,
        "MouthUpperUpLeft": 0.4, "MouthUpperUpRight": 0.4,
        "BrowDownLeft": 0.4, "BrowDownRight": 0.4,
        "CheekSquintLeft": 0.3, "CheekSquintRight": 0.3,
        "MouthFrownLeft": 0.25, "MouthFrownRight": 0.25,
    },
    "fearful": {
        "BrowInnerUp": 0.8, "BrowOuterUpLeft": 0.3, "BrowOuterUpRight": 0.3,
        "EyeWideLeft": 0.6, "EyeWideRight": 0.6,
        "MouthStretchLeft": 0.4, "MouthStretchRight": 0.4,
    },
    "contempt": {"MouthSmileLeft": 0.55, "MouthDimpleLeft": 0.4, "EyeSquintLeft": 0.1},
}  # fmt: skip


#: Every control's name, as a field of :class:`MotionControls` and a keyframe's ``control``.
CONTROLS = (
    "gaze", "head_distance", "emotion", "emotion_strength", "motion_intensity", "blink_rate",
)  # fmt: skip


#: Ranges of the numeric controls (inclusive).
CONTROL_RANGES: dict[str, tuple[float, float]] = {
    "head_distance": (0.5, 1.5),
    "emotion_strength": (0.0, 1.0),
    "motion_intensity": (0.0, 5.0),
    "blink_rate": (0.0, 120.0),
}


#: Largest gaze angles, (yaw, pitch) in degrees.
GAZE_LIMIT_DEG = (35.0, 25.0)


def _check_emotions() -> None:
    for name, shapes in EMOTIONS.items():
        unknown = set(shapes) - set(BS)
        assert not unknown, f"emotion {name} names unknown blendshapes {unknown}"


_check_emotions()


def gaze_value(value: object) -> tuple[float, float] | None:
    """A gaze control value as (yaw, pitch) degrees, or None for the camera.

    Accepts ``None``, ``"camera"``, a ``"yaw,pitch"`` string or a pair of numbers.

    Raises
    ------
    GiocondaError: anything else, or angles beyond :data:`GAZE_LIMIT_DEG`.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() == "camera"):
        return None
    if isinstance(value, str):
        parts = value.split(",")
        try:
            pair = tuple(float(p) for p in parts)
        except ValueError:
            pair = ()
    elif isinstance(value, Sequence) and all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in value
    ):
        pair = tuple(float(v) for v in value)
    else:
        pair = ()
    if len(pair) != 2 or not all(math.isfinite(v) for v in pair):
        raise GiocondaError(f"gaze must be 'camera' or yaw,pitch in degrees, got {value!r}")
    yaw, pitch = pair
    if abs(yaw) > GAZE_LIMIT_DEG[0] or abs(pitch) > GAZE_LIMIT_DEG[1]:
        raise GiocondaError(
            f"gaze yaw must be within +-{GAZE_LIMIT_DEG[0]:g} and pitch within "
            f"+-{GAZE_LIMIT_DEG[1]:g} degrees, got {yaw:g},{pitch:g}"
        )
    return (yaw, pitch)


def emotion_value(value: object) -> str:
    """An emotion's name, lower-cased; raises GiocondaError for names not in :data:`EMOTIONS`."""
    name = value.strip().lower() if isinstance(value, str) else None
    if name not in EMOTIONS:
        raise GiocondaError(f"unknown emotion {value!r}; one of {', '.join(EMOTIONS)}")
    return name


def number_value(control: str, value: object) -> float:
    """A numeric control's value, checked against :data:`CONTROL_RANGES`."""
    lo, hi = CONTROL_RANGES[control]
    if (
        not isinstance(value, int | float | np.number)
        or isinstance(value, bool)
        or not (math.isfinite(float(value)) and lo <= float(value) <= hi)
    ):
        raise GiocondaError(f"{control} must be a number from {lo:g} to {hi:g}, got {value!r}")
    return float(value)


def control_value(control: str, value: object) -> float | str | tuple[float, float] | None:
    """``value`` checked and normalized for ``control`` (any name in :data:`CONTROLS`)."""
    if control == "gaze":
        return gaze_value(value)
    if control == "emotion":
        return emotion_value(value)
    if control in CONTROL_RANGES:
        return number_value(control, value)
    raise GiocondaError(f"unknown control {control!r}; one of {', '.join(CONTROLS)}")


def emotion_vector(name: str) -> np.ndarray:
    """An emotion's blendshapes at full strength: (52,) float64 in ARKit order."""
    out = np.zeros(len(ARKIT_BLENDSHAPES))
    for shape, weight in EMOTIONS[emotion_value(name)].items():
        out[BS[shape]] = weight
    return out


@dataclass(frozen=True)
class Keyframe:
    """From ``time_s`` on, ``control`` eases to ``value`` over ``transition_s`` seconds."""

    time_s: float
    control: str
    value: float | str | tuple[float, float] | None
    transition_s: float = TRANSITION_S

    def __post_init__(self) -> None:
        if not (isinstance(self.time_s, int | float) and math.isfinite(self.time_s)):
            raise GiocondaError(f"keyframe time must be a number of seconds, got {self.time_s!r}")
        if self.time_s < 0:
            raise GiocondaError(f"keyframe time must be 0 or more, got {self.time_s:g}")
        transition_ok = isinstance(self.transition_s, int | float) and not isinstance(
            self.transition_s, bool
        )
        if not (transition_ok and 0 <= self.transition_s <= MAX_TRANSITION_S):
            raise GiocondaError(
                f"keyframe transition must be 0 to {MAX_TRANSITION_S:g} s, "
                f"got {self.transition_s!r}"
            )
        object.__setattr__(self, "value", control_value(self.control, self.value))


@dataclass(frozen=True)
class MotionControls:
    """What the caller chooses about the motion, beyond what the speech decides.

    Attributes
    ----------
    seed: seeds everything the speech does not dictate (head, blinks, gaze, brows, the
        emotion's micro-variation); the mouth follows the speech alone and does not depend on it
    gaze: (yaw, pitch) in degrees to look at, or None to hold the camera (see the module doc)
    head_distance: apparent head size, 1.0 as in the photo, 1.2 closer, 0.8 further
    emotion: one of :data:`EMOTIONS`, held across the clip with small variation
    emotion_strength: 0 to 1, how much of the emotion shows
    motion_intensity: scale of head movement; 0 keeps the head still, 1 is a typical speaker on
        camera, 2 an animated one
    blink_rate: mean blinks per minute (people blink about 10-25 times a minute while talking);
        0 for none
    keyframes: changes over time, sorted by time (see :func:`read_keyframes`)
    """

    seed: int = option(0, "seed for head motion, blinks and gaze (the mouth follows the speech)")
    gaze: tuple[float, float] | None = option(
        None,
        "where the eyes look, in degrees from the camera (+yaw: toward the image's right, "
        "+pitch: down), or 'camera' (with natural glances)",
        metavar="YAW,PITCH",
        parse=str,
        show="camera",
    )
    head_distance: float = option(
        1.0, "head size: 1.0 as in the photo, 0.8 further away, 1.2 closer", metavar="F"
    )
    emotion: str = option(
        "neutral", f"expression held across the clip: {', '.join(EMOTIONS)}", metavar="NAME"
    )
    emotion_strength: float = option(1.0, "how much of the emotion shows, 0 to 1", metavar="S")
    motion_intensity: float = option(
        1.0, "scale of head movement: 0 still, 1 typical, 2 animated", metavar="F"
    )
    blink_rate: float = option(17.0, "blinks per minute, 0 for none", metavar="N")
    keyframes: tuple[Keyframe, ...] = option(
        (),
        'keyframes that change the controls over time: a JSON list of {"time": s, '
        '"control": name, "value": ...} (format in gioconda/motion/controls.py)',
        flag="--controls",
        metavar="FILE.json",
        parse=lambda path: read_keyframes(path),
        show="none",
    )

    def __post_init__(self) -> None:
        if not (isinstance(self.seed, int | np.integer) and self.seed >= 0):
            raise GiocondaError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name in CONTROLS:
            object.__setattr__(self, name, control_value(name, getattr(self, name)))
        keyframes = tuple(self.keyframes)
        if not all(isinstance(k, Keyframe) for k in keyframes):
            raise GiocondaError("keyframes must be Keyframe objects")
        check_keyframe_order(keyframes)
        object.__setattr__(self, "keyframes", keyframes)


def check_keyframe_order(keyframes: Sequence[Keyframe]) -> None:
    """Raise GiocondaError unless times never decrease and no control repeats at one time."""
    seen: set[tuple[float, str]] = set()
    for i, key in enumerate(keyframes):
        if i and key.time_s < keyframes[i - 1].time_s:
            raise GiocondaError(
                f"keyframes must be sorted by time: keyframe {i + 1} at {key.time_s:g} s "
                f"comes after one at {keyframes[i - 1].time_s:g} s"
            )
        if (key.time_s, key.control) in seen:
            raise GiocondaError(f"two keyframes for {key.control} at {key.time_s:g} s")
        seen.add((key.time_s, key.control))


_KEYFRAME_FIELDS = {"time", "control", "value", "transition"}


def parse_keyframes(document: object, source: str = "keyframes") -> tuple[Keyframe, ...]:
    """Keyframes from parsed JSON (a list of objects; see the module docstring).

    Raises
    ------
    GiocondaError: naming the keyframe (1-based) and what is wrong with it.
    """
    if not isinstance(document, list):
        raise GiocondaError(f"{source}: expected a JSON list of keyframes")
    keyframes = []
    for i, item in enumerate(document, start=1):
        where = f"{source}, keyframe {i}"
        if not isinstance(item, dict):
            raise GiocondaError(f"{where}: expected an object with time, control and value")
        unknown = set(item) - _KEYFRAME_FIELDS
        if unknown:
            raise GiocondaError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        missing = [name for name in ("time", "control", "value") if name not in item]
        if missing:
            raise GiocondaError(f"{where}: lacks {', '.join(missing)}")
        time_s = item["time"]
        if isinstance(time_s, bool) or not isinstance(time_s, int | float):
            raise GiocondaError(f"{where}: time must be a number of seconds, got {time_s!r}")
        try:
            keyframes.append(
                Keyframe(
                    float(time_s),
                    str(item["control"]),
                    item["value"],
                    item.get("transition", TRANSITION_S),
                )
            )
        except GiocondaError as error:
            raise GiocondaError(f"{where}: {error}") from None
    try:
        check_keyframe_order(keyframes)
    except GiocondaError as error:
        raise GiocondaError(f"{source}: {error}") from None
    return tuple(keyframes)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a keyframe can hold")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large a number")
    return value


def read_keyframes(path: str | os.PathLike[str]) -> tuple[Keyframe, ...]:
    """Read a keyframe file (JSON, see the module docstring).

    Raises
    ------
    GiocondaError: the file is missing, not JSON, or a keyframe is malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise GiocondaError(f"controls file not found: {path}")
    try:
        document = json.loads(
            path.read_text(encoding="utf-8-sig"), parse_constant=_no_constant, parse_float=_finite
        )
    except (OSError, UnicodeDecodeError) as error:
        raise GiocondaError(f"cannot read controls file {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise GiocondaError(f"controls file {path} is not valid JSON: {error}") from None
    except RecursionError:
        raise GiocondaError(f"controls file {path} is nested too deeply to be keyframes") from None
    except ValueError as error:  # NaN, Infinity, 1e999
        raise GiocondaError(f"controls file {path}: {error}") from None
    return parse_keyframes(document, str(path))


def _as_vector(control: str, value: object, previous: np.ndarray | None) -> np.ndarray:
    """A control value as a vector that can be eased toward another.

    Gaze is (weight, yaw, pitch): weight 1 holds the commanded direction, 0 leaves the eyes to
    their natural motion; "camera" keeps the previous direction with weight 0, so the eyes
    ease back from where they were instead of sweeping through the middle. An emotion is its
    blendshape vector; numbers are themselves.
    """
    if control == "gaze":
        if value is None:
            held = previous[1:] if previous is not None else np.zeros(2)
            return np.concatenate([[0.0], held])
        return np.array([1.0, *cast(tuple[float, float], value)])
    if control == "emotion":
        return emotion_vector(str(value))
    return np.array([float(cast(float, value))])


def control_track(controls: MotionControls, control: str, times_s: np.ndarray) -> np.ndarray:
    """A control's value at each of ``times_s``: (n, k) float64.

    k is 1 for numeric controls, 3 for gaze (weight, yaw, pitch; see :func:`_as_vector`) and
    52 for emotion (the preset's blendshapes, before ``emotion_strength``). Each keyframe eases
    the value with a smoothstep from wherever it is at the keyframe's time to the new value.
    """
    if control not in CONTROLS:
        raise GiocondaError(f"unknown control {control!r}; one of {', '.join(CONTROLS)}")
    times_s = np.asarray(times_s, np.float64)
    base = _as_vector(control, getattr(controls, control), None)
    out = np.repeat(base[None, :], len(times_s), axis=0)
    current = base  # the value at the latest keyframe's time, once its ease ends
    for key in (k for k in controls.keyframes if k.control == control):
        # The value at this keyframe's time, from the easing that was under way then.
        start = _value_at(out, times_s, key.time_s, current)
        target = _as_vector(control, key.value, start)
        after = times_s >= key.time_s
        if key.transition_s > 0:
            progress = smoothstep((times_s[after] - key.time_s) / key.transition_s)
        else:
            progress = np.ones(int(after.sum()))
        out[after] = start + progress[:, None] * (target - start)
        current = target
    return out


def _value_at(track: np.ndarray, times_s: np.ndarray, t: float, fallback: np.ndarray) -> np.ndarray:
    """The track interpolated at time ``t`` (the fallback beyond its last sample)."""
    if len(times_s) == 0 or t > times_s[-1]:
        return fallback
    return np.array([np.interp(t, times_s, track[:, j]) for j in range(track.shape[1])])
