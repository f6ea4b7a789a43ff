"""Painted teeth take their light from the eye whites, but never a cool cast: eye whites in shade
or under a cool grade read bluish, and teeth painted in that colour were a cyan band."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from gioconda.face.portrait import Portrait
from gioconda.face.topology import (
    CHEEKS,
    INNER_MOUTH_CORNERS,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from gioconda.motion.frames import MotionFrame
from gioconda.render import mouth
from gioconda.render.regions import outline, polygon_mask
from gioconda.render.renderer import Renderer


def _with_cyan_eye_whites(portrait: Portrait) -> Portrait:
    """The portrait with the whites of its eyes (its eye openings off the irises) cyan."""
    image = portrait.image.copy()
    lm = portrait.landmarks
    for upper, lower, iris in (
        (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, 468),
        (LEFT_EYE_UPPER, LEFT_EYE_LOWER, 473),
    ):
        opening = polygon_mask(image.shape[:2], outline(lm, upper, lower), soft=False) > 0
        radius = np.mean(np.linalg.norm(lm[iris + 1 : iris + 5, :2] - lm[iris, :2], axis=1))
        ys, xs = np.mgrid[: image.shape[0], : image.shape[1]]
        off_iris = (xs - lm[iris, 0]) ** 2 + (ys - lm[iris, 1]) ** 2 > (1.3 * radius) ** 2
        image[opening & off_iris] = (150, 190, 210)
    return dataclasses.replace(portrait, image=image)


def test_teeth_painted_under_cyan_eye_whites_are_not_cyan(mona_portrait, mona_renderer):
    """The Mona Lisa, who shows no teeth, with cyan eye whites: her mouth opened, what the
    eye whites' colour changes below the nose (the painted teeth) has no blue or green cast
    (Lab a*, b* at least -1: 0 and 0; before, -6 and -9, a cyan row of teeth), at the eye
    whites' lightness as before (L 53)."""
    renderer = Renderer(_with_cyan_eye_whites(mona_portrait))
    opened = MotionFrame.still(JawOpen=0.5)
    cyan = renderer.render(opened)
    plain = mona_renderer.render(opened)
    below_nose = np.arange(cyan.shape[0])[:, None] > mona_portrait.landmarks[1, 1]
    teeth = (np.abs(cyan.astype(np.int16) - plain).max(-1) > 3) & below_nose
    assert teeth.sum() > 30
    lab = cv2.cvtColor(cyan, cv2.COLOR_RGB2LAB).astype(np.float32)[teeth]
    a, b = (float(np.median(lab[:, c])) - 128 for c in (1, 2))
    assert a >= -1.0 and b >= -1.0, (a, b)
    assert np.median(lab[:, 0]) / 2.55 > 50


def _with_short_teeth_in_shade(portrait: Portrait) -> tuple[Portrait, np.ndarray]:
    """The portrait with what shows between its lips (the astronaut's smile) made a short row
    of teeth in shade, as the photo of a talking mouth shows them: the top third of the
    opening's height (her upper teeth's tips and the gap below them cut off) at 55% of its
    light, darker than the lit cheeks; below it the mouth's dark. And where that row is, (h, w)
    bool."""
    image = portrait.image.copy()
    lm = portrait.landmarks
    opening = polygon_mask(image.shape[:2], outline(lm, LIPS_INNER_UPPER, LIPS_INNER_LOWER),
                           soft=False) > 0  # fmt: skip
    rows = np.arange(image.shape[0])[:, None]
    top = np.where(opening.any(0), np.argmax(opening, 0), 0)
    bottom = image.shape[0] - 1 - np.argmax(opening[::-1], 0)
    teeth = rows - top < 0.35 * (bottom - top)
    shade = np.where(teeth, 0.55, 0.12)[..., None]
    image[opening] = (image * shade)[opening].astype(np.uint8)
    return dataclasses.replace(portrait, image=image), opening & teeth


def test_teeth_in_shade_are_recognised_as_teeth(astronaut_portrait):
    """The astronaut's smile made a short row of teeth in shade (darker than her lit cheeks, as
    a talking mouth's teeth often are in a photo): they are found as her own upper teeth (less
    red than her lips, not much darker), so no painted row is drawn under them, and what
    teeth are painted (the lower ones, with the jaw wide open) take their colour, within 30
    levels. Before, they were taken for the mouth's dark: a row of teeth in her eye whites'
    light (about 110 levels lighter) was painted, which hangs under a row of the photo's
    shorter than it as the mouth opens (a white dashed line on such photos)."""
    shaded, teeth_row = _with_short_teeth_in_shade(astronaut_portrait)
    renderer = Renderer(shaded)
    own = renderer.mouth.own
    assert own is not None and own.has_upper_teeth
    lm = shaded.landmarks
    opening = polygon_mask(shaded.image.shape[:2], outline(lm, LIPS_INNER_UPPER, LIPS_INNER_LOWER),
                           soft=False) > 0  # fmt: skip
    own_teeth = shaded.image[teeth_row].astype(np.float32)
    # (their lit faces: the row's lighter half; the rest is the lips' edge and the corners' dark)
    lit = np.median(own_teeth[own_teeth.mean(1) >= np.median(own_teeth.mean(1))], axis=0)
    assert np.abs(renderer.mouth.teeth - lit).max() < 30, (renderer.mouth.teeth, lit)
    # And her opened mouth shows nothing lighter than her own teeth in its middle. (Her own
    # row, carried, covers where the painted one was drawn before: this guards against a
    # painted row over hers, not under it.)
    middle, half_width = lm[INNER_MOUTH_CORNERS, 0].mean(), np.ptp(lm[INNER_MOUTH_CORNERS, 0]) / 2
    xs = np.arange(shaded.image.shape[1])[None, :]
    opening &= np.abs(xs - middle) < 0.6 * half_width
    opened = renderer.render(MotionFrame.still(JawOpen=0.5))
    brighter = opened[opening].astype(np.float32).mean(1) > own_teeth.mean(1).max() + 20
    assert brighter.sum() < 10, brighter.sum()


def test_reddish_eye_whites_do_not_colour_the_teeth(mona_portrait):
    """The Mona Lisa (no teeth of her own) with dark red eye whites (as a shaded, bloodshot or
    mis-sampled eye reads): her painted teeth are not taken from them (before: teeth as red as
    the eyes) but an ivory as light as her cheeks."""
    image = mona_portrait.image.copy()
    lm = mona_portrait.landmarks
    for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
        opening = polygon_mask(image.shape[:2], outline(lm, upper, lower), soft=False) > 0
        image[opening] = (124, 62, 48)
    renderer = Renderer(dataclasses.replace(mona_portrait, image=image))
    teeth = cv2.cvtColor(renderer.mouth.teeth[None, None] / 255, cv2.COLOR_RGB2LAB)[0, 0]
    red_eyes = cv2.cvtColor(np.float32([[[124, 62, 48]]]) / 255, cv2.COLOR_RGB2LAB)[0, 0]
    assert teeth[1] < red_eyes[1] - 5, (teeth, red_eyes)
    assert teeth[0] > red_eyes[0] + 10, (teeth, red_eyes)


def test_teeth_told_from_the_mouths_dark_by_colour_and_in_grey_by_lightness():
    """Between pink lips (Lab L 46, a* 50) a grey tooth in their shade (L 42) is a tooth and a
    tongue as light (L 44) but red (a* 43) is not; between grey lips (a black-and-white photo,
    L 47) the same grey is the mouth's dark, and only what is lighter than the lips is a
    tooth."""
    pink_lips, grey_lips = np.float32([180, 70, 120]), np.float32([112, 112, 112])
    shaded_tooth, tongue, white = (100, 100, 100), (170, 70, 90), (160, 160, 160)
    patch = np.float32([[shaded_tooth, tongue, white]])
    assert mouth._tooth_pixels(patch, pink_lips).tolist() == [[True, False, True]]
    assert mouth._tooth_pixels(patch, grey_lips).tolist() == [[False, False, True]]


def _chroma(rgb: np.ndarray) -> float:
    _, a, b = mouth._lab(np.asarray(rgb, np.float64)[None])[0]
    return float(np.hypot(a, b))


def test_the_mona_lisas_painted_teeth_are_not_orange(mona_renderer):
    """Her eye whites under the varnish read as saturated as her skin (Lab chroma 69 against
    the cheeks' 60), and teeth painted in their colour were an orange row (in the frame chroma
    71: 1.2 of the skin's). Now her upper teeth are under 0.8 as colourful as her cheeks (43:
    0.73), still warm under the varnish (b* > 10) and lighter than the skin."""
    renderer = mona_renderer
    skin_lab = mouth._lab(_cheeks(renderer)[None].astype(float))[0]
    frame = MotionFrame.still(JawOpen=0.5)
    image = renderer.render(frame)
    x, y = np.round(renderer.rig.landmarks(frame)[13, :2]).astype(int)
    width = renderer.rig.mouth_width
    teeth = image[y + round(0.03 * width) : y + round(0.08 * width), x - 3 : x + 4]
    light, a, b = mouth._lab(np.median(teeth.reshape(-1, 3), axis=0)[None].astype(float))[0]
    assert np.hypot(a, b) < 0.8 * np.hypot(*skin_lab[1:]), (a, b, skin_lab)
    assert b > 10 and light > skin_lab[0], (light, a, b, skin_lab)


def _cheeks(renderer: Renderer) -> np.ndarray:
    """The cheeks' median colour (RGB) in the photo, as the painter takes it."""
    image = renderer.portrait.image
    masks = [polygon_mask(image.shape[:2], renderer.rig.neutral[list(c), :2], soft=False)
             for c in CHEEKS]  # fmt: skip
    return np.median(image[masks[0] | masks[1]], axis=0)


def test_teeth_under_a_faint_cast_keep_it():
    """Eye whites less colourful than 0.75 of the skin (the dark-skinned woman's: chroma 6.4
    against 26; the astronaut's 7.5 against 19) give teeth of their own colour, unchanged; a
    grey photo's stay grey."""
    for sclera, skin in (((180, 166, 160), (170, 120, 95)), ((214, 203, 190), (214, 182, 160)),
                         ((170, 170, 170), (200, 200, 200))):  # fmt: skip
        colour = np.array(sclera, np.float64)
        assert np.array_equal(mouth._paler_than(colour, np.array(skin, np.float64)), colour)
