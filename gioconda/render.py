"""Render: one frame of a portrait under one frame of motion.

The photo is warped by a dense backward map built from the rig's deformed landmarks:
a rigid 3D head motion (the head modelled as an ellipsoid, so hair moves with the face) plus a
piecewise-linear correction on a triangulation of the landmarks that carries the expression
and the face's true 3D shape. The map is inverted by fixed-point iteration, the photo sampled
with ``cv2.remap``, the mouth interior painted where the lips part, and the person composited
over a background plate so that nothing behind the head bends with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage, sparse
from scipy.spatial import Delaunay

from gioconda.blendshapes import BS
from gioconda.eyes import EyeOccluders, IrisPainter, LashPainter, near_closed
from gioconda.face import (
    CHIN,
    FACE_OVAL,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    Portrait,
    surroundings,
)
from gioconda.motion import MotionFrame
from gioconda.mouth import MouthPainter
from gioconda.regions import closer_in_colour, outline
from gioconda.rig import FaceRig, HeadFrame

#: Damped fixed-point iterations that invert the forward displacement field. Damping keeps
#: the iteration converging where the field stretches the image (gradient up to ~1.6, at the
#: sides of a turning face); 4 steps reach sub-pixel accuracy away from the lip seam.
INVERSION_STEPS = 4
INVERSION_DAMPING = 0.75
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
N_MESH_LANDMARKS = 468  # the irises (468-477) are drawn by the eyes, not warped as mesh
#: Rings of mesh vertices around the face: (distance from the face's centre relative to its
#: oval, share of the oval's correction they carry).
RINGS = ((1.3, 0.6), (1.65, 0.28), (2.05, 0.07), (2.5, 0.0))
#: The face oval grown by this about its centre is head whatever the segmentation says.
HEAD_OVAL_GROWTH = 1.08
#: How far past the jaw's landmarks the face's silhouette may reach, share of the crop.
JAW_EDGE = 0.008
#: How far the head's motion fades out beyond the head and down the neck, share of the crop.
HEAD_FADE = 0.08
#: The head layer's soft edge, share of the crop.
LAYER_MARGIN = 0.012
#: The head layer's soft edge below the ear lobes, share of the crop: short, as the jaw
#: may touch a collar that must not move.
BELOW_LOBES_EDGE = 0.006
#: How far below the ear lobes hanging hair still takes some of the head's motion, in
#: lobe-to-chin distances: long hair resting on the shoulders takes none of it.
HANGING_REACH = 1.5
#: The rows just above the ear lobes whose width says what hangs below them, share of the crop.
HANGING_SPAN_ROWS = 0.03
#: How far past that width hanging hair's share fades out, share of the crop.
HANGING_SPREAD = 0.04
#: Reach of the majority vote that smooths the colours' split of hair from clothes, share of
#: the crop.
HANGING_VOTE = 0.01
#: Side of the biggest hole in hanging hair that is filled, share of the crop.
HANGING_HOLE = 0.03
#: Rows per pixel sideways that a hanging strand may slant.
HANGING_SLANT = 2
#: Over how many columns, share of the crop, hanging hair's fade down its length may change
#: (a strand resting on a collar beside one that hangs free).
HANGING_SHEAR = 0.03
#: How far below the lobes the person joined to the face's edge (a beard, a cheek the
#: segmentation draws wide) takes a share of the head's motion, fading to none, share of the
#: crop. Colour cannot tell a dark beard from a dark collar: distance from the face does.
JAW_BAND = 0.04
#: How far a closed lid paints out past the eye's outline, in eye widths.
EYE_COVER_GROWTH = 0.1
#: How far past the crop's edges the photo is kept for what motion brings in, share of it.
SOURCE_PAD = 0.1
#: How far around a torn pixel the fill reads, pixels.
_FILL_PAD = 4 * TORN_FILL_SIGMA
#: Side of the image the painted-out plate is computed at (inpainting is slow, the fill smooth).
PLATE_WORK_SIZE = 160


@dataclass(frozen=True)
class _HeadRegion:
    """What moves with the head, as (S, S) uint8 0/1 masks, and what stays put: all else.

    Shoulders, clothes, a collar beside the jaw and hair lying on the shoulders are drawn
    from the photo itself, never warped, so nothing below the head is dragged or leaves a
    ghost behind.

    Attributes
    ----------
    head: the face, and the person above the ear lobes (hair, a hat) joined to it; moves
        rigidly with the head
    neck: a column down the neck from the chin, bending from the head's motion to none
    hanging: float32, hair hanging below the lobes beside the face, and the person just
        outside the face's edge below them (a beard): the share of the head's motion it
        takes, fading smoothly down its length (from all of it at the lobes, with no corner
        there) or away from the face; 0 off it
    soft_edge: bool, where the head layer may fade out over its full margin: above the ear
        lobes' line in the face's frame, and below it away from the still body
    """

    head: np.ndarray
    neck: np.ndarray
    hanging: np.ndarray
    soft_edge: np.ndarray


@dataclass(frozen=True)
class _LandmarkMotion:
    """Where each landmark goes, in two parts: (478, 2) pixel offsets each."""

    head: np.ndarray
    expression: np.ndarray


class Renderer:
    """Renders frames of one portrait; all per-portrait work happens here, once."""

    def __init__(self, portrait: Portrait) -> None:
        self.portrait = portrait
        self.rig = FaceRig(portrait.landmarks)
        size = portrait.size
        self.size = size
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        self._grid = np.stack([xs, ys], axis=-1)
        # The same coordinates along one row and one column: per-frame maps that are a sum of
        # a function of x and one of y are built from these, not from full-frame arrays.
        self._columns = xs[0]
        self._rows = ys[:, 0]
        self._photo = portrait.image
        self._head_region = self._make_head_region()
        self._head_weight = self._make_head_weight(self._head_region)
        # Rows and columns outside which nothing takes any of the head's rigid motion.
        moving = self._head_weight > 0
        self._moving_box = _box(moving) if moving.any() else (0, 0, 0, 0)
        self._build_mesh()
        pivot = self.rig.pivot
        self._depth_map = self._make_depth_map()
        self._centred = (
            xs - np.float32(pivot[0]),
            ys - np.float32(pivot[1]),
            self._depth_map - np.float32(pivot[2]),
        )
        # Each landmark on the head's smooth surface, about the pivot, as (x, y, z, 1), and how
        # much of the head's motion it takes: constant per portrait.
        neutral = self.rig.neutral
        z = self._sample(self._depth_map, neutral[:, :2])
        self._landmark_points = np.stack(
            [neutral[:, 0] - pivot[0], neutral[:, 1] - pivot[1], z - pivot[2], np.ones(len(z))], 1
        )
        self._landmark_weight = self._sample(self._head_weight, neutral[:, :2])[:, None]
        # Each landmark's depth in front of (or behind) the smoothed surface, where it moves
        # with the head.
        self._relief = (
            (neutral[:, 2] - pivot[2] - self._landmark_points[:, 2])
            * self._landmark_weight[:, 0]
            * self._relief_taper()
        ).astype(np.float32)
        self._alpha, self._plate = self._make_layers(self._head_region)
        # What a frame shows wherever the head layer is clear (alpha 0): the plate alone.
        self._plate_shown = np.clip(self._plate + 0.5, 0, 255).astype(np.uint8)
        # The photo and the layer's alpha reach past the crop, so that hair cut by its edge
        # moves in whole instead of smearing its last row.
        pad = self._source_pad = max(1, round(SOURCE_PAD * size))
        self._source = surroundings(portrait, pad)
        # Glasses rims (or hair) in front of the eyes: the warp drags skin where they were,
        # and they are put back on top where the head alone carries them.
        self.occluders = EyeOccluders(portrait)
        if self.occluders.boxes:
            self._paint_out_occluders()
        self._source_alpha = cv2.copyMakeBorder(self._alpha, pad, pad, pad, pad,
                                                cv2.BORDER_REPLICATE)  # fmt: skip
        # For head distance: the whole person (the mask continued past the crop, as the
        # body goes on below it) over the background with the person painted out.
        person = portrait.person_mask.astype(np.float32)
        self._person_alpha = cv2.copyMakeBorder(person, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        self._background = portrait.background.astype(np.float32)
        self.mouth = MouthPainter(portrait, self.rig)
        self.lashes = LashPainter(portrait)
        self.irises = IrisPainter(portrait)
        lm = self.rig.neutral
        right_eye = outline(lm, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER)
        left_eye = outline(lm, LEFT_EYE_UPPER, LEFT_EYE_LOWER)
        # What closing lids and lips must hide: the photo's eyes and (when it shows them)
        # teeth, painted over with the skin and lips around them.
        # (Painted from the photo without what stands in front of the eyes: a glasses rim
        # beside the eye must not darken the lid painted over it.)
        unoccluded = self._source[pad : pad + size, pad : pad + size]
        self._covers = (
            _Cover(unoccluded, right_eye, self._eye_cover_growth(right_eye)),
            _Cover(unoccluded, left_eye, self._eye_cover_growth(left_eye)),
            _Cover(self._photo, outline(lm, LIPS_INNER_UPPER, LIPS_INNER_LOWER)),
        )

    # -- per portrait -----------------------------------------------------------------------

    def _paint_out_occluders(self) -> None:
        """Paint what stands in front of the eyes out of the warp's source. What lies behind a
        rim is lid skin: it is filled from the skin around, with the eyes and their lashes
        (a margin of four cover growths) painted out first, so that they do not darken it."""
        pad = self._source_pad
        lm = self.rig.neutral
        eyes = np.zeros((self.size, self.size), np.uint8)
        for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
            eye = outline(lm, upper, lower)
            one = np.zeros_like(eyes)
            cv2.fillPoly(one, [np.round(eye).astype(np.int32)], 1)
            eyes |= cv2.dilate(one, _disc(4 * self._eye_cover_growth(eye)))
        for x0, y0, x1, y1 in self.occluders.boxes:
            box = (slice(y0 + pad, y1 + pad), slice(x0 + pad, x1 + pad))
            occluded = self.occluders.mask[y0:y1, x0:x1]
            patch = np.ascontiguousarray(self._source[box])
            without_eyes = cv2.inpaint(patch, eyes[y0:y1, x0:x1], 3, cv2.INPAINT_TELEA)
            filled = cv2.inpaint(without_eyes, occluded.astype(np.uint8), 3, cv2.INPAINT_TELEA)
            patch[occluded] = filled[occluded]
            self._source[box] = patch

    @staticmethod
    def _eye_cover_growth(eye: np.ndarray) -> int:
        """How far past the eye's landmarks a closed lid paints the eye out, pixels: the
        landmarks sit inside the lash line, and a dark margin left around them (heavy in a
        painting or a stylized photo) reads as an open eye."""
        width = float(np.ptp(eye[:, 0]))
        return max(1, round(EYE_COVER_GROWTH * width))

    def _relief_taper(self) -> np.ndarray:
        """How much of its relief each landmark carries, (478,) in [0, 1]: all of it inside
        the face, none on its oval. Along the oval the landmarks of a face turned from the
        camera crowd together at very different depths; their relief, spread over the thin
        triangles there, would fold the field and tear the cheek's contour into a sawtooth.
        """
        lm = self.rig.neutral[:, :2]
        oval = lm[list(FACE_OVAL)].astype(np.float32)
        inside = np.array([cv2.pointPolygonTest(oval, (float(x), float(y)), True) for x, y in lm])
        t = np.clip(inside / (RELIEF_TAPER * self.rig.face_width), 0.0, 1.0)
        return (t * t * (3 - 2 * t)).astype(np.float32)  # smoothstep: no kink

    def _make_head_region(self) -> _HeadRegion:
        """What moves with the head: the face, the person above the ear lobes (hair, hat),
        and a column down the neck (see :class:`_HeadRegion`)."""
        rig, size = self.rig, self.size
        lm = rig.neutral
        centre = lm[list(FACE_OVAL), :2].mean(0)
        rel = (self._grid - centre) @ rig.axes.T.astype(np.float32)
        # Ear lobes (landmarks 132 and 361 sit just in front of them): above them the person
        # is head; below them, beside the jaw, it is neck, shoulders or clothes.
        lobes = float(np.mean((lm[[132, 361], :2] - centre) @ rig.axes[1]))
        above = rel[..., 1] < lobes
        oval = lm[list(FACE_OVAL), :2]
        # The oval grown at the top for the hair line, not at the jaw: a collar or shoulder
        # can touch the jaw.
        growth = np.where((oval - centre) @ rig.axes[1] < lobes, HEAD_OVAL_GROWTH, 1.0)
        face = np.zeros((size, size), np.uint8)
        cv2.fillPoly(
            face, [np.round(centre + growth[:, None] * (oval - centre)).astype(np.int32)], 1
        )
        person = self.portrait.person_mask > 0.5
        # The oval's landmarks sit a little inside the face's silhouette: the person just
        # outside them is face too (the dark edge of a cheek, which would stay behind).
        near_face = cv2.dilate(face, _disc(max(1, round(JAW_EDGE * size))))
        head = face | (person & (above | (near_face > 0))).astype(np.uint8)
        # Keep only what touches the face: a stray blob of "person" elsewhere is not head.
        head = _touching(head, face > 0).astype(np.uint8)
        margin = self._layer_margin
        chin = float((lm[CHIN, :2] - centre) @ rig.axes[1])
        # The neck as the segmentation sees it (a collar it missed stays out), between the
        # jaw's angles (a collar beside them stays out too), from the lobes down as far as
        # the head's motion reaches.
        jaw_angles = np.sort((lm[[172, 397], :2] - centre) @ rig.axes[0])
        neck = (
            person
            & (rel[..., 0] > jaw_angles[0])
            & (rel[..., 0] < jaw_angles[1])
            & ~above
            & (rel[..., 1] < chin + self._head_fade + margin)
        ).astype(np.uint8) & (1 - head)
        hanging = self._hanging(head, neck, face, rel, lobes, chin, jaw_angles)
        moving = head | neck | (hanging > 0).astype(np.uint8)
        # What stays put below the lobes (collar, clothes, shoulders): the layer keeps a short
        # edge near it, so none of it is carried with the head.
        body = (person & ~above).astype(np.uint8) & (1 - moving)
        far_from_body = cv2.distanceTransform(1 - body, cv2.DIST_L2, 5) > 2 * margin
        soft_edge = above | far_from_body
        # Hair, and the soft edge of a cheek or a jaw, reach a little past the segmentation's
        # edge: grow the head there, above the lobes, and below them into the background
        # where that takes in nothing of the still body.
        grow = above | (far_from_body & ~person)
        head |= cv2.dilate(head, _disc(margin)) & grow.astype(np.uint8)
        return _HeadRegion(head, neck & (1 - head), hanging * (1 - head), soft_edge)

    def _hanging(
        self,
        head: np.ndarray,
        neck: np.ndarray,
        face: np.ndarray,
        rel: np.ndarray,
        lobes: float,
        chin: float,
        jaw_angles: np.ndarray,
    ) -> np.ndarray:
        """Hair hanging below the ear lobes (and the lobes themselves, or a cheek's edge the
        segmentation draws wide), with the share of the head's motion it takes: (S, S)
        float32, 1 at the lobes' line fading to 0 toward the shoulders, 0 off it.

        Long hair swings as one piece: its share falls smoothly down its whole length
        (smoothstep, so neither the value nor its slope breaks at the lobes' line, where the
        hair above takes all of the motion) to none where it rests on the shoulders, or
        sooner where a strand rests on a collar. What hangs is the person straight below the
        hair beside the face at the lobes, reached from it down the image through pixels
        whose colour is nearer that hair's than the clothes' under the neck: a collar or a
        shoulder stays put. A narrow band of the person along the face's edge joins it (see
        :meth:`_jaw_band`).
        """
        person = self.portrait.person_mask > 0.5
        down, across = rel[..., 1] - lobes, rel[..., 0]
        reach = HANGING_REACH * (chin - lobes)
        # What hangs continues the hair beside the face just above the lobes.
        at_lobes = (head > 0) & (down < 0) & (down > -HANGING_SPAN_ROWS * self.size)
        hair = at_lobes & (cv2.dilate(face, _disc(self._layer_margin)) == 0)
        if hair.sum() < 50:
            return self._jaw_band(head, neck, rel, lobes)
        # It hangs straight down: only what lies under that hair (in the face's frame),
        # its share fading out a little beyond its sides.
        column = np.round(across - across.min()).astype(np.int32)
        under_hair = np.zeros(int(column.max()) + 1, bool)
        under_hair[column[hair]] = True
        beside = ndimage.distance_transform_edt(~under_hair)[column]
        spread = np.clip(1.0 - beside / (HANGING_SPREAD * self.size), 0.0, 1.0)
        candidates = (
            person & (down >= 0) & (down < reach) & (spread > 0) & (head == 0) & (neck == 0)
        )
        half_width = 0.5 * (jaw_angles[1] - jaw_angles[0])
        clothes = (
            person
            & (rel[..., 1] > chin + self._head_fade + self._layer_margin)
            & (np.abs(rel[..., 0] - 0.5 * (jaw_angles[0] + jaw_angles[1])) < half_width)
        )
        band = self._jaw_band(head, neck, rel, lobes)
        if not candidates.any() or clothes.sum() < 50:
            return band
        # The colour to match is that hair's (the face's skin would match a bare chest).
        like_head = closer_in_colour(self._photo, hair, clothes, candidates)
        # Pixel by pixel the colours split hair ragged (a painting's dark hair over a dark
        # dress): each pixel goes with the majority around it.
        sigma = HANGING_VOTE * self.size
        votes = cv2.GaussianBlur(like_head.astype(np.float32), (0, 0), sigma)
        voters = cv2.GaussianBlur(candidates.astype(np.float32), (0, 0), sigma)
        like_head = (2 * votes > voters) & candidates
        # Only what hangs from the hair: straight down from it (a strand may slant), not a
        # patch of the collar that touches the jaw.
        hanging = _hanging_from(hair, like_head, HANGING_SLANT)
        # A small hole in a lock of hair (a strand the colours put with the clothes) would
        # stay put while all round it moves: fill it. A big one is something else (a collar).
        still = (~hanging & (head == 0) & (neck == 0)).astype(np.uint8)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(still, connectivity=4)
        small = stats[:, cv2.CC_STAT_AREA] < (HANGING_HOLE * self.size) ** 2
        edge = np.concatenate([labels[[0, -1]].ravel(), labels[:, [0, -1]].ravel()])
        small[edge] = False
        hanging |= small[labels] & candidates
        # The whole length swings as one piece: all of the head's motion at the lobes, none
        # where it rests on the shoulders, with no corner at either end nor at the hair's side.
        rest_on = person & ~hanging & (head == 0) & (neck == 0)
        length = self._hanging_length(hanging, rest_on, down, reach)
        t = np.clip(down / length, 0.0, 1.0)
        along = 1.0 - t * t * (3 - 2 * t)
        weight = along * spread * spread * (3 - 2 * spread)
        return np.maximum(hanging * weight, band).astype(np.float32)

    def _hanging_length(
        self, hanging: np.ndarray, still: np.ndarray, down: np.ndarray, reach: float
    ) -> np.ndarray:
        """Over how much of its length each column of hanging hair fades from all of the
        head's motion to none, (S,) float32 pixels: ``reach``, or less where the strand comes
        to rest sooner on something that stays put (a collar, a shoulder: ``still``, bool),
        so that it meets it without moving. Neighbouring columns fade alike: no shear."""
        size = self.size
        length = np.full(size, reach, np.float32)
        columns = np.flatnonzero(hanging.any(0))
        # The lowest row of each column's hair, and whether it lies on what stays put or
        # just beside it.
        last = size - 1 - np.argmax(hanging[::-1, columns], axis=0)
        gap = max(1, round(2 * BELOW_LOBES_EDGE * size))
        near_still = cv2.dilate(still.astype(np.uint8), _disc(gap)) > 0
        rests = near_still[last, columns]
        # Still a little above it: the field spreads each pixel's motion a little way round.
        ends = down[last[rests], columns[rests]] - gap
        length[columns[rests]] = np.clip(ends, 1.0, reach)
        width = max(1, round(HANGING_SHEAR * size))
        length = ndimage.minimum_filter1d(length, 2 * width + 1, mode="nearest")
        return ndimage.gaussian_filter1d(length, width / 2, mode="nearest")[None, :]

    def _jaw_band(
        self, head: np.ndarray, neck: np.ndarray, rel: np.ndarray, lobes: float
    ) -> np.ndarray:
        """The person just outside the face below the ear lobes, with the share of the
        head's motion it takes: (S, S) float32, 1 at the face's edge fading to 0 a short
        way out.

        A beard (or stubble, or a jaw the segmentation draws wide) reaches past the face
        oval's landmarks; left still while the face beside it turns, its edge tears open
        onto the painted-out plate. Fading, it bends with the jaw and the short reach keeps
        a collar or a shoulder a little further out still.
        """
        person = self.portrait.person_mask > 0.5
        outside = cv2.distanceTransform(1 - head, cv2.DIST_L2, 5)
        reach = JAW_BAND * self.size
        band = person & (rel[..., 1] >= lobes) & (outside < reach) & (head == 0) & (neck == 0)
        band = _touching(band.astype(np.uint8), cv2.dilate(head, _disc(1)) > 0)
        t = np.clip(1.0 - outside / reach, 0.0, 1.0)
        return (band * (t * t * (3 - 2 * t))).astype(np.float32)

    @property
    def _head_fade(self) -> float:
        """How far the head's motion reaches beyond the head, pixels (down the neck too)."""
        return HEAD_FADE * self.size

    @property
    def _layer_margin(self) -> int:
        return max(2, round(self.size * LAYER_MARGIN))

    def _make_head_weight(self, region: _HeadRegion) -> np.ndarray:
        """How much of the head's rigid motion each pixel takes, (S, S) float32 in [0, 1].

        1 on the head (face, hair, hat, whatever the segmentation joins to it), fading with
        the distance from it, so the field is smooth and stays invertible; the fade runs down
        the neck from the chin. Beyond the head the fade only moves pixels that the layers do
        not show (see :meth:`_make_layers`).
        """
        weight = self._fading_from(region.head, np.ones(region.head.shape, np.float32))
        if region.hanging.any():
            # Hanging hair takes its own share, and what lies around it a fading part of that.
            weight = np.maximum(weight, self._fading_from(region.hanging > 0, region.hanging))
        return weight

    def _fading_from(self, source: np.ndarray, share: np.ndarray) -> np.ndarray:
        """Each pixel's weight: ``share`` at the nearest pixel of ``source`` (bool/0-1),
        fading to 0 over the head's fade distance from it; (S, S) float32."""
        outside, nearest = cv2.distanceTransformWithLabels(
            (source == 0).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
        )
        fade = np.clip(1.0 - outside / self._head_fade, 0.0, 1.0)
        fade = fade * fade * (3 - 2 * fade)  # smoothstep: no kink where motion ends
        # Labels number the source's pixels in row-major order, from 1.
        at_source = np.zeros(int(nearest.max()) + 1, np.float32)
        at_source[1:] = share[source > 0][: len(at_source) - 1]
        return (fade * at_source[nearest]).astype(np.float32)

    def _make_depth_map(self) -> np.ndarray:
        """Depth of the head's surface at every pixel, for its rigid 3D rotation.

        On the face it follows the landmarks' own depth; beyond the face it eases back to
        the pivot's depth (hair at the sides of a head turns about the same axis as the
        face, but sits behind it). Smoothed, so that motion has no kinks.
        """
        pz = np.float32(self.rig.pivot[2])
        depth = np.full((self.size, self.size), pz, np.float32)
        relief = (self.rig.neutral[:N_MESH_LANDMARKS, 2] - pz).astype(np.float32)
        x0, y0, x1, y1 = self._mesh_box
        depth[y0:y1, x0:x1] += (self._mesh_matrix @ relief).reshape(y1 - y0, x1 - x0)
        # Never behind the pivot: what is behind it is hidden anyway.
        depth = np.minimum(depth, pz)
        return (
            cv2.GaussianBlur(depth, (0, 0), DEPTH_SMOOTHING * self.size)
            .astype(np.float32)
            .astype(np.float32)
        )

    def _build_mesh(self) -> None:
        """Triangulate the landmarks and rings around the face; precompute barycentrics.

        Vertices beyond the face oval carry a share of the oval's own correction that falls
        to nothing over a few rings, so the face's motion fades smoothly into hair and
        background. Every vertex's value is a fixed linear mix of landmark values, so the
        whole interpolation is one sparse matrix from landmarks to pixels.
        """
        n = N_MESH_LANDMARKS
        lm = self.rig.neutral[:n, :2]
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
        vertices = [lm]
        blocks = [sparse.identity(n, format="csr")]
        for reach, share in RINGS:
            vertices.append(centre + reach * (dense - centre))
            blocks.append(along_oval * share)
        vertices = np.concatenate(vertices)
        vertex_mix = sparse.vstack(blocks).tocsr()  # (V, n): vertex values from landmarks

        tri = Delaunay(vertices)
        lo = np.floor(vertices.min(0)).astype(int).clip(0, self.size - 1)
        hi = np.ceil(vertices.max(0)).astype(int).clip(0, self.size - 1)
        box_pixels = self._grid[lo[1] : hi[1] + 1, lo[0] : hi[0] + 1].reshape(-1, 2)
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
            cv2.fillConvexPoly(owner, corners[index], int(index), cv2.LINE_8, shift=4)
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
        self._mesh_box = (lo[0], lo[1], hi[0] + 1, hi[1] + 1)
        self._mesh_matrix = (to_pixels @ vertex_mix).astype(np.float32).tocsr()

    def _make_layers(self, region: _HeadRegion) -> tuple[np.ndarray, np.ndarray]:
        """The head layer's alpha and the still picture under it.

        The alpha is 1 on the head region and fades out beyond it (over the layer margin
        above the ear lobes, where hair frays; at once below them, where a collar or a
        shoulder may touch the jaw). Under it lies the photo with the head region painted out
        from what surrounds it (background, collar, neck), but only deep inside the region:
        wherever the alpha is below 1 the picture under it equals the photo, so a frame
        without motion is the photo exactly, and motion uncovers painted-out surroundings,
        not stretched skin.
        """
        margin = self._layer_margin
        core = region.head | region.neck | (region.hanging > 0).astype(np.uint8)
        outside = cv2.distanceTransform(1 - core, cv2.DIST_L2, 5)
        fade = np.where(region.soft_edge, float(margin), BELOW_LOBES_EDGE * self.size)
        alpha = np.clip(1.0 - outside / fade, 0.0, 1.0).astype(np.float32)
        # Under the head the painted-out plate reaches the region's very edge: what a moving
        # head uncovers must not show its own outline. The rest frame does not see it (the
        # alpha is 1 there).
        plate = _painted_out(self._photo, cv2.dilate(core, _disc(2)))
        under = np.where(core[..., None] > 0, plate, self._photo.astype(np.float32))
        return alpha, np.clip(under, 0, 255).astype(np.float32)

    # -- per frame ----------------------------------------------------------------------------

    def render(self, frame: MotionFrame) -> np.ndarray:
        """The portrait under ``frame``'s motion: (S, S, 3) uint8 RGB."""
        head = self.rig.head(frame)
        moved = self._landmark_motion(head, self.rig.expression(frame))
        on_face = moved.expression + self._relief_motion(head)
        field = self._forward_field(head, on_face)
        posed = self.rig.neutral[:, :2] + moved.head + on_face
        skull = self.rig.neutral[:, :2] + moved.head
        backward, torn = self._invert(field)
        in_source = backward + np.float32(self._source_pad)
        out = self._composite(in_source, torn)
        self.irises.paint(out, backward, posed, frame.gaze_deg, frame.head_rotation_deg)
        shapes = frame.blendshapes
        closing = self.mouth.closing(posed)
        for cover, amount in zip(
            self._covers,
            # A half-closed eye still shows its iris: paint the eye out only near closure.
            (
                near_closed(shapes[BS["EyeBlinkRight"]]),
                near_closed(shapes[BS["EyeBlinkLeft"]]),
                closing,
            ),
            strict=False,
        ):
            cover.apply(out, backward, float(amount))
        self.lashes.paint(out, posed, (shapes[BS["EyeBlinkRight"]], shapes[BS["EyeBlinkLeft"]]))
        if self.occluders.boxes:
            self.occluders.paint(out, lambda box: self._rigid_source(head, box))
        self.mouth.paint(out, posed, skull, frame)
        if head.scale != 1.0:
            out = self._zoom_person(out, head.scale)
        return out

    def _composite(self, in_source: np.ndarray, torn: np.ndarray) -> np.ndarray:
        """The warped head layer over the still plate, (S, S, 3) uint8, given where each output
        pixel lies in the padded source.

        Only the box where the layer shows (its alpha above 0), and around the torn pixels
        that the fill reads, is warped and blended: everywhere else the frame is the plate.
        """
        # Whatever comes from further out (above a head drawn smaller) is background plate.
        alpha = cv2.remap(self._source_alpha, in_source, None, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)  # fmt: skip
        # A torn pixel's map is noise and may point off the head (below the chin, into the
        # background), whose alpha of 0 would let the plate show through as a dark speck on
        # the lip's edge or a blob beside the mouth's corner. The map tears only where the
        # face pulls apart, so the pixel belongs to the head layer, and the fill paints it.
        alpha[torn] = 1.0
        out = self._plate_shown.copy()
        shows = alpha > 0
        if not shows.any():
            return out
        y0, y1, x0, x1 = _box(shows)
        if torn.any():
            # The fill over torn pixels averages what lies around them: warp that too.
            pad = _FILL_PAD
            ty0, ty1, tx0, tx1 = _box(torn)
            y0, y1 = min(y0, max(ty0 - pad, 0)), max(y1, ty1 + pad)
            x0, x1 = min(x0, max(tx0 - pad, 0)), max(x1, tx1 + pad)
        window = (slice(y0, y1), slice(x0, x1))
        warped = cv2.remap(self._source, in_source[window], None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        _fill_from_around(warped, torn[window])
        a = alpha[window]
        shown = out[window]
        # Where the layer is opaque the blend is the warped pixel itself, and where it is
        # clear the plate: only the pixels between (the layer's soft edge) need the sum.
        opaque = a == 1
        # (OpenCV writes into the view; assigning its result back keeps that explicit.)
        shown[...] = cv2.copyTo(warped, opaque.view(np.uint8), shown)
        between = (a > 0) & ~opaque
        share = a[between][:, None]
        blended = warped[between] * share + self._plate[window][between] * (1 - share)
        shown[between] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        return out

    def _zoom_person(self, frame: np.ndarray, zoom: float) -> np.ndarray:
        """The whole person drawn ``zoom`` times as big about the chin, over the background.

        Head distance: a person who comes closer to the camera grows as a whole, hair and
        shoulders too, so nothing tears between what moves and what does not, and what a
        smaller person uncovers is the background plate (the person painted out), never the
        head's own painted-out place. Beyond the crop the photo's surroundings show (the
        body goes on below the frame).
        """
        centre = self.rig.neutral[CHIN, :2].astype(np.float32)
        scale = np.float32(zoom)
        # x depends on the column alone and y on the row alone: computed once each.
        unzoomed = np.empty_like(self._grid)
        unzoomed[..., 0] = centre[0] + (self._columns - centre[0]) / scale
        unzoomed[..., 1] = (centre[1] + (self._rows - centre[1]) / scale)[:, None]
        # The frame inside the photo's own surroundings: a smaller person shows the body
        # and hair that the crop cut off.
        pad = self._source_pad
        extended = self._source.copy()
        extended[pad : pad + self.size, pad : pad + self.size] = frame
        unzoomed += np.float32(pad)
        shown = cv2.remap(extended, unzoomed, None, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        alpha = cv2.remap(self._person_alpha, unzoomed, None, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)[..., None]  # fmt: skip
        out = shown * alpha + self._background * (1.0 - alpha)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def _rigid_coefficients(self, head: HeadFrame) -> np.ndarray:
        """Rows (dx, dy) of the rigid displacement, linear in (x, y, z, 1) about the pivot."""
        r = head.rotation
        return np.array(
            [
                [r[0, 0] - 1, r[0, 1], r[0, 2], head.translation[0]],
                [r[1, 0], r[1, 1] - 1, r[1, 2], head.translation[1]],
            ],
            np.float32,
        )

    def _landmark_motion(self, head: HeadFrame, expressed: np.ndarray) -> _LandmarkMotion:
        """How each landmark moves: with the head's smooth surface, and with the expression.

        The head part uses the smoothed depth map, not each landmark's own depth: on a face
        turned from the camera the landmarks of the far side crowd together at very different
        depths, and following them exactly would fold the image over itself.
        """
        neutral = self.rig.neutral
        with_head = (
            self._landmark_points @ self._rigid_coefficients(head).T
        ) * self._landmark_weight
        offsets = (expressed - neutral) @ head.rotation.T
        return _LandmarkMotion(with_head, offsets[:, :2])

    def _relief_motion(self, head: HeadFrame) -> np.ndarray:
        """What the face's own relief adds to the head's motion, (478, 2) pixel offsets.

        The rigid motion turns the smoothed depth map; the landmarks stand out from it (the
        nose in front, the eye sockets behind). Spread over the mesh, the difference makes the
        features turn as far as the face's true shape says, so a head turn reads as the
        commanded angle, while the smoothed map keeps the field from folding between them.
        """
        rigid = self._rigid_coefficients(head)
        return self._relief[:, None] * rigid[:, 2][None, :]

    def _forward_field(self, head: HeadFrame, expression: np.ndarray) -> np.ndarray:
        """Displacement of every photo pixel, (S, S, 2) float32, source to destination."""
        c = self._rigid_coefficients(head)
        field = np.zeros((self.size, self.size, 2), np.float32)
        r0, r1, c0, c1 = self._moving_box
        xc, yc, zc = self._centred
        # x and y about the pivot vary along one axis each.
        x, y, zc = xc[0, c0:c1], yc[r0:r1, 0], zc[r0:r1, c0:c1]
        w = self._head_weight[r0:r1, c0:c1]
        for axis in (0, 1):
            planar = c[axis, 0] * x + (c[axis, 1] * y)[:, None]
            planar += c[axis, 2] * zc
            planar += c[axis, 3]
            np.multiply(w, planar, out=field[r0:r1, c0:c1, axis])
        # The expression, spread from the landmarks over the mesh and fading out beyond
        # the face.
        x0, y0, x1, y1 = self._mesh_box
        offsets = expression[:N_MESH_LANDMARKS].astype(np.float32)
        for axis in (0, 1):  # one vector at a time: SciPy's product is faster so
            spread = self._mesh_matrix @ np.ascontiguousarray(offsets[:, axis])
            field[y0:y1, x0:x1, axis] += spread.reshape(y1 - y0, x1 - x0)
        return field

    def _rigid_source(self, head: HeadFrame, box: tuple[int, int, int, int]) -> np.ndarray:
        """Where each output pixel of ``box`` (x0, y0, x1, y1) comes from in the photo under
        the head's rigid motion alone (no expression), (h, w, 2) float32: the rigid part of
        :meth:`_forward_field`, inverted by fixed-point steps (it is smooth: a few suffice)."""
        x0, y0, x1, y1 = box
        c = self._rigid_coefficients(head)
        pivot = self.rig.pivot.astype(np.float32)
        grid = self._grid[y0:y1, x0:x1]
        source = grid.copy()
        for _ in range(RIGID_INVERSION_STEPS):
            weight = cv2.remap(self._head_weight, source, None, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
            depth = cv2.remap(self._centred[2], source, None, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
            x = source[..., 0] - pivot[0]
            y = source[..., 1] - pivot[1]
            for axis in (0, 1):
                moved = c[axis, 0] * x + c[axis, 1] * y + c[axis, 2] * depth + c[axis, 3]
                source[..., axis] = grid[..., axis] - weight * moved
        return source

    def _invert(self, field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Backward map (where each output pixel comes from) of a forward displacement field,
        and the (S, S) bool mask of pixels where it did not converge: where the field tears
        apart (between parting lips) no photo pixel lands, and the map there is noise."""
        grid = self._grid
        source = grid - field
        at_source = np.empty_like(field)
        for i in range(INVERSION_STEPS):
            cv2.remap(field, source, None, cv2.INTER_LINEAR, dst=at_source,
                      borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
            # Step toward the point whose image is this pixel: source + field(source) = grid.
            step = np.subtract(grid, at_source, out=at_source)
            step -= source
            if i == INVERSION_STEPS - 1:
                dx, dy = step[..., 0], step[..., 1]
                torn = dx * dx + dy * dy > TORN_STEP**2
            step *= INVERSION_DAMPING
            source += step
        return source, torn

    @staticmethod
    def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Bilinear samples of a single-channel float image at (N, 2) points."""
        h, w = image.shape
        x = np.clip(points[:, 0], 0, w - 1.001)
        y = np.clip(points[:, 1], 0, h - 1.001)
        x0, y0 = x.astype(int), y.astype(int)
        fx, fy = x - x0, y - y0
        top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
        bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
        return top * (1 - fy) + bottom * fy


def _fill_from_around(image: np.ndarray, hole: np.ndarray) -> None:
    """Fill the ``hole`` (bool) pixels of an (S, S, 3) image in place with the mean of the
    pixels around them (a normalized blur): a torn map's scattered samples of lip and
    shadow would show as specks where the mouth's interior does not cover them."""
    if not hole.any():
        return
    rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
    pad = _FILL_PAD
    y0, y1 = max(rows[0] - pad, 0), rows[-1] + pad + 1
    x0, x1 = max(cols[0] - pad, 0), cols[-1] + pad + 1
    patch = image[y0:y1, x0:x1].astype(np.float32)
    known = (~hole[y0:y1, x0:x1]).astype(np.float32)
    total = cv2.GaussianBlur(patch * known[..., None], (0, 0), TORN_FILL_SIGMA)
    weight = cv2.GaussianBlur(known, (0, 0), TORN_FILL_SIGMA)[..., None]
    # Deep inside a wide tear (a mouth corner stretched far) no known pixel is near: there
    # the map's own sample is kept (it has not converged, but lands on skin) instead of a
    # near-zero sum drawn as a black blob.
    keep = np.float32(1e-3)
    filled = (total + keep * patch) / (weight + keep)
    inside = hole[y0:y1, x0:x1]
    image[y0:y1, x0:x1][inside] = np.clip(filled[inside] + 0.5, 0, 255).astype(image.dtype)


def _hanging_from(top: np.ndarray, mask: np.ndarray, slant: int) -> np.ndarray:
    """The pixels of ``mask`` (bool) that hang from ``top`` (bool): reached from it going
    down the image row by row through ``mask``, a pixel sideways every ``slant`` rows at
    most (a slanting strand, not a fan over the shoulders); (S, S) bool. Hair hangs by
    gravity, down the image whatever the head's tilt."""
    reached = np.zeros_like(mask)
    above = np.zeros(mask.shape[1], bool)
    for row in range(mask.shape[0]):
        under = above.copy()
        if row % slant == 0:
            under[1:] |= above[:-1]
            under[:-1] |= above[1:]
        reached[row] = mask[row] & under
        above = reached[row] | top[row]
    return reached


def _touching(mask: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` (uint8 0/1) that have a pixel on ``seed`` (bool):
    (S, S) bool."""
    count, labels = cv2.connectedComponents(mask)
    keep = np.zeros(count, bool)
    keep[labels[seed]] = True
    keep[0] = False  # the background
    return keep[labels]


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Rows y0:y1 and columns x0:x1 of the bounding box of a non-empty (H, W) bool mask."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _painted_out(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` with ``hole`` (uint8 0/1) filled from its surroundings: (S, S, 3) float32.

    Inpainted small (inpainting is slow and the fill is smooth anyway), from pixels outside
    the hole only, so nothing of what it covered leaks into the fill.
    """
    size = image.shape[0]
    work = PLATE_WORK_SIZE
    small = cv2.resize(image, (work, work), interpolation=cv2.INTER_AREA)
    # Grown by one work pixel: a work pixel straddling the edge averages in what is inside.
    small_hole = cv2.resize(hole, (work, work), interpolation=cv2.INTER_AREA)
    small_hole = cv2.dilate((small_hole > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
    return cv2.resize(filled, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32)


class _Cover:
    """A region of the photo that motion can close over (an eye, an open mouth).

    Holds a copy of the photo with the region painted out from its surroundings; where the
    region shows in a frame, the frame fades toward that copy as the region closes, so a
    shut eye shows eyelid, not a squeezed iris, and pressed lips show lip, not teeth.
    """

    def __init__(self, photo: np.ndarray, outline: np.ndarray, grow: int = 1) -> None:
        size = photo.shape[0]
        lo = np.floor(outline.min(0)).astype(int) - 6 - 2 * grow
        hi = np.ceil(outline.max(0)).astype(int) + 7 + 2 * grow
        self._lo = np.clip(lo, 0, size - 1)
        self._hi = np.clip(hi, 1, size)
        x0, y0 = self._lo
        x1, y1 = self._hi
        patch = photo[y0:y1, x0:x1]
        hole = np.zeros(patch.shape[:2], np.uint8)
        cv2.fillPoly(hole, [np.round(outline - self._lo).astype(np.int32)], 1)
        hole = cv2.dilate(hole, _disc(grow))
        self._region = np.zeros((size, size), np.float32)
        self._filled = photo.astype(np.float32).copy()
        if hole.sum() == 0:
            self._empty = True
            return
        self._empty = False
        self._filled[y0:y1, x0:x1] = cv2.inpaint(patch, hole, 3, cv2.INPAINT_TELEA)
        self._region[y0:y1, x0:x1] = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), 1.0)

    def apply(self, frame: np.ndarray, backward: np.ndarray, amount: float) -> None:
        """Fade ``frame`` (uint8, in place) toward the painted-out copy by ``amount``."""
        if amount <= 0.02 or self._empty:
            return
        # Output pixels whose source lies in the region: find them near where it went.
        x0, y0 = self._lo
        x1, y1 = self._hi
        inside = (
            (backward[..., 0] >= x0) & (backward[..., 0] < x1)
            & (backward[..., 1] >= y0) & (backward[..., 1] < y1)
        )  # fmt: skip
        rows = np.flatnonzero(inside.any(1))
        cols = np.flatnonzero(inside.any(0))
        if len(rows) == 0:
            return
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        where = backward[r0:r1, c0:c1]
        weight = cv2.remap(self._region, where, None, cv2.INTER_LINEAR) * min(amount, 1.0)
        filled = cv2.remap(self._filled, where, None, cv2.INTER_LINEAR)
        patch = frame[r0:r1, c0:c1].astype(np.float32)
        w = weight[..., None]
        frame[r0:r1, c0:c1] = np.clip(patch * (1 - w) + filled * w + 0.5, 0, 255)
