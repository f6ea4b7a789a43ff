"""Reading a portrait photo from a file.

Photos are held to a size the whole pipeline handles: one over :data:`MAX_PHOTO_PIXELS` (or
with a side over :data:`MAX_PHOTO_SIDE`) is scaled down when read, with one note on stderr.
4096x2304 is the largest frame of H.264 level 5.1, the highest level that browsers and
phones decode everywhere, so ``--full-frame`` video stays playable; the face itself is worked
on in a crop of ``--size`` pixels, so nothing is lost for the default output. A JPEG is
decoded straight at the smaller size (libjpeg's DCT scaling): a 12000x9000 photo never takes
its 324 MB in memory. Files that claim more than :data:`MAX_DECODED_PIXELS` (Pillow's own
decompression-bomb limit) are refused: a 0.6 MB PNG can claim 16000x12000.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from typing import TYPE_CHECKING

import numpy as np

from gioconda.errors import GiocondaError

if TYPE_CHECKING:
    from PIL import Image as PILImage

#: Largest photo worked at, in pixels (4096x2304, H.264 level 5.1's largest frame).
MAX_PHOTO_PIXELS = 4096 * 2304
#: Longest side worked at, in pixels.
MAX_PHOTO_SIDE = 4096
#: Largest image decoded at all, in pixels (2x Pillow's warning limit, where it raises).
MAX_DECODED_PIXELS = 2 * 89_478_485

_log = logging.getLogger(__name__)


def working_size(width: int, height: int) -> tuple[int, int]:
    """The size a ``width`` x ``height`` photo is worked at (itself when small enough)."""
    scale = min(
        1.0, math.sqrt(MAX_PHOTO_PIXELS / (width * height)), MAX_PHOTO_SIDE / max(width, height)
    )
    if scale >= 1.0:
        return width, height
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def _to_8bit(img: PILImage.Image) -> PILImage.Image:
    """Greyscale of more than 8 bits (16-bit PNG, TIFF, float) as 8-bit "L", full range kept.

    Pillow's own conversion clips such values at 255: a 16-bit portrait comes out near white.
    """
    from PIL import Image

    values = np.asarray(img, dtype=np.float64)
    if img.mode == "F" and values.size and np.nanmax(values) <= 1.0:
        top = 1.0
    elif img.mode.startswith("I;16") or (values.size and np.nanmax(values) > 255):
        top = 65535.0
    else:
        top = 255.0
    scaled = np.clip(np.nan_to_num(values) * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, "L")


def load_photo(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a JPEG/PNG/WebP/... photo as (H, W, 3) uint8 RGB, honouring EXIF orientation.

    A photo larger than :data:`MAX_PHOTO_PIXELS` is scaled down (a note is logged);
    transparent areas become white; 16-bit and float greyscale keep their full range.

    Raises
    ------
    GiocondaError: missing, not a regular file, unreadable, over :data:`MAX_DECODED_PIXELS`,
        or under 32 pixels on a side.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.exists(path):
        raise GiocondaError(f"photo not found: {path}")
    if not os.path.isfile(path):
        raise GiocondaError(f"photo {path} is not a regular file")
    try:
        with warnings.catch_warnings():
            # The size is checked here, against our own limit; Pillow's warning would be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                img: Image.Image = opened
                width, height = img.size
                if width * height > MAX_DECODED_PIXELS:
                    raise GiocondaError(_too_large(path, width, height))
                size = working_size(width, height)
                if size != (width, height):
                    img.draft("RGB", size)  # JPEG: decode at 1/2, 1/4 or 1/8 scale, >= size
                img = ImageOps.exif_transpose(img)
                if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
                    img = _to_8bit(img)
                if img.mode in ("RGBA", "LA", "P", "PA", "La", "RGBa"):
                    # Transparent areas become white, as most viewers show them.
                    img = img.convert("RGBA")
                    white = Image.new("RGBA", img.size, (255, 255, 255, 255))
                    img = Image.alpha_composite(white, img)
                img = img.convert("RGB")
                shown = working_size(*img.size)
                if shown != img.size:
                    img = img.resize(shown, Image.Resampling.LANCZOS, reducing_gap=3.0)
                rgb = np.asarray(img)
    except GiocondaError:
        raise
    except Image.DecompressionBombError:
        # Pillow refuses it in open(), before the size can be read.
        raise GiocondaError(
            f"photo {path} is over {MAX_DECODED_PIXELS / 1e6:.0f} megapixels, the largest "
            "Gioconda reads"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise GiocondaError(f"cannot read photo {path}: {error}") from None
    if min(rgb.shape[:2]) < 32:
        raise GiocondaError(f"photo is too small ({rgb.shape[1]}x{rgb.shape[0]}): {path}")
    if (rgb.shape[1], rgb.shape[0]) != (width, height) and {width, height} != set(rgb.shape[:2]):
        _log.warning(
            "photo %s is %dx%d pixels; working at %dx%d (the largest Gioconda renders is "
            "%.1f megapixels)", path, width, height, rgb.shape[1], rgb.shape[0],
            MAX_PHOTO_PIXELS / 1e6,
        )  # fmt: skip
    return np.ascontiguousarray(rgb)


def _too_large(path: str, width: int, height: int) -> str:
    return (
        f"photo {path} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
        f"the largest Gioconda reads is {MAX_DECODED_PIXELS / 1e6:.0f} megapixels"
    )
