"""The eyes' own painting: irises that move for gaze.

The warp moves the eyes with the head, and the lids close over them as the photo's own lid
skin carried down (:mod:`gioconda.render.lids`). What is left to draw here: the iris shifted
within the eye opening for the gaze, over eye white painted in behind it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from gioconda.face.portrait import Portrait
from gioconda.face.topology import (
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_IRIS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_IRIS,
)
from gioconda.render import paint_kernels
from gioconda.render.regions import outline, polygon_mask
from gioconda.render.source_map import SourceMap

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
                    # (The opening's landmarks as one index: the upper lid, the lower back.)
                    "outline": np.array(upper + lower[::-1]),
                }
            )

    def paint(
        self,
        frame: np.ndarray,
        backward: SourceMap,
        posed: np.ndarray,
        gaze_deg: np.ndarray,
        head_deg: np.ndarray,
    ) -> None:
        """Redraw both irises for the eyes' angle in the head (in place)."""
        in_head = np.radians(np.asarray(gaze_deg[:2], np.float64) - head_deg[:2])
        if np.abs(in_head).max() < np.radians(0.3):
            return  # the photo's own eyes, untouched
        sin = np.sin(in_head)
        for eye in self.eyes:
            shift = EYEBALL_OVER_IRIS * eye["radius"] * sin
            self._paint_eye(frame, backward, posed, eye, shift)

    @staticmethod
    def _paint_eye(frame, backward, posed, eye, shift) -> None:
        opening = posed[eye["outline"], :2]
        h, w = frame.shape[:2]
        (left_x, top_y), (right_x, bottom_y) = opening.min(0).tolist(), opening.max(0).tolist()
        x0, y0 = max(math.floor(left_x) - 2, 0), max(math.floor(top_y) - 2, 0)
        x1, y1 = min(math.ceil(right_x) + 3, w), min(math.ceil(bottom_y) + 3, h)
        if x1 <= x0 or y1 <= y0:
            return
        mask = polygon_mask((y1 - y0, x1 - x0), opening - [x0, y0])
        if mask.max() <= 0:
            return
        bx0, by0, _, _ = eye["box"]
        # Where each output pixel comes from in the photo, in the eye patch's coordinates.
        source = backward.box(y0, y1, x0, x1, origin=(bx0, by0))
        # The eye white there, the iris read as far off as it turns, blended by its alpha over
        # the white, inside the opening (compiled: OpenCV's bilinear reads and NumPy's blends,
        # to the bit, on this small box).
        paint_kernels.paint_iris(frame[y0:y1, x0:x1], source, mask,
                                 (float(shift[0]), float(shift[1])), eye["white"], eye["iris"],
                                 eye["alpha"])  # fmt: skip
