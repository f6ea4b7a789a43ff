"""Something that crosses the ear lobes' line away from the face (a hand raised to the head,
a headscarf's cloth hanging past the shoulder) bends where the head layer ends against the
still body, instead of being cut there by the head's motion (issue 14: the Vermeer's hanging
cloth and a raised wrist tore at roll 8)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from gioconda.face.portrait import Portrait
from gioconda.face.topology import N_MESH_LANDMARKS
from gioconda.motion.frames import MotionFrame
from gioconda.render.renderer import Renderer

#: The raised arm painted beside the astronaut's head: columns, and the rows of the hand that
#: joins her hair above the ear lobes (the forearm runs from there to the crop's bottom).
ARM_COLUMNS = (440, 480)
HAND_ROWS = (160, 200)


@pytest.fixture(scope="module")
def raised_arm(astronaut_portrait: Portrait) -> Renderer:
    """The astronaut with a striped forearm rising beside her head to a hand on her hair:
    above the lobes' line it is person joined to the head (it moves with it), below it the
    still body."""
    image = astronaut_portrait.image.copy()
    mask = astronaut_portrait.person_mask.copy()
    size = astronaut_portrait.size
    arm = np.zeros((size, size), bool)
    x0, x1 = ARM_COLUMNS
    arm[HAND_ROWS[0] :, x0:x1] = True
    hand = np.zeros_like(arm)
    hand[HAND_ROWS[0] : HAND_ROWS[1], 380:x1] = True
    arm |= hand & (mask < 0.5)
    ys, xs = np.mgrid[0:size, 0:size]
    # The hand in diagonal stripes 8 pixels apart (a shift either way across the cut shows);
    # below the lobes a sleeve of her suit (a copy of its pixels under her chin), which the
    # layer does not take for hair hanging from the hand: it stays put.
    stripes = ((xs + ys) // 4) % 2 == 0
    image[arm] = np.where(stripes[arm][:, None], (230, 180, 150), (150, 100, 80))
    lobes = int(astronaut_portrait.landmarks[[132, 361], 1].max())
    sleeve = arm & (ys > lobes)
    suit = image[size - 90 + (ys[sleeve] % 90), xs[sleeve] - 190]
    image[sleeve] = suit
    mask[arm] = 1.0
    portrait = dataclasses.replace(astronaut_portrait, image=image, person_mask=mask)
    return Renderer(portrait)


def _cut(renderer: Renderer) -> np.ndarray:
    """The head layer's pixels that border the still arm below the lobes, away from the
    face: where the layer ends against it, (S, S) bool."""
    region = renderer.layers.region
    size = renderer.size
    core = (region.head > 0) | (region.neck > 0) | (region.hanging > 0)
    still = region.still_body.astype(np.uint8)
    face = np.zeros((size, size), np.uint8)
    points = renderer.rig.neutral[:N_MESH_LANDMARKS, :2].astype(np.float32)
    cv2.fillConvexPoly(face, np.round(cv2.convexHull(points)).astype(np.int32), (1,))
    far = cv2.distanceTransform(1 - face, cv2.DIST_L2, 5) > 0.1 * size
    on_arm = np.zeros_like(core)
    on_arm[:, ARM_COLUMNS[0] : ARM_COLUMNS[1]] = True
    return core & (cv2.dilate(still, np.ones((5, 5), np.uint8)) > 0) & far & on_arm


@pytest.mark.parametrize("roll", [8.0, -8.0])
def test_a_raised_arm_bends_where_the_head_layer_ends(raised_arm: Renderer, roll: float) -> None:
    renderer = raised_arm
    cut = _cut(renderer)
    assert cut.sum() > 20
    frame = MotionFrame.still((0.0, 0.0, roll))
    head = renderer.rig.head(frame)
    field = renderer.forward_field(head, np.zeros((478, 2), np.float32))
    # What the frame shows moves by the layer's displacement where the layer shows, and not
    # at all where the still picture does: across the cut the motion must not jump (it did
    # by 23 px, the rigid motion there times the layer's share).
    shown = np.linalg.norm(field, axis=-1) * renderer.layers.alpha
    assert shown[cut].max() < 1.0
    # Nor fold on its way up the arm: the field stays invertible over the layer's part of it.
    arm = np.zeros(cut.shape, bool)
    arm[HAND_ROWS[1] :, ARM_COLUMNS[0] : ARM_COLUMNS[1]] = True
    arm &= renderer.layers.alpha > 0.5
    dfx, dfy = np.gradient(field[..., 0]), np.gradient(field[..., 1])
    det = (1 + dfx[1]) * (1 + dfy[0]) - dfx[0] * dfy[1]
    assert det[arm].min() > 0.2
    # And the frame: the stripes either side of the cut stay where the photo has them.
    rendered = renderer.render(frame).astype(np.int16)
    around = cv2.dilate(cut.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    change = np.abs(rendered - renderer.portrait.image).max(-1)[around]
    assert change.mean() < 4.0
