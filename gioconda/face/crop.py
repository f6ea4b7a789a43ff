"""The working crop: a square around the face, sized from its landmarks, that everything
downstream works in.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gioconda.face.topology import FACE_OVAL

#: Side of the working crop, in units of the face's size (the larger of the face oval's
#: width and 0.85 x its height): room for hair, neck and what head motion reveals.
CROP_FACE_RATIO = 2.4
#: The tightest a portrait's crop is made to stay inside its photo (:func:`fit_in_photo`), in
#: the same units: a photo framed closer than this leaves the face this much room and the
#: crop reaches past its edges. At 1.7 the face oval is about 70% of the crop's height (at
#: :data:`CROP_FACE_RATIO`, 49%).
MIN_CROP_FACE_RATIO = 1.7


@dataclass(frozen=True)
class CropBox:
    """Where the working crop sits in the photo: a square, possibly reaching past its edges.

    Attributes
    ----------
    x0, y0: top-left corner in photo pixels
    side: side length in photo pixels
    """

    x0: float
    y0: float
    side: float


def square_around(box: CropBox, factor: float) -> CropBox:
    side = box.side * factor
    return CropBox(box.x0 + box.side / 2 - side / 2, box.y0 + box.side / 2 - side / 2, side)


def face_size(landmarks: np.ndarray) -> float:
    """The face's size (pixels of its landmarks): the larger of its oval's width and 0.85 x
    its height, the unit of :data:`CROP_FACE_RATIO`."""
    oval = landmarks[list(FACE_OVAL), :2]
    width = oval[:, 0].max() - oval[:, 0].min()
    height = oval[:, 1].max() - oval[:, 1].min()
    return float(max(width, 0.85 * height))


def crop_box(landmarks: np.ndarray) -> CropBox:
    oval = landmarks[list(FACE_OVAL), :2]
    side = CROP_FACE_RATIO * face_size(landmarks)
    cx = 0.5 * (oval[:, 0].min() + oval[:, 0].max())
    # A little below the face's centre: hair above needs less room than neck and shoulders.
    cy = 0.5 * (oval[:, 1].min() + oval[:, 1].max()) + 0.06 * side
    return CropBox(cx - side / 2, cy - side / 2, side)


def fit_in_photo(crop: CropBox, landmarks: np.ndarray, width: int, height: int) -> CropBox:
    """``crop`` made to lie inside a ``width`` x ``height`` photo: moved, and made smaller
    where the photo is smaller, down to :data:`MIN_CROP_FACE_RATIO` face sizes.

    A crop that reaches past the photo's edges must invent what is there, and repeating the
    edge pixels draws streaks across a sixth of the frame (a head-and-shoulders photo framed
    as most are: its shirt cut by the bottom edge); the photographer's own framing is better
    than any invented border. Only a photo framed tighter than the minimum still reaches past
    an edge (centred on the face along that axis).
    """
    least = min(crop.side, MIN_CROP_FACE_RATIO * face_size(landmarks))
    side = max(least, min(crop.side, float(width), float(height)))

    def placed(start: float, extent: int) -> float:
        centred = start + (crop.side - side) / 2
        return min(max(centred, 0.0), extent - side) if side <= extent else centred

    return CropBox(placed(crop.x0, width), placed(crop.y0, height), side)


def extract_crop(photo: np.ndarray, crop: CropBox, size: int) -> np.ndarray:
    """Resample the crop to ``size`` pixels; outside the photo, edge pixels are repeated."""
    scale = size / crop.side
    affine = np.array([[scale, 0, -crop.x0 * scale], [0, scale, -crop.y0 * scale]])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(photo, affine, (size, size), flags=interpolation,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
