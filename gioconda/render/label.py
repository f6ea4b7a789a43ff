"""The visible "AI-generated" label drawn in a corner of every frame."""

from __future__ import annotations

import cv2
import numpy as np


class SyntheticLabel:
    """A small, quiet "AI-generated" label in the bottom-right corner of every frame."""

    TEXT = "AI-generated"

    def __init__(self, width: int, height: int) -> None:
        scale = max(0.3, min(width, height) / 1400)
        thickness = max(1, round(scale * 1.6))
        (tw, th), base = cv2.getTextSize(self.TEXT, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        margin = max(4, round(th * 0.6))
        x, y = width - tw - 2 * margin, height - th - base - 2 * margin
        self.box = (max(0, x), max(0, y), width, height)
        w, h = width - self.box[0], height - self.box[1]
        ink = np.zeros((h, w), np.uint8)
        cv2.putText(ink, self.TEXT, (margin, h - margin - base), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (255,), thickness, cv2.LINE_AA)  # fmt: skip
        self.ink = (ink.astype(np.float32) / 255.0 * 0.85)[..., None]
        self.shade = 0.55  # the box under the text is darkened so it reads on any photo

    def __call__(self, frame: np.ndarray) -> None:
        x0, y0, x1, y1 = self.box
        patch = frame[y0:y1, x0:x1].astype(np.float32) * self.shade
        patch = patch * (1 - self.ink) + 255.0 * self.ink
        frame[y0:y1, x0:x1] = np.clip(patch, 0, 255).astype(np.uint8)
