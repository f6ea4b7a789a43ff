"""Video out: H.264 + AAC in MP4 through PyAV, frame N shown at exactly N/fps seconds, the
audio muxed in sync.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from gioconda.errors import GiocondaError
from gioconda.output.files import _commit, _remove, _reserve_temp, check_writable
from gioconda.speech.audio import Audio, AudioResampling

#: Containers by the output's suffix: FFmpeg's muxer and its options, H.264 + AAC in each
#: (MP4 and QuickTime with the index first, so playback starts before a download ends). Any
#: other suffix gets an MP4; the CLI refuses such names (gioconda/cli/guard.py).
CONTAINERS: dict[str, tuple[str, dict[str, str]]] = {
    ".mp4": ("mp4", {"movflags": "+faststart"}),
    ".m4v": ("mp4", {"movflags": "+faststart"}),
    ".mov": ("mov", {"movflags": "+faststart"}),
    ".mkv": ("matroska", {}),
}


#: Sample rate of the AAC audio in the MP4.
AUDIO_SAMPLE_RATE = 48_000


#: AAC bit rate: transparent for a mono voice.
AUDIO_BIT_RATE = 96_000


#: x264 speed presets, fastest first (``veryfast`` encodes 512x512 at ~300 fps on 2 cores).
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
    "veryslow", "placebo",
)  # fmt: skip
#: The default preset and quality, chosen by measurement (512x512, 25 fps, 2 cores; PSNR of the
#: decoded frames against the rendered ones): ``veryfast`` at crf 20 is 38 dB at ~28 kB/s and
#: ~3.7 ms of CPU a frame; ``ultrafast`` saves ~1 ms but makes files 8x bigger, ``medium``
#: gains 1.6 dB for 2.6x the time.
DEFAULT_PRESET = "veryfast"
DEFAULT_CRF = 20


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
        crf: int = DEFAULT_CRF,
        preset: str = DEFAULT_PRESET,
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
            muxer, muxer_options = CONTAINERS.get(self.path.suffix.lower(), CONTAINERS[".mp4"])
            self._container = av.open(str(self._temp), "w", format=muxer, options=muxer_options)
            self._container.metadata.update(metadata or {})
            self._video = self._add_video_stream(crf, preset)
            # Resampled to 48 kHz as the video advances: no second copy of a long soundtrack.
            self._soundtrack: AudioResampling | None = None
            if audio is not None:
                self._soundtrack = AudioResampling(audio, AUDIO_SAMPLE_RATE)
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
        if self._soundtrack is None:
            return
        wanted = None if until_s is None else round(until_s * AUDIO_SAMPLE_RATE) - self._audio_pos
        if wanted is not None and wanted <= 0:
            return
        samples = self._soundtrack.take(wanted)
        if len(samples) == 0:
            return
        end = self._audio_pos + len(samples)
        chunk = np.clip(samples, -1, 1).reshape(1, -1)
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
            if self._soundtrack is not None:
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
