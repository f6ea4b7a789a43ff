"""The photo's own mouth interior, carried in layers that move apart as the mouth opens: its
lower layer stays on the lower lip."""

import numpy as np

from gioconda.face.topology import LIPS_INNER_LOWER, LIPS_INNER_UPPER, MOUTH_CORNERS
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
    own = mouth._OwnInterior((0, 0), clear, lower, clear, False, teeth, np.zeros(3), 255.0)
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


def _dark_gap_below_teeth(blended: bool) -> np.ndarray:
    """The interior painted from a photo whose own opening (rows 10-20) is a dark grey gap
    (luma 40, as the elderly man's slightly open mouth), carried with the skull, over a
    painted cavity of luma 7 that the jaw has opened down to row 36 in the middle (row 26 at
    the sides), the mouth 74 px wide: the luma (H, W), with the gap's edge blended into the
    cavity (``blended``: the painted opening given) or not."""
    clear = np.zeros((H, W, 4), np.float32)
    upper = clear.copy()
    upper[10:21, 10:51] = (40, 40, 40, 1)
    # (lips of luma 120: the gap is the mouth's dark)
    own = mouth._OwnInterior((0, 0), upper, clear, clear, False, False, np.zeros(3), 120.0)
    interior = np.full((H, W, 3), 7.0, np.float32)
    xs = np.arange(W)
    lower_lip = 26.0 + 10.0 * np.clip(1 - ((xs - 30.0) / 20.0) ** 2, 0.0, None)
    rows = np.arange(H)[:, None]
    opening = (rows >= 10) & (rows <= lower_lip[None, :]) & (xs >= 10) & (xs <= 50)
    neutral = _landmarks(0.0)
    neutral[list(MOUTH_CORNERS)] = [(-7.0, 10.0), (67.0, 10.0)]
    own.paint(interior, (0, 0), neutral, neutral, neutral, np.zeros((H, W), np.float32),
              opening.astype(np.float32) if blended else None)  # fmt: skip
    return interior.mean(2)


def test_the_photos_dark_gap_blends_into_the_painted_cavity():
    """Where the photo's own upper interior ends (its lower lip's place, carried with the
    skull) its dark tone goes over into the painted cavity's across several rows: main jumped
    33 grey levels from one row to the next in every column, a straight seam across the
    elderly man's open mouth at JawOpen 0.75-1."""
    seam = np.abs(np.diff(_dark_gap_below_teeth(blended=False)[12:34, 15:46], axis=0))
    assert seam.max() > 30  # (the seam as it was)
    luma = _dark_gap_below_teeth(blended=True)
    steps = np.abs(np.diff(luma[12:34, 15:46], axis=0))
    assert steps.max() < 12, steps.max(0)
    # The photo's gap keeps its tone above the blend, and the cavity is the painted one
    # below it: the blend is short (carried further, the gap's grey reads as a lip).
    assert np.allclose(luma[10:16, 15:46], 40.0)
    assert np.allclose(luma[29:34, 15:46], 7.0, atol=0.5)
    assert (steps > 2).sum(0).min() >= 4  # (over at least four rows in every column)


def test_teeth_at_the_edge_keep_it():
    """Only the photo's dark is blended: an upper layer that ends in teeth (luma 200, lighter
    than the lips) keeps its edge, which is the teeth's."""
    clear = np.zeros((H, W, 4), np.float32)
    upper = clear.copy()
    upper[10:21, 10:51] = (200, 200, 200, 1)
    own = mouth._OwnInterior((0, 0), upper, clear, clear, True, False, np.zeros(3), 120.0)
    interior = np.full((H, W, 3), 7.0, np.float32)
    opening = np.zeros((H, W), np.float32)
    opening[10:36, 10:51] = 1.0
    neutral = _landmarks(0.0)
    neutral[list(MOUTH_CORNERS)] = [(-7.0, 10.0), (67.0, 10.0)]
    own.paint(interior, (0, 0), neutral, neutral, neutral, np.zeros((H, W), np.float32), opening)
    assert np.allclose(interior[10:21, 15:46], 200.0)
    assert np.allclose(interior[21:36, 15:46], 7.0)
