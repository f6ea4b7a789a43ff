"""The painters' per-pixel loops, compiled (numba): the mouth's interior (its lip lines, the
cavity, tongue and teeth, and its blend into the frame), the irises moved for gaze, and the
smooth lip outline's spline.

As in :mod:`gioconda.render.kernels` (whose cache folder these share: see the import), each
loop computes what the NumPy and OpenCV code it replaces computed, to the bit: float32 where
NumPy worked in float32 (a Python constant rounded to float32 first, as NumPy rounds it), the
same operations in the same order, none fused. What the compiled code could not compute to the
bit stays with NumPy: array powers (NumPy's may be SIMD code that rounds otherwise than the C
library), BLAS products and norms. The painters work on boxes of a few thousand pixels, where
NumPy's time went on its calls, not on the pixels. A division by zero gives NumPy's infinity
(numba's ``error_model="numpy"``), not an exception: np.interp's slope over two points level
along a lip line is one, and never read.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# (The warp's kernels choose numba's cache folder as they load, before these compile. Nothing
# compiled there is used here: numba keys a loop's cached machine code on its own file's text,
# so a loop using another file's would keep that file's old code after it changed.)
import gioconda.render.kernels  # noqa: F401

_F = np.float32

#: OpenCV's remap rounds a point to 1/32 pixel (its INTER_TAB_SIZE), as its bits.
_TAB, _TAB_BITS = 32, 5


@njit(cache=True, nogil=True, error_model="numpy")
def slopes(xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Each interval's slope, as ``np.interp`` works it out before it reads."""
    out = np.empty(xp.shape[0] - 1)
    for j in range(out.shape[0]):
        out[j] = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    return out


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def interp(
    x: np.float64, xp: np.ndarray, fp: np.ndarray, slope: np.ndarray, guess: int
) -> tuple[float, int]:
    """``np.interp(x, xp, fp)`` for one float64 ``x`` over increasing ``xp`` (two points or
    more; ``slope``: :func:`slopes`' of them): the same interval (the last point at or before
    ``x``) and the same sums, for finite points. The interval is looked for from ``guess`` (a
    neighbouring pixel's) and returned with the value."""
    n = xp.shape[0]
    j = min(max(guess, 0), n - 1)
    while j >= 0 and xp[j] > x:
        j -= 1
    while j + 1 < n and xp[j + 1] <= x:
        j += 1
    if j < 0:
        return fp[0], 0
    if j == n - 1 or xp[j] == x:
        return fp[j], j
    # (np.interp's second tries where this is NaN are left out: with finite points, as lip
    # lines are, it is not; and the check took twice the time of the rest.)
    return slope[j] * (x - xp[j]) + fp[j], j


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _clip01(x: np.float32) -> np.float32:
    return min(max(x, _F(0.0)), _F(1.0))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def tooth_side(au: np.float32, seams: np.ndarray, guess: int) -> tuple[np.float32, int]:
    """Where a pixel ``au`` (float32 mouth widths from the middle, >= 0) lies across its tooth,
    0 in its middle, 1 at a seam (``seams``: float32, increasing from the middle outward; past
    the last, teeth of the last one's width): the arithmetic of the ``_tooth_side`` it replaced
    (kept in the tests). The first seam at or past ``au`` (``np.searchsorted``'s) is looked for from
    ``guess`` (a neighbouring pixel's), and returned with the side."""
    n = seams.shape[0]
    last = seams[n - 1] - seams[n - 2]
    index = min(max(guess, 0), n)
    while index > 0 and seams[index - 1] >= au:
        index -= 1
    while index < n and seams[index] < au:
        index += 1
    found = index
    index = min(max(index, 1), n - 1)
    left, right = seams[index - 1], seams[index]
    if au > seams[n - 1]:
        left = seams[n - 1] + np.floor((au - seams[n - 1]) / last) * last
        right = left + last
    across = (au - left) / (right - left)
    return abs(_F(2.0) * across - _F(1.0)), found


@njit(cache=True, nogil=True, error_model="numpy")
def mouth_frame(
    x0: int,
    y0: int,
    centre: np.ndarray,
    axes: np.ndarray,
    width: float,
    depth_scale: float,
    turn_scale: float,
    lines: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    seams: tuple[np.ndarray, np.ndarray],
    out: np.ndarray,
) -> None:
    """The mouth's frame at each pixel of the box from (``x0``, ``y0``), written to ``out``
    ((9, h, w) float32): rows down the mouth (``rel_y``, pixels), ``u`` across it (mouth
    widths), the upper lip's, lower lip's and skull's lip line there (their ``v`` at the
    pixel's position along the mouth: ``lines``, each as increasing ``x`` then its ``y``), the
    depth toward the corners, the side across the upper and the lower teeth (``seams``), and
    how far the row of teeth turns away (before its power); ``centre`` and ``axes`` ((2, 2),
    rows x and y) float64, the scales are the float64 divisors NumPy had."""
    cx, cy = _F(centre[0]), _F(centre[1])
    ax0, ax1, ay0, ay1 = _F(axes[0, 0]), _F(axes[0, 1]), _F(axes[1, 0]), _F(axes[1, 1])
    w32, d32, t32 = _F(width), _F(depth_scale), _F(turn_scale)
    upper_x, upper_y, lower_x, lower_y, skull_x, skull_y = lines
    upper_s, lower_s = slopes(upper_x, upper_y), slopes(lower_x, lower_y)
    skull_s = slopes(skull_x, skull_y)
    upper_seams, lower_seams = seams
    width = out.shape[2]
    xs = np.empty(width, np.float32)
    for j in range(width):
        xs[j] = _F(x0 + j) - cx
    rel_x = np.empty(width, np.float32)
    # Each row in two passes: the arithmetic first (loops the compiler makes SIMD), then the
    # lines' and the teeth's look-ups, pixel by pixel.
    for i in range(out.shape[1]):
        ys = _F(y0 + i) - cy
        rel_y, u, depth, turn = out[0, i], out[1, i], out[5, i], out[8, i]
        for j in range(width):
            rel_x[j] = xs[j] * ax0 + ys * ax1
            rel_y[j] = xs[j] * ay0 + ys * ay1
            u[j] = rel_x[j] / w32
            depth[j] = _clip01(abs(u[j]) / d32)
            turn[j] = _clip01(abs(u[j]) / t32)
        upper, lower, skull = out[2, i], out[3, i], out[4, i]
        upper_side, lower_side = out[6, i], out[7, i]
        k0 = k1 = k2 = k3 = k4 = 0
        for j in range(width):
            x = np.float64(rel_x[j])
            value, k0 = interp(x, upper_x, upper_y, upper_s, k0)
            upper[j] = _F(value)
            value, k1 = interp(x, lower_x, lower_y, lower_s, k1)
            lower[j] = _F(value)
            value, k2 = interp(x, skull_x, skull_y, skull_s, k2)
            skull[j] = _F(value)
            au = abs(u[j])
            upper_side[j], k3 = tooth_side(au, upper_seams, k3)
            lower_side[j], k4 = tooth_side(au, lower_seams, k4)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _mixed(base: np.float32, layer: np.float32, a: np.float32) -> np.float32:
    """``_blend``'s two steps for one value: the base dimmed by the alpha, the layer added."""
    return base * (_F(1.0) - a) + layer * a


@njit(cache=True, nogil=True, error_model="numpy")
def mouth_interior(
    frame: np.ndarray,
    powers: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    inside: np.ndarray,
    scalars: tuple[np.float32, ...],
    tongue_drop: float,
    lower_height: float,
    colours: np.ndarray,
    lower_shown: float,
    upper_teeth: bool,
    interior: np.ndarray,
) -> None:
    """The painted interior ((h, w, 3) float32 ``interior``): the cavity, darker deeper in
    from the lips and under the upper teeth, with the lips' wet rim (``inside``: each pixel's
    distance into the opening), the tongue (its top ``tongue_drop`` pixels below the lower
    lip), the lower teeth (``lower_height`` pixels over the lower lip) when ``lower_shown`` > 0
    and the upper teeth
    (unless not ``upper_teeth``), from :func:`mouth_frame`'s ``frame`` and NumPy's ``powers`` of
    it (the upper side ** 4 and ** 12, the lower side's, the turn ** 1.5). ``scalars``: the
    lengths and constants as NumPy rounded them to float32, in the order unpacked below (see
    ``gioconda.render.mouth._interior_scalars``); ``colours``: (5, 3) float32 cavity, inner lip,
    tongue, teeth and the lower teeth's warmer colour."""
    (corner_base, corner_shade, rim_reach, rim_alpha, tongue_edge, tongue_half, tongue_shading,
     tongue_top_shade, tongue_rest, tongue_alpha, turn_shade, lower_drop,
     embrasure, lower_edge, lower_half, lower_end, lower_shade, rounding, seam, teeth_above,
     upper_height, upper_drop, upper_edge, upper_half, upper_end, shadow_reach, shadow_base,
     lip_shadow, edge_reach, edge_darkening, throat_reach, throat_dark, under_reach, under_dark,
     lower_light, front_reach, front_dark) = scalars  # fmt: skip
    top_drop, shown = _F(tongue_drop), _F(lower_shown)
    one = _F(1.0)
    risen = _F(lower_height)
    upper4, upper12, lower4, lower12, turn = powers
    width = interior.shape[1]
    # Per row: each layer's alpha and shading in loops of arithmetic alone (which the compiler
    # makes SIMD: the divisions were most of the time), then the blends pixel by pixel.
    shade, rim = np.empty(width, np.float32), np.empty(width, np.float32)
    tongue, tongue_shade = np.empty(width, np.float32), np.empty(width, np.float32)
    low, low_light = np.zeros(width, np.float32), np.zeros(width, np.float32)
    up, up_light = np.zeros(width, np.float32), np.zeros(width, np.float32)
    for i in range(interior.shape[0]):
        rel_y, u, upper_lip = frame[0, i], frame[1, i], frame[2, i]
        lower_lip, skull_lip, depth = frame[3, i], frame[4, i], frame[5, i]
        inside_row = inside[i]
        for j in range(width):
            # The cavity: darker toward the corners, deeper in from the lips (the light comes
            # in between them) and under the upper teeth's biting edge (their shadow).
            far = _clip01(inside_row[j] / throat_reach)
            teeth_top = min(skull_lip[j], upper_lip[j]) - teeth_above
            teeth_bottom = teeth_top + upper_height * (one - upper_drop * (depth[j] * depth[j]))
            under = _clip01(one - (rel_y[j] - teeth_bottom) / under_reach)
            shade[j] = (corner_base + corner_shade * (one - depth[j])) * (one - throat_dark * far)
            shade[j] = shade[j] * (one - under_dark * under)
            wet = _clip01(one - inside_row[j] / rim_reach)
            rim[j] = wet * wet * rim_alpha
            # The tongue.
            tongue_top = lower_lip[j] - top_drop
            q = abs(u[j]) / tongue_half
            tongue[j] = _clip01((rel_y[j] - tongue_top) / tongue_edge) * _clip01(one - q * q)
            below_top = _clip01((rel_y[j] - tongue_top) / tongue_shading)
            # (and its front, curving down behind the lower lip, away from the light)
            front = _clip01(one - (lower_lip[j] - rel_y[j]) / front_reach)
            lit = tongue_top_shade + tongue_rest * below_top
            tongue_shade[j] = lit * (one - front_dark * front)
        if lower_shown > 0:
            side, side4, side12, turned = frame[7, i], lower4[i], lower12[i], turn[i]
            for j in range(width):
                lower_top = lower_lip[j] - risen * (one - lower_drop * (depth[j] * depth[j]))
                lower_top = lower_top + embrasure * side4[j]
                teeth = _clip01((rel_y[j] - lower_top) / lower_edge)
                row = _clip01((lower_half - abs(u[j])) / lower_end)
                low[j] = teeth * (row * shown)
                # Shaded as the upper row is, in the upper lip's and teeth's shadow: their
                # translucent tips a little darker, and darker down into the lower lip's
                # shade (which hides their roots).
                down = _clip01((rel_y[j] - lower_top) / risen)
                near_tip = _clip01(one - (rel_y[j] - lower_top) / edge_reach)
                light = lower_light * (one - lower_shade * down)
                light = light * (one - edge_darkening * near_tip)
                falloff = one - turn_shade * turned[j]
                relief = falloff * (one - rounding * (side[j] * side[j]) - seam * side12[j])
                low_light[j] = light * relief
        if upper_teeth:
            side, side4, side12, turned = frame[6, i], upper4[i], upper12[i], turn[i]
            for j in range(width):
                teeth_top = min(skull_lip[j], upper_lip[j]) - teeth_above
                bottom = teeth_top + upper_height * (one - upper_drop * (depth[j] * depth[j]))
                bottom = bottom - embrasure * side4[j]
                teeth = _clip01((bottom - rel_y[j]) / upper_edge)
                up[j] = teeth * _clip01((upper_half - abs(u[j])) / upper_end)
                below_lip = _clip01((rel_y[j] - upper_lip[j]) / shadow_reach)
                shadow = shadow_base + lip_shadow * below_lip
                near_edge = _clip01(one - (bottom - rel_y[j]) / edge_reach)
                shadow = shadow * (one - edge_darkening * near_edge)
                falloff = one - turn_shade * turned[j]
                relief = falloff * (one - rounding * (side[j] * side[j]) - seam * side12[j])
                up_light[j] = shadow * relief
        out = interior[i]
        for j in range(width):
            for c in range(3):
                value = colours[0, c] * shade[j]
                value = _mixed(value, colours[1, c], rim[j])
                value = _mixed(value, colours[2, c] * tongue_shade[j] * tongue_alpha, tongue[j])
                if lower_shown > 0:
                    value = _mixed(value, colours[4, c] * low_light[j], low[j])
                if upper_teeth:
                    value = _mixed(value, colours[3, c] * up_light[j], up[j])
                out[j, c] = value


@njit(cache=True, nogil=True, error_model="numpy")
def blend_patch(patch: np.ndarray, interior: np.ndarray, mask: np.ndarray, strength: float) -> None:
    """``interior`` ((h, w, 3) float32) over the uint8 ``patch`` (in place) by ``mask`` times
    ``strength``, rounded: NumPy's float32 blend and its cast. Pixels the mask leaves out are
    left as they are (the blend gives them back to the bit)."""
    k = _F(strength)
    one, half, low, top = _F(1.0), _F(0.5), _F(0.0), _F(255.0)
    for i in range(patch.shape[0]):
        for j in range(patch.shape[1]):
            if mask[i, j] == 0:
                continue
            a = mask[i, j] * k
            for c in range(3):
                value = _F(patch[i, j, c]) * (one - a) + interior[i, j, c] * a + half
                patch[i, j, c] = np.uint8(min(max(value, low), top))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _point(
    x: np.float32, y: np.float32
) -> tuple[int, int, np.float32, np.float32, np.float32, np.float32]:
    """The top-left pixel (column, row) of a bilinear read at (x, y) and its weights along x
    and y (wx0, wx1, wy0, wy1), the point rounded to 32nds as ``cv2.remap`` rounds it (as
    :func:`gioconda.render.kernels._cell` does, unclamped)."""
    far = _F(2.0**28)
    sx = int(np.rint(min(max(x * _F(_TAB), -far), far)))
    sy = int(np.rint(min(max(y * _F(_TAB), -far), far)))
    wx1 = _F(sx & (_TAB - 1)) * _F(1.0 / _TAB)
    wy1 = _F(sy & (_TAB - 1)) * _F(1.0 / _TAB)
    return sx >> _TAB_BITS, sy >> _TAB_BITS, _F(1.0) - wx1, wx1, _F(1.0) - wy1, wy1


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _read(image: np.ndarray, x: np.float32, y: np.float32, c: int) -> np.float32:
    """Channel ``c`` of an (h, w, n) float32 image read as ``cv2.remap`` reads it (bilinear,
    replicated border)."""
    h, w = image.shape[0], image.shape[1]
    ix, iy, wx0, wx1, wy0, wy1 = _point(x, y)
    x0, x1 = min(max(ix, 0), w - 1), min(max(ix + 1, 0), w - 1)
    y0, y1 = min(max(iy, 0), h - 1), min(max(iy + 1, 0), h - 1)
    value = image[y0, x0, c] * (wy0 * wx0) + image[y0, x1, c] * (wy0 * wx1)
    value = value + image[y1, x0, c] * (wy1 * wx0)
    return value + image[y1, x1, c] * (wy1 * wx1)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _read_clear(image: np.ndarray, x: np.float32, y: np.float32) -> np.float32:
    """An (h, w) float32 image read as ``cv2.remap`` reads it with a border of zeros."""
    h, w = image.shape[0], image.shape[1]
    ix, iy, wx0, wx1, wy0, wy1 = _point(x, y)
    zero = _F(0.0)
    v00 = image[iy, ix] if 0 <= iy < h and 0 <= ix < w else zero
    v01 = image[iy, ix + 1] if 0 <= iy < h and 0 <= ix + 1 < w else zero
    v10 = image[iy + 1, ix] if 0 <= iy + 1 < h and 0 <= ix < w else zero
    v11 = image[iy + 1, ix + 1] if 0 <= iy + 1 < h and 0 <= ix + 1 < w else zero
    value = v00 * (wy0 * wx0) + v01 * (wy0 * wx1)
    value = value + v10 * (wy1 * wx0)
    return value + v11 * (wy1 * wx1)


@njit(cache=True, nogil=True, error_model="numpy")
def paint_iris(
    patch: np.ndarray,
    source: np.ndarray,
    mask: np.ndarray,
    shift: tuple[float, float],
    white: np.ndarray,
    iris: np.ndarray,
    alpha: np.ndarray,
) -> None:
    """One eye redrawn into ``patch`` ((h, w, 3) uint8, in place) inside its opening
    (``mask``, (h, w) float32): the eye ``white`` where ``source`` ((h, w, 2) float32, each
    pixel's point in the eye's patches) takes it, and over it the ``iris`` with its ``alpha``
    read ``shift`` pixels (float64) off. What :meth:`gioconda.render.eyes.IrisPainter._paint_eye`'s
    three ``cv2.remap`` and blends did."""
    dx, dy = _F(shift[0]), _F(shift[1])
    one, half, low, top = _F(1.0), _F(0.5), _F(0.0), _F(255.0)
    for i in range(patch.shape[0]):
        for j in range(patch.shape[1]):
            m = mask[i, j]
            if m == 0:
                continue
            sx, sy = source[i, j, 0], source[i, j, 1]
            mx, my = sx - dx, sy - dy
            a = _read_clear(alpha, mx, my)
            for c in range(3):
                eye = _read(iris, mx, my, c) * a + _read(white, sx, sy, c) * (one - a)
                value = _F(patch[i, j, c]) * (one - m) + eye * m + half
                patch[i, j, c] = np.uint8(min(max(value, low), top))


@njit(cache=True, nogil=True, error_model="numpy")
def outline_steps(points: np.ndarray, contours: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The steps between consecutive points of both ``contours`` (landmark indices into
    ``points``, (N, >= 2) float64), each extended by a point mirrored past either end: the
    (n0 + 1 + n1 + 1, 2) float64 steps :func:`gioconda.render.mouth.smooth_outline` sizes."""
    n = contours[0].shape[0] + contours[1].shape[0] + 2
    steps = np.empty((n, 2))
    k = 0
    for ids in contours:
        m = ids.shape[0]
        for a in range(2):
            steps[k, a] = points[ids[0], a] - (2 * points[ids[0], a] - points[ids[1], a])
            for q in range(1, m):
                steps[k + q, a] = points[ids[q], a] - points[ids[q - 1], a]
            steps[k + m, a] = (2 * points[ids[m - 1], a] - points[ids[m - 2], a]) - points[
                ids[m - 1], a
            ]
        k += m + 1
    return steps


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _extended(points: np.ndarray, ids: np.ndarray, q: int, a: int) -> float:
    """Point ``q`` of a contour extended by a mirrored point at each end (0: the first)."""
    m = ids.shape[0]
    if q == 0:
        return 2 * points[ids[0], a] - points[ids[1], a]
    if q == m + 1:
        return 2 * points[ids[m - 1], a] - points[ids[m - 2], a]
    return points[ids[q - 1], a]


@njit(cache=True, nogil=True, error_model="numpy")
def outline_curve(
    points: np.ndarray,
    contours: tuple[np.ndarray, np.ndarray],
    lengths: np.ndarray,
    half: float,
    per: int,
) -> np.ndarray:
    """The centripetal Catmull-Rom outline of both ``contours`` (upper, then lower back), ``per``
    points a segment, from :func:`outline_steps`' ``lengths``:
    :func:`gioconda.render.mouth.smooth_outline`'s arithmetic, written out per point. Each
    length's square root is the C library's ``pow(length, half)`` (``half`` = 0.5, passed in so
    that the compiler cannot turn it into a square root, which rounds otherwise), as Python's
    ``math.pow`` takes it."""
    root = np.empty(lengths.shape[0])
    for k in range(root.shape[0]):
        root[k] = max(math.pow(lengths[k], half), 1e-6)
    n0, n1 = contours[0].shape[0], contours[1].shape[0]
    total = (n0 - 1) * per + 1 + (n1 - 1) * per + 1
    out = np.empty((total, 2))
    first = 0  # the contour's first step in ``root``
    for which in range(2):
        ids = contours[which]
        m = ids.shape[0]
        curve = np.empty(((m - 1) * per + 1, 2))
        for seg in range(m - 1):
            d0, d1, d2 = root[first + seg], root[first + seg + 1], root[first + seg + 2]
            t0, t1 = 0.0, d0
            t2 = t1 + d1
            t3 = t1 + d1 + d2
            dt = (t2 - t1) / per
            for k in range(per):
                t = k * dt
                t += t1
                for a in range(2):
                    p0 = _extended(points, ids, seg, a)
                    p1 = _extended(points, ids, seg + 1, a)
                    p2 = _extended(points, ids, seg + 2, a)
                    p3 = _extended(points, ids, seg + 3, a)
                    a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
                    a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
                    a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
                    b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
                    b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
                    curve[seg * per + k, a] = (t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2
        for a in range(2):
            curve[(m - 1) * per, a] = points[ids[m - 1], a]
        # (the upper contour first, the lower one back: loops, as slices would compile
        # NumPy's broadcasting and its error messages)
        n = curve.shape[0]
        for q in range(n):
            row = q if which == 0 else total - 1 - q
            out[row, 0], out[row, 1] = curve[q, 0], curve[q, 1]
        first += m + 1
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def rounded_outline(outline: np.ndarray, split: int, sigma: float) -> np.ndarray:
    """:func:`rounded_curve` of ``outline``'s first ``split`` points and, apart, of the rest."""
    out = np.empty_like(outline)
    out[:split] = rounded_curve(outline[:split], sigma)
    out[split:] = rounded_curve(outline[split:], sigma)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def rounded_curve(curve: np.ndarray, sigma: float) -> np.ndarray:
    """An open ``curve`` ((n, 2) float64) resampled evenly along its length and smoothed by
    ``2 G - G G`` (G: a Gaussian of ``sigma`` pixels along it; the twice smoothed taken from
    twice the once smoothed), continued past each end by its mirror image through that end,
    which holds the ends: :func:`gioconda.render.mouth.rounded_outline`'s per lip."""
    count = curve.shape[0]
    along = np.zeros(count)
    for k in range(1, count):
        along[k] = along[k - 1] + math.hypot(curve[k, 0] - curve[k - 1, 0],
                                             curve[k, 1] - curve[k - 1, 1])  # fmt: skip
    total = along[count - 1]
    if total < 1e-6 or sigma <= 0 or count < 3:
        return curve.copy()
    spacing = total / (count - 1)
    points = np.empty((count, 2))
    j = 0
    for k in range(count):
        at = total * k / (count - 1)
        while j < count - 2 and along[j + 1] <= at:
            j += 1
        span = along[j + 1] - along[j]
        f = (at - along[j]) / span if span > 0 else 0.0
        f = min(max(f, 0.0), 1.0)
        for a in range(2):
            points[k, a] = curve[j, a] + f * (curve[j + 1, a] - curve[j, a])
    reach = min(math.ceil(3 * sigma / spacing), (count - 1) // 2)
    taps = np.empty(2 * reach + 1)
    for k in range(-reach, reach + 1):
        taps[k + reach] = math.exp(-0.5 * (k * spacing / sigma) ** 2)
    taps /= taps.sum()
    # 2 G - G G as one kernel of twice the reach.
    wide = 2 * reach
    twiced = np.zeros(2 * wide + 1)
    for a in range(2 * reach + 1):
        twiced[a + reach] += 2 * taps[a]
        for b in range(2 * reach + 1):
            twiced[a + b] -= taps[a] * taps[b]
    out = np.empty((count, 2))
    for k in range(count):
        for a in range(2):
            value = 0.0
            for t in range(-wide, wide + 1):
                q = k + t
                if q < 0:
                    p = 2 * points[0, a] - points[-q, a]
                elif q > count - 1:
                    p = 2 * points[count - 1, a] - points[2 * (count - 1) - q, a]
                else:
                    p = points[q, a]
                value += twiced[t + wide] * p
            out[k, a] = value
    for a in range(2):
        out[0, a], out[count - 1, a] = points[0, a], points[count - 1, a]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def carry_lip_in(patch: np.ndarray, between: np.ndarray, mask: np.ndarray, strength: float) -> None:
    """The lips carried in over the pixels inside their landmarks' outline (``between``,
    (h, w) bool) that the painted opening (``mask``, (h, w) float32) leaves uncovered, by
    ``strength``, in ``patch`` ((h, w, 3) uint8, in place): each such pixel takes the pixel of
    its column just past the outline's edge (the second pixel out: the first mixes the lip
    with what the photo had inside it), up or down, whichever edge is nearer."""
    h, w = between.shape
    a = _F(strength)
    one, half = _F(1.0), _F(0.5)
    for j in range(w):
        for i in range(h):
            if not between[i, j] or mask[i, j] >= 1:
                continue
            down = i
            while down < h and between[down, j]:
                down += 1
            up = i
            while up >= 0 and between[up, j]:
                up -= 1
            if down < h and (up < 0 or down - i <= i - up):
                source = down + 1
            elif up >= 0:
                source = up - 1
            else:
                continue
            if source < 0 or source >= h:
                continue
            for c in range(3):
                value = _F(patch[i, j, c]) * (one - a) + _F(patch[source, j, c]) * a + half
                patch[i, j, c] = np.uint8(min(max(value, _F(0.0)), _F(255.0)))


@njit(cache=True, nogil=True, error_model="numpy")
def soften_corners(
    frame: np.ndarray,
    corners: np.ndarray,
    reach: float,
    sigma: float,
    lips: np.ndarray,
    strength: float,
) -> None:
    """:func:`soften_corner` about each of ``corners`` ((k, 2) float64), one after another."""
    for k in range(corners.shape[0]):
        soften_corner(frame, corners[k, 0], corners[k, 1], reach, sigma, lips, strength)


@njit(cache=True, nogil=True, error_model="numpy")
def soften_corner(
    frame: np.ndarray,
    cx: float,
    cy: float,
    reach: float,
    sigma: float,
    lips: np.ndarray,
    strength: float,
) -> None:
    """Blur ``frame`` ((H, W, 3) uint8, in place) about (``cx``, ``cy``) by a Gaussian of
    ``sigma`` pixels (its taps to 3 sigma, the frame's edge replicated), mixed in by
    ``strength`` times ``min(2 near, 1)``, ``near`` falling from 1 at the point to 0 at
    ``reach`` pixels, only inside the ``lips`` polygon ((n, 2)). The blur reads the frame as
    it was; a pixel is inside when a ray to its right crosses the outline an odd number of
    times."""
    height, width = frame.shape[0], frame.shape[1]
    r = math.ceil(3 * sigma)
    pad = math.ceil(reach)
    x0, x1 = max(math.floor(cx) - pad, 0), min(math.ceil(cx) + pad + 1, width)
    y0, y1 = max(math.floor(cy) - pad, 0), min(math.ceil(cy) + pad + 1, height)
    if x1 <= x0 or y1 <= y0:
        return
    # What the blur reads: the box and a margin of r pixels, the frame's edge replicated,
    # as it was before any of it changes.
    bh, bw = y1 - y0 + 2 * r, x1 - x0 + 2 * r
    source = np.empty((bh, bw, 3), np.float32)
    for i in range(bh):
        yy = min(max(y0 - r + i, 0), height - 1)
        for j in range(bw):
            xx = min(max(x0 - r + j, 0), width - 1)
            for c in range(3):
                source[i, j, c] = frame[yy, xx, c]
    taps = np.empty(2 * r + 1, np.float32)
    for k in range(-r, r + 1):
        taps[k + r] = math.exp(-0.5 * (k / sigma) ** 2)
    taps /= taps.sum()
    # Rows blurred first (separable), over the box's rows and its margin's.
    across = np.zeros((bh, x1 - x0, 3), np.float32)
    for i in range(bh):
        for j in range(x1 - x0):
            for k in range(2 * r + 1):
                t = taps[k]
                for c in range(3):
                    across[i, j, c] += t * source[i, j + k, c]
    one, half = _F(1.0), _F(0.5)
    n = lips.shape[0]
    crossings = np.empty(n)
    for y in range(y0, y1):
        # Where the row crosses the lips' outline (inside: an odd count of them to the right).
        m = 0
        k = n - 1
        for q in range(n):
            yq, yk = lips[q, 1], lips[k, 1]
            if (yq > y) != (yk > y):
                crossings[m] = (lips[k, 0] - lips[q, 0]) * (y - yq) / (yk - yq) + lips[q, 0]
                m += 1
            k = q
        for x in range(x0, x1):
            near = 1.0 - math.hypot(x - cx, y - cy) / reach
            if near <= 0:
                continue
            right = 0
            for q in range(m):
                if x < crossings[q]:
                    right += 1
            if right % 2 == 0:
                continue
            a = _F(strength * min(2.0 * near, 1.0))
            for c in range(3):
                value = _F(0.0)
                for k in range(2 * r + 1):
                    value += taps[k] * across[y - y0 + k, x - x0, c]
                mixed = _F(frame[y, x, c]) * (one - a) + value * a + half
                frame[y, x, c] = np.uint8(min(max(mixed, _F(0.0)), _F(255.0)))


@njit(cache=True, nogil=True, error_model="numpy")
def add_grain(
    interior: np.ndarray, grain: np.ndarray, top: int, left: int, per_light: float, least: float
) -> None:
    """Add ``grain`` ((T, T, 3) float32, a tile repeated over the patch from its row ``top``
    and column ``left``) to ``interior`` ((h, w, 3) float32, in place), each pixel's scaled by
    the square root of its luminance (the sum of its channels) times ``per_light``, kept
    between ``least`` and 1."""
    side = grain.shape[0]
    scale, low, one = _F(per_light), _F(least), _F(1.0)
    for i in range(interior.shape[0]):
        gi = (top + i) % side
        for j in range(interior.shape[1]):
            gj = (left + j) % side
            light = (interior[i, j, 0] + interior[i, j, 1] + interior[i, j, 2]) * scale
            share = min(max(math.sqrt(max(light, _F(0.0))), low), one)
            for c in range(3):
                interior[i, j, c] += grain[gi, gj, c] * share
