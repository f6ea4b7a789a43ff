"""Frames rendered by several threads: the same frames, in order, a bounded number at a time."""

from __future__ import annotations

import threading
import time

import av
import numpy as np
import pytest

from gioconda.motion.blendshapes import BS
from gioconda.motion.frames import Motion, MotionFrame
from gioconda.pipeline import render_video
from gioconda.render.stream import FRAMES_AHEAD_PER_THREAD, ordered_frames


def test_ordered_frames_keeps_order_and_bounds_what_is_in_flight() -> None:
    lock = threading.Lock()
    alive = 0  # made and not yet taken by the consumer
    most = 0

    def make(i: int) -> int:
        nonlocal alive, most
        # Later frames finish first: the order must come from the frame numbers.
        time.sleep(0.002 * ((7 * i) % 5))
        with lock:
            alive += 1
            most = max(most, alive)
        return i

    seen = []
    for i in ordered_frames(make, 60, threads=3):
        with lock:
            alive -= 1
        seen.append(i)
    assert seen == list(range(60))
    assert most <= FRAMES_AHEAD_PER_THREAD * 3


def test_ordered_frames_raises_the_frames_error_and_stops() -> None:
    made = []

    def make(i: int) -> int:
        made.append(i)
        if i == 5:
            raise ValueError("frame 5")
        return i

    with pytest.raises(ValueError, match="frame 5"):
        list(ordered_frames(make, 1000, threads=2))
    # The frames after the failing one were not all made: the pool stopped.
    assert len(made) < 1000


def _motion(n: int) -> Motion:
    """Head turns, a blink and an open mouth: every part of the renderer at work."""
    rng = np.random.default_rng(3)
    rest = MotionFrame.still()
    shapes = np.tile(rest.blendshapes, (n, 1))
    shapes[:, BS["JawOpen"]] = np.linspace(0, 1, n)
    shapes[n // 2, [BS["EyeBlinkLeft"], BS["EyeBlinkRight"]]] = 1.0
    return Motion(
        25.0,
        shapes.astype(np.float32),
        rng.uniform(-12, 12, (n, 3)).astype(np.float32),
        np.zeros((n, 2), np.float32),
        np.ones(n, np.float32),
        rng.uniform(-10, 10, (n, 2)).astype(np.float32),
    )


def test_threads_render_the_same_frames(mona_renderer) -> None:
    motion = _motion(12)
    alone = [mona_renderer.render(motion.frame(i)) for i in range(len(motion))]
    threaded = list(ordered_frames(lambda i: mona_renderer.render(motion.frame(i)), 12, 3))
    assert all(np.array_equal(a, b) for a, b in zip(alone, threaded, strict=True))


def _decoded(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_render_video_same_video_with_threads_and_presets(mona_portrait, tmp_path) -> None:
    motion = _motion(10)
    one = tmp_path / "one.mp4"
    two = tmp_path / "two.mp4"
    fast = tmp_path / "fast.mp4"
    render_video(mona_portrait, motion, None, one, threads=1)
    render_video(mona_portrait, motion, None, two, threads=2)
    frames = _decoded(one)
    assert len(frames) == 10
    assert all(np.array_equal(a, b) for a, b in zip(frames, _decoded(two), strict=True))
    # A faster preset at a higher CRF: a smaller file, the same frames give a lower fidelity.
    render_video(mona_portrait, motion, None, fast, preset="ultrafast", crf=35, threads=2)
    coarse = _decoded(fast)
    assert fast.stat().st_size < one.stat().st_size
    pairs = zip(frames, coarse, strict=True)
    coarser = np.mean([np.abs(a.astype(float) - b).mean() for a, b in pairs])
    assert coarser > 0.3  # crf 35 visibly coarser than crf 20
