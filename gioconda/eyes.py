"""The eyes' own painting: irises that move for gaze, and the lash line of a closing lid.

The warp moves the eyes with the head and brings the upper lid down over the eye, and the
renderer paints the eye itself out when it closes (see ``render._Cover``). What is left to
draw here: the iris shifted within the eye opening for the gaze, over eye white painted in
behind it, and the dark margin of lashes where closed lids meet.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import cv2
import numpy as np

from gioconda.face import (
    FACE_OVAL,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_IRIS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_IRIS,
    Portrait,
)
from gioconda.regions import SUBPIXEL_BITS, outline, polygon_mask
from gioconda.rig import LEFT_BROW_LOWER, LEFT_BROW_UPPER, RIGHT_BROW_LOWER, RIGHT_BROW_UPPER

EYES = (("Right", RIGHT_EYE_UPPER), ("Left", LEFT_EYE_UPPER))


def near_closed(blink: float) -> float:
    """How much of a closed eye's look to show: none while the iris still shows."""
    return float(np.clip((blink - 0.45) / 0.5, 0.0, 1.0))


class LashPainter:
    """Draws the lash line of each eye as its lids close."""

    def __init__(self, portrait: Portrait) -> None:
        image = portrait.image.astype(np.float32)
        lm = portrait.landmarks
        self.colours = []
        self.thickness = []
        for _, upper in EYES:
            points = lm[list(upper), :2]
            width = float(np.linalg.norm(points[-1] - points[0]))
            # The darkest pixels along the open upper lid are its lashes.
            samples = []
            for a, b in itertools.pairwise(points):
                for t in np.linspace(0, 1, 6):
                    x, y = np.round((1 - t) * a + t * b).astype(int)
                    y = np.clip(y, 0, image.shape[0] - 1)
                    x = np.clip(x, 0, image.shape[1] - 1)
                    samples.append(image[y, x])
            samples = np.array(samples)
            dark = samples[samples.mean(1) <= np.percentile(samples.mean(1), 30)]
            self.colours.append(dark.mean(0))
            self.thickness.append(max(1.0, 0.045 * width))

    def paint(self, frame: np.ndarray, posed: np.ndarray, blinks: tuple[float, float]) -> None:
        """Draw each eye's lash line, in place, as strongly as it is closed."""
        for (_, upper), colour, thickness, blink in zip(
            EYES, self.colours, self.thickness, blinks, strict=True
        ):
            amount = near_closed(blink)
            if amount <= 0:
                continue
            points = posed[list(upper), :2]
            pad = int(np.ceil(thickness)) + 3
            x0, y0 = np.maximum(np.floor(points.min(0)).astype(int) - pad, 0)
            x1, y1 = np.ceil(points.max(0)).astype(int) + pad
            x1, y1 = min(x1, frame.shape[1]), min(y1, frame.shape[0])
            if x1 <= x0 or y1 <= y0:
                continue
            ink = np.zeros((y1 - y0, x1 - x0), np.uint8)
            # The closed lid's margin sits a little below the lid's own line.
            line = points - [x0, y0] + [0, 0.5 * thickness]
            cv2.polylines(ink, [np.round(line * (1 << SUBPIXEL_BITS)).astype(np.int32)], False, 255,
                          max(1, round(thickness)), cv2.LINE_AA, shift=SUBPIXEL_BITS)  # fmt: skip
            ink = cv2.GaussianBlur(ink.astype(np.float32) / 255.0, (0, 0), 0.4 * thickness)
            alpha = (ink * 0.85 * amount)[..., None]
            patch = frame[y0:y1, x0:x1].astype(np.float32)
            frame[y0:y1, x0:x1] = np.clip(patch * (1 - alpha) + colour * alpha + 0.5, 0, 255)


#: Eyeball radius over iris radius (about 12 mm over 6 mm): how far the iris travels
#: across the eye opening per unit of sin(gaze angle).
EYEBALL_OVER_IRIS = 2.0


class IrisPainter:
    """Moves the irises for gaze, inside the eye openings, over painted-in eye whites.

    Per eye, once: the iris disc (from the Face Mesh iris landmarks), the photo's eye with the
    iris painted out (the eye white behind it), and the disc's alpha, limited to what the
    photo shows of the iris (the lids cover part of it). Per frame: the iris is drawn shifted
    by the eye's angle in the head (gaze relative to the camera, minus the head's own turn,
    so eyes that hold the camera counter-rotate as the head turns), clipped to the eye
    opening as the lids now stand.
    """

    def __init__(self, portrait: Portrait) -> None:
        image = portrait.image
        lm = portrait.landmarks.astype(np.float64)
        size = image.shape[0]
        self.eyes = []
        for iris, (upper, lower) in (
            (RIGHT_IRIS, (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER)),
            (LEFT_IRIS, (LEFT_EYE_UPPER, LEFT_EYE_LOWER)),
        ):
            centre = lm[iris[0], :2]
            radius = float(np.mean(np.linalg.norm(lm[list(iris[1:]), :2] - centre, axis=1)))
            opening = outline(lm, upper, lower)
            pad = int(np.ceil(2 * radius)) + 4
            x0, y0 = np.maximum(np.floor(opening.min(0)).astype(int) - pad, 0)
            x1, y1 = np.minimum(np.ceil(opening.max(0)).astype(int) + pad, size)
            patch = image[y0:y1, x0:x1]
            local = opening - [x0, y0]
            inside = polygon_mask(patch.shape[:2], local)
            ys, xs = np.mgrid[y0:y1, x0:x1]
            dist = np.hypot(xs - centre[0], ys - centre[1])
            disc = np.clip(radius + 0.5 - dist, 0.0, 1.0).astype(np.float32)
            hole = ((dist <= radius + 1.5) & (inside > 0)).astype(np.uint8)
            white = cv2.inpaint(patch, hole, 3, cv2.INPAINT_TELEA) if hole.any() else patch
            self.eyes.append(
                {
                    "box": (x0, y0, x1, y1),
                    "radius": radius,
                    "iris": patch.astype(np.float32),
                    "alpha": disc * inside,
                    "white": white.astype(np.float32),
                    "upper": upper,
                    "lower": lower,
                }
            )

    def paint(
        self,
        frame: np.ndarray,
        backward: np.ndarray,
        posed: np.ndarray,
        gaze_deg: np.ndarray,
        head_deg: np.ndarray,
    ) -> None:
        """Redraw both irises for the eyes' angle in the head (in place)."""
        in_head = np.radians(np.asarray(gaze_deg[:2], np.float64) - head_deg[:2])
        if np.abs(in_head).max() < np.radians(0.3):
            return  # the photo's own eyes, untouched
        for eye in self.eyes:
            shift = EYEBALL_OVER_IRIS * eye["radius"] * np.sin(in_head)
            self._paint_eye(frame, backward, posed, eye, shift)

    @staticmethod
    def _paint_eye(frame, backward, posed, eye, shift) -> None:
        opening = np.concatenate(
            [posed[list(eye["upper"]), :2], posed[list(eye["lower"][::-1]), :2]]
        )
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
        source = backward[y0:y1, x0:x1] - np.array([bx0, by0], np.float32)
        white = cv2.remap(eye["white"], source, None, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        moved = source - shift.astype(np.float32)
        iris = cv2.remap(eye["iris"], moved, None, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        alpha = cv2.remap(eye["alpha"], moved, None, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)[..., None]  # fmt: skip
        eye_pixels = iris * alpha + white * (1 - alpha)
        m = mask[..., None]
        patch = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = np.clip(patch * (1 - m) + eye_pixels * m + 0.5, 0, 255)


#: Dark thin structure, in Lab lightness (0-100) under its blurred surroundings, that marks
#: what lies in front of the lids (a glasses rim, a lock of hair) rather than on them.
OCCLUDER_CONTRAST = 6.0
#: How far (share of the frame) the head may carry an occluder from where the photo has it.
OCCLUDER_REACH = 0.08
#: What stands in front of an eye must cross its box at least this far (eye widths), from
#: the box's edge: a lid crease, a mole or a lash line does not.
OCCLUDER_MIN_EXTENT = 0.5


class EyeOccluders:
    """What lies in front of the eyes in the photo (glasses rims, hair), which lids slide under.

    A blink moves the upper lid's skin down over the eye; anything in front of it (the rim
    of a pair of glasses) must stay where the head carries it, not be dragged along. Found
    once per portrait, around each eye (from the brow to below the eye, a third of an eye width
    to each side): dark, thin structure (darker than its blurred surroundings by
    :data:`OCCLUDER_CONTRAST`), outside the eye opening and the brow, in pieces that reach the
    box's edge and run at least :data:`OCCLUDER_MIN_EXTENT` eye widths (a rim, or a strand,
    crosses the region; creases and lashes do not). Natural faces have none.

    ``mask`` is (S, S) bool. The renderer warps a copy of the photo with these pixels
    painted out (so the lid drags skin, not the rim), then :meth:`paint` puts the photo's
    own pixels back on top where the head's rigid motion alone carries them.
    """

    def __init__(self, portrait: Portrait) -> None:
        image = portrait.image
        lm = portrait.landmarks.astype(np.float64)
        size = image.shape[0]
        lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) / 2.55
        self.mask = np.zeros((size, size), bool)
        self.boxes: list[tuple[int, int, int, int]] = []
        for (upper, lower), brow in (
            ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), RIGHT_BROW_UPPER + RIGHT_BROW_LOWER),
            ((LEFT_EYE_UPPER, LEFT_EYE_LOWER), LEFT_BROW_UPPER + LEFT_BROW_LOWER),
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
            opening = polygon_mask(shape, eye - [x0, y0], soft=False).astype(np.uint8)
            margin = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(0.2 * width),) * 2)
            opening = cv2.dilate(opening, margin) > 0
            brows = np.zeros(shape, np.uint8)
            hull = cv2.convexHull(np.round(lm[list(brow), :2] - [x0, y0]).astype(np.int32))
            cv2.fillPoly(brows, [hull], 1)
            brows = cv2.dilate(brows, grow) > 0
            # Only what lies over the face: past its outline is background or hair beside it.
            on_face = polygon_mask(shape, lm[list(FACE_OVAL), :2] - [x0, y0], soft=False) > 0
            candidates = (contrast > OCCLUDER_CONTRAST) & on_face & ~opening & ~brows
            seeds = np.zeros(shape, bool)
            seeds[:, inner_x0:inner_x1] = self._crossing(
                candidates[:, inner_x0:inner_x1].astype(np.uint8), width
            )
            if not seeds.any():
                continue
            # Grow the pieces over the rest of what is as dark as they are (a thick rim's
            # middle, its run across the brow and past the box), never into the eye.
            dark_as_seeds = patch <= np.median(patch[seeds]) + OCCLUDER_CONTRAST
            reach = ((contrast > 0.5 * OCCLUDER_CONTRAST) | dark_as_seeds) & ~opening
            reach &= (~brows | dark_as_seeds) & on_face
            found = _grown(seeds, reach)
            self.mask[y0:y1, x0:x1] |= cv2.dilate(found.astype(np.uint8), _RIM_MARGIN) > 0
            self.boxes.append((x0, y0, x1, y1))
        # What paint needs each frame: the photo, the mask as an alpha, and each eye's box
        # widened by OCCLUDER_REACH, as far as the head may carry a rim.
        self._photo = image
        self._alpha = self.mask.astype(np.float32)
        reach = round(OCCLUDER_REACH * size)
        self._paint_boxes = [
            (max(x0 - reach, 0), max(y0 - reach, 0), min(x1 + reach, size), min(y1 + reach, size))
            for x0, y0, x1, y1 in self.boxes
        ]

    @staticmethod
    def _crossing(candidates: np.ndarray, width: float) -> np.ndarray:
        """The pieces of ``candidates`` that reach the box's edge and run far enough."""
        count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
        h, w = candidates.shape
        keep = np.zeros(count, bool)
        for i in range(1, count):
            x, y, bw, bh, _ = stats[i]
            at_edge = x == 0 or y == 0 or x + bw == w or y + bh == h
            keep[i] = at_edge and max(bw, bh) >= OCCLUDER_MIN_EXTENT * width
        return keep[labels]

    def paint(
        self,
        frame: np.ndarray,
        rigid_source: Callable[[tuple[int, int, int, int]], np.ndarray],
    ) -> None:
        """Put the photo's occluders back on top of ``frame`` (in place).

        ``rigid_source(box)`` gives, for the output pixels of ``box`` (x0, y0, x1, y1), where
        the head's rigid motion alone brings them from in the photo (no expression: a rim
        does not blink).
        """
        for box in self._paint_boxes:
            source = rigid_source(box)
            alpha = cv2.remap(self._alpha, source, None, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)  # fmt: skip
            shows = alpha > 0
            if not shows.any():
                continue
            rim = cv2.remap(self._photo, source, None, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE).astype(np.float32)  # fmt: skip
            bx0, by0, bx1, by1 = box
            patch = frame[by0:by1, bx0:bx1]
            a = alpha[shows][:, None]
            patch[shows] = np.clip(patch[shows] * (1 - a) + rim[shows] * a + 0.5, 0, 255)


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
