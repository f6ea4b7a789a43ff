"""The face rig: how ARKit blendshapes and head pose move a portrait's 3D landmarks.

Built once per portrait from its neutral landmarks. Each blendshape is a displacement of
the landmarks measured in the face's own frame (origin at the mouth, x along the eye line,
units of the mouth's width), so the same coefficients mean the same gesture on any face,
at any size and tilt. The head is then rotated about a pivot near the centre of the skull.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gioconda.blendshapes import BS
from gioconda.face import (
    FACE_OVAL,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from gioconda.motion import MotionFrame

#: How far the lower lip drops at JawOpen = 1, in mouth widths.
JAW_DROP = 0.55
#: How far past the seam each lip goes when the mouth closes, in mouth widths.
LIP_PRESS = 0.012
#: Face Mesh landmark at the bottom of the chin: the fixed point of head distance (scale).
CHIN = 152
#: Share of an eye's opening that the upper lid travels in a blink (the lower lid does the rest).
UPPER_LID_SHARE = 0.8


@dataclass(frozen=True)
class HeadFrame:
    """The head's pose as the renderer applies it: ``p' = pivot + scale * R (p - pivot) + t``.

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


def rotation_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Rotation in image axes (x right, y down, z away from the camera).

    Positive yaw moves a point in front of the pivot (the nose) toward +x, positive pitch
    moves it toward +y (down), positive roll turns the top of the head toward +x.
    """
    y, p, r = np.radians([yaw_deg, pitch_deg, roll_deg])
    yaw = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    pitch = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    roll = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return roll @ pitch @ yaw


class FaceRig:
    """Deforms one portrait's neutral landmarks by a :class:`MotionFrame`."""

    def __init__(self, landmarks: np.ndarray) -> None:
        self.neutral = landmarks.astype(np.float64)
        lm = self.neutral
        right_eye = lm[list(RIGHT_EYE_UPPER + RIGHT_EYE_LOWER), :2].mean(0)
        left_eye = lm[list(LEFT_EYE_UPPER + LEFT_EYE_LOWER), :2].mean(0)
        ex = left_eye - right_eye
        ex /= np.linalg.norm(ex)
        ey = np.array([-ex[1], ex[0]])  # image-down when the face is upright
        self.axes = np.stack([ex, ey])  # rows: the face's x and y axes in image coordinates
        corners = lm[[61, 291], :2]
        self.mouth_centre = corners.mean(0)
        self.mouth_width = float(np.linalg.norm(corners[1] - corners[0]))
        oval = lm[list(FACE_OVAL)]
        self.face_width = float(np.ptp(oval[:, :2] @ ex))
        self.face_height = float(np.ptp(oval[:, :2] @ ey))

        # Face-frame coordinates of every landmark: u across (half mouth widths), v down
        # (mouth widths).
        rel = (lm[:, :2] - self.mouth_centre) @ self.axes.T
        self.u = rel[:, 0] / (self.mouth_width / 2)
        self.v = rel[:, 1] / self.mouth_width

        self._build_mouth()
        self._build_eyes()
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
        corners = [61, 291, 78, 308]
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
        near_mouth = np.clip(1.0 - (self.dist_seam - 0.25) / 0.9, 0.0, 1.0)
        self.mouth_region = near_mouth * np.interp(au, [0.0, 1.0, 2.2], [1.0, 1.0, 0.0])
        # Sign that moves a point toward the seam: down for the upper lip, up for the lower.
        self.toward_seam = np.where(below, -1.0, 1.0)
        self.toward_seam[corners] = 0.0

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

    def _build_head(self) -> None:
        lm = self.neutral
        sides = lm[[234, 454]]
        pivot = sides.mean(0)
        # Turn about the top of the neck rather than the middle of the face.
        pivot[:2] += 0.12 * self.face_height * self.axes[1]
        self.pivot = pivot

    # -- per frame ------------------------------------------------------------------------

    def head(self, frame: MotionFrame) -> HeadFrame:
        yaw, pitch, roll = (float(a) for a in frame.head_rotation_deg)
        t = np.asarray(frame.head_translation, np.float64) * self.face_width
        # Head distance (scale) grows the head about the chin, not the pivot, so the neck and
        # shoulders below it stay where they are: scaling about the chin is scaling about the
        # pivot plus this shift.
        t += (1.0 - frame.head_scale) * (self.neutral[CHIN, :2] - self.pivot[:2])
        return HeadFrame(rotation_matrix(yaw, pitch, roll), self.pivot, frame.head_scale, t)

    def expression(self, frame: MotionFrame) -> np.ndarray:
        """Landmarks with the face's expression applied, before head motion: (478, 3)."""
        w = frame.blendshapes.astype(np.float64)
        W = self.mouth_width
        du = np.zeros(len(self.u))  # displacement along the face's x axis, pixels
        dv = np.zeros(len(self.u))  # along its y axis (down), pixels
        dz = np.zeros(len(self.u))

        jaw = w[BS["JawOpen"]]
        close = w[BS["MouthClose"]]
        funnel, pucker = w[BS["MouthFunnel"]], w[BS["MouthPucker"]]
        roll_lower = w[BS["MouthRollLower"]]
        upper_up = 0.5 * (w[BS["MouthUpperUpLeft"]] + w[BS["MouthUpperUpRight"]])

        dv += jaw * JAW_DROP * W * self.jaw_weight
        # An opening jaw also narrows the mouth a little.
        du -= 0.08 * jaw * self.u * (W / 2) * self.lip_weight

        # Lip gap at each point's position, after the jaw, before closure (mouth widths).
        rest_gap = np.interp(self.u, self._rest_gap_u, self.rest_gap)
        jaw_taper = np.interp(np.abs(self.u), [0.0, 0.3, 1.0], [1.0, 1.0, 0.55])
        gap = rest_gap + jaw * JAW_DROP * jaw_taper
        # Funnel rounds the opening: the middle opens, the corners come in.
        round_open = 0.06 * funnel * np.clip(1 - self.u**2, 0, 1)
        dv -= round_open * W * self.toward_seam * self.lip_weight
        du -= (0.20 * funnel + 0.28 * pucker) * self.u * (W / 2) * self.mouth_region
        dz -= (0.08 * funnel + 0.15 * pucker) * W * self.mouth_region
        # Closing brings both lips to the seam; the lower lip rolling in (an /f/) lifts it
        # to the upper teeth.
        gap_now = gap + 2 * round_open
        shut = np.clip(close + 0.85 * roll_lower * self.lower, 0.0, 1.0)
        # Closing goes a little past the seam: lips that press together hide the line where
        # they meet.
        dv += shut * (gap_now / 2 + LIP_PRESS) * W * self.toward_seam * self.lip_weight
        dv += roll_lower * (gap_now / 2) * W * self.lower * self.lip_weight
        dv -= 0.05 * upper_up * W * (1 - self.lower) * self.lip_weight

        # Wider (stretch) and smiling corners, one side each: +u is the subject's left.
        for side, sign in (("Left", 1.0), ("Right", -1.0)):
            on_side = np.clip(sign * self.u, 0.0, None)
            stretch, smile = w[BS[f"MouthStretch{side}"]], w[BS[f"MouthSmile{side}"]]
            du += sign * (0.12 * stretch + 0.10 * smile) * on_side * (W / 2) * self.mouth_region
            dv += (0.03 * stretch - 0.12 * smile) * on_side * W * self.mouth_region

        for (up, lo, eye_gap), (skin, typical_gap), side in zip(
            self.eyes, self.lid_skin, ("Right", "Left"), strict=False
        ):
            blink = w[BS[f"EyeBlink{side}"]]
            if blink <= 0:
                continue
            dv[up] += blink * UPPER_LID_SHARE * eye_gap
            dv[lo] -= blink * (1 - UPPER_LID_SHARE) * eye_gap
            dv += blink * UPPER_LID_SHARE * typical_gap * 0.7 * skin

        out = self.neutral.copy()
        out[:, :2] += du[:, None] * self.axes[0] + dv[:, None] * self.axes[1]
        out[:, 2] += dz
        return out

    def landmarks(self, frame: MotionFrame) -> np.ndarray:
        """Landmarks after expression and head motion: (478, 3), crop pixels."""
        return self.apply_head(self.expression(frame), self.head(frame))

    @staticmethod
    def apply_head(points: np.ndarray, head: HeadFrame) -> np.ndarray:
        moved = (points - head.pivot) @ head.rotation.T * head.scale + head.pivot
        moved[:, :2] += head.translation
        return moved
