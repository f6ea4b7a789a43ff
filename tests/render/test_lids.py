"""A shut lid covers all of the eye the photo shows, and a raised brow leaves it where it is,
wherever Face Mesh puts the lid line."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from gioconda.face.portrait import Portrait
from gioconda.face.topology import EYE_LIDS, LEFT_BROW_LOWER, RIGHT_BROW_LOWER
from gioconda.motion.frames import MotionFrame
from gioconda.render.renderer import Renderer

#: The eye white (or iris) painted above Face Mesh's upper lid line, and the lid's dark edge
#: above it.
WHITE = (232, 228, 222)
IRIS = (120, 128, 140)
LASHES = (45, 35, 35)


def _eye_white(frame: np.ndarray) -> np.ndarray:
    """Eye-white-coloured pixels (bool): light and without the skin's warmth (in shade too)."""
    lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB).astype(np.float32)
    chroma = np.hypot(lab[..., 1] - 128, lab[..., 2] - 128)
    return (lab[..., 0] > 45 * 2.55) & (chroma < 6)


@pytest.fixture(scope="module")
def white_above_the_line(astronaut_portrait: Portrait) -> tuple[Renderer, np.ndarray]:
    """The astronaut with each eye's white reaching 0.12 eye widths above Face Mesh's upper
    lid line over the eye's middle 70%, the lid's dark edge drawn above it (as on a painting
    whose lid Face Mesh places low); and the shut eye's region (bool): the eye between its
    landmark lines and that band."""
    landmarks = astronaut_portrait.landmarks[:, :2]
    image = astronaut_portrait.image.copy()
    region = np.zeros(image.shape[:2], np.uint8)
    for upper_ids, lower_ids in EYE_LIDS:
        upper = landmarks[list(upper_ids)]
        upper = upper[np.argsort(upper[:, 0])]
        left, right = float(upper[0, 0]), float(upper[-1, 0])
        width = right - left
        for x in range(int(left + 0.15 * width), int(right - 0.15 * width) + 1):
            line = float(np.interp(x, upper[:, 0], upper[:, 1]))
            top = int(np.floor(line - 0.12 * width))
            image[top : int(np.ceil(line)) + 1, x] = WHITE
            region[top : int(np.ceil(line)) + 1, x] = 1
            image[top - 2 : top, x] = LASHES
        outline = landmarks[list(upper_ids) + list(lower_ids)[::-1]]
        cv2.fillPoly(region, [np.round(outline).astype(np.int32)], 1)
    renderer = Renderer(dataclasses.replace(astronaut_portrait, image=image))
    return renderer, region > 0


def test_a_shut_lid_covers_the_eye_white_above_face_meshs_lid_line(white_above_the_line):
    """Shut, no eye white is left in the eye: 0.9% of its region is eye-white-coloured (about
    as much as the photo's own lid has), against 38% open. The old lids closed from Face
    Mesh's line and carried the band of white above it down with the lashes: 38% shut, as
    open. Half shut, the lid comes down from the drawn edge: 8% (old 37%). The rest frame is
    the photo."""
    renderer, region = white_above_the_line
    rest = renderer.render(MotionFrame.still())
    assert np.array_equal(rest, renderer.portrait.image)
    open_white = float(_eye_white(rest)[region].mean())
    assert open_white > 0.3
    half = renderer.render(MotionFrame.still(EyeBlinkLeft=0.5, EyeBlinkRight=0.5))
    shut = renderer.render(MotionFrame.still(EyeBlinkLeft=1.0, EyeBlinkRight=1.0))
    assert float(_eye_white(half)[region].mean()) < 0.5 * open_white
    assert float(_eye_white(shut)[region].mean()) < 0.03


def test_a_raised_brow_leaves_the_eye_above_face_meshs_lid_line_in_place(astronaut_portrait):
    """With the brows fully raised, the iris that shows above Face Mesh's upper lid line (here
    a band 0.05 eye widths tall over the eye's middle, under the lid's dark edge; on a real
    photo of a man in glasses, 3-4 px of iris under the rim) stays with the eye: 0.1% of the
    skin between it and the brow is iris-coloured (old 6.4%: the lid's fold, stretched to the
    landmark line itself, drew the iris up it as a grey patch)."""
    landmarks = astronaut_portrait.landmarks[:, :2]
    image = astronaut_portrait.image.copy()
    fold = np.zeros(image.shape[:2], bool)
    for (upper_ids, _), brow_ids in zip(EYE_LIDS, (RIGHT_BROW_LOWER, LEFT_BROW_LOWER), strict=True):
        upper = landmarks[list(upper_ids)]
        upper = upper[np.argsort(upper[:, 0])]
        brow = landmarks[list(brow_ids)]
        brow = brow[np.argsort(brow[:, 0])]
        left, right = float(upper[0, 0]), float(upper[-1, 0])
        width = right - left
        for x in range(int(left + 0.3 * width), int(right - 0.3 * width) + 1):
            line = float(np.interp(x, upper[:, 0], upper[:, 1]))
            top = int(np.floor(line - 0.05 * width))
            image[top : int(np.ceil(line)) + 1, x] = IRIS
            image[top - 2 : top, x] = LASHES
            fold[int(np.interp(x, brow[:, 0], brow[:, 1])) - 8 : top - 2, x] = True
    renderer = Renderer(dataclasses.replace(astronaut_portrait, image=image))
    iris = cv2.cvtColor(np.uint8([[IRIS]]), cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)

    def iris_share(frame: np.ndarray) -> float:
        lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB).astype(np.float32)
        return float((np.linalg.norm(lab - iris, axis=-1)[fold] < 12).mean())

    assert iris_share(renderer.render(MotionFrame.still())) == 0.0
    raised = MotionFrame.still(BrowInnerUp=1.0, BrowOuterUpLeft=1.0, BrowOuterUpRight=1.0)
    assert iris_share(renderer.render(raised)) < 0.01
