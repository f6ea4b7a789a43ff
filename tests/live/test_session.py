"""Live sessions: steady frames from audio of any chunking, the offline motion, controls, limits.

The sessions here run on a clock the test advances (no sleeping), so what is checked is the
session's logic, not this machine's speed (``gioconda bench live`` measures that).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gioconda.errors import GiocondaError
from gioconda.face.portrait import Portrait, analyze_portrait
from gioconda.live import LiveOptions, LiveSession
from gioconda.live.network import StreamingVisemeNet
from gioconda.motion.blendshapes import BS
from gioconda.motion.controls import MotionControls
from gioconda.motion.generate import generate_motion
from gioconda.motion.mouth import _MOUTH_COLUMNS
from gioconda.speech.audio import analyze_audio, resample
from gioconda.speech.recognize import RECOGNIZERS
from gioconda.speech.synthesis import speak
from gioconda.speech.visemenet import VisemeNet

SENTENCE = (
    "Hello there, my name is Lisa, and I am pleased to meet you. Maybe we could go for a walk."
)


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def small_portrait(mona_lisa: np.ndarray) -> Portrait:
    # 256 pixels: the session's logic does not depend on the size, and it renders 4x faster.
    return analyze_portrait(mona_lisa, 256)


@pytest.fixture(scope="module")
def spoken():
    return speak(SENTENCE, "en-us")


def run_mic(session: LiveSession, clock: Clock, pcm: np.ndarray, rate: int, chunks, tail_s=0.6):
    """Push ``pcm`` in pieces of the given sizes as the clock reaches them; pull as we go."""
    frames, position, arrival = [], 0, 0.0
    sizes = iter(chunks)
    while position < len(pcm):
        size = next(sizes)
        piece = pcm[position : position + size]
        position += len(piece)
        arrival += len(piece) / rate
        while clock.t < arrival:
            clock.t = min(arrival, clock.t + 0.01)
            frames += session.pull()
        session.push_audio(piece, rate)
        frames += session.pull()
    end = clock.t + tail_s
    while clock.t < end:
        clock.t += 0.01
        frames += session.pull()
    return frames


def test_streaming_network_equals_the_offline_network() -> None:
    net = VisemeNet()
    mel = np.random.default_rng(0).standard_normal((400, 40)).astype(np.float32)
    offline = net.forward(mel)
    stream = StreamingVisemeNet(net)
    rng = np.random.default_rng(1)
    parts, i = [], 0
    while i < len(mel):
        n = int(rng.integers(1, 12))
        parts.append(stream.push(mel[i : i + n]))
        i += n
    live = np.concatenate(parts)
    # Every hop but the last few (which wait for their look-ahead) is scored, as offline.
    assert len(live) == len(mel) - 4
    np.testing.assert_allclose(live, offline[: len(live)], atol=1e-4)


def test_text_gives_the_offline_mouth_and_its_audio(small_portrait, spoken) -> None:
    clock = Clock()
    session = LiveSession(small_portrait, LiveOptions(), clock=clock)
    duration = session.push_speech(spoken.audio, spoken.phones)
    frames = []
    while clock.t < duration + 0.3:
        clock.t += 0.04
        frames += session.pull()
    n = len(frames)
    assert [f.index for f in frames] == list(range(n))
    features = analyze_audio(resample(spoken.audio, 16_000))
    offline = generate_motion(features, spoken.phones, n, 25.0, MotionControls())
    live = np.stack([f.motion.blendshapes for f in frames])
    # One motion code path: the same mouth as offline on every frame.
    np.testing.assert_allclose(
        live[:, _MOUTH_COLUMNS], offline.blendshapes[:, _MOUTH_COLUMNS], atol=1e-3
    )
    assert (live[:, BS["MouthClose"]] > 0.99).sum() >= 3  # the /m/, /p/, /b/ closures
    # The speech comes back with the frames, in order and whole.
    audio = np.concatenate([f.audio for f in frames if f.audio is not None])
    expected = resample(spoken.audio, 24_000).samples
    assert len(expected) <= len(audio) < len(expected) + 2 * 24_000 / 25
    np.testing.assert_allclose(audio[: len(expected)], expected, atol=1e-6)
    assert frames[10].image.shape == (256, 256, 3)


def test_frames_a_slow_consumer_cannot_take_are_made_not_drawn(small_portrait, spoken) -> None:
    clock = Clock()
    session = LiveSession(small_portrait, LiveOptions(), clock=clock)
    duration = session.push_speech(spoken.audio, spoken.phones)
    frames = []
    while clock.t < duration + 0.3:
        clock.t += 0.04
        # The consumer takes every third frame only.
        frames += session.pull(draw=round(clock.t / 0.04) % 3 == 0)
    made = session.stats.frames
    assert session.stats.frames_skipped_consumer == made - len(frames) > made / 2
    # The motion went on without them: the drawn frames are the newest due, in time order.
    assert all(b.index > a.index for a, b in itertools.pairwise(frames))
    assert frames[-1].index >= made - 3
    # Their speech is not lost: it comes with the next drawn frame.
    audio = np.concatenate([f.audio for f in frames if f.audio is not None])
    assert len(audio) >= len(resample(spoken.audio, 24_000).samples)


def test_microphone_in_odd_chunks_follows_the_offline_network_motion(
    small_portrait, spoken
) -> None:
    clock = Clock()
    session = LiveSession(small_portrait, LiveOptions(), clock=clock)
    audio44 = resample(spoken.audio, 44_100).samples
    pcm = (np.clip(audio44, -1, 1) * 32767).astype(np.int16)
    rng = np.random.default_rng(3)
    # Chunks from 1 ms to 120 ms, as a browser or a network might cut them (the first one
    # short, so that the timeline starts with this audio rather than with waiting for it).
    sizes = [882, *(int(x) for x in rng.integers(44, 5300, 10**4))]
    frames = run_mic(session, clock, pcm, 44_100, sizes)
    n = len(frames)
    # A steady rate: one frame per 40 ms of clock, none repeated or missing.
    assert [f.index for f in frames] == list(range(n))
    # ... behind the clock by the look-ahead and the wait for a chunk, no more.
    assert clock.t * 25 - 8 <= n <= clock.t * 25 + 1
    audio16 = resample(spoken.audio, 16_000)
    phones = RECOGNIZERS["network"]().recognize(audio16)
    offline = generate_motion(analyze_audio(audio16), phones, n, 25.0)
    live_jaw = np.array([f.motion.blendshapes[BS["JawOpen"]] for f in frames])
    offline_jaw = offline.blendshapes[:, BS["JawOpen"]]
    # Live, the mouth cannot anticipate sounds not yet heard: it may trail by a frame.
    assert np.corrcoef(live_jaw, offline_jaw)[0, 1] > 0.6
    assert max(np.corrcoef(live_jaw[k:], offline_jaw[: n - k])[0, 1] for k in (1, 2)) > 0.75
    closed_live = np.array([f.motion.blendshapes[BS["MouthClose"]] > 0.9 for f in frames])
    closed_offline = offline.blendshapes[:, BS["MouthClose"]] > 0.9
    assert (closed_live & closed_offline).sum() >= 0.6 * closed_offline.sum()
    stats = session.stats.summary()
    assert stats["audio_dropped_s"] == 0 and stats["frames_skipped"] == 0
    # From a chunk's arrival to its frame: the network's 52.5 ms and the decoder's 20 ms, plus
    # at most one chunk and one frame (the fake clock makes the rest instant).
    assert stats["latency_ms"]["p95"] <= 75 + 120 + 40 + 10


def test_silence_keeps_the_face_alive(small_portrait) -> None:
    clock = Clock()
    session = LiveSession(small_portrait, LiveOptions(), MotionControls(seed=2), clock=clock)
    frames = []
    while clock.t < 12.0:
        clock.t += 0.04
        frames += session.pull()
    assert abs(len(frames) - 12.0 * 25) <= 5  # frames keep coming with no audio at all
    blink = np.array([f.motion.blendshapes[BS["EyeBlinkLeft"]] for f in frames])
    assert ((blink[1:] > 0.9) & (blink[:-1] <= 0.9)).sum() >= 1
    yaw = np.array([f.motion.head_rotation_deg[0] for f in frames])
    gaze = np.array([f.motion.gaze_deg for f in frames])
    assert yaw[100:].std() > 0.05 and np.abs(np.diff(gaze, axis=0)).max() > 0.5
    jaw = np.array([f.motion.blendshapes[BS["JawOpen"]] for f in frames])
    assert jaw.max() < 0.05  # yet the mouth rests
    assert session.stats.silence_filled_s > 11.0


def test_late_audio_and_bursts_neither_stall_nor_pile_up(small_portrait, spoken) -> None:
    clock = Clock()
    session = LiveSession(small_portrait, LiveOptions(), clock=clock)
    pcm = (np.clip(resample(spoken.audio, 16_000).samples, -1, 1) * 32767).astype(np.int16)
    chunk = 320
    frames = []
    # Two seconds in real time, then the network stalls for a second, then everything held
    # back arrives at once.
    for k in range(100):
        clock.t = (k + 1) * 0.02
        session.push_audio(pcm[k * chunk : (k + 1) * chunk], 16_000)
        frames += session.pull()
    for _ in range(25):
        clock.t += 0.04
        frames += session.pull()
    session.push_audio(pcm[100 * chunk : 150 * chunk], 16_000)
    for _ in range(25):
        clock.t += 0.04
        frames += session.pull()
    # No stall: frames kept coming; the few made while catching up were not drawn, and say so.
    index = np.array([f.index for f in frames])
    stats = session.stats
    assert np.diff(index).min() >= 1 and np.diff(index).max() <= 3
    assert len(frames) + stats.frames_skipped == index[-1] + 1
    assert stats.silence_filled_s > 0.7  # the stall was bridged with silence...
    assert stats.audio_dropped_s > 0.4  # ... and the burst did not add its second of delay
    last = frames[-1]
    assert clock.t - last.time_s < 0.4  # the stream stays near the clock


def test_controls_change_mid_session_eased(small_portrait) -> None:
    clock = Clock()
    session = LiveSession(small_portrait, LiveOptions(), MotionControls(seed=1), clock=clock)
    frames = []
    while clock.t < 2.0:
        clock.t += 0.04
        frames += session.pull()
    session.set_control("gaze", [-20, 0])
    session.set_control("emotion", "happy")
    changed_at = len(frames)
    while clock.t < 3.0:
        clock.t += 0.04
        frames += session.pull()
    gaze = np.array([f.motion.gaze_deg[0] for f in frames[changed_at:]])
    smile = np.array([f.motion.blendshapes[BS["MouthSmileLeft"]] for f in frames[changed_at:]])
    assert gaze[0] > -5  # eased, not a jump ...
    assert gaze[1] < gaze[0]  # ... that starts at once ...
    assert gaze[10] < -17  # ... and arrives within a few frames
    assert smile[0] < 0.2 and smile[10] > 0.5
    with pytest.raises(GiocondaError, match="unknown control"):
        session.set_control("volume", 3)
    with pytest.raises(GiocondaError):
        session.set_control("head_distance", 9)


def test_bad_input_is_refused_clearly(small_portrait) -> None:
    session = LiveSession(small_portrait, LiveOptions())
    with pytest.raises(GiocondaError, match="sample rate"):
        session.push_audio(np.zeros(100, np.int16), 100)
    with pytest.raises(GiocondaError, match="mono"):
        session.push_audio(np.zeros((100, 2), np.float32), 16_000)
    with pytest.raises(GiocondaError, match="empty"):
        session.push_text("   ")
    with pytest.raises(GiocondaError, match="fps"):
        LiveSession(small_portrait, LiveOptions(fps=0))
