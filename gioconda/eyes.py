"""The eyes' own painting: the lash line of a closing lid.

The warp brings the upper lid down over the eye and the renderer paints the eye itself out
(see ``render._Cover``); what is left to draw is the dark margin of lashes where the lids
meet, coloured from the photo's own lash line.
"""

from __future__ import annotations

import cv2
import numpy as np

from gioconda.face import LEFT_EYE_UPPER, RIGHT_EYE_UPPER, Portrait

EYES = (("Right", RIGHT_EYE_UPPER), ("Left", LEFT_EYE_UPPER))
_SUB = 4  # sub-pixel bits for anti-aliased drawing


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
            for a, b in zip(points[:-1], points[1:], strict=True):
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
            cv2.polylines(ink, [np.round(line * (1 << _SUB)).astype(np.int32)], False, 255,
                          max(1, round(thickness)), cv2.LINE_AA, shift=_SUB)  # fmt: skip
            ink = cv2.GaussianBlur(ink.astype(np.float32) / 255.0, (0, 0), 0.4 * thickness)
            alpha = (ink * 0.85 * amount)[..., None]
            patch = frame[y0:y1, x0:x1].astype(np.float32)
            frame[y0:y1, x0:x1] = np.clip(patch * (1 - alpha) + colour * alpha + 0.5, 0, 255)
