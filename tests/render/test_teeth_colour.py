"""Painted teeth take their light from the eye whites, but never a cool cast: eye whites in shade
or under a cool grade read bluish, and teeth painted in that colour were a cyan band."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from gioconda.face.portrait import Portrait
from gioconda.face.topology import LEFT_EYE_LOWER, LEFT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER
from gioconda.motion.frames import MotionFrame
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
