"""The renderer's per-pixel loops, compiled (numba): the inversion's fixed-point steps with the
field's bilinear read fused in, the field over a box (the mesh's sparse product and the rigid
motion in one pass), and the composite's blend of the warped layer over the plate.

Each loop computes what the NumPy and OpenCV code it replaces computed, to the bit: a bilinear
read is OpenCV's (``cv2.remap``, ``INTER_LINEAR``, replicated border: the point rounded to 1/32
pixel, float weights summed in its order), and float32 arithmetic is done in float32, in the
same order, fused only where OpenCV fuses it. The compiled code is cached on disk (beside this
file, or where :func:`_cache_folder` says) so that only a first run compiles; every loop
releases the GIL, so that two render threads run at once.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from gioconda.cache import cache_dir


def _cache_folder() -> None:
    """Where numba keeps compiled code when this package's folder is read-only (an install
    owned by another user): ``numba`` in Gioconda's cache, unless the user chose a folder
    (``NUMBA_CACHE_DIR``). Numba writes each entry to a temporary file and renames it, so
    processes compiling at once (batch workers, parallel tests) do not corrupt it."""
    import numba

    # (numba.config sets its settings from the environment at import: hidden from mypy.)
    if numba.config.CACHE_DIR or os.access(os.path.dirname(__file__), os.W_OK):  # type: ignore[attr-defined]
        return
    numba.config.CACHE_DIR = str(cache_dir() / "numba")  # type: ignore[attr-defined]


_cache_folder()

from llvmlite import ir  # type: ignore[import-untyped]  # noqa: E402
from numba import njit  # noqa: E402  (after the cache folder is chosen)
from numba.core import cgutils, types  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

#: OpenCV's bilinear reads round a point to 1/32 pixel.
_TAB = 32
_TAB_BITS = 5
#: A source point is rounded to an int of 1/32 pixels: kept well inside the int's range (a
#: torn pixel's source is noise; OpenCV saturates it to a short after the shift, and the
#: replicated border clamps it to the image either way).
_FAR = np.float32(2.0**28)


@intrinsic
def _fused_intrinsic(typingctx, a, b, c):
    """a * b + c in float32, rounded once (LLVM's fma: what OpenCV's ``scaleAdd`` computes)."""
    signature = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, sig, args):
        f32 = args[0].type
        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(f32, [f32, f32, f32]), "llvm.fma.f32"
        )
        return builder.call(fma, args)

    return signature, codegen


#: (The intrinsic as the kernels call it: mypy reads numba's own signature for it.)
_fused: Any = _fused_intrinsic


@njit(cache=True, nogil=True)
def _cell(
    x: np.float32, y: np.float32, h: int, w: int
) -> tuple[int, int, int, int, np.float32, np.float32, np.float32, np.float32]:
    """The pixels a bilinear read at (x, y) takes (columns x0, x1, rows y0, y1, clamped to a
    ``h`` x ``w`` image) and their weights along x and y (wx0, wx1, wy0, wy1), the fractions
    rounded to 32nds as OpenCV rounds them."""
    sx = int(np.rint(min(max(x * np.float32(_TAB), -_FAR), _FAR)))
    sy = int(np.rint(min(max(y * np.float32(_TAB), -_FAR), _FAR)))
    ix, iy = sx >> _TAB_BITS, sy >> _TAB_BITS
    x0 = min(max(ix, 0), w - 1)
    x1 = min(max(ix + 1, 0), w - 1)
    y0 = min(max(iy, 0), h - 1)
    y1 = min(max(iy + 1, 0), h - 1)
    wx1 = np.float32(sx & (_TAB - 1)) * np.float32(1.0 / _TAB)
    wy1 = np.float32(sy & (_TAB - 1)) * np.float32(1.0 / _TAB)
    one = np.float32(1.0)
    return x0, x1, y0, y1, one - wx1, wx1, one - wy1, wy1


@njit(cache=True, nogil=True)
def read_field(field: np.ndarray, x: np.float32, y: np.float32) -> tuple[np.float32, np.float32]:
    """Both channels of an (h, w, 2) float32 ``field`` read bilinearly at (x, y), as
    ``cv2.remap`` reads them (replicated border)."""
    h, w = field.shape[0], field.shape[1]
    x0, x1, y0, y1, wx0, wx1, wy0, wy1 = _cell(x, y, h, w)
    # (Unsigned: the clamped cell is never negative, and numba indexes an array with an
    # unsigned index without the test for a negative one that wraps around.)
    c0, c1, r0, r1 = np.uint64(x0), np.uint64(x1), np.uint64(y0), np.uint64(y1)
    w00, w01, w10, w11 = wy0 * wx0, wy0 * wx1, wy1 * wx0, wy1 * wx1
    u = field[r0, c0, 0] * w00 + field[r0, c1, 0] * w01
    u = u + field[r1, c0, 0] * w10
    u = u + field[r1, c1, 0] * w11
    v = field[r0, c0, 1] * w00 + field[r0, c1, 1] * w01
    v = v + field[r1, c0, 1] * w10
    v = v + field[r1, c1, 1] * w11
    return u, v


@njit(cache=True, nogil=True)
def read_slope(
    field: np.ndarray, x: np.float32, y: np.float32
) -> tuple[np.float32, np.float32, np.float32, np.float32]:
    """The derivatives of :func:`read_field` at (x, y) within its cell of pixels: d(field x)
    / dx, d(field x) / dy, d(field y) / dx, d(field y) / dy (0 across a replicated border)."""
    h, w = field.shape[0], field.shape[1]
    x0, x1, y0, y1, wx0, wx1, wy0, wy1 = _cell(x, y, h, w)
    # (The cell is one pixel wide unless the border repeats it.)
    sx = np.float32(1.0) if x1 > x0 else np.float32(0.0)
    sy = np.float32(1.0) if y1 > y0 else np.float32(0.0)
    uxx = (
        wy0 * (field[y0, x1, 0] - field[y0, x0, 0]) + wy1 * (field[y1, x1, 0] - field[y1, x0, 0])
    ) * sx
    uxy = (
        wx0 * (field[y1, x0, 0] - field[y0, x0, 0]) + wx1 * (field[y1, x1, 0] - field[y0, x1, 0])
    ) * sy
    uyx = (
        wy0 * (field[y0, x1, 1] - field[y0, x0, 1]) + wy1 * (field[y1, x1, 1] - field[y1, x0, 1])
    ) * sx
    uyy = (
        wx0 * (field[y1, x0, 1] - field[y0, x0, 1]) + wx1 * (field[y1, x1, 1] - field[y0, x1, 1])
    ) * sy
    return uxx, uxy, uyx, uyy


@njit(cache=True, nogil=True)
def coarse_steps(
    field: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    steps: int,
    damping: np.float32,
    out: np.ndarray,
    settled: np.float32,
) -> None:
    """The backward displacement (source minus point) of the grid points ``xs`` x ``ys``
    (float32, in the field's pixels) by ``steps`` damped fixed-point steps from the first
    guess (the point less the field there), written to ``out`` (len(ys), len(xs), 2); fewer
    where a step moves no point by ``settled`` or more (0: all of them)."""
    # Each step over all points before the next: a point's steps depend on each other, the
    # points do not, so the processor overlaps their reads.
    for i in range(ys.shape[0]):
        for j in range(xs.shape[0]):
            fx, fy = read_field(field, xs[j], ys[i])
            out[i, j, 0], out[i, j, 1] = xs[j] - fx, ys[i] - fy
    for _ in range(steps):
        largest = np.float32(0.0)
        for i in range(ys.shape[0]):
            py = ys[i]
            for j in range(xs.shape[0]):
                px, sx, sy = xs[j], out[i, j, 0], out[i, j, 1]
                fx, fy = read_field(field, sx, sy)
                dx = ((px - fx) - sx) * damping
                dy = ((py - fy) - sy) * damping
                out[i, j, 0] = sx + dx
                out[i, j, 1] = sy + dy
                largest = max(largest, abs(dx), abs(dy))
        if largest < settled:
            break
    for i in range(ys.shape[0]):
        for j in range(xs.shape[0]):
            out[i, j, 0] -= xs[j]
            out[i, j, 1] -= ys[i]


@njit(cache=True, nogil=True)
def refine_steps(
    field: np.ndarray,
    corner_x: int,
    corner_y: int,
    source: np.ndarray,
    ox: np.float32,
    oy: np.float32,
    steps: int,
    damping: np.float32,
    settled: np.float32,
    torn_step: np.float32,
    torn: np.ndarray,
    slow: np.float32,
    newton_steps: int,
    newton_reach: np.float32,
    folded: np.float32,
) -> None:
    """Damped fixed-point steps bringing ``source`` (h, w, 2) in place to the points whose
    image under ``field`` (its pixel (0, 0) at (``ox``, ``oy``) of the frame) is the pixels
    of the box of ``source``'s shape from (``corner_x``, ``corner_y``) of the frame:
    :func:`refine_onto` from ``source`` to itself."""
    zero = np.float32(0.0)
    refine_onto(field, corner_x, corner_y, source, False, zero, source, zero, ox, oy, steps,
                damping, settled, torn_step, torn, slow, newton_steps, newton_reach,
                folded)  # fmt: skip


@njit(cache=True, nogil=True)
def refine_onto(
    field: np.ndarray,
    corner_x: int,
    corner_y: int,
    guess: np.ndarray,
    from_pixels: bool,
    less: np.float32,
    source: np.ndarray,
    less_after: np.float32,
    ox: np.float32,
    oy: np.float32,
    steps: int,
    damping: np.float32,
    settled: np.float32,
    torn_step: np.float32,
    torn: np.ndarray,
    slow: np.float32,
    newton_steps: int,
    newton_reach: np.float32,
    folded: np.float32,
) -> None:
    """Damped fixed-point steps bringing a first guess to the points whose image under
    ``field`` (its pixel (0, 0) at (``ox``, ``oy``) of the frame) is the pixels of the box of
    ``guess``'s shape from (``corner_x``, ``corner_y``) of the frame, written to ``source``
    less ``less_after``: each pixel's first step, and the rest only where that step was
    longer than ``settled``; ``torn`` (h, w) is set where the last step is longer than
    ``torn_step``. The first guess is ``guess`` (h, w, 2) plus the pixel itself with
    ``from_pixels`` (a displacement), else ``guess`` less ``less``. (``guess``, ``source``
    and ``torn`` may be views into larger arrays, and ``guess`` may be ``source``: the
    sums are NumPy's on the arrays it would make of them, to the bit.)

    Where the steps stop shrinking (the next would be longer than ``settled`` and than
    ``slow`` times the last: the field stretches the image so far that the damped steps
    overshoot, or squeezes it so that they crawl) and the map is not torn, up to
    ``newton_steps`` Newton steps follow (the field's own slope in its cell of pixels),
    each kept only if it brings the point closer to its image, is shorter than
    ``newton_reach`` and the field does not fold there (the slope's determinant with the
    identity above ``folded``)."""
    settled2 = settled * settled
    torn2 = torn_step * torn_step
    slow2 = slow * slow
    reach2 = newton_reach * newton_reach
    one = np.float32(1.0)
    w = guess.shape[1]
    n = guess.shape[0] * w
    # The pixels not settled after the first step, in the field's pixels (moved back to the
    # frame's after their last step), each step over all of them before the next. (Their
    # rows and columns kept apart: no division to find them from a flat index.)
    rows = np.empty(n, np.int32)
    columns = np.empty(n, np.int32)
    points = np.empty((n, 5), np.float32)
    m = 0
    for i in range(guess.shape[0]):
        here_y = np.float32(corner_y + i)
        py = here_y - oy
        for j in range(w):
            here_x = np.float32(corner_x + j)
            px = here_x - ox
            if from_pixels:
                gx, gy = here_x + guess[i, j, 0], here_y + guess[i, j, 1]
            else:
                gx, gy = guess[i, j, 0] - less, guess[i, j, 1] - less
            sx, sy = gx - ox, gy - oy
            fx, fy = read_field(field, sx, sy)
            dx, dy = (px - fx) - sx, (py - fy) - sy
            sx, sy = sx + dx * damping, sy + dy * damping
            torn[i, j] = False
            length2 = dx * dx + dy * dy
            # (Written for every pixel, kept only for those not settled: no branch.)
            rows[m], columns[m] = i, j
            points[m, 0], points[m, 1], points[m, 2], points[m, 3] = px, py, sx, sy
            points[m, 4] = length2
            source[i, j, 0], source[i, j, 1] = (sx + ox) - less_after, (sy + oy) - less_after
            m += 1 if length2 > settled2 else 0
    for k in range(1, steps):
        for q in range(m):
            px, py, sx, sy = points[q, 0], points[q, 1], points[q, 2], points[q, 3]
            fx, fy = read_field(field, sx, sy)
            dx, dy = (px - fx) - sx, (py - fy) - sy
            length2 = dx * dx + dy * dy
            if k == steps - 1 and length2 > torn2:
                torn[rows[q], columns[q]] = True
            points[q, 2], points[q, 3] = sx + dx * damping, sy + dy * damping
            points[q, 4] = length2
    for q in range(m):
        i, j = rows[q], columns[q]
        px, py, sx, sy = points[q, 0], points[q, 1], points[q, 2], points[q, 3]
        # (A last step under ``settled`` leaves the point settled unless the field stretches
        # the image over 2.7 times: not worth a read.)
        if newton_steps > 0 and points[q, 4] > settled2 and not torn[i, j]:
            fx, fy = read_field(field, sx, sy)
            rx, ry = (px - fx) - sx, (py - fy) - sy
            gap2 = rx * rx + ry * ry
            if gap2 > settled2 and gap2 > slow2 * points[q, 4]:
                for _ in range(newton_steps):
                    uxx, uxy, uyx, uyy = read_slope(field, sx, sy)
                    a, b, c, d = one + uxx, uxy, uyx, one + uyy
                    det = a * d - b * c
                    if not det > folded:
                        break
                    nx = (d * rx - b * ry) / det
                    ny = (a * ry - c * rx) / det
                    if not nx * nx + ny * ny < reach2:
                        break
                    tx, ty = sx + nx, sy + ny
                    fx, fy = read_field(field, tx, ty)
                    ux, uy = (px - fx) - tx, (py - fy) - ty
                    if not ux * ux + uy * uy < gap2:
                        break
                    sx, sy, rx, ry, gap2 = tx, ty, ux, uy, ux * ux + uy * uy
                    if not gap2 > settled2:
                        break
        source[i, j, 0], source[i, j, 1] = (sx + ox) - less_after, (sy + oy) - less_after


@njit(cache=True, nogil=True)
def field_box(
    out: np.ndarray,
    y0: int,
    x0: int,
    landmarks: np.ndarray,
    weights: np.ndarray,
    offsets: np.ndarray,
    matrix_box: tuple[int, int, int, int],
    planes: np.ndarray,
    planes_box: tuple[int, int, int, int],
    c: np.ndarray,
) -> None:
    """The forward field over the box of ``out`` ((h, w, 2) float32) whose pixel (0, 0) is the
    frame's (``x0``, ``y0``): the mesh's sparse matrix (a row per pixel of ``matrix_box``,
    rows y0:y1 and columns x0:x1, row-major; 0 outside it), as :func:`fixed_rows` gives it
    (``landmarks``, ``weights``), times the landmark ``offsets`` ((n, 2) float32), plus the
    rigid motion: the (2, 4) coefficients ``c`` times the four ``planes`` ((4, ph, pw)
    float32 over ``planes_box``; none outside). The sums are SciPy's product's (a row's
    entries in order; the weights of 0 that end a short row add nothing) and
    :func:`~gioconda.render.renderer._linear_in`'s (whose ``cv2.scaleAdd`` fuses its
    multiply-adds)."""
    my0, my1, mx0, mx1 = matrix_box
    py0, py1, px0, px1 = planes_box
    width = mx1 - mx0
    entries = landmarks.shape[1]
    zero = np.float32(0.0)
    for i in range(out.shape[0]):
        y = y0 + i
        for j in range(out.shape[1]):
            x = x0 + j
            u, v = zero, zero
            if my0 <= y < my1 and mx0 <= x < mx1:
                # (Unsigned indices, never negative here: see :func:`read_field`.)
                row = np.uint64((y - my0) * width + (x - mx0))
                for k in range(entries):
                    weight, landmark = weights[row, k], np.uint64(landmarks[row, k])
                    u += weight * offsets[landmark, 0]
                    v += weight * offsets[landmark, 1]
            if py0 <= y < py1 and px0 <= x < px1:
                a, b = y - py0, x - px0
                p0, p1, p2, p3 = planes[0, a, b], planes[1, a, b], planes[2, a, b], planes[3, a, b]
                ru = _fused(p3, c[0, 3], _fused(p2, c[0, 2], _fused(p1, c[0, 1], p0 * c[0, 0])))
                rv = _fused(p3, c[1, 3], _fused(p2, c[1, 2], _fused(p1, c[1, 1], p0 * c[1, 0])))
                u, v = u + ru, v + rv
            out[i, j, 0] = u
            out[i, j, 1] = v


@njit(cache=True, nogil=True)
def extent(
    points: np.ndarray, skip: np.ndarray, skipping: bool
) -> tuple[np.float32, np.float32, np.float32, np.float32, int]:
    """The least and the greatest x and y of ``points`` ((h, w, 2) float32, any layout; those
    where ``skip`` ((h, w) bool) is set left out with ``skipping``) and how many were read:
    x min, x max, y min, y max (exact float32 values; NaN where one is NaN, as NumPy's own
    reductions give), count. (One pass where NumPy makes four, over a strided view.)"""
    inf = np.float32(np.inf)
    x_min, x_max, y_min, y_max = inf, -inf, inf, -inf
    count = 0
    for i in range(points.shape[0]):
        for j in range(points.shape[1]):
            if skipping and skip[i, j]:
                continue
            x, y = points[i, j, 0], points[i, j, 1]
            # (A NaN, once met, stays: no comparison with it is true.)
            if x < x_min or x != x:
                x_min = x if x_min == x_min else x_min
            if x > x_max or x != x:
                x_max = x if x_max == x_max else x_max
            if y < y_min or y != y:
                y_min = y if y_min == y_min else y_min
            if y > y_max or y != y:
                y_max = y if y_max == y_max else y_max
            count += 1
    return x_min, x_max, y_min, y_max, count


def fixed_rows(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A sparse matrix's rows (CSR ``indptr``, ``indices``, ``data``) each as many entries
    long as its longest, for :func:`field_box`: (n, k) int32 column indices and (n, k)
    float32 weights, a row's entries in order, a shorter row ending in weights of 0 on
    column 0. (Read with no row bounds, a pixel's loop has a fixed length: about 30% faster
    than the CSR's, for about the CSR's memory again.)"""
    counts = np.diff(indptr)
    longest = int(counts.max(initial=0))
    columns = np.zeros((len(counts), longest), np.int32)
    weights = np.zeros((len(counts), longest), np.float32)
    for k in range(longest):
        has = counts > k
        columns[has, k] = indices[indptr[:-1][has] + k]
        weights[has, k] = data[indptr[:-1][has] + k]
    return columns, weights


@njit(cache=True, nogil=True)
def blend(
    warped: np.ndarray,
    plate: np.ndarray,
    plate_shown: np.ndarray,
    corner: tuple[int, int],
    out: np.ndarray,
) -> None:
    """The warped layer (``warped``, (h, w, 4) uint8 with its alpha, the frame's pixels from
    ``corner`` (row, column) on) over the plate, written to the frame ``out`` ((S, S, 3) uint8)
    there: the warped colour where the alpha is 255, the plate (``plate_shown``, (S, S, 3)
    uint8) where it is 0, and between them the alpha's mix of the warped colour and the float
    ``plate`` ((S, S, 3) float32), rounded."""
    cy, cx = corner
    scale = np.float32(1.0 / 255.0)
    one, half = np.float32(1.0), np.float32(0.5)
    low, top = np.float32(0.0), np.float32(255.0)
    for i in range(warped.shape[0]):
        layer, row = warped[i], out[cy + i, cx:]
        under, shown = plate[cy + i, cx:], plate_shown[cy + i, cx:]
        for j in range(warped.shape[1]):
            a = layer[j, 3]
            if a == 255:
                row[j, 0], row[j, 1], row[j, 2] = layer[j, 0], layer[j, 1], layer[j, 2]
            elif a == 0:
                row[j, 0], row[j, 1], row[j, 2] = shown[j, 0], shown[j, 1], shown[j, 2]
            else:
                share = np.float32(a) * scale
                rest = one - share
                for k in range(3):
                    value = np.float32(layer[j, k]) * share + under[j, k] * rest + half
                    row[j, k] = np.uint8(min(max(value, low), top))


@njit(cache=True, nogil=True)
def known_colours(
    image: np.ndarray, hole: np.ndarray, corner: tuple[int, int], out: np.ndarray
) -> None:
    """The colours of ``image`` ((h, w, c >= 3) uint8) outside the ``hole`` ((h, w) bool) and
    their weights, over the box of ``out`` ((bh, bw, 4) float32) from ``corner`` (row,
    column): each pixel's three colours times its weight, then the weight (1 outside the
    hole, 0 in it)."""
    cy, cx = corner
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            known = np.float32(0.0) if hole[cy + i, cx + j] else np.float32(1.0)
            for k in range(3):
                out[i, j, k] = np.float32(image[cy + i, cx + j, k]) * known
            out[i, j, 3] = known


@njit(cache=True, nogil=True)
def fill_hole(
    image: np.ndarray,
    hole: np.ndarray,
    corner: tuple[int, int],
    blurred: np.ndarray,
    keep: np.float32,
) -> None:
    """Each ``hole`` pixel of ``image`` in the box of ``blurred`` (its :func:`known_colours`
    blurred, from ``corner``) set to the blurred colours over the blurred weight, its own
    colour kept with the weight ``keep``, rounded."""
    cy, cx = corner
    low, top, half = np.float32(0.0), np.float32(255.0), np.float32(0.5)
    for i in range(blurred.shape[0]):
        for j in range(blurred.shape[1]):
            if not hole[cy + i, cx + j]:
                continue
            weight = blurred[i, j, 3] + keep
            for k in range(3):
                own = np.float32(image[cy + i, cx + j, k])
                value = (blurred[i, j, k] + keep * own) / weight + half
                image[cy + i, cx + j, k] = np.uint8(min(max(value, low), top))
