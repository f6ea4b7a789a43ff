"""Out: everything that leaves the pipeline as a file.

- :class:`Mp4Writer`: the video, H.264 + AAC in an MP4 that browsers play, frame by frame.
- :func:`write_motion` / :func:`read_motion`: the motion itself, as CSV or JSON (by suffix).

Every file is written atomically: to a temporary file next to the target, moved into place
with :func:`os.replace` only once it is complete, so a crash or an error never leaves a
half-written file at the target path. :func:`check_writable` tells early (before any work)
whether a path can be written at all.

Motion CSV (``.csv``)
---------------------
The Live Link Face layout, one row per frame::

    Timecode,BlendShapeCount,EyeBlinkLeft,...,TongueOut,HeadYaw,HeadPitch,HeadRoll,
    LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll

- ``Timecode`` is ``HH:MM:SS:FF.mmm`` from ``00:00:00:00``: ``FF`` counts frames within
  the second at the nominal (whole-number) rate ``ceil(fps)`` and ``.mmm`` is the subframe in
  thousandths of a frame, as Live Link Face writes it. At a whole-number fps every frame
  falls on a frame boundary and ``.mmm`` is always ``.000``; at 29.97 fps frame 30 is
  ``00:00:01:00.030``.
- ``BlendShapeCount`` is 61 (52 blendshapes and 9 angles), the 52 blendshapes are in
  :data:`~gioconda.blendshapes.ARKIT_BLENDSHAPES` order, values in [0, 1].
- **Angles are in degrees** (``HeadYaw``, ``HeadPitch``, ``HeadRoll`` and the eye angles), in
  the sign convention of :mod:`gioconda.motion`, not converted to another tool's axes.
- Eye angles are the eyes' turn **in the head**, as Live Link Face records them: the motion's
  gaze (relative to the camera) minus the head's yaw and pitch. Both eyes get the same angles;
  eye roll is 0. Reading adds the head's angles back, so the gaze round-trips.
- Values are written with six decimals.
- The CSV has no place for head translation and scale: :func:`read_motion` gives translation
  0 and scale 1. The frame rate is recovered from the timecodes (to three decimals); a file
  with one frame, or one that never reaches its second second at a whole-number rate, cannot
  tell it and is read at :data:`DEFAULT_FPS` (or the smallest common rate its frame numbers
  allow).

Motion JSON (``.json``)
-----------------------
Columnar: one array per animated channel, all of length ``frame_count``, so each array maps
directly onto an animation curve (a Blender F-curve's keyframes, a three.js
``NumberKeyframeTrack``'s values, with ``time_s`` as its times)::

    {
      "format": "gioconda-motion",
      "version": 1,
      "fps": 25.0,
      "frame_count": 3,
      "time_s": [0.0, 0.04, 0.08],
      "blendshape_names": ["EyeBlinkLeft", ..., "TongueOut"],
      "blendshapes": {"EyeBlinkLeft": [0.0, 0.1, 0.2], ..., "TongueOut": [0.0, 0.0, 0.0]},
      "head_rotation_deg": {"yaw": [...], "pitch": [...], "roll": [...]},
      "head_translation": {"x": [...], "y": [...]},
      "head_scale": [1.0, 1.0, 1.0],
      "gaze_deg": {"yaw": [...], "pitch": [...]}
    }

``blendshape_names`` gives the channel order (JSON objects are unordered); names are the
Live Link Face spelling (ARKit's own ``jawOpen`` is ``JawOpen``) and are matched without
regard to case when read. Units and sign conventions are those of
:class:`~gioconda.motion.Motion`: degrees, face widths, scale relative to the photo. Values
are rounded to six decimals; each top-level array is on its own line.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from gioconda.audio import Audio, resample
from gioconda.blendshapes import ARKIT_BLENDSHAPES
from gioconda.errors import GiocondaError
from gioconda.motion import Motion

#: Sample rate of the AAC audio in the MP4.
AUDIO_SAMPLE_RATE = 48_000
#: AAC bit rate: transparent for a mono voice.
AUDIO_BIT_RATE = 96_000
#: x264 speed presets, fastest first (``veryfast`` encodes 512x512 at ~300 fps on 2 cores).
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
    "veryslow", "placebo",
)  # fmt: skip

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


# --------------------------------------------------------------------------------------
# Atomic files


def check_writable(path: str | os.PathLike[str]) -> None:
    """Check that a file can be written at ``path``, without leaving anything behind.

    Call it before long work so that a bad ``-o`` fails in a second, not after rendering.

    Raises
    ------
    GiocondaError: the folder is missing, is not a folder, or cannot be written, or
        ``path`` is itself a folder.
    """
    target = Path(path)
    folder = target.parent
    if not folder.exists():
        raise GiocondaError(f"output folder does not exist: {folder}")
    if not folder.is_dir():
        raise GiocondaError(f"cannot write into {folder}: not a folder")
    if target.is_dir():
        raise GiocondaError(f"output path is a folder, not a file: {target}")
    # Try it for real: permission bits, read-only mounts and ACLs all show up here, and
    # os.access() would say yes to root regardless.
    _remove(_reserve_temp(target))


def _reserve_temp(target: Path) -> Path:
    """Create an empty, uniquely named hidden file next to ``target`` and return its path."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        # O_EXCL: never clobber someone else's file; mode 0o666 lets the umask decide, so the
        # final file gets the same permissions as one written with open().
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as error:
        raise GiocondaError(f"cannot write to {target.parent}: {error.strerror}") from None
    return temp


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _commit(temp: Path, target: Path) -> None:
    """Move a complete temporary file into place, or remove it and explain."""
    try:
        os.replace(temp, target)
    except OSError as error:
        _remove(temp)
        raise GiocondaError(f"cannot write {target}: {error.strerror}") from None


@contextmanager
def _atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; it becomes ``path`` only if the block succeeds."""
    target = Path(path)
    check_writable(target)
    temp = _reserve_temp(target)
    try:
        yield temp
    except BaseException:
        _remove(temp)
        raise
    _commit(temp, target)


# --------------------------------------------------------------------------------------
# Video


def video_frame_rate(fps: float | Fraction) -> Fraction:
    """The exact rational frame rate the MP4 uses for ``fps`` (29.97 -> 2997/100)."""
    try:
        valid = math.isfinite(fps) and fps > 0
    except TypeError:
        valid = False
    if not valid:
        raise GiocondaError(f"frame rate must be a positive number, got {fps!r}")
    rate = fps if isinstance(fps, Fraction) else Fraction(float(fps))
    return rate.limit_denominator(1001)


class Mp4Writer:
    """Write RGB frames and optional audio to an H.264 + AAC MP4 that browsers play.

    Frame ``n`` (counting from 0) is shown at exactly ``n / fps`` seconds: its timestamp
    is ``n`` in a time base of ``1 / fps``. The video is 8-bit yuv420p, BT.709, limited
    range, tagged as such; ``+faststart`` puts the index first so playback starts before the
    download ends. yuv420p needs even sizes: with an odd ``width`` or ``height`` the last
    column or row of every frame is dropped.

    The audio, if any, is encoded as mono AAC at 48 kHz and starts at t = 0 with the video;
    its length is kept whether it is longer or shorter than the video. It is written in step
    with the frames, so the file is interleaved for streaming.

    The file appears at ``path`` only after a successful :meth:`close`; until then it is
    a hidden temporary file in the same folder. An exception inside the ``with`` block, a
    failed close or :meth:`abort` removes it and leaves nothing at ``path``.

    Parameters
    ----------
    path: where the MP4 goes (an existing file there is replaced)
    fps: frames per second; fractional rates such as 29.97 or 30000/1001 are exact
    width, height: size of the frames passed to :meth:`write`, in pixels
    audio: the soundtrack, or None for a silent video
    crf: x264 constant rate factor: 0 is lossless, 18 looks lossless, 23 is x264's default
    preset: x264 speed preset, one of :data:`X264_PRESETS`
    metadata: container tags, such as ``{"comment": "..."}``

    Attributes
    ----------
    fps: the exact frame rate used, a Fraction
    frame_count: frames written so far

    Raises
    ------
    GiocondaError: the output folder is missing or not writable, or a parameter is invalid.

    Examples
    --------
    >>> with Mp4Writer("out.mp4", fps=25, width=512, height=512, audio=audio) as video:
    ...     for frame in frames:
    ...         video.write(frame)
    """

    check_writable = staticmethod(check_writable)

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float | Fraction,
        width: int,
        height: int,
        audio: Audio | None = None,
        crf: int = 20,
        preset: str = "veryfast",
        metadata: dict[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.fps = video_frame_rate(fps)
        self.width, self.height = int(width), int(height)
        if self.width < 2 or self.height < 2:
            raise GiocondaError(f"video must be at least 2x2 pixels, got {width}x{height}")
        if not 0 <= crf <= 51:
            raise GiocondaError(f"crf must be in 0..51, got {crf}")
        if preset not in X264_PRESETS:
            raise GiocondaError(f"unknown x264 preset {preset!r}; one of {', '.join(X264_PRESETS)}")
        if audio is not None and len(audio.samples) == 0:
            raise GiocondaError("audio for the video is empty")
        check_writable(self.path)

        self.frame_count = 0
        self._closed = False
        self._temp = _reserve_temp(self.path)
        try:
            self._container = av.open(
                str(self._temp), "w", format="mp4", options={"movflags": "+faststart"}
            )
            self._container.metadata.update(metadata or {})
            self._video = self._add_video_stream(crf, preset)
            self._samples: np.ndarray | None = None
            if audio is not None:
                samples = resample(audio, AUDIO_SAMPLE_RATE).samples
                self._samples = np.clip(np.asarray(samples, np.float32).reshape(-1), -1, 1)
                self._audio_pos = 0  # samples encoded so far
                self._audio = self._container.add_stream(
                    "aac", rate=AUDIO_SAMPLE_RATE, layout="mono"
                )
                self._audio.bit_rate = AUDIO_BIT_RATE
        except BaseException:
            self.abort()
            raise

    def _add_video_stream(self, crf: int, preset: str) -> av.video.stream.VideoStream:
        stream = self._container.add_stream(
            "libx264", rate=self.fps, options={"crf": str(crf), "preset": preset}
        )
        # yuv420p needs even sizes; dropping one edge pixel beats scaling the whole frame.
        stream.width, stream.height = self.width & ~1, self.height & ~1
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = 1 / self.fps
        # Tag the colours so that every browser decodes them the same way (untagged video is
        # guessed at: BT.601 for small frames in some players, BT.709 in others).
        stream.codec_context.colorspace = av.video.reformatter.Colorspace.ITU709
        stream.codec_context.color_primaries = av.video.reformatter.ColorPrimaries.BT709
        stream.codec_context.color_trc = av.video.reformatter.ColorTrc.BT709
        stream.codec_context.color_range = av.video.reformatter.ColorRange.MPEG
        # x264's frame threads, as many as it likes (1.5 per core): the encoder then runs
        # beside the renderer instead of after it. Measured at 512x512 veryfast on 2 cores:
        # ~230 fps single-threaded, ~320 fps with frame threads, same file size; sliced
        # threads were slower.
        stream.codec_context.thread_type = "FRAME"
        stream.codec_context.thread_count = 0
        return stream

    def write(self, frame_rgb: np.ndarray) -> None:
        """Append one frame.

        Parameters
        ----------
        frame_rgb: (height, width, 3) uint8 RGB, the size given to the constructor
        """
        if self._closed:
            raise ValueError("write() on a closed Mp4Writer")
        frame_rgb = np.asarray(frame_rgb)
        if frame_rgb.shape != (self.height, self.width, 3) or frame_rgb.dtype != np.uint8:
            raise ValueError(
                f"frame must be ({self.height}, {self.width}, 3) uint8, "
                f"got {frame_rgb.shape} {frame_rgb.dtype}"
            )
        even = frame_rgb[: self.height & ~1, : self.width & ~1]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="rgb24")
        frame = frame.reformat(
            format="yuv420p",
            dst_colorspace=av.video.reformatter.Colorspace.ITU709,
            dst_color_range=av.video.reformatter.ColorRange.MPEG,
            threads=1,  # ~1.7 ms at 512x512; more threads cost more CPU than they save
        )
        frame.pts = self.frame_count
        self.frame_count += 1
        try:
            self._container.mux(self._video.encode(frame))
            # Keep the audio level with the video so the two are interleaved in the file.
            self._write_audio(until_s=self.frame_count / self.fps)
        except (av.error.FFmpegError, OSError) as error:
            raise GiocondaError(f"cannot write video {self.path}: {error}") from None

    def _write_audio(self, until_s: Fraction | None) -> None:
        """Encode the audio up to ``until_s`` seconds (None: all of it)."""
        if self._samples is None:
            return
        end = len(self._samples)
        if until_s is not None:
            end = min(end, round(until_s * AUDIO_SAMPLE_RATE))
        if end <= self._audio_pos:
            return
        chunk = self._samples[self._audio_pos : end].reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
        frame.sample_rate = AUDIO_SAMPLE_RATE
        frame.time_base = Fraction(1, AUDIO_SAMPLE_RATE)
        frame.pts = self._audio_pos  # timestamps in samples: the audio starts at t = 0
        self._container.mux(self._audio.encode(frame))
        self._audio_pos = end

    def close(self) -> None:
        """Finish the file and move it into place at ``path``.

        Raises
        ------
        GiocondaError: no frame was written, or the file could not be finished (disk full,
            ...); nothing is left at ``path`` then.
        """
        if self._closed:
            return
        if self.frame_count == 0:
            self.abort()
            raise GiocondaError(f"no video frames were written to {self.path}")
        try:
            self._container.mux(self._video.encode(None))
            if self._samples is not None:
                self._write_audio(until_s=None)
                self._container.mux(self._audio.encode(None))
            self._container.close()
        except (av.error.FFmpegError, OSError) as error:
            self.abort()
            raise GiocondaError(f"cannot write video {self.path}: {error}") from None
        except BaseException:
            self.abort()
            raise
        self._closed = True
        _commit(self._temp, self.path)

    def abort(self) -> None:
        """Stop without producing a file: the temporary file is removed."""
        self._closed = True
        container = getattr(self, "_container", None)  # absent if __init__ failed early
        if container is not None:  # closing twice is harmless
            try:
                container.close()
            except (av.error.FFmpegError, OSError):
                pass  # the file is being thrown away; an incomplete trailer does not matter
        _remove(self._temp)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# --------------------------------------------------------------------------------------
# Motion files


def write_motion(motion: Motion, path: str | os.PathLike[str]) -> None:
    """Write motion as Live Link Face CSV or Gioconda JSON, chosen by the suffix.

    See the module docstring for both layouts. The file is written atomically.

    Parameters
    ----------
    motion: the motion to write
    path: a ``.csv`` or ``.json`` file

    Raises
    ------
    GiocondaError: another suffix, or the folder is missing or not writable.
    """
    writer, _ = _motion_format(path)
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


# CSV ----------------------------------------------------------------------------------


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
    values = _rounded(
        np.concatenate(
            [motion.blendshapes, motion.head_rotation_deg, eyes, zeros, eyes, zeros], axis=1
        )
    )
    out = io.StringIO()
    out.write(",".join(CSV_COLUMNS) + "\n")
    number = f"%.{MOTION_DECIMALS}f"
    for i, row in enumerate(values):
        cells = [_timecode(i, fps, nominal), str(CSV_BLENDSHAPE_COUNT)]
        cells += [number % v for v in row]
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
    head = data[:, n_shapes : n_shapes + 3]
    left_eye, right_eye = data[:, n_shapes + 3 : n_shapes + 5], data[:, n_shapes + 5 : n_shapes + 7]
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


# JSON ---------------------------------------------------------------------------------


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
