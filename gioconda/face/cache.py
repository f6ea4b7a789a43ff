"""Face analysis kept on disk, so that a photo is analyzed once, not once per video.

One presenter and many clips, or every live session on the same photo: the second time, the
analysis (face detection, Face Mesh twice, segmentation, the background plate: about half a
second to a few seconds) is read back in milliseconds. An entry is found by the photo's
content (a SHA-256 of its pixels), the crop size, the face asked for, and the analysis
version (:data:`ANALYSIS_VERSION` and MediaPipe's); inside, it carries the same key and a
SHA-256 of its arrays. An entry that cannot be read, whose key or digest does not match, or
whose arrays have the wrong shapes is analyzed again and overwritten: never trusted.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import metadata
from pathlib import Path

import numpy as np

from gioconda.cache import cache_dir, read_arrays, write_arrays
from gioconda.face.crop import CropBox
from gioconda.face.portrait import Portrait, analyze_portrait
from gioconda.progress import Progress, no_progress

_log = logging.getLogger(__name__)

#: Bump whenever face analysis changes what it makes (landmarks, masks, plate, crop): entries
#: made by another version are then analyzed again.
ANALYSIS_VERSION = 2

_ARRAYS = ("image", "landmarks", "person_mask", "background", "crop")


def portrait_cache_dir() -> Path:
    """Where analyzed portraits are kept: ``portraits/`` in :func:`gioconda.cache.cache_dir`."""
    return cache_dir() / "portraits"


def _mediapipe_version() -> str:
    try:
        return metadata.version("mediapipe")
    except metadata.PackageNotFoundError:
        return "none"


def analysis_key(photo: np.ndarray, size: int | None, face: int) -> str:
    """Hex SHA-256 naming one analysis: the photo's pixels and shape, the crop size, the face,
    and the analysis version."""
    digest = hashlib.sha256()
    header = f"gioconda-portrait {ANALYSIS_VERSION} mediapipe {_mediapipe_version()} "
    header += f"{photo.shape} {photo.dtype} size {size} face {face}\n"
    digest.update(header.encode())
    digest.update(np.ascontiguousarray(photo).data)
    return digest.hexdigest()


def cached_analysis(
    photo: np.ndarray,
    size: int | None = 512,
    face: int = 0,
    progress: Progress = no_progress,
) -> Portrait:
    """:func:`~gioconda.face.portrait.analyze_portrait`, read from the cache when this photo
    was analyzed before (at this size, for this face, by this version), else analyzed and
    stored; ``progress`` hears of the analysis only when it runs (a cached entry is read in
    milliseconds).

    Raises
    ------
    GiocondaError: as ``analyze_portrait`` (failures are not cached).
    """
    key = analysis_key(photo, size, face)
    path = portrait_cache_dir() / f"{key}.npz"
    portrait = _load(path, key, photo, size)
    if portrait is not None:
        _log.info("face analysis: read from the cache (%s)", path)
    else:
        _log.info("face analysis: not cached for this photo, size and face; analysing")
        portrait = analyze_portrait(photo, size, face, progress)
        _store(path, key, portrait)
    return portrait


def _load(path: Path, key: str, photo: np.ndarray, size: int | None) -> Portrait | None:
    """The portrait stored at ``path``, or None if there is none or it is not exactly what
    ``key`` names."""
    arrays = read_arrays(path, key, _ARRAYS)
    if arrays is None:
        return None
    image, landmarks = arrays["image"], arrays["landmarks"]
    side = image.shape[0]
    shapes_ok = (
        image.shape == (side, side, 3)
        and image.dtype == np.uint8
        and (size is None or side == size)
        and landmarks.shape == (478, 3)
        and arrays["person_mask"].shape == (side, side)
        and arrays["background"].shape == (side, side, 3)
        and arrays["crop"].shape == (3,)
    )
    if not shapes_ok:
        return None
    x0, y0, crop_side = (float(v) for v in arrays["crop"])
    return Portrait(
        image,
        landmarks.astype(np.float32),
        arrays["person_mask"].astype(np.float32),
        arrays["background"],
        photo,
        CropBox(x0, y0, crop_side),
    )


def _store(path: Path, key: str, portrait: Portrait) -> None:
    """Write the entry (:func:`~gioconda.cache.write_arrays`: atomically; a cache that cannot
    be written only costs the next run the analysis)."""
    crop = portrait.crop
    arrays = {
        "image": portrait.image,
        "landmarks": portrait.landmarks,
        "person_mask": portrait.person_mask,
        "background": portrait.background,
        "crop": np.array([crop.x0, crop.y0, crop.side], np.float64),
    }
    write_arrays(path, key, arrays)
