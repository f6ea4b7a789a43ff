"""What stands in front of the eyes in a photo (glasses rims, a lock of hair): found once per
portrait, painted out of what the lids drag, and put back on top where the head carries it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np

from gioconda.face.crop import CROP_FACE_RATIO, extract_crop, face_size
from gioconda.face.portrait import Portrait
from gioconda.face.topology import (
    FACE_OVAL,
    LEFT_BROW_LOWER,
    LEFT_BROW_UPPER,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    RIGHT_BROW_LOWER,
    RIGHT_BROW_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from gioconda.render.cv2_typing import NO_ARRAY
from gioconda.render.regions import outline, polygon_mask

EYES = (("Right", RIGHT_EYE_UPPER), ("Left", LEFT_EYE_UPPER))


#: Dark thin structure, in Lab lightness (0-100) under its blurred surroundings, that marks
#: what lies in front of the lids (a glasses rim, a lock of hair) rather than on them.
OCCLUDER_CONTRAST = 6.0


#: What stands in front of the eyes is darker than its blurred surroundings by at least this
#: much (Lab lightness, 0-100) at its median pixel. On real photos thin metal rims measured
#: 12-14 and drawn thick rims 19; lid shadows, creases and brows taken for rims 2-7.
OCCLUDER_MIN_MEDIAN_CONTRAST = 10.0
#: How far (Lab lightness, 0-100) bare skin around an eye strays from its median: a face's
#: shading spans less (the shaded temple of a side-lit photo 20 under its lit brow ridge), hair
#: at the temple more.
SKIN_LIGHTNESS_SPREAD = 25.0
#: The widest gap (eye widths, along the rows) between pieces of a rim that is bridged.
OCCLUDER_BRIDGE = 0.3
#: Around the brow (this far past its outline, eye widths), of what the mask grew over only
#: what is as rim-like as the rim is painted out and put back: darker than its blurred
#: surroundings by at least RIM_LIKE of the rim's own median contrast (on the man in glasses,
#: brow hairs 3-8 under their surroundings, the rim 13-29), or as dark as the rim. The brow's
#: hair, its dark inner end and its shadow beside it move with the brow.
BROW_ZONE = 0.15
RIM_LIKE = 0.5
#: Rims up to this thick (eye widths; a thin metal rim, 2 pixels of a 37-pixel eye) are matted
#: beside the brow; thicker ones (drawn rims, 4-5 pixels of 30) are put back whole.
THIN_RIM = 0.1
#: Beside the rim, a pixel lighter than what is behind it by more than this (Lab lightness,
#: 0-100) is partly the rim's glint, and wholly at twice as much.
GLINT_CONTRAST = 5.0
#: Over the upper lid, how far below what was found as a rim (eye widths) the rest of it
#: reaches: a thin metal rim is a dark line, the lens's lit edge and its inner dark edge
#: (on the man in glasses 4 to 5 pixels of a 37 to 42-pixel eye), of which the lit edge and
#: the inner edge are not found where the rim runs over the eye's margin.
RIM_EDGE = 0.08
#: The thresholds were chosen on crops of this side (pixels) holding the face at
#: :data:`~gioconda.face.crop.CROP_FACE_RATIO`; a face larger in its frame (a larger frame, or
#: a crop made tighter to stay inside its photo) is searched at that scale (:func:`search_side`).
DETECT_SIZE = 512
#: A frame whose face is within this share of the thresholds' scale is searched as it is.
DETECT_SCALE_TOLERANCE = 0.05
#: Scaled up from the 512-pixel mask to a larger frame, its outline is eased over this many
#: of the mask's own pixels (a Gaussian's sigma): scaled up as it is, its outline is a
#: staircase of 512-pixel steps, 2 to 3 frame pixels each at 1024 pixels and full frame,
#: which the top of a closing lid stops at and traces, a jagged line under the rim.
OUTLINE_EASE = 1.0
#: How far (share of the frame) the head may carry an occluder from where the photo has it.
OCCLUDER_REACH = 0.08
#: Between a thin rim's dark line over the upper lid and the eye, what the mask holds is
#: what lies behind the lens (the top of the iris, its catchlight, the lid's margin) seen
#: through it: put back whole at rest, it fades out as the upper lid closes, gone once the
#: lid has travelled this share of the eye's opening (see :meth:`EyeOccluders.paint`).
BEHIND_FADE = 0.25
#: The eye shows through a lens up to this far (eye widths) above the upper lid's landmark
#: line: on the man in glasses his catchlight 0 to 1 pixel above it, the lens's lit edge
#: under the rim 2 to 3 pixels above it (of a 31-pixel eye).
EYE_MARGIN = 0.05


#: Over the upper lid of an eye behind a thick rim, the put-back's edge is eased out over a
#: Gaussian of this many pixels (see :meth:`EyeOccluders._feather_over_lids`). On the eval's
#: drawn-on glasses, where the rim meets the shut lid the biggest one-pixel step in Lab L
#: (median over the eye's middle columns) is 33 and 45, against 45 and 62 unfeathered and 29
#: and 21 on the photo's own rim edge; MediaPipe's shut/open 0.66 (0.65 at 0.7 pixels, 0.62
#: unfeathered: the rim's softer edge over the lid's line reads a little open).
LID_FEATHER = 1.0


#: Over the upper lid a thin metal rim is a dark line with its grey metal edge along it (on
#: the man in glasses 2 to 3 pixels of a 31-pixel eye, as light as his shaded lid, Lab L 30 to
#: 45, but grey: a and b 1 to 8 against his lid's 12 to 17): where a piece of that edge was not
#: found, it was left in what the lids drag, and a blink drew it down the shut lid as a grey
#: veil. Beside the mask over the lid, what is further than this (Lab a and b, the distance
#: between them) from the lid skin's colour is grown over (see
#: :meth:`EyeOccluders._grey_rim_edge`).
RIM_GREY = 6.0


#: What stands in front of an eye must cross its box at least this far (eye widths), from
#: the box's edge: a lid crease, a mole or a lash line does not.
OCCLUDER_MIN_EXTENT = 0.5
#: A piece that the upper lid's edge runs into through dark as deep as the piece's own (no
#: lid skin between them) over more than this share of the eye's middle columns, around an
#: eye itself as dark, is the lids' own dark outline (a stylized or painted eye's), not a
#: rim: a rim crosses the lid once or passes over bare lid skin, and one drawn along the
#: lid's edge borders an eye lighter than it. Taken for a rim, the outline stayed where it
#: was while the lid slid under it, a dark ring around the shut lid (the eye read open).
#: Looked for up to :data:`OUTLINE_REACH` eye widths above the edge.
OUTLINE_SHARE = 0.5
OUTLINE_REACH = 0.4
#: A thin rim found on both sides of an eye is followed between them over the upper lid
#: (:meth:`EyeOccluders._rim_across`), where it may run through the eye's margin: up to this
#: far above the lid's edge (eye widths), over a gap up to :data:`RIM_ACROSS_GAP` eye widths
#: wide, along the darkest thin line (no wider than :data:`RIM_ACROSS_LINE` eye widths), at a
#: cost of :data:`RIM_ACROSS_BEND` (Lab lightness) for each row it steps (a rim is smooth).
RIM_ACROSS_REACH = 0.4
RIM_ACROSS_GAP = 1.0
RIM_ACROSS_LINE = 0.15
RIM_ACROSS_BEND = 2.0


class EyeOccluders:
    """What lies in front of the eyes in the photo (glasses rims, hair), which lids slide under.

    A blink moves the upper lid's skin down over the eye; anything in front of it (the rim
    of a pair of glasses) must stay where the head carries it, not be dragged along. Found
    once per portrait, around each eye (from the brow to below the eye, a third of an eye width
    to each side): dark, thin structure (darker than its blurred surroundings by
    :data:`OCCLUDER_CONTRAST`), outside the eye opening and the brow, in pieces that reach the
    box's edge and run at least :data:`OCCLUDER_MIN_EXTENT` eye widths (a rim, or a strand,
    crosses the region; creases and lashes do not), or thin pieces that enter it from both
    sides (a thin rim, broken where it runs through the eye's margin or the brow), which over
    the upper lid are then followed across that gap. Natural faces have none.

    ``thin``: per eye (right, left), whether what stands in front of it is a thin rim, between
    and below whose lines the lid's own skin shows (False where nothing was found).

    ``mask`` is (S, S) bool. ``bare`` (S, S) bool: the skin in the eyes' boxes that nothing
    stands in front of, off the eyes and brows (where a fill of the rims' place takes its
    grain from). The renderer warps a copy of the photo with these pixels
    painted out (so the lid drags skin, not the rim), then :meth:`paint` puts the photo's
    own pixels back on top where the head's rigid motion alone carries them.

    Where a thin rim runs beside or through the brow (above it by the eye), the mask grows
    over brow hair and shadow that move with the brow; kept still they are a seam (a pale
    streak along the rim) when the brow moves. There, ``soft`` (S, S) bool is the rim with
    its margin, filled from its neighbours and put back matted (:meth:`matte`: only each
    pixel's share of rim); ``keep`` (S, S) bool, the rest of the mask, is neither painted out
    nor put back. Both lie inside ``mask``, which a closing lid still stops short of. By
    the eye, below the rim's upper run, ``shade`` (S, S) bool, the brow's shadow under the
    mask, stays painted out and put back whole, but is filled in the shadow's colour at its
    top, easing to the lid's skin at its bottom (what a blink draws down over the eye).

    ``behind`` (S, S) uint8: below a thin rim's line over an upper lid, what the mask holds
    of what is seen through the lens (the eye's top, its catchlight), 1 by the right eye, 2
    by the left, 0 elsewhere: put back at rest, faded out of the put-back as that lid closes.
    """

    def __init__(self, portrait: Portrait) -> None:
        image = portrait.image
        lm = portrait.landmarks.astype(np.float64)
        size = image.shape[0]
        self.boxes: list[tuple[int, int, int, int]]
        self.thin: tuple[bool, bool]
        searched = search_side(size, lm)
        if searched >= size:
            found = self._find(image, lm)
            self.mask, self.bare, parts = found[:3]
            self.soft, self.keep, self.shade, self._rim, self.behind = parts
            self.boxes, self.thin = found[3], found[4]
        else:
            # Found where the thresholds were chosen, the face as large as in a 512-pixel
            # crop: larger, a thin rim's glint splits it into pieces too short to cross an
            # eye's box (the man in glasses' rim over one eye was lost at 1.14 times).
            scale = searched / size
            small = _at_search_side(portrait, searched)
            mask, bare, parts, boxes, self.thin = self._find(small, lm * scale, zones=True)
            soft, keep, shade, rim, behind = parts
            full = (size, size)
            covered = cv2.GaussianBlur(
                cv2.resize(mask.astype(np.float32), full, interpolation=cv2.INTER_LINEAR),
                (0, 0),
                OUTLINE_EASE / scale,
            )
            skin = cv2.resize(bare.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)
            moves = cv2.resize((keep | soft).astype(np.float32), full,
                               interpolation=cv2.INTER_LINEAR)  # fmt: skip
            rim_part = cv2.resize(soft.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)
            # (Eased, the outline keeps the mask's area: 0.4 of the way holds it within 6 %
            # of the 512-pixel one's, scaled.)
            self.mask = covered > 0.4
            self.bare = (skin > 0.99) & ~self.mask
            matted = self.mask & (moves > 0.99)
            self.soft = matted & (rim_part > 0.01)
            self.keep = matted & ~self.soft
            shaded = cv2.resize(shade.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)
            self.shade = self.mask & (shaded > 0.5) & ~matted
            self._rim = cv2.resize(rim, full, interpolation=cv2.INTER_NEAREST)
            self.behind = np.zeros(full, np.uint8)
            for eye in (1, 2):
                seen = cv2.resize((behind == eye).astype(np.float32), full,
                                  interpolation=cv2.INTER_LINEAR)  # fmt: skip
                self.behind[self.mask & (seen > 0.5) & ~matted] = eye
            self.boxes = [
                (int(x0 / scale), int(y0 / scale),
                 min(int(np.ceil(x1 / scale)), size), min(int(np.ceil(y1 / scale)), size))
                for x0, y0, x1, y1 in boxes
            ]  # fmt: skip
        # What paint needs each frame: the photo, the mask as an alpha, and each eye's box
        # widened by OCCLUDER_REACH, as far as the head may carry a rim.
        self._photo = image
        self._alpha = self.mask.astype(np.float32)
        self._feather_over_lids(lm)
        # Per eye (right, left), the flat indices of what is behind its rim's lens, which
        # fades out of the put-back as its lid closes.
        self._behind_at = [np.flatnonzero(self.behind.ravel() == eye) for eye in (1, 2)]
        # What the photo shows over what is painted out behind it, where the put-back is
        # matted (:meth:`matte`); zero elsewhere.
        self._over: np.ndarray | None = None
        # The photo's rim pixels grown by so many pixels (see :meth:`near`), made when asked.
        self._grown: dict[int, np.ndarray] = {}
        reach = round(OCCLUDER_REACH * size)
        self.paint_boxes = [
            (max(x0 - reach, 0), max(y0 - reach, 0), min(x1 + reach, size), min(y1 + reach, size))
            for x0, y0, x1, y1 in self.boxes
        ]

    def _feather_over_lids(self, lm: np.ndarray) -> None:
        """Over the upper lid of an eye behind a thick rim, the put-back's alpha eased out
        past the mask's lower edge (a Gaussian of :data:`LID_FEATHER` pixels), on pixels
        the warp reads from the photo as it is (off the mask): at rest the put-back there
        is the photo over itself, and as the lid closes the rim's edge over it is soft.

        A thick rim's mask ends over the lid in a staircase of pixels (through the rim's
        dark run where it reaches the eye's margin, or its margin of lash pixels); the lid
        closing under it met that edge as a hard, stair-stepped line."""
        size = self.mask.shape[0]
        for (upper, lower), thin in zip(
            ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)),
            self.thin,
            strict=True,
        ):
            if thin:
                continue
            eye = outline(lm, upper, lower)
            width = float(np.ptp(eye[:, 0]))
            reach = max(2, round(0.3 * width))
            x0, y0 = np.maximum(np.floor(eye.min(0)).astype(int) - reach, 0)
            x1, y1 = np.minimum(np.ceil(eye.max(0)).astype(int) + reach + 1, size)
            mask = self.mask[y0:y1, x0:x1]
            if x1 - x0 < 3 or y1 - y0 < 3 or not mask.any():
                continue
            opening = polygon_mask(mask.shape, eye - [x0, y0], soft=False).astype(np.uint8)
            around = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2)
            near = cv2.dilate(opening, around) > 0
            rows = np.arange(y1 - y0)[:, None]
            over_lid = near & (rows < float(eye[:, 1].mean()) - y0) & ~mask
            eased = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), LID_FEATHER)
            alpha = self._alpha[y0:y1, x0:x1]
            alpha[over_lid] = np.maximum(alpha[over_lid], eased[over_lid])

    @property
    def photo(self) -> np.ndarray:
        """The photo the occluders were found on, (S, S, 3) uint8 (not to be written)."""
        return self._photo

    @classmethod
    def _find(
        cls, image: np.ndarray, lm: np.ndarray, zones: bool = False
    ) -> tuple[
        np.ndarray,
        np.ndarray,
        tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        list[tuple[int, int, int, int]],
        tuple[bool, bool],
    ]:
        """(mask, bare, (soft, keep, shade, the rim's lightness, behind), boxes, thin) of
        ``image`` (square RGB) with its ``landmarks`` (pixels). With ``zones``, ``behind``
        is all of the zone behind each rim's lens, not only what the mask holds of it."""
        size = image.shape[0]
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
        lightness = lab[..., 0] / 2.55
        found_mask = np.zeros((size, size), bool)
        found_bare = np.zeros((size, size), bool)
        found_soft = np.zeros((size, size), bool)
        found_keep = np.zeros((size, size), bool)
        found_shade = np.zeros((size, size), bool)
        # (which eye, 1 right or 2 left, sees what is behind its rim's lens there; 0 none)
        found_behind = np.zeros((size, size), np.uint8)
        rim_lightness = np.zeros((size, size), np.float32)
        boxes: list[tuple[int, int, int, int]] = []
        thin = [False, False]
        for k, ((upper, lower), brow) in enumerate(
            (
                ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), RIGHT_BROW_UPPER + RIGHT_BROW_LOWER),
                ((LEFT_EYE_UPPER, LEFT_EYE_LOWER), LEFT_BROW_UPPER + LEFT_BROW_LOWER),
            )
        ):
            eye = outline(lm, upper, lower)
            width = float(np.ptp(eye[:, 0]))
            if width < 4:
                continue
            # Found in a box around the eye; followed out of it as far as they run nearby.
            x0 = max(int(eye[:, 0].min() - 0.8 * width), 0)
            x1 = min(int(np.ceil(eye[:, 0].max() + 0.8 * width)), size)
            y0 = max(int(min(lm[list(brow), 1].min(), eye[:, 1].min() - 0.6 * width)), 0)
            y1 = min(int(np.ceil(eye[:, 1].max() + 0.5 * width)), size)
            inner_x0 = max(int(eye[:, 0].min() - 0.3 * width), 0) - x0
            inner_x1 = min(int(np.ceil(eye[:, 0].max() + 0.3 * width)), size) - x0
            if inner_x1 - inner_x0 < 4 or y1 - y0 < 4:
                continue
            patch = lightness[y0:y1, x0:x1]
            shape = patch.shape
            contrast = cv2.GaussianBlur(patch, (0, 0), max(2.0, 0.12 * width)) - patch
            grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(0.08 * width),) * 2)
            # The eye with its lid margins: a drawing's outline of the lids is on the lids.
            opening: np.ndarray = polygon_mask(shape, eye - [x0, y0], soft=False).astype(np.uint8)
            eye_itself = opening > 0
            margin = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(0.2 * width),) * 2)
            opening = cv2.dilate(opening, margin) > 0
            brows: np.ndarray = np.zeros(shape, np.uint8)
            hull = cv2.convexHull(np.round(lm[list(brow), :2] - [x0, y0]).astype(np.int32))
            cv2.fillPoly(brows, [hull], (1,))
            brows = cv2.dilate(brows, grow) > 0
            # Only what lies over the face: past its outline is background or hair beside it.
            on_face = polygon_mask(shape, lm[list(FACE_OVAL), :2] - [x0, y0], soft=False) > 0
            candidates = (contrast > OCCLUDER_CONTRAST) & on_face & ~opening & ~brows
            middle = float(eye[:, 1].mean()) - y0
            seeds = cls._crossing(candidates, inner_x0, inner_x1, middle, width)
            seeds &= ~cls._lid_outline(
                seeds, patch, lm[list(upper), :2] - [x0, y0], lm[list(lower), :2] - [x0, y0], width
            )
            if not seeds.any():
                continue
            # Grow the pieces over the rest of what is as dark as they are (a thick rim's
            # middle, its run across the brow and past the box), never into the eye.
            dark_as_seeds = patch <= np.median(patch[seeds]) + OCCLUDER_CONTRAST
            reach = ((contrast > 0.5 * OCCLUDER_CONTRAST) | dark_as_seeds) & ~opening
            reach &= (~brows | dark_as_seeds) & on_face
            found = _grown(seeds, reach)
            if np.median(contrast[found]) < OCCLUDER_MIN_MEDIAN_CONTRAST:
                # Dark through and through, a rim (or a strand) stands out from what is
                # around it; a shadow over the lid, its crease or a brow grown into it, only
                # at its edges. That is part of the lid: painted out, a closing lid would be
                # made of flat fill.
                continue
            # A rim found in pieces (where it runs through the brow's shadow or beside the lid
            # it is not told from them) is bridged along its run: the piece of rim left between
            # would be drawn down the lid as a stripe.
            bridge = np.ones((1, _odd(OCCLUDER_BRIDGE * width)), np.uint8)
            closed = cv2.morphologyEx(found.astype(np.uint8), cv2.MORPH_CLOSE, bridge) > 0
            found = found | (closed & ~opening)
            lashes = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(0.3 * width),) * 2)
            lashes_too = cv2.dilate(opening.astype(np.uint8), lashes) > 0
            rows = np.arange(shape[0])[:, None]
            by_lid = lashes_too & (rows < float(eye[:, 1].mean()) - y0)
            thickness = 2.0 * np.percentile(
                cv2.distanceTransform(seeds.astype(np.uint8), cv2.DIST_L2, 3)[seeds], 90
            )
            thin[k] = bool(thickness <= THIN_RIM * width)
            across = np.zeros(shape, bool)
            if thin[k]:
                across = cls._rim_across(
                    seeds, patch, lm[list(upper), :2] - [x0, y0], eye_itself, width
                )
            found_mask[y0:y1, x0:x1] |= cv2.dilate(found.astype(np.uint8), _RIM_MARGIN) > 0
            found_mask[y0:y1, x0:x1] |= (
                cv2.dilate(across.astype(np.uint8), _RIM_MARGIN) > 0
            ) & ~eye_itself
            found |= across
            if thin[k]:
                # (A thick rim is dark through: it is found whole.)
                found_mask[y0:y1, x0:x1] |= cls._rim_over_lid(found, by_lid & ~eye_itself, width)
                # (The rim's dark line is what the mask holds that is as dark as a rim against
                # its surroundings: followed across the eye's margin, the lens's inner dark edge
                # under it may be what was found there, not the line.)
                dark_line = found | (found_mask[y0:y1, x0:x1] & (contrast > OCCLUDER_CONTRAST))
                behind = cls._behind_rim(
                    dark_line, by_lid, lm[list(upper), :2] - [x0, y0], middle, thickness, width
                )
                # (all of the zone, the mask or not: scaled up, the mask's eased outline
                # then cuts it, not its own staircase, which left specks of the eye)
                found_behind[y0:y1, x0:x1][behind] = k + 1
                # The eye that shows above the lid's landmark line, under the rim, is painted
                # out too: the lid's lash band, carried down whole, drew it (the iris's top,
                # the catchlight) along the shut lids' line. (Not the line's own row, the
                # lashes: painted out too, the shut lids' line was paler, and read less shut.)
                found_mask[y0:y1, x0:x1] |= behind & ~eye_itself
                found_mask[y0:y1, x0:x1] |= cls._grey_rim_edge(
                    found_mask[y0:y1, x0:x1],
                    lab[y0:y1, x0:x1],
                    by_lid & ~eye_itself,
                    lm[list(upper), :2] - [x0, y0],
                    width,
                )
            # Around the brow, what is grown over is the rim and, beside it, the brow's hair,
            # its dark inner end and its shadow, which move with the brow: kept still, they
            # are a seam where the moving brow meets the still one. There the rim alone (as
            # rim-like as a rim, with its margin) is painted out, matted (:meth:`matte`);
            # the rest stays under the mask (a closing lid stops short of it as before) but
            # is neither painted out nor put back.
            around = cv2.getStructuringElement(
                cv2.MORPH_ELLIPSE, (_odd(2 * BROW_ZONE * width),) * 2
            )
            by_brow = (cv2.dilate(brows.astype(np.uint8), around) > 0) & found_mask[y0:y1, x0:x1]
            # (A thick rim's middle stands out from its blurred surroundings less than its
            # edges: it is as dark as the rim where it crosses the eye's box.)
            rim_like = (contrast > RIM_LIKE * np.median(contrast[seeds])) | (
                patch <= np.median(patch[seeds])
            )
            kept = found & (~by_brow | rim_like)
            core = _grown(seeds & kept, kept)
            # By the eye only what lies above the rim: what a blink drags down over the shut
            # lid, below it, must be skin, not the brow's shadow or the rim's glint.
            # (The rim above the eye's middle: where it crosses the eye's margin, which is
            # never under the mask, a column has none and nothing by the eye is above it.)
            upper_rim = core & (rows < float(eye[:, 1].mean()) - y0)
            top = np.where(upper_rim.any(0), upper_rim.argmax(0), -1)
            above = rows < top[None, :]
            zone = by_brow & (~lashes_too | above)
            if thickness > THIN_RIM * width:
                # A thick rim hides what is behind it whole, and its dark middle is not told
                # from a brow's by its contrast: put back whole, as elsewhere.
                zone[...] = False
            rim = cv2.dilate(core.astype(np.uint8), _RIM_MARGIN) > 0
            found_soft[y0:y1, x0:x1] |= zone & rim
            found_keep[y0:y1, x0:x1] |= zone & ~rim
            if zone.any():
                # By the eye, below the rim's upper run (or where it is not found), the
                # brow's shadow stays painted out (a closing lid may reach it), but in the
                # shadow's colour at its top, not bare skin's: moved up with the brow, a pale
                # fill shows above the rim as a streak. All of it, its rim-dark specks too:
                # filled as bare skin among the shadow, they were drawn down the shut lid at
                # a blink as pale flecks.
                found_shade[y0:y1, x0:x1] |= by_brow & ~zone
            # (Lab's L as OpenCV scales it, 0-255: what :meth:`matte` reads.)
            rim_lightness[y0:y1, x0:x1][zone] = 2.55 * float(np.median(patch[seeds]))
            # Skin nothing stands in front of, that is neither eye nor brow: what the painted
            # out rim's place takes its grain from (a few pixels clear of the rim, whose soft
            # edge and shadow are not skin).
            clear = cv2.dilate(found.astype(np.uint8), _BARE_MARGIN) == 0
            hair = cv2.dilate(brows.astype(np.uint8), lashes) > 0
            bare = clear & on_face & ~lashes_too & ~hair
            if bare.any():
                # ... and is skin: hair at the temple inside the face's outline is not.
                colour = lab[y0:y1, x0:x1]
                typical = np.median(colour[bare], axis=0)
                off = np.abs(colour - typical) / [2.55, 1.0, 1.0]
                bare &= (off[..., 0] < SKIN_LIGHTNESS_SPREAD) & (off[..., 1:].max(-1) < 15.0)
            found_bare[y0:y1, x0:x1] |= bare
            boxes.append((x0, y0, x1, y1))
        return (
            found_mask,
            found_bare,
            (
                found_soft,
                found_keep,
                found_shade & ~found_soft & ~found_keep,
                rim_lightness,
                np.where(zones | (found_mask & ~found_soft & ~found_keep), found_behind, 0),
            ),
            boxes,
            (thin[0], thin[1]),
        )

    @staticmethod
    def _behind_rim(
        found: np.ndarray,
        by_lid: np.ndarray,
        upper: np.ndarray,
        middle: float,
        thickness: float,
        width: float,
    ) -> np.ndarray:
        """What is seen through a thin rim's lens over the upper lid, bool (an eye's box):
        below the rim's dark line (``thickness`` pixels thick, the top run of ``found``, bool,
        where it runs over the upper lid, ``by_lid``) and no higher than :data:`EYE_MARGIN`
        eye widths (``width``, pixels) above the upper lid's landmark line (``upper``, in the
        box's pixels), down to the eye's middle (row ``middle``), between the eye's corners.
        The line's top is followed as the smooth curve (a parabola) it is: column by column,
        what was found below it (the lens's inner dark edge, the iris's top) is jagged, and
        so were specks of the eye left beside what was taken away.

        Seen through the lens there, the top of the iris and its catchlight lie under the
        mask (the rim's margin, and :meth:`_rim_over_lid` below it, which reaches the
        lens's lit edge and inner edge): put back still over a closing lid, they were a
        bright spot and dark iris specks on the man in glasses' shut lids, under the rim's
        middle. The lens's lit edge and inner edge, 2 to 3 pixels above his lid's line, stay
        put back; a lens edge drawn within :data:`EYE_MARGIN` of the lid's line goes with
        the eye (it is not told from a catchlight there).
        """
        h, w = found.shape
        line = found & by_lid
        columns = np.arange(w)
        upper = upper[np.argsort(upper[:, 0])]
        crossed = line.any(0) & (columns >= upper[0, 0]) & (columns <= upper[-1, 0])
        if crossed.sum() < 3:
            return np.zeros((h, w), bool)
        top = line.argmax(0)
        curve = np.polyval(np.polyfit(columns[crossed], top[crossed], 2), columns)
        # (the eye as it shows above the lid's landmark line, which runs inside the lashes)
        eye_top = np.interp(columns, upper[:, 0], upper[:, 1]) - EYE_MARGIN * width
        below = np.maximum(curve + thickness, eye_top)
        rows = np.arange(h)[:, None]
        return (rows >= below[None, :]) & (rows < middle) & crossed[None, :]

    @staticmethod
    def _grey_rim_edge(
        mask: np.ndarray, lab: np.ndarray, by_lid: np.ndarray, upper: np.ndarray, width: float
    ) -> np.ndarray:
        """The rest of a thin rim's grey edge over the upper lid beside ``mask`` (bool, an
        eye's box), bool: what is as grey against the lid's skin as a rim's metal (see
        :data:`RIM_GREY`), grown into from the mask up to :data:`RIM_EDGE` eye widths, over
        the lid (``by_lid``) and above where the eye shows through the lens (more than
        :data:`EYE_MARGIN` eye widths above the upper lid's landmark line ``upper``, in the
        box's pixels: the eye's top there is what is behind the lens, which fades out as the
        lid closes, not rim that stays).

        ``lab``: the box's Lab, as OpenCV has it (uint8 scale)."""
        h, w = mask.shape
        skin = by_lid & ~mask
        if skin.sum() < 4:
            return np.zeros((h, w), bool)
        colour = lab[..., 1:]
        hue = np.linalg.norm(colour - np.median(colour[skin], axis=0), axis=-1)
        upper = upper[np.argsort(upper[:, 0])]
        edge = np.interp(np.arange(w), upper[:, 0], upper[:, 1]) - EYE_MARGIN * width
        rows = np.arange(h)[:, None]
        allowed = (hue > RIM_GREY) & by_lid & (rows < edge[None, :] - 0.5)
        grown = mask.copy()
        cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
        for _ in range(max(1, round(RIM_EDGE * width))):
            grown |= (cv2.dilate(grown.view(np.uint8), cross) > 0) & allowed
        return grown & ~mask

    @staticmethod
    def _rim_over_lid(found: np.ndarray, by_lid: np.ndarray, width: float) -> np.ndarray:
        """The rest of the rim ``found`` (bool, an eye's box) where it runs over the upper lid
        (``by_lid``: near the eye, above its middle, off the eye itself), bool: in each column
        where the rim is found there, :data:`RIM_EDGE` eye widths on below its lowest pixel.

        There the rim runs into the eye's margin, where it is not looked for (its lashes
        are as dark), and its lens's lit edge and inner dark edge were found at best in part
        (the margin put back round what was found reached them in some columns): the rest
        was left to the lid and slid down with it at a blink, a second, broken line under
        the rim, which itself went jagged where the put-back ended column by column.
        """
        over_lid = found & by_lid
        crossed = over_lid.any(0)
        if not crossed.any():
            return np.zeros_like(found)
        rows = np.arange(found.shape[0])[:, None]
        lowest = found.shape[0] - 1 - over_lid[::-1].argmax(0)
        bottom = lowest + max(1, round(RIM_EDGE * width))
        below = (rows > lowest[None, :]) & (rows <= bottom[None, :])
        return by_lid & below & crossed[None, :]

    @staticmethod
    def _rim_across(
        seeds: np.ndarray,
        lightness: np.ndarray,
        upper: np.ndarray,
        eye_itself: np.ndarray,
        width: float,
    ) -> np.ndarray:
        """Where a thin rim found on both sides of the eye (``seeds``, bool, the eye's box)
        runs between them over the upper lid, bool: the darkest smooth thin line from the
        lowest seed pixel over the lid on one side of the gap to that on the other, kept
        where its median darkness under its surroundings is a rim's.

        ``lightness``: the box's Lab L (0-100); ``upper``: the upper lid's landmarks in the
        box's pixels; ``eye_itself``: the eye between its lids (never on the path).

        Over the eye's middle a thin rim may run through the eye's margin, where nothing is
        looked for (its lashes are as dark): the man in glasses' rim over both his eyes at
        the fitted crop. Left to the lid, that piece of rim was drawn down with it at a blink,
        a broken line over the closing eye, between the still rim on either side.
        """
        h, w = seeds.shape
        # A thin line's darkness under its closing (what is no wider than a rim): a broad
        # shadow beside it (the brow's, over the lid) has none.
        line = _odd(RIM_ACROSS_LINE * width)
        closed = cv2.morphologyEx(
            lightness, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (line, line))
        )
        ridge = closed - lightness
        upper = upper[np.argsort(upper[:, 0])]
        edge = np.interp(np.arange(w), upper[:, 0], upper[:, 1])
        rows = np.arange(h)[:, None]
        band = (rows >= edge[None, :] - RIM_ACROSS_REACH * width) & (rows < edge[None, :])
        band &= ~eye_itself
        over_lid = seeds & band
        path = np.zeros((h, w), bool)
        first, last = upper[:, 0].min(), upper[:, 0].max()
        held = np.flatnonzero(over_lid.any(0))
        for a, b in itertools.pairwise(held):
            if b - a < 2 or b <= first or a >= last or b - a > RIM_ACROSS_GAP * width:
                continue
            start = int(np.flatnonzero(over_lid[:, a]).max())
            end = int(np.flatnonzero(over_lid[:, b]).max())
            # Column by column from the start, the best sum of ridge down to each row, and
            # whether it came from the row above, the same or below (-1, 0, 1).
            score = np.full(h, -np.inf)
            score[start] = 0.0
            came = np.zeros((b - a, h), np.int8)
            for i, column in enumerate(range(a + 1, b + 1)):
                from_above = np.concatenate([[-np.inf], score[:-1]]) - RIM_ACROSS_BEND
                from_below = np.concatenate([score[1:], [-np.inf]]) - RIM_ACROSS_BEND
                options = np.stack([from_above, score, from_below])
                came[i] = options.argmax(0) - 1
                score = options.max(0) + ridge[:, column]
                if column < b:
                    score[~band[:, column]] = -np.inf
            if not np.isfinite(score[end]):
                continue
            row, trace = end, []
            for i in range(b - a - 1, 0, -1):
                row += came[i][row]
                trace.append((row, a + i))
            ys, xs = np.array(trace).T
            if np.median(ridge[ys, xs]) >= OCCLUDER_CONTRAST:
                path[ys, xs] = True
        return path

    @staticmethod
    def _lid_outline(
        pieces: np.ndarray,
        lightness: np.ndarray,
        upper: np.ndarray,
        lower: np.ndarray,
        width: float,
    ) -> np.ndarray:
        """The pieces of ``pieces`` (bool, in the eye's box) that are the lids' own dark
        outline, as one bool mask: the upper lid's edge runs into them through dark as deep
        as theirs (see :data:`OUTLINE_SHARE`), and the eye between the lids is as dark as
        they are (a stylized or painted eye drawn dark within its outline). A rim drawn over
        the lid's edge borders an eye that shows lighter than it, its white and iris.

        ``lightness``: the box's Lab L (0-100); ``upper``, ``lower``: the lids' landmarks in
        the box's pixels, corner to corner.
        """
        count, labels = cv2.connectedComponents(pieces.astype(np.uint8), connectivity=8)
        outline_of_lids = np.zeros(pieces.shape, bool)
        h, w = pieces.shape
        upper, lower = upper[np.argsort(upper[:, 0])], lower[np.argsort(lower[:, 0])]
        centre = 0.5 * (upper[:, 0].min() + upper[:, 0].max())
        columns = np.arange(int(np.ceil(centre - 0.25 * width)), int(centre + 0.25 * width) + 1)
        columns = columns[(columns >= 0) & (columns < w)]
        if len(columns) == 0:
            return outline_of_lids
        edge = np.interp(columns, upper[:, 0], upper[:, 1])
        low = np.interp(columns, lower[:, 0], lower[:, 1])
        # (the eye between its lids, away from their margins)
        inside = [
            lightness[int(np.clip(round(y + t * (y1 - y)), 0, h - 1)), x]
            for x, y, y1 in zip(columns, edge, low, strict=True)
            for t in (0.3, 0.5, 0.7)
        ]
        eye_lightness = float(np.median(inside))
        reach = max(int(np.ceil(OUTLINE_REACH * width)), 1)
        for i in range(1, count):
            piece = labels == i
            dark_below = float(np.median(lightness[piece])) + OCCLUDER_CONTRAST
            if eye_lightness > dark_below:
                continue
            dark = lightness <= dark_below
            runs_into = 0
            for x, y in zip(columns, edge, strict=True):
                # Up from the lid's edge through dark until the piece (or lid skin) is met.
                for row in range(int(np.floor(y)), max(int(np.floor(y)) - reach, -1), -1):
                    if row >= h:
                        continue
                    if piece[row, x]:
                        runs_into += 1
                        break
                    if not dark[row, x]:
                        break
            if runs_into > OUTLINE_SHARE * len(columns):
                outline_of_lids |= piece
        return outline_of_lids

    @staticmethod
    def _crossing(
        candidates: np.ndarray, inner_x0: int, inner_x1: int, middle: float, width: float
    ) -> np.ndarray:
        """The parts, between columns ``inner_x0`` and ``inner_x1`` (the eye's middle), of the
        pieces of ``candidates`` (bool, the eye's box) that cross the eye's middle, as one bool
        mask: each reaching its edge and running :data:`OCCLUDER_MIN_EXTENT` eye widths there,
        or, a thin rim round the eye, entering it from both sides above the eye's middle
        (row ``middle``), or both below it.

        Over the eye's middle a rim may run through the eye's margin or the brow, where
        nothing is looked for, and leave two pieces there each shorter than that, one from
        each side, but each running on past the middle (down the lens's side) as far in the
        box: the man in glasses' thin metal rim (0.4-0.55 eye widths of each side inside the
        middle, 0.6-1.1 in the box) was found at some sub-pixel phases and scales of his crop
        and lost at others (one eye at 12 of 23, the other at 6), and slid down with the lid
        at a blink where it was lost. A lock of hair at the temple or creases at an eye's
        corner enter from one side only."""
        inner = np.zeros(candidates.shape, bool)
        inner[:, inner_x0:inner_x1] = candidates[:, inner_x0:inner_x1]
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            inner.view(np.uint8), connectivity=8
        )
        _, whole_labels, whole_stats, _ = cv2.connectedComponentsWithStats(
            candidates.view(np.uint8), connectivity=8
        )
        h = candidates.shape[0]
        least = OCCLUDER_MIN_EXTENT * width
        depth = cv2.distanceTransform(inner.view(np.uint8), cv2.DIST_L2, 3)
        keep = np.zeros(count, bool)
        # (per piece: whether it enters from the left, and from the right, as a rim does)
        enters = np.zeros((count, 2), bool)
        above, below = np.zeros(count, bool), np.zeros(count, bool)
        for i in range(1, count):
            x, y, bw, bh, _ = stats[i]
            sides = (x == inner_x0, x + bw == inner_x1)
            keep[i] = (any(sides) or y == 0 or y + bh == h) and max(bw, bh) >= least
            if not any(sides):
                continue
            piece = labels == i
            whole = whole_stats[whole_labels[piece][0]]
            # (a thin rim's: a thick one, or a drawn eye's outline, is found whole or not)
            thin = 2.0 * np.percentile(depth[piece], 90) <= THIN_RIM * width
            enters[i] = np.array(sides) & (max(whole[2], whole[3]) >= least) & thin
            above[i], below[i] = y < middle, y + bh > middle
        for run in (above, below):
            # (one rim's run, over the eye or under it: not a speck of a drawn eye's outline
            # above it and the outline's lower run)
            if (enters[:, 0] & run).any() and (enters[:, 1] & run).any():
                keep |= enters.any(1) & run
        return keep[labels]

    def matte(self, behind: np.ndarray) -> np.ndarray:
        """Where the rim runs beside or through the brow, how much of each pixel is rim,
        given ``behind`` ((S, S, 3) uint8: the photo with :attr:`soft`, the rim there,
        filled from its neighbours): the put-back then lays only that share of the rim over
        the moving brow, and the rest of the pixel moves with it.

        Under a pixel's share ``a`` of rim the photo is ``a * rim + (1 - a) * behind``; ``a``
        is read from lightness against the rim's own (the median where it crosses the eye's
        box), and a glint along the rim (lighter than what is behind) is rim too. Returns
        the warp's source: ``behind``, with the photo back where there is no rim (on
        :attr:`keep`, the brow grown over beside the rim, and in :attr:`soft` where no
        share is found), which is neither painted out nor put back.
        """
        photo = self._photo
        soft = self.soft
        behind = behind.copy()
        behind[self.keep] = photo[self.keep]
        self._alpha[self.keep] = 0.0
        if not soft.any():
            return behind
        lightness = cv2.cvtColor(photo, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
        under = cv2.cvtColor(behind, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
        depth = under - self._rim
        share = np.clip((under - lightness) / np.maximum(depth, 1.0), 0.0, 1.0)
        # Not darker than what is behind it by a rim's contrast: brow, not rim.
        share[depth < 2.55 * OCCLUDER_CONTRAST] = 0.0
        # A metal rim's glint, along its edge, is lighter than what is behind it: left on the
        # brow, it would move with it as a pale streak.
        glint = np.clip((lightness - under) / (2.55 * GLINT_CONTRAST) - 1.0, 0.0, 1.0)
        share = np.maximum(share, glint)
        share[share < _NO_RIM] = 0.0
        clear = soft & (share == 0.0)
        behind[clear] = photo[clear]
        self._alpha[soft] = share[soft]
        over = photo.astype(np.float32) - behind.astype(np.float32)
        over[~soft] = 0.0
        self._over = over
        return behind

    def near(self, source: np.ndarray, reach: float) -> np.ndarray:
        """Output pixels that may show an occluder if their sources in the photo lie up to
        ``reach`` pixels (along x and along y) from ``source`` ((h, w, 2) float32): (h, w)
        uint8, 1 wherever :meth:`paint` could read an alpha above 0 from there (a bilinear
        read takes the pixels within one of its point)."""
        grow = int(np.ceil(reach)) + 2  # (+1 for the bilinear read, +1 for the rounding below)
        grown = self._grown.get(grow)
        if grown is None:
            square = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * grow + 1, 2 * grow + 1))
            grown = self._grown[grow] = cv2.dilate((self._alpha > 0).view(np.uint8), square)
        return cv2.remap(grown, source, NO_ARRAY, cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0,))  # fmt: skip

    def paint(
        self,
        frame: np.ndarray,
        sources: Sequence[np.ndarray],
        closed: Sequence[float] = (0.0, 0.0),
    ) -> None:
        """Put the photo's occluders back on top of ``frame`` (in place).

        ``sources`` holds, for each box of :attr:`paint_boxes` (x0, y0, x1, y1), where the
        head's rigid motion alone brings its output pixels from in the photo, (h, w, 2) float32
        (no expression: a rim does not blink). ``closed``: per eye (right, left), the share
        of its opening its upper lid has travelled (what is :attr:`behind` its rim's lens
        fades out by :data:`BEHIND_FADE`: the closing lid is behind it now).
        """
        source_alpha = self._alpha
        for at, share in zip(self._behind_at, closed, strict=True):
            if share > 0.0 and len(at):
                if source_alpha is self._alpha:
                    source_alpha = self._alpha.copy()
                source_alpha.ravel()[at] *= max(0.0, 1.0 - share / BEHIND_FADE)
        # The boxes overlap between the eyes; a pixel is put back once (a matted one put back
        # twice would take what the photo adds over the rim twice).
        done = np.zeros(frame.shape[:2], bool) if len(self.paint_boxes) > 1 else None
        for box, source in zip(self.paint_boxes, sources, strict=True):
            alpha = cv2.remap(source_alpha, source, NO_ARRAY, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0.0,))  # fmt: skip
            bx0, by0, bx1, by1 = box
            if done is not None:
                alpha[done[by0:by1, bx0:bx1]] = 0.0
                done[by0:by1, bx0:bx1] |= alpha > 0
            # Rims are thin: only the pixels they reach are read and blended, found once.
            shown = cv2.findNonZero((alpha > 0).view(np.uint8))
            if shown is None:
                continue
            x0, y0, w, h = cv2.boundingRect(shown)
            rim = cv2.remap(self._photo, source[y0 : y0 + h, x0 : x0 + w], NO_ARRAY,
                            cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
            cols, rows = shown[:, 0, 0], shown[:, 0, 1]
            patch = frame[by0:by1, bx0:bx1]
            a = alpha[rows, cols][:, None]
            under = patch[rows, cols].astype(np.float32)
            if self._over is not None:
                # Matted beside the brow: what the photo adds over what is behind the rim
                # (zero where nothing is matted) goes on top of the moving brow; at rest
                # the frame there is what is behind, and the sum is the photo.
                over = cv2.remap(self._over, source[y0 : y0 + h, x0 : x0 + w], NO_ARRAY,
                                 cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)  # fmt: skip
                under += over[rows - y0, cols - x0]
            blend = under * (1 - a) + rim[rows - y0, cols - x0] * a
            patch[rows, cols] = np.clip(blend + 0.5, 0, 255)


def search_side(size: int, landmarks: np.ndarray) -> int:
    """The side (pixels) at which a ``size``-pixel crop whose face has these landmarks is
    searched for occluders: the face as large as in a :data:`DETECT_SIZE` crop at
    :data:`~gioconda.face.crop.CROP_FACE_RATIO` (never larger than ``size``; within
    :data:`DETECT_SCALE_TOLERANCE` of the usual side, that side)."""
    usual = min(size, DETECT_SIZE)
    wanted = size * (DETECT_SIZE / CROP_FACE_RATIO) / max(face_size(landmarks), 1.0)
    if abs(wanted / usual - 1.0) <= DETECT_SCALE_TOLERANCE:
        return usual
    return max(1, min(size, round(wanted)))


def _at_search_side(portrait: Portrait, side: int) -> np.ndarray:
    """The portrait's crop at ``side`` pixels, (side, side, 3) uint8: taken from the photo
    as a 512-pixel portrait's crop is (:func:`extract_crop`), so that a larger one finds the
    very rims that one does. The crop scaled down from the larger one instead (INTER_AREA)
    is softer than that, by 1.8 grey levels on average on the man in glasses: a thin rim's
    contrast fell below the thresholds over one eye's middle, and the rest of it slid down
    with the lid at a blink, at 1024 pixels and full frame, where 512 pixels held it still.
    A crop that is not the photo's (a test's drawn-on copy) is scaled down from itself."""
    image = portrait.image
    if np.array_equal(extract_crop(portrait.photo, portrait.crop, portrait.size), image):
        return extract_crop(portrait.photo, portrait.crop, side)
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)


def _grown(seeds: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The connected pieces of ``allowed | seeds`` that hold a seed."""
    count, labels = cv2.connectedComponents((allowed | seeds).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[seeds])] = True
    keep[0] = False
    return keep[labels]


def _odd(x: float) -> int:
    return max(3, round(x) | 1)


# Painted out with a margin of skin round it, so that what fills the rim's place is skin, not the
# blend of its own soft edge.
_RIM_MARGIN = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
_BARE_MARGIN = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
# Less rim than this in a pixel beside the brow: none (it is not painted out).
_NO_RIM = 0.05
# Around the brow, a pixel: the rim's soft edge, whose share of rim the put-back mattes.
_BROW_MARGIN = np.ones((3, 3), np.uint8)
