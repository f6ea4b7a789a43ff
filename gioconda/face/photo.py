"""Reading a portrait photo from a file."""

from __future__ import annotations

import os

import numpy as np

from gioconda.errors import GiocondaError


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
