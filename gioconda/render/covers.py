"""What closing lips hide: the photo's teeth, painted out from around them, which a frame fades
toward as the lips close; and the photo with what stands in front of the eyes painted out."""

from __future__ import annotations

import zlib

import cv2
import numpy as np

from gioconda.face.topology import (
    INNER_MOUTH_CORNERS,
    LEFT_BROW_LOWER,
    LEFT_BROW_UPPER,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    MOUTH_CORNERS,
    RIGHT_BROW_LOWER,
    RIGHT_BROW_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    mouth_width,
)
from gioconda.render.cv2_typing import NO_ARRAY
from gioconda.render.grain import skin_grain
from gioconda.render.occluders import EyeOccluders
from gioconda.render.regions import disc, outline, polygon_mask
from gioconda.render.source_map import SourceMap

#: How far a closed lid paints out past the eye's outline, in eye widths.
EYE_COVER_GROWTH = 0.1
#: The blur, in eye widths, of the colour a painted-out rim's place takes from the skin around
#: (its grain is added back: :func:`gioconda.render.grain.skin_grain`).
COLOUR_SIGMA = 0.05
#: Over how many pixels a painted-out rim's fill fades from the photo's colour at its edge to
#: that of the bare skin around.
EDGE_BLEND = 2.0
#: Where a painted-out thick rim's fill meets the eye (its lashes, or the rim's own run
#: through the eye's margin), its edge is eased into the photo beside it over a Gaussian of
#: this sigma (pixels): see :func:`_eased_into_eye`.
EYE_EDGE_SIGMA = 1.0
#: How far from the fill's colour (grey levels, mean of the channels) a photo pixel bordering
#: it may be and still be matched (skin in shade or light; not a rim's edge or a glint).
EDGE_MOST = 30.0
#: Along the rows (pixels), how much the brow's shadow filled from above by the eye is smoothed.
SHADE_SMOOTH = 1.5
#: Over the upper lid (up to this far above the eye, eye widths, and off the brow) a rim's
#: place is filled in the colour of the lid's own skin seen there through the lens, not in
#: the bare skin's further out: a hooded lid under the brow and the lens is darker (on the
#: man in glasses Lab L 35 against 50 to 60 for the cheek and temple), and a shut lid drawn
#: down from a fill in the bare skin's colour read as a pale patch with a hard edge.
LID_REACH = 0.4
#: The lid's skin is what in that band is within this much (Lab L, 0-100) of the median of
#: the band clear of the rim: not the rim, the lens's dark inner edge or the lashes
#: (darker), nor the rim's glint.
LID_SPREAD = 12.0
#: ... and within this much of its colour (Lab a and b as OpenCV has them, the distance
#: between them): a rim's grey metal edge, the lens's inner edge and the iris's top seen
#: through it are as light as a shaded lid (on the man in glasses Lab L 30-45 against his
#: lid's 34) but grey (a and b 1-8 against 12-17), and taken for its skin they made the fill
#: a blink draws down greyer: a grey veil over the shut lid.
LID_HUE_SPREAD = 6.0
#: The lid's colour is its skin's, averaged over this many eye widths (a Gaussian's sigma):
#: the lid's shading, not the detail between the rim's lines (its grain is tiled in).
LID_COLOUR_SIGMA = 0.15
#: At least this much (eye widths squared) of the lid's band must be clear of the rim for
#: its colour to be read.
LID_LEAST = 0.01
#: The lid's colour is taken whole where at least this share of the pixels around (over
#: :data:`LID_COLOUR_SIGMA`) is its skin, less where fewer are.
LID_DENSE = 0.1
#: Corners need at least this much dark pocket (mouth widths squared, both together) to be
#: covered: the man in the fur hat and the dark-skinned man with a beard have several times
#: that; the few dark pixels by the Mona Lisa's and the astronaut's corners leave nothing
#: behind to see, and their frames stay as they were.
CORNER_LEAST = 0.02
#: A cover's pixels in the frame are looked for on every this many pixels of the map first
#: (:meth:`Cover.apply`), and the box found widened by the margin (pixels).
SEARCH_STEP, SEARCH_MARGIN = 4, 12
#: Around each mouth corner (the midpoint of its inner and outer landmark), how far a smile's
#: dark pocket is looked for, in mouth widths.
CORNER_REACH = 0.12
#: A corner's pixel is its pocket's shadow where it is darker (grey) than this share of the
#: lips' own median grey: the black pocket of a smile (grey 2 to 20 on the man in the fur
#: hat against lips about 120), not the lip, nor a dark skin or beard around (darker skin has
#: darker lips).
CORNER_DARK = 0.5


class Cover:
    """A region of the photo that motion can close over (an eye, an open mouth).

    Holds a copy of the photo with the region painted out from its surroundings; where the
    region shows in a frame, the frame fades toward that copy as the region closes, so a
    shut eye shows eyelid, not a squeezed iris, and pressed lips show lip, not teeth.
    """

    def __init__(
        self,
        photo: np.ndarray,
        outline: np.ndarray,
        grow: int = 1,
        within: np.ndarray | None = None,
    ) -> None:
        size = photo.shape[0]
        lo = np.floor(outline.min(0)).astype(int) - 6 - 2 * grow
        hi = np.ceil(outline.max(0)).astype(int) + 7 + 2 * grow
        self._lo = np.clip(lo, 0, size - 1)
        self._hi = np.clip(hi, 1, size)
        x0, y0 = self._lo
        x1, y1 = self._hi
        patch = photo[y0:y1, x0:x1]
        hole: np.ndarray = np.zeros(patch.shape[:2], np.uint8)
        cv2.fillPoly(hole, [np.round(outline - self._lo).astype(np.int32)], (1,))
        if within is not None:
            # Only what ``within`` (bool, the photo's size) marks inside the outline.
            hole &= within[y0:y1, x0:x1].astype(np.uint8)
        hole = cv2.dilate(hole, disc(grow))
        self._region = np.zeros((size, size), np.float32)
        self._filled = photo.astype(np.float32).copy()
        if hole.sum() == 0:
            self._empty = True
            return
        self._empty = False
        self._filled[y0:y1, x0:x1] = cv2.inpaint(patch, hole, 3, cv2.INPAINT_TELEA)
        self._region[y0:y1, x0:x1] = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), 1.0)

    @property
    def empty(self) -> bool:
        """Whether the region holds no pixel (fading toward it changes nothing)."""
        return self._empty

    def apply(self, frame: np.ndarray, backward: SourceMap, amount: float) -> None:
        """Fade ``frame`` (uint8, in place) toward the painted-out copy by ``amount``."""
        if amount <= 0.02 or self._empty:
            return
        # Output pixels whose source lies in the region: find them near where it went. Past
        # the map's window each pixel is its own source: where the region reaches there (never
        # seen: the lips lie deep inside it) the whole frame is looked at.
        x0, y0 = self._lo
        x1, y1 = self._hi
        wy0, wy1, wx0, wx1 = backward.window
        if wx0 <= x0 and x1 <= wx1 and wy0 <= y0 and y1 <= wy1:
            sources, (oy, ox) = backward.padded, (wy0, wx0)
            shift = backward.pad
        else:
            sources, (oy, ox), shift = backward.full(), (0, 0), 0.0
        # Looked for on every SEARCH_STEP-th pixel, the box then widened by SEARCH_MARGIN (the
        # map moves a pixel by far less than that over a step), and over every pixel only
        # where that finds nothing: a box larger than the region changes nothing (its weight
        # is 0 there), and the full search cost 0.7 ms a frame for a mouth's corners.
        for step in (SEARCH_STEP, 1):
            grid = sources[::step, ::step]
            inside = (
                (grid[..., 0] >= x0 + shift) & (grid[..., 0] < x1 + shift)
                & (grid[..., 1] >= y0 + shift) & (grid[..., 1] < y1 + shift)
            )  # fmt: skip
            rows = np.flatnonzero(inside.any(1))
            cols = np.flatnonzero(inside.any(0))
            if len(rows):
                break
        else:
            return
        margin = SEARCH_MARGIN if step > 1 else 0
        height, width = sources.shape[:2]
        r0 = max(rows[0] * step - margin, 0) + oy
        r1 = min(rows[-1] * step + 1 + margin, height) + oy
        c0 = max(cols[0] * step - margin, 0) + ox
        c1 = min(cols[-1] * step + 1 + margin, width) + ox
        where = backward.box(r0, r1, c0, c1)
        weight = cv2.remap(self._region, where, NO_ARRAY, cv2.INTER_LINEAR) * min(amount, 1.0)
        filled = cv2.remap(self._filled, where, NO_ARRAY, cv2.INTER_LINEAR)
        patch = frame[r0:r1, c0:c1].astype(np.float32)
        w = weight[..., None]
        frame[r0:r1, c0:c1] = np.clip(patch * (1 - w) + filled * w + 0.5, 0, 255)


def eye_cover_growth(eye: np.ndarray) -> int:
    """How far past the eye's landmarks a closed lid paints the eye out, pixels: the
    landmarks sit inside the lash line, and a dark margin left around them (heavy in a
    painting or a stylized photo) reads as an open eye."""
    width = float(np.ptp(eye[:, 0]))
    return max(1, round(EYE_COVER_GROWTH * width))


def eye_outlines(neutral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The right and the left eye's outlines at rest, (N, 2) pixels each."""
    return (
        outline(neutral, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER),
        outline(neutral, LEFT_EYE_UPPER, LEFT_EYE_LOWER),
    )


def paint_out_occluders(
    source: np.ndarray, pad: int, neutral: np.ndarray, occluders: EyeOccluders
) -> None:
    """Paint what stands in front of the eyes out of the warp's ``source`` (the photo padded by
    ``pad`` pixels on each side), in place. What lies behind a rim is lid skin: its colour is
    filled from the skin around, with the eyes and their lashes (a margin of four cover
    growths) painted out first, so that they do not darken it; its grain is tiled in from the
    bare skin nearby (:func:`gioconda.render.grain.skin_grain`), so that a closing lid that
    drags it down reads as skin, not as a flat patch."""
    size = source.shape[0] - 2 * pad
    eyes: np.ndarray = np.zeros((size, size), np.uint8)
    lashes = np.zeros_like(eyes)
    # (the same, by the eyes a thick rim stands in front of: see :func:`_eased_into_eye`)
    behind_thick = np.zeros_like(eyes)
    widths = []
    for eye, thin in zip(eye_outlines(neutral), occluders.thin, strict=True):
        growth = eye_cover_growth(eye)
        # Drawn and grown in a window around the eye only (a large disc over the whole frame
        # costs a third of a second at 1024 pixels).
        x0, y0 = np.maximum(np.floor(eye.min(0)).astype(int) - 4 * growth - 1, 0)
        x1, y1 = np.minimum(np.ceil(eye.max(0)).astype(int) + 4 * growth + 2, size)
        one = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(one, [np.round(eye - [x0, y0]).astype(np.int32)], (1,))
        eyes[y0:y1, x0:x1] |= cv2.dilate(one, disc(4 * growth))
        lashes[y0:y1, x0:x1] |= cv2.dilate(one, disc(2 * growth))
        if not thin and occluders.mask[y0:y1, x0:x1].any():  # (thin False: or nothing)
            behind_thick[y0:y1, x0:x1] |= cv2.dilate(one, disc(2 * growth))
        widths.append(float(np.ptp(eye[:, 0])))
    photo = source[pad : pad + size, pad : pad + size]
    # The same photo always gets the same grain: the seed is the photo's own.
    seed = zlib.crc32(np.ascontiguousarray(photo[::7, ::7]).tobytes())
    bare = occluders.bare & ~occluders.mask
    width = max(widths)
    lid_zone, lid_skin = _upper_lid_band(photo, neutral, occluders.mask, occluders.thin)
    for x0, y0, x1, y1 in occluders.boxes:
        box = (slice(y0 + pad, y1 + pad), slice(x0 + pad, x1 + pad))
        occluded = occluders.mask[y0:y1, x0:x1]
        patch = np.ascontiguousarray(source[box])
        skin = bare[y0:y1, x0:x1]
        if skin.sum() < 0.1 * occluded.sum():
            # Too little bare skin to take colour and grain from: the fill of the skin around.
            without_eyes = cv2.inpaint(patch, eyes[y0:y1, x0:x1], 3, cv2.INPAINT_TELEA)
            filled = cv2.inpaint(without_eyes, occluded.astype(np.uint8), 3, cv2.INPAINT_TELEA)
            patch[occluded] = filled[occluded]
            source[box] = patch
            continue
        # Its colour from the bare skin alone (not the brow's hair, the lashes or the rim's
        # soft edge), smoothed of the streaks that inpainting draws in from the edge; its grain
        # tiled in from that skin.
        filled = cv2.inpaint(patch, (~skin).astype(np.uint8), 3, cv2.INPAINT_TELEA)
        smooth: np.ndarray = cv2.GaussianBlur(filled.astype(np.float32), (0, 0),
                                              COLOUR_SIGMA * width)  # fmt: skip
        lid = lid_skin[y0:y1, x0:x1]
        if lid.any():
            smooth = _in_lid_colour(patch, smooth, lid_zone[y0:y1, x0:x1], lid, width)
        smooth = smooth + _edge_match(patch, smooth, occluded, lashes[y0:y1, x0:x1] > 0)
        grain = skin_grain(patch, occluded, skin, width, seed)
        painted = _eased_into_eye(patch, smooth + grain, occluded, behind_thick[y0:y1, x0:x1] > 0)
        patch[occluded] = np.clip(painted + 0.5, 0, 255).astype(np.uint8)[occluded]
        source[box] = patch
    if occluders.soft.any() or occluders.keep.any():
        # Beside and through the brow the rim is thin and what is behind it is brow or its
        # shadow, not bare skin: filled from its neighbours (brow above, lid below, the skin
        # filled in along the rest of the rim), and matted, so that the brow moving under
        # it stays whole. Twice: filled again from the pixels the first matte found bare of
        # rim (the brow's hair right beside the rim, not past the rim's margin).
        original = occluders.photo
        behind = photo.copy()
        # (Beside it, the brow grown over is not painted out: the rim is filled from it.)
        behind[occluders.keep] = original[occluders.keep]
        hole = occluders.soft
        for _ in range(2):
            for x0, y0, x1, y1 in occluders.boxes:
                here = hole[y0:y1, x0:x1].astype(np.uint8)
                if here.any():
                    behind[y0:y1, x0:x1] = cv2.inpaint(behind[y0:y1, x0:x1], here, 2,
                                                       cv2.INPAINT_TELEA)  # fmt: skip
            behind = occluders.matte(behind)
            hole = occluders.soft & (behind != original).any(-1)
        # The brow's shadow by the eye, painted out, is filled from what lies above it at its
        # top (raised with the brow, it shows above the rim as shadow, not as a pale streak)
        # and is the skin fill at its bottom: at a blink the lid is drawn down from it, and
        # shut it must be lid skin, not the shadow's colour or islands of either.
        skin = photo  # (the bare-skin fill of every masked pixel, from the first pass)
        for x0, y0, x1, y1 in occluders.boxes:
            here = occluders.shade[y0:y1, x0:x1]
            if here.any():
                cols = here.any(0)
                rows = np.arange(here.shape[0])[:, None]
                first = np.where(cols, here.argmax(0), here.shape[0])
                last = np.where(cols, here.shape[0] - 1 - here[::-1].argmax(0), 0)
                hole = (rows >= first[None, :]) & cols[None, :]
                filled = cv2.inpaint(behind[y0:y1, x0:x1], hole.astype(np.uint8), 3,
                                     cv2.INPAINT_TELEA).astype(np.float32)  # fmt: skip
                # (Filled from above, a column is one colour down the hole: smoothed along
                # the rows, not drawn as stripes down the shut lid.)
                filled = cv2.GaussianBlur(filled, (0, 0), sigmaX=SHADE_SMOOTH, sigmaY=1e-3)
                t = np.clip(
                    (rows - first[None, :] + 0.5) / np.maximum(last - first + 1, 1)[None, :],
                    0.0,
                    1.0,
                )
                w = (t * t * (3 - 2 * t))[..., None]
                lid = skin[y0:y1, x0:x1].astype(np.float32)
                # The shadow takes the skin fill's grain too: a shut lid drawn from it is skin.
                grain = lid - cv2.GaussianBlur(lid, (0, 0), SHADE_SMOOTH)
                mixed = (1 - w) * (filled + grain) + w * lid
                behind[y0:y1, x0:x1][here] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)[here]
        photo[...] = behind


def _upper_lid_band(
    photo: np.ndarray, neutral: np.ndarray, mask: np.ndarray, thin: tuple[bool, bool]
) -> tuple[np.ndarray, np.ndarray]:
    """The upper lids' band and where the photo shows their skin in it, (S, S) bool each: the
    band above each eye (up to :data:`LID_REACH` eye widths, from just past its lash line)
    and off the brows, whatever stands in front of it (``mask``: what does); its skin, what
    is within :data:`LID_SPREAD` of the lightness of the band off the mask (not a rim, the
    lashes, a glint). Behind a thick rim (``thin`` False, right and left, and something in
    front) the lid is hidden whole and its lightness and hue are read from what the lens
    shows beside the eye, below the rim, only: the skin above the rim is the lit brow ridge
    (on the eval's drawn-on glasses, whose face is known without them, the lid under the rim
    Lab L 57 and 50 against 68 to 70 above the rim and 64 to 74 for the bare skin's fill;
    read inside the lens, the fill there is 68 and 61)."""
    size = photo.shape[0]
    zone = np.zeros((size, size), bool)
    band = np.zeros((size, size), bool)
    lab = cv2.cvtColor(photo, cv2.COLOR_RGB2LAB).astype(np.float32)
    lightness = lab[..., 0] / 2.55
    brows = (
        outline(neutral, RIGHT_BROW_UPPER, RIGHT_BROW_LOWER),
        outline(neutral, LEFT_BROW_UPPER, LEFT_BROW_LOWER),
    )
    for eye, brow, behind_thin_rim in zip(eye_outlines(neutral), brows, thin, strict=True):
        width = float(np.ptp(eye[:, 0]))
        reach = max(1, round(LID_REACH * width))
        x0, y0 = np.maximum(np.floor(eye.min(0)).astype(int) - reach - 1, 0)
        x1, y1 = np.minimum(np.ceil(eye.max(0)).astype(int) + reach + 2, size)
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        opening = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(opening, [np.round(eye - [x0, y0]).astype(np.int32)], (1,))
        near = cv2.dilate(opening, disc(reach)) > 0
        lashes = cv2.dilate(opening, disc(eye_cover_growth(eye))) > 0
        # (The brow's own outline: its hull reaches down over the lid where the brow's inner
        # end runs down toward the nose.)
        brow_hair = np.zeros_like(opening)
        cv2.fillPoly(brow_hair, [np.round(brow - [x0, y0]).astype(np.int32)], (1,))
        rows = np.arange(y1 - y0)[:, None]
        above = rows < float(eye[:, 1].mean()) - y0
        here = near & ~lashes & (brow_hair == 0) & above
        if not here.any():
            continue
        zone[y0:y1, x0:x1] |= here
        light = lightness[y0:y1, x0:x1]
        # The lid's lightness is read where nothing stands in front of it (beside the rim
        # and in the brow's shade over it); under the rim's mask the lid between its lines
        # is as light as that, and the rim, its dark inner edge and its glint are not.
        clear = here & ~mask[y0:y1, x0:x1]
        covered = mask[y0:y1, x0:x1] & here
        if not behind_thin_rim:
            if not covered.any():
                continue  # (nothing stands in front of this eye)
            # A thick rim hides the lid behind it whole: the lid's lightness and hue are
            # read inside the lens only (below the rim in each column), beside the eye;
            # above the rim is the lit brow ridge. (The band itself is what is as light
            # and as coloured anywhere over the lid: kept to below the rim too, the shut
            # lids read 4-5 dE further from the same face without the glasses.)
            last = np.where(covered.any(0), covered.shape[0] - 1 - covered[::-1].argmax(0), -1)
            clear &= rows > last[None, :]
        if clear.sum() < max(LID_LEAST * width * width, 4):
            continue
        # (and as coloured as it: see :data:`LID_HUE_SPREAD`)
        colour = lab[y0:y1, x0:x1, 1:]
        hue = np.linalg.norm(colour - np.median(colour[clear], axis=0), axis=-1)
        as_light = np.abs(light - np.median(light[clear])) < LID_SPREAD
        band[y0:y1, x0:x1] |= here & as_light & (hue < LID_HUE_SPREAD)
    return zone, band


def _in_lid_colour(
    patch: np.ndarray, fill: np.ndarray, zone: np.ndarray, lid: np.ndarray, width: float
) -> np.ndarray:
    """``fill`` (float32, the bare skin's colour) turned, over the upper lid's ``zone``
    (bool), to the colour of its skin ``lid`` (bool) averaged over :data:`LID_COLOUR_SIGMA`
    eye widths; unchanged away from it, easing over as many."""
    sigma = max(1.0, LID_COLOUR_SIGMA * width)
    weight = cv2.GaussianBlur(lid.astype(np.float32), (0, 0), sigma)
    colour = cv2.GaussianBlur(patch.astype(np.float32) * lid[..., None], (0, 0), sigma)
    colour /= np.maximum(weight, 1e-6)[..., None]
    # (Full over the zone, easing out past its edge, and where the lid's skin thins out
    # around: its colour there is read from too few pixels.)
    share = np.clip(2.0 * cv2.GaussianBlur(zone.astype(np.float32), (0, 0), sigma), 0.0, 1.0)
    share *= np.clip(weight / LID_DENSE, 0.0, 1.0)
    return (fill * (1 - share[..., None]) + colour * share[..., None]).astype(np.float32)


def _eased_into_eye(
    patch: np.ndarray, fill: np.ndarray, hole: np.ndarray, eye: np.ndarray
) -> np.ndarray:
    """``fill`` (float32, the ``hole``'s new colour) with its edge against the eye (``eye``,
    bool: the eye and its lashes, where the fill is not matched to the photo, see
    :func:`_edge_match`) eased into the photo ``patch`` there as an anti-aliased edge would
    be: each pixel along it takes the photo's colour beside it by the share of its
    neighbourhood (a Gaussian of :data:`EYE_EDGE_SIGMA` pixels) that lies off the hole.

    The hole's outline is a staircase of pixels; against skin the fill is matched to the
    photo and the steps do not show, but against the lashes, or the rim's own run through
    the eye's margin (a rim drawn over the lid's edge: not looked for there, it is left to
    the lid, which drags it down as its lash line), a light fill met the dark in steps, and
    a blink drew them down as the shut lid's stair-stepped edge. (Only by the eyes behind a
    thick rim: a thin rim's mask over the lid is grown over the lens's edges down to the eye,
    and eased there, the man in glasses' lids read a little less shut, 0.57 to 0.58 of the
    open eye.)"""
    unknown = hole.astype(np.uint8)  # (what the inpainting fills)
    eye_side = (cv2.dilate((eye & ~hole).astype(np.uint8), disc(2)) > 0) & hole
    if not eye_side.any():
        return fill
    # The photo's colour beside the hole, carried into it from its edge.
    beside = cv2.inpaint(np.clip(patch, 0, 255).astype(np.uint8), unknown, 2,
                         cv2.INPAINT_TELEA).astype(np.float32)  # fmt: skip
    inside = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), EYE_EDGE_SIGMA)
    share = np.where(eye_side, 1.0 - inside, 0.0).astype(np.float32)[..., None]
    return (fill * (1 - share) + beside * share).astype(np.float32)


def _edge_match(
    patch: np.ndarray, fill: np.ndarray, hole: np.ndarray, not_skin: np.ndarray
) -> np.ndarray:
    """What to add to ``fill`` (float32) so that it meets the photo ``patch`` at the edge of
    ``hole`` without a step: the difference along the photo's pixels bordering the hole,
    spread smoothly in and fading out over :data:`EDGE_BLEND` pixels (deeper in, the fill is
    the bare skin's colour)."""
    ring = (cv2.dilate(hole.astype(np.uint8), disc(2)) > 0) & ~hole
    difference = patch.astype(np.float32) - fill
    # Only skin is matched: the eye and its lashes beside the hole (``hole`` excludes them),
    # what is left of a rim's soft edge or a glint on it would be drawn into the fill as a
    # dark or a white seam.
    ring &= ~not_skin
    ring &= np.abs(difference.mean(-1)) < EDGE_MOST
    weight = ring.astype(np.float32)
    difference *= weight[..., None]
    spread = cv2.GaussianBlur(difference, (0, 0), 1.5)
    spread /= np.maximum(cv2.GaussianBlur(weight, (0, 0), 1.5), 1e-3)[..., None]
    depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    fade = np.exp(-0.5 * (depth / EDGE_BLEND) ** 2) * hole
    return (spread * fade[..., None]).astype(np.float32)


def lip_cover(photo: np.ndarray, neutral: np.ndarray) -> Cover:
    """What closing lips must hide: the teeth the photo shows between them (if any), painted
    over with the lips around them. (Closing lids are the photo's own lid skin carried down:
    :mod:`gioconda.render.lids`.)"""
    return Cover(photo, outline(neutral, LIPS_INNER_UPPER, LIPS_INNER_LOWER))


def corner_cover(photo: np.ndarray, neutral: np.ndarray) -> Cover | None:
    """The shadows a smile holds at its mouth corners (dark pockets between the lips, the
    dark upper lip's corner under a moustache), painted out from the lips and skin around;
    None where the corners hold no such pocket.

    The warp carries them with the lips; as the jaw drops the painted opening's corners come
    down and the pockets would be left above and beside them as a dark wedge. An opening mouth
    fades toward this cover (the opening's own corners are painted dark by the mouth painter),
    so the corner's shadow goes with the corner."""
    shape = photo.shape[:2]
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    ring = polygon_mask(
        shape, outline(neutral, LIPS_OUTER_UPPER, LIPS_OUTER_LOWER), soft=False
    ) & ~polygon_mask(shape, outline(neutral, LIPS_INNER_UPPER, LIPS_INNER_LOWER), soft=False)
    if not ring.any():
        return None
    dark = grey < CORNER_DARK * float(np.median(grey[ring]))
    width = mouth_width(neutral)
    angles = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)
    circle = np.stack([np.cos(angles), np.sin(angles)], 1) * CORNER_REACH * width
    discs = [
        (neutral[outer_corner, :2] + neutral[inner_corner, :2]) / 2 + circle
        for outer_corner, inner_corner in zip(MOUTH_CORNERS, INNER_MOUTH_CORNERS, strict=True)
    ]
    pocket = dark & (
        polygon_mask(shape, discs[0], soft=False) | polygon_mask(shape, discs[1], soft=False)
    )
    if pocket.sum() < CORNER_LEAST * width**2:
        return None  # a few dark pixels by the corners: no pocket to leave behind
    # One cover over both corners (each frame's fade looks over the map's window once): the
    # hull of the two discs, holding only their dark pixels.
    hull = cv2.convexHull(np.concatenate(discs).astype(np.float32))
    cover = Cover(photo, hull[:, 0], within=pocket)
    return None if cover.empty else cover
