"""Face analysis, once per photo: landmarks, person mask, background plate, face regions.

MediaPipe Face Mesh (the legacy ``solutions`` API, whose models ship in the ``mediapipe``
wheel) gives 478 3D landmarks with irises; its selfie-segmentation model gives the person
mask. Everything downstream works in a square *working crop* around the chosen face, so the
per-frame renderer touches only the pixels that can move.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from gioconda.errors import GiocondaError

# Ordered contours, from MediaPipe's canonical face-mesh topology. Upper and lower lists of
# the lips and eyelids run in the same direction, so entry i of each is a matching pair.
LIPS_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
# Eyes, named by the subject's side (the subject's right eye is on the image's left).
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_IRIS = (468, 469, 470, 471, 472)  # centre first, then the ring
LEFT_IRIS = (473, 474, 475, 476, 477)
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
N_LANDMARKS = 478
FOREHEAD, CHIN, NOSE_TIP = 10, 152, 1

#: Side of the working crop, in units of the face's size (the larger of the face oval's
#: width and 0.85 x its height): room for hair, neck and what head motion reveals.
CROP_FACE_RATIO = 2.4
#: Longest side the whole photo is scaled to for the first, face-finding pass.
DETECT_MAX_SIDE = 1280
#: Side of the square image that Face Mesh is run on.
MESH_INPUT_SIZE = 512


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


def load_photo(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a JPEG/PNG/WebP/... photo as (H, W, 3) uint8 RGB, honouring EXIF orientation."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise GiocondaError(f"photo not found: {path}")
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "P"):
                # Transparent areas become white, as most viewers show them.
                img = img.convert("RGBA")
                white = Image.new("RGBA", img.size, (255, 255, 255, 255))
                img = Image.alpha_composite(white, img)
            rgb = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise GiocondaError(f"cannot read photo {path}: {error}") from None
    if min(rgb.shape[:2]) < 32:
        raise GiocondaError(f"photo is too small ({rgb.shape[1]}x{rgb.shape[0]}): {path}")
    return np.ascontiguousarray(rgb)


def analyze_portrait(photo: np.ndarray, size: int | None = 512, face: int = 0) -> Portrait:
    """Find a face in a photo and prepare it for animation.

    Parameters
    ----------
    photo: (H, W, 3) uint8 RGB
    size: side of the working crop in pixels; None keeps the photo's own resolution
        (for full-frame output)
    face: which face, counting from the largest (0)

    Raises
    ------
    GiocondaError: no face, or fewer faces than ``face + 1``.
    """
    with native_stderr_silenced():
        return _analyze_portrait(photo, size, face)


def _analyze_portrait(photo: np.ndarray, size: int | None, face: int) -> Portrait:
    from mediapipe.python.solutions import face_mesh

    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise GiocondaError("photo must be an RGB image")
    boxes = _detect_face_boxes(photo)
    if not boxes:
        raise GiocondaError("no face found in the photo: try a clearer, frontal, well-lit portrait")
    if face >= len(boxes):
        raise GiocondaError(f"asked for face {face}, but the photo has {len(boxes)}")
    with face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=True,
        min_detection_confidence=0.3,
    ) as mesh:  # fmt: skip
        # First mesh on a loose square around the detection, to frame the working crop.
        first = _mesh_in_crop(mesh, photo, _square_around(boxes[face], 2.2), MESH_INPUT_SIZE)
        if first is None:
            raise GiocondaError(
                "a face was found but its features could not be located: "
                "try a clearer, frontal, well-lit portrait"
            )
        crop = _crop_box(first)
        out_size = round(crop.side) if size is None else int(size)
        image = _extract_crop(photo, crop, out_size)
        # Second pass on the working crop itself: Face Mesh is most accurate on a square
        # input with the face filling a good part of it.
        scale = min(1.0, MESH_INPUT_SIZE / out_size)
        landmarks = _mesh_in_crop(mesh, image, CropBox(0, 0, out_size), round(out_size * scale))
    if landmarks is None:
        raise GiocondaError("the face could not be tracked in its crop: try a clearer photo")
    person = _person_mask(image, landmarks)
    background = _background_plate(image, person)
    return Portrait(image, landmarks.astype(np.float32), person, background, photo, crop)


def _detect_face_boxes(photo: np.ndarray) -> list[CropBox]:
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


def _square_around(box: CropBox, factor: float) -> CropBox:
    side = box.side * factor
    return CropBox(box.x0 + box.side / 2 - side / 2, box.y0 + box.side / 2 - side / 2, side)


def _mesh_in_crop(mesh, photo: np.ndarray, crop: CropBox, size: int) -> np.ndarray | None:
    """Face Mesh landmarks of the face nearest the crop's centre, in ``photo`` pixels."""
    image = (
        photo
        if (crop.x0, crop.y0, crop.side) == (0, 0, photo.shape[0]) and size == photo.shape[0]
        else _extract_crop(photo, crop, size)
    )
    result = mesh.process(image)
    if not result.multi_face_landmarks:
        return None
    lm = np.array([[p.x, p.y, p.z] for p in result.multi_face_landmarks[0].landmark])
    # Face Mesh normalizes x, y and z by the (square) input's side.
    return lm * crop.side + np.array([crop.x0, crop.y0, 0.0])


def _face_size(landmarks: np.ndarray) -> float:
    oval = landmarks[list(FACE_OVAL), :2]
    width = oval[:, 0].max() - oval[:, 0].min()
    height = oval[:, 1].max() - oval[:, 1].min()
    return float(max(width, 0.85 * height))


def _crop_box(landmarks: np.ndarray) -> CropBox:
    oval = landmarks[list(FACE_OVAL), :2]
    side = CROP_FACE_RATIO * _face_size(landmarks)
    cx = 0.5 * (oval[:, 0].min() + oval[:, 0].max())
    # A little below the face's centre: hair above needs less room than neck and shoulders.
    cy = 0.5 * (oval[:, 1].min() + oval[:, 1].max()) + 0.06 * side
    return CropBox(cx - side / 2, cy - side / 2, side)


def _extract_crop(photo: np.ndarray, crop: CropBox, size: int) -> np.ndarray:
    """Resample the crop to ``size`` pixels; outside the photo, edge pixels are repeated."""
    scale = size / crop.side
    affine = np.array([[scale, 0, -crop.x0 * scale], [0, scale, -crop.y0 * scale]])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(photo, affine, (size, size), flags=interpolation,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


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


def _person_mask(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
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
    cv2.fillConvexPoly(hull, np.round(grown).astype(np.int32), 1)
    mask = np.maximum(mask, hull.astype(np.float32))
    return np.clip(cv2.GaussianBlur(mask, (0, 0), mask.shape[0] / 400), 0.0, 1.0)


def _background_plate(image: np.ndarray, person: np.ndarray) -> np.ndarray:
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
    keep = cv2.resize(hole, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    keep = cv2.GaussianBlur(keep, (0, 0), size / 200)[..., None]
    plate = filled * keep + image * (1 - keep)
    return np.clip(plate, 0, 255).astype(np.uint8)


@contextlib.contextmanager
def python_only_stderr() -> Iterator[None]:
    """For a whole command: native code's stderr (fd 2) goes to /dev/null, while Python's
    ``sys.stderr`` (progress bars, error messages) writes to the real stderr.

    MediaPipe's threads log asynchronously, after the calls that
    :func:`native_stderr_silenced` wraps have returned, so only a command-wide redirect
    catches every line. Set GIOCONDA_NATIVE_LOGS=1 to see them.
    """
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced, e.g. under capture
        yield
        return
    if os.environ.get("GIOCONDA_NATIVE_LOGS") == "1":
        yield
        return
    original = sys.stderr
    original.flush()
    sys.stderr = open(os.dup(_NATIVE_STDERR), "w", buffering=1, encoding=original.encoding)
    try:
        with native_stderr_silenced():
            yield
    finally:
        sys.stderr.close()
        sys.stderr = original


#: The file descriptor native libraries write their logs to.
_NATIVE_STDERR = 2


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what native code writes to stderr (MediaPipe's glog and TFLite chatter) to
    /dev/null while the models run; Python's own errors are raised, not printed, meanwhile.

    Set GIOCONDA_NATIVE_LOGS=1 to see them.
    """
    if os.environ.get("GIOCONDA_NATIVE_LOGS") == "1":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(_NATIVE_STDERR)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), _NATIVE_STDERR)
        yield
    finally:
        os.dup2(saved, _NATIVE_STDERR)
        os.close(saved)
