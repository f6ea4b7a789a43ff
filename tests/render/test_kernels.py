"""The renderer's compiled loops compute what OpenCV and NumPy computed, to the bit, and their
compiled code is cached where it can be written."""

import cv2
import numba
import numpy as np

from gioconda.cache import cache_dir
from gioconda.render import kernels
from gioconda.render.warp import (
    INVERSION_DAMPING,
    INVERSION_STEPS,
    REFINING_STEPS,
    SETTLED_STEP,
    TORN_STEP,
    coarse_inverse,
    coarse_points,
    refine_inverse,
    to_every_pixel,
)


def _field(seed: int, shape: tuple[int, int]) -> np.ndarray:
    """A smooth random displacement field with a tear (a sharp step) in it."""
    rng = np.random.default_rng(seed)
    field = cv2.resize(rng.normal(size=(8, 8, 2)).astype(np.float32) * 4, shape[::-1],
                       interpolation=cv2.INTER_CUBIC)  # fmt: skip
    field[shape[0] // 2 :, shape[1] // 3 : shape[1] // 2, 1] += 6.0
    return field


def _remap(field: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.remap(field, points, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def test_a_field_read_is_opencvs():
    """The compiled bilinear read is ``cv2.remap``'s: the point rounded to 1/32 pixel, the
    same float sums; beyond the edges the border repeated (points on cell edges, halfway
    between 32nds, and far off the field included)."""
    field = _field(0, (30, 40))
    rng = np.random.default_rng(1)
    points = rng.uniform(-4, 44, (400, 2)).astype(np.float32)
    points[:20] = np.round(points[:20])  # on pixels
    points[20:40] = (np.floor(points[20:40] * 32) + 0.5) / 32  # halfway between 32nds
    points[40:45] = ((-900.0, 5.0), (5.0, 800.0), (1e7, -1e7), (39.99, 29.99), (-0.01, 0.0))
    expected = _remap(field, points[None]).reshape(-1, 2)
    read = np.array([kernels.read_field(field, x, y) for x, y in points], np.float32)
    assert np.array_equal(read, expected)


def test_the_compiled_steps_are_the_old_ones():
    """The coarse inversion and the refining steps (without Newton steps) give, to the bit,
    what the NumPy steps on ``cv2.remap`` that they replace gave, torn pixels included."""
    field = _field(2, (90, 100))
    window, origin = (10, 70, 12, 88), (3, 5)
    # The old coarse inversion.
    xs, ys = coarse_points(window)
    here = np.empty((len(ys), len(xs), 2), np.float32)
    here[..., 0], here[..., 1] = (xs - np.float32(3))[None, :], (ys - np.float32(5))[:, None]
    source = here - _remap(field, here)
    for _ in range(INVERSION_STEPS):
        step = (here - _remap(field, source)) - source
        step *= np.float32(INVERSION_DAMPING)
        source += step
    old = to_every_pixel(source - here, 60, 76)
    assert np.array_equal(coarse_inverse(field, window, origin=origin), old)
    # The old refining steps, from that guess.
    ys, xs = np.mgrid[10:70, 12:88].astype(np.float32)
    pixels = np.stack([xs, ys], -1)
    guess = pixels + old
    at = pixels - np.float32((3, 5))
    moving = guess - np.float32((3, 5))
    step = (at - _remap(field, moving)) - moving
    unsettled = (step**2).sum(-1) > SETTLED_STEP**2
    moving += step * np.float32(INVERSION_DAMPING)
    torn = np.zeros(unsettled.shape, bool)
    for i in range(1, REFINING_STEPS):
        step = (at - _remap(field, moving)) - moving
        if i == REFINING_STEPS - 1:
            torn = unsettled & ((step**2).sum(-1) > TORN_STEP**2)
        moving[unsettled] += step[unsettled] * np.float32(INVERSION_DAMPING)
    expected = moving + np.float32((3, 5))
    refined = guess.copy()
    assert np.array_equal(refine_inverse(field, (12, 10), refined, origin, newton=False), torn)
    assert torn.any() and unsettled.any() and not unsettled.all()
    assert np.array_equal(refined, expected)


def test_the_field_over_a_box_is_scipys_product_to_the_bit():
    """The compiled field reads the mesh's rows each as long as the longest (short rows end
    in weights of 0): over a box straddling the matrix's own, it is SciPy's product of the
    CSR rows, to the bit, and 0 outside the matrix's box (rows of 0 to 5 entries)."""
    from scipy import sparse

    rng = np.random.default_rng(3)
    my0, my1, mx0, mx1 = 4, 30, 6, 40
    n = (my1 - my0) * (mx1 - mx0)
    counts = rng.integers(0, 6, n)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    indices = rng.integers(0, 50, indptr[-1]).astype(np.int32)
    data = rng.normal(size=indptr[-1]).astype(np.float32)
    matrix = sparse.csr_matrix((data, indices, indptr), shape=(n, 50))
    offsets = rng.normal(size=(50, 2)).astype(np.float32) * 5
    columns, weights = kernels.fixed_rows(indptr, indices, data)
    assert columns.shape == (n, 5) and (weights[counts == 0] == 0).all()
    out = np.empty((36, 50, 2), np.float32)  # frame rows 0:36, columns 2:52
    planes = np.zeros((4, 1, 1), np.float32)
    kernels.field_box(out, 0, 2, columns, weights, offsets, (my0, my1, mx0, mx1), planes,
                      (0, 0, 0, 0), np.zeros((2, 4), np.float32))  # fmt: skip
    expected = np.zeros_like(out)
    for axis in (0, 1):
        product = (matrix @ offsets[:, axis]).astype(np.float32).reshape(my1 - my0, mx1 - mx0)
        expected[my0:my1, mx0 - 2 : mx1 - 2, axis] = product
    assert np.array_equal(out, expected)
    assert np.abs(out).max() > 1


def test_the_fill_over_torn_pixels_is_the_normalized_blur_to_the_bit():
    """The compiled fill is the normalized blur it replaces (the known colours blurred over
    their blurred weight, the pixel's own colour kept with a weight of 1e-3, rounded), on a
    four-channel layer's colours, by the image's edge too; pixels outside the hole keep
    theirs."""
    from gioconda.render.warp import FILL_PAD, TORN_FILL_SIGMA, fill_from_around

    rng = np.random.default_rng(5)
    layer = rng.integers(0, 256, (60, 70, 4), dtype=np.uint8)
    hole = np.zeros((60, 70), bool)
    hole[2:30, 40:68] = rng.random((28, 28)) < 0.3
    hole[10:14, 50:60] = True  # (a patch wide enough that its middle keeps its own colour)
    image = layer[..., :3]  # (a view: what the renderer fills)
    expected, before = image.copy(), image.copy()
    y0, x0 = max(2 - FILL_PAD, 0), 40 - FILL_PAD
    patch = image[y0:, x0:].astype(np.float32)
    known = (~hole[y0:, x0:]).astype(np.float32)
    total = cv2.GaussianBlur(patch * known[..., None], (0, 0), TORN_FILL_SIGMA)
    weight = cv2.GaussianBlur(known, (0, 0), TORN_FILL_SIGMA)[..., None]
    keep = np.float32(1e-3)
    filled = (total + keep * patch) / (weight + keep)
    inside = hole[y0:, x0:]
    expected[y0:, x0:][inside] = np.clip(filled[inside] + 0.5, 0, 255).astype(np.uint8)
    fill_from_around(image, hole)
    assert np.array_equal(image, expected)
    assert (image[hole] != before[hole]).any() and (image[~hole] == before[~hole]).all()


def test_compiled_code_goes_to_gioconda_s_cache_where_the_package_is_read_only(monkeypatch):
    """Numba caches beside the package; where that folder is read-only (an install owned by
    another user) in ``numba`` under Gioconda's cache, unless the user chose a folder."""
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(kernels.os, "access", lambda path, mode: False)
    kernels._cache_folder()
    assert numba.config.CACHE_DIR == str(cache_dir() / "numba")
    monkeypatch.setattr(numba.config, "CACHE_DIR", "/elsewhere")
    kernels._cache_folder()
    assert numba.config.CACHE_DIR == "/elsewhere"
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(kernels.os, "access", lambda path, mode: True)
    kernels._cache_folder()
    assert numba.config.CACHE_DIR == ""


def _global_names(code) -> set[str]:
    """The global names a function's code (and the code nested in it) reads."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _global_names(const)
    return names


def test_each_files_compiled_loops_use_nothing_of_another_gioconda_file():
    """Numba keys a loop's cached machine code on the text of its own file alone: a loop that
    calls a compiled function or reads a constant of another file keeps the old machine code
    after that file changes (paint_kernels' iris read kept kernels' old bilinear cell from the
    cache once the cell was edited). So each file's loops read only names of their own file
    (and of libraries)."""
    import ast
    import importlib
    import inspect
    import types

    from numba.core.registry import CPUDispatcher

    for name in (
        "gioconda.render.kernels",
        "gioconda.render.paint_kernels",
        "gioconda.provenance.mark_loops",
    ):
        module = importlib.import_module(name)
        tree = ast.parse(inspect.getsource(module))
        imported = {
            alias.asname or alias.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gioconda")
            for alias in node.names
        }
        loops = [v for v in vars(module).values() if isinstance(v, CPUDispatcher)]
        assert loops, name
        for loop in loops:
            if loop.py_func.__module__ != name:
                continue
            for used in _global_names(loop.py_func.__code__):
                value = getattr(module, used, None)
                foreign = (
                    used in imported
                    or (isinstance(value, CPUDispatcher) and value.py_func.__module__ != name)
                    or (
                        isinstance(value, types.ModuleType)
                        and value.__name__.startswith("gioconda")
                    )
                )
                assert not foreign, f"{name}.{loop.__name__} reads {used} of another file"


def test_a_read_of_a_field_one_pixel_wide_or_tall_is_opencvs():
    """The compiled read indexes the field with unsigned indices (no wraparound): on fields one
    pixel wide, tall or both, where every read's cell is clamped to the border, it is still
    ``cv2.remap``'s, and it never reads outside the field."""
    rng = np.random.default_rng(4)
    for shape in ((1, 1), (1, 6), (6, 1), (2, 2)):
        field = rng.normal(size=(*shape, 2)).astype(np.float32)
        points = rng.uniform(-3, 9, (200, 2)).astype(np.float32)
        points[:4] = ((-1e7, 1e7), (0.0, 0.0), (shape[1] - 1, shape[0] - 1), (0.49, -0.51))
        expected = _remap(field, points[None]).reshape(-1, 2)
        read = np.array([kernels.read_field(field, x, y) for x, y in points], np.float32)
        assert np.array_equal(read, expected)


def test_refining_into_a_map_is_refining_a_copy_to_the_bit():
    """The refining steps run on views into a larger map (a guess read from it less its pad
    and written back plus it, or a displacement from the pixels written into it) give, to
    the bit, what the steps on a new array of the guess (as NumPy makes it) and the same
    arithmetic on their result gave, torn pixels and Newton steps included; the map outside
    the box is untouched."""
    from gioconda.render.warp import refine_inverse_into

    field = _field(5, (90, 100))
    # (An origin and a pad not whole, the pad large: each sum's rounding shows.)
    origin, corner, (h, w) = (3.3, 5.7), (12, 10), (60, 76)
    pad = np.float32(1000.3)
    ys, xs = np.mgrid[10:70, 12:88].astype(np.float32)
    pixels = np.stack([xs, ys], -1)
    rng = np.random.default_rng(6)
    displacement = coarse_inverse(field, (10, 70, 12, 88), origin=origin)
    # (Half the guesses off by a few tenths of a pixel: the others settle at the first step.)
    off = (
        rng.normal(0, 0.3, displacement.shape)
        * rng.integers(0, 2, displacement.shape[:2])[..., None]
    )
    displacement += off.astype(np.float32)
    box = (slice(20, 20 + h), slice(30, 30 + w))
    for from_pixels in (False, True):
        window = rng.uniform(-50, 150, (100, 120, 2)).astype(np.float32)
        torn_window = rng.integers(0, 2, (100, 120)).astype(bool)
        if not from_pixels:
            window[box] = pixels + displacement + pad
        before, torn_before = window.copy(), torn_window.copy()
        # What the renderer did: a new array of the guess, refined, then the pad added back.
        guess = pixels + displacement if from_pixels else window[box] - pad
        expected_torn = refine_inverse(field, corner, guess, origin)
        guess += pad
        into = displacement if from_pixels else window[box]
        refine_inverse_into(field, corner, into, window[box], torn_window[box], origin,
                            from_pixels=from_pixels, less=0.0 if from_pixels else pad,
                            less_after=-pad)  # fmt: skip
        assert np.array_equal(window[box], guess)
        assert np.array_equal(torn_window[box], expected_torn) and expected_torn.any()
        outside = np.ones(torn_window.shape, bool)
        outside[box] = False
        assert np.array_equal(window[outside], before[outside])
        assert np.array_equal(torn_window[outside], torn_before[outside])


def test_the_extent_of_points_is_numpys_min_and_max():
    """The compiled extent of a strided view of points (those under a mask left out) is
    NumPy's least and greatest x and y of the points kept, to the bit, NaN included."""
    rng = np.random.default_rng(9)
    for case in range(6):
        window = rng.normal(0, 50, (40, 50, 2)).astype(np.float32)
        skip = rng.random((40, 50)) < 0.3
        if case == 1:
            window[7, 9, 0] = np.nan  # (a NaN x: its extremes are NaN, as NumPy's)
        if case == 2:
            skip[...] = True
            skip[8, 14] = False  # (one point kept)
        view, mask = window[5:35, 10:45], skip[5:35, 10:45]
        for skipping in (False, True):
            kept = view[~mask] if skipping else view.reshape(-1, 2)
            found = kernels.extent(view, mask, skipping)
            expected = (kept[:, 0].min(), kept[:, 0].max(), kept[:, 1].min(), kept[:, 1].max())
            assert found[4] == len(kept)
            assert np.array_equal(np.float32(found[:4]), np.float32(expected), equal_nan=True)
