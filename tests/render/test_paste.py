"""Full-frame paste: resampling only what changed gives the whole region's resampling."""

import numpy as np

from gioconda.motion.frames import MotionFrame
from gioconda.render.paste import FullFramePaste


def test_paste_of_what_changed_equals_the_whole_paste(astronaut_renderer):
    portrait = astronaut_renderer.portrait
    paste = FullFramePaste(portrait)
    still = portrait.image
    frames = [
        still,
        astronaut_renderer.render(MotionFrame.still((12.0, 4.0, 3.0), JawOpen=0.6)),
    ]
    rng = np.random.default_rng(0)
    size = portrait.size
    # Changes in the middle, along the crop's top edge and in its feathered corner.
    for rows, cols in ((slice(200, 260), slice(230, 300)), (slice(0, 5), slice(100, 400)),
                       (slice(size - 9, size), slice(size - 12, size))):  # fmt: skip
        changed = still.copy()
        changed[rows, cols] = rng.integers(0, 256, changed[rows, cols].shape, np.uint8)
        frames.append(changed)
    for frame in frames:
        pasted = paste(frame)
        assert pasted.shape == portrait.photo.shape
        assert np.array_equal(pasted, paste.paste_whole(frame))
    # Beyond the crop the photo itself.
    outside = np.ones(portrait.photo.shape[:2], bool)
    outside[paste.y0 : paste.y1, paste.x0 : paste.x1] = False
    assert np.array_equal(paste(frames[-1])[outside], portrait.photo[outside])
