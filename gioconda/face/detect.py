"""Finding faces (BlazeFace, tiling big photos for small faces) and their 478 Face Mesh landmarks
with irises, from the models the ``mediapipe`` wheel carries.
"""

from __future__ import annotations

import cv2
import numpy as np

from gioconda.face.crop import CropBox, extract_crop

#: Longest side the whole photo is scaled to for the first, face-finding pass.
DETECT_MAX_SIDE = 1280


#: Side of the square image that Face Mesh is run on.
MESH_INPUT_SIZE = 512


def detect_face_boxes(photo: np.ndarray) -> list[CropBox]:
    """Square boxes around every face, largest first (BlazeFace, short and full range).

    BlazeFace sees its input at 128-192 pixels, so a face that is small in a big photo
    vanishes; when the whole photo shows none, overlapping tiles are searched, smaller and
    smaller, down to tiles of 256 pixels.
    """
    from mediapipe.python.solutions import face_detection

    h, w = photo.shape[:2]
    found: list[tuple[float, CropBox]] = []
    with (
        face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as near,
        face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as far,
    ):
        tile = max(h, w)
        while not found:
            step = tile // 2
            for y0 in range(0, max(1, h - tile + step), step):
                for x0 in range(0, max(1, w - tile + step), step):
                    window = photo[y0 : y0 + tile, x0 : x0 + tile]
                    for score, box in _detect_in(window, (near, far)):
                        found.append((score, CropBox(box.x0 + x0, box.y0 + y0, box.side)))
            if tile <= 256:
                break
            tile = max(256, tile // 2)
    boxes: list[CropBox] = []
    for _, box in sorted(found, key=lambda f: -f[0]):
        if all(_overlap(box, kept) < 0.3 for kept in boxes):
            boxes.append(box)
    return sorted(boxes, key=lambda b: -b.side)


def _detect_in(image: np.ndarray, detectors) -> list[tuple[float, CropBox]]:
    """Face boxes (score, square box in ``image`` pixels) from each detector."""
    h, w = image.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale,
                                                  interpolation=cv2.INTER_AREA)  # fmt: skip
    small = np.ascontiguousarray(small)
    found = []
    for detector in detectors:
        for det in detector.process(small).detections or []:
            box = det.location_data.relative_bounding_box
            bw, bh = box.width * w, box.height * h
            side = max(bw, bh)
            cx, cy = box.xmin * w + bw / 2, box.ymin * h + bh / 2
            found.append((det.score[0], CropBox(cx - side / 2, cy - side / 2, side)))
    return found


def _overlap(a: CropBox, b: CropBox) -> float:
    """Intersection over union of two square boxes."""
    ix = max(0.0, min(a.x0 + a.side, b.x0 + b.side) - max(a.x0, b.x0))
    iy = max(0.0, min(a.y0 + a.side, b.y0 + b.side) - max(a.y0, b.y0))
    inter = ix * iy
    return inter / (a.side**2 + b.side**2 - inter)


def mesh_in_crop(mesh, photo: np.ndarray, crop: CropBox, size: int) -> np.ndarray | None:
    """Face Mesh landmarks of the face nearest the crop's centre, in ``photo`` pixels."""
    image = (
        photo
        if (crop.x0, crop.y0, crop.side) == (0, 0, photo.shape[0]) and size == photo.shape[0]
        else extract_crop(photo, crop, size)
    )
    result = mesh.process(image)
    if not result.multi_face_landmarks:
        return None
    lm = np.array([[p.x, p.y, p.z] for p in result.multi_face_landmarks[0].landmark])
    # Face Mesh normalizes x, y and z by the (square) input's side.
    return lm * crop.side + np.array([crop.x0, crop.y0, 0.0])
