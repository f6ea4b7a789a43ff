"""Full-frame output: the rendered working crop pasted back into the whole photo."""

from __future__ import annotations

import cv2
import numpy as np

from gioconda.face.portrait import Portrait
from gioconda.render.regions import bounding_box

#: Crop pixels around what changed whose resampled photo pixels are redone: a photo pixel
#: reads the two crop pixels either side of where its map points (bilinear), one more for
#: the map's rounding to OpenCV's fixed point.
READ_REACH = 2


class FullFramePaste:
    """Pastes a rendered working crop back into the whole photo, with no visible seam.

    Motion fades out well inside the crop, so the crop's edge equals the photo there; a
    feathered edge hides the resampling difference anyway.

    The crop's frame without motion (the working crop itself) is pasted once; each frame
    then resamples only the photo pixels that read crop pixels differing from it, so the
    work follows the moving face, not the photo's size. Each photo pixel depends only on
    the crop pixels it reads, so the result is the same as resampling the whole region.
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
        # The opaque pixels form a box (the alpha is a function of the row's distance to the
        # edge and the column's), so the edge is four bands around it: above, below, left and
        # right of it. Each keeps its alpha and its share of the photo.
        opaque = alpha == 1
        self._opaque = bounding_box(opaque) if opaque.any() else (0, 0, 0, 0)
        iy0, iy1, ix0, ix1 = self._opaque
        height, width = alpha.shape
        self._bands = []
        for band in ((0, iy0, 0, width), (iy1, height, 0, width), (iy0, iy1, 0, ix0),
                     (iy0, iy1, ix1, width)):  # fmt: skip
            by0, by1, bx0, bx1 = band
            if by1 > by0 and bx1 > bx0:
                share = alpha[by0:by1, bx0:bx1, None]
                self._bands.append((band, share, region[by0:by1, bx0:bx1] * (1 - share)))
        # Each frame's remap reads the maps in OpenCV's fixed point, converted once (the
        # conversion each remap of float maps would do itself: the same samples).
        self._fixed, self._fraction = cv2.convertMaps(self.map_x, self.map_y, cv2.CV_16SC2)
        # The map of x varies along columns only, that of y along rows only (both grow).
        self._column_reads, self._row_reads = self.map_x[0], self.map_y[:, 0]
        self._still = portrait.image
        self._still_pasted = self.paste_whole(self._still)

    def paste_whole(self, rendered: np.ndarray) -> np.ndarray:
        """The whole crop region resampled and pasted (what :meth:`__call__` equals)."""
        whole = (0, self.y1 - self.y0, 0, self.x1 - self.x0)
        return self._paste(rendered, whole, self.photo)

    def __call__(self, rendered: np.ndarray) -> np.ndarray:
        size = rendered.shape[0]
        # Rows and columns with a changed pixel, reduced along whole rows of bytes (NumPy's
        # ``any`` across the colour axis, and OpenCV's ``reduce``, take longer than the paste).
        difference = cv2.absdiff(rendered, self._still).reshape(size, -1)
        changed_rows = np.flatnonzero(difference.max(1))
        if not len(changed_rows):
            return self._still_pasted.copy()
        cy0, cy1 = int(changed_rows[0]), int(changed_rows[-1]) + 1
        changed_cols = np.flatnonzero(difference[cy0:cy1].max(0).reshape(size, -1).max(1))
        cx0, cx1 = int(changed_cols[0]), int(changed_cols[-1]) + 1
        # The photo pixels whose reads reach the changed crop pixels (rows, columns of the
        # region): the maps grow, so they are one run each. Past the crop's edge a read is
        # of the edge's pixel (replicated): a changed edge takes all beyond it.
        rows = np.searchsorted(self._row_reads, (cy0 - READ_REACH, cy1 + READ_REACH))
        cols = np.searchsorted(self._column_reads, (cx0 - READ_REACH, cx1 + READ_REACH))
        y0, y1 = (0 if cy0 == 0 else rows[0]), (len(self._row_reads) if cy1 == size else rows[1])
        x0, x1 = (0 if cx0 == 0 else cols[0]), (len(self._column_reads) if cx1 == size else cols[1])
        return self._paste(rendered, (int(y0), int(y1), int(x0), int(x1)), self._still_pasted)

    def _paste(
        self, rendered: np.ndarray, box: tuple[int, int, int, int], onto: np.ndarray
    ) -> np.ndarray:
        """A copy of ``onto`` (the whole photo) with the region's rows y0:y1, columns x0:x1
        resampled from ``rendered``."""
        y0, y1, x0, x1 = box
        if y1 <= y0 or x1 <= x0:
            return onto.copy()
        # ``onto`` around the pasted box (its inside is written below).
        out = np.empty_like(onto)
        py0, py1, px0, px1 = self.y0 + y0, self.y0 + y1, self.x0 + x0, self.x0 + x1
        out[:py0], out[py1:] = onto[:py0], onto[py1:]
        out[py0:py1, :px0], out[py0:py1, px1:] = onto[py0:py1, :px0], onto[py0:py1, px1:]
        patch = cv2.remap(rendered, self._fixed[y0:y1, x0:x1], self._fraction[y0:y1, x0:x1],
                          cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        for (by0, by1, bx0, bx1), share, photo_share in self._bands:
            oy0, oy1, ox0, ox1 = max(by0, y0), min(by1, y1), max(bx0, x0), min(bx1, x1)
            if oy1 <= oy0 or ox1 <= ox0:
                continue
            edge = patch[oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0]
            inside = (slice(oy0 - by0, oy1 - by0), slice(ox0 - bx0, ox1 - bx0))
            blended = edge * share[inside] + photo_share[inside]
            edge[...] = np.clip(blended + 0.5, 0, 255)
        out[py0:py1, px0:px1] = patch
        return out
