"""The person in the crop (selfie segmentation, always covering the face) and the background
plate with the person painted out.
"""

from __future__ import annotations

import cv2
import numpy as np

from gioconda.face.topology import FACE_OVAL


def person_mask(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Soft person mask from MediaPipe's selfie segmentation, always covering the face."""
    from mediapipe.python.solutions import selfie_segmentation

    with selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter:
        mask = segmenter.process(image).segmentation_mask.astype(np.float32)
    # Paintings and unusual photos can fool the segmenter on the face itself; the face
    # oval, grown a little for the hair line, is the person whatever it says.
    hull = np.zeros(mask.shape, np.uint8)
    oval = landmarks[list(FACE_OVAL), :2]
    centre = oval.mean(0)
    grown = centre + 1.1 * (oval - centre)
    cv2.fillConvexPoly(hull, np.round(grown).astype(np.int32), (1,))
    mask = np.maximum(mask, hull.astype(np.float32))
    return np.clip(cv2.GaussianBlur(mask, (0, 0), mask.shape[0] / 400), 0.0, 1.0)


def background_plate(image: np.ndarray, person: np.ndarray) -> np.ndarray:
    """The crop with the person painted out, so head motion uncovers background, not skin."""
    size = image.shape[0]
    work = 160  # inpainting is slow and the fill is smooth anyway: do it small
    small = cv2.resize(image, (work, work), interpolation=cv2.INTER_AREA)
    hole = cv2.resize((person > 0.2).astype(np.uint8), (work, work),
                      interpolation=cv2.INTER_NEAREST)  # fmt: skip
    hole = cv2.dilate(hole, np.ones((5, 5), np.uint8))
    filled = cv2.inpaint(small, hole, 5, cv2.INPAINT_TELEA)
    filled = cv2.resize(filled, (size, size), interpolation=cv2.INTER_CUBIC)
    # Far from the person keep the photo's own pixels, so the background stays sharp.
    keep: np.ndarray = cv2.resize(hole, (size, size), interpolation=cv2.INTER_LINEAR).astype(
        np.float32
    )
    keep = cv2.GaussianBlur(keep, (0, 0), size / 200)[..., None]
    plate = filled * keep + image * (1 - keep)
    return np.clip(plate, 0, 255).astype(np.uint8)
