"""What a video meets after it leaves Gioconda, done with PyAV and OpenCV: re-encoding,
resizing, cropping, colour changes, rotation, speed-up, trimming, screen recording."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np

Frames = list[np.ndarray]


def encode(frames: Frames, path: str | os.PathLike[str], fps: float = 25.0,
           bit_rate: int | None = None, crf: int = 23) -> None:  # fmt: skip
    """Write RGB frames as H.264 (at ``bit_rate`` bits/s, else at ``crf``), as sites do."""
    height, width = (s // 2 * 2 for s in frames[0].shape[:2])
    with av.open(os.fspath(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if bit_rate is not None:
            stream.bit_rate = bit_rate
            stream.options = {"preset": "veryfast"}
        else:
            stream.options = {"crf": str(crf), "preset": "veryfast"}
        for frame in frames:
            image = np.ascontiguousarray(frame[:height, :width])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def decode(path: str | os.PathLike[str]) -> Frames:
    """Every frame of a video as (H, W, 3) uint8 RGB."""
    with av.open(os.fspath(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def resize_area(frames: Frames, area: float) -> Frames:
    k = float(np.sqrt(area))
    height, width = frames[0].shape[:2]
    size = (round(width * k / 2) * 2, round(height * k / 2) * 2)
    return [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]


def crop(frames: Frames, share: float = 0.1) -> Frames:
    height, width = frames[0].shape[:2]
    dy, dx = round(height * share), round(width * share)
    return [f[dy : height - dy, dx : width - dx] for f in frames]


def brightness_contrast(frames: Frames, gain: float, offset: float) -> Frames:
    return [np.clip(f * np.float32(gain) + offset, 0, 255).astype(np.uint8) for f in frames]


def rotate(frames: Frames, degrees: float, fill: bool = False) -> Frames:
    """Rotate about the centre; ``fill`` zooms in until no corner is left empty."""
    height, width = frames[0].shape[:2]
    zoom = 1.0
    if fill:
        t = np.radians(abs(degrees))
        zoom = float(np.cos(t) + np.sin(t) * max(width / height, height / width))
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, zoom)
    return [cv2.warpAffine(f, matrix, (width, height), flags=cv2.INTER_LINEAR) for f in frames]


def mirror(frames: Frames) -> Frames:
    """Flipped left to right, as front cameras and some apps show a video."""
    return [np.ascontiguousarray(f[:, ::-1]) for f in frames]


def speed_up(frames: Frames) -> Frames:
    """Twice as fast at the same frame rate: every other frame."""
    return frames[::2]


def excerpt(frames: Frames, fps: float = 25.0, start_s: float = 0.3, seconds: float = 3.0):
    first = round(start_s * fps)
    return frames[first : first + round(seconds * fps)]


def screen_recording(frames: Frames, scratch: str) -> Frames:
    """Shown smaller, recorded, scaled back up, with a display's gamma: a re-encode in between."""
    height, width = frames[0].shape[:2]
    shown = (width * 3 // 8 * 2, height * 3 // 8 * 2)
    encode([cv2.resize(f, shown, interpolation=cv2.INTER_AREA) for f in frames], scratch,
           bit_rate=800_000)  # fmt: skip
    curve = (255 * (np.arange(256) / 255.0) ** 0.95).astype(np.uint8)
    return [cv2.LUT(cv2.resize(f, (width, height), interpolation=cv2.INTER_CUBIC), curve)
            for f in decode(scratch)]  # fmt: skip


@dataclass(frozen=True)
class Attack:
    """One thing done to a video: a change of its frames, then an H.264 encode.

    Attributes
    ----------
    name: as the table shows it
    change: frames -> frames (``scratch`` is a file it may use)
    bit_rate: the encode's bit rate in bits/s, or None for CRF 23 (x264's default)
    """

    name: str
    change: Callable[[Frames, str], Frames]
    bit_rate: int | None = None


ATTACKS = (
    Attack("H.264 1000 kb/s", lambda f, s: f, 1_000_000),
    Attack("H.264 300 kb/s", lambda f, s: f, 300_000),
    Attack("resize to 1/2 area", lambda f, s: resize_area(f, 0.5)),
    Attack("resize to 1/4 area", lambda f, s: resize_area(f, 0.25)),
    Attack("crop 10% each side", lambda f, s: crop(f)),
    Attack("brighter, more contrast", lambda f, s: brightness_contrast(f, 1.25, -20)),
    Attack("darker, less contrast", lambda f, s: brightness_contrast(f, 0.7, 10)),
    Attack("rotate 3 deg", lambda f, s: rotate(f, 3.0)),
    Attack("rotate -4 deg, zoomed to fill", lambda f, s: rotate(f, -4.0, fill=True)),
    Attack("2x speed-up", lambda f, s: speed_up(f)),
    Attack("3 s excerpt", lambda f, s: excerpt(f)),
    Attack("screen recording round trip", screen_recording, 1_000_000),
    Attack("crop + 1/4 area + 300 kb/s", lambda f, s: resize_area(crop(f), 0.25), 300_000),
    Attack(
        "rotate 2 + brighter + 1/2 area + 500 kb/s",
        lambda f, s: resize_area(brightness_contrast(rotate(f, 2.0), 1.2, 10), 0.5),
        500_000,
    ),
    Attack("2x + crop + 300 kb/s", lambda f, s: crop(speed_up(f)), 300_000),
    Attack("mirrored + 500 kb/s", lambda f, s: mirror(f), 500_000),
)
