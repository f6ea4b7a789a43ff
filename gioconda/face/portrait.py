"""Face analysis, once per photo: landmarks, person mask, background plate, face regions.

MediaPipe Face Mesh (the legacy ``solutions`` API, whose models ship in the ``mediapipe``
wheel) gives 478 3D landmarks with irises; its selfie-segmentation model gives the person
mask. Everything downstream works in a square *working crop* around the chosen face, so the
per-frame renderer touches only the pixels that can move.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gioconda.errors import GiocondaError
from gioconda.face.crop import CropBox, crop_box, extract_crop, fit_in_photo, square_around
from gioconda.face.detect import MESH_INPUT_SIZE, detect_face_boxes, mesh_in_crop
from gioconda.face.native_logs import native_stderr_silenced
from gioconda.face.segment import background_plate, person_mask
from gioconda.progress import Progress, no_progress

#: The steps of face analysis, reported to a :data:`~gioconda.progress.Progress` as the
#: "face analysis" stage: detection, Face Mesh on a loose square, Face Mesh on the working
#: crop, segmentation and the background plate.
ANALYSIS_STEPS = 4


@dataclass(frozen=True)
class Portrait:
    """Everything the renderer needs about one face in one photo, in working-crop pixels.

    Attributes
    ----------
    image: (S, S, 3) uint8 RGB, the working crop
    landmarks: (478, 3) float32, Face Mesh landmarks in crop pixels; z has the same scale
        as x, smaller is nearer the camera
    person_mask: (S, S) float32 in [0, 1], 1 on the person (face, hair, body)
    background: (S, S, 3) uint8, the crop with the person painted out: what head motion
        uncovers
    photo: (H, W, 3) uint8 RGB, the whole photo, for full-frame output
    crop: where ``image`` was taken from in ``photo``
    """

    image: np.ndarray
    landmarks: np.ndarray
    person_mask: np.ndarray
    background: np.ndarray
    photo: np.ndarray
    crop: CropBox

    @property
    def size(self) -> int:
        return self.image.shape[0]


def analyze_portrait(
    photo: np.ndarray,
    size: int | None = 512,
    face: int = 0,
    progress: Progress = no_progress,
) -> Portrait:
    """Find a face in a photo and prepare it for animation.

    Parameters
    ----------
    photo: (H, W, 3) uint8 RGB
    size: side of the working crop in pixels; None keeps the photo's own resolution
        (for full-frame output)
    face: which face, counting from the largest (0)
    progress: told of each of the :data:`ANALYSIS_STEPS` steps, as the "face analysis" stage

    Raises
    ------
    GiocondaError: no face, or fewer faces than ``face + 1``.
    """
    with native_stderr_silenced():
        return _analyze_portrait(photo, size, face, progress)


def _analyze_portrait(
    photo: np.ndarray, size: int | None, face: int, progress: Progress
) -> Portrait:
    from mediapipe.python.solutions import face_mesh

    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise GiocondaError("photo must be an RGB image")
    stage = "face analysis"
    boxes = detect_face_boxes(photo)
    progress(stage, 1, ANALYSIS_STEPS)
    if not boxes:
        raise GiocondaError("no face found in the photo: try a clearer, frontal, well-lit portrait")
    if face >= len(boxes):
        raise GiocondaError(f"asked for face {face}, but the photo has {len(boxes)}")
    with face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=True,
        min_detection_confidence=0.3,
    ) as mesh:  # fmt: skip
        # First mesh on a loose square around the detection, to frame the working crop.
        first = mesh_in_crop(mesh, photo, square_around(boxes[face], 2.2), MESH_INPUT_SIZE)
        if first is None:
            raise GiocondaError(
                "a face was found but its features could not be located: "
                "try a clearer, frontal, well-lit portrait"
            )
        progress(stage, 2, ANALYSIS_STEPS)
        crop = fit_in_photo(crop_box(first), first, photo.shape[1], photo.shape[0])
        out_size = round(crop.side) if size is None else int(size)
        image = extract_crop(photo, crop, out_size)
        # Second pass on the working crop itself: Face Mesh is most accurate on a square
        # input with the face filling a good part of it.
        scale = min(1.0, MESH_INPUT_SIZE / out_size)
        landmarks = mesh_in_crop(mesh, image, CropBox(0, 0, out_size), round(out_size * scale))
    if landmarks is None:
        raise GiocondaError("the face could not be tracked in its crop: try a clearer photo")
    progress(stage, 3, ANALYSIS_STEPS)
    person = person_mask(image, landmarks)
    background = background_plate(image, person)
    progress(stage, 4, ANALYSIS_STEPS)
    return Portrait(image, landmarks.astype(np.float32), person, background, photo, crop)


def surroundings(portrait: Portrait, pad: int) -> np.ndarray:
    """The working crop with ``pad`` more pixels of the photo on every side, (S + 2 pad,
    S + 2 pad, 3) uint8: what a moving head brings into the crop from beyond its edges.
    Past the photo's own edges the photo is mirrored. Its centre is ``portrait.image``
    exactly."""
    size = portrait.size
    crop = portrait.crop
    step = crop.side / size
    wide = CropBox(crop.x0 - pad * step, crop.y0 - pad * step, crop.side + 2 * pad * step)
    scale = (size + 2 * pad) / wide.side
    affine = np.array([[scale, 0, -wide.x0 * scale], [0, scale, -wide.y0 * scale]])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    out = cv2.warpAffine(portrait.photo, affine, (size + 2 * pad, size + 2 * pad),
                         flags=interpolation, borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip
    out[pad : pad + size, pad : pad + size] = portrait.image
    return out
