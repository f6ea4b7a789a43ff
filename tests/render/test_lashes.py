"""Long upturned lashes do not streak the shut lid: its skin is the lid's without the lashes
that stand on it open, and the lashes hang from the shut lid's margin.

Seen on the woman of ``../shared/data/portraits`` with long curled lashes: open, they stand up
in front of the lid's skin; the closing lid carried them down with the skin and stretched
them over the whole shut lid, a comb of vertical streaks.

Drawn here: an eye under a lid of grainy skin with long dark strands standing up from its
edge, the lids painted by :class:`gioconda.render.lids.LidCloser` on the still frame (the
warp moves nothing). Streakiness is how much more the lightness changes across the lid
(along ``x``) than down it: a comb of vertical lines changes across, an even grain both ways.
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
SKIN, WHITE, IRIS, LASH = (170, 120, 105), (235, 235, 235), (90, 60, 45), (25, 18, 18)
#: Each eye: centre x (both at y = 128), half width and heights of its lids (pixels).
CENTRES = (88.0, 168.0)
Y = 128.0
HALF, UP, DOWN = 30.0, 11.0, 7.0
#: The strands: every STEP pixels along the lid, LENGTH pixels long, leaning outward.
STEP, LENGTH = 3, 10.0


def _upper(a: np.ndarray) -> np.ndarray:
    return -UP * (1 - (a / HALF) ** 2)


def _lower(a: np.ndarray) -> np.ndarray:
    return DOWN * (1 - (a / HALF) ** 2)


def _draw() -> tuple[np.ndarray, LidCloser, list[np.ndarray]]:
    """The photo, its lids, and each eye's landmarks (for the painter's window)."""
    rng = np.random.default_rng(7)
    # Skin with an even grain (the same both ways), as a lid's skin has.
    grain = cv2.GaussianBlur(rng.normal(0.0, 6.0, (SIZE, SIZE)).astype(np.float32), (0, 0), 0.8)
    image = np.clip(np.array(SKIN, np.float32) + grain[..., None], 0, 255).astype(np.uint8)
    x = np.arange(SIZE, dtype=np.float64)
    for centre in CENTRES:
        a = x - centre
        for col in np.flatnonzero(np.abs(a) < HALF):
            top, bottom = Y + _upper(a[col]), Y + _lower(a[col])
            image[int(np.ceil(top)) : int(np.floor(bottom)) + 1, col] = WHITE
        cv2.circle(image, (int(centre), int(Y) - 2), 8, IRIS, -1, cv2.LINE_AA)
        for root in np.arange(-HALF + 5, HALF - 4, STEP):
            lean = 0.4 * root / HALF
            start = (centre + root, Y + _upper(np.array(root)))
            end = (start[0] + lean * LENGTH, start[1] - LENGTH)
            cv2.line(image, (round(start[0] * 4), round(start[1] * 4)),
                     (round(end[0] * 4), round(end[1] * 4)), LASH, 1, cv2.LINE_AA, 2)  # fmt: skip
        # The lash line along the lid's edge.
        for col in np.flatnonzero(np.abs(a) < HALF - 2):
            top = Y + _upper(a[col])
            image[round(top - 2) : round(top) + 1, col] = LASH
    landmarks = np.zeros((N_LANDMARKS, 3), np.float64)
    for centre, (up_ids, lo_ids) in zip(
        CENTRES, ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)), strict=True
    ):
        a = np.linspace(HALF, -HALF, 9)
        for ids, b in ((up_ids, _upper(a)), (lo_ids, _lower(a))):
            landmarks[list(ids), 0] = centre + a
            landmarks[list(ids), 1] = Y + b
    return drawn_eyes(image, landmarks, CENTRES, Y - 50.0, HALF)


@pytest.fixture(scope="module")
def lashed() -> tuple[np.ndarray, LidCloser, list[np.ndarray]]:
    return _draw()


def _blink(lashed, value: float) -> np.ndarray:
    image, lids, eyes = lashed
    return blink_unwarped(image, lids, eyes, value)


def _streakiness(frame: np.ndarray, top: float, bottom: float) -> float:
    """Mean |d/dx| over mean |d/dy| of CIELAB L over each eye's middle half of columns, from
    ``top`` to ``bottom`` pixels below its open upper lid edge."""
    light = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    across = np.abs(cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3))
    down = np.abs(cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3))
    mask = np.zeros(light.shape, bool)
    for centre in CENTRES:
        for col in range(int(centre - HALF / 2), int(centre + HALF / 2) + 1):
            edge = Y + _upper(np.array(col - centre))
            mask[int(np.ceil(edge + top)) : int(np.floor(edge + bottom)) + 1, col] = True
    return float(across[mask].mean() / down[mask].mean())


def test_the_lids_leave_the_open_eye_as_it_is(lashed):
    assert np.array_equal(_blink(lashed, 0.0), lashed[0])


def test_the_shut_lid_is_not_combed_by_the_lashes(lashed):
    """Shut, the lid from where the lashes' tips stood open down to above where the lids
    meet changes no more across than down (0.6; the photo's own skin above the lashes 1.0):
    the lashes carried down and stretched made it 3.6 times as much across."""
    skin = _streakiness(lashed[0], -LENGTH - 14, -LENGTH - 4)
    shut = _streakiness(_blink(lashed, 1.0), -LENGTH, 0.55 * (UP + DOWN))
    assert skin < 1.2
    assert shut < 1.3 * skin, (shut, skin)


def test_the_half_shut_lid_is_not_combed_either(lashed):
    """At a blink of 0.5 the lid's skin, above its moved lash line, is not streaked either
    (0.5; 4.0 with the lashes stretched)."""
    skin = _streakiness(lashed[0], -LENGTH - 14, -LENGTH - 4)
    half = _streakiness(_blink(lashed, 0.5), -LENGTH, 0.4 * 0.8 * (UP + DOWN) - 4)
    assert half < 1.3 * skin, (half, skin)


def _lightness(frame: np.ndarray, top: float, bottom: float) -> float:
    """Mean CIELAB L (0-100) over each eye's middle half of columns, from ``top`` to
    ``bottom`` pixels below its open upper lid edge."""
    light = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) * 100 / 255
    values = []
    for centre in CENTRES:
        for col in range(int(centre - HALF / 2), int(centre + HALF / 2) + 1):
            edge = Y + _upper(np.array(col - centre))
            values.append(light[int(np.ceil(edge + top)) : int(np.floor(edge + bottom)) + 1, col])
    return float(np.concatenate(values).mean())


def test_the_shut_lid_is_the_colour_of_the_lid_skin(lashed):
    """Shut, the lid from where the lashes' tips stood open down to half way to where the lids
    meet is within 6 CIELAB L of the skin above the lashes (4.4 darker: the shade where the
    lids meet begins there); the lashes stretched over it darkened it by 9.3."""
    skin = _lightness(lashed[0], -LENGTH - 14, -LENGTH - 4)
    shut = _lightness(_blink(lashed, 1.0), -LENGTH, 0.4 * (UP + DOWN))
    assert abs(shut - skin) < 6.0, (shut, skin)


def test_the_shut_lid_keeps_its_lash_line_at_the_margin(lashed):
    """Shut, the lash line comes down with the lid's edge: just above where the lids meet
    (the upper lid travels 0.8 of the opening at the eye's middle) the lid is at least 20 L
    darker than its skin further up."""
    frame = _blink(lashed, 1.0)
    meet = 0.8 * (UP + DOWN)
    margin = _lightness(frame, meet - 4, meet)
    skin = _lightness(frame, -LENGTH, meet - 8)
    assert margin < skin - 20.0, (margin, skin)


def test_the_shut_lids_lashes_hang_from_its_margin(lashed):
    """Shut, the lashes hang down from the margin: 3 to 5 px below where the lids meet the
    lid is at least 16 L darker than the lower lid's skin (20.6; 11.9 without them, the shade
    where the lids meet alone)."""
    frame = _blink(lashed, 1.0)
    meet = 0.8 * (UP + DOWN)
    hanging = _lightness(frame, meet + 3, meet + 5)
    skin = _lightness(lashed[0], DOWN + 3, DOWN + 8)
    assert hanging < skin - 16.0, (hanging, skin)
