"""The painters' compiled loops (mouth interior, irises, lip spline) paint what the NumPy and
OpenCV code they replaced painted, to the bit: that code is kept here as the reference."""

import cv2
import numpy as np
import pytest

from gioconda.face.topology import (
    INNER_MOUTH_CORNERS,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    inner_lip_gap_px,
)
from gioconda.motion.blendshapes import BS
from gioconda.motion.frames import MotionFrame
from gioconda.render import paint_kernels
from gioconda.render.cv2_typing import NO_ARRAY
from gioconda.render.mouth import (
    CORNER_DEPTH,
    CORNER_SHADE,
    CORNER_SOFTENING,
    CORNER_SOFTENING_SIGMA,
    EMBRASURE,
    INNER_LIP_RIM,
    INNER_LIP_RIM_ALPHA,
    LIP_EDGE_SMOOTHING,
    LIP_LIFT_SHOWS_TEETH,
    LIP_SHADOW,
    LIP_SHADOW_REACH,
    LOWER_TEETH_CORNER_DROP,
    LOWER_TEETH_EDGE,
    LOWER_TEETH_END,
    LOWER_TEETH_HALF_WIDTH,
    LOWER_TEETH_JAW,
    LOWER_TEETH_JAW_RAMP,
    LOWER_TEETH_LIGHT,
    LOWER_TEETH_RISE,
    LOWER_TEETH_SHADE,
    LOWER_TEETH_WARMTH,
    LOWER_TOOTH_EDGES,
    LOWER_TOOTH_HEIGHT,
    OPENING_FADE,
    SOFT_PHOTO_SIGMA,
    TEETH_CORNER_SHADE,
    TEETH_TOP_ABOVE_LIP,
    TEETH_TURN_AWAY,
    THROAT_DARK,
    THROAT_REACH,
    TONGUE_ALPHA,
    TONGUE_DROP,
    TONGUE_EDGE,
    TONGUE_FRONT_DARK,
    TONGUE_FRONT_REACH,
    TONGUE_HALF_WIDTH,
    TONGUE_JAW_FULL,
    TONGUE_SHADING,
    TONGUE_TOP,
    TONGUE_TOP_SHADE,
    TOOTH_EDGE_DARKENING,
    TOOTH_EDGE_REACH,
    TOOTH_EDGES,
    TOOTH_ROUNDING,
    TOOTH_SEAM,
    UNDER_TEETH_DARK,
    UNDER_TEETH_REACH,
    UPPER_TEETH_CORNER_DROP,
    UPPER_TEETH_EDGE,
    UPPER_TEETH_END,
    UPPER_TEETH_HALF_WIDTH,
    UPPER_TOOTH_HEIGHT,
    _blend,
    add_grain,
    carry_lip_in,
    rounded_outline,
    smooth_outline,
    soften_corners,
)
from gioconda.render.regions import outline, polygon_mask


def test_interp_is_numpys():
    """At the points, between them, off either end, over uneven steps, from any guess; with
    points level along the line too (an interval of no width, whose slope is never read)."""
    rng = np.random.default_rng(0)
    for k in range(60):
        xp = np.sort(rng.normal(size=rng.integers(2, 14)) * 30)
        if k % 3 == 0 and xp.size > 3:
            xp[1] = xp[2]
        fp = rng.normal(size=xp.size) * 10
        x = np.concatenate([xp, rng.uniform(xp[0] - 5, xp[-1] + 5, 200)])
        slope = paint_kernels.slopes(xp, fp)
        got = [paint_kernels.interp(v, xp, fp, slope, int(rng.integers(-1, xp.size + 1)))[0]
               for v in x]  # fmt: skip
        np.testing.assert_array_equal(got, np.interp(x, xp, fp))


def test_iris_reads_are_opencvs():
    """The compiled reads of the eye's patches are ``cv2.remap``'s, with the border repeated
    (colours) and with a border of zeros (the iris's alpha): points on pixels, between 32nds,
    over the edges and far off."""
    rng = np.random.default_rng(2)
    colour = rng.uniform(0, 255, (23, 31, 3)).astype(np.float32)
    alpha = rng.uniform(0, 1, (23, 31)).astype(np.float32)
    points = rng.uniform(-3, 34, (500, 2)).astype(np.float32)
    points[:30] = np.round(points[:30])
    points[30:60] = (np.floor(points[30:60] * 32) + 0.5) / 32
    points[60:64] = ((-400.0, 3.0), (2.0, 900.0), (30.99, 22.99), (-0.99, -0.99))
    grid = points[None]
    repeated = cv2.remap(colour, grid, NO_ARRAY, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)[0]  # fmt: skip
    cleared = cv2.remap(alpha, grid, NO_ARRAY, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=(0.0,))[0]  # fmt: skip
    for (x, y), want, want_alpha in zip(points, repeated, cleared, strict=True):
        assert [paint_kernels._read(colour, x, y, c) for c in range(3)] == want.tolist()
        assert paint_kernels._read_clear(alpha, x, y) == want_alpha


def _captured(renderer, method: str, frame: MotionFrame) -> tuple:
    """The arguments one render hands a painter's ``paint`` (the frame copied)."""
    painter = getattr(renderer, method)
    calls = []
    paint = painter.paint
    try:
        painter.paint = lambda out, *rest: calls.append((out.copy(), *rest))
        renderer.render(frame)
    finally:
        del painter.paint
    ((out, *rest),) = calls
    return paint, (out, *rest)


_MOUTHS = [
    {"JawOpen": 0.25},
    {"JawOpen": 0.45, "MouthFunnel": 0.3},  # the lower teeth fading in
    {"JawOpen": 0.9, "MouthSmileLeft": 0.6, "MouthSmileRight": 0.6},
    {"JawOpen": 0.6, "MouthUpperUpLeft": 0.8, "MouthUpperUpRight": 0.8, "MouthLeft": 0.5},
]


@pytest.mark.parametrize("which", ["mona_renderer", "astronaut_renderer"])
def test_mouth_is_painted_as_numpy_painted_it(which, request, monkeypatch):
    """On the Mona Lisa (painted teeth, lower ones too) and the astronaut (her own teeth, a
    soft photo: the interior blurred), turned heads, open and rounded mouths: the same float
    interior and mask, and so the same frame."""
    renderer = request.getfixturevalue(which)
    blended = []
    blend = paint_kernels.blend_patch

    def recorded(patch, interior, mask, strength):
        blended.append((interior.copy(), mask.copy()))
        blend(patch, interior, mask, strength)

    monkeypatch.setattr(paint_kernels, "blend_patch", recorded)
    painted = 0
    for k, shapes in enumerate(_MOUTHS):
        frame = MotionFrame.still((8.0 * (k - 1.5), 4.0 - 3 * k, 2.0 * k), **shapes)
        paint, (out, posed, skull, motion) = _captured(renderer, "mouth", frame)
        ours, theirs = out.copy(), out.copy()
        blended.clear()
        paint(ours, posed, skull, motion)
        interior, mask = _reference_paint(renderer.mouth, theirs, posed, skull, motion)
        ((our_interior, our_mask),) = blended
        np.testing.assert_array_equal(our_interior, interior)
        np.testing.assert_array_equal(our_mask, mask)
        np.testing.assert_array_equal(ours, theirs)
        painted += int((ours != out).any(axis=2).sum())
    assert painted > 1000  # (the mouths did open)


def test_irises_are_painted_as_opencv_and_numpy_painted_them(mona_renderer):
    """Small and large turns of the eyes (an iris read off its patch: OpenCV's border of
    zeros), the source map of a turned head."""
    frame = MotionFrame.still((12.0, -5.0, 3.0), gaze=(10.0, -6.0))
    _, (out, backward, posed, *_) = _captured(mona_renderer, "irises", frame)
    painter = mona_renderer.irises
    changed = 0
    for shift in ((0.3, -0.2), (3.7, 1.25), (-9.0, 6.5), (40.0, -30.0)):
        for eye, (upper, lower) in zip(
            painter.eyes, ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)),
            strict=True,
        ):  # fmt: skip
            ours, theirs = out.copy(), out.copy()
            painter._paint_eye(ours, backward, posed, eye, np.array(shift))
            _reference_eye(theirs, backward, posed, eye, np.array(shift), upper, lower)
            np.testing.assert_array_equal(ours, theirs)
            changed += int((ours != out).any(axis=2).sum())
    assert changed > 200


# -- the code the compiled loops replaced, as it was --------------------------------------------


def _reference_paint(self, frame_rgb, posed, skull, motion):
    """MouthPainter.paint as main had it: NumPy over the patch."""
    rig = self.rig
    # Head distance scales the finished frame (the renderer zooms the whole person), so
    # the mouth is painted at the photo's own scale.
    width = rig.mouth_width
    gap = inner_lip_gap_px(posed)
    # Fade in as the lips part beyond the photo's own opening, so the rest frame is the
    # photo exactly and a photo that shows teeth keeps them when barely moving.
    strength = np.clip((gap - self.rest_gap) / (OPENING_FADE * width), 0.0, 1.0)
    if strength <= 0.0 or gap < 1.0:
        return
    # The lips' edges smoothed (the landmarks' outline is a polygon), and the lips carried
    # in where the smoothed edge leaves the landmarks' outline uncovered.
    landmarks = smooth_outline(posed, LIPS_INNER_UPPER, LIPS_INNER_LOWER)
    inner = rounded_outline(landmarks, len(LIPS_INNER_UPPER), width)
    both = np.concatenate([landmarks, inner])
    h, w = frame_rgb.shape[:2]
    pad = 3 + int(np.ceil(2 * self.sharpness))
    x0, y0 = np.floor(both.min(0)).astype(int) - pad
    x1, y1 = np.ceil(both.max(0)).astype(int) + pad
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    offset = np.array([x0, y0], np.float64)
    mask = polygon_mask((y1 - y0, x1 - x0), inner - offset)
    if mask.max() <= 0:
        return
    carry_lip_in(frame_rgb[y0:y1, x0:x1], landmarks - offset, mask, strength)

    # Mouth-frame coordinates of each patch pixel: along the lips (u, mouth widths from
    # the middle) and down (v).
    right, left = INNER_MOUTH_CORNERS
    axis_x = posed[left, :2] - posed[right, :2]
    axis_x /= np.linalg.norm(axis_x) + 1e-9
    axis_y = np.array([-axis_x[1], axis_x[0]])
    centre = (posed[right, :2] + posed[left, :2]) / 2
    # (A row of x and a column of y, broadcast: the same sums as over every pixel's.)
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] - centre[0]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] - centre[1]
    rel_x = xs * axis_x[0] + ys * axis_x[1]
    rel_y = xs * axis_y[0] + ys * axis_y[1]
    u = rel_x / width

    def curve(points: np.ndarray) -> np.ndarray:
        """A lip line's v at every pixel's u (pixels, down positive)."""
        rel = (points - centre) @ np.stack([axis_x, axis_y]).T
        order = np.argsort(rel[:, 0])
        return np.interp(rel_x, rel[order, 0], rel[order, 1]).astype(np.float32)

    split = len(inner) // 2
    upper_lip = curve(inner[:split:3])
    lower_lip = curve(inner[split::3])
    # Upper teeth hang from the skull: their top is the upper lip's rest line moved with
    # the head, not with the lip.
    skull_lip = curve(skull[list(LIPS_INNER_UPPER)])
    teeth_top = np.minimum(skull_lip, upper_lip) - TEETH_TOP_ABOVE_LIP * width
    depth = np.clip(np.abs(u) / CORNER_DEPTH, 0.0, 1.0)  # 0 in the middle, 1 at the corners

    interior: np.ndarray = np.empty((y1 - y0, x1 - x0, 3), np.float32)
    interior[:] = self.cavity
    # Deeper in the mouth and toward the corners is darker; just inside the lips their
    # wet inner side catches the light (the lips' colour, in shade), fading into the
    # dark over a few hundredths of the mouth's width.
    # The light comes in between the lips: darker deeper in from them, and in the upper
    # teeth's shadow below their biting edge.
    inside = cv2.distanceTransform((mask > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    far = np.clip(inside / (THROAT_REACH * width), 0.0, 1.0)
    teeth_bottom = teeth_top + UPPER_TOOTH_HEIGHT * width * (1 - UPPER_TEETH_CORNER_DROP * depth**2)
    under = np.clip(1 - (rel_y - teeth_bottom) / (UNDER_TEETH_REACH * width), 0.0, 1.0)
    shade = (1 - CORNER_SHADE + CORNER_SHADE * (1 - depth)) * (1 - THROAT_DARK * far)
    interior *= (shade * (1 - UNDER_TEETH_DARK * under))[..., None]
    rim = np.clip(1.0 - inside / (INNER_LIP_RIM * width), 0.0, 1.0) ** 2
    _blend(interior, np.broadcast_to(self.inner_lip, interior.shape), rim * INNER_LIP_RIM_ALPHA)

    jaw = float(motion.blendshapes[BS["JawOpen"]])
    tongue_top = lower_lip - (TONGUE_TOP + TONGUE_DROP * min(jaw / TONGUE_JAW_FULL, 1.0)) * width
    tongue = np.clip((rel_y - tongue_top) / (TONGUE_EDGE * width), 0.0, 1.0)
    tongue *= np.clip(1.0 - (np.abs(u) / TONGUE_HALF_WIDTH) ** 2, 0.0, 1.0)
    below_top = np.clip((rel_y - tongue_top) / (TONGUE_SHADING * width), 0, 1)
    # (its front, curving down behind the lower lip, darker)
    front = np.clip(1 - (lower_lip - rel_y) / (TONGUE_FRONT_REACH * width), 0, 1)
    tongue_shade = (TONGUE_TOP_SHADE + (1 - TONGUE_TOP_SHADE) * below_top) * (
        1 - TONGUE_FRONT_DARK * front
    )
    _blend(interior, self.tongue[None, None] * tongue_shade[..., None] * TONGUE_ALPHA, tongue)

    # Lower teeth, shown when the jaw drops far: their biting edges stand above the lower
    # lip, which hides the rest. Lit from above, they darken down toward the lip (and
    # take some of the warm light inside the mouth); each has a rounded tip.
    lower_shown = min(1.0, max(0.0, (jaw - LOWER_TEETH_JAW) / LOWER_TEETH_JAW_RAMP))
    if self.own is not None and self.own.has_lower_teeth:
        lower_shown = 0.0  # the photo's own follow the jaw (below)
    if lower_shown > 0:
        # They rise over the lip as the jaw drops; in the upper lip's and teeth's shadow,
        # their tips a little darker (as the upper teeth's) and darker down into the lip's.
        side = _reference_side(u, LOWER_TOOTH_EDGES)
        risen = LOWER_TOOTH_HEIGHT * width * (1 - LOWER_TEETH_RISE + LOWER_TEETH_RISE * lower_shown)
        lower_top = lower_lip - risen * (1 - LOWER_TEETH_CORNER_DROP * depth**2)
        lower_top += EMBRASURE * width * side**4
        lower_teeth = np.clip((rel_y - lower_top) / (LOWER_TEETH_EDGE * width), 0.0, 1.0)
        row = np.clip((LOWER_TEETH_HALF_WIDTH - np.abs(u)) / LOWER_TEETH_END, 0.0, 1.0)
        lower_teeth *= row * lower_shown
        down = np.clip((rel_y - lower_top) / risen, 0.0, 1.0)
        near_tip = np.clip(1 - (rel_y - lower_top) / (TOOTH_EDGE_REACH * width), 0, 1)
        warm = (1 - LOWER_TEETH_WARMTH) * self.teeth + LOWER_TEETH_WARMTH * self.tongue
        shade = LOWER_TEETH_LIGHT * (1.0 - LOWER_TEETH_SHADE * down)
        shade *= 1.0 - TOOTH_EDGE_DARKENING * near_tip
        colour = warm * (shade * _reference_relief(u, side))[..., None]
        _blend(interior, colour, lower_teeth)

    side = _reference_side(u, TOOTH_EDGES)
    upper_bottom = teeth_top + UPPER_TOOTH_HEIGHT * width * (1 - UPPER_TEETH_CORNER_DROP * depth**2)
    upper_bottom -= EMBRASURE * width * side**4
    upper_teeth = np.clip((upper_bottom - rel_y) / (UPPER_TEETH_EDGE * width), 0.0, 1.0)
    upper_teeth *= np.clip((UPPER_TEETH_HALF_WIDTH - np.abs(u)) / UPPER_TEETH_END, 0.0, 1.0)
    # The upper lip shades the top of the teeth; their biting edges are a little
    # translucent, so a little darker.
    below_lip = np.clip((rel_y - upper_lip) / (LIP_SHADOW_REACH * width), 0.0, 1.0)
    shadow = 1 - LIP_SHADOW + LIP_SHADOW * below_lip
    near_edge = np.clip(1 - (upper_bottom - rel_y) / (TOOTH_EDGE_REACH * width), 0, 1)
    shadow *= 1.0 - TOOTH_EDGE_DARKENING * near_edge
    if self.own is not None and self.own.has_upper_teeth:
        # The photo's own teeth are drawn below, continued up where the lip lifts off
        # them; beside them, a smile's corners show the dark of the cheeks, not teeth
        # of another colour.
        upper_teeth[:] = 0.0
    if upper_teeth.any():
        colour = self.teeth * (shadow * _reference_relief(u, side))[..., None]
        _blend(interior, colour, upper_teeth)
    anchor = skull[list(INNER_MOUTH_CORNERS), :2].mean(0)
    add_grain(interior, self.grain, (x0, y0), anchor, self.skin_light)
    if self.own is not None:
        # The photo's own interior: what it showed above its gap moves with the skull,
        # what it showed below moves with the jaw (the lower lip).
        lift = np.clip((skull_lip - upper_lip) / (LIP_LIFT_SHOWS_TEETH * width), 0.0, 1.0)
        self.own.paint(interior, (x0, y0), self.rig.neutral[:, :2], skull, posed, lift, mask)

    if self.sharpness > SOFT_PHOTO_SIGMA:
        # At the photo's own sharpness: a crisp mouth on a soft face looks stuck on.
        interior = cv2.GaussianBlur(interior, (0, 0), self.sharpness)
        mask = cv2.GaussianBlur(mask, (0, 0), 0.5 * self.sharpness)
    alpha = (mask * strength)[..., None]
    patch = frame_rgb[y0:y1, x0:x1].astype(np.float32)
    frame_rgb[y0:y1, x0:x1] = np.clip(patch * (1 - alpha) + interior * alpha + 0.5, 0, 255)
    lips = outline(posed, LIPS_OUTER_UPPER, LIPS_OUTER_LOWER)
    soften_corners(frame_rgb, posed[list(INNER_MOUTH_CORNERS), :2], lips, width, strength)
    return interior, mask


def _reference_relief(u: np.ndarray, side: np.ndarray) -> np.ndarray:
    falloff = 1.0 - TEETH_CORNER_SHADE * np.clip(np.abs(u) / TEETH_TURN_AWAY, 0.0, 1.0) ** 1.5
    return falloff * (1.0 - TOOTH_ROUNDING * side**2 - TOOTH_SEAM * side**12)


def _reference_side(u: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    seams = np.asarray(edges, np.float32)
    au = np.abs(u)
    last = float(seams[-1] - seams[-2])
    index = np.clip(np.searchsorted(seams, au), 1, len(seams) - 1)
    left, right = seams[index - 1], seams[index]
    beyond = au > seams[-1]
    left = np.where(beyond, seams[-1] + np.floor((au - seams[-1]) / last) * last, left)
    right = np.where(beyond, left + last, right)
    across = (au - left) / (right - left)
    return np.abs(2.0 * across - 1.0).astype(np.float32)


def _reference_eye(frame, backward, posed, eye, shift, upper, lower):
    """IrisPainter._paint_eye as main had it: three cv2.remap and NumPy blends."""
    opening = np.concatenate([posed[list(upper), :2], posed[list(lower[::-1]), :2]])
    h, w = frame.shape[:2]
    x0, y0 = np.maximum(np.floor(opening.min(0)).astype(int) - 2, 0)
    x1 = min(int(np.ceil(opening[:, 0].max())) + 3, w)
    y1 = min(int(np.ceil(opening[:, 1].max())) + 3, h)
    if x1 <= x0 or y1 <= y0:
        return
    mask = polygon_mask((y1 - y0, x1 - x0), opening - [x0, y0])
    if mask.max() <= 0:
        return
    bx0, by0, _, _ = eye["box"]
    # Where each output pixel comes from in the photo, in the eye patch's coordinates.
    source = backward.box(y0, y1, x0, x1, origin=(bx0, by0))
    white = cv2.remap(eye["white"], source, NO_ARRAY, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    moved = source - shift.astype(np.float32)
    iris = cv2.remap(eye["iris"], moved, NO_ARRAY, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    alpha = cv2.remap(eye["alpha"], moved, NO_ARRAY, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT,
                      borderValue=(0.0,))[..., None]  # fmt: skip
    eye_pixels = iris * alpha + white * (1 - alpha)
    m = mask[..., None]
    patch = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(patch * (1 - m) + eye_pixels * m + 0.5, 0, 255)


def _open_mouths(renderer):
    """The lips' spline outline and the frame under them, for the test mouths."""
    for k, shapes in enumerate(_MOUTHS):
        frame = MotionFrame.still((8.0 * (k - 1.5), 4.0 - 3 * k, 2.0 * k), **shapes)
        _, (out, posed, *_) = _captured(renderer, "mouth", frame)
        yield out, posed, smooth_outline(posed, LIPS_INNER_UPPER, LIPS_INNER_LOWER)


def test_rounded_outline_is_numpys(astronaut_renderer):
    """The lips' smoothed edges: what the NumPy below (an even resampling by np.interp, the
    twiced Gaussian by np.convolve) computes, to rounding."""
    width = astronaut_renderer.rig.mouth_width
    for _, _, landmarks in _open_mouths(astronaut_renderer):
        ours = rounded_outline(landmarks, len(LIPS_INNER_UPPER), width)
        split = len(landmarks) // 2
        sigma = LIP_EDGE_SMOOTHING * width
        theirs = np.concatenate(
            [
                _reference_rounded(landmarks[:split], sigma),
                _reference_rounded(landmarks[split:], sigma),
            ]
        )
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
        assert np.abs(ours - landmarks).max() > 0.5  # (it did smooth)


def _reference_rounded(curve, sigma):
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(curve, axis=0).T))])
    count = len(curve)
    spacing = along[-1] / (count - 1)
    even = np.linspace(0.0, along[-1], count)
    points = np.stack([np.interp(even, along, curve[:, 0]), np.interp(even, along, curve[:, 1])], 1)
    reach = min(int(np.ceil(3 * sigma / spacing)), (count - 1) // 2)
    taps = np.exp(-0.5 * (np.arange(-reach, reach + 1) * spacing / sigma) ** 2)
    taps /= taps.sum()
    taps = 2 * np.pad(taps, reach) - np.convolve(taps, taps)
    reach *= 2
    first, last = points[0], points[-1]
    extended = np.concatenate(
        [2 * first - points[reach:0:-1], points, 2 * last - points[-2 : -reach - 2 : -1]]
    )
    smooth = np.stack([np.convolve(extended[:, a], taps, mode="valid") for a in range(2)], 1)
    smooth[0], smooth[-1] = first, last
    return smooth


def test_lip_is_carried_in_as_by_the_column_search(astronaut_renderer):
    """Each uncovered pixel inside the landmarks' outline takes its column's pixel one past
    the nearer edge of the outline, blended as NumPy blends it."""
    width = astronaut_renderer.rig.mouth_width
    filled = 0
    for out, _, landmarks in _open_mouths(astronaut_renderer):
        inner = rounded_outline(landmarks, len(LIPS_INNER_UPPER), width)
        x0, y0 = np.floor(landmarks.min(0)).astype(int) - 4
        x1, y1 = np.ceil(landmarks.max(0)).astype(int) + 4
        patch = out[y0:y1, x0:x1]
        mask = polygon_mask(patch.shape[:2], inner - [x0, y0])
        between = polygon_mask(patch.shape[:2], landmarks - [x0, y0], soft=False)
        ours, theirs = patch.copy(), patch.astype(np.float32)
        carry_lip_in(ours, landmarks - [x0, y0], mask, 0.7)
        for i, j in zip(*np.nonzero(between & (mask < 1)), strict=True):
            column = between[:, j]
            down = i + np.argmin(column[i:]) if not column[i:].all() else None
            up = i - np.argmin(column[i::-1]) if not column[: i + 1].all() else None
            if down is not None and (up is None or down - i <= i - up):
                source = down + 1
            else:
                source = up - 1
            a = np.float32(0.7)
            theirs[i, j] = patch[i, j].astype(np.float32) * (1 - a) + patch[source, j] * a
            filled += 1
        np.testing.assert_array_equal(ours, np.clip(theirs + 0.5, 0, 255).astype(np.uint8))
    assert filled > 20


def test_corners_are_softened_as_numpy_blurs(mona_renderer):
    """About a corner, on the lips: a separable Gaussian (rows, then columns, replicated
    border, float32 in the kernel's order), mixed in by the strength and the fall-off."""
    width = mona_renderer.rig.mouth_width
    for out, posed, _ in _open_mouths(mona_renderer):
        lips = posed[list(LIPS_OUTER_UPPER + LIPS_OUTER_LOWER[::-1]), :2]
        reach, sigma = CORNER_SOFTENING * width, CORNER_SOFTENING_SIGMA * width
        for cx, cy in posed[list(INNER_MOUTH_CORNERS), :2]:
            ours = out.copy()
            paint_kernels.soften_corner(ours, cx, cy, reach, sigma, lips, 0.8)
            theirs = _reference_soften(out, cx, cy, reach, sigma, lips, 0.8)
            np.testing.assert_array_equal(ours, theirs)
            assert (ours != out).any()


def _reference_soften(frame, cx, cy, reach, sigma, lips, strength):
    height, width = frame.shape[:2]
    r, pad = int(np.ceil(3 * sigma)), int(np.ceil(reach))
    x0, x1 = max(int(np.floor(cx)) - pad, 0), min(int(np.ceil(cx)) + pad + 1, width)
    y0, y1 = max(int(np.floor(cy)) - pad, 0), min(int(np.ceil(cy)) + pad + 1, height)
    rows = np.clip(np.arange(y0 - r, y1 + r), 0, height - 1)
    cols = np.clip(np.arange(x0 - r, x1 + r), 0, width - 1)
    source = frame[rows][:, cols].astype(np.float32)
    taps = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2).astype(np.float32)
    taps /= taps.sum()
    across = np.zeros((len(rows), x1 - x0, 3), np.float32)
    for k in range(2 * r + 1):
        across += taps[k] * source[:, k : k + x1 - x0]
    blurred = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
    for k in range(2 * r + 1):
        blurred += taps[k] * across[k : k + y1 - y0]
    ys, xs = np.mgrid[y0:y1, x0:x1]
    near = 1.0 - np.hypot(xs - cx, ys - cy) / reach
    inside = np.zeros(near.shape, bool)
    for (xq, yq), (xk, yk) in zip(lips, np.roll(lips, 1, axis=0), strict=True):
        if yq == yk:
            continue
        crossing = (xk - xq) * (ys - yq) / (yk - yq) + xq
        inside ^= ((yq > ys) != (yk > ys)) & (xs < crossing)
    alpha = (strength * np.minimum(2.0 * near, 1.0)).astype(np.float32)
    alpha = np.where((near > 0) & inside, alpha, np.float32(0.0))[..., None]
    out = frame.copy()
    box = out[y0:y1, x0:x1].astype(np.float32)
    mixed = box * (1 - alpha) + blurred * alpha + np.float32(0.5)
    out[y0:y1, x0:x1] = np.where(
        alpha > 0, np.clip(mixed, 0, 255).astype(np.uint8), out[y0:y1, x0:x1]
    )
    return out


def test_grain_is_added_as_numpy_adds_it():
    """The photo's grain tile repeated over a patch from a row and column of it, each pixel's
    scaled by the root of its luminance over the skin's, within [0.5, 1]: as a NumPy gather of
    the tile computes it (to float32 rounding: the kernel is new, no older code to match)."""
    rng = np.random.default_rng(0)
    grain = rng.standard_normal((64, 64, 3)).astype(np.float32)
    interior = rng.uniform(0, 200, (70, 130, 3)).astype(np.float32)
    ours = interior.copy()
    paint_kernels.add_grain(ours, grain, 45, 61, 1 / 450, 0.5)
    rows, columns = (45 + np.arange(70)) % 64, (61 + np.arange(130)) % 64
    share = np.clip(np.sqrt(interior.sum(2) / 450), 0.5, 1.0)
    theirs = interior + grain[rows[:, None], columns[None, :]] * share[..., None]
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert np.abs(ours - interior).max() > 1  # (it was added)
