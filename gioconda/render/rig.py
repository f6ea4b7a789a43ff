"""The face rig: how ARKit blendshapes and head pose move a portrait's 3D landmarks.

Built once per portrait from its neutral landmarks. Each blendshape is a displacement of
the landmarks measured in the face's own frame (origin at the mouth, x along the eye line,
units of the mouth's width), so the same coefficients mean the same gesture on any face,
at any size and tilt. The head is then rotated about a pivot near the centre of the skull.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gioconda.face.topology import (
    CHIN,
    FACE_OVAL,
    FACE_SIDES,
    INNER_EYE_CORNERS,
    INNER_MOUTH_CORNERS,
    LEFT_BROW_LOWER,
    LEFT_BROW_UPPER,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_NOSE_WING,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    MOUTH_CORNERS,
    RIGHT_BROW_LOWER,
    RIGHT_BROW_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_NOSE_WING,
)
from gioconda.geometry import rotation_matrix
from gioconda.motion.blendshapes import BS
from gioconda.motion.frames import MotionFrame
from gioconda.timeline import smoothstep

#: How far the lower lip drops at JawOpen = 1, in mouth widths.
JAW_DROP = 0.55


#: How far past the seam each lip goes when the mouth closes, in mouth widths.
LIP_PRESS = 0.012


#: Share of an eye's opening that the upper lid travels in a blink (the lower lid does the rest).
UPPER_LID_SHARE = 0.8


# The upper face is measured in inter-ocular distances (between the eyes' centres), not mouth
# widths: a broad smile in the photo widens the mouth but not the brows.
#: Brow travel at BrowInnerUp or BrowOuterUp = 1, and at BrowDown = 1, in inter-ocular distances.
BROW_RAISE = 0.14
#: How far above the upper lid line a brow's pull on the lid's fold ends, in eye widths: the lid's
#: margin and lashes stay with the eye (about the lash band of :mod:`gioconda.render.lids`).
BROW_LID_MARGIN = 0.07


# Re-detected by Face Mesh, BrowDown = 1 drops the brows 0.066-0.072 inter-ocular distances on
# real photos: a deep frown, which angry needs to read as brows down on a photo whose own smile
# is undone first (undoing it lifts the brows as Face Mesh reads them).
# reenact.BROW_LOWER_FULL is that re-detected drop, so reenactment's round trip stays one.
BROW_LOWER = 0.12


#: Lid travel at 1, as shares of each eye's opening: (upper lid down, lower lid up). Negative
#: is opening. A wide eye lifts its upper lid; a squint mostly raises the lower one.
SQUINT_LIDS = (0.10, 0.35)


WIDE_LIDS = (-0.30, -0.05)


CHEEK_SQUINT_LIDS = (0.0, 0.15)


#: The most a wide eye's upper lid rises, as a share of its room below the brow.
LID_ROOM_SHARE = 0.5


#: How far the cheek rises under the eye at CheekSquint = 1, in inter-ocular distances.
CHEEK_LIFT = 0.07


#: How far the side of the nose rises at NoseSneer = 1, and how far round the nose's wing the
#: skin goes with it (across, up and down), in inter-ocular distances.
SNEER_LIFT = 0.08


SNEER_REACH = (0.5, 0.6)


#: Mouth shapes at 1, in mouth widths: corners down (frown), lower lip down, the middle of the
#: lips pushed up by the chin (shrug), the whole mouth aside.
FROWN_DROP = 0.10
#: How far a smile lifts the mouth's corners at 1, in mouth widths.
SMILE_LIFT = 0.12


#: Where a face at rest holds its mouth's corners, in mouth widths above the middle of the
#: lips' seam (negative: below). Measured on neutral photos of four adults (-0.03 to -0.02);
#: a little above them, so that a neutral face is not read as frowning.
REST_CORNER_LIFT = -0.01


#: A dropping jaw takes the mouth's corners down with it: by this share of how far they sit
#: above a face's at rest (:data:`REST_CORNER_LIFT`), fully from JawOpen
#: :data:`JAW_FOR_CORNERS` on; a frame that smiles this much (MouthSmile) keeps them up, and
#: rounded lips draw them in instead.
JAW_LOWERS_CORNERS = 0.8


JAW_FOR_CORNERS = 0.45


SMILE_KEEPS_CORNERS = 0.3


#: A spread vowel's MouthStretch this strong keeps them up too.
STRETCH_KEEPS_CORNERS = 0.5


LOWER_LIP_DROP = 0.10


SHRUG_LIFT = 0.05


MOUTH_SIDEWAYS = 0.12


#: Share of the lips' thickness that pressing and rolling them in take away, and of the photo's
#: own parting of the lips that pressing them closes.
PRESS_THIN = 0.3


PRESS_CLOSE = 1.0


ROLL_UPPER_THIN = 0.6


#: How far a puffed cheek bulges sideways, in mouth widths.
CHEEK_PUFF = 0.07
#: Share of the lips' gap toward the corners that rounding them (funnel, pucker) closes.
ROUND_SEAL = 0.7


#: How far the renderer turns the features of a face that the photo shows from the front, per
#: degree of yaw commanded (:func:`drawn_yaw_gain`); the face's outline, the hair and what is
#: beside them turn as commanded. The rig's turn follows MediaPipe's own depth, which is already
#: about as deep as an average face (nose tip to cheek sides 0.64-0.75 of the face's width on
#: every evaluation portrait), yet MediaPipe re-detecting a frontal face turned so reads it as
#: 0.67-0.77 of the turn (the astronaut: 10 degrees read as 6.8, 20 as 15.2, 30 as 24.3),
#: while faces the photo shows turned 19 degrees or more read 0.71-0.95. Features turned 1.25
#: times as far within an outline that turns as commanded read 0.9-1.1 of the command.
FRONTAL_YAW_GAIN = 1.25


#: Degrees of the commanded turn that get the gain: what MediaPipe reads short of a frontal
#: face's turn stops growing past about 20 degrees (the astronaut turned 10, 20, 30, 40: 3, 5,
#: 6, 5 degrees short), so turns beyond this add to the features' yaw one for one.
FRONTAL_YAW_GAIN_REACH = 15.0


#: The face's own yaw in the photo, degrees: up to the first the whole gain, from the second
#: none, eased between (the Mona Lisa, turned 19 degrees, already reads her turns in full).
FRONTAL_YAW_FADE = (10.0, 20.0)


#: The yaw, degrees, each way, at which the renderer finds how much of a rigid turn its drawn
#: landmarks make (:func:`rigid_turn_share`): the size of a speaking head's turns.
TURN_PROBE_YAW = 10.0


#: The most the features' further turn may make up for the warp's own shortfall: a face the photo
#: shows turned 40 degrees needs up to 1.31; beyond this the photo's landmarks are not trusted.
DELIVERY_GAIN_MAX = 1.4


#: Left-right pairs of landmarks (subject's right, left) whose 3D direction gives the face's
#: own yaw: cheek sides, eye corners, mouth corners, jaw, brows.
_SYMMETRIC_PAIRS = (
    (234, 454), (33, 263), (133, 362), (61, 291), (127, 356), (93, 323), (132, 361),
    (58, 288), (172, 397), (70, 300), (105, 334),
)  # fmt: skip


def rest_yaw(landmarks: np.ndarray) -> float:
    """The face's own yaw in the photo, degrees, in the motion's convention (+ when the nose
    points to the image's right), from the direction of its left-right axis in MediaPipe's 3D
    landmarks (478, 3)."""
    pairs = np.array(_SYMMETRIC_PAIRS)
    across = (landmarks[pairs[:, 1]] - landmarks[pairs[:, 0]]).astype(np.float64).sum(0)
    return float(np.degrees(np.arctan2(across[2], across[0])))


def drawn_yaw_gain(yaw_in_photo: float) -> float:
    """How many degrees the renderer turns the face's features per degree of yaw commanded (up to
    :data:`FRONTAL_YAW_GAIN_REACH`), for a face the photo shows at ``yaw_in_photo`` degrees:
    :data:`FRONTAL_YAW_GAIN`, fading out over :data:`FRONTAL_YAW_FADE`."""
    start, end = FRONTAL_YAW_FADE
    turned = float(smoothstep(np.asarray((abs(yaw_in_photo) - start) / (end - start))))
    return 1.0 + (FRONTAL_YAW_GAIN - 1.0) * (1.0 - turned)


def drawn_yaw(commanded: float, gain: float | tuple[float, float]) -> float:
    """The yaw the renderer draws the features at for ``commanded`` degrees, with ``gain``
    (:func:`drawn_yaw_gain`'s; or one for turns to -yaw and one for turns to +yaw) over the
    first :data:`FRONTAL_YAW_GAIN_REACH` degrees."""
    if isinstance(gain, tuple):
        gain = gain[1] if commanded > 0 else gain[0]
    reach = FRONTAL_YAW_GAIN_REACH
    return commanded + (gain - 1.0) * min(max(commanded, -reach), reach)


def rigid_turn_share(
    landmarks: np.ndarray, pivot: np.ndarray, drawn_x: list[tuple[float, np.ndarray]]
) -> float:
    """How much of a rigid turn of the face's own 3D landmarks the renderer's drawn landmarks
    make: the least-squares slope of their sideways motion on that of the rigid turn, both
    about their mean (1: as far; less: short), pooled over the yaws given.

    The rigid turn takes no point as behind the pivot: landmarks Face Mesh places behind it lie
    on a turned face's far outline, where the head is seen edge on and its outline stays put
    as it turns (as the renderer's depth map has it).

    Parameters
    ----------
    landmarks: (N, 3) the photo's mesh landmarks, crop pixels
    pivot: (3,) the head's pivot
    drawn_x: (yaw in degrees, (N,) how far the renderer moves each landmark sideways, pixels)

    Returns
    -------
    float: the share, 1.0 where the rigid turn moves nothing
    """
    points = landmarks.astype(np.float64).copy()
    points[:, 2] = np.minimum(points[:, 2], pivot[2])
    along = across = 0.0
    for yaw, moved in drawn_x:
        rigid = (points - pivot) @ rotation_matrix(yaw, 0.0, 0.0)[0] - (points[:, 0] - pivot[0])
        rigid = rigid - rigid.mean()
        along += float(rigid @ (moved - moved.mean()))
        across += float(rigid @ rigid)
    return along / across if across > 0 else 1.0


@dataclass(frozen=True)
class HeadFrame:
    """The head's pose: ``p' = pivot + R (p - pivot) + t``, and the head distance ``scale``.

    The renderer draws the whole person ``scale`` times as big about the chin (a person who
    comes closer to the camera grows, shoulders and all), so ``scale`` is not part of the
    head's rotation about the pivot.

    Attributes
    ----------
    rotation: (3, 3) float64
    pivot: (3,) float64, crop pixels
    scale: float
    translation: (2,) float64, crop pixels
    """

    rotation: np.ndarray
    pivot: np.ndarray
    scale: float
    translation: np.ndarray


class FaceRig:
    """Deforms one portrait's neutral landmarks by a :class:`MotionFrame`."""

    def __init__(self, landmarks: np.ndarray) -> None:
        self.neutral = landmarks.astype(np.float64)
        lm = self.neutral
        right_eye = lm[list(RIGHT_EYE_UPPER + RIGHT_EYE_LOWER), :2].mean(0)
        left_eye = lm[list(LEFT_EYE_UPPER + LEFT_EYE_LOWER), :2].mean(0)
        ex = left_eye - right_eye
        self.inter_ocular = float(np.linalg.norm(ex))
        ex /= np.linalg.norm(ex)
        ey = np.array([-ex[1], ex[0]])  # image-down when the face is upright
        self.axes = np.stack([ex, ey])  # rows: the face's x and y axes in image coordinates
        corners = lm[list(MOUTH_CORNERS), :2]
        self.mouth_centre = corners.mean(0)
        self.mouth_width = float(np.linalg.norm(corners[1] - corners[0]))
        oval = lm[list(FACE_OVAL)]
        self.face_width = float(np.ptp(oval[:, :2] @ ex))
        self.face_height = float(np.ptp(oval[:, :2] @ ey))

        # Face-frame coordinates of every landmark: in pixels (x across, y down, from the
        # mouth's centre), and as u across (half mouth widths) and v down (mouth widths).
        self.xy = (lm[:, :2] - self.mouth_centre) @ self.axes.T
        self.u = self.xy[:, 0] / (self.mouth_width / 2)
        self.v = self.xy[:, 1] / self.mouth_width

        self._build_mouth()
        self._build_eyes()
        self._build_brows()
        self._build_nose()
        #: The shapes the lids' own travel reads (left out of the warp, see :meth:`expressions`).
        self._lid_shapes = [BS[f"Eye{shape}{side}"] for shape in ("Blink", "Squint")
                            for side in ("Right", "Left")]  # fmt: skip
        self._build_head()

    # -- construction -------------------------------------------------------------------

    def _build_mouth(self) -> None:
        u, v = self.u, self.v
        up, lo = np.array(LIPS_INNER_UPPER), np.array(LIPS_INNER_LOWER)
        seam_u = (u[up] + u[lo]) / 2
        seam_v = (v[up] + v[lo]) / 2
        order = np.argsort(seam_u)
        self._seam_u, self._seam_v = seam_u[order], seam_v[order]
        self._rest_gap_u = seam_u[order]
        self.rest_gap = np.maximum(v[lo] - v[up], 0.0)[order]  # per inner-lip pair, mouth widths
        seam_at = np.interp(u, self._seam_u, self._seam_v)
        below = v > seam_at
        below[list(LIPS_INNER_LOWER) + list(LIPS_OUTER_LOWER)] = True
        below[list(LIPS_INNER_UPPER) + list(LIPS_OUTER_UPPER)] = False
        corners = [*MOUTH_CORNERS, *INNER_MOUTH_CORNERS]
        self.lower = below.astype(np.float64)
        self.lower[corners] = 0.5  # the corners belong to both lips
        self.dist_seam = np.abs(v - seam_at)

        au = np.abs(u)
        # How much of the jaw's drop each point follows: the lower lip and chin fully,
        # tapering toward the mouth corners and out along the jaw to nothing near the ears.
        taper = np.interp(au, [0.0, 0.3, 1.0, 1.6, 2.6], [1.0, 1.0, 0.55, 0.3, 0.0])
        self.jaw_weight = self.lower * taper
        # Points on or near the lips follow lip gestures; skin fades out with distance.
        lip_band = np.clip(1.0 - (self.dist_seam - 0.3) / 0.5, 0.0, 1.0)
        self.lip_weight = lip_band * np.interp(au, [0.0, 1.0, 1.7], [1.0, 1.0, 0.0])
        # Above the lips the skin's share fades out before the eyes: on a short face or a wide
        # (smiling) mouth, 1.15 mouth widths reach the lower lids, and a smile, or a smiling
        # photo's smile undone, would move the eyes and irises with the corners (the eyes
        # stay with the skull; lids narrowing in a smile are CheekSquint's).
        lids = list(RIGHT_EYE_LOWER + LEFT_EYE_LOWER)
        to_lids = float(np.min(seam_at[lids] - v[lids]))  # the nearest lower lid, above
        fade = np.where(v < seam_at, np.clip(min(0.9, to_lids - 0.25), 0.05, None), 0.9)
        near_mouth = np.clip(1.0 - (self.dist_seam - 0.25) / fade, 0.0, 1.0)
        self.mouth_region = near_mouth * np.interp(au, [0.0, 1.0, 2.2], [1.0, 1.0, 0.0])
        # The mouth moved aside takes the skin beside it less far: the cheek's edge, which on
        # a turned face is near, must not be drawn in off the background.
        self.mouth_aside = near_mouth * np.interp(au, [0.0, 1.0, 1.7], [1.0, 1.0, 0.0])
        # What goes down with the corners as the jaw drops: both lips toward the corners and
        # the skin beside them, nothing across the lips' middle (the upper lip's middle, and
        # the teeth a photo shows under it, stay with the skull).
        self.corner_region = smoothstep((au - 0.55) / 0.45) * self.mouth_region
        # How far each corner (right, left) sits above a face's at rest, in mouth widths.
        seam_middle = float(np.interp(0.0, self._seam_u, self._seam_v))
        self.corner_lift = {
            side: seam_middle - float(v[corner]) - REST_CORNER_LIFT
            for side, corner in zip(("Right", "Left"), MOUTH_CORNERS, strict=True)
        }
        # Sign that moves a point toward the seam: down for the upper lip, up for the lower.
        self.toward_seam = np.where(below, -1.0, 1.0)
        self.toward_seam[corners] = 0.0

        # Share of a one-sided lip gesture each point takes: the subject's left side (+u) all
        # of MouthXLeft, the right side all of MouthXRight, the middle half of each.
        self.left_share = np.clip(0.5 + 0.5 * u, 0.0, 1.0)
        # The lips' middle, where the chin pushes them up (a shrug) and the lower lip drops
        # furthest; nothing at the corners.
        self.lips_middle = np.clip(1.0 - (u / 1.3) ** 2, 0.0, 1.0)
        # The chin's soft tissue under the lower lip rises with it in a shrug, the jaw's edge
        # less; the upper lip yields to it only where the lips touch, the skin above less.
        chin_fade = np.clip(1.0 - (self.dist_seam - 0.45) / 0.5, 0.0, 1.0)
        self.chin_weight = self.lower * chin_fade * self.lips_middle
        self.upper_lip_weight = (1 - self.lower) * np.clip(
            1.0 - (self.dist_seam - 0.1) / 0.4, 0.0, 1.0
        )

        # How far a point moves toward its lip's inner edge when the lip is thinned by 1 (mouth
        # widths): its depth into the lip, easing back to nothing over 1.5 lip thicknesses
        # beyond the lip's outer edge. The inner edges themselves stay, so an open mouth
        # stays open.
        def contour(indices: tuple[int, ...]) -> np.ndarray:
            k = np.array(indices)
            order = np.argsort(u[k])
            return np.interp(u, u[k][order], v[k][order])

        inner_up, inner_lo = contour(LIPS_INNER_UPPER), contour(LIPS_INNER_LOWER)
        outer_up, outer_lo = contour(LIPS_OUTER_UPPER), contour(LIPS_OUTER_LOWER)
        depth = np.clip(np.where(below, v - inner_lo, inner_up - v), 0.0, None)
        thickness = np.maximum(np.where(below, outer_lo - inner_lo, inner_up - outer_up), 0.02)
        beyond = np.clip(1.0 - (depth - thickness) / (1.5 * thickness), 0.0, 1.0)
        self.lip_thinning = np.where(depth <= thickness, depth, thickness * beyond) * np.interp(
            au, [0.0, 0.8, 1.3], [1.0, 1.0, 0.0]
        )
        # What a gesture from above (a sneer) may move of the mouth: nothing of the lower lip,
        # of the upper lip more toward its outer edge; the inner edge stays, so no gap opens.
        self.above_lips = np.where(below, 0.0, np.clip(depth / thickness, 0.0, 1.0))
        # A puffed cheek bulges beside the mouth corners, between the nose and the jaw.
        puff = ((au - 1.75) / 0.8) ** 2 + ((v - 0.0) / 0.55) ** 2
        self.cheek_puff = np.clip(1.0 - puff, 0.0, None) ** 2

        # What :meth:`_mouth` reads each frame that depends on the face alone.
        self._rest_gap_at = np.interp(u, self._rest_gap_u, self.rest_gap)
        self._jaw_taper = np.interp(au, [0.0, 0.3, 1.0], [1.0, 1.0, 0.55])
        self._right_share = 1 - self.left_share
        self._either_lip = np.maximum(self.upper_lip_weight, self.lower * self.lip_weight)
        self._round_middle = np.clip(1 - u**2, 0, 1)
        self._round_corners = smoothstep((au - 0.35) / 0.6)
        self._upper_lips = 1 - self.lower
        # (per side, subject's left then right: how far out on it, and which points lie on it)
        self._on_side = [np.clip(sign * u, 0.0, None) * self.mouth_region for sign in (1.0, -1.0)]
        self._beside = [(sign * u > 0).astype(np.float64) for sign in (1.0, -1.0)]  # (as 1.0, 0.0)

    def _build_eyes(self) -> None:
        lm = self.neutral
        self.eyes = []
        for upper, lower in (
            (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER),
            (LEFT_EYE_UPPER, LEFT_EYE_LOWER),
        ):
            up, lo = np.array(upper[1:-1]), np.array(lower[1:-1])
            gap = (lm[lo, :2] - lm[up, :2]) @ self.axes[1]
            self.eyes.append((up, lo, np.maximum(gap, 0.0)))
        # Skin above each eye follows the upper lid partway (eyelid skin stretches down over
        # the eye in a blink), fading out toward the brow.
        self.lid_skin = []
        for up, _, gap in self.eyes:
            lid = (lm[up, :2] - lm[up, :2].mean(0)) @ self.axes.T  # (x, y) in the face frame
            order = np.argsort(lid[:, 0])
            rel = (lm[:, :2] - lm[up, :2].mean(0)) @ self.axes.T
            height_above_lid = np.interp(rel[:, 0], lid[order, 0], lid[order, 1]) - rel[:, 1]
            reach = 2.0 * float(gap.max()) + 1e-6
            weight = np.clip(1.0 - height_above_lid / reach, 0.0, 1.0) * (height_above_lid > 0)
            half_width = np.ptp(lid[:, 0]) / 2 + 1e-6
            weight *= np.clip(1.5 - np.abs(rel[:, 0]) / half_width, 0.0, 1.0)
            weight[up] = 0.0  # the lid itself is moved exactly
            self.lid_skin.append((weight, float(np.median(gap))))

        # Below each eye: the skin under the lower lid follows it when a squint or a rising
        # cheek pushes it up, fading over about an eye's opening; further down the cheek
        # itself rises (CheekSquint), most a little below the lid, nothing by the nose wing.
        # Both in pixels per unit of the shape: the lid's share of each point's opening near
        # the lid (so no point overtakes the lid above it), inter-ocular distances below.
        x, y = self.xy[:, 0], self.xy[:, 1]
        iod = self.inter_ocular
        mid_x = x[list(INNER_EYE_CORNERS)].mean()  # between the eyes' inner corners
        self.under_eye = []
        self.lid_room = []
        for (up, lo, gap), lower_lid, brow_lower in zip(
            self.eyes, (RIGHT_EYE_LOWER, LEFT_EYE_LOWER), (RIGHT_BROW_LOWER, LEFT_BROW_LOWER),
            strict=True,
        ):  # fmt: skip
            lid_x, lid_y = _sorted_line(x[list(lower_lid)], y[list(lower_lid)])
            opening = np.interp(x, *_sorted_line(x[lo], gap))
            depth = y - np.interp(x, lid_x, lid_y)  # below the lower lid, pixels
            centre = (lid_x[0] + lid_x[-1]) / 2
            half_width = (lid_x[-1] - lid_x[0]) / 2 + 1e-6
            outward = (x - centre) * np.sign(centre - mid_x) / half_width
            across = np.where(
                outward < 0,
                _fade(-outward, 1.0, 1.6),  # toward the nose
                _fade(outward, 1.3, 2.2),  # toward the temple
            )
            ramp_in = smoothstep(depth / (0.15 * iod))
            just_above = np.clip(1.0 + depth / (0.05 * iod), 0.0, 1.0)
            follow = np.where(depth >= 0, 1.0 - ramp_in, just_above) * opening * across
            cheek = ramp_in * _fade(depth, 0.15 * iod, 0.6 * iod) * iod * across
            for moved_exactly in (up, lo):
                follow[moved_exactly] = 0.0
                cheek[moved_exactly] = 0.0
            self.under_eye.append((follow, cheek))
            # Room above each upper-lid point, up to the brow's lower edge: a wide eye's lid
            # never rises past the brow.
            brow = np.array(brow_lower)[np.argsort(x[list(brow_lower)])]
            brow_y = np.interp(x[up], x[brow], y[brow])
            self.lid_room.append((np.maximum(y[up] - brow_y, 0.0), brow, x[brow], x[up]))

    def _build_brows(self) -> None:
        """Where each brow's gestures move the face: the brow fully; the forehead above it,
        fading toward the top of the face; the eyelid fold below it, fading to nothing at
        the lid's edge; beyond the brow's inner end, half of it at the midline (both brows'
        halves add up there); past its outer end, fading out over the temple."""
        x, y = self.xy[:, 0], self.xy[:, 1]
        oval = np.array(FACE_OVAL)
        mid_x = (x[RIGHT_BROW_UPPER[-1]] + x[LEFT_BROW_UPPER[-1]]) / 2
        self.brows = []
        for upper_ids, lower_ids, lid_ids in (
            (RIGHT_BROW_UPPER, RIGHT_BROW_LOWER, RIGHT_EYE_UPPER),
            (LEFT_BROW_UPPER, LEFT_BROW_LOWER, LEFT_EYE_UPPER),
        ):
            upper, lower, lid = np.array(upper_ids), np.array(lower_ids), np.array(lid_ids)
            outward = np.sign(x[upper[0]] - mid_x)
            a = outward * (x - mid_x)  # from the midline out toward this brow's side
            line_a, line_y = _sorted_line(outward * ((x[upper] + x[lower]) / 2 - mid_x),
                                          (y[upper] + y[lower]) / 2)  # fmt: skip
            _, half = _sorted_line(outward * ((x[upper] + x[lower]) / 2 - mid_x),
                                   (y[lower] - y[upper]) / 2)  # fmt: skip
            inner, outer = line_a[0], line_a[-1]
            along = np.clip((a - inner) / (outer - inner), 0.0, 1.0)  # 0 inner end, 1 outer
            brow_y = np.interp(a, line_a, line_y)
            thickness = np.interp(a, line_a, np.maximum(half, 0.5))
            above = brow_y - thickness - y  # above the brow's upper edge, pixels
            below = y - brow_y - thickness  # below its lower edge
            # The top of the face above the brow (the oval's upper arc on this side).
            top = oval[(y[oval] < line_y.min()) & (outward * (x[oval] - mid_x) > -inner)]
            top_a, top_y = _sorted_line(outward * (x[top] - mid_x), y[top])
            forehead = np.maximum(brow_y - thickness - np.interp(a, top_a, top_y), 1.0)
            lid_a, lid_y = _sorted_line(outward * (x[lid] - mid_x), y[lid])
            fold = np.maximum(np.interp(a, lid_a, lid_y) - brow_y - thickness, 1.0)
            # A rising brow stretches the fold to short of the lid line: Face Mesh's line
            # often runs below the lid's edge, and a fold stretched to the line itself drew
            # the eye above it up the lid (a grey patch of iris above a raised eye). A
            # falling one compresses it to the line itself (the shorter fold would turn over).
            margin = BROW_LID_MARGIN * float(np.ptp(x[lid]))
            s = np.clip(a / inner, -1.0, 1.0)
            across = np.where(
                a < inner,
                0.5 + 0.5 * (1.5 * s - 0.5 * s**3),
                _fade(a, outer, outer + 0.5 * (outer - inner)),
            )
            weights = []
            for reach in (fold, np.maximum(fold - margin, 1.0)):
                vertical = np.where(
                    above > 0,
                    smoothstep(1.0 - above / (1.1 * forehead)),
                    np.where(below > 0, np.clip(1.0 - below / reach, 0.0, 1.0), 1.0),
                )
                weight = vertical * across
                weight[lid] = 0.0  # the lid's edge is the eyes' to move
                weights.append(weight)
            self.brows.append((weights[0], weights[1], along, outward))

    def _build_nose(self) -> None:
        """What a sneer lifts, per side: round the nose's wing, up the side of the nose toward
        the eye, across to the nose's tip and down to the upper lip (pixels per unit)."""
        x, y = self.xy[:, 0], self.xy[:, 1]
        iod = self.inter_ocular
        self.sneer = []
        for wing in (RIGHT_NOSE_WING, LEFT_NOSE_WING):
            cx, cy = self.xy[list(wing)].mean(0)
            r2 = ((x - cx) / (SNEER_REACH[0] * iod)) ** 2 + ((y - cy) / (SNEER_REACH[1] * iod)) ** 2
            self.sneer.append(np.clip(1.0 - r2, 0.0, None) ** 2 * self.above_lips * iod)

    def _build_head(self) -> None:
        lm = self.neutral
        sides = lm[list(FACE_SIDES)]
        pivot = sides.mean(0)
        # Turn about the top of the neck rather than the middle of the face.
        pivot[:2] += 0.12 * self.face_height * self.axes[1]
        self.pivot = pivot

    # -- per frame ------------------------------------------------------------------------

    def head(self, frame: MotionFrame) -> HeadFrame:
        yaw, pitch, roll = (float(a) for a in frame.head_rotation_deg)
        t = np.asarray(frame.head_translation, np.float64) * self.face_width
        return HeadFrame(rotation_matrix(yaw, pitch, roll), self.pivot, frame.head_scale, t)

    def expression(self, frame: MotionFrame) -> np.ndarray:
        """Landmarks with the face's expression applied, before head motion: (478, 3).
        (The renderer also needs them without the lids' travel: :meth:`expressions`.)"""
        w = frame.blendshapes.astype(np.float64)
        du = np.zeros(len(self.u))  # displacement along the face's x axis, pixels
        dv = np.zeros(len(self.u))  # along its y axis (down), pixels
        dz = np.zeros(len(self.u))
        self._mouth(w, du, dv, dz)
        return self._beyond_mouth(w, du, dv, dz)

    def expressions(self, frame: MotionFrame) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`expression` without the lids' travel and with it, (478, 3) each.

        The renderer closes lids by carrying the photo's lid skin down over the eye
        (:mod:`gioconda.render.lids`) and warps the rest of the face without their travel in
        blinks and squints; it needs both each frame. The mouth, which reads no lid shape, is
        worked out once for the two, and without a blink or squint in the frame they are one.
        """
        w = frame.blendshapes.astype(np.float64)
        du, dv, dz = np.zeros(len(self.u)), np.zeros(len(self.u)), np.zeros(len(self.u))
        self._mouth(w, du, dv, dz)
        if not w[self._lid_shapes].any():
            same = self._beyond_mouth(w, du, dv, dz)
            return same, same.copy()
        without = w.copy()
        without[self._lid_shapes] = 0.0
        return (
            self._beyond_mouth(without, du.copy(), dv.copy(), dz),
            self._beyond_mouth(w, du, dv, dz),
        )

    def _beyond_mouth(
        self, w: np.ndarray, du: np.ndarray, dv: np.ndarray, dz: np.ndarray
    ) -> np.ndarray:
        """The eyes, brows and nose added to the mouth's displacements (``du`` and ``dv``
        changed in place), and the landmarks so displaced."""
        # Brows first: a lowered brow leaves a wide eye's lid less room.
        self._brows(w, du, dv)
        self._eyes(w, dv)
        for weight, side in zip(self.sneer, ("Right", "Left"), strict=True):
            if w[BS[f"NoseSneer{side}"]] != 0.0:  # (0 adds 0)
                dv -= w[BS[f"NoseSneer{side}"]] * SNEER_LIFT * weight

        out = self.neutral.copy()
        out[:, :2] += du[:, None] * self.axes[0] + dv[:, None] * self.axes[1]
        out[:, 2] += dz
        return out

    def _mouth(self, w: np.ndarray, du: np.ndarray, dv: np.ndarray, dz: np.ndarray) -> None:
        """The jaw, lips and cheeks beside them (in place, pixels)."""
        W = self.mouth_width
        left = self.left_share
        # (The shapes as Python floats: NumPy's scalars' double arithmetic without their cost.
        # A term whose shapes are all 0 adds 0 and is left out: the sums are the same.)
        s = w.tolist()

        def sided(name: str) -> np.ndarray | None:
            """A left/right pair of shapes as one value per point (None where both are 0)."""
            on_left, on_right = s[BS[f"{name}Left"]], s[BS[f"{name}Right"]]
            if on_left == 0.0 and on_right == 0.0:
                return None
            return on_left * left + on_right * self._right_share

        jaw = s[BS["JawOpen"]]
        close = s[BS["MouthClose"]]
        funnel, pucker = s[BS["MouthFunnel"]], s[BS["MouthPucker"]]
        roll_lower = s[BS["MouthRollLower"]]
        upper_up = sided("MouthUpperUp")

        dv += jaw * JAW_DROP * W * self.jaw_weight
        jaw_eased = min(max(jaw / JAW_FOR_CORNERS, 0.0), 1.0)
        jaw_corners = jaw_eased * jaw_eased * (3.0 - 2.0 * jaw_eased)  # (smoothstep)
        unrounded = 1.0 - min(float(funnel + pucker), 1.0)
        # An opening jaw also narrows the mouth a little.
        du -= 0.08 * jaw * self.u * (W / 2) * self.lip_weight

        # Lip gap at each point's position, after the jaw, before closure (mouth widths).
        rest_gap = self._rest_gap_at
        jaw_taper = self._jaw_taper
        gap = rest_gap + jaw * JAW_DROP * jaw_taper
        # The lower lip pulled down (its depressor), or pushed up with the chin (a shrug); where
        # it meets the upper lip it pushes that up too. Before closure, which shuts what is left.
        lower_down = sided("MouthLowerDown")
        shrug_lower = s[BS["MouthShrugLower"]]
        opened = gap
        if lower_down is not None:
            lower_down = LOWER_LIP_DROP * lower_down * jaw_taper
            opened = opened + lower_down
        if shrug_lower != 0.0:
            opened = opened - SHRUG_LIFT * shrug_lower * self.lips_middle
        pushed = np.maximum(-opened, 0.0)
        gap = opened + pushed
        if lower_down is not None:
            dv += lower_down * W * self.lower * self.lip_weight
        if shrug_lower != 0.0:
            dv -= SHRUG_LIFT * shrug_lower * W * self.chin_weight
        dv -= pushed * W * self.upper_lip_weight
        # Pressing the lips brings together lips that the photo shows parted (the jaw's own
        # opening, for speech, stays).
        press = sided("MouthPress")
        if press is not None:
            pressed = PRESS_CLOSE * press * rest_gap
            dv += pressed / 2 * W * self.toward_seam * self.lip_weight
            gap = gap - pressed
        # The upper lip's shrug lifts the middle of both lips together: no gap opens.
        shrug_upper = s[BS["MouthShrugUpper"]]
        if shrug_upper != 0.0:
            dv -= SHRUG_LIFT * shrug_upper * self.lips_middle * W * self._either_lip

        # Funnel rounds the opening: the middle opens, the corners come in, and the lips
        # meet toward the corners (an oval opening, not the jaw's wide crescent).
        gap_now = gap
        if funnel != 0.0 or pucker != 0.0:
            round_open = 0.06 * funnel * self._round_middle
            dv -= round_open * W * self.toward_seam * self.lip_weight
            rounding = min(funnel + pucker, 1.0) * self._round_corners
            sealed = ROUND_SEAL * rounding * gap
            dv += sealed / 2 * W * self.toward_seam * self.lip_weight
            gap = gap - sealed
            du -= (0.20 * funnel + 0.28 * pucker) * self.u * (W / 2) * self.mouth_region
            dz -= (0.08 * funnel + 0.15 * pucker) * W * self.mouth_region
            gap_now = gap + 2 * round_open
        # Closing brings both lips to the seam; the lower lip rolling in (an /f/) lifts it
        # to the upper teeth.
        if close != 0.0 or roll_lower != 0.0:
            shut = np.clip(close + 0.85 * roll_lower * self.lower, 0.0, 1.0)
            # Closing goes a little past the seam: lips that press together hide the line where
            # they meet.
            dv += shut * (gap_now / 2 + LIP_PRESS) * W * self.toward_seam * self.lip_weight
        if roll_lower != 0.0:
            dv += roll_lower * (gap_now / 2) * W * self.lower * self.lip_weight
        if upper_up is not None:
            dv -= 0.05 * upper_up * W * self._upper_lips * self.lip_weight
        # Pressed lips and an upper lip rolled in grow thinner: each lip's outer edge comes
        # toward its inner edge, which stays.
        roll_upper = s[BS["MouthRollUpper"]]
        if press is not None or roll_upper != 0.0:
            thinning = PRESS_THIN * press if press is not None else 0.0
            thinning = thinning + ROLL_UPPER_THIN * roll_upper * self._upper_lips
            dv += thinning * self.lip_thinning * W * self.toward_seam

        # The mouth aside, whole: +u is the subject's left.
        sideways = s[BS["MouthLeft"]] - s[BS["MouthRight"]]
        if sideways != 0.0:
            du += MOUTH_SIDEWAYS * sideways * W * self.mouth_aside

        # Wider (stretch), smiling, frowning and dimpled corners, one side each.
        puffed = s[BS["CheekPuff"]]
        for side, sign, on_side, beside in zip(
            ("Left", "Right"), (1.0, -1.0), self._on_side, self._beside, strict=True
        ):
            stretch, smile = s[BS[f"MouthStretch{side}"]], s[BS[f"MouthSmile{side}"]]
            frown, dimple = s[BS[f"MouthFrown{side}"]], s[BS[f"MouthDimple{side}"]]
            if stretch != 0.0 or smile != 0.0:
                du += sign * (0.12 * stretch + 0.10 * smile) * on_side * (W / 2)
                dv += (0.03 * stretch - SMILE_LIFT * smile) * on_side * W
            # A frown pulls the corners down and a little out; a dimple back and out.
            if frown != 0.0 or dimple != 0.0:
                du += sign * (0.08 * frown + 0.12 * dimple) * on_side * (W / 2)
                dv += FROWN_DROP * frown * on_side * W
                dz += 0.04 * dimple * on_side * W
            if puffed != 0.0:
                du += sign * CHEEK_PUFF * (puffed * self.cheek_puff * beside) * W
            # An open vowel on a smiling photo would part the lips in a crescent grin: the
            # corners come down with the jaw, by a share of how far they sit above a face's
            # at rest in this frame (its own smile or frown included), unless it smiles.
            lift = self.corner_lift[side] + SMILE_LIFT * smile - FROWN_DROP * frown
            # (A spread vowel's stretch pulls them out, level with a smile's.)
            keeps = min(
                max(smile / SMILE_KEEPS_CORNERS + stretch / STRETCH_KEEPS_CORNERS, 0.0), 1.0
            )
            # Rounded lips (funnel, pucker) draw the corners in, not down.
            drop = JAW_LOWERS_CORNERS * jaw_corners * max(lift, 0.0) * (1.0 - keeps) * unrounded
            if drop != 0.0:
                dv += drop * W * self.corner_region * beside

    def _eyes(self, w: np.ndarray, dv: np.ndarray) -> None:
        """Lids and the skin around them (in place, pixels): blinks, squints, wide eyes and
        rising cheeks."""
        for (up, lo, eye_gap), (skin, typical_gap), (follow, cheek_field), room, side in zip(
            self.eyes, self.lid_skin, self.under_eye, self.lid_room, ("Right", "Left"),
            strict=True,
        ):  # fmt: skip
            blink = w[BS[f"EyeBlink{side}"]]
            squint, wide = w[BS[f"EyeSquint{side}"]], w[BS[f"EyeWide{side}"]]
            cheek = w[BS[f"CheekSquint{side}"]]
            # Each lid's travel as a share of the eye's opening (down for the upper lid, up
            # for the lower).
            upper = (
                blink * UPPER_LID_SHARE + squint * SQUINT_LIDS[0] + wide * WIDE_LIDS[0]
                + cheek * CHEEK_SQUINT_LIDS[0]
            )  # fmt: skip
            lower = (
                blink * (1 - UPPER_LID_SHARE) + squint * SQUINT_LIDS[1] + wide * WIDE_LIDS[1]
                + cheek * CHEEK_SQUINT_LIDS[1]
            )  # fmt: skip
            if upper + lower > 1.0:
                # The lids meet and stop: a squinting eye that blinks shuts, it does not
                # close past itself.
                upper, lower = upper / (upper + lower), lower / (upper + lower)
            if upper == 0.0 and lower == 0.0 and cheek == 0.0:
                continue
            # The room to the brow, less what the brows have already closed of it.
            rest_room, brow, brow_x, lid_x = room
            brow_drop = np.interp(lid_x, brow_x, dv[brow])
            room_now = np.maximum(rest_room - (brow_drop - dv[up]), 0.0)
            dv[up] += np.maximum(upper * eye_gap, -LID_ROOM_SHARE * room_now)
            dv[lo] -= lower * eye_gap
            dv += upper * typical_gap * 0.7 * skin
            # The skin under the lower lid goes with it when pushed up (not in a blink, where
            # the lower lid barely moves), and the cheek rises.
            dv -= (lower - blink * (1 - UPPER_LID_SHARE)) * follow
            dv -= cheek * CHEEK_LIFT * cheek_field

    def _brows(self, w: np.ndarray, du: np.ndarray, dv: np.ndarray) -> None:
        """The brows and the skin around them (in place, pixels)."""
        iod = self.inter_ocular
        inner_up = w[BS["BrowInnerUp"]]
        for (weight, rising, along, outward), side in zip(
            self.brows, ("Right", "Left"), strict=True
        ):
            outer_up, down = w[BS[f"BrowOuterUp{side}"]], w[BS[f"BrowDown{side}"]]
            if inner_up == 0.0 and outer_up == 0.0 and down == 0.0:
                continue
            # The inner brow rises most at its inner end (the oblique brow of sadness or
            # worry) and draws in a little; the outer raise lifts the tail; lowering (a
            # frown) pulls the inner end down and in furthest.
            rise = inner_up * (1.0 - 0.6 * along) + outer_up * (0.25 + 0.75 * along)
            fall = down * (0.6 + 0.4 * (1.0 - along))
            draw_in = (0.2 * BROW_RAISE * inner_up + 0.35 * BROW_LOWER * down) * (1.0 - along)
            dv += (BROW_LOWER * fall * weight - BROW_RAISE * rise * rising) * iod
            du -= outward * draw_in * iod * weight

    def landmarks(self, frame: MotionFrame) -> np.ndarray:
        """Landmarks after expression and head motion: (478, 3), crop pixels."""
        return self.apply_head(self.expression(frame), self.head(frame))

    def apply_head(self, points: np.ndarray, head: HeadFrame) -> np.ndarray:
        """``points`` turned with the head, then the whole person scaled about the chin."""
        moved = (points - head.pivot) @ head.rotation.T + head.pivot
        moved[:, :2] += head.translation
        chin = self.neutral[CHIN, :2]
        moved[:, :2] = chin + head.scale * (moved[:, :2] - chin)
        return moved


def _fade(x: np.ndarray, start: float, end: float) -> np.ndarray:
    """1 up to ``start``, easing to 0 at ``end``."""
    return 1.0 - smoothstep((x - start) / (end - start))


def _sorted_line(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A contour's points ordered by x, for ``np.interp``."""
    order = np.argsort(x)
    return x[order], y[order]
