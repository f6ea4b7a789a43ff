"""Only the motion window of a frame is inverted and composited (see
:meth:`~gioconda.render.renderer.Renderer._motion_window`): inside it the frame must be the one
the whole frame's inversion gives, whatever the window's edge. A window cutting the smooth
grid's blocks changed the map deep inside it: a layer two pixels wider (the Mona Lisa's hair
outline taken into it) moved the mouth's rim at JawOpen 0.5 (828 pixels off the whole frame's
render, 57 by more than 8 grey levels)."""

from __future__ import annotations

import numpy as np
import pytest

from gioconda.motion.frames import MotionFrame
from gioconda.render.renderer import Renderer


@pytest.mark.parametrize("shift", [0, 1, 2, 3])
def test_the_window_renders_what_the_whole_frame_does(
    mona_renderer: Renderer, monkeypatch: pytest.MonkeyPatch, shift: int
) -> None:
    renderer = mona_renderer
    frame = MotionFrame.still(JawOpen=0.5)
    window = renderer._motion_window
    whole = renderer._inverse_map
    # The window's edge moved a few pixels out (a layer a little wider).
    y0, y1, x0, x1 = renderer._layer_box
    monkeypatch.setattr(renderer, "_layer_box", (y0, y1, max(x0 - shift, 0), x1))
    assert window(renderer.rig.head(frame), np.zeros((478, 2), np.float32)) is not None
    windowed = renderer.render(frame).astype(np.int16)
    monkeypatch.setattr(
        renderer, "_inverse_map", lambda head, on_face, _window: whole(head, on_face, None)
    )
    full = renderer.render(frame).astype(np.int16)
    off = np.abs(windowed - full).max(-1)
    assert (off > 8).sum() == 0
    assert (off > 0).mean() < 0.002
