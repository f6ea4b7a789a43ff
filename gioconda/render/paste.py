"""Full-frame output: the rendered working crop pasted back into the whole photo."""

from __future__ import annotations

import cv2
import numpy as np

from gioconda.face.portrait import Portrait


class FullFramePaste:
    """Pastes a rendered working crop back into the whole photo, with no visible seam.

    Motion fades out well inside the crop, so the crop's edge equals the photo there; a
    feathered edge hides the resampling difference anyway.
    """

    def __init__(self, portrait: Portrait) -> None:
        self.photo = portrait.photo
        crop = portrait.crop
        h, w = self.photo.shape[:2]
        self.x0, self.y0 = max(0, int(np.floor(crop.x0))), max(0, int(np.floor(crop.y0)))
        self.x1 = min(w, int(np.ceil(crop.x0 + crop.side)))
        self.y1 = min(h, int(np.ceil(crop.y0 + crop.side)))
        scale = portrait.size / crop.side
        # Photo pixel (x, y) inside the region reads crop pixel ((x - x0) * scale, ...).
        ys, xs = np.mgrid[self.y0 : self.y1, self.x0 : self.x1].astype(np.float32)
        self.map_x = (xs - np.float32(crop.x0)) * np.float32(scale)
        self.map_y = (ys - np.float32(crop.y0)) * np.float32(scale)
        edge = np.minimum.reduce(
            [self.map_x, self.map_y, portrait.size - 1 - self.map_x, portrait.size - 1 - self.map_y]
        )
        feather = max(2.0, 0.03 * portrait.size)
        alpha = np.clip(edge / feather, 0.0, 1.0).astype(np.float32)
        region = self.photo[self.y0 : self.y1, self.x0 : self.x1].astype(np.float32)
        # Inside the feathered edge the paste is the rendered pixel itself: only the edge's
        # pixels are blended, each frame's work growing with the crop's outline, not its area.
        self._edge = np.nonzero(alpha < 1)
        self._edge_alpha = alpha[self._edge][:, None]
        self._edge_photo = region[self._edge] * (1 - self._edge_alpha)

    def __call__(self, rendered: np.ndarray) -> np.ndarray:
        patch = cv2.remap(rendered, self.map_x, self.map_y, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        blended = patch[self._edge] * self._edge_alpha + self._edge_photo
        patch[self._edge] = np.clip(blended + 0.5, 0, 255)
        out = self.photo.copy()
        out[self.y0 : self.y1, self.x0 : self.x1] = patch
        return out
