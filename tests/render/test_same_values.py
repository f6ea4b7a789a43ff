"""The renderer's faster paths give exactly the values of the plain ones they replace."""

import cv2
import numpy as np
import pytest
from scipy import sparse

from gioconda.face.topology import LIPS_INNER_LOWER, LIPS_INNER_UPPER
from gioconda.render import renderer as renderer_module
from gioconda.render.mouth import smooth_outline
from gioconda.render.renderer import _band_product, _linear_in


@pytest.mark.parametrize("compiled", [True, False])
def test_band_product_is_scipys_product_of_those_rows(compiled, monkeypatch):
    if not compiled:
        monkeypatch.setattr(renderer_module, "_csr_matvec", None)
    rng = np.random.default_rng(3)
    matrix = sparse.random(900, 468, density=0.01, format="csr", random_state=4, dtype=np.float32)
    vector = rng.normal(size=(468, 2)).astype(np.float32)[:, 1]  # (a strided column)
    for start, stop in ((0, 900), (120, 481), (899, 900)):
        expected = matrix[start:stop] @ np.ascontiguousarray(vector)
        got = _band_product(matrix, start, stop, vector)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected)


def _reference_outline(points, upper, lower, per_segment=6):
    """The lip outline one spline segment at a time (np.linalg.norm and np.linspace)."""

    def spline(p):
        p = np.asarray(p, np.float64)
        ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
        out = []
        for i in range(len(p) - 1):
            p0, p1, p2, p3 = ext[i : i + 4]
            d = [max(float(np.linalg.norm(b - a) ** 0.5), 1e-6) for a, b in
                 ((p0, p1), (p1, p2), (p2, p3))]  # fmt: skip
            t0, t1 = 0.0, d[0]
            t2, t3 = t1 + d[1], t1 + d[1] + d[2]
            t = np.linspace(t1, t2, per_segment, endpoint=False)[:, None]
            a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
            a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
            a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
            b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
            b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
            out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
        return np.vstack([*out, p[-1:]])

    top = spline(points[list(upper), :2])
    bottom = spline(points[list(lower), :2])
    return np.concatenate([top, bottom[::-1]])


def test_lip_outline_is_the_spline_drawn_one_segment_at_a_time(mona_portrait):
    rng = np.random.default_rng(5)
    for _ in range(200):
        points = mona_portrait.landmarks[:, :2] * rng.uniform(0.5, 2.0)
        points = points + rng.normal(size=points.shape) * rng.uniform(0.0, 3.0)
        np.testing.assert_array_equal(
            smooth_outline(points, LIPS_INNER_UPPER, LIPS_INNER_LOWER),
            _reference_outline(points, LIPS_INNER_UPPER, LIPS_INNER_LOWER),
        )


def test_spread_read_at_points_is_the_whole_spread_read_there(mona_renderer):
    rng = np.random.default_rng(6)
    size = mona_renderer.size
    offsets = rng.normal(size=(478, 2)).astype(np.float32) * 3
    whole = mona_renderer._spread(offsets)
    corners = [(150, 200), (-20, 240), (400, 480), (230, 300)]  # (one past the frame's edge)
    points = []
    for x, y in corners:
        ys, xs = np.mgrid[y : y + 40, x : x + 50].astype(np.float32)
        wobble = rng.normal(size=(40, 50, 2)).astype(np.float32) * 4
        points.append(np.ascontiguousarray(np.stack([xs, ys], -1) + wobble))
    # All at once (a box no matrix was made for: the mesh's own), and the last alone (inside
    # the box made around the mouth).
    assert not any(_inside_any(mona_renderer, p) for p in [np.concatenate(points)])
    assert _inside_any(mona_renderer, points[-1])
    for group in (points, points[-1:]):
        reads = mona_renderer._spread_at(offsets, group)
        for p, read in zip(group, reads, strict=True):
            expected = cv2.remap(whole, p, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            np.testing.assert_array_equal(read, expected)
        assert np.abs(reads[0]).max() > 0 and size == whole.shape[0]


def _inside_any(renderer, points):
    """Whether the box ``points`` read lies in one of the boxes the renderer made a matrix for."""
    x0, y0 = np.floor(points.reshape(-1, 2).min(0)).astype(int) - 1
    x1, y1 = np.floor(points.reshape(-1, 2).max(0)).astype(int) + 3
    return any(
        y0 >= ay0 and y1 <= ay1 and x0 >= ax0 and x1 <= ax1
        for (ay0, ay1, ax0, ax1), _ in renderer._mesh_boxes
    )


def test_linear_in_is_opencvs_transform_to_the_bit():
    rng = np.random.default_rng(7)
    for height, width in ((217, 227), (31, 5), (4, 3)):
        basis = (rng.normal(size=(height, width, 4)) * 100).astype(np.float32)
        c = (rng.normal(size=(2, 4)) * 0.05).astype(np.float32)
        planes = [np.ascontiguousarray(basis[..., k]) for k in range(4)]
        np.testing.assert_array_equal(_linear_in(planes, c), cv2.transform(basis, c))
        # (rows of a larger plane, as the fine region reads them)
        part = [plane[3:, 1:] for plane in planes]
        np.testing.assert_array_equal(_linear_in(part, c), cv2.transform(basis[3:, 1:], c))


@pytest.mark.parametrize(
    "shapes",
    [
        {"EyeBlinkLeft": 1.0, "EyeBlinkRight": 1.0},  # shut: the lower lids overlap
        {"EyeBlinkLeft": 0.45, "EyeSquintRight": 0.7, "JawOpen": 0.4},
        {"EyeSquintLeft": 0.3, "EyeSquintRight": 0.3, "BrowInnerUp": 0.8},
    ],
)
def test_lids_painted_on_their_box_alone_as_over_the_whole_window(mona_renderer, shapes):
    """The lids' painter works only where a pixel's source lies on the lids: the frame is
    the one painted over its whole window around each eye, bit for bit."""
    import copy

    from gioconda.motion.frames import MotionFrame

    r = mona_renderer
    calls = []
    paint = r.lids.paint
    try:
        r.lids.paint = lambda frame, *rest: calls.append((frame.copy(), *rest))
        r.render(MotionFrame.still((6.0, -4.0, 2.0), gaze=(8.0, -5.0), **shapes))
    finally:
        del r.lids.paint
    ((frame, *rest),) = calls
    whole = copy.copy(r.lids)
    whole._near_low = [np.full(2, -np.inf)] * 2
    whole._near_high = [np.full(2, np.inf)] * 2
    cropped, everywhere = frame.copy(), frame.copy()
    paint(cropped, *rest)
    whole.paint(everywhere, *rest)
    assert (everywhere != frame).any(axis=2).sum() > 200  # (the lids did move)
    np.testing.assert_array_equal(cropped, everywhere)
