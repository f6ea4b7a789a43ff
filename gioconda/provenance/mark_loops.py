"""The watermark's two passes over a frame, as compiled loops (numba).

:class:`~gioconda.provenance.watermark.Watermarker` reads a frame twice: once for what hides
the mark (luma and its fine texture at a quarter of the size), once to add it. Done with
OpenCV's whole-array calls the same work took ten passes over frame-sized arrays (grey, floats,
a resize to half size, the gain resized to full size, and for each half of the mark a product,
a three-channel merge and a saturating add): 0.55 ms a frame alone and 0.8 ms beside a frame
just rendered, whose arrays push the mark's out of the caches. Here each pass reads the frame
once and keeps its in-between values in a row or a few registers.

Each loop is compiled on first use and cached on disk by numba (later processes load it), and
releases Python's lock: render threads mark frames at once. Integer sums, and float arithmetic
without fast-math reordering or fused multiply-adds: the same frame in gives the same frame out
on every machine and thread.
"""

from __future__ import annotations

import numba
import numpy as np

#: cv2.COLOR_RGB2GRAY's weights in 14-bit fixed point (0.299, 0.587, 0.114; they sum to 2^14).
_RED, _GREEN, _BLUE = 4899, 9617, 1868
#: A 2x2 block's four weighted sums, back to grey levels.
_BLOCK_SCALE = np.float32(1.0 / (4 * (1 << 14)))


@numba.njit(nogil=True, cache=True)
def _half_row(frame: np.ndarray, row: int, out: np.ndarray) -> None:
    """Half-size luma row ``row`` (the frame's rows 2 row and 2 row + 1 averaged over 2x2
    pixels) into ``out[1:-1]``, its ends reflected into ``out[0]`` and ``out[-1]``."""
    top = frame[2 * row].reshape(-1)
    bottom = frame[2 * row + 1].reshape(-1)
    cols = out.shape[0] - 2
    for x in range(cols):
        i = 6 * x
        red = np.int32(top[i]) + top[i + 3] + bottom[i] + bottom[i + 3]
        green = np.int32(top[i + 1]) + top[i + 4] + bottom[i + 1] + bottom[i + 4]
        blue = np.int32(top[i + 2]) + top[i + 5] + bottom[i + 2] + bottom[i + 5]
        out[x + 1] = np.float32(red * _RED + green * _GREEN + blue * _BLUE) * _BLOCK_SCALE
    out[0] = out[2]
    out[cols + 1] = out[cols - 1]


@numba.njit(nogil=True, cache=True)
def luma_and_texture(frame: np.ndarray, luma: np.ndarray, texture: np.ndarray) -> None:
    """Quarter-size luma and fine texture of an RGB frame, written into ``luma`` and ``texture``.

    Parameters
    ----------
    frame: (H, W, 3) uint8 RGB; its top-left (4 h, 4 w) pixels are read, where (h, w) is
        ``luma``'s shape (so a side that is not a multiple of 4 loses at most 3 pixels)
    luma: (h, w) float32 out: luma averaged over 4x4 pixels
    texture: (h, w) float32 out: the mean absolute 4-neighbour Laplacian of luma averaged over
        2x2 pixels (the half-size luma; its border reflected without repeating the edge, as
        OpenCV's default), over 2x2 of those
    """
    small_rows, small_cols = luma.shape
    rows, cols = 2 * small_rows, 2 * small_cols
    # Three half-size rows at a time (above, at and below the Laplacian's row), each made once
    # as the frame is read down: a whole half-size image is 0.25 MB that leaves the caches.
    above = np.empty(cols + 2, np.float32)
    at = np.empty(cols + 2, np.float32)
    below = np.empty(cols + 2, np.float32)
    grain = np.empty(cols, np.float32)
    level = np.empty(cols, np.float32)
    four = np.float32(4.0)
    quarter = np.float32(0.25)
    _half_row(frame, 0, at)
    _half_row(frame, 1, below)
    above[:] = below
    for row in range(rows):
        if row % 2 == 0:
            grain[:] = 0.0
            level[:] = 0.0
        for x in range(cols):
            centre = at[x + 1]
            laplacian = (above[x + 1] + below[x + 1] + at[x] + at[x + 2]) - four * centre
            grain[x] += abs(laplacian)
            level[x] += centre
        if row % 2 == 1:
            small_row = row // 2
            for x in range(small_cols):
                texture[small_row, x] = (grain[2 * x] + grain[2 * x + 1]) * quarter
                luma[small_row, x] = (level[2 * x] + level[2 * x + 1]) * quarter
        # Move down a row: the next row below is the one after, or (at the bottom edge) the
        # row above, reflected.
        above, at, below = at, below, above
        if row + 2 < rows:
            _half_row(frame, row + 2, below)
        else:
            below[:] = above


@numba.njit(nogil=True, cache=True)
def _widen(row: np.ndarray, left: np.ndarray, right_share: np.ndarray, out: np.ndarray) -> None:
    """``row`` linearly interpolated at full width into ``out``."""
    for x in range(out.shape[0]):
        before = row[left[x]]
        out[x] = before + right_share[x] * (row[left[x] + 1] - before)


@numba.njit(nogil=True, cache=True)
def add_mark(
    frame: np.ndarray,
    gain: np.ndarray,
    columns: tuple[np.ndarray, np.ndarray],
    rows: tuple[np.ndarray, np.ndarray],
    pattern: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out`` = ``frame`` plus the mark, rounded, on R, G and B alike, saturating at 0 and 255.

    Parameters
    ----------
    frame, out: (H, W, 3) uint8 RGB, different arrays
    gain: (h, w) float32: the mark's gain at a quarter of the frame's size, in grey levels per
        step of ``pattern``; brought to full size by linear interpolation
    columns, rows: for each frame column (W,) and row (H,), the gain's column (row) before it
        (at most w - 2, h - 2) and the share of the next one
    pattern: (P, W) int8: the tiled mark in steps; frame row y takes its row y mod P (P is a
        whole tile period of rows, or H)
    """
    height, width = frame.shape[0], frame.shape[1]
    period = pattern.shape[0]
    left, right_share = columns
    below, lower_share = rows
    # The gain at full width on the two of its rows the frame row lies between, each row
    # widened once, as the frame's rows reach it (a whole widened map is 0.25 MB of writes).
    upper = np.empty(width, np.float32)
    lower = np.empty(width, np.float32)
    widened = -1  # the gain row in ``lower``
    mark = np.empty(width, np.int8)
    spread = np.empty(3 * width, np.int8)
    half_step = np.float32(0.5)
    for y in range(height):
        row = below[y]
        if row != widened - 1:
            if row == widened:
                upper, lower = lower, upper
            else:
                _widen(gain[row], left, right_share, upper)
            _widen(gain[row + 1], left, right_share, lower)
            widened = row + 1
        share = lower_share[y]
        steps = pattern[y % period]
        for x in range(width):
            level = upper[x] + share * (lower[x] - upper[x])
            mark[x] = np.int8(np.floor(level * np.float32(steps[x]) + half_step))
        for x in range(width):
            spread[3 * x] = mark[x]
            spread[3 * x + 1] = mark[x]
            spread[3 * x + 2] = mark[x]
        source = frame[y].reshape(-1)
        target = out[y].reshape(-1)
        for i in range(3 * width):
            # A saturating add of a signed byte, in byte arithmetic the compiler vectorizes:
            # the sum wraps, and a wrap shows as a sum on the wrong side of the pixel.
            pixel = source[i]
            change = spread[i]
            total = (pixel + change) & 255
            over = np.uint8((change > 0) & (total < pixel)) * np.uint8(255)
            keep = np.uint8((change >= 0) | (total <= pixel)) * np.uint8(255)
            target[i] = (total | over) & keep


@numba.njit(nogil=True, cache=True)
def _mean_square(gain: np.ndarray, lands: np.ndarray) -> float:
    """The mean of ``lands`` x ``gain``^2, summed column by column (independent sums the
    compiler vectorizes, in a fixed order) and then across."""
    height, width = gain.shape
    columns = np.zeros(width, np.float32)
    for y in range(height):
        for x in range(width):
            columns[x] += lands[y, x] * gain[y, x] * gain[y, x]
    return float(np.sum(columns.astype(np.float64))) / gain.size


@numba.njit(nogil=True, cache=True)
def gain_map(
    texture: np.ndarray,
    luma: np.ndarray,
    fine_texture: float,
    flat_share: float,
    strength: float,
    boost: float,
    max_rms: float,
    gain: np.ndarray,
) -> None:
    """The mark's amplitude (grey levels) at a quarter of the frame's size, into ``gain``.

    Parameters
    ----------
    texture, luma: (h, w) float32, from :func:`luma_and_texture` (h, w >= 3)
    fine_texture: texture that counts as fully textured (gets ``strength``)
    flat_share: the share of ``strength`` where there is no texture
    strength: the amplitude in fully textured areas
    boost: how much more the textured part gets when the frame is under the PSNR budget
    max_rms: the budget: the RMS of the mark over the frame, where the half of it that lands
        beyond black or white (on pixels at 0-5 or 250-255) counts for nothing
    gain: (h, w) float32 out
    """
    height, width = texture.shape
    # The texture's share of full masking, framed by 2 reflected pixels for a 5x5 box blur.
    masking = np.empty((height + 4, width + 4), np.float32)
    per_texture = np.float32(1.0 / fine_texture)
    low, high = np.float32(flat_share), np.float32(1.0)
    for y in range(height):
        row = masking[y + 2]
        for x in range(width):
            row[x + 2] = min(max(texture[y, x] * per_texture, low), high)
        for edge in range(1, 3):
            row[2 - edge] = row[2 + edge]
            row[width + 1 + edge] = row[width + 1 - edge]
    for edge in range(1, 3):
        masking[2 - edge] = masking[2 + edge]
        masking[height + 1 + edge] = masking[height + 1 - edge]
    columns = np.empty(width + 4, np.float32)
    lands = np.empty((height, width), np.float32)
    scale = np.float32(strength / 25.0)
    for y in range(height):
        for x in range(width + 4):
            columns[x] = (masking[y, x] + masking[y + 1, x] + masking[y + 2, x]
                          + masking[y + 3, x] + masking[y + 4, x])  # fmt: skip
        for x in range(width):
            total = columns[x] + columns[x + 1] + columns[x + 2] + columns[x + 3] + columns[x + 4]
            gain[y, x] = total * scale
            level = luma[y, x]
            # Where the frame is blown out (or black) the mark's outward half is clipped
            # away and costs nothing: half its power lands there.
            dark_or_bright = (level < np.float32(5.5)) | (level > np.float32(249.5))
            lands[y, x] = np.float32(0.5) if dark_or_bright else np.float32(1.0)
    rms = np.sqrt(_mean_square(gain, lands))
    if rms > max_rms:
        gain *= np.float32(max_rms / rms)
    elif rms > 0:
        # Under the budget (much flat or blown-out area): the textured part takes up to
        # ``boost`` times more, where it survives a brightness change that clips the rest.
        flat = np.float32(flat_share * strength)
        more = np.float32(boost)
        for y in range(height):
            for x in range(width):
                gain[y, x] = flat + (gain[y, x] - flat) * more
        rms = np.sqrt(_mean_square(gain, lands))
        if rms > max_rms:
            gain *= np.float32(max_rms / rms)
