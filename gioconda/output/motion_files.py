"""Motion as files: Live Link Face's CSV columns (Timecode, BlendShapeCount, the 52 ARKit
blendshapes, head and eye angles) or Gioconda's JSON (every channel), written and read back.

The CSV holds what Live Link Face itself writes, so that the tools that import its recordings
read ours the same way:

- **Angles in radians** (HeadYaw, HeadPitch, HeadRoll and the eye angles). Live Link Face's own
  recordings hold radians: eyes looking down (EyeLookDown 0.28) carry an eye pitch of 0.17,
  10 degrees, and importers such as Diffeomorphic's for Blender put the values straight into
  Euler rotations, which are radians. The JSON keeps degrees (its keys say so).
- **One row per frame at the file's rate**: importers key one frame per row (or per timecode
  frame), so a file at another rate than the scene's plays too fast or too slow. Live Link Face
  records at 60 frames per second (:data:`LIVE_LINK_FACE_FPS`); ``gioconda animate
  --motion-out x.csv`` writes that rate unless ``--motion-fps`` says another, resampling the
  video's motion (:func:`resample_motion`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES
from gioconda.motion.frames import Motion
from gioconda.output.files import _atomic_file, check_writable
from gioconda.output.video import video_frame_rate

#: Live Link Face's own recording rate, frames per second: what its importers expect.
LIVE_LINK_FACE_FPS = 60.0


#: Frame rate assumed for a motion CSV whose timecodes do not tell it.
DEFAULT_FPS = 25.0


#: Decimals written for every motion value (CSV and JSON).
MOTION_DECIMALS = 6


#: The JSON motion format's name and version, checked on reading.
MOTION_FORMAT = "gioconda-motion"


MOTION_VERSION = 1


#: Live Link Face's columns after the blendshapes.
CSV_ANGLE_COLUMNS = (
    "HeadYaw", "HeadPitch", "HeadRoll",
    "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)  # fmt: skip


#: The full CSV header, exactly as Live Link Face writes it.
CSV_COLUMNS = ("Timecode", "BlendShapeCount", *ARKIT_BLENDSHAPES, *CSV_ANGLE_COLUMNS)


CSV_BLENDSHAPE_COUNT = len(ARKIT_BLENDSHAPES) + len(CSV_ANGLE_COLUMNS)  # 61


# Frame rates that a short CSV's frame numbers are checked against when they cannot tell it.
_COMMON_RATES = (24, 25, 30, 48, 50, 60, 72, 90, 100, 120, 144, 240)


_TIMECODE = re.compile(r"^(\d+):(\d\d):(\d\d)[:;](\d+)(?:\.(\d+))?$")


def check_motion_path(path: str | os.PathLike[str]) -> None:
    """Check before any work that a motion file can be written at ``path`` (suffix, folder).

    Raises
    ------
    GiocondaError: as :func:`write_motion` would, a run later.
    """
    _motion_format(path)
    check_writable(path)


def resample_motion(motion: Motion, fps: float) -> Motion:
    """The same motion at another frame rate: every channel interpolated linearly in time.

    Frame ``k`` of the result is the motion at ``k / fps`` seconds; the result covers the
    same duration (``len(motion) / motion.fps``), rounded to whole frames.
    """
    if not (math.isfinite(fps) and fps > 0):
        raise GiocondaError(f"motion frame rate must be a positive number, got {fps}")
    if fps == motion.fps:
        return motion
    n_out = max(1, round(len(motion) * fps / motion.fps))
    times_in = np.arange(len(motion)) / motion.fps
    times_out = np.arange(n_out) / fps

    def at(values: np.ndarray) -> np.ndarray:
        flat = values.reshape(len(motion), -1)
        out = np.stack([np.interp(times_out, times_in, flat[:, j]) for j in range(flat.shape[1])])
        return out.T.reshape((n_out, *values.shape[1:])).astype(values.dtype)

    return Motion(
        fps,
        at(motion.blendshapes),
        at(motion.head_rotation_deg),
        at(motion.head_translation),
        at(motion.head_scale),
        at(motion.gaze_deg),
    )


def write_motion(motion: Motion, path: str | os.PathLike[str], fps: float | None = None) -> None:
    """Write motion as Live Link Face CSV or Gioconda JSON, chosen by the suffix.

    See the module docstring for both layouts. The file is written atomically.

    Parameters
    ----------
    motion: the motion to write
    path: a ``.csv`` or ``.json`` file
    fps: rows per second, the motion resampled to it (:func:`resample_motion`); None keeps
        the motion's own rate

    Raises
    ------
    GiocondaError: another suffix, or the folder is missing or not writable.
    """
    writer, _ = _motion_format(path)
    if fps is not None:
        motion = resample_motion(motion, fps)
    with _atomic_file(path) as temp:
        temp.write_text(writer(motion), encoding="utf-8", newline="")


def read_motion(path: str | os.PathLike[str]) -> Motion:
    """Read motion written by :func:`write_motion` (or a Live Link Face CSV).

    Values come back as written (six decimals). A CSV has no head translation or scale
    (they come back as 0 and 1) and its frame rate is recovered from the timecodes.

    Raises
    ------
    GiocondaError: missing file, unknown suffix, or a malformed file (the message says
        what is wrong and where).
    """
    _, reader = _motion_format(path)
    path = Path(path)
    if not path.is_file():
        raise GiocondaError(f"motion file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: tolerate a BOM from spreadsheets
    except (OSError, UnicodeDecodeError) as error:
        raise GiocondaError(f"cannot read motion file {path}: {error}") from None
    return reader(text, path)


_MotionWriter = Callable[[Motion], str]


_MotionReader = Callable[[str, Path], Motion]


def _motion_format(path: str | os.PathLike[str]) -> tuple[_MotionWriter, _MotionReader]:
    suffix = Path(path).suffix.lower()
    formats: dict[str, tuple[_MotionWriter, _MotionReader]] = {
        ".csv": (_motion_to_csv, _motion_from_csv),
        ".json": (_motion_to_json, _motion_from_json),
    }
    if suffix not in formats:
        raise GiocondaError(f"motion file must end in .csv or .json, got {Path(path).name!r}")
    return formats[suffix]


def _rounded(values: np.ndarray) -> np.ndarray:
    """Values as written: float64 rounded to six decimals, without negative zeros."""
    return np.round(np.asarray(values, np.float64), MOTION_DECIMALS) + 0.0


def _timecode(frame: int, fps: Fraction, nominal: int) -> str:
    """``HH:MM:SS:FF.mmm`` of frame ``frame``; FF at ``nominal`` fps, mmm in 1/1000 frame."""
    t = frame / fps
    seconds = math.floor(t)
    thousandths = round((t - seconds) * nominal * 1000)
    if thousandths >= nominal * 1000:  # rounded up into the next second
        seconds, thousandths = seconds + 1, 0
    ff, mmm = divmod(thousandths, 1000)
    hh, rest = divmod(seconds, 3600)
    mm, ss = divmod(rest, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}.{mmm:03d}"


def _motion_to_csv(motion: Motion) -> str:
    fps = video_frame_rate(motion.fps)
    nominal = math.ceil(fps)
    eyes = eyes_in_head(motion.gaze_deg, motion.head_rotation_deg)
    zeros = np.zeros((len(motion), 1))
    values = np.concatenate(
        [
            _rounded(motion.blendshapes),
            np.round(
                np.concatenate(
                    [
                        np.radians(motion.head_rotation_deg),  # Live Link Face's unit
                        np.radians(eyes),
                        zeros,
                        np.radians(eyes),
                        zeros,
                    ],
                    axis=1,
                ),
                MOTION_DECIMALS + 3,
            )
            + 0.0,
        ],
        axis=1,
    )
    out = io.StringIO()
    out.write(",".join(CSV_COLUMNS) + "\n")
    number = f"%.{MOTION_DECIMALS}f"
    # Angles in radians get three more decimals: the same precision as degrees at six.
    angle = f"%.{MOTION_DECIMALS + 3}f"
    n_shapes = len(ARKIT_BLENDSHAPES)
    for i, row in enumerate(values):
        cells = [_timecode(i, fps, nominal), str(CSV_BLENDSHAPE_COUNT)]
        cells += [number % v for v in row[:n_shapes]]
        cells += [angle % v for v in row[n_shapes:]]
        out.write(",".join(cells) + "\n")
    return out.getvalue()


def _motion_from_csv(text: str, path: Path) -> Motion:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise GiocondaError(f"motion CSV is empty: {path}")
    header = {name.strip().lower(): j for j, name in enumerate(rows[0])}
    # BlendShapeCount and the eye rolls carry nothing Gioconda uses; everything else must be there.
    needed = ("Timecode", *ARKIT_BLENDSHAPES, *CSV_ANGLE_COLUMNS)
    needed = tuple(name for name in needed if not name.endswith("EyeRoll"))
    missing = [name for name in needed if name.lower() not in header]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise GiocondaError(f"motion CSV {path} lacks the Live Link Face columns {shown}")
    if len(rows) < 2:
        raise GiocondaError(f"motion CSV has no frames: {path}")
    columns = [header[name.lower()] for name in needed[1:]]
    timecode_column = header["timecode"]

    seconds, frames, values = [], [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) < len(rows[0]):
            raise GiocondaError(
                f"motion CSV {path}, line {line}: {len(row)} fields, expected {len(rows[0])}"
            )
        match = _TIMECODE.match(row[timecode_column].strip())
        if match is None:
            raise GiocondaError(
                f"motion CSV {path}, line {line}: bad timecode {row[timecode_column]!r} "
                "(expected HH:MM:SS:FF.mmm)"
            )
        hh, mm, ss, ff, sub = match.groups()
        seconds.append(int(hh) * 3600 + int(mm) * 60 + int(ss))
        frames.append(int(ff) + (int(sub) / 10 ** len(sub) if sub else 0.0))
        try:
            values.append([float(row[j]) for j in columns])
        except ValueError:
            raise GiocondaError(
                f"motion CSV {path}, line {line}: a value is not a number"
            ) from None
        if not all(math.isfinite(v) for v in values[-1]):
            raise GiocondaError(f"motion CSV {path}, line {line}: a value is not finite")

    data = np.asarray(values, np.float64)
    n_shapes = len(ARKIT_BLENDSHAPES)
    # Radians in the file (Live Link Face's unit), degrees in the Motion.
    head = np.degrees(data[:, n_shapes : n_shapes + 3])
    left_eye = np.degrees(data[:, n_shapes + 3 : n_shapes + 5])
    right_eye = np.degrees(data[:, n_shapes + 5 : n_shapes + 7])
    n = len(data)
    return Motion(
        fps=_fps_from_timecodes(np.asarray(seconds), np.asarray(frames), path),
        blendshapes=data[:, :n_shapes].astype(np.float32),
        head_rotation_deg=head.astype(np.float32),
        head_translation=np.zeros((n, 2), np.float32),
        head_scale=np.ones(n, np.float32),
        gaze_deg=gaze_from_eyes((left_eye + right_eye) / 2, head).astype(np.float32),
    )


def eyes_in_head(gaze_deg: np.ndarray, head_rotation_deg: np.ndarray) -> np.ndarray:
    """Eye yaw and pitch in the head (Live Link Face's eye angles) from a camera-relative gaze.

    Parameters
    ----------
    gaze_deg: (T, 2) gaze yaw and pitch relative to looking at the camera, degrees
    head_rotation_deg: (T, 3) head yaw, pitch, roll, degrees

    Returns
    -------
    (T, 2) float64: how far the eyes are turned from straight ahead in the head.
    """
    return np.asarray(gaze_deg, np.float64) - np.asarray(head_rotation_deg, np.float64)[:, :2]


def gaze_from_eyes(eyes_deg: np.ndarray, head_rotation_deg: np.ndarray) -> np.ndarray:
    """The inverse of :func:`eyes_in_head`: camera-relative gaze, (T, 2) float64."""
    return np.asarray(eyes_deg, np.float64) + np.asarray(head_rotation_deg, np.float64)[:, :2]


def _fps_from_timecodes(seconds: np.ndarray, frames: np.ndarray, path: Path) -> float:
    """Frame rate of consecutive frames with timecodes ``seconds`` + ``frames`` / nominal.

    The nominal rate (what ``FF`` counts at) is not in the file either: it shows where the
    second changes, as the jump that makes the step across the boundary equal the others.
    """
    if len(seconds) < 2:
        return DEFAULT_FPS
    step_s, step_frames = np.diff(seconds), np.diff(frames)
    within = step_s == 0
    across = step_s > 0
    step = float(np.median(step_frames[within])) if within.any() else 1.0  # in nominal frames
    if not within.any():
        nominal = 1  # at most one frame a second: the rate _timecode writes for fps <= 1
    elif across.any():
        nominal = round(float(np.median((step - step_frames[across]) / step_s[across])))
    else:  # shorter than a second: the file cannot say, so take the likeliest rate
        largest = int(frames.max())
        fitting = [r for r in _COMMON_RATES if r > largest and r >= DEFAULT_FPS]
        nominal = fitting[0] if fitting else largest + 1
    times = seconds + frames / max(nominal, 1)
    if np.any(np.diff(times) <= 0):
        line = int(np.argmax(np.diff(times) <= 0)) + 3  # +1 header, +1 one-based, +1 diff
        raise GiocondaError(f"motion CSV {path}, line {line}: timecodes do not increase")
    by_span = (len(times) - 1) / float(times[-1] - times[0])
    if not within.any():
        return round(by_span, 3)
    by_step = max(nominal, 1) / step
    # The span is exact to the timecodes' precision; the median step survives dropped frames.
    fps = by_span if abs(by_span / by_step - 1) < 0.005 else by_step
    return round(fps, 3)


def _motion_to_json(motion: Motion) -> str:
    def channels(values: np.ndarray, names: tuple[str, ...]) -> dict[str, list[float]]:
        return {name: _rounded(values[:, j]).tolist() for j, name in enumerate(names)}

    document = {
        "format": MOTION_FORMAT,
        "version": MOTION_VERSION,
        "fps": float(motion.fps),
        "frame_count": len(motion),
        "time_s": _rounded(np.arange(len(motion)) / motion.fps).tolist(),
        "blendshape_names": list(ARKIT_BLENDSHAPES),
        "blendshapes": channels(motion.blendshapes, ARKIT_BLENDSHAPES),
        "head_rotation_deg": channels(motion.head_rotation_deg, ("yaw", "pitch", "roll")),
        "head_translation": channels(motion.head_translation, ("x", "y")),
        "head_scale": _rounded(motion.head_scale).tolist(),
        "gaze_deg": channels(motion.gaze_deg, ("yaw", "pitch")),
    }
    return _json_text(document) + "\n"


def _json_text(value: object, indent: str = "") -> str:
    """JSON with objects indented and every array on one line: readable, diffable, compact."""
    if isinstance(value, dict):
        inner = indent + "  "
        items = [f"{inner}{json.dumps(key)}: {_json_text(v, inner)}" for key, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return json.dumps(value)


def _motion_from_json(text: str, path: Path) -> Motion:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise GiocondaError(f"motion JSON {path} is not valid JSON: {error}") from None
    except RecursionError:
        raise GiocondaError(f"motion JSON {path} is nested too deeply to be a motion") from None
    if not isinstance(document, dict) or document.get("format") != MOTION_FORMAT:
        raise GiocondaError(
            f'{path} is not a Gioconda motion file (no "format": "{MOTION_FORMAT}")'
        )
    if document.get("version") != MOTION_VERSION:
        raise GiocondaError(
            f"motion JSON {path} has version {document.get('version')!r}; "
            f"this Gioconda reads version {MOTION_VERSION}"
        )

    def field(name: str) -> object:
        if name not in document:
            raise GiocondaError(f"motion JSON {path} lacks {name!r}")
        return document[name]

    def track(where: str, values: object) -> np.ndarray:
        problem = GiocondaError(f"motion JSON {path}: {where} must be a list of numbers")
        try:
            array = np.asarray(values, np.float64)
        except (TypeError, ValueError):
            raise problem from None
        if array.ndim != 1 or not np.all(np.isfinite(array)):
            raise problem
        return array

    def columns(name: str, keys: tuple[str, ...]) -> np.ndarray:
        group = field(name)
        if not isinstance(group, dict):
            raise GiocondaError(f"motion JSON {path}: {name!r} must be an object of lists")
        by_key = {str(key).lower(): v for key, v in group.items()}
        missing = [key for key in keys if key.lower() not in by_key]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise GiocondaError(f"motion JSON {path}: {name!r} lacks {shown}")
        return np.stack([track(f"{name}.{key}", by_key[key.lower()]) for key in keys], axis=1)

    fps = field("fps")
    if not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise GiocondaError(f"motion JSON {path}: fps must be a positive number, got {fps!r}")
    try:
        arrays = [
            columns("blendshapes", ARKIT_BLENDSHAPES),
            columns("head_rotation_deg", ("yaw", "pitch", "roll")),
            columns("head_translation", ("x", "y")),
            track("head_scale", field("head_scale")),
            columns("gaze_deg", ("yaw", "pitch")),
        ]
    except ValueError:  # np.stack: channels of different lengths
        raise GiocondaError(f"motion JSON {path}: channels have different lengths") from None
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise GiocondaError(f"motion JSON {path}: channels have different lengths")
    if lengths == {0}:
        raise GiocondaError(f"motion JSON {path} has no frames")
    return Motion(float(fps), *(a.astype(np.float32) for a in arrays))
