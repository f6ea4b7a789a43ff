"""A winged eyeliner follows the closing lid: the shut lid's line runs on into the wing, with no
kink where Face Mesh puts the eye's outer corner.

On the young woman of ``../shared/data/portraits`` (winged liner, the eye's outer corner filled
dark) Face Mesh puts the outer corner about 4 px inside the dark and above the eye's own. The
lids closed to that corner: the shut line rose to it, and the filled corner stayed beside it,
so the liner's lower edge came up to a peak at the corner and went down again past it.

Drawn here: an eye whose landmarks are given as Face Mesh gave hers, the lids painted by
:class:`gioconda.render.lids.LidCloser` on the still frame (the warp moves nothing), and the
liner's lower edge followed across the frames of a blink.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gioconda.face.topology import (
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    N_LANDMARKS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from gioconda.render.lids import LidCloser
from tests.render.unwarped_lids import blink_unwarped, drawn_eyes

SIZE = 256
SKIN, WHITE, IRIS, LINER = (205, 160, 140), (235, 235, 235), (90, 60, 45), (20, 16, 18)
#: The eye with the liner (the subject's left, the image's right): centre, half width and
#: heights of its own lids (pixels), and where Face Mesh puts its outer corner.
CENTRE = np.array([168.0, 128.0])
HALF, UP, DOWN = 34.0, 12.0, 8.0
LANDMARK_CORNER = (30.0, -2.0)  # (a, b) from CENTRE: 8 px inside and 3-7 px above the dark


def _upper(a: np.ndarray) -> np.ndarray:
    return -UP * (1 - (a / HALF) ** 2)


def _lower(a: np.ndarray) -> np.ndarray:
    return DOWN * (1 - (a / HALF) ** 2)


def _lid_points(offset: float) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks of one eye's upper and lower lids, outer corner first, (9, 2) each, in the
    eye's frame (a outward): the outer corner put inside the eye's dark corner."""
    a = np.linspace(LANDMARK_CORNER[0], -HALF + offset, 9)  # outer corner to inner
    upper = np.stack([a, _upper(a - offset)], 1)
    lower = np.stack([a, _lower(a - offset)], 1)
    upper[0] = lower[0] = LANDMARK_CORNER
    return upper, lower


def _draw() -> tuple[np.ndarray, LidCloser, list[np.ndarray]]:
    """The photo, its lids, and each eye's landmarks (for the painter's window)."""
    image = np.full((SIZE, SIZE, 3), SKIN, np.uint8)
    x = np.arange(SIZE, dtype=np.float64)
    for sign, centre in ((1.0, CENTRE), (-1.0, np.array([SIZE - CENTRE[0], CENTRE[1]]))):
        # The eye's own opening (the lined eye's centred 4 px further out than its landmarks',
        # which end at a = 30): white with an iris.
        shift = 4.0 if sign > 0 else 0.0
        a = sign * (x - centre[0]) - shift
        inside = np.abs(a) < HALF
        for col in np.flatnonzero(inside):
            top, bottom = centre[1] + _upper(a[col]), centre[1] + _lower(a[col])
            image[int(np.ceil(top)) : int(np.floor(bottom)) + 1, col] = WHITE
        cv2.circle(image, (int(centre[0]), int(centre[1]) - 2), 9, IRIS, -1, cv2.LINE_AA)
        if sign < 0:
            continue
        # The liner: a band along the upper lid, the corner filled, a wing.
        for col in np.flatnonzero((a > -HALF + 4) & (a < HALF)):
            top = centre[1] + _upper(a[col])
            image[round(top - 3) : round(top) + 1, col] = LINER
        ends = np.arange(22.0, 35.0)  # the eye's own outer corner, a = 26 to 38
        corner = [(centre[0] + 4 + e, centre[1] + _upper(e)) for e in ends]
        corner += [(centre[0] + 4 + e, centre[1] + _lower(e)) for e in ends[::-1]]
        wing = [(centre[0] + 36, centre[1] - 5), (centre[0] + 54, centre[1] - 14),
                (centre[0] + 39, centre[1] + 1)]  # fmt: skip
        for shape in (corner, wing):
            cv2.fillPoly(image, [np.round(np.array(shape)).astype(np.int32)], LINER, cv2.LINE_AA)

    landmarks = np.zeros((N_LANDMARKS, 3), np.float64)
    for sign, centre, (up_ids, lo_ids) in (
        (1.0, CENTRE, (LEFT_EYE_UPPER, LEFT_EYE_LOWER)),
        (-1.0, np.array([SIZE - CENTRE[0], CENTRE[1]]), (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER)),
    ):
        upper, lower = _lid_points(4.0)
        if sign < 0:  # the plain eye's landmarks are its own lids
            a = np.linspace(HALF, -HALF, 9)
            upper, lower = np.stack([a, _upper(a)], 1), np.stack([a, _lower(a)], 1)
        for ids, points in ((up_ids, upper), (lo_ids, lower)):
            landmarks[list(ids), 0] = centre[0] + sign * points[:, 0]
            landmarks[list(ids), 1] = centre[1] + points[:, 1]
    centres_x = (SIZE - CENTRE[0], CENTRE[0])  # the subject's right eye, then the left
    return drawn_eyes(image, landmarks, centres_x, CENTRE[1] - 32.0, HALF)


@pytest.fixture(scope="module")
def winged() -> tuple[np.ndarray, LidCloser, list[np.ndarray]]:
    return _draw()


def _blink(winged, value: float) -> np.ndarray:
    image, lids, eyes = winged
    return blink_unwarped(image, lids, eyes, value)


#: Liner-dark: under this CIELAB lightness (0-255), about halfway from the liner to the skin.
DARK = 100.0


def _dark_thickness(frame: np.ndarray) -> np.ndarray:
    """Per image column from the landmarks' outer corner to the wing's tip, how many pixels
    of the eye's rows are liner-dark (counted softly over DARK / 2 of lightness)."""
    light = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    rows = light[int(CENTRE[1] - 30) : int(CENTRE[1] + 20)]
    x0 = int(CENTRE[0] + LANDMARK_CORNER[0])
    dark = np.clip((DARK - rows[:, x0 : int(CENTRE[0] + 52)]) / (DARK / 2), 0.0, 1.0)
    return dark.sum(0)


def test_the_lids_leave_the_open_eye_as_it_is(winged):
    assert np.array_equal(_blink(winged, 0.0), winged[0])


@pytest.mark.parametrize("blink", [0.85, 1.0])
def test_a_winged_liner_runs_on_from_the_closing_lid_without_a_lump(winged, blink):
    """Nearly shut and shut, the dark at the landmarks' corner is at most 2.5 px thicker than
    the wing past it (7 px at its thickest): the shut line runs on into the wing. Closed to
    Face Mesh's corner, the lids left the filled corner beside the shut line, a lump 4.7 and
    4.5 px thicker than the wing (blink 0.85 and 1); closed over it, 1.0 and -1.0."""
    thickness = _dark_thickness(_blink(winged, blink))
    corner, wing = thickness[:10], thickness[12:]
    lump = float(corner.max() - wing.max())
    assert lump <= 2.5, f"blink {blink}: a lump {lump:.1f} px thicker than the wing at the corner"
