"""The render evaluation's portraits: the bundled Mona Lisa, scikit-image's astronaut and hard
copies of it made here (grey, small, rotated, stylized, glasses, dark, bright, turned, bearded,
hair over the face, a pencil drawing), and every photo in a folder of the user's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from gioconda.errors import GiocondaError
from gioconda.eval.render_metrics import SIZE, _face_frame
from gioconda.face.native_logs import native_stderr_silenced
from gioconda.face.photo import load_photo
from gioconda.face.portrait import analyze_portrait
from gioconda.face.topology import (
    CHIN,
    FACE_OVAL,
    FACE_SIDES,
    FOREHEAD,
    IRIS_CENTRES,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    MOUTH_CORNERS,
    NOSE_BASE,
)


def _mona_lisa() -> np.ndarray:
    with resources.as_file(resources.files("gioconda") / "assets" / "mona_lisa.jpg") as path:
        return load_photo(path)


def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo (Eileen Collins, public domain), (512, 512, 3) uint8.

    Raises
    ------
    GiocondaError: scikit-image is not installed (it is an evaluation-only dependency).
    """
    try:
        from skimage import data
    except ImportError:
        raise GiocondaError(
            "the evaluation's astronaut photo comes with scikit-image: pip install scikit-image"
        ) from None
    return np.ascontiguousarray(data.astronaut())


def _grey(photo: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def _small_in_canvas(photo: np.ndarray, scale: float = 0.5, canvas: int = 1280) -> np.ndarray:
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out = np.full((canvas, canvas, 3), 128, np.uint8)
    h, w = small.shape[:2]
    y0, x0 = (canvas - h) // 2, (canvas - w) // 2
    out[y0 : y0 + h, x0 : x0 + w] = small
    return out


def _rotated(photo: np.ndarray, degrees: float = 10.0) -> np.ndarray:
    h, w = photo.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip


def _stylized(photo: np.ndarray) -> np.ndarray:
    bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    return cv2.cvtColor(cv2.stylization(bgr, sigma_s=60, sigma_r=0.45), cv2.COLOR_BGR2RGB)


def _drawing(photo: np.ndarray) -> np.ndarray:
    """A pencil sketch of the photo (``cv2.pencilSketch``, its grey output): outlines and
    hatching on white paper, no colour and little shading."""
    bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    grey, _ = cv2.pencilSketch(bgr, sigma_s=60, sigma_r=0.07, shade_factor=0.09)
    return np.repeat(grey[..., None], 3, axis=2)


def _dark(photo: np.ndarray) -> np.ndarray:
    """Underexposed: about three stops down, shadows crushed as a camera's curve does."""
    linear = (photo.astype(np.float32) / 255.0) ** 2.2 * 0.13
    return np.clip(255.0 * linear ** (1 / 2.2) + 0.5, 0, 255).astype(np.uint8)


def _bright(photo: np.ndarray) -> np.ndarray:
    """Overexposed: about a stop and a half up, highlights clipped to white."""
    linear = (photo.astype(np.float32) / 255.0) ** 2.2 * 2.8
    return np.clip(255.0 * np.clip(linear, 0, 1) ** (1 / 2.2) + 0.5, 0, 255).astype(np.uint8)


def _eye_points(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The subject's right and left eye centres (image left first), in pixels, by BlazeFace."""
    from mediapipe.python.solutions import face_detection

    h, w = photo.shape[:2]
    with native_stderr_silenced(), face_detection.FaceDetection(0, 0.5) as detector:
        found = detector.process(np.ascontiguousarray(photo)).detections
    if not found:
        raise GiocondaError("no face found to draw glasses on")
    keys = found[0].location_data.relative_keypoints
    return tuple(np.array([keys[i].x * w, keys[i].y * h]) for i in (0, 1))  # type: ignore[return-value]


def with_glasses(photo: np.ndarray) -> np.ndarray:
    """Dark-rimmed glasses drawn over the eyes: rims, tinted lenses, bridge and temples."""
    right, left = _eye_points(photo)
    span = float(np.linalg.norm(left - right))
    angle = float(np.degrees(np.arctan2(*(left - right)[::-1])))
    axes = (round(0.36 * span), round(0.26 * span))
    thick = max(2, round(0.05 * span))
    out = photo.copy()
    lens = out.copy()
    for centre in (right, left):
        c = tuple(int(v) for v in np.round(centre + np.array([0.0, 0.04 * span])))
        cv2.ellipse(lens, c, axes, angle, 0, 360, (90, 100, 120), -1, cv2.LINE_AA)
    out = cv2.addWeighted(out, 0.8, lens, 0.2, 0)
    rim = (25, 22, 20)
    for centre in (right, left):
        c = tuple(int(v) for v in np.round(centre + np.array([0.0, 0.04 * span])))
        cv2.ellipse(out, c, axes, angle, 0, 360, rim, thick, cv2.LINE_AA)
    direction = (left - right) / span
    inner_r = right + direction * (axes[0] + 0.5 * thick)
    inner_l = left - direction * (axes[0] + 0.5 * thick)
    cv2.line(out, tuple(np.round(inner_r).astype(int)), tuple(np.round(inner_l).astype(int)), rim,
             thick, cv2.LINE_AA)  # fmt: skip
    for centre, sign in ((right, -1), (left, 1)):
        start = centre + sign * direction * axes[0]
        cv2.line(out, tuple(np.round(start).astype(int)),
                 tuple(np.round(start + sign * direction * 0.45 * span).astype(int)), rim, thick,
                 cv2.LINE_AA)  # fmt: skip
    return out


def _photo_landmarks(photo: np.ndarray) -> np.ndarray:
    """(478, 2) Face Mesh landmarks of the photo in photo pixels (by analyze_portrait)."""
    portrait = analyze_portrait(photo, size=SIZE)
    crop = portrait.crop
    scale = crop.side / portrait.size
    return np.array([crop.x0, crop.y0]) + portrait.landmarks[:, :2].astype(np.float64) * scale


class _HairLayer:
    """Hair painted over the face's box of a photo: a soft undercoat (a blurred polygon, so its
    edge fades as hair thins out) and strands drawn at ``k`` times the photo's resolution, so a
    face 90 px wide still gets hairs thinner than a pixel, averaged down when laid over."""

    def __init__(self, photo: np.ndarray, lm: np.ndarray, undercoat: tuple) -> None:
        _, _, face_width, _ = _face_frame(lm)
        h, w = photo.shape[:2]
        lo = np.floor(lm.min(0) - 0.6 * face_width).astype(int)
        hi = np.ceil(lm.max(0) + 0.6 * face_width).astype(int)
        self.x0, self.y0 = max(0, lo[0]), max(0, lo[1])
        self.x1, self.y1 = min(w, hi[0]), min(h, hi[1])
        self.k = int(np.clip(round(400 / face_width), 1, 6))
        box = (self.y1 - self.y0, self.x1 - self.x0)
        self.under = np.zeros(box, np.float32)
        self.undercoat = np.array(undercoat, np.float32)
        # Strand colours start as the undercoat's, so anti-aliased strand edges blend into it.
        self.colour = np.zeros((box[0] * self.k, box[1] * self.k, 3), np.uint8)
        self.colour[:] = np.array(undercoat, np.uint8)
        self.cover = np.zeros(self.colour.shape[:2], np.uint8)

    def _at(self, points: np.ndarray, k: int) -> list[np.ndarray]:
        """Photo pixels -> int32 points at ``k`` times the box's resolution, 4 fraction bits."""
        p = (np.asarray(points, np.float64) - [self.x0, self.y0] + 0.5) * k - 0.5
        return [np.round(p * 16).astype(np.int32)]

    def soft_mask(self, polygon: np.ndarray, soft: float) -> np.ndarray:
        """(h, w) float32 over the box: 1 inside ``polygon`` (photo pixels), edge blurred by
        ``soft`` pixels."""
        mask = np.zeros_like(self.under)
        cv2.fillPoly(mask, self._at(polygon, 1), (1.0,), cv2.LINE_AA, 4)
        return cv2.GaussianBlur(mask, (0, 0), soft)

    def fill(self, polygon: np.ndarray, soft: float, opacity: float) -> None:
        """Undercoat over ``polygon`` (photo pixels), edge blurred by ``soft`` pixels."""
        self.under = np.maximum(self.under, opacity * self.soft_mask(polygon, soft))

    def cut(self, polygon: np.ndarray, soft: float) -> None:
        """No undercoat over ``polygon`` (such as the lips)."""
        self.under *= 1 - self.soft_mask(polygon, soft)

    def strand(self, points: np.ndarray, colour, width: float) -> None:
        """One hair along the polyline ``points`` (photo pixels), ``width`` in photo pixels."""
        thick = max(1, round(width * self.k))
        cv2.polylines(self.colour, self._at(points, self.k), False, colour, thick, cv2.LINE_AA, 4)
        cv2.polylines(self.cover, self._at(points, self.k), False, (255,), thick, cv2.LINE_AA, 4)

    def over(
        self, photo: np.ndarray, keep: np.ndarray | None = None, shading: float = 0.0
    ) -> np.ndarray:
        """The photo with the undercoat, then the strands, laid over it.

        keep: (h, w) float in [0, 1] over the box, where strands fade out too (the lips).
        shading: how much of the photo's own light the hair takes (0 none, 1 all): the painted
        colours are scaled by the photo's blurred luma over its mean under the undercoat, so a
        beard is darker on the face's shadowed side as the skin was.
        """
        size = (self.x1 - self.x0, self.y1 - self.y0)
        full_cover = self.cover.astype(np.float32) / 255
        colour: np.ndarray = cv2.resize(self.colour.astype(np.float32) * full_cover[..., None],
                                        size, interpolation=cv2.INTER_AREA)  # fmt: skip
        cover: np.ndarray = cv2.resize(full_cover, size, interpolation=cv2.INTER_AREA)
        colour /= np.maximum(cover, 1e-4)[..., None]
        if keep is not None:
            cover *= 1 - keep
        out = photo.astype(np.float32)
        box = out[self.y0 : self.y1, self.x0 : self.x1]
        light = np.ones(box.shape[:2], np.float32)
        if shading > 0 and self.under.sum() > 0:
            grey = cv2.cvtColor(photo[self.y0 : self.y1, self.x0 : self.x1], cv2.COLOR_RGB2GRAY)
            luma = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 0.02 * max(size)) + 1
            mean = float((luma * self.under).sum() / self.under.sum())
            light = np.clip(luma / mean, 0.5, 1.6) ** shading
        under = self.under[..., None]
        box[:] = box * (1 - under) + self.undercoat * light[..., None] * under
        box[:] = box * (1 - cover[..., None]) + colour * light[..., None] * cover[..., None]
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _bezier(p: np.ndarray, n: int = 24) -> np.ndarray:
    """(n, 2) points along the cubic Bezier curve with control points p (4, 2)."""
    t = np.linspace(0, 1, n)[:, None]
    return ((1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2]
            + t**3 * p[3])  # fmt: skip


def _through(p: np.ndarray, n: int) -> np.ndarray:
    """(n, 2) points along a smooth curve through the points p (K, 2) (Catmull-Rom)."""
    p = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    t = np.linspace(0, len(p) - 3, n)
    i = np.minimum(t.astype(int), len(p) - 4)
    f = (t - i)[:, None]
    a, b, c, d = p[i], p[i + 1], p[i + 2], p[i + 3]
    return 0.5 * (2 * b + (c - a) * f + (2 * a - 5 * b + 4 * c - d) * f**2
                  + (3 * b - a - 3 * c + d) * f**3)  # fmt: skip


def with_beard(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """A full dark beard and moustache over the jaw, chin and upper lip, placed from the Face
    Mesh landmarks of the photo: a soft undercoat and many short hairs that fall down the
    jaw, converge at the chin and sweep outward from the philtrum, the lips left bare."""
    rng = np.random.default_rng(seed)
    lm = _photo_landmarks(photo)
    axes, centre, face_width, face_height = _face_frame(lm)
    across, down = axes
    mouth_v = float((lm[list(MOUTH_CORNERS)].mean(0) - centre) @ down)
    chin_v = float((lm[CHIN] - centre) @ down)
    # The beard's outline: the jaw from ear to ear, fuller below the mouth (a beard has
    # volume), then the cheek lines from the sideburns down to the mouth's corners, and the
    # moustache's top just under the nose.
    jaw = lm[list(FACE_OVAL[8:29])]
    depth = np.clip(((jaw - centre) @ down - mouth_v) / (chin_v - mouth_v), 0, 1)[:, None]
    jaw = jaw + 0.05 * (jaw - centre) + down * 0.1 * face_height * depth**1.5
    nose = lm[list(NOSE_BASE)] + down * 0.02 * face_height

    def cheek_line(ear: int, corner: int, ala: int) -> np.ndarray:
        # Between the mouth's corner and the nostril, a little outward.
        outward = (lm[corner] - centre) @ across * across
        tip = lm[corner] + 0.55 * (lm[ala] - lm[corner]) + 0.15 * outward
        bend = 0.5 * (lm[ear] + tip) + down * 0.08 * face_height
        return _bezier(np.array([lm[ear], bend, bend, tip]), 12)

    outline = np.concatenate(
        [
            jaw,
            cheek_line(FACE_SIDES[0], MOUTH_CORNERS[0], NOSE_BASE[0]),
            nose,
            cheek_line(FACE_SIDES[1], MOUTH_CORNERS[1], NOSE_BASE[2])[::-1],
        ]
    )
    lips = lm[list(LIPS_OUTER_UPPER + LIPS_OUTER_LOWER[::-1])]
    undercoat = (42, 32, 26)
    layer = _HairLayer(photo, lm, undercoat)
    soft = 0.02 * face_width
    layer.fill(outline, soft, 0.9)
    layer.cut(lips, 0.4 * soft)

    # Hairs: start points spread over the outline's box, kept where the undercoat lies.
    lo, hi = outline.min(0), outline.max(0)
    n = int(30 * np.prod(hi - lo) / face_width)
    starts = lo + rng.random((n, 2)) * (hi - lo)
    local = np.round(starts - [layer.x0, layer.y0]).astype(int)
    local = np.clip(local, 0, np.array(layer.under.shape[::-1]) - 1)
    inside = rng.random(n) < layer.under[local[:, 1], local[:, 0]] * 1.05
    starts = starts[inside]
    rel = (starts - centre) @ axes.T
    u = rel[:, 0] / (0.5 * face_width)
    upper_lip = rel[:, 1] < mouth_v - 0.02 * face_height
    # Down and toward the chin along the jaw; outward and down on the moustache.
    direction = np.where(
        upper_lip[:, None],
        np.stack([np.sign(u) * 0.8, np.full_like(u, 0.6)], 1),
        np.stack([-0.35 * u, np.ones_like(u)], 1),
    )
    angle = np.arctan2(direction[:, 1], direction[:, 0]) + rng.normal(0, 0.25, len(u))
    length = face_width * rng.uniform(0.035, 0.08, len(u)) * np.where(upper_lip, 0.7, 1.0)
    curl = rng.normal(0, 0.3, len(u))
    tone = rng.uniform(0.45, 1.5, len(u))
    light = rng.random(len(u)) < 0.08
    for s, a, reach, c, t, lit in zip(starts, angle, length, curl, tone, light, strict=True):
        # Two segments, the second turned by the hair's curl: a hair bends a little.
        d0 = np.array([np.cos(a), np.sin(a)]) @ axes
        d1 = np.array([np.cos(a + c), np.sin(a + c)]) @ axes
        points = np.array([s, s + 0.5 * reach * d0, s + 0.5 * reach * (d0 + d1)])
        colour = (110, 86, 66) if lit else tuple(float(v) * t for v in undercoat)
        layer.strand(points, colour, 0.25)
    return layer.over(photo, keep=layer.soft_mask(lips, 0.4 * soft), shading=0.8)


def _with_hair_over_face(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """A long lock of the photo's own hair colour falling from the hairline over the forehead,
    the outer half of the subject's right eye (image left) and the cheek, down past the jaw:
    a few hundred strands along curves that fan out from the parting."""
    rng = np.random.default_rng(seed)
    lm = _photo_landmarks(photo)
    axes, _, face_width, face_height = _face_frame(lm)
    across, down = axes
    # The hair's colours: a patch of hair above the forehead; each strand takes one of them.
    top = lm[FOREHEAD] - down * 0.3 * face_height
    r = max(2, round(0.1 * face_width))
    x, y = np.round(top).astype(int)
    h, w = photo.shape[:2]
    patch = photo[max(0, y - r) : min(h, y + r), max(0, x - r) : min(w, x + r)].reshape(-1, 3)
    patch = patch.astype(np.float64) if len(patch) else np.array([[70.0, 50.0, 35.0]])
    eye = lm[IRIS_CENTRES[0]]
    # The lock at five heights, each as (inner edge, outer edge): in the hair above the
    # forehead, on the brow, across the eye (from just outside the iris' centre past the
    # temple), on the cheek, and its tip below the jaw.
    rows = np.array([
        [lm[10] - down * 0.25 * face_height, lm[103] - down * 0.25 * face_height],
        [lm[107] + down * 0.02 * face_height, lm[54] - across * 0.1 * face_width],
        [eye - across * 0.03 * face_width, lm[234] - across * 0.1 * face_width],
        [lm[205] + down * 0.12 * face_height - across * 0.05 * face_width,
         lm[132] - across * 0.1 * face_width],
        [lm[205] + down * 0.45 * face_height - across * 0.12 * face_width,
         lm[132] + down * 0.4 * face_height - across * 0.2 * face_width],
    ])  # fmt: skip
    # The undercoat is the hair's shade between strands: darker than the strands.
    layer = _HairLayer(photo, lm, tuple(0.55 * np.median(patch, axis=0)))
    envelope = [_through(rows[:, side], 40)[8:] for side in (0, 1)]
    layer.fill(np.concatenate([envelope[0], envelope[1][::-1]]), 0.015 * face_width, 0.85)
    # Hair falls in clumps: strands of a clump share its wander and its light.
    n_clumps = 14
    # A clump drifts one way, more toward its tips (a smooth drift: no kinks).
    drift = np.linspace(0, 1, len(rows))[None, :, None] ** 1.5
    clump_shift = rng.normal(0, 0.04 * face_width, (n_clumps, 1, 2)) * drift
    clump_light = rng.uniform(0.75, 1.2, n_clumps)
    for s in rng.random(1600):
        clump = min(int(s * n_clumps), n_clumps - 1)
        controls = rows[:, 0] + s * (rows[:, 1] - rows[:, 0]) + clump_shift[clump]
        controls = controls + rng.normal(0, 0.008 * face_width, controls.shape)
        points = _through(controls, 40)
        # Ragged roots (it grows out of the hair above) and ragged tips.
        points = points[rng.integers(0, 10) : max(14, round(len(points) * rng.uniform(0.7, 1)))]
        light = clump_light[clump] * rng.uniform(0.85, 1.15)
        tone = np.clip(light * patch[rng.integers(len(patch))], 0, 255)
        layer.strand(points, tuple(tone.tolist()), rng.uniform(0.2, 0.45))
    return layer.over(photo)


def _turned(photo: np.ndarray, degrees: float = 30.0) -> np.ndarray:
    """The photo as a flat card turned about its vertical axis (a perspective warp): the face
    shows foreshortened to one side, as a head turned about ``degrees`` would, without the
    occlusion a real turn has."""
    h, w = photo.shape[:2]
    f = 1.2 * max(h, w)
    a = np.radians(degrees)
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    centred = corners - [w / 2, h / 2]
    x = centred[:, 0] * np.cos(a)
    z = f + centred[:, 0] * np.sin(a)
    projected = np.stack([x * f / z + w / 2, centred[:, 1] * f / z + h / 2], 1)
    m = cv2.getPerspectiveTransform(corners.astype(np.float32), projected.astype(np.float32))
    return cv2.warpPerspective(photo, m, (w, h), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


#: Where ``eval render`` looks for more portraits (JPEG/PNG files) when not told: the
#: environment variable GIOCONDA_PORTRAITS, then ``../shared/data/portraits`` from the
#: working directory. Missing is fine: the built-in portraits always run.
PORTRAITS_ENV = "GIOCONDA_PORTRAITS"


DEFAULT_PORTRAITS_DIR = Path("..") / "shared" / "data" / "portraits"


def portraits_in(folder: Path | None) -> list[tuple[str, Callable[[], np.ndarray]]]:
    """(name, loader) for each photo in ``folder``; none when it is None or missing."""
    if folder is None or not Path(folder).is_dir():
        return []
    files = sorted(
        p for p in Path(folder).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")
    )
    return [(f"{Path(folder).name}/{p.stem}", partial(load_photo, p)) for p in files]


def default_portraits_dir() -> Path | None:
    """The folder :func:`run_render_eval` reads extra portraits from (see PORTRAITS_ENV)."""
    named = os.environ.get(PORTRAITS_ENV)
    if named:
        return Path(named)
    return DEFAULT_PORTRAITS_DIR if DEFAULT_PORTRAITS_DIR.is_dir() else None


def test_photos(quick: bool = False) -> list[tuple[str, Callable[[], np.ndarray]]]:
    """(name, photo maker) per built-in portrait, in table order."""
    photos = [
        ("mona_lisa", _mona_lisa),
        ("astronaut", astronaut),
        ("astronaut_grey", lambda: _grey(astronaut())),
        ("astronaut_small", lambda: _small_in_canvas(astronaut())),
        ("astronaut_rot10", lambda: _rotated(astronaut())),
        ("astronaut_stylized", lambda: _stylized(astronaut())),
        ("astronaut_glasses", lambda: with_glasses(astronaut())),
        ("astronaut_dark", lambda: _dark(astronaut())),
        ("astronaut_bright", lambda: _bright(astronaut())),
        ("astronaut_turned30", lambda: _turned(astronaut())),
        ("astronaut_beard", lambda: with_beard(astronaut())),
        ("astronaut_hair_over_face", lambda: _with_hair_over_face(astronaut())),
        ("astronaut_drawing", lambda: _drawing(astronaut())),
    ]
    return photos[:2] if quick else photos
