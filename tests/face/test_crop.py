"""The working crop: framed around the face, inside the photo wherever the photo allows."""

import numpy as np
import pytest

from gioconda.face.crop import (
    CROP_FACE_RATIO,
    MIN_CROP_FACE_RATIO,
    CropBox,
    crop_box,
    face_size,
    fit_in_photo,
)
from gioconda.face.portrait import analyze_portrait
from gioconda.face.topology import FACE_OVAL


def _face(cx: float, cy: float, width: float) -> np.ndarray:
    """Landmarks whose face oval is an ellipse ``width`` wide, 1.25 times as tall."""
    landmarks = np.zeros((478, 3))
    angles = np.linspace(0, 2 * np.pi, len(FACE_OVAL), endpoint=False)
    landmarks[list(FACE_OVAL), 0] = cx + width / 2 * np.cos(angles)
    landmarks[list(FACE_OVAL), 1] = cy + 1.25 * width / 2 * np.sin(angles)
    return landmarks


def _inside(crop: CropBox, width: int, height: int) -> bool:
    eps = 1e-9
    return (
        crop.x0 >= -eps
        and crop.y0 >= -eps
        and crop.x0 + crop.side <= width + eps
        and crop.y0 + crop.side <= height + eps
    )


def test_a_crop_inside_the_photo_is_left_as_it_is():
    face = _face(1000, 900, 200)
    crop = crop_box(face)
    assert fit_in_photo(crop, face, 2000, 2000) == crop


def test_a_crop_past_an_edge_is_moved_inside_at_its_size():
    face = _face(150, 1800, 200)  # near the left and bottom edges of a large photo
    crop = crop_box(face)
    fitted = fit_in_photo(crop, face, 2000, 2000)
    assert crop.x0 < 0 and crop.y0 + crop.side > 2000
    assert fitted.side == crop.side and _inside(fitted, 2000, 2000)


def test_a_photo_smaller_than_the_crop_is_framed_whole_down_to_the_least_margin():
    # A head-and-shoulders photo framed tighter than CROP_FACE_RATIO: the crop is the photo.
    face = _face(500, 450, 420)
    crop = crop_box(face)
    assert crop.side > 1000
    fitted = fit_in_photo(crop, face, 1000, 1000)
    assert fitted == CropBox(0.0, 0.0, 1000.0)
    # Framed tighter than MIN_CROP_FACE_RATIO: that much room, centred on the face where it
    # cannot lie inside (the photo is narrower than the crop), inside along the other axis.
    face = _face(300, 700, 420)
    fitted = fit_in_photo(crop_box(face), face, 600, 1400)
    assert fitted.side == pytest.approx(MIN_CROP_FACE_RATIO * face_size(face))
    assert fitted.x0 + fitted.side / 2 == pytest.approx(300)
    assert 0 <= fitted.y0 and fitted.y0 + fitted.side <= 1400
    assert MIN_CROP_FACE_RATIO < CROP_FACE_RATIO


def test_a_tightly_framed_photo_gives_a_crop_of_its_own_pixels(astronaut):
    # The astronaut cut at her chin and beside her ears: the crop the face wants reaches past
    # three edges. What the portrait shows is the photo itself, not repeated edge pixels.
    photo = np.ascontiguousarray(astronaut[30:220, 130:320])
    portrait = analyze_portrait(photo, size=None)
    # The face wants more room than the photo has (and less than the least margin): the
    # crop is the whole photo, its pixels the photo's own.
    assert CROP_FACE_RATIO * face_size(portrait.landmarks) > portrait.size
    assert portrait.crop == CropBox(0.0, 0.0, 190.0)
    assert np.array_equal(portrait.image, photo)
