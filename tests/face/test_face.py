import cv2
import numpy as np
import pytest

from gioconda.errors import GiocondaError
from gioconda.face.photo import load_photo
from gioconda.face.portrait import analyze_portrait
from gioconda.face.topology import FACE_OVAL


def test_portrait_has_landmarks_mask_and_plate(astronaut_portrait):
    p = astronaut_portrait
    assert p.image.shape == (512, 512, 3)
    assert p.landmarks.shape == (478, 3)
    xy = p.landmarks[:, :2]
    assert (xy > 0).all() and (xy < 512).all()
    # The face fills a good part of the crop, centred.
    oval = xy[list(FACE_OVAL)]
    width = np.ptp(oval[:, 0])
    assert 0.3 * 512 < width < 0.55 * 512
    assert abs(oval[:, 0].mean() - 256) < 40
    # The person mask covers the face and not the corners of the crop (sky-grey backdrop).
    nose = p.landmarks[1, :2].astype(int)
    assert p.person_mask[nose[1], nose[0]] > 0.9
    assert p.person_mask[5, 5] < 0.1 and p.person_mask[5, 506] < 0.1
    # The background plate keeps the photo far from the person and paints the person out.
    assert np.abs(p.background[:20, :20].astype(int) - p.image[:20, :20]).mean() < 1
    face_patch = (slice(nose[1] - 10, nose[1] + 10), slice(nose[0] - 10, nose[0] + 10))
    assert np.abs(p.background[face_patch].astype(int) - p.image[face_patch]).mean() > 10


def test_irises_sit_inside_their_eyes(mona_portrait):
    lm = mona_portrait.landmarks
    for iris, corners in (((468,), (33, 133)), ((473,), (263, 362))):
        x = lm[iris[0], 0]
        lo, hi = sorted(lm[list(corners), 0])
        assert lo < x < hi


def test_largest_face_first_and_face_index(astronaut):
    # Two people: the photo itself, and a half-size copy beside it.
    small = cv2.resize(astronaut, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    canvas = np.full((512, 512 + 256, 3), 200, np.uint8)
    canvas[:, :512] = astronaut
    canvas[128:384, 512:] = small
    big = analyze_portrait(canvas, 256, face=0)
    little = analyze_portrait(canvas, 256, face=1)
    assert big.crop.side > 1.6 * little.crop.side
    assert big.crop.x0 + big.crop.side / 2 < 512 < little.crop.x0 + little.crop.side / 2
    with pytest.raises(GiocondaError, match="has 2"):
        analyze_portrait(canvas, 256, face=2)


def test_no_face_is_a_clear_error():
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8), (0, 0), 3)
    with pytest.raises(GiocondaError, match="no face found"):
        analyze_portrait(noise)


def test_small_face_in_a_big_photo_keeps_full_resolution(astronaut):
    canvas = np.full((1400, 2000, 3), 90, np.uint8)
    canvas[700:1212, 1300:1812] = astronaut
    p = analyze_portrait(canvas, size=None)
    # The working crop is taken at the photo's own scale.
    assert abs(p.size - p.crop.side) <= 1
    assert 1300 - 50 < p.crop.x0 + p.crop.side / 2 < 1812 + 50


def test_load_photo_errors(tmp_path):
    with pytest.raises(GiocondaError, match="not found"):
        load_photo(tmp_path / "missing.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_text("this is not a picture")
    with pytest.raises(GiocondaError, match="cannot read photo"):
        load_photo(bad)


def test_load_photo_greyscale_and_alpha(tmp_path, astronaut):
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY))
    assert load_photo(grey).shape == (512, 512, 3)
    rgba = tmp_path / "rgba.png"
    cv2.imwrite(str(rgba), np.dstack([astronaut[..., ::-1], np.full((512, 512), 255, np.uint8)]))
    assert np.array_equal(load_photo(rgba), astronaut)


def test_surroundings_extend_the_crop_with_the_photo(astronaut_portrait):
    from gioconda.face.portrait import surroundings

    pad = 20
    wide = surroundings(astronaut_portrait, pad)
    size = astronaut_portrait.size
    assert wide.shape == (size + 2 * pad, size + 2 * pad, 3)
    assert np.array_equal(wide[pad:-pad, pad:-pad], astronaut_portrait.image)
    # The crop sits inside the photo with room above it: the band above is the photo's (her
    # hair), not the crop's top row repeated.
    above = wide[:pad, pad:-pad].astype(float)
    assert np.abs(above - astronaut_portrait.image[:1].astype(float)).mean() > 5
