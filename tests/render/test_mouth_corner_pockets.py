"""A smiling photo's dark corner pockets do not stay behind as a wedge beside the corners of
an opening mouth (issue 14): the warp carries them with the lips while the painted opening's
corners come down with the jaw, so the frame fades them out where the mouth opens."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from gioconda.face.portrait import Portrait
from gioconda.face.topology import LIPS_INNER_LOWER, LIPS_INNER_UPPER, mouth_width
from gioconda.motion.frames import MotionFrame
from gioconda.render.regions import outline
from gioconda.render.renderer import Renderer

#: Grey below which a pixel reads as a pocket's black (the astronaut's skin and lips are
#: over 100; the painted-in pockets 4 to 6).
BLACK = 30


def _with_pockets(portrait: Portrait) -> Portrait:
    """The astronaut with black pockets painted at both mouth corners, as a broad smile
    (the man in the fur hat) holds them between the lips: the landmarks stay the photo's."""
    image = portrait.image.copy()
    landmarks = portrait.landmarks
    width = mouth_width(landmarks)
    for outer, inner in ((61, 78), (291, 308)):
        centre = (landmarks[outer, :2] + landmarks[inner, :2]) / 2
        x, y = np.round(centre).astype(int)
        cv2.circle(image, (int(x), int(y)), round(0.06 * width), (6, 4, 4), -1)
    return dataclasses.replace(portrait, image=image)


def _black_beside_corners(frame: np.ndarray, posed: np.ndarray, width: float) -> list[int]:
    """Black pixels within 0.2 mouth widths of each mouth corner, outside the opening (the
    painted interior is dark by design)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    opening: np.ndarray = np.zeros(grey.shape, np.uint8)
    inner = outline(posed, LIPS_INNER_UPPER, LIPS_INNER_LOWER)
    cv2.fillPoly(opening, [np.round(inner).astype(np.int32)], (1,))
    opening = cv2.dilate(opening, np.ones((5, 5), np.uint8)) > 0
    rows, cols = np.mgrid[: grey.shape[0], : grey.shape[1]]
    counts = []
    for corner in (61, 291):
        near = (cols - posed[corner, 0]) ** 2 + (rows - posed[corner, 1]) ** 2 <= (0.2 * width) ** 2
        counts.append(int(((grey < BLACK) & near & ~opening).sum()))
    return counts


@pytest.fixture(scope="module")
def pocket_renderer(astronaut_portrait: Portrait) -> Renderer:
    return Renderer(_with_pockets(astronaut_portrait))


def test_rest_frame_keeps_the_pockets(pocket_renderer: Renderer) -> None:
    rest = pocket_renderer.render(MotionFrame.still())
    assert np.array_equal(rest, pocket_renderer._photo)


@pytest.mark.parametrize("jaw", [0.3, 0.6, 0.9])
def test_open_mouth_leaves_no_black_beside_its_corners(
    pocket_renderer: Renderer, jaw: float
) -> None:
    frame = MotionFrame.still(JawOpen=jaw)
    posed = pocket_renderer.rig.landmarks(frame)[:, :2]
    counts = _black_beside_corners(
        pocket_renderer.render(frame), posed, pocket_renderer.rig.mouth_width
    )
    # (Without the corners' fade, about a hundred black pixels at each corner at JawOpen 0.6.)
    assert max(counts) <= 5, counts
