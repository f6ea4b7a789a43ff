"""Photos of every size and depth load as 8-bit RGB the pipeline can work at (issue 12)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from gioconda.errors import GiocondaError
from gioconda.face.photo import MAX_PHOTO_PIXELS, MAX_PHOTO_SIDE, load_photo, working_size


def test_16_bit_greyscale_keeps_its_range(tmp_path, astronaut):
    grey8 = np.asarray(Image.fromarray(astronaut).convert("L"))
    Image.fromarray(grey8.astype(np.uint16) * 257).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "grey16.png").mode.startswith("I")
    rgb = load_photo(tmp_path / "grey16.png")
    assert rgb.dtype == np.uint8 and rgb.shape == (*grey8.shape, 3)
    # Pillow's own conversion clips at 255 and the portrait comes out white.
    assert np.abs(rgb[..., 0].astype(int) - grey8).max() <= 1


def test_a_large_jpeg_is_scaled_down_with_one_note(tmp_path, caplog):
    Image.new("RGB", (9000, 6000), (120, 100, 90)).save(tmp_path / "big.jpg", quality=70)
    with caplog.at_level(logging.WARNING, logger="gioconda"):
        rgb = load_photo(tmp_path / "big.jpg")
    height, width = rgb.shape[:2]
    assert width * height <= MAX_PHOTO_PIXELS and max(width, height) <= MAX_PHOTO_SIDE
    assert abs(width / height - 1.5) < 0.01
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 1 and "9000x6000" in notes[0] and "\n" not in notes[0]


def test_a_small_photo_is_read_as_it_is(tmp_path, astronaut, caplog):
    Image.fromarray(astronaut).save(tmp_path / "face.png")
    with caplog.at_level(logging.WARNING, logger="gioconda"):
        assert np.array_equal(load_photo(tmp_path / "face.png"), astronaut)
    assert not caplog.records


def test_working_size_caps_area_and_side():
    assert working_size(1024, 768) == (1024, 768)
    assert working_size(8000, 1000) == (MAX_PHOTO_SIDE, 512)
    w, h = working_size(12000, 9000)
    assert w * h <= MAX_PHOTO_PIXELS and abs(w / h - 12000 / 9000) < 0.01


def test_a_decompression_bomb_is_one_line(tmp_path):
    Image.new("L", (16000, 12000), 128).save(tmp_path / "bomb.png", optimize=True)
    with pytest.raises(GiocondaError, match="megapixels") as error:
        load_photo(tmp_path / "bomb.png")
    assert "\n" not in str(error.value)
