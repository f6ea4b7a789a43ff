"""The mouth interior: what a viewer sees between parted lips.

Warping cannot show what the photo never showed, so where the lips part further than in the
photo the renderer paints a shaded cavity, upper teeth fixed to the skull, lower teeth that
drop with the jaw, and a tongue, all coloured from the photo's own lips, skin and (when it
shows them) teeth, so that they sit in its lighting.
"""

from __future__ import annotations

import functools
import logging
import math
import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from gioconda.face.portrait import Portrait
from gioconda.face.topology import (
    CHEEKS,
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
    mouth_width,
)
from gioconda.motion.blendshapes import BS
from gioconda.motion.frames import MotionFrame
from gioconda.render import paint_kernels
from gioconda.render.grain import NOISE_TILE, noise_tile
from gioconda.render.regions import outline, polygon_mask
from gioconda.render.rig import FaceRig

# Where one tooth meets the next, from the middle outward, in mouth widths: upper incisors,
# canine and premolars, and the narrower lower ones.
TOOTH_EDGES = (0.0, 0.105, 0.195, 0.27, 0.335, 0.39)


LOWER_TOOTH_EDGES = (0.0, 0.07, 0.14, 0.205, 0.265, 0.32)


#: Visible height of the upper teeth below the upper lip's rest line, in mouth widths.
UPPER_TOOTH_HEIGHT = 0.13


#: Height of the lower teeth above the lower lip's inner edge, in mouth widths: in speech the
#: lower lip covers them but for their biting edges.
LOWER_TOOTH_HEIGHT = 0.05


#: How far each tooth's biting edge rounds off toward its neighbours, in mouth widths: the
#: small dark notches between tooth tips.
EMBRASURE = 0.012


#: How far inside the lips their wet inner side shows before the dark, in mouth widths.
INNER_LIP_RIM = 0.05


#: Photo pixels down a face (its outline's height, brow to chin) below which the photo is called
#: small: a one-line warning, and a soft painted mouth (see :func:`blur_sigma`).
SMALL_FACE_PX = 200


#: Teeth's colour over the whites of the eyes: both are near-white and lit by the same light,
#: so the eyes tell a photo's (or a painting's varnish's) white; teeth are a little brighter.
TEETH_OVER_SCLERA = 1.08


# -- how the interior is drawn, all lengths in mouth widths ----------------------------------
#: The interior fades in over this much opening beyond the photo's own, so the rest frame is
#: the photo exactly.
OPENING_FADE = 0.05
#: The upper teeth's top sits this far above the upper lip's rest line.
TEETH_TOP_ABOVE_LIP = 0.01
#: Distance from the middle at which the cavity is deepest and darkest (the corners).
CORNER_DEPTH = 0.42
#: How much darker the cavity is at the corners than in the middle.
CORNER_SHADE = 0.25
#: The cavity's colour by the lips, a share of theirs (deeper in it darkens, see
#: :data:`THROAT_DARK`).
CAVITY_LIGHT = 0.26
#: Opacity of the lips' wet inner rim over the dark.
INNER_LIP_RIM_ALPHA = 0.8
#: The tongue's top below the lower lip: at rest, and how much lower with the jaw wide open
#: (JawOpen of :data:`TONGUE_JAW_FULL` and more).
TONGUE_TOP, TONGUE_DROP, TONGUE_JAW_FULL = 0.10, 0.10, 0.5
#: The tongue's soft top edge, its half width, how far down it brightens from its shaded top
#: (and how dark that top is), and its opacity.
TONGUE_EDGE, TONGUE_HALF_WIDTH, TONGUE_SHADING, TONGUE_TOP_SHADE, TONGUE_ALPHA = (
    0.04, 0.38, 0.12, 0.35, 0.8,
)  # fmt: skip
#: The tongue's front curves down behind the lower lip, away from the light: this much darker
#: at the lip, over this far up from it (mouth widths).
TONGUE_FRONT_DARK, TONGUE_FRONT_REACH = 0.5, 0.05
#: Painted lower teeth fade in from this JawOpen on, fully shown this much more open: in speech
#: (JawOpen about 0.5) a faint edge over the lower lip, in full only with the jaw wide open.
LOWER_TEETH_JAW, LOWER_TEETH_JAW_RAMP = 0.3, 0.7
#: The lower teeth's soft top edge, the half width of their row (the incisors and canines that
#: show over the lip in speech) and its soft end, how much
#: shorter they are toward the corners, how much of the mouth's warm light they take, and
#: how much darker they are at the lip than at their tips.
LOWER_TEETH_EDGE, LOWER_TEETH_HALF_WIDTH, LOWER_TEETH_END = 0.01, 0.17, 0.08
LOWER_TEETH_CORNER_DROP, LOWER_TEETH_WARMTH, LOWER_TEETH_SHADE = 0.3, 0.12, 0.5
#: The upper teeth's soft biting edge, the half width of their row and its soft end, and how
#: much shorter they are toward the corners.
UPPER_TEETH_EDGE, UPPER_TEETH_HALF_WIDTH, UPPER_TEETH_END = 0.012, 0.40, 0.06
UPPER_TEETH_CORNER_DROP = 0.35
#: The cavity darkens from the lips inward (the light comes in between them), by this much
#: at this distance (mouth widths) into the opening and beyond.
THROAT_REACH, THROAT_DARK = 0.12, 0.55
#: The upper teeth's shadow in the cavity below their biting edge: this much darker at the
#: edge, fading out over this far down (mouth widths).
UNDER_TEETH_REACH, UNDER_TEETH_DARK = 0.1, 0.5
#: The lower teeth stand :data:`LOWER_TOOTH_HEIGHT` over the lower lip with the jaw wide open,
#: this share less when they first show (the lip covers them in speech); and, in the upper
#: lip's and teeth's shadow, they take this share of the upper teeth's light.
LOWER_TEETH_RISE, LOWER_TEETH_LIGHT = 0.7, 0.8
#: The upper lip's shadow on the teeth: how dark at the lip, fading over this far down.
LIP_SHADOW, LIP_SHADOW_REACH = 0.28, 0.035
#: The biting edges' translucency: this much darker over this far from the edge.
TOOTH_EDGE_DARKENING, TOOTH_EDGE_REACH = 0.1, 0.03
#: A tooth row turns into the mouth's shade toward the corners: this much darker at
#: :data:`TEETH_TURN_AWAY` from the middle, as ``(|u| / TEETH_TURN_AWAY) ** 1.5``.
TEETH_CORNER_SHADE, TEETH_TURN_AWAY = 0.45, 0.4
#: Each tooth is rounded: darker toward its sides (``side ** 2``) and darkest in the seam
#: between two (``side ** 12``).
TOOTH_ROUNDING, TOOTH_SEAM = 0.08, 0.14
#: Sharpness (Gaussian sigma of the photo's blur, pixels) above which the painted interior is
#: blurred to match the photo.
SOFT_PHOTO_SIGMA = 0.3
#: How far along the lips their painted inner edge is smoothed (a Gaussian's sigma, in mouth
#: widths): an open jaw leaves the lip landmarks in near-straight runs with corners between
#: them, a polygon where a lip is a smooth curve.
LIP_EDGE_SMOOTHING = 0.09
#: About each of the open mouth's corners, how far (mouth widths) the warp's frayed rim is
#: smoothed, and by how much (a Gaussian's sigma, mouth widths).
CORNER_SOFTENING, CORNER_SOFTENING_SIGMA = 0.12, 0.015


class MouthPainter:
    """Paints the mouth interior of one portrait into rendered frames."""

    def __init__(self, portrait: Portrait, rig: FaceRig) -> None:
        self.rig = rig
        image = portrait.image.astype(np.float32)
        lm = rig.neutral
        inner = outline(lm, LIPS_INNER_UPPER, LIPS_INNER_LOWER)
        outer = outline(lm, LIPS_OUTER_UPPER, LIPS_OUTER_LOWER)
        shape = image.shape[:2]
        lips = polygon_mask(shape, outer, soft=False) & ~polygon_mask(shape, inner, soft=False)
        lip_colour = np.median(image[lips], axis=0) if lips.any() else np.array([150, 80, 80.0])
        # Skin from the cheeks: the photo's light level and colour cast.
        right, left = (lm[list(cheek), :2] for cheek in CHEEKS)
        cheek = polygon_mask(shape, right, soft=False) | polygon_mask(shape, left, soft=False)
        skin = np.median(image[cheek], axis=0) if cheek.any() else np.array([180, 140, 120.0])
        self.own = _OwnInterior.from_photo(portrait.image, lm, lip_colour)
        sclera = _sclera_colour(image, lm, skin)
        if self.own is not None and (self.own.has_upper_teeth or self.own.has_lower_teeth):
            # The photo shows its own teeth: use their colour.
            teeth = self.own.teeth
        elif sclera is not None:
            teeth = _paler_than(_not_cool(sclera * TEETH_OVER_SCLERA), skin)
        else:
            teeth = _ivory_in_light_of(skin)
        self.teeth = np.clip(teeth, 0, 255).astype(np.float32)
        self.cavity = (lip_colour * CAVITY_LIGHT + 4).astype(np.float32)
        self.inner_lip = (lip_colour * 0.55).astype(np.float32)
        self.sharpness = blur_sigma(portrait)
        self.grain = _photo_grain(portrait.image, lm, cheek, self.sharpness)
        self.skin_light = float(skin.mean())
        across = face_pixels(portrait, rig)
        if across < SMALL_FACE_PX:
            logging.getLogger("gioconda").warning(
                "the face is %d pixels tall in the photo (under %d): a close-up will look "
                "soft; a larger photo of the face animates more sharply",
                across,
                SMALL_FACE_PX,
            )
        # The tongue: the lips' colour, a little deeper (as saturated again about its grey)
        # and darker; a grey photo gets a grey tongue.
        grey = lip_colour.mean()
        self.tongue = np.clip((grey + 1.3 * (lip_colour - grey)) * 0.85, 0, 255).astype(np.float32)
        self.rest_gap = inner_lip_gap_px(lm)
        # What each frame's painting takes as it is (see :mod:`gioconda.render.paint_kernels`).
        self._pad = 3 + int(np.ceil(2 * self.sharpness))
        self._upper, self._lower = np.array(LIPS_INNER_UPPER), np.array(LIPS_INNER_LOWER)
        self._outer_lips = np.array(LIPS_OUTER_UPPER + LIPS_OUTER_LOWER[::-1])
        self._corners = np.array(INNER_MOUTH_CORNERS)
        self._seams = (np.array(TOOTH_EDGES, np.float32), np.array(LOWER_TOOTH_EDGES, np.float32))
        self._scalars = _interior_scalars(rig.mouth_width)
        # (The lower teeth take some of the warm light inside the mouth.)
        warm = (1 - LOWER_TEETH_WARMTH) * self.teeth + LOWER_TEETH_WARMTH * self.tongue
        self._colours = np.array(
            [self.cavity, self.inner_lip, self.tongue, self.teeth, warm], np.float32
        )

    def closing(self, posed: np.ndarray) -> float:
        """How far the lips have closed over the photo's own opening, 0 to 1."""
        if self.rest_gap < 1.0:
            return 0.0
        gap = inner_lip_gap_px(posed)
        return float(np.clip(1.0 - gap / self.rest_gap, 0.0, 1.0)) ** 0.5

    def opening(self, posed: np.ndarray) -> float:
        """How far the lips have parted beyond the photo's own opening, 0 to 1 (the strength
        the interior is painted with)."""
        gap = inner_lip_gap_px(posed)
        if gap < 1.0:
            return 0.0
        return min(max((gap - self.rest_gap) / (OPENING_FADE * self.rig.mouth_width), 0.0), 1.0)

    def paint(
        self, frame_rgb: np.ndarray, posed: np.ndarray, skull: np.ndarray, motion: MotionFrame
    ) -> None:
        """Paint the interior into ``frame_rgb`` (in place) where the lips are parted.

        ``posed``: (478, 2) landmarks in the frame; ``skull``: where they would be with the
        head's motion alone (the upper teeth move with the skull, not with the lips).
        """
        rig = self.rig
        # Head distance scales the finished frame (the renderer zooms the whole person), so
        # the mouth is painted at the photo's own scale.
        width = rig.mouth_width
        # Fade in as the lips part beyond the photo's own opening, so the rest frame is the
        # photo exactly and a photo that shows teeth keeps them when barely moving.
        strength = self.opening(posed)
        if strength <= 0.0:
            return
        landmarks = smooth_outline(posed, LIPS_INNER_UPPER, LIPS_INNER_LOWER)
        inner = rounded_outline(landmarks, len(LIPS_INNER_UPPER), width)
        h, w = frame_rgb.shape[:2]
        pad = self._pad
        both = np.concatenate([landmarks, inner])
        (left_x, top_y), (right_x, bottom_y) = both.min(0).tolist(), both.max(0).tolist()
        x0, y0 = max(math.floor(left_x) - pad, 0), max(math.floor(top_y) - pad, 0)
        x1, y1 = min(math.ceil(right_x) + pad, w), min(math.ceil(bottom_y) + pad, h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        offset = np.array([x0, y0], np.float64)
        mask = polygon_mask((y1 - y0, x1 - x0), inner - offset)
        if mask.max() <= 0:
            return
        # Where the smoothed edge lies inside the landmarks' outline the warp shows what the
        # photo had between its lips, stretched: the lip is carried in over it.
        carry_lip_in(frame_rgb[y0:y1, x0:x1], landmarks - offset, mask, strength)

        # Mouth-frame coordinates of each patch pixel: along the lips (u, mouth widths from
        # the middle) and down (v), worked out per pixel by the compiled loops, with the lip
        # lines as NumPy's BLAS puts them into the mouth's frame.
        right, left = INNER_MOUTH_CORNERS
        axis_x = posed[left, :2] - posed[right, :2]
        axis_x /= np.linalg.norm(axis_x) + 1e-9
        axes = np.array([axis_x, (-axis_x[1], axis_x[0])])
        centre = (posed[right, :2] + posed[left, :2]) / 2

        def line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """A lip line in the mouth's frame: along it (increasing), and down (pixels)."""
            rel = (points - centre) @ axes.T
            order = np.argsort(rel[:, 0])
            return rel[order, 0], rel[order, 1]

        # The upper teeth hang from the skull: their top is the upper lip's rest line moved
        # with the head, not with the lip (the third line).
        # The lips' lines are their smoothed edges (so the tongue's and the lower teeth's
        # edges, which follow them, are not polygons either).
        # (every third point: as smooth, and a shorter search along each row)
        split = len(inner) // 2
        lines = (*line(inner[:split:3]), *line(inner[split::3]),
                 *line(skull[self._upper]))  # fmt: skip
        field = np.empty((9, y1 - y0, x1 - x0), np.float32)
        paint_kernels.mouth_frame(x0, y0, centre, axes, width, CORNER_DEPTH, TEETH_TURN_AWAY,
                                  lines, self._seams, field)  # fmt: skip

        jaw = float(motion.blendshapes[BS["JawOpen"]])
        # Lower teeth, shown when the jaw drops far; the photo's own follow the jaw instead.
        lower_shown = min(1.0, max(0.0, (jaw - LOWER_TEETH_JAW) / LOWER_TEETH_JAW_RAMP))
        if self.own is not None and self.own.has_lower_teeth:
            lower_shown = 0.0
        # (NumPy's powers: its SIMD code rounds otherwise than the compiled loops' C library.)
        upper_side, lower_side = field[6], field[7]
        powers = (upper_side**4, upper_side**12,
                  *((lower_side**4, lower_side**12) if lower_shown > 0 else (field[7],) * 2),
                  field[8] ** 1.5)  # fmt: skip
        inside = cv2.distanceTransform((mask > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
        interior: np.ndarray = np.empty((y1 - y0, x1 - x0, 3), np.float32)
        tongue_drop = (TONGUE_TOP + TONGUE_DROP * min(jaw / TONGUE_JAW_FULL, 1.0)) * width
        # (The photo's own upper teeth are drawn below, continued up where the lip lifts off
        # them; beside them, a smile's corners show the dark of the cheeks, not teeth of
        # another colour.)
        upper_teeth = self.own is None or not self.own.has_upper_teeth
        # (The lower teeth rise over the lip as the jaw drops: the lip falls off them.)
        rise = 1 - LOWER_TEETH_RISE + LOWER_TEETH_RISE * lower_shown
        lower_height = LOWER_TOOTH_HEIGHT * width * rise
        paint_kernels.mouth_interior(field, powers, inside, self._scalars, tongue_drop,
                                     lower_height, self._colours, lower_shown, upper_teeth,
                                     interior)  # fmt: skip
        # The photo's grain on what is painted (the photo's own interior has its own).
        add_grain(interior, self.grain, (x0, y0), skull[self._corners, :2].mean(0),
                  self.skin_light)  # fmt: skip
        if self.own is not None:
            # The photo's own interior: what it showed above its gap moves with the skull,
            # what it showed below moves with the jaw (the lower lip).
            upper_lip, skull_lip = field[2], field[4]
            lift = np.clip((skull_lip - upper_lip) / (LIP_LIFT_SHOWS_TEETH * width), 0.0, 1.0)
            self.own.paint(interior, (x0, y0), self.rig.neutral[:, :2], skull, posed, lift,
                           mask)  # fmt: skip

        if self.sharpness > SOFT_PHOTO_SIGMA:
            # At the photo's own sharpness: a crisp mouth on a soft face looks stuck on.
            interior = cv2.GaussianBlur(interior, (0, 0), self.sharpness)
            mask = cv2.GaussianBlur(mask, (0, 0), 0.5 * self.sharpness)
        paint_kernels.blend_patch(frame_rgb[y0:y1, x0:x1], interior, mask, strength)
        # (the outer lips' outline as :func:`outline` draws it)
        lips = posed[self._outer_lips, :2]
        soften_corners(frame_rgb, posed[self._corners, :2], lips, width, strength)


#: The photo's grain is measured on its skin within this distance of the lips (mouth widths,
#: from a little outside them) and on the cheeks.
GRAIN_RING = (0.05, 0.3)


def _photo_grain(
    image: np.ndarray, lm: np.ndarray, cheeks: np.ndarray, sharpness: float
) -> np.ndarray | None:
    """A tile of the photo's own grain for the painted interior (see
    :func:`gioconda.render.grain.noise_tile`), measured on the skin around the mouth and the
    ``cheeks`` ((h, w) bool), as it will be once the painting is blurred to the photo's
    ``sharpness`` (see :func:`blur_sigma`; none below :data:`SOFT_PHOTO_SIGMA`); None where
    the photo has none to speak of. Painted smooth, the cavity, tongue and teeth of a photo
    with visible noise or film grain read as a sticker."""
    width = mouth_width(lm)
    outer = outline(lm, LIPS_OUTER_UPPER, LIPS_OUTER_LOWER)
    lips = polygon_mask(image.shape[:2], outer, soft=False)
    outside = cv2.distanceTransform((~lips).astype(np.uint8), cv2.DIST_L2, 3)
    near, far = GRAIN_RING
    ring = (outside > near * width) & (outside < far * width)
    # The same photo always gets the same grain: the seed is its mouth's own pixels.
    (x0, y0), (x1, y1) = np.floor(outer.min(0)).astype(int), np.ceil(outer.max(0)).astype(int)
    mouth = image[max(y0, 0) : y1 + 1, max(x0, 0) : x1 + 1]
    seed = zlib.crc32(np.ascontiguousarray(mouth).tobytes())
    blurred = sharpness if sharpness > SOFT_PHOTO_SIGMA else 0.0
    return noise_tile(image, ring | cheeks, seed, blurred)


#: The grain in the painted interior is the skin's, scaled by the square root of the painted
#: pixel's luminance over the skin's (noise grows as the root of the light), but never below
#: this share of it.
GRAIN_IN_THE_DARK = 0.5


def add_grain(
    interior: np.ndarray,
    grain: np.ndarray | None,
    origin: tuple[int, int],
    anchor: np.ndarray,
    skin_light: float,
) -> None:
    """Add the photo's ``grain`` (a tile, see :func:`_photo_grain`) to the painted
    ``interior`` ((h, w, 3) float32, in place) whose top-left pixel is ``origin`` (x, y) in the
    frame: the tile laid from ``anchor`` ((2,) pixels: the mouth's middle as the head alone
    moves it), so the grain moves with the head as the photo's does, and stays where it is
    as the lips move over it; weaker in the dark (see :data:`GRAIN_IN_THE_DARK`; ``skin_light``:
    the skin's luminance, where the grain was measured)."""
    if grain is None:
        return
    ax, ay = round(float(anchor[0])), round(float(anchor[1]))
    top, left = (origin[1] - ay) % NOISE_TILE, (origin[0] - ax) % NOISE_TILE
    per_light = 1.0 / (3.0 * max(skin_light, 1.0))
    paint_kernels.add_grain(interior, grain, top, left, per_light, GRAIN_IN_THE_DARK)


def _blend(base: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> None:
    base *= 1 - alpha[..., None]
    base += layer * alpha[..., None]


#: A photo's opening must be this tall (mouth widths) before its own interior is reused.
OWN_INTERIOR_MIN_GAP = 0.04


#: How far above the photo's own opening its upper teeth are continued, in mouth widths: as
#: far as a smile or a rounded vowel lifts the upper lip.
OWN_TEETH_REACH = 0.12


#: How far the upper lip must lift off its place in the photo (mouth widths) before the
#: teeth continued under it replace the photo's own pixels at the lip's edge.
LIP_LIFT_SHOWS_TEETH = 0.03


#: A layer of the photo's interior shows teeth when at least this many of its pixels, and this
#: share of them, are teeth (see :func:`_tooth_pixels`): a smile's row, not a glint on the lip.
OWN_TEETH_MIN_PIXELS, OWN_TEETH_SHARE = 10, 0.1


#: A tooth pixel is at least this share of the lips' lightness (Lab L), and at most this share
#: as red (Lab a*, per unit of lightness) as the lips; one a* unit of slack for grey photos.
TOOTH_LIGHT_OVER_LIPS, TOOTH_REDNESS_OVER_LIPS, TOOTH_REDNESS_SLACK = 0.6, 0.75, 1.0
#: Lips of less chroma (Lab) than this are grey: a black-and-white photo.
GREY_LIPS_CHROMA = 3.0


@dataclass(frozen=True)
class _OwnInterior:
    """The interior a photo already shows (teeth of a smile), in two layers that move apart.

    Attributes
    ----------
    box: (x0, y0) of the patches in the photo
    upper, lower: (h, w, 4) float32 RGBA patches: the photo's interior above and below the
        darkest line between the teeth rows (all of it is upper when no gap shows); the
        upper one reaches up to the upper lip's own edge, as the photo shows it
    uncovered: (h, w, 4) float32 RGBA patch: the upper teeth continued up past the lip's
        edge (see :func:`_reach_up`), shown where the upper lip lifts off them
    has_upper_teeth, has_lower_teeth: whether each layer shows teeth (see
        :func:`_tooth_pixels`), so the synthetic ones are not drawn over them
    teeth: (3,) float32 RGB, its teeth's colour when it shows teeth (see
        :func:`_teeth_colour`)
    lip_light: the lips' luminance (mean of RGB): the photo's mouth dark is well below it
        (see :func:`_continued_down`)
    """

    box: tuple[int, int]
    upper: np.ndarray
    lower: np.ndarray
    uncovered: np.ndarray
    has_upper_teeth: bool
    has_lower_teeth: bool
    teeth: np.ndarray
    lip_light: float

    @staticmethod
    def from_photo(image: np.ndarray, lm: np.ndarray, lips: np.ndarray) -> _OwnInterior | None:
        """The interior ``image`` shows between its lips (``lm``: its landmarks; ``lips``: their
        median RGB colour, which tells its teeth apart), None when they are about closed."""
        width = mouth_width(lm)
        gap = inner_lip_gap_px(lm)
        if gap < OWN_INTERIOR_MIN_GAP * width:
            return None
        inner = outline(lm, LIPS_INNER_UPPER, LIPS_INNER_LOWER)
        pad = 2
        x0, y0 = np.floor(inner.min(0)).astype(int) - pad
        x1, y1 = np.ceil(inner.max(0)).astype(int) + pad
        # Room above for the teeth a lifting upper lip uncovers.
        y0 -= round(OWN_TEETH_REACH * width)
        x0, y0 = max(x0, 0), max(y0, 0)
        patch = image[y0:y1, x0:x1].astype(np.float32)
        opening = polygon_mask(patch.shape[:2], inner - [x0, y0])
        # Not the lips' own edge pixels: they would stay behind, a line of lip colour, when
        # the lips move off them.
        inside = cv2.erode(opening, np.ones((3, 3), np.uint8))
        if inside.sum() < 20:
            return None
        # Where between the lips (0 at the upper, 1 at the lower) each pixel lies.
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        up_pts, lo_pts = lm[list(LIPS_INNER_UPPER), :2], lm[list(LIPS_INNER_LOWER), :2]
        upper_y = np.interp(xs, *_sorted_xy(up_pts))
        lower_y = np.interp(xs, *_sorted_xy(lo_pts))
        depth = (ys - upper_y) / np.maximum(lower_y - upper_y, 1.0)
        luma = patch.mean(2)
        # The darkest band in the middle columns, if clearly darker than the teeth, is the
        # gap between the rows.
        middle = inside > 0.5
        middle &= np.abs(xs - lm[list(INNER_MOUTH_CORNERS), 0].mean()) < 0.25 * width
        split = 1.0
        shown = inside > 0.5
        bright = float(np.percentile(luma[shown], 80))
        if middle.sum() > 10:
            bins = np.linspace(0.15, 0.95, 9)
            means = [luma[middle & (np.abs(depth - b) < 0.05)] for b in bins]
            means = [m.mean() if m.size else np.inf for m in means]
            darkest = int(np.argmin(means))
            if means[darkest] < 0.55 * bright:
                split = float(bins[darkest])
        soft = np.clip((split - depth) / 0.08 + 0.5, 0.0, 1.0)
        tooth = _tooth_pixels(patch, lips)
        lower_alpha = inside * (1 - soft)
        # The upper layer moves with the skull, as the upper lip does unless it lifts: up to
        # the lip's edge it is the photo itself (under the edge's soft rim, a frame blends lip
        # with what the photo showed there, not with teeth painted behind: a grey line).
        rim = cv2.dilate(opening, np.ones((3, 3), np.uint8)) * (depth < 0.5)
        upper_alpha = np.maximum(inside, rim) * soft
        uncovered = _reach_up(patch, inside * soft, OWN_TEETH_REACH * width, bright)

        def has_teeth(alpha: np.ndarray) -> bool:
            shown = alpha > 0.5
            found = int((tooth & shown).sum())
            return bool(found >= OWN_TEETH_MIN_PIXELS and found >= OWN_TEETH_SHARE * shown.sum())

        return _OwnInterior(
            (x0, y0),
            np.dstack([patch, upper_alpha]).astype(np.float32),
            np.dstack([patch, lower_alpha]).astype(np.float32),
            uncovered,
            has_teeth(inside * soft),
            has_teeth(lower_alpha),
            _teeth_colour(patch, luma, shown, tooth & shown),
            float(np.mean(lips)),
        )

    def paint(
        self,
        interior: np.ndarray,
        origin: tuple[int, int],
        neutral: np.ndarray,
        skull: np.ndarray,
        posed: np.ndarray,
        lift: np.ndarray,
        opening: np.ndarray | None = None,
    ) -> None:
        """Draw the layers over ``interior`` (in place), whose top-left is ``origin``;
        ``lift``: how far the upper lip has risen off its place on the skull at each of its
        pixels, 0 to 1 (1 shows the teeth continued under it in full); ``opening``: the
        painted opening ((h, w), soft), below whose upper layer the photo's dark is carried
        on into the painted cavity (see :func:`_continued_down`; not without it)."""
        layers = []
        for layer, moved, contour, shown in (
            (self.lower, posed, LIPS_INNER_LOWER, None),
            (self.upper, skull, LIPS_INNER_UPPER, None),
            (self.uncovered, skull, LIPS_INNER_UPPER, lift),
        ):
            if layer[..., 3].max() <= 0 or (shown is not None and shown.max() <= 0):
                continue
            similarity = _similarity(neutral[list(contour)], moved[list(contour)])
            # Patch pixels to the interior's pixels.
            shift = np.array([[1, 0, self.box[0]], [0, 1, self.box[1]], [0, 0, 1]])
            to_frame = np.vstack([similarity, [0, 0, 1]]) @ shift
            to_frame[:2, 2] -= origin
            h, w = interior.shape[:2]
            drawn = cv2.warpAffine(layer, to_frame[:2], (w, h), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=(0,))  # fmt: skip
            # A lower layer of lip (the lower lip's inner surface, no teeth) follows the lip's
            # edge as it curves; lower teeth move with the jaw, rigidly. (Without a gap the
            # layer is only a few faint pixels of the lip's edge under the upper layer's soft
            # end: left where the similarity puts them.)
            lip = layer is self.lower and not self.has_lower_teeth
            if lip and layer[..., 3].max() > 0.5:
                placed = neutral[list(contour)] @ similarity[:, :2].T + similarity[:, 2]
                drawn = _follow_lip(drawn, placed - origin, moved[list(contour), :2] - origin)
            alpha = drawn[..., 3] if shown is None else drawn[..., 3] * shown
            if layer is self.upper and opening is not None:
                # The upper layer's dark edge (the photo's lower lip, moved with the skull)
                # blended into the painted cavity, not a seam across the opening: the layer
                # fades out toward it, and its dark is carried on a little past it, under all
                # the layers.
                band = _continued_down(drawn, opening, self.lip_light, mouth_width(neutral))
                if band is not None:
                    rows, colour, below, keep = band
                    _blend(interior[rows], colour, below)
                    alpha = alpha.copy()
                    alpha[rows] *= keep
            layers.append((drawn[..., :3], alpha))
        for colour, alpha in layers:
            _blend(interior, colour, alpha)


#: The photo's own upper interior ends where the photo's lower lip was, carried with the
#: skull; where what it shows there is the mouth's dark, that is lighter than the painted
#: cavity below it (a photo's shadowed slit against the painted throat) and the edge would be
#: a straight seam across the opening. There the layer fades out over its last
#: :data:`CONTINUE_UP` mouth widths (at most half its height) and its colour is carried on down
#: over :data:`CONTINUE_DOWN` mouth widths (at most half the way to the lower lip), one
#: smoothstep from the photo's tone to the painted one. Short: carried further, the photo's
#: grey reads as a lip across the opening (MediaPipe put the lower lip on it).
CONTINUE_UP, CONTINUE_DOWN = 0.04, 0.09
#: Only the photo's dark is blended so: what is darker than this share of the lips'
#: luminance, fading in below it over :data:`CONTINUED_DARK_RAMP` of it (teeth, and the lip
#: or skin at a smile's corners, keep their edge and are not drawn down into the cavity).
CONTINUED_DARK, CONTINUED_DARK_RAMP = 0.7, 0.2
#: What is carried down is softened along the row by this much (a Gaussian's sigma, mouth
#: widths): the dark between two teeth is not drawn down as a stripe.
CONTINUE_ALONG = 0.04


def _continued_down(
    drawn: np.ndarray, opening: np.ndarray, lip_light: float, width: float
) -> tuple[slice, np.ndarray, np.ndarray, np.ndarray] | None:
    """How the photo's upper interior as placed in a frame (``drawn``, (h, w, 4) RGBA) meets
    the painted ``opening`` ((h, w), soft) below its lowest shown row, where it is dark (see
    :data:`CONTINUED_DARK`; ``lip_light``: the lips' luminance): each column's colour just
    above that row, softened along the row over :data:`CONTINUE_ALONG` mouth widths
    (``width``, pixels), carried on down, and the layer faded out above it (see
    :data:`CONTINUE_UP`).

    Returns the rows of the band where they meet (a slice), and in it the colour carried down
    ((n, w, 3) float32), its opacity ((n, w) float32, 0 where nothing is carried) and what the
    layer's own opacity is multiplied by ((n, w) float32); None where nothing is blended."""
    h, w = opening.shape
    shown = drawn[..., 3] > 0.5
    in_opening = opening > 0.5
    top = np.argmax(shown, axis=0)
    bottom = h - 1 - np.argmax(shown[::-1], axis=0)
    lowest = h - 1 - np.argmax(in_opening[::-1], axis=0)
    has = shown.any(0) & in_opening.any(0) & (lowest > bottom + 1)
    if not has.any():
        return None
    columns = np.arange(w)
    # The middle of the three rows in from the layer's soft edge (not a stray pixel of the
    # photo's lip edge there).
    rows_in = drawn[np.maximum(bottom[None, :] - np.arange(1, 4)[:, None], 0), columns, :3]
    source = rows_in.sum(0) - rows_in.max(0) - rows_in.min(0)
    dark = np.clip((CONTINUED_DARK * lip_light - source.mean(1))
                   / (CONTINUED_DARK_RAMP * max(lip_light, 1.0)), 0.0, 1.0) * has  # fmt: skip
    if dark.max() <= 0:
        return None
    # Softened along the row, the colour over the dark columns only.
    sigma = max(1.0, CONTINUE_ALONG * width)

    def along(values: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(values.astype(np.float32)[None], (0, 0), sigma)[0]

    weight = along(dark)
    colour = along(source * dark[:, None]) / np.maximum(weight, 1e-3)[:, None]
    dark = np.minimum(weight, 1.0) * has
    up = np.minimum(CONTINUE_UP * width, 0.5 * (bottom - top + 1))
    down = np.minimum(CONTINUE_DOWN * width, 0.5 * (lowest - bottom))
    # Only the rows where the two meet.
    first = max(int(np.floor((bottom - up)[has].min())), 0)
    last = min(int(np.ceil((bottom + down)[has].max())) + 1, h)
    rows = np.arange(first, last, dtype=np.float32)[:, None]
    # One smoothstep from the layer's tone, up to ``up`` above its edge, to the painted one,
    # ``down`` below it.
    t = np.clip((rows - bottom + up) / np.maximum(up + down, 1.0), 0.0, 1.0)
    tone = 1 - t * t * (3 - 2 * t)
    below = rows > bottom
    carried = (tone * below * dark).astype(np.float32)
    keep = np.where(below, 1.0, 1 - dark * (1 - tone)).astype(np.float32)
    colour = np.broadcast_to(colour[None].astype(np.float32), (last - first, w, 3))
    return slice(first, last), colour, carried, keep


def _follow_lip(drawn: np.ndarray, placed: np.ndarray, posed: np.ndarray) -> np.ndarray:
    """``drawn`` (the photo's lower layer, moved with its lip by a similarity) shifted down
    each column, in place, by how far the lip's ``posed`` contour lies below where that
    similarity ``placed`` the photo's (both (n, 2), in ``drawn``'s pixels): a jaw that drops
    curves the lip's edge down in the middle, which no similarity follows, and the strip of
    the photo's lower lip carried there would float across the opening above it."""
    order = np.argsort(posed[:, 0])
    h, w = drawn.shape[:2]
    columns = np.arange(w, dtype=np.float32)
    drop = np.interp(columns, posed[order, 0], posed[order, 1] - placed[order, 1])
    if np.abs(drop).max() < 0.25:
        return drawn
    # Only the rows the layer shows, and as far as they are shifted (a thin strip in a box
    # reaching the whole opening).
    shown_rows = np.flatnonzero(drawn[..., 3].max(1) > 0)
    if shown_rows.size == 0:
        return drawn
    top = max(int(shown_rows[0] + np.floor(min(drop.min(), 0.0))) - 1, 0)
    bottom = min(int(shown_rows[-1] + np.ceil(max(drop.max(), 0.0))) + 2, h)
    map_x = np.empty((bottom - top, w), np.float32)
    map_x[:] = columns
    map_y = np.arange(top, bottom, dtype=np.float32)[:, None] - drop[None, :].astype(np.float32)
    # (Every row the layer shows lies in the window: the rest of ``drawn`` is clear already.)
    drawn[top:bottom] = cv2.remap(drawn, map_x, map_y, cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=(0,))  # fmt: skip
    return drawn


def _reach_up(patch: np.ndarray, alpha: np.ndarray, reach: float, bright: float) -> np.ndarray:
    """The photo's upper interior continued up under (and past) the upper lip's edge: an
    (h, w, 4) float32 RGBA layer, opaque from the top of the patch down to where the
    continued rows start in each column, clear below.

    Each column's teeth just below the lip (a few pixels down: the first rows mix in the
    lip's edge and its pink) are carried up to the top of the patch, shading a little toward
    the gums over ``reach`` pixels: a lip that lifts (a smile, a rounded vowel) uncovers more
    of the same teeth. Only teeth are carried (columns as bright as ``bright``, the teeth's
    luminance, fading out below half of it): toward the corners, where the photo shows lip
    and shadow, a lifted lip uncovers the mouth's dark, not streaks of lip drawn upward.
    """
    shown = alpha > 0.5
    has = shown.any(0)
    top = np.argmax(shown, axis=0)
    # How far down each column's interior goes before the lower layer takes over.
    bottom = shown.shape[0] - 1 - np.argmax(shown[::-1], axis=0)
    below_edge = max(2, round(0.2 * reach))
    source_row = np.minimum(top + below_edge, (top + bottom) // 2)
    rows = np.arange(patch.shape[0])[:, None]
    above = has[None, :] & (rows < source_row[None, :])
    columns = np.arange(patch.shape[1])
    # Softened along the row: the teeth's seams stay, the pixels' noise is not drawn out
    # into streaks.
    carried = cv2.GaussianBlur(patch[source_row, columns][None], (0, 0), 1.0)
    carried = carried.repeat(patch.shape[0], 0)
    toward_gums = np.clip((source_row[None, :] - rows) / max(reach, 1.0), 0.0, 1.0)
    teeth = np.clip((carried.mean(2) - 0.5 * bright) / (0.25 * bright), 0.0, 1.0)
    carried *= (1.0 - 0.15 * toward_gums)[..., None]
    return np.dstack([carried, above * teeth]).astype(np.float32)


def _tooth_pixels(patch: np.ndarray, lips: np.ndarray) -> np.ndarray:
    """Which pixels of ``patch`` ((h, w, 3) RGB, 0-255) look like teeth beside lips of the
    colour ``lips`` (RGB): (h, w) bool.

    Teeth are told by colour against the lips, not by brightness against the skin: inside the
    mouth they lie in the lips' shade, often darker than the lit cheeks (a grey row under a
    lipsticked lip; a painting's teeth in its brown shadows), but they are far less red than
    the lips (and the gums and tongue), and lighter than the dark between them. Under a warm
    grade everything is redder, the lips too, so redness is measured against theirs."""
    lab = _lab(patch.reshape(-1, 3)).reshape(patch.shape)
    lips_l, lips_a, lips_b = _lab(lips[None])[0]
    # (In a grey photo nothing is redder than anything: there, teeth are lighter than the lips,
    # and the mouth's dark is not.)
    grey = math.hypot(lips_a, lips_b) < GREY_LIPS_CHROMA
    light = lab[..., 0] >= (1.0 if grey else TOOTH_LIGHT_OVER_LIPS) * lips_l
    redness_limit = TOOTH_REDNESS_OVER_LIPS * max(lips_a, 0.0) / max(lips_l, 1.0)
    pale = lab[..., 1] <= redness_limit * lab[..., 0] + TOOTH_REDNESS_SLACK
    return light & pale


def _teeth_colour(
    patch: np.ndarray, luma: np.ndarray, shown: np.ndarray, tooth: np.ndarray
) -> np.ndarray:
    """The colour of the teeth in ``patch`` ((h, w, 3)): the median of the lighter half of its
    ``tooth`` pixels (their lit faces, not the seams and the lips' shadow on them); of the
    brightest 30% of the ``shown`` pixels where none is a tooth. ``luma``: the patch's, (h, w)."""
    if tooth.sum() >= 2:
        lit = tooth & (luma >= np.median(luma[tooth]))
        return np.median(patch[lit], axis=0)
    return np.median(patch[shown & (luma >= np.percentile(luma[shown], 70))], axis=0)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) RGB (0-255) as (N, 3) float32 CIE Lab: L 0-100, a* and b* signed (0: grey)."""
    scaled = np.clip(rgb, 0, 255).astype(np.float32).reshape(-1, 1, 3) / 255
    return cv2.cvtColor(scaled, cv2.COLOR_RGB2LAB).reshape(-1, 3)


#: Eye whites sampled darker than this share of the cheeks' lightness (Lab L) are in deep
#: shade or not whites at all (lids, lashes, skin): they do not tell the teeth's colour.
SCLERA_MIN_LIGHT_OVER_SKIN = 0.7
#: Nor do eye whites redder (Lab a*) than the skin, and than this: bloodshot, or skin.
SCLERA_MAX_REDNESS = 5.0


def _sclera_colour(image: np.ndarray, lm: np.ndarray, skin: np.ndarray) -> np.ndarray | None:
    """The whites of the eyes: both eye openings off the irises, the median colour of their
    whitest quarter (the highest of the three channels' least: white, not merely bright, so
    not the lit skin of a lid); None when the eyes show too little (shut, tiny) or what they
    show is no white beside the cheeks' ``skin`` (RGB): much darker, or redder."""
    pixels = []
    for upper, lower, iris in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, 468),
                               (LEFT_EYE_UPPER, LEFT_EYE_LOWER, 473)):  # fmt: skip
        eye = outline(lm, upper, lower)
        x0, y0 = np.floor(eye.min(0)).astype(int)
        x1, y1 = np.ceil(eye.max(0)).astype(int) + 1
        x0, y0 = max(x0, 0), max(y0, 0)
        opening = polygon_mask((y1 - y0, x1 - x0), eye - [x0, y0], soft=False)
        radius = np.mean(np.linalg.norm(lm[iris + 1 : iris + 5, :2] - lm[iris, :2], axis=1))
        ys, xs = np.mgrid[y0:y1, x0:x1]
        off_iris = (xs - lm[iris, 0]) ** 2 + (ys - lm[iris, 1]) ** 2 > (1.15 * radius) ** 2
        pixels.append(image[y0:y1, x0:x1][opening & off_iris])
    shown = np.concatenate(pixels)
    if len(shown) < 40:
        return None
    whiteness = shown.min(1)
    sclera = np.median(shown[whiteness >= np.percentile(whiteness, 75)], axis=0)
    (sclera_l, sclera_a, _), (skin_l, skin_a, _) = _lab(np.array([sclera, skin]))
    if sclera_l < SCLERA_MIN_LIGHT_OVER_SKIN * skin_l:
        return None
    if sclera_a > max(skin_a, SCLERA_MAX_REDNESS):
        return None
    return sclera


#: The teeth's colour when neither the photo's teeth nor its eye whites tell it: ivory (Lab
#: a*, b*, about 2 and 9 for skin of the usual a* 15, b* 18), taking this share of the skin's
#: a* and b* (so a grey photo gets grey teeth, a warm one warm), as light as the cheeks.
IVORY_SKIN_A, IVORY_SKIN_B, IVORY_MAX_LIGHT = 0.15, 0.5, 90.0


def _ivory_in_light_of(skin: np.ndarray) -> np.ndarray:
    """Ivory teeth (RGB, 0-255) lit as the cheeks (``skin``, RGB) are: their lightness, and a
    share of their colour cast."""
    skin_l, skin_a, skin_b = _lab(skin[None])[0]
    lab = np.array([[[min(skin_l, IVORY_MAX_LIGHT), IVORY_SKIN_A * skin_a,
                      IVORY_SKIN_B * skin_b]]], np.float32)  # fmt: skip
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)[0, 0].astype(np.float64) * 255


#: Painted teeth are at most this share as colourful (Lab chroma) as the cheeks: whiter than
#: the skin under any light, so under a strong cast (a painting's yellow varnish, whose eye
#: whites read as saturated as her skin) they take the cast, paler, not an orange of its own.
TEETH_CHROMA_OVER_SKIN = 0.75


def _paler_than(colour: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """``colour`` (RGB, 0-255) with its Lab chroma brought down to
    :data:`TEETH_CHROMA_OVER_SKIN` of ``skin``'s (RGB) where it is more (by over half a unit:
    a grey, to float precision, is left as it is), its lightness and hue kept; unchanged
    otherwise."""
    (light, a, b), (_, skin_a, skin_b) = _lab(np.array([colour, skin]))
    chroma, most = math.hypot(a, b), TEETH_CHROMA_OVER_SKIN * math.hypot(skin_a, skin_b)
    if chroma <= most + 0.5:
        return colour
    scale = most / chroma
    lab = np.array([[[light, a * scale, b * scale]]], np.float32)
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)[0, 0].astype(np.float64) * 255


def _not_cool(colour: np.ndarray) -> np.ndarray:
    """``colour`` (RGB, 0-255) with no blue or green cast (Lab a* and b* raised to 0, its
    lightness kept); unchanged when it has none (within half a unit). Eye whites in shade or
    under a cool grade read bluish where teeth do not: painted in that colour, a row of teeth
    is a cyan band."""
    rgb = np.clip(colour, 0, 255).astype(np.float32)[None, None] / 255
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    if lab[0, 0, 1] >= -0.5 and lab[0, 0, 2] >= -0.5:
        return colour  # (a grey, to float precision, is left as it is)
    lab[0, 0, 1:] = np.maximum(lab[0, 0, 1:], 0.0)
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)[0, 0] * 255


def _sorted_xy(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(points[:, 0])
    return points[order, 0], points[order, 1]


def _similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares rotation, scale and shift taking ``source`` (N, 2) to ``target``: (2, 3)."""
    n = len(source)
    a = np.zeros((2 * n, 4))
    a[0::2] = np.stack([source[:, 0], -source[:, 1], np.ones(n), np.zeros(n)], 1)
    a[1::2] = np.stack([source[:, 1], source[:, 0], np.zeros(n), np.ones(n)], 1)
    (c, d, tx, ty), *_ = np.linalg.lstsq(a, target[:, :2].reshape(-1), rcond=None)
    return np.array([[c, -d, tx], [d, c, ty]])


def face_pixels(portrait: Portrait, rig: FaceRig) -> float:
    """The face's height (its outline's, brow to chin) in the photo's own pixels."""
    return rig.face_height * float(portrait.crop.side) / portrait.size


def blur_sigma(portrait: Portrait) -> float:
    """How soft the working crop is, as a Gaussian's sigma in crop pixels: 0 for a crop
    taken at or below the photo's own resolution; for a crop upsampled from fewer photo
    pixels, about half a photo pixel's footprint."""
    upsampled = portrait.size / max(float(portrait.crop.side), 1.0)
    return float(max(0.0, 0.45 * (upsampled - 1.0)))


def smooth_outline(
    points: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...], per_segment: int = 6
) -> np.ndarray:
    """A closed lip outline as a smooth curve, (N, 2): each contour's landmarks joined by a
    centripetal Catmull-Rom spline (no polygon corners, no overshoot), upper then lower back."""
    # Every segment of both contours in compiled loops (the curve is drawn each frame the mouth
    # opens), with the same arithmetic as one segment at a time, so the same points; but each
    # step's length rounded as np.linalg.norm rounds it (a product of a 1 x 2 by a 2 x 1 matrix,
    # as its dot product; a sum of squares rounds differently), and its square root taken by
    # C's pow, as a scalar's ** 0.5 (NumPy's array power differs).
    contours = _contours(upper, lower)
    points = np.asarray(points, np.float64)
    steps = paint_kernels.outline_steps(points, contours)
    lengths = np.sqrt((steps[:, None, :] @ steps[:, :, None]).reshape(-1))
    return paint_kernels.outline_curve(points, contours, lengths, 0.5, per_segment)


def rounded_outline(outline: np.ndarray, upper_count: int, width: float) -> np.ndarray:
    """:func:`smooth_outline`'s ``outline`` (a contour of ``upper_count`` landmarks, then one
    back) with each lip's edge resampled evenly along its length and smoothed along it by
    ``2 G - G G`` (G: a Gaussian of :data:`LIP_EDGE_SMOOTHING` mouth widths, ``width``
    pixels), its ends (the mouth's corners) held: the same number of points, in the same
    order (see :func:`gioconda.render.paint_kernels.rounded_curve`).

    The landmarks of an open mouth lie in near-straight runs (the jaw drags the lower lip's
    middle down as one and its sides follow at an angle), so a curve through them is a
    polygon with rounded vertices; the lip's edge is smooth. The twice smoothed taken from
    twice the once smoothed rounds the runs' corners off as the Gaussian does, but leaves a
    curved run in its place (a Gaussian alone draws it in, and so shuts a rounded vowel's
    opening a little)."""
    sigma = LIP_EDGE_SMOOTHING * width
    per = (len(outline) // 2 - 1) // (upper_count - 1)
    split = (upper_count - 1) * per + 1
    return paint_kernels.rounded_outline(outline, split, sigma)


def carry_lip_in(
    patch: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, strength: float
) -> None:
    """Carry the lips in (``patch``, (h, w, 3) uint8, in place) over the pixels inside their
    landmarks' outline (``landmarks``, in the patch's pixels) that the painted opening
    (``mask``, soft) leaves uncovered, by ``strength``: each takes the lip just past the
    outline's edge in its column (see :func:`gioconda.render.paint_kernels.carry_lip_in`)."""
    between = polygon_mask(patch.shape[:2], landmarks, soft=False)
    paint_kernels.carry_lip_in(patch, between, mask, strength)


def soften_corners(
    frame_rgb: np.ndarray,
    corners: np.ndarray,
    lips: np.ndarray,
    width: float,
    strength: float,
) -> None:
    """Smooth the open mouth's ``corners`` ((2, 2) pixels) in ``frame_rgb`` (in place), by
    ``strength``, on the lips (inside their outer outline ``lips``, (N, 2) pixels): within
    :data:`CORNER_SOFTENING` mouth widths (``width``, pixels) of each corner, fading out toward
    that distance, a blur of :data:`CORNER_SOFTENING_SIGMA` (see
    :func:`gioconda.render.paint_kernels.soften_corner`).

    Where the lips part the warp stretches the photo's dark corner crease (a smile's in
    particular) over a few pixels of lip, its triangles leaving a frayed, stair-stepped rim
    around the painted corner; a real mouth's corner is a soft shadow. The skin beside it
    keeps its grain (stubble blurred there is a smudge)."""
    reach = CORNER_SOFTENING * width
    sigma = max(CORNER_SOFTENING_SIGMA * width, 0.5)
    paint_kernels.soften_corners(frame_rgb, corners, reach, sigma, lips, strength)


@functools.cache
def _contours(upper: tuple[int, ...], lower: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(upper, np.int64), np.array(lower, np.int64)


def _interior_scalars(width: float) -> tuple[np.float32, ...]:
    """The painted interior's lengths (for a mouth ``width`` pixels wide) and constants, as
    float32 (as NumPy rounded them in float32 arithmetic), in the order
    :func:`gioconda.render.paint_kernels.mouth_interior` unpacks them."""
    values = (
        1 - CORNER_SHADE, CORNER_SHADE, INNER_LIP_RIM * width, INNER_LIP_RIM_ALPHA,
        TONGUE_EDGE * width, TONGUE_HALF_WIDTH, TONGUE_SHADING * width, TONGUE_TOP_SHADE,
        1 - TONGUE_TOP_SHADE, TONGUE_ALPHA, TEETH_CORNER_SHADE, LOWER_TEETH_CORNER_DROP,
        EMBRASURE * width, LOWER_TEETH_EDGE * width, LOWER_TEETH_HALF_WIDTH, LOWER_TEETH_END,
        LOWER_TEETH_SHADE, TOOTH_ROUNDING, TOOTH_SEAM,
        TEETH_TOP_ABOVE_LIP * width, UPPER_TOOTH_HEIGHT * width, UPPER_TEETH_CORNER_DROP,
        UPPER_TEETH_EDGE * width, UPPER_TEETH_HALF_WIDTH, UPPER_TEETH_END,
        LIP_SHADOW_REACH * width, 1 - LIP_SHADOW, LIP_SHADOW, TOOTH_EDGE_REACH * width,
        TOOTH_EDGE_DARKENING, THROAT_REACH * width, THROAT_DARK, UNDER_TEETH_REACH * width,
        UNDER_TEETH_DARK, LOWER_TEETH_LIGHT, TONGUE_FRONT_REACH * width, TONGUE_FRONT_DARK,
    )  # fmt: skip
    return tuple(np.float32(v) for v in values)
