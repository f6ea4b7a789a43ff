"""What moves with the head and what stays put: the head layer over a still plate.

Once per portrait: the head region (face, hair and hat above the ear lobes, a neck column,
hanging hair and a beard's edge below the lobes with a fading share of the head's motion), each
pixel's share of the head's rigid motion, and the layer's alpha over the photo with the head
region painted out. Shoulders, clothes and a collar are never warped, so nothing below the head
is dragged or leaves a ghost behind.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage, sparse
from scipy.sparse import linalg as sparse_linalg

from gioconda.face.portrait import Portrait
from gioconda.face.topology import CHIN, EAR_LOBES, FACE_OVAL, JAW_ANGLES, N_MESH_LANDMARKS
from gioconda.motion.frames import MotionFrame
from gioconda.render.mesh_cache import cached_landmark_mesh
from gioconda.render.regions import bounding_box, closer_in_colour, disc
from gioconda.render.rig import FaceRig

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


#: Over how far from what stays put beside the neck (a collar, a suit's ring, a shoulder) the
#: face's expression (the jaw's drop) fades out, share of the crop: the layer's edge there is
#: short (see :data:`BELOW_LOBES_EDGE`), and what it carried across that edge would show as a
#: step in whatever crosses it.
EXPRESSION_PIN = 0.05


#: How much a row's distance counts against a column's in that fade: the share changes this
#: many times more slowly down the image than across it.
EXPRESSION_PIN_DOWN = 0.3


#: How far past the face (the hull of its landmarks) its expression is kept whatever lies
#: beside, share of the crop: the still body there does not pin the face's own edge.
EXPRESSION_KEPT = 0.03


#: How steeply the jaw's drop may fall off down the throat below the chin: at JawOpen 1 the
#: field's slope along the face's down axis there is at most this (1 would fold the throat
#: under the chin; the inversion takes no Newton step below a Jacobian of 0.05, and 0.85 showed
#: a blocky band under the astronaut's chin). The chin drops over the throat, squeezing it,
#: and the motion ends as soon as that slope allows instead of fading out over the mesh's
#: rings (the Mona Lisa's neck column's foot moved 21 px with the chin's 36, now 11). Where the
#: chin drops further than the throat below it is long (the astronaut: 54 px over a 47-px
#: column) no field without a fold keeps the foot still: it moves at least the difference.
THROAT_SQUEEZE = 0.8


#: How far inside the jaw's angles the throat behind the dropping chin is all neck (see
#: :class:`ThroatLayer`), share of the crop: the expression's drop is small at the angles,
#: and the neck's motion there changes to the face's smoothly, without a seam down the neck.
THROAT_SIDE_RAMP = 0.03


#: The least displacement of the fully dropped jaw (pixels) where the throat behind the chin
#: is drawn from the neck's own motion: further down the face's motion is the neck's anyway.
THROAT_REACH_DROP = 0.1


#: How far past the head region's edge the face in front of the throat fades out, share of
#: the crop (see :meth:`_HeadLayerBuilder._make_throat`).
JAW_LINE_FADE = 0.016


#: The soft edge of the jaw's line over the throat (a Gaussian's sigma, pixels) where the
#: photo itself is sharp: about a sharp photo's own edge.
JAW_LINE_SOFTNESS = 0.7


#: Over how far from what stays put below the ear lobes (still clothes, an arm, a hanging
#: cloth's lower part) the head's rigid motion fades out on what moves with the head but is not
#: the face nor the neck (hair, a hand raised to the head, a headscarf's cloth), share of the
#: crop: the layer's edge there is short, and what it carried across it would show as a cut as
#: wide as the motion (29 px across the Vermeer's hanging cloth at roll 8).
STILL_PIN = 0.12


#: Half the width of the narrowest still body that pins the head's motion (see
#: :data:`STILL_PIN`), share of the crop.
STILL_PIN_SLIVER = 0.01


#: How far past the face (the hull of its landmarks) and the neck column the head's motion is
#: kept whole whatever still body lies near, share of the crop: the cheek's and the jaw's
#: own edge (the face's silhouette lies a little outside its landmarks) moves as one (with
#: none, the render evaluation's cheek contour rose 2.21 -> 2.25 on the bright astronaut; with
#: 0.03, hair beside a tilted head's jaw kept more of its tear: contour 1.72 -> 1.77).
STILL_PIN_KEPT = 0.015


#: Half the width of the widest strip of the still body that the head layer carries along
#: what moves, share of the crop (see :attr:`HeadRegion.carried`): the strip of neck skin
#: between the Vigee Le Brun's hanging hair and her jaw, which her pendant crosses, is 23 px
#: of 512 wide.
CARRIED_SLIVER = 0.025


#: Half the width of the widest bay of the still body between moving parts that the head
#: layer carries, share of the crop (see :attr:`HeadRegion.carried`): the hair below the Vigee
#: Le Brun's right pendant, which hanging hair on either side and the pendant above enclose,
#: is 45 px of 512 wide.
CARRIED_BAY = 0.045


#: Side of the image the painted-out plate is computed at (inpainting is slow, the fill smooth).
PLATE_WORK_SIZE = 160


#: How far inside the painted-out region's edge it is painted at the crop's own resolution,
#: share of the crop: about as far as a head turn or tilt uncovers (the jaw moves a few
#: pixels at yaw 10, the temple more at roll 8).
PLATE_EDGE_BAND = 0.03


@dataclass(frozen=True)
class HeadRegion:
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
    still_body: bool, the person below the lobes that stays put (collar, clothes, shoulders):
        it pins the head's motion (see :meth:`_HeadLayerBuilder._unpinned_share`)
    carried: bool, what the layer draws beyond the head, the neck and hanging hair, moved
        by the field (interpolated across it from what lies round it) rather than left to the
        still picture: the parts of the still body that lie between moving parts (a strip of
        neck skin between hanging hair and the jaw, the person's edge along hanging hair, a
        narrow bay between locks of hanging hair; they still pin the head's motion as the
        still body), and hanging hair's outline just past the segmentation's edge
    """

    head: np.ndarray
    neck: np.ndarray
    hanging: np.ndarray
    soft_edge: np.ndarray
    still_body: np.ndarray
    carried: np.ndarray


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


def _harmonic_fill(values: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``values`` (S, S) float32 with the pixels of ``hole`` (bool) replaced by the smoothest
    surface meeting the values round it (Laplace's equation, the values of the pixels beside
    the hole fixed): (S, S) float32. No value inside exceeds those round it."""
    rows, cols = np.nonzero(hole)
    count = len(rows)
    index = np.full(hole.shape, -1, np.int64)
    index[rows, cols] = np.arange(count)
    height, width = hole.shape
    degree = np.zeros(count)
    known = np.zeros(count)
    links_from, links_to = [], []
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = rows + dy, cols + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        degree += inside
        ny, nx, at = ny[inside], nx[inside], np.flatnonzero(inside)
        other = index[ny, nx]
        free = other >= 0
        links_from.append(at[free])
        links_to.append(other[free])
        np.add.at(known, at[~free], values[ny[~free], nx[~free]])
    source, target = np.concatenate(links_from), np.concatenate(links_to)
    system = sparse.csr_matrix(
        (np.concatenate([degree, -np.ones(len(source))]),
         (np.concatenate([np.arange(count), source]), np.concatenate([np.arange(count), target]))),
        shape=(count, count),
    )  # fmt: skip
    filled = values.copy()
    filled[rows, cols] = sparse_linalg.spsolve(system.tocsc(), known)
    return filled


def _painted_out(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` with ``hole`` (uint8 0/1) filled from its surroundings: (S, S, 3) float32.

    Inpainted small (inpainting is slow and the fill is smooth anyway), from pixels outside
    the hole only, so nothing of what it covered leaks into the fill. Along the hole's edge,
    where a moving head uncovers it, the fill is painted again at full resolution (see
    :func:`_edge_repainted`).
    """
    size = image.shape[0]
    work = PLATE_WORK_SIZE
    small = cv2.resize(image, (work, work), interpolation=cv2.INTER_AREA)
    # Grown by one work pixel: a work pixel straddling the edge averages in what is inside.
    small_hole = cv2.resize(hole, (work, work), interpolation=cv2.INTER_AREA)
    small_hole = cv2.dilate((small_hole > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
    coarse = cv2.resize(filled, (size, size), interpolation=cv2.INTER_CUBIC)
    return _edge_repainted(image, hole, coarse)


def _edge_repainted(image: np.ndarray, hole: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """``coarse`` (the small fill, enlarged) with the band of ``hole`` along its edge filled
    again at full resolution, from ``image`` outside the hole and ``coarse`` deeper in it:
    (S, S, 3) float32.

    The small fill cannot hold what borders the hole finely (a collar's edge a few pixels
    tall beside the jaw): its first pixels inside are a blur of the background's stripes, a
    step of up to 60 grey levels from the photo just outside, which a turning head uncovers
    as a thin light or dark line along its rest outline. Filled at full resolution the band
    continues the stripes from the photo and meets the small fill deeper in.
    """
    band = max(2, round(PLATE_EDGE_BAND * image.shape[0]))
    deep = cv2.erode(hole, disc(band))
    known = np.where(deep[..., None] > 0, np.clip(coarse, 0, 255), image).astype(np.uint8)
    return cv2.inpaint(known, hole & (1 - deep), 3, cv2.INPAINT_TELEA).astype(np.float32)


@dataclass(frozen=True)
class ThroatLayer:
    """The throat behind the dropping chin: drawn with the head's rigid motion alone (no
    expression), under the face, which the jaw's drop brings down in front of it.

    The backward map is continuous: a chin that drops further than the throat under it is
    long cannot be carried down by the field without dragging the neck over the still collar
    (54 px of drop over the astronaut's 47-px neck column). In a real face the chin moves in
    front of the neck, which stays where it is. So a frame's pixel shows the neck's own
    picture (the photo under the head's motion alone) by the share ``behind`` at its source
    under that motion times the share of it the face does not cover: 1 less ``front`` at its
    source under the whole field.

    Attributes
    ----------
    front: (S, S) float32 in [0, 1], the head (the face down to the jaw's line): what covers
        the throat, with a soft edge about as sharp as the photo
    behind: (S, S) float32 in [0, 1], the throat: below the jaw's line and between the jaw's
        angles (fading in from them), down as far as the fully dropped jaw moves anything
    box: rows y0:y1 and columns x0:x1 outside which ``behind`` is 0 (all 0: no throat)
    """

    front: np.ndarray
    behind: np.ndarray
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class HeadLayers:
    """The head layer of one portrait, in working-crop pixels.

    Attributes
    ----------
    region: what moves with the head (see :class:`HeadRegion`)
    weight: (S, S) float32 in [0, 1], each pixel's share of the head's rigid motion
    moving_box: rows y0:y1 and columns x0:x1 outside which ``weight`` is 0
    alpha: (S, S) float32 in [0, 1], the head layer's opacity
    plate: (S, S, 3) float32, the still picture under the layer: the photo with the head region
        painted out where the alpha is 1, the photo itself elsewhere
    expression_share: (S, S) float32 in [0, 1], the share of the face's expression (spread
        from the landmarks) each pixel takes: 1 but near the still body beside the neck
    throat: the throat behind the dropping chin (see :class:`ThroatLayer`)
    """

    region: HeadRegion
    weight: np.ndarray
    moving_box: tuple[int, int, int, int]
    alpha: np.ndarray
    plate: np.ndarray
    expression_share: np.ndarray
    throat: ThroatLayer


def head_layers(
    portrait: Portrait, rig: FaceRig, grid: np.ndarray, softness: float = 0.0
) -> HeadLayers:
    """The head layer of ``portrait`` (``grid``: (S, S, 2) float32 pixel coordinates;
    ``softness``: the crop's own blur, a Gaussian's sigma in pixels)."""
    builder = _HeadLayerBuilder(portrait, rig, grid)
    region = builder._make_head_region()
    weight = builder._make_head_weight(region)
    moving = weight > 0
    moving_box = bounding_box(moving) if moving.any() else (0, 0, 0, 0)
    alpha, plate = builder._make_layers(region)
    share = builder._make_expression_share(region)
    throat = builder._make_throat(region, share, softness)
    return HeadLayers(region, weight, moving_box, alpha, plate, share, throat)


class _HeadLayerBuilder:
    """The steps of :func:`head_layers`, sharing the portrait, its rig and its pixel grid."""

    def __init__(self, portrait: Portrait, rig: FaceRig, grid: np.ndarray) -> None:
        self.portrait = portrait
        self.rig = rig
        self.size = portrait.size
        self._grid = grid
        self._photo = portrait.image

    def _make_head_region(self) -> HeadRegion:
        """What moves with the head: the face, the person above the ear lobes (hair, hat),
        and a column down the neck (see :class:`HeadRegion`)."""
        rig, size = self.rig, self.size
        lm = rig.neutral
        centre = lm[list(FACE_OVAL), :2].mean(0)
        rel = (self._grid - centre) @ rig.axes.T.astype(np.float32)
        # Ear lobes (landmarks 132 and 361 sit just in front of them): above them the person
        # is head; below them, beside the jaw, it is neck, shoulders or clothes.
        lobes = float(np.mean((lm[list(EAR_LOBES), :2] - centre) @ rig.axes[1]))
        above = rel[..., 1] < lobes
        oval = lm[list(FACE_OVAL), :2]
        # The oval grown at the top for the hair line, not at the jaw: a collar or shoulder
        # can touch the jaw.
        growth = np.where((oval - centre) @ rig.axes[1] < lobes, HEAD_OVAL_GROWTH, 1.0)
        face = np.zeros((size, size), np.uint8)
        cv2.fillPoly(
            face, [np.round(centre + growth[:, None] * (oval - centre)).astype(np.int32)], (1,)
        )
        person = self.portrait.person_mask > 0.5
        # The oval's landmarks sit a little inside the face's silhouette: the person just
        # outside them is face too (the dark edge of a cheek, which would stay behind).
        near_face = cv2.dilate(face, disc(max(1, round(JAW_EDGE * size))))
        head = face | (person & (above | (near_face > 0))).astype(np.uint8)
        # Keep only what touches the face: a stray blob of "person" elsewhere is not head.
        head = _touching(head, face > 0).astype(np.uint8)
        margin = self._layer_margin
        chin = float((lm[CHIN, :2] - centre) @ rig.axes[1])
        # The neck as the segmentation sees it (a collar it missed stays out), between the
        # jaw's angles (a collar beside them stays out too), from the lobes down as far as
        # the head's motion reaches.
        jaw_angles = np.sort((lm[list(JAW_ANGLES), :2] - centre) @ rig.axes[0])
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
        # Its narrow parts along what moves go with the layer (see :meth:`_carried`): they
        # do not shorten its edge.
        carried = self._carried(body, moving, hanging > 0)
        stays = body & (1 - carried.astype(np.uint8))
        far_from_body = cv2.distanceTransform(1 - stays, cv2.DIST_L2, 5) > 2 * margin
        soft_edge = above | far_from_body
        # Hair, and the soft edge of a cheek or a jaw, reach a little past the segmentation's
        # edge: grow the head there, above the lobes, and below them into the background
        # where that takes in nothing of the still body.
        grow = above | (far_from_body & ~person)
        head |= cv2.dilate(head, disc(margin)) & grow.astype(np.uint8)
        # And hanging hair's outer edge below them (its dark outline, which the segmentation
        # leaves out): left to the still picture it stayed behind as a dark line beside the
        # moving hair, a light strip of the painted-out plate between them (18 px apart at the
        # Mona Lisa's hair at roll -8). The layer draws it, moved by the field's fade from the
        # hair (the hair's own share there would step where the growth ends, at the lobes'
        # line, and fold the field).
        beyond = (far_from_body & ~person & ~above).astype(np.uint8) & (1 - head) & (1 - neck)
        outline = cv2.dilate((hanging > 0).astype(np.uint8), disc(margin)) & beyond
        outline &= (hanging == 0).astype(np.uint8)
        return HeadRegion(
            head,
            neck & (1 - head),
            hanging * (1 - head),
            soft_edge,
            body > 0,
            carried | (outline > 0),
        )

    def _carried(self, body: np.ndarray, moving: np.ndarray, hanging: np.ndarray) -> np.ndarray:
        """The parts of the still body (uint8 0/1) that lie between what moves (uint8 0/1)
        and touch hanging hair (bool): its strips narrower than twice :data:`CARRIED_SLIVER`,
        and its bays narrower than twice :data:`CARRIED_BAY` that what moves encloses; (S, S)
        bool. What touches only the neck column or the face (a collar's tip beside the neck)
        stays put: the head moves over it, and the jaw's drop, which is not pinned next to
        the face, would carry it off the collar (a light notch in the astronaut's suit ring).

        Left to the still picture, such a part shows twice or tears: the layer moves on
        either side of it and over it (the field there is the head's motion, faded), so the
        frame shows the still picture where the layer's pixels should be (a light sliver
        between the Mona Lisa's neck and her hanging hair; the Vigee Le Brun's pendant
        earrings, whose lower half crosses such a part, split in two 15 px apart at roll 8).
        Drawn by the layer, it moves with what lies round it and bends; where it meets the
        broad still body it moves as far as the field does there, which the still body pins.
        """
        size = self.size
        broad = cv2.morphologyEx(body, cv2.MORPH_OPEN, disc(round(CARRIED_SLIVER * size)))
        beside_hair = cv2.dilate(hanging.astype(np.uint8), disc(1)) > 0
        strips = _touching(body & (1 - broad), beside_hair)
        around = (moving | strips).astype(np.uint8)
        bays = cv2.morphologyEx(around, cv2.MORPH_CLOSE, disc(round(CARRIED_BAY * size)))
        return strips | _touching(bays & body, beside_hair)

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
        hair = at_lobes & (cv2.dilate(face, disc(self._layer_margin)) == 0)
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
        near_still = cv2.dilate(still.astype(np.uint8), disc(gap)) > 0
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
        band = _touching(band.astype(np.uint8), cv2.dilate(head, disc(1)) > 0)
        t = np.clip(1.0 - outside / reach, 0.0, 1.0)
        return (band * (t * t * (3 - 2 * t))).astype(np.float32)

    @property
    def _head_fade(self) -> float:
        """How far the head's motion reaches beyond the head, pixels (down the neck too)."""
        return HEAD_FADE * self.size

    @property
    def _layer_margin(self) -> int:
        return max(2, round(self.size * LAYER_MARGIN))

    def _make_head_weight(self, region: HeadRegion) -> np.ndarray:
        """How much of the head's rigid motion each pixel takes, (S, S) float32 in [0, 1].

        1 on the head (face, hair, hat, whatever the segmentation joins to it), fading with
        the distance from it, so the field is smooth and stays invertible; the fade runs down
        the neck from the chin. Beyond the head the fade only moves pixels that the layers do
        not show (see :meth:`_make_layers`). Near the still body below the ear lobes, away
        from the face and the neck, it fades out (see :meth:`_unpinned_share`).
        """
        weight = self._fading_from(region.head, np.ones(region.head.shape, np.float32))
        if region.hanging.any():
            # Hanging hair takes its own share, and what lies around it a fading part of that.
            weight = np.maximum(weight, self._fading_from(region.hanging > 0, region.hanging))
        weight = weight * self._unpinned_share(region)
        if region.carried.any():
            # Across a carried strip the share of the nearest moving pixel changes from one
            # side to the other (hanging hair on one side, the jaw on the other): drawn by
            # the layer, a jump there would split whatever crosses the strip (a pendant
            # earring). Interpolated smoothly from all round it, it bends instead.
            weight = _harmonic_fill(weight, region.carried)
        return weight

    def _unpinned_share(self, region: HeadRegion) -> np.ndarray:
        """The share of the head's rigid motion each pixel keeps near what stays put below the
        ear lobes, (S, S) float32 in [0, 1]: none on the still body, all of it from
        :data:`STILL_PIN` away from it, and all of it on the face (the hull of its landmarks)
        and the neck column and within :data:`STILL_PIN_KEPT` of them, less with the distance
        beyond over :data:`STILL_PIN` (smoothstep both ways, the larger of the two: the field
        has no kink, and its slope stays that of one ramp over :data:`STILL_PIN`). Still
        slivers narrower than twice :data:`STILL_PIN_SLIVER` pin nothing.

        The layer ends at once against the still body (see :data:`BELOW_LOBES_EDGE`). Beside
        the jaw and the neck that edge is an outline the head moves over the collar (pinned
        there, the field would crush the jaw's side: a pin reaching 0.04 of the crop from the
        face folded it beside the astronaut's and a bearded man's jaw). Away from them it
        cuts through one thing that crosses the lobes' line (a hand raised to the head, a
        headscarf's cloth hanging past the shoulder, hair resting on a shoulder): above the
        line that thing moved with the head, below it stayed, and the frame showed a step as
        wide as the motion. Fading the motion out toward the still body bends it instead.
        """
        size = self.size
        # A sliver of it between moving parts (the person between the neck column and hanging
        # hair, the Mona Lisa's and a long-haired woman's) is no broad thing the head's motion
        # cuts: pinned, the long hair round it bent (2.8 px over 12 rows at roll 8, against
        # 0.7 without the pin), and it still tears as before.
        still = cv2.morphologyEx(
            region.still_body.astype(np.uint8), cv2.MORPH_OPEN,
            disc(max(1, round(STILL_PIN_SLIVER * size)))
        ) > 0  # fmt: skip
        if not still.any():
            return np.ones(still.shape, np.float32)
        reach = STILL_PIN * size
        from_still = cv2.distanceTransform((~still).astype(np.uint8), cv2.DIST_L2, 5)
        t = np.clip(from_still / reach, 0.0, 1.0)
        face = np.zeros((size, size), np.uint8)
        points = self.rig.neutral[:N_MESH_LANDMARKS, :2].astype(np.float32)
        cv2.fillConvexPoly(face, np.round(cv2.convexHull(points)).astype(np.int32), (1,))
        off_face = ((face | region.neck) == 0).astype(np.uint8)
        from_face = cv2.distanceTransform(off_face, cv2.DIST_L2, 5) - STILL_PIN_KEPT * size
        k = np.clip(1.0 - from_face / reach, 0.0, 1.0)
        return np.maximum(t * t * (3 - 2 * t), k * k * (3 - 2 * k)).astype(np.float32)

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

    def _make_expression_share(self, region: HeadRegion) -> np.ndarray:
        """The share of the face's expression each pixel takes, (S, S) float32 in [0, 1]:
        none at the still body beside the neck column (see :meth:`_beside_column_share`),
        and down the throat below the chin no more than lets the jaw's drop end there as
        soon as the throat can be squeezed without folding (see :meth:`_throat_share`): the
        smaller of the two (their product steepened the pin's own fold beside the Vermeer's
        neck at JawOpen 1, Jacobian -0.61 -> -0.71; the smaller leaves it as it was)."""
        return np.minimum(self._beside_column_share(region), self._throat_share()).astype(
            np.float32
        )

    def _full_jaw_drop(self) -> tuple[np.ndarray, np.ndarray]:
        """How far the fully dropped jaw (JawOpen 1) moves each mesh landmark down the face's
        axis, (N_MESH_LANDMARKS,) float32 pixels, and that spread over the mesh's pixels,
        (S, S) float32 (0 outside the mesh's box)."""
        lm, axes, size = self.rig.neutral, self.rig.axes, self.size
        dropped = self.rig.expression(MotionFrame.still(JawOpen=1.0))
        drop = ((dropped - lm)[:N_MESH_LANDMARKS, :2] @ axes[1]).astype(np.float32)
        mesh = cached_landmark_mesh(lm, size, self._grid)
        x0, y0, x1, y1 = mesh.box
        spread = np.zeros((size, size), np.float32)
        spread[y0:y1, x0:x1] = (mesh.matrix @ drop).reshape(y1 - y0, x1 - x0)
        return drop, spread

    def _throat_share(self) -> np.ndarray:
        """The share of the face's expression each pixel below the chin's level takes, (S, S)
        float32 in [0, 1]: 1 at and above the chin, and below it what caps the fully dropped
        jaw's displacement down the face's axis at the chin's own drop less
        :data:`THROAT_SQUEEZE` times the distance below the chin: 0 from as far below it
        as the chin drops over that slope.

        The mesh spreads the chin's drop over rings reaching far below the face: the neck
        column, an arm under the chin and the column's foot on a collar moved with it (the
        foot by over half the chin's drop), and the layer ends at the foot, so the frame
        showed the neck sliding over the still chest. When a jaw drops, the chin and the skin under
        it move, the throat under it is squeezed and the neck's base does not move.
        """
        lm, axes, size = self.rig.neutral, self.rig.axes, self.size
        centre = lm[list(FACE_OVAL), :2].mean(0)
        below = (self._grid - centre) @ axes[1].astype(np.float32) - float(
            (lm[CHIN, :2] - centre) @ axes[1]
        )
        drop, spread = self._full_jaw_drop()
        # The chin's own edge lies a little below its landmark (see :data:`JAW_EDGE`): it
        # drops whole, the squeeze starts under it (squeezed, it showed a notch).
        under_chin = np.maximum(below - 2 * JAW_EDGE * size, 0.0)
        allowed = np.maximum(float(drop[CHIN]) - THROAT_SQUEEZE * under_chin, 0.0)
        capped = (below > 0) & (spread > allowed)
        share = np.ones((size, size), np.float32)
        share[capped] = allowed[capped] / spread[capped]
        return share

    def _make_throat(self, region: HeadRegion, share: np.ndarray, softness: float) -> ThroatLayer:
        """The throat behind the dropping chin (see :class:`ThroatLayer`), given each
        pixel's ``share`` of the expression and the crop's own blur ``softness`` (pixels)."""
        lm, axes, size = self.rig.neutral, self.rig.axes, self.size
        # The face fades out past the head region's edge (where the segmentation and the
        # jaw's landmarks end), not at it: a beard's fringe, or the shade under a jaw, lies
        # a few pixels beyond, and cut at the edge the dropped chin showed a clean outline
        # with the fringe left on the neck behind it.
        outside = cv2.distanceTransform(1 - region.head, cv2.DIST_L2, 5)
        fade = np.clip(1.0 - outside / (JAW_LINE_FADE * size), 0.0, 1.0)
        sigma = max(JAW_LINE_SOFTNESS, softness)
        front = cv2.GaussianBlur(fade * fade * (3 - 2 * fade), (0, 0), sigma)
        centre = lm[list(FACE_OVAL), :2].mean(0)
        rel = (self._grid - centre) @ axes.T.astype(np.float32)
        lobes = float(np.mean((lm[list(EAR_LOBES), :2] - centre) @ axes[1]))
        jaw_angles = np.sort((lm[list(JAW_ANGLES), :2] - centre) @ axes[0])
        inside = np.minimum(rel[..., 0] - jaw_angles[0], jaw_angles[1] - rel[..., 0])
        t = np.clip(inside / (THROAT_SIDE_RAMP * size), 0.0, 1.0)
        # Only as far down as the fully dropped jaw moves anything: below, the face's field
        # is the neck's already.
        _, spread = self._full_jaw_drop()
        # (Fading in as the drop grows from that to a pixel: no seam where the throat ends.)
        reach = np.clip((np.abs(spread * share) - THROAT_REACH_DROP) / (1 - THROAT_REACH_DROP),
                        0.0, 1.0)  # fmt: skip
        behind = (1.0 - front) * (t * t * (3 - 2 * t)) * (rel[..., 1] > lobes)
        behind = (behind * reach * reach * (3 - 2 * reach)).astype(np.float32)
        box = bounding_box(behind > 0) if (behind > 0).any() else (0, 0, 0, 0)
        return ThroatLayer(front.astype(np.float32), behind, box)

    def _beside_column_share(self, region: HeadRegion) -> np.ndarray:
        """The share of the face's expression each pixel takes beside the neck column and a
        beard's band below the ear lobes, (S, S) float32 in [0, 1].

        The expression is spread from the landmarks over a mesh reaching well past the face
        oval (see :func:`~gioconda.render.warp.landmark_mesh`); below the ear lobes the layer
        carrying the neck column and a beard's band ends at once against the still body
        beside them. There the jaw's drop would cut whatever crosses that edge (a suit's
        ring beside the chin) into a step that grows with the jaw: the share falls to none
        at the still body beside them, over :data:`EXPRESSION_PIN` (with the distance, so
        it stays continuous: a jump in the field would tear the map). Below the column,
        below the chin (between the jaw's angles) and above the chin's level the still body
        pins nothing: the dropping chin moves over what lies under it (pinned it would fold),
        and the jaw's line slides on what frames it. The face (all its landmarks: a face in
        three-quarter view has its nose and mouth beyond the oval) and where the fully
        dropped jaw takes it keep all of it, and what lies just outside them most (over
        :data:`EXPRESSION_KEPT`): a chin whose drop is squeezed reads less open.
        """
        size = self.size
        off_face = ((region.neck > 0) | (region.hanging > 0)) & (region.head == 0)
        # The still body beside them along the row, not under them: a slanting bottom edge
        # of the column steps sideways a pixel at a time, and what lies under its steps has
        # the column just above it.
        reach = 2
        across = cv2.dilate(off_face.astype(np.uint8), np.ones((1, 2 * reach + 1), np.uint8)) > 0
        from_above = np.zeros_like(off_face)
        for rows in range(1, reach + 2):
            from_above[rows:] |= off_face[:-rows]
        # Only beside the jaw's angles and beyond them: between them lies the path of the
        # dropping chin (a beard's lower edge over a shirt), which must stay free to take it.
        lm = self.rig.neutral
        centre = lm[list(FACE_OVAL), :2].mean(0)
        rel = (self._grid - centre) @ self.rig.axes.T.astype(np.float32)
        jaw_angles = np.sort((lm[list(JAW_ANGLES), :2] - centre) @ self.rig.axes[0])
        slack = 2 * reach
        outside_jaw = (rel[..., 0] < jaw_angles[0] + slack) | (rel[..., 0] > jaw_angles[1] - slack)
        # And from the chin's level down: beside the jaw's line above it the still body
        # (or what the segmentation takes for it) frames the face, and the jaw slides on it.
        chin = float((lm[CHIN, :2] - centre) @ self.rig.axes[1])
        below_chin = rel[..., 1] >= chin
        beside = region.still_body & across & ~from_above & outside_jaw & below_chin
        if not beside.any():
            return np.ones(beside.shape, np.float32)
        # The face, and where the fully dropped jaw takes it (the chin's path is kept free).
        dropped = self.rig.expression(MotionFrame.still(JawOpen=1.0))
        face = np.zeros((size, size), np.uint8)
        for landmarks in (lm, dropped):
            points = landmarks[:N_MESH_LANDMARKS, :2].astype(np.float32)
            cv2.fillConvexPoly(face, np.round(cv2.convexHull(points)).astype(np.int32), (1,))
        from_face = cv2.distanceTransform(1 - face, cv2.DIST_L2, 5)
        kept_reach = EXPRESSION_KEPT * size
        # What touches the face is not counted: the face keeps its motion there.
        beside &= from_face >= kept_reach
        if not beside.any():
            return np.ones(beside.shape, np.float32)
        # Rows count for less than columns: the share changes slowly down the image, so that
        # where the still body lies near the chin (a face in three-quarter view) the field
        # does not squeeze the chin's drop into a crease.
        distance = ndimage.distance_transform_edt(~beside, sampling=(EXPRESSION_PIN_DOWN, 1.0))
        t = np.clip(distance / (EXPRESSION_PIN * size), 0.0, 1.0)
        kept = np.clip(1.0 - from_face / kept_reach, 0.0, 1.0)
        share = np.maximum(t * t * (3 - 2 * t), kept * kept * (3 - 2 * kept))
        return share.astype(np.float32)

    def _make_layers(self, region: HeadRegion) -> tuple[np.ndarray, np.ndarray]:
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
        core |= region.carried.astype(np.uint8)
        outside = cv2.distanceTransform(1 - core, cv2.DIST_L2, 5)
        fade = np.where(region.soft_edge, float(margin), BELOW_LOBES_EDGE * self.size)
        alpha = np.clip(1.0 - outside / fade, 0.0, 1.0).astype(np.float32)
        # Under the head the painted-out plate reaches the region's very edge: what a moving
        # head uncovers must not show its own outline. The rest frame does not see it (the
        # alpha is 1 there).
        plate = _painted_out(self._photo, cv2.dilate(core, disc(2)))
        under = np.where(core[..., None] > 0, plate, self._photo.astype(np.float32))
        return alpha, np.clip(under, 0, 255).astype(np.float32)
