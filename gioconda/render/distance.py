"""Head distance: the person drawn bigger or smaller, the background around them following.

A person who comes closer to the camera grows as a whole, hair and shoulders too, so nothing
tears between what moves and what does not; the person is scaled about the chin, and beyond
the crop the photo's own surroundings show (mirrored past the photo's edges).

Closer, the person covers what lay around them and the background stays where it is. Further
away, what a smaller person would uncover is not painted in (a painted-out plate reads as a
blurred halo round the head): the background near the person is carried with the person's
edge by a scale that eases from the person's own to none over :data:`ZOOM_FADE` of the frame,
so what shows there is the photo's own background, stretched a little.
"""

from __future__ import annotations

import cv2
import numpy as np

from gioconda.face.portrait import Portrait, surroundings
from gioconda.face.topology import CHIN
from gioconda.render.cv2_typing import NO_ARRAY

#: Over how much of the frame (share of its side) a smaller person's scale eases to none in
#: the background around them.
ZOOM_FADE = 0.3
#: How far past the crop's edges the photo is kept for a smaller person (share of its side):
#: head distance 0.8 about a chin two thirds down the frame reads a sixth of it above.
ZOOM_PAD = 0.3


class HeadDistance:
    """Scales the person in finished frames of one portrait."""

    def __init__(self, portrait: Portrait, landmarks: np.ndarray) -> None:
        self.portrait = portrait
        size = self.size = portrait.size
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        self._grid = np.stack([xs, ys], axis=-1)
        self._anchor = landmarks[CHIN, :2].astype(np.float32)
        self._person = portrait.person_mask.astype(np.float32)
        outside = cv2.distanceTransform((self._person <= 0.5).astype(np.uint8), cv2.DIST_L2, 5)
        t = np.clip(1.0 - outside / (ZOOM_FADE * size), 0.0, 1.0)
        # How much of a smaller person's scale each photo pixel takes: all of it on the person.
        self._share = (t * t * (3 - 2 * t)).astype(np.float32)
        self._background = portrait.background.astype(np.float32)
        self._pad = max(1, round(ZOOM_PAD * size))
        self._source: np.ndarray | None = None  # the photo's surroundings, made on first use

    def apply(self, frame: np.ndarray, zoom: float) -> np.ndarray:
        """``frame`` (S, S, 3) uint8 with the person drawn ``zoom`` times as big."""
        # Where each output pixel comes from under the person's own scale.
        pure = (self._grid - self._anchor) / np.float32(zoom) + self._anchor
        pad = self._pad
        if self._source is None:
            self._source = surroundings(self.portrait, pad)
        extended = self._source.copy()
        extended[pad : pad + self.size, pad : pad + self.size] = frame
        if zoom >= 1.0:
            # Closer: the grown person over the still background (the person's own place,
            # where the grown person does not cover it, painted out).
            shown = cv2.remap(extended, pure + np.float32(pad), NO_ARRAY, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE).astype(np.float32)  # fmt: skip
            alpha = cv2.remap(self._person, pure, NO_ARRAY, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)[..., None]  # fmt: skip
            out = shown * alpha + self._background * (1.0 - alpha)
            return np.clip(out + 0.5, 0, 255).astype(np.uint8)
        share = cv2.remap(self._share, pure, NO_ARRAY, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)[..., None]  # fmt: skip
        source = pure * share + self._grid * (1.0 - share) + np.float32(pad)
        return cv2.remap(extended, source, NO_ARRAY, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
