"""The invisible watermark in every frame Gioconda renders, and its detector.

How it works
------------
- **The mark**: a fixed, keyed noise tile (:data:`TILE` x :data:`TILE`, band-limited to
  :data:`BAND_CYCLES` cycles per tile, so it lives in the low-middle frequencies that
  H.264 and downscaling keep) repeated across the frame, :data:`TILES_PER_SIDE` tiles along
  the short side, so its size follows the frame's and a resized video still carries whole
  tiles. The tile is the sum of a *tag* pattern (the same in every Gioconda video: the thing
  detected) and one pattern per payload bit, signed by the bit. It is added to luma (the same
  amount to R, G and B), scaled by the picture's fine texture (grain, hair and foliage hide
  it; smooth skin and shading, where it would show as blotches, get a tenth), and capped so
  a frame's PSNR against the unmarked one stays above :data:`MIN_PSNR_DB`. Every frame
  carries the same mark, so a video's frames can be averaged.
- **The payload**: :data:`PAYLOAD_BITS` bits: a 4-bit format version, a 20-bit render id
  and a 16-bit CRC of both (so a misread payload is reported as unreadable, not as a wrong id).
- **Detection**: the frames' luma is averaged (what moves averages out; the mark adds up),
  brought to a short side of :data:`WORK_SIDE`, whitened by local contrast, then for each
  candidate scale (the crop a video underwent) and rotation the image is folded onto one tile
  (all tiles summed) and correlated with the tag by phase-only correlation, which also finds
  the tile's shift (where a crop cut it). The best correlation, in units of its standard
  deviation under no watermark, is the score. Once found, the bits are read by least squares
  at the same place.
- **At home**: most of what happens to a video (re-encoding, resizing, colour changes, speed-up,
  trimming, a screen recording) leaves the frame's geometry alone, and then the tile sits
  exactly where the renderer put it. The correlation at that one place (the *home score*) is
  a single test, not the best of a search over ~10^5 places, so under no watermark it is one
  standard normal draw (verified over 3.4 x 10^5 places of unmarked videos: sd 1.000) and a
  far lower line (:data:`HOME_THRESHOLD`) gives the same odds of a false alarm as the
  search's: the mark at the edge of detection in a busy picture, or in one mostly clipped to
  white, is found there.

The key is public: anyone can check a video with this module, and so anyone who reads it
could try to remove the mark. It is evidence of origin for videos people did not tamper with
on purpose, not a lock (see the README).
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import zlib
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import cast

import cv2
import numpy as np

from gioconda.errors import GiocondaError

#: Side of the mark's repeating tile in the detector's working image, pixels.
TILE = 64
#: Tiles along the frame's short side (the tile period is short side / this).
TILES_PER_SIDE = 4
#: The detector's working image has this short side, so one tile is :data:`TILE` pixels.
WORK_SIDE = TILE * TILES_PER_SIDE
#: Frequencies the mark uses, in cycles per tile (at 512x512: periods of 9 to 43 pixels).
BAND_CYCLES = (3.0, 14.0)
#: Seed of the tag and bit patterns: changing it makes every earlier video unreadable.
KEY = 0x610C0DA
#: Format version written in the payload.
FORMAT_VERSION = 1
VERSION_BITS = 4
RENDER_ID_BITS = 20
CRC_BITS = 16
PAYLOAD_BITS = VERSION_BITS + RENDER_ID_BITS + CRC_BITS
#: Share of the mark's power in the tag (the rest carries the payload).
TAG_SHARE = 0.4
#: Mark amplitude in luma levels (0..255) in textured areas, and its share in smooth ones.
STRENGTH = 4.0
FLAT_SHARE = 0.1
#: Fine texture that counts as fully textured: the mean absolute Laplacian (4 neighbours) of
#: luma at half the frame's size, in levels, averaged over 2x2 of those pixels. Medians on
#: rendered frames: smooth skin and a plain wall 1, hair, fur, foliage and the Mona Lisa's
#: craquelure 9-14.
FINE_TEXTURE = 5.4
#: The mark never takes a frame below this PSNR against the unmarked frame.
MIN_PSNR_DB = 40.5
#: A frame whose mark is under that budget gets up to this much more in its textured part.
BOOST = 1.3

#: Candidate scales (tile period relative to an uncropped frame: 1.25 after cropping 10% from
#: each side) and rotations (degrees) the detector tries.
SCALE_RANGE = (0.88, 1.5)
ANGLE_RANGE_DEG = 6.0

#: Score above which a video is called watermarked on the tag alone; with a valid payload
#: (CRC and version match, odds 1 in 2^20 by chance) :data:`PAYLOAD_THRESHOLD` suffices.
THRESHOLD = 8.0
PAYLOAD_THRESHOLD = 6.5
#: From :data:`PAYLOAD_THRESHOLD` up, a mark whose payload does not read intact is still found
#: when the payload patterns hold this many times the energy at the tag's place that they hold
#: elsewhere in the same video (:func:`_bits_energy_ratio`). Measured on unmarked videos: mean
#: 1.02, sd 0.25, highest 2.07 of 1008 places; a blown-out clip made brighter, marked: 2.2-3.
BITS_RATIO = 2.2
#: Home score (the tag's correlation where the renderer put it, see the module's docstring)
#: above which a video is called watermarked: a standard normal draw without a mark, so
#: this line is passed by chance once in 3.5 million videos.
HOME_THRESHOLD = 5.0
#: From this home score up, a mark is also found with an intact payload read at home, or when
#: the payload's patterns hold :data:`BITS_RATIO` times the energy at home that they hold
#: elsewhere (as :data:`PAYLOAD_THRESHOLD` for the search). Without a mark a home score this
#: high comes once in 31,000 videos, and that ratio at home (mean 0.99, sd 0.25, highest 1.91
#: over 84 unmarked videos) is about as rare again. A blown-out clip made brighter, marked:
#: home scores 5.2-7.0 over ten render ids, ratios 1.9-3.4.
HOME_PAYLOAD_THRESHOLD = 4.0
#: The detector's whitening: detail is luma less its blur over :data:`DETAIL_SIGMA` working
#: pixels, divided by the square of its local RMS (over :data:`CONTRAST_SIGMA`) plus
#: :data:`NOISE_FLOOR` levels (what coding noise leaves on a flat area), then limited to
#: :data:`WHITE_CLIP` standard deviations. Chosen on the fur-hat photo (a forest behind fur, the
#: busiest picture of the evaluation): sigmas 4 and 6, floor 1 and clip 4 gave it scores a
#: point and a half lower; the no-mark spread is the same.
DETAIL_SIGMA = 3.0
CONTRAST_SIGMA = 4.0
NOISE_FLOOR = 2.0
WHITE_CLIP = 3.0
#: Gumbel fit (location, scale) of the best score on videos without the mark; gives the
#: false-alarm odds printed beside a score. From ``gioconda eval provenance`` (100 unmarked
#: videos: mean 5.24, sd 0.34, highest 6.60), the location raised by 0.266 ln 2 since the
#: mirrored picture is searched too (twice the places).
NULL_GUMBEL = (5.27, 0.266)


@dataclass(frozen=True)
class Payload:
    """What a mark carries besides "made by Gioconda".

    Attributes
    ----------
    version: the mark's format version (:data:`FORMAT_VERSION` when written)
    render_id: a random number in [0, 2**20) drawn for each render; print it beside a video
        to tie the video to its render later
    """

    version: int
    render_id: int

    @staticmethod
    def new() -> Payload:
        """A payload for a new render: this format version and a random render id."""
        return Payload(FORMAT_VERSION, secrets.randbelow(1 << RENDER_ID_BITS))


@dataclass(frozen=True)
class Detection:
    """What the detector found in a video (or a stack of frames).

    Attributes
    ----------
    found: the Gioconda watermark is there
    score: correlation with the tag, in standard deviations of its no-watermark spread
    false_alarm: odds that a video without the mark scores this high on either test (the
        search's by a Gumbel extrapolation, home's by the normal tail; the smaller, doubled)
    payload: the payload if it was read intact (its CRC matches), else None
    frames: how many frames were averaged
    scale: tile period found, relative to the uncropped frame (1.25: 10% cropped each side)
    angle_deg: rotation found, degrees
    mirrored: the mark was found in the horizontally flipped picture
    bits_ratio: the payload patterns' energy at the tag's place over elsewhere (1 without a
        mark), when it was needed to decide
    home_score: the tag's correlation where the renderer put it (the frame's own geometry),
        in standard deviations: a standard normal draw without a mark
    """

    found: bool
    score: float
    false_alarm: float
    payload: Payload | None
    frames: int
    scale: float
    angle_deg: float
    mirrored: bool = False
    bits_ratio: float | None = None
    home_score: float = 0.0


# --------------------------------------------------------------------------------------
# Patterns


def _band_mask() -> np.ndarray:
    cycles = np.fft.fftfreq(TILE) * TILE
    radius = np.hypot(cycles[:, None], cycles[None, :])
    return (radius >= BAND_CYCLES[0]) & (radius <= BAND_CYCLES[1])


_BAND = _band_mask()
_BAND_SIZE = int(_BAND.sum())


def _pattern_spectra() -> np.ndarray:
    """(1 + bits, TILE, TILE) complex: unit magnitude, keyed random phase, inside the band."""
    rng = np.random.default_rng(KEY)
    noise = np.fft.fft2(rng.standard_normal((1 + PAYLOAD_BITS, TILE, TILE)))
    return np.where(_BAND, noise / np.abs(noise), 0)


_SPECTRA = _pattern_spectra()
_PATTERNS = np.fft.ifft2(_SPECTRA).real
_PATTERNS /= _PATTERNS.std(axis=(1, 2), keepdims=True)
# Least squares for the bit amplitudes: the band's coefficients of all patterns, real and
# imaginary parts stacked.
_DESIGN = np.concatenate([_SPECTRA[:, _BAND].real, _SPECTRA[:, _BAND].imag], axis=1).T
_DESIGN_PINV = np.linalg.pinv(_DESIGN)
_DESIGN_NOISE_GAIN = np.sqrt(np.sum(_DESIGN_PINV**2, axis=1))


def _crc(value: int) -> int:
    return zlib.crc32(value.to_bytes(4, "big")) & ((1 << CRC_BITS) - 1)


def payload_bits(payload: Payload) -> np.ndarray:
    """The payload as :data:`PAYLOAD_BITS` bits (version, render id, CRC), 0/1 int8."""
    if not 0 <= payload.version < 1 << VERSION_BITS:
        raise GiocondaError(f"watermark version must be in 0..15, got {payload.version}")
    if not 0 <= payload.render_id < 1 << RENDER_ID_BITS:
        raise GiocondaError(f"render id must be in 0..{(1 << RENDER_ID_BITS) - 1}")
    value = (payload.version << RENDER_ID_BITS) | payload.render_id
    word = (value << CRC_BITS) | _crc(value)
    return np.array([(word >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)], np.int8)


def payload_from_bits(bits: np.ndarray) -> Payload | None:
    """The payload, or None when the CRC does not match."""
    word = 0
    for bit in bits:
        word = (word << 1) | int(bit)
    value, crc = word >> CRC_BITS, word & ((1 << CRC_BITS) - 1)
    if _crc(value) != crc:
        return None
    return Payload(value >> RENDER_ID_BITS, value & ((1 << RENDER_ID_BITS) - 1))


def mark_tile(payload: Payload) -> np.ndarray:
    """(TILE, TILE) float32, unit RMS: the tag plus the payload's signed bit patterns."""
    signs = payload_bits(payload).astype(np.float64) * 2 - 1
    bits = np.tensordot(signs, _PATTERNS[1:], axes=1) * math.sqrt((1 - TAG_SHARE) / PAYLOAD_BITS)
    tile = math.sqrt(TAG_SHARE) * _PATTERNS[0] + bits
    return (tile / tile.std()).astype(np.float32)


@lru_cache(maxsize=8)
def _frame_pattern(payload: Payload, height: int, width: int) -> np.ndarray:
    """(height, width) float32: the tile repeated with a period of short side / TILES_PER_SIDE."""
    step = TILE * TILES_PER_SIDE / min(height, width)  # tile pixels per frame pixel
    xs = (np.arange(width, dtype=np.float32) * step) % TILE
    ys = (np.arange(height, dtype=np.float32) * step) % TILE
    map_x, map_y = np.meshgrid(xs, ys)
    tile = mark_tile(payload)
    return cv2.remap(tile, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


# --------------------------------------------------------------------------------------
# Marking

#: The tiled pattern (unit RMS; its peaks reach 5.1 on some payloads) is kept as signed bytes in
#: steps of 1 / this (to 5.3, within 0.02 of the float pattern).
PATTERN_STEPS = 24.0


@lru_cache(maxsize=1)
def _compiled_loops() -> ModuleType:
    """:mod:`gioconda.provenance.mark_loops`, its loops loaded (or compiled) by a call on a tiny
    frame: a watermarker is ready when made, and a live session's first frame does not wait
    for them (0.4 s where nothing else has used numba yet). Imported here, not at the top:
    checking a video needs no compiler (numba takes 0.3 s to import)."""
    from gioconda.provenance import mark_loops

    frame = np.zeros((16, 16, 3), np.uint8)
    luma = np.zeros((4, 4), np.float32)
    texture = np.zeros_like(luma)
    mark_loops.luma_and_texture(frame, luma, texture)
    gain = np.zeros_like(luma)
    mark_loops.gain_map(texture, luma, FINE_TEXTURE, FLAT_SHARE, STRENGTH, BOOST, 1.0, gain)
    steps = _linear_steps(4, 16)
    pattern = np.zeros((16, 16), np.int8)
    mark_loops.add_mark(frame, gain, steps, steps, pattern, np.empty_like(frame))
    return mark_loops


def _linear_steps(size: int, full: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``full`` pixels, the pixel of a ``size``-pixel row before it (at most
    size - 2) and the share of the next one: linear interpolation from pixel centres, the
    ends held (as cv2.resize's INTER_LINEAR)."""
    source = np.clip((np.arange(full) + 0.5) * (size / full) - 0.5, 0, size - 1)
    before = np.minimum(np.floor(source), size - 2)
    return before.astype(np.intp), (source - before).astype(np.float32)


class Watermarker:
    """Adds the Gioconda watermark to RGB frames of one size.

    Parameters
    ----------
    width, height: frame size in pixels
    payload: what to carry; a new random render id by default

    Examples
    --------
    >>> mark = Watermarker(512, 512)
    >>> marked = mark(frame)  # (512, 512, 3) uint8 RGB in and out
    """

    def __init__(self, width: int, height: int, payload: Payload | None = None) -> None:
        if width < 16 or height < 16:
            raise GiocondaError(f"frames too small to watermark: {width}x{height}")
        self.width, self.height = int(width), int(height)
        self.payload = payload if payload is not None else Payload.new()
        pattern = _frame_pattern(self.payload, self.height, self.width)
        # The rows of one tile period when it is a whole number of rows (the short side a
        # multiple of TILES_PER_SIDE: 128 of 512, 270 of 1080), else all of them; in signed
        # bytes. A quarter of the rows and a quarter of the bytes of a float table: it stays in
        # the caches beside a frame just rendered.
        short = min(self.height, self.width)
        period = short // TILES_PER_SIDE if short % TILES_PER_SIDE == 0 else self.height
        steps = np.rint(pattern[: min(period, self.height)] * PATTERN_STEPS)
        self._pattern = np.clip(steps, -127, 127).astype(np.int8)
        self._max_rms = 255.0 / 10 ** (MIN_PSNR_DB / 20)
        # The gain is made at a quarter of the frame's size: it is smooth, and 16x cheaper.
        self._small = (max(4, self.width // 4), max(4, self.height // 4))
        # Brought back to full size as cv2.resize's linear interpolation does.
        self._columns = _linear_steps(self._small[0], self.width)
        self._rows = _linear_steps(self._small[1], self.height)
        self._scratch = threading.local()
        self._loops = _compiled_loops()

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The frame with the mark: (H, W, 3) uint8 RGB in, a new array of the same out."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise GiocondaError(
                f"expected a ({self.height}, {self.width}, 3) uint8 frame, "
                f"got {frame.shape} {frame.dtype}"
            )
        frame = np.ascontiguousarray(frame)
        gain = self._gain(frame)
        gain *= np.float32(1 / PATTERN_STEPS)
        marked = np.empty_like(frame)
        self._loops.add_mark(frame, gain, self._columns, self._rows, self._pattern, marked)
        return marked

    def _gain(self, frame: np.ndarray) -> np.ndarray:
        """(h, w) float32 at a quarter of the frame's size: the mark's amplitude, grey levels."""
        width, height = self._small
        mine = self._scratch
        if not hasattr(mine, "luma"):
            # This thread's own (render threads mark frames at once).
            mine.luma = np.empty((height, width), np.float32)
            mine.texture = np.empty((height, width), np.float32)
        # Texture measured at half the size (luma averaged over 2x2 in floats: a gradient's
        # 8-bit steps stay a quarter level high, not a level), the mask made at a quarter.
        # The mark hides in fine texture, not in smooth shading: a cheek's curve or a lit
        # wall's gradient has none, and a mark there reads as blotches. The Laplacian at half
        # size sees grain a few pixels across and is blind to gradients; a smoother measure
        # (deviation from a blur over a dozen pixels) took a cheek's curvature for texture.
        self._loops.luma_and_texture(frame, mine.luma, mine.texture)
        # The pattern has unit RMS and is independent of the mask: the RMS of the change
        # follows from the gain, and is held to the PSNR budget.
        gain = np.empty((height, width), np.float32)
        self._loops.gain_map(mine.texture, mine.luma, FINE_TEXTURE, FLAT_SHARE, STRENGTH, BOOST,
                            self._max_rms, gain)  # fmt: skip
        return gain


# --------------------------------------------------------------------------------------
# Detection


def _whiten(mean_luma: np.ndarray) -> np.ndarray:
    """Average luma -> working size, local mean removed and local contrast normalized."""
    height, width = mean_luma.shape
    k = WORK_SIDE / min(height, width)
    size = (max(TILE, round(width * k)), max(TILE, round(height * k)))
    luma = cv2.resize(mean_luma.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    detail = luma - cv2.GaussianBlur(luma, (0, 0), DETAIL_SIGMA)
    contrast = np.sqrt(cv2.GaussianBlur(detail * detail, (0, 0), CONTRAST_SIGMA))
    # Divided by the local variance, not the deviation: busy areas (hair, fur, foliage) hold
    # as much mark as calm ones but far more picture, so they get less say (a matched filter).
    whitened = detail / (contrast + NOISE_FLOOR) ** 2
    return np.clip(whitened / (whitened.std() + 1e-12), -WHITE_CLIP, WHITE_CLIP)


def _fold_home(image: np.ndarray) -> np.ndarray:
    """All tiles summed into one where the renderer laid them: from the top-left corner.

    The working image has :data:`TILE` pixels per tile period whatever the frame's size, so
    no warp is needed; the right and bottom are padded with zeros to whole tiles.
    """
    height, width = image.shape
    padded = np.zeros((-(-height // TILE) * TILE, -(-width // TILE) * TILE), np.float32)
    padded[:height, :width] = image
    rows, cols = padded.shape[0] // TILE, padded.shape[1] // TILE
    return padded.reshape(rows, TILE, cols, TILE).sum(axis=(0, 2))


def _fold(image: np.ndarray, scale: float, angle_deg: float) -> np.ndarray:
    """Undo a scale and rotation about the centre, then sum all tiles into one."""
    height, width = image.shape
    out_h = math.ceil(height / scale / TILE) * TILE
    out_w = math.ceil(width / scale / TILE) * TILE
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle_deg, 1 / scale)
    matrix[0, 2] += (out_w - width) / 2
    matrix[1, 2] += (out_h - height) / 2
    warped = cv2.warpAffine(image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=(0,))
    return warped.reshape(out_h // TILE, TILE, out_w // TILE, TILE).sum(axis=(0, 2))


def _phase(folded: np.ndarray) -> np.ndarray:
    spectrum = np.fft.fft2(folded)
    return np.where(_BAND, spectrum / (np.abs(spectrum) + 1e-12), 0)


def _tag_correlation(folded: np.ndarray) -> np.ndarray:
    """(TILE, TILE): phase-only correlation with the tag at every shift, in null std units."""
    product = _phase(folded) * np.conj(_SPECTRA[0])
    return np.fft.ifft2(product).real * (TILE * TILE / math.sqrt(_BAND_SIZE))


def _folded(image: np.ndarray, scale: float, angle_deg: float, mirrored: bool) -> np.ndarray:
    """The folded tile; ``mirrored``: of the picture flipped left to right.

    Flipping a picture and rotating it by ``angle_deg`` is rotating it by ``-angle_deg`` and
    flipping; the fold of a flipped canvas (a whole number of tiles, centred) is the flipped
    fold, up to a shift the correlation does not mind. So the mirrored search costs an FFT,
    not another warp.
    """
    if mirrored:
        return np.ascontiguousarray(_fold(image, scale, -angle_deg)[:, ::-1])
    return _fold(image, scale, angle_deg)


Candidate = tuple[float, float, float, bool]  # score, scale, angle, mirrored


def _grid_search(
    image: np.ndarray, scales, angles, mirrored: bool | None = None
) -> list[Candidate]:
    """(score, scale, angle, mirrored) for every pair, best first: both orientations from one
    warp each when ``mirrored`` is None, else that one (angles as :func:`_folded` takes them)."""
    found: list[Candidate] = []
    for angle in angles:
        for scale in scales:
            if mirrored is None:
                folded = _fold(image, scale, angle)
                flipped = np.ascontiguousarray(folded[:, ::-1])
                found.append((float(_tag_correlation(folded).max()), scale, angle, False))
                found.append((float(_tag_correlation(flipped).max()), scale, -angle, True))
            else:
                folded = _folded(image, scale, angle, mirrored)
                found.append((float(_tag_correlation(folded).max()), scale, angle, mirrored))
    return sorted(found, reverse=True)


def _peak(correlation: np.ndarray, at: tuple[int, int] | None = None) -> tuple[float, float]:
    """Sub-pixel (dy, dx) of the correlation's maximum, or of the cell ``at`` (a parabola
    through its neighbours)."""
    dy, dx = at if at is not None else np.unravel_index(int(np.argmax(correlation)), (TILE, TILE))

    def vertex(before: float, at: float, after: float) -> float:
        curve = before - 2 * at + after
        return 0.0 if curve >= 0 else 0.5 * (before - after) / curve

    c = correlation
    oy = vertex(c[(dy - 1) % TILE, dx], c[dy, dx], c[(dy + 1) % TILE, dx])
    ox = vertex(c[dy, (dx - 1) % TILE], c[dy, dx], c[dy, (dx + 1) % TILE])
    # np.float64, a float at run time.
    return cast(tuple[float, float], (dy + oy, dx + ox))


def _read_bits(folded: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """Bit amplitudes (signed, in noise std units) by least squares at the tag's shift."""
    freq = np.fft.fftfreq(TILE)
    ramp = np.exp(2j * np.pi * (freq[:, None] * shift[0] + freq[None, :] * shift[1]))
    values = (_phase(folded) * ramp)[_BAND]
    stacked = np.concatenate([values.real, values.imag])
    amplitudes = _DESIGN_PINV @ stacked
    noise = float(np.std(stacked - _DESIGN @ amplitudes)) + 1e-12
    return (amplitudes / (noise * _DESIGN_NOISE_GAIN))[1:]


def false_alarm_odds(score: float) -> float:
    """Odds that a video without the mark scores at least ``score`` (Gumbel tail)."""
    location, spread = NULL_GUMBEL
    return float(-np.expm1(-np.exp(-(score - location) / spread)))


def home_false_alarm_odds(home_score: float) -> float:
    """Odds that a video without the mark has at least ``home_score`` (standard normal tail)."""
    return 0.5 * math.erfc(home_score / math.sqrt(2))


def _bits_energy_ratio(folded: np.ndarray, shift: tuple[float, float]) -> float:
    """Energy of the bit amplitudes at ``shift`` over their median energy at 63 other shifts.

    The payload patterns are orthogonal to the tag, so without a mark the energy at the tag's
    best place is like the energy anywhere (a ratio near 1, whatever the picture); with a mark
    every bit adds its square there, whether or not enough bits read right for the CRC.
    """
    energies = [
        float(np.sum(_read_bits(folded, (shift[0] + dy, shift[1] + dx)) ** 2))
        for dy in range(0, TILE, 8)
        for dx in range(0, TILE, 8)
    ]
    return energies[0] / (float(np.median(energies[1:])) + 1e-12)


def _search(image: np.ndarray) -> list[Candidate]:
    """Candidates around the best place, best first (coarse, fine, finest grids)."""
    # Coarse grid first (the low half of the band tolerates its steps), then finer around the
    # four best, then finest around the best of those.
    coarse = _grid_search(
        image,
        np.exp(np.arange(math.log(SCALE_RANGE[0]), math.log(SCALE_RANGE[1]), 0.02)),
        np.arange(-ANGLE_RANGE_DEG, ANGLE_RANGE_DEG + 0.01, 1.0),
    )
    fine: list[Candidate] = []
    for _, scale, angle, mirrored in coarse[:4]:
        fine += _grid_search(image, scale * np.exp(np.arange(-2, 3) * 0.006),
                             angle + np.arange(-2, 3) * 0.3, mirrored)  # fmt: skip
    _, scale, angle, mirrored = max(fine)
    return _grid_search(image, scale * np.exp(np.arange(-2, 3) * 0.002),
                        angle + np.arange(-2, 3) * 0.1, mirrored)  # fmt: skip


def detect_frames(mean_luma: np.ndarray, frames: int = 1) -> Detection:
    """Look for the watermark in the average luma of a video's frames.

    The picture is searched as it is and mirrored (a horizontally flipped video, as some apps
    and front cameras show it); the better of the two is reported.
    The tag's correlation where the renderer put it (the home score) is checked too, against its
    own, lower line: see the module's docstring.

    Parameters
    ----------
    mean_luma: (H, W) float, the average of the frames' luma (any size, at least 64 pixels
        on the short side)
    frames: how many frames went into the average (reported only)

    Returns
    -------
    Detection
    """
    if min(mean_luma.shape) < TILE:
        raise GiocondaError(f"video too small to check: {mean_luma.shape[1]}x{mean_luma.shape[0]}")
    image = _whiten(mean_luma)
    home = _fold_home(image)
    home_correlation = _tag_correlation(home)
    home_shift = _peak(home_correlation, (0, 0))
    home_score = float(home_correlation[0, 0])
    finest = _search(image)
    score, scale, angle, mirrored = finest[0]
    # The bits are read at home and where the search found the tag strongest (near-ties, a few
    # of them, too); only a payload whose CRC and version match is taken (1 in 2^20 by chance
    # at each place).
    places = [(home, home_shift)]
    for _, s, a, m in finest[:5]:
        folded = _folded(image, s, a, m)
        places.append((folded, _peak(_tag_correlation(folded))))
    payload = None
    for folded, shift in places:
        candidate = payload_from_bits((_read_bits(folded, shift) > 0).astype(np.int8))
        if candidate is not None and candidate.version == FORMAT_VERSION:
            payload = candidate
            break
    found = (
        score >= THRESHOLD
        or home_score >= HOME_THRESHOLD
        or (payload is not None and score >= PAYLOAD_THRESHOLD)
        or (payload is not None and home_score >= HOME_PAYLOAD_THRESHOLD)
    )
    bits_ratio = None
    if not found and score >= PAYLOAD_THRESHOLD:
        folded = _folded(image, scale, angle, mirrored)
        bits_ratio = _bits_energy_ratio(folded, _peak(_tag_correlation(folded)))
        found = bits_ratio >= BITS_RATIO
    if not found and home_score >= HOME_PAYLOAD_THRESHOLD:
        bits_ratio = _bits_energy_ratio(home, home_shift)
        found = bits_ratio >= BITS_RATIO
    # Two tests, so the smaller of their odds is doubled (Bonferroni).
    odds = min(1.0, 2 * min(false_alarm_odds(score), home_false_alarm_odds(home_score)))
    return Detection(found, score, odds, payload, frames, float(scale), float(angle), mirrored,
                     bits_ratio, home_score)  # fmt: skip


def mean_luma(path: str | os.PathLike[str], max_frames: int = 250) -> tuple[np.ndarray, int]:
    """The average luma of a video's first ``max_frames`` frames, and how many were read.

    Raises
    ------
    GiocondaError: the file cannot be opened or decoded, or has no video frames.
    """
    import av  # imported here: marking frames needs no video library

    total: np.ndarray | None = None
    count = 0
    try:
        with av.open(os.fspath(path)) as container:
            if not container.streams.video:
                raise GiocondaError(f"{path} has no video stream")
            for frame in container.decode(video=0):
                luma = frame.to_ndarray(format="gray").astype(np.float32)
                total = luma if total is None else total + luma
                count += 1
                if count >= max_frames:
                    break
    except (av.error.FFmpegError, OSError) as error:
        raise GiocondaError(f"cannot read {path} as a video: {error}") from None
    if total is None:
        raise GiocondaError(f"{path} has no video frames")
    return total / count, count


def detect_video(path: str | os.PathLike[str], max_frames: int = 250) -> Detection:
    """Look for the Gioconda watermark in a video file (see :func:`detect_frames`).

    Raises
    ------
    GiocondaError: the file is not a readable video.
    """
    average, count = mean_luma(path, max_frames)
    return detect_frames(average, count)
