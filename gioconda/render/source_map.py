"""Where each pixel of a frame comes from in the photo: the renderer's backward map.

Only a window of the frame moves (see ``Renderer._motion_window``): outside it every pixel is
its own source. The map is kept for the window alone, and in the coordinates the composite's
remap reads (the photo's, plus the pad of surroundings around it), so that no frame-sized
array is written or copied for the still part of the frame; the painters read the boxes they
work on in the photo's own coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np


@dataclass(frozen=True)
class SourceMap:
    """A frame's backward map.

    ``padded``: (y1 - y0, x1 - x0, 2) float32, the source (x, y) of each pixel of ``window``
    (rows y0:y1, columns x0:x1 of a ``size`` x ``size`` frame) in the padded source's pixels,
    that is the photo's plus ``pad``; ``torn``: (y1 - y0, x1 - x0) bool, where the map tears
    (its source there is noise). Outside the window each pixel is its own source.
    ``torn_within``: rows y0:y1, columns x0:x1 of ``torn`` outside which nothing is torn
    (None: anywhere), where :attr:`torn_bounds` looks.
    """

    padded: np.ndarray
    torn: np.ndarray
    window: tuple[int, int, int, int]
    pad: float
    size: int
    torn_within: tuple[int, int, int, int] | None = None

    @cached_property
    def torn_bounds(self) -> tuple[int, int, int, int]:
        """The torn pixels' bounding box in ``torn`` (x, y, width, height; a width of 0 where
        none is torn), as ``cv2.boundingRect`` gives it: found once a frame (the composite and
        the fills read it), and only over ``torn_within``."""
        if self.torn_within is None:
            bx, by, bw, bh = cv2.boundingRect(self.torn.view(np.uint8))
            return bx, by, bw, bh
        y0, y1, x0, x1 = self.torn_within
        if y1 <= y0 or x1 <= x0:
            return 0, 0, 0, 0
        bx, by, bw, bh = cv2.boundingRect(self.torn[y0:y1, x0:x1].view(np.uint8))
        return (bx + x0, by + y0, bw, bh) if bw else (0, 0, 0, 0)

    def box(
        self, y0: int, y1: int, x0: int, x1: int, origin: tuple[float, float] = (0.0, 0.0)
    ) -> np.ndarray:
        """The photo pixel each pixel of the box (rows y0:y1, columns x0:x1) comes from, less
        ``origin`` (x, y): (y1 - y0, x1 - x0, 2) float32, a new array."""
        wy0, wy1, wx0, wx1 = self.window
        shift = np.array([self.pad + origin[0], self.pad + origin[1]], np.float32)
        if wy0 <= y0 and y1 <= wy1 and wx0 <= x0 and x1 <= wx1:
            return self.padded[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0] - shift
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        out = np.stack([xs - np.float32(origin[0]), ys - np.float32(origin[1])], axis=-1)
        iy0, iy1, ix0, ix1 = max(y0, wy0), min(y1, wy1), max(x0, wx0), min(x1, wx1)
        if iy1 > iy0 and ix1 > ix0:
            inside = self.padded[iy0 - wy0 : iy1 - wy0, ix0 - wx0 : ix1 - wx0]
            out[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = inside - shift
        return out

    def full(self) -> np.ndarray:
        """The whole frame's map in the photo's coordinates, (size, size, 2) float32."""
        return self.box(0, self.size, 0, self.size)

    def full_torn(self) -> np.ndarray:
        """Where the map tears over the whole frame, (size, size) bool."""
        torn = np.zeros((self.size, self.size), bool)
        y0, y1, x0, x1 = self.window
        torn[y0:y1, x0:x1] = self.torn
        return torn
