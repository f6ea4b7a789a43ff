"""The dense warp: landmark motion spread over the photo, and the map inverted.

Once per portrait: a triangulation of the landmarks with rings around the face, turned into one
sparse matrix from landmark values to pixel values (:class:`LandmarkMesh`), and the head's
smoothed depth map for its rigid 3D rotation. Per frame: the forward displacement field is
inverted by damped fixed-point iteration into a backward map for ``cv2.remap``, with the pixels
where it tears (between parting lips) marked, and filled from around.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import sparse
from scipy.spatial import Delaunay

from gioconda.face.topology import FACE_OVAL, N_MESH_LANDMARKS
from gioconda.render.kernels import (
    coarse_steps,
    fill_hole,
    known_colours,
    refine_onto,
    refine_steps,
)
from gioconda.render.rig import FaceRig

#: Damped fixed-point iterations that invert the forward displacement field (on the coarse
#: grid, see :func:`invert_field`). Damping keeps
#: the iteration converging where the field stretches the image (gradient up to ~1.6, at the
#: sides of a turning face); 4 steps reach sub-pixel accuracy away from the lip seam.
INVERSION_STEPS = 4


INVERSION_DAMPING = 0.75


#: The inversion's grid is this many times coarser than the frame's (see :func:`invert_field`).
INVERSION_COARSENING = 4


#: Fixed-point steps at full resolution after the coarse inversion (at least 2: the last is
#: what finds torn pixels). Two leave a smaller residual (source + field(source) - pixel) than
#: the four full-resolution steps they replace; one leaves about the same, but measurably
#: rounder /o/ and rougher seams in the evaluation.
REFINING_STEPS = 2


#: A full-resolution step shorter than this, pixels, leaves the pixel settled: the steps after
#: it are skipped (they would move it by about a fifth of this).
SETTLED_STEP = 1 / 64


#: Points per row of the block the unsettled pixels are gathered into.
POINT_ROW = 256


#: The fixed-point steps have stopped shrinking where the next would be longer than this
#: share of the last: what a damped step over a field of no stretch shrinks to at most. Where
#: the field stretches or squeezes the image they shrink more slowly or overshoot (the lid's
#: fold under a fully raised brow, stretched over twice its length, was left 0.4-0.9 px from
#: settled; the lips squeezed together 0.2 px on 1% of the mouth's pixels): Newton steps
#: follow there.
SLOW_SHRINK = 0.25


#: Newton steps (on the field's own slope) at most where the fixed-point steps stop shrinking.
NEWTON_STEPS = 2


#: A Newton step longer than this, pixels, is not taken (the slope of one pixel's cell says
#: little about the field further away).
NEWTON_REACH = 2.0


#: Where the field's slope plus the identity has a determinant under this, the field folds
#: the image (the lips' seam): no Newton step is taken there.
FOLDED = 0.05


#: Fixed-point steps inverting the rigid motion alone (smooth: it converges in a few).
RIGID_INVERSION_STEPS = 4


#: The inversion's last step, pixels, above which it has not converged (the map is torn).
TORN_STEP = 1.0


#: Reach of the fill over torn pixels, pixels.
TORN_FILL_SIGMA = 2


#: Blur of the head's depth map, as a share of the crop: enough that a turning head
#: stretches and compresses the image smoothly instead of folding it.
DEPTH_SMOOTHING = 0.025


#: How far inside the face oval a landmark's relief reaches its full share, in face widths.
RELIEF_TAPER = 0.15


#: Rings of mesh vertices around the face: (distance from the face's centre relative to its
#: oval, share of the oval's correction they carry).
RINGS = ((1.3, 0.6), (1.65, 0.28), (2.05, 0.07), (2.5, 0.0))


#: How far around a torn pixel the fill reads, pixels.
FILL_PAD = 4 * TORN_FILL_SIGMA


@dataclass(frozen=True)
class LandmarkMotion:
    """Where each landmark goes, in two parts: (478, 2) pixel offsets each."""

    head: np.ndarray
    expression: np.ndarray


def fill_from_around(
    image: np.ndarray, hole: np.ndarray, bounds: tuple[int, int, int, int] | None = None
) -> None:
    """Fill the ``hole`` (bool) pixels of an (S, S, 3) image in place with the mean of the
    pixels around them (a normalized blur): a torn map's scattered samples of lip and
    shadow would show as specks where the mouth's interior does not cover them.

    ``bounds``: the hole's bounding box (x, y, width, height) where the caller knows it."""
    bx, by, bw, bh = cv2.boundingRect(hole.view(np.uint8)) if bounds is None else bounds
    if bw == 0:
        return
    pad = FILL_PAD
    y0, y1 = max(by - pad, 0), by + bh + pad
    x0, x1 = max(bx - pad, 0), bx + bw + pad
    y1, x1 = min(y1, hole.shape[0]), min(x1, hole.shape[1])
    # The known colours and their weight, blurred as one four-channel image (one pass).
    known = np.empty((y1 - y0, x1 - x0, 4), np.float32)
    known_colours(image, hole, (y0, x0), known)
    blurred = cv2.GaussianBlur(known, (0, 0), TORN_FILL_SIGMA)
    # Deep inside a wide tear (a mouth corner stretched far) no known pixel is near: there
    # the map's own sample is kept (it has not converged, but lands on skin) instead of a
    # near-zero sum drawn as a black blob.
    fill_hole(image, hole, (y0, x0), blurred, np.float32(1e-3))


@dataclass(frozen=True)
class LandmarkMesh:
    """Landmark values spread over the pixels between them: a triangulation of the mesh
    landmarks (the irises excluded) and rings of vertices around the face, as one sparse matrix.

    Attributes
    ----------
    box: x0, y0, x1, y1 of the pixels it covers
    matrix: (pixels in ``box``, row-major) x (468 landmarks) float32 CSR: pixel values as a
        fixed linear mix of landmark values
    """

    box: tuple[int, int, int, int]
    matrix: sparse.csr_matrix


def landmark_mesh(neutral: np.ndarray, size: int, grid: np.ndarray) -> LandmarkMesh:
    """Triangulate the landmarks and rings around the face; precompute barycentrics.

    Vertices beyond the face oval carry a share of the oval's own correction that falls
    to nothing over a few rings, so the face's motion fades smoothly into hair and
    background. Every vertex's value is a fixed linear mix of landmark values, so the
    whole interpolation is one sparse matrix from landmarks to pixels.
    """
    n = N_MESH_LANDMARKS
    lm = neutral[:n, :2]
    oval = np.array(FACE_OVAL)
    # The oval, densified (3 points between each pair of landmarks) so that no triangle
    # reaches across it from outside.
    mix_rows, mix_cols, mix_vals = [], [], []
    dense_points = []
    for k in range(len(oval)):
        a, b = oval[k], oval[(k + 1) % len(oval)]
        for t in (0.0, 0.25, 0.5, 0.75):
            dense_points.append((1 - t) * lm[a] + t * lm[b])
            row = len(dense_points) - 1
            mix_rows += [row, row]
            mix_cols += [a, b]
            mix_vals += [1 - t, t]
    dense = np.array(dense_points)
    along_oval = sparse.csr_matrix((mix_vals, (mix_rows, mix_cols)), shape=(len(dense), n))
    centre = dense.mean(0)
    rings = [lm]
    blocks = [sparse.identity(n, format="csr")]
    for reach, share in RINGS:
        rings.append(centre + reach * (dense - centre))
        blocks.append(along_oval * share)
    vertices = np.concatenate(rings)
    vertex_mix = sparse.vstack(blocks).tocsr()  # (V, n): vertex values from landmarks

    tri = Delaunay(vertices)
    lo = np.floor(vertices.min(0)).astype(int).clip(0, size - 1)
    hi = np.ceil(vertices.max(0)).astype(int).clip(0, size - 1)
    box_pixels = grid[lo[1] : hi[1] + 1, lo[0] : hi[0] + 1].reshape(-1, 2)
    # Which triangle each pixel is in: rasterized, far faster than a point-location walk.
    owner = np.full((hi[1] + 1 - lo[1], hi[0] + 1 - lo[0]), -1, np.int32)
    triangles = vertices[tri.simplices]  # (n, 3 corners, 2)
    # Each triangle's map from a pixel to its barycentric weights of corners 1 and 2
    # (SciPy's own ``tri.transform`` is computed far more slowly, one LAPACK call each).
    edges = np.stack([triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]], 2)
    usable = np.abs(np.linalg.det(edges)) > 1e-6  # degenerate triangles own no pixel
    to_weights = np.zeros_like(edges)
    to_weights[usable] = np.linalg.inv(edges[usable])
    corners = np.round((triangles - lo) * 16).astype(np.int32)
    for index in np.flatnonzero(usable):
        cv2.fillConvexPoly(owner, corners[index], (int(index),), cv2.LINE_8, shift=4)
    simplex = owner.reshape(-1)
    inside = simplex >= 0
    rows = np.flatnonzero(inside)
    s = simplex[inside]
    offset = box_pixels[rows] - triangles[s, 0]
    weights = to_weights[s]
    bary = np.empty((len(s), 3))
    bary[:, 1:] = weights[:, :, 0] * offset[:, None, 0] + weights[:, :, 1] * offset[:, None, 1]
    bary[:, 0] = 1 - (bary[:, 1] + bary[:, 2])
    cols = tri.simplices[s]
    to_pixels = sparse.csr_matrix(
        (bary.ravel(), (np.repeat(rows, 3), cols.ravel())),
        shape=(len(box_pixels), len(vertices)),
    )
    box = (lo[0], lo[1], hi[0] + 1, hi[1] + 1)
    return LandmarkMesh(box, (to_pixels @ vertex_mix).astype(np.float32).tocsr())


def weighted_mesh(mesh: LandmarkMesh, share: np.ndarray) -> LandmarkMesh:
    """``mesh`` with each pixel's mix of landmark values scaled by ``share`` ((S, S) float32,
    the frame's pixels): what it spreads, each pixel takes that share of. A share of 1
    everywhere gives the mesh itself."""
    x0, y0, x1, y1 = mesh.box
    rows = np.ascontiguousarray(share[y0:y1, x0:x1], np.float32).reshape(-1)
    if np.all(rows == 1.0):
        return mesh
    return LandmarkMesh(mesh.box, (sparse.diags(rows) @ mesh.matrix).astype(np.float32).tocsr())


def head_depth_map(rig: FaceRig, mesh: LandmarkMesh, size: int) -> np.ndarray:
    """Depth of the head's surface at every pixel, for its rigid 3D rotation.

    On the face it follows the landmarks' own depth; beyond the face it eases back to
    the pivot's depth (hair at the sides of a head turns about the same axis as the
    face, but sits behind it). Smoothed, so that motion has no kinks.
    """
    pz = np.float32(rig.pivot[2])
    depth = np.full((size, size), pz, np.float32)
    relief = (rig.neutral[:N_MESH_LANDMARKS, 2] - pz).astype(np.float32)
    x0, y0, x1, y1 = mesh.box
    depth[y0:y1, x0:x1] += (mesh.matrix @ relief).reshape(y1 - y0, x1 - x0)
    # Never behind the pivot: what is behind it is hidden anyway.
    depth = np.minimum(depth, pz)
    return cv2.GaussianBlur(depth, (0, 0), DEPTH_SMOOTHING * size).astype(np.float32)


def invert_field(
    field: np.ndarray, grid: np.ndarray, window: tuple[int, int, int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Backward map (where each output pixel comes from) of a forward displacement field,
    and the (S, S) bool mask of pixels where it did not converge: where the field tears
    apart (between parting lips) no photo pixel lands, and the map there is noise.

    The backward displacement is smooth wherever the map does not tear, so the iteration
    runs on a grid :data:`INVERSION_COARSENING` times coarser, its result is interpolated
    to every pixel, and :data:`REFINING_STEPS` steps at full resolution (after the first,
    only for the pixels not yet settled, see :data:`SETTLED_STEP`) bring each pixel to
    sub-pixel accuracy (the interpolation's error is largest where the field bends, at the
    lips) and find where the map tears: a step still above :data:`TORN_STEP` has not
    converged. A field of zero gives the identity exactly.

    ``window`` (rows y0:y1, columns x0:x1) limits the work to the output pixels inside it:
    outside it the map is the identity and nothing is torn.
    """
    y0, y1, x0, x1 = (0, field.shape[0], 0, field.shape[1]) if window is None else window
    source = grid[y0:y1, x0:x1] + coarse_inverse(field, (y0, y1, x0, x1))
    torn_here = refine_inverse(field, (x0, y0), source)
    if window is None:
        return source, torn_here
    backward = grid.copy()
    backward[y0:y1, x0:x1] = source
    torn = np.zeros(field.shape[:2], bool)
    torn[y0:y1, x0:x1] = torn_here
    return backward, torn


def refine_inverse(
    field: np.ndarray,
    corner: tuple[int, int],
    source: np.ndarray,
    origin: tuple[int, int] = (0, 0),
    newton: bool = True,
) -> np.ndarray:
    """Bring ``source`` (h, w, 2), a close guess of where the output pixels of the box of
    its shape from ``corner`` (x, y) come from, to sub-pixel accuracy in place by
    :data:`REFINING_STEPS` damped fixed-point steps on ``field``, whose pixel (0, 0) lies at
    ``origin`` (x, y) of the frame; return the
    (h, w) bool mask of pixels where the map tears (the last step is over :data:`TORN_STEP`).

    After the first step only the pixels not yet settled (see :data:`SETTLED_STEP`) take
    the others: a pixel whose step is under it is not torn either. Where the steps stop
    shrinking (see :data:`SLOW_SHRINK`), up to :data:`NEWTON_STEPS` Newton steps follow
    (unless not ``newton``).
    """
    torn = np.empty(source.shape[:2], bool)
    # (The compiled steps read and write the arrays in place, row-major.)
    target = source if source.flags.c_contiguous else np.ascontiguousarray(source)
    refine_steps(_contiguous(field), int(corner[0]), int(corner[1]), target, np.float32(origin[0]),
                 np.float32(origin[1]), REFINING_STEPS, np.float32(INVERSION_DAMPING),
                 np.float32(SETTLED_STEP), np.float32(TORN_STEP), torn,
                 np.float32(SLOW_SHRINK), NEWTON_STEPS if newton else 0,
                 np.float32(NEWTON_REACH), np.float32(FOLDED))  # fmt: skip
    if target is not source:
        source[...] = target
    return torn


def refine_inverse_into(
    field: np.ndarray,
    corner: tuple[int, int],
    guess: np.ndarray,
    source: np.ndarray,
    torn: np.ndarray,
    origin: tuple[int, int],
    from_pixels: bool = False,
    less: float | np.float32 = 0.0,
    less_after: float | np.float32 = 0.0,
) -> None:
    """:func:`refine_inverse` of a first guess written elsewhere: the guess is ``guess``
    (h, w, 2) plus each pixel of the box from ``corner`` (x, y) with ``from_pixels`` (a
    displacement), else ``guess`` less ``less``; the refined sources less ``less_after`` are
    written to ``source`` (h, w, 2) and where the map tears to ``torn`` (h, w), to the bit
    what :func:`refine_inverse` of that guess (as NumPy makes it) and then the same
    arithmetic on its result give. ``guess``, ``source`` and ``torn`` may be views into a
    larger map (``guess`` may be ``source``): no array of the box is made or copied."""
    refine_onto(_contiguous(field), int(corner[0]), int(corner[1]), guess, from_pixels,
                np.float32(less), source, np.float32(less_after), np.float32(origin[0]),
                np.float32(origin[1]), REFINING_STEPS, np.float32(INVERSION_DAMPING),
                np.float32(SETTLED_STEP), np.float32(TORN_STEP), torn,
                np.float32(SLOW_SHRINK), NEWTON_STEPS, np.float32(NEWTON_REACH),
                np.float32(FOLDED))  # fmt: skip


def _contiguous(array: np.ndarray) -> np.ndarray:
    """``array`` as row-major float32 (itself when it is: the compiled loops take one layout)."""
    return np.ascontiguousarray(array, np.float32)


def coarse_inverse(
    field: np.ndarray,
    window: tuple[int, int, int, int],
    factor: int = INVERSION_COARSENING,
    origin: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """The backward displacement (source minus output pixel) of ``window``'s pixels,
    (h, w, 2) float32, found on a grid ``factor`` times coarser by damped fixed-point
    iteration and interpolated linearly to every pixel; ``field``'s pixel (0, 0) lies at
    ``origin`` (x, y) of the frame."""
    xs, ys = coarse_points(window, factor)
    xs -= np.float32(origin[0])
    ys -= np.float32(origin[1])
    source = np.empty((len(ys), len(xs), 2), np.float32)
    coarse_steps(
        _contiguous(field),
        xs,
        ys,
        INVERSION_STEPS,
        np.float32(INVERSION_DAMPING),
        source,
        np.float32(0.0),
    )  # fmt: skip (every step: the face's map is exact)
    y0, y1, x0, x1 = window
    return to_every_pixel(source, y1 - y0, x1 - x0, factor)


def coarse_points(
    window: tuple[int, int, int, int], factor: int = INVERSION_COARSENING
) -> tuple[np.ndarray, np.ndarray]:
    """The x (columns) and y (rows) of the coarse grid over ``window`` (rows y0:y1, columns
    x0:x1), float32: a point at the middle of each ``factor``-square block, where
    :func:`to_every_pixel`'s linear interpolation puts the samples it reads."""
    y0, y1, x0, x1 = window
    f = factor
    middle = (f - 1) / 2
    xs = (x0 + middle + f * np.arange(-(-(x1 - x0) // f))).astype(np.float32)
    ys = (y0 + middle + f * np.arange(-(-(y1 - y0) // f))).astype(np.float32)
    return xs, ys


def to_every_pixel(
    coarse: np.ndarray, height: int, width: int, factor: int = INVERSION_COARSENING
) -> np.ndarray:
    """Values on the :func:`coarse_points` grid (of that ``factor``) interpolated linearly
    to every pixel of a ``height`` x ``width`` window."""
    f = factor
    rows, cols = coarse.shape[:2]
    return cv2.resize(coarse, (cols * f, rows * f), interpolation=cv2.INTER_LINEAR)[:height, :width]


def mesh_gain_outside(mesh: LandmarkMesh, inside: tuple[int, int, int, int], size: int) -> float:
    """The largest sum of absolute weights with which the mesh mixes landmark values into a
    pixel outside the box ``inside`` (rows y0:y1, columns x0:x1): no pixel there moves by
    more than this times the largest landmark offset. (Inside the layer's box thin
    triangles overshoot, but only the field outside it bounds how far motion reaches.)"""
    x0, y0, x1, y1 = mesh.box
    if mesh.matrix.nnz == 0:
        return 0.0
    gain = np.asarray(abs(mesh.matrix).sum(1)).reshape(y1 - y0, x1 - x0)
    outside = np.ones((size, size), bool)
    iy0, iy1, ix0, ix1 = inside
    outside[iy0:iy1, ix0:ix1] = False
    outside = outside[y0:y1, x0:x1]
    return float(gain[outside].max()) if outside.any() else 0.0


def bilinear_samples(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear samples of a single-channel float image at (N, 2) points."""
    h, w = image.shape
    x = np.clip(points[:, 0], 0, w - 1.001)
    y = np.clip(points[:, 1], 0, h - 1.001)
    x0, y0 = x.astype(int), y.astype(int)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy
