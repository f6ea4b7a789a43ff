"""The photo's own mouth interior, carried in layers that move apart as the mouth opens: its
lower layer stays on the lower lip."""

import numpy as np

from gioconda.face.topology import LIPS_INNER_LOWER, LIPS_INNER_UPPER
from gioconda.render import mouth

H, W = 40, 60
STRIP_ROWS = (17, 20)  # the photo's lower-lip inner surface: rows just above its lip's edge


def _lip_y(xs: np.ndarray, drop: float) -> np.ndarray:
    """The lower lip's inner edge at ``xs``: row 20, curved down by ``drop`` in the middle."""
    return 20.0 + drop * np.clip(1 - ((xs - 30.0) / 20.0) ** 2, 0.0, None)


def _landmarks(drop: float) -> np.ndarray:
    lm = np.zeros((478, 2))
    upper, lower = list(LIPS_INNER_UPPER), list(LIPS_INNER_LOWER)
    lm[upper, 0] = np.linspace(10, 50, len(upper))
    lm[upper, 1] = 10.0
    lm[lower, 0] = np.linspace(10, 50, len(lower))
    lm[lower, 1] = _lip_y(lm[lower, 0], drop)
    return lm


def _carried_strip(colour: tuple[int, int, int], teeth: bool) -> np.ndarray:
    """The interior painted from a photo whose lower layer is a strip of ``colour`` just above
    its lip's edge (a layer of teeth where ``teeth``), after the jaw curves that edge 8 px
    down in the middle: (H, W, 3) float32."""
    clear = np.zeros((H, W, 4), np.float32)
    lower = clear.copy()
    lower[STRIP_ROWS[0] : STRIP_ROWS[1], 10:51] = (*colour, 1)
    own = mouth._OwnInterior((0, 0), clear, lower, clear, False, teeth, np.zeros(3))
    interior = np.zeros((H, W, 3), np.float32)
    neutral, posed = _landmarks(0.0), _landmarks(8.0)
    own.paint(interior, (0, 0), neutral, neutral, posed, np.zeros((H, W), np.float32))
    return interior


def test_lower_layer_stays_on_the_lower_lip_as_the_jaw_curves_it():
    """A strip of the photo's lower lip carried in the lower layer (red) lies just above the
    lip's edge after the jaw drops and curves that edge 8 px down in the middle, in the middle
    columns as at the sides. Before, the layer moved by a similarity only: the straight strip
    hung 3.6 px above the curved lip in the middle (the pink line across the young woman's
    open mouth)."""
    interior = _carried_strip((255, 0, 0), teeth=False)
    rows = np.arange(H, dtype=np.float64)
    for x in (20, 25, 30, 35, 40):
        red = interior[:, x, 0] / 255
        assert red.sum() > 2, x
        centre = float((red * rows).sum() / red.sum())
        # (the strip's centre, row 18, sat 2 rows above the lip's edge in the photo)
        expected = float(_lip_y(np.array([x]), 8.0)[0]) - 2.0
        assert abs(centre - expected) < 0.5, (x, centre, expected)


def test_lower_teeth_move_rigidly_with_the_jaw():
    """A lower layer that shows teeth is not bent to the lip's curve: the teeth are set in the
    jaw, and the row stays straight (the same rows in the middle as toward the sides)."""
    interior = _carried_strip((255, 255, 255), teeth=True)
    rows = np.arange(H, dtype=np.float64)
    centres = []
    for x in (25, 30, 35):
        shown = interior[:, x, 0] / 255
        centres.append(float((shown * rows).sum() / shown.sum()))
    assert max(centres) - min(centres) < 0.5, centres
