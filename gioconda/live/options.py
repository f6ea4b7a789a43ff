"""What a live session is asked for and what it gives: its options, its frames and its
statistics (dropped audio, skipped frames, latency by stage)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gioconda.speech.synthesis import DEFAULT_VOICE


@dataclass(frozen=True)
class LiveOptions:
    """How a live session runs.

    Attributes
    ----------
    fps: frames per second
    lookahead_s: how far past a frame's time the phones must be known before it is made (beyond
        the network's own 52.5 ms and the decoder's lag); more anticipates the next sound better
        and adds as much latency (from 0.45 s on, the mouth sees all the phones the offline
        mouth looks at)
    decoder_lag_hops: 10 ms hops the viseme decoder waits before it commits a hop
    max_wait_s: how long a frame waits for late audio before that audio is taken as silence
        (longer when the audio comes in chunks longer than this)
    max_buffer_s: audio more than this far ahead of the clock is dropped (bursts)
    max_latency_s: a frame that could only be shown later than this after its audio could
        have come (beyond the wait for its chunk) is made but not rendered: the machine is
        behind, and skipping keeps delay from piling up
    voice: voice for :meth:`LiveSession.push_text`
    max_text_chars: longest text accepted at once
    label: draw the small "AI-generated" label on every frame, as on every video
    """

    fps: float = 25.0
    lookahead_s: float = 0.0
    decoder_lag_hops: int = 2
    max_wait_s: float = 0.12
    max_buffer_s: float = 0.3
    max_latency_s: float = 0.08
    voice: str = DEFAULT_VOICE
    max_text_chars: int = 600
    label: bool = True


@dataclass
class LiveStats:
    """What a session has done so far; all times in seconds."""

    frames: int = 0
    frames_rendered: int = 0
    frames_skipped: int = 0
    #: Made but not drawn because whoever takes the frames was still behind (a slow client).
    frames_skipped_consumer: int = 0
    audio_in_s: float = 0.0
    audio_dropped_s: float = 0.0
    silence_filled_s: float = 0.0
    texts: int = 0
    #: Per rendered frame: latency from the arrival of the audio it shows to the frame being
    #: ready, and its stages (waiting for look-ahead, features, motion, render).
    latency_s: list[float] = field(default_factory=list)
    stage_s: dict[str, list[float]] = field(
        default_factory=lambda: {"lookahead": [], "features": [], "motion": [], "render": []}
    )

    def summary(self) -> dict[str, object]:
        """The counters, and latency percentiles in milliseconds (JSON-ready)."""

        def pct(values: list[float]) -> dict[str, float]:
            if not values:
                return {}
            a = 1000.0 * np.asarray(values[-2000:])
            return {f"p{q}": round(float(np.percentile(a, q)), 1) for q in (50, 95, 99)}

        return {
            "frames": self.frames,
            "frames_rendered": self.frames_rendered,
            "frames_skipped": self.frames_skipped,
            "frames_skipped_consumer": self.frames_skipped_consumer,
            "audio_in_s": round(self.audio_in_s, 3),
            "audio_dropped_s": round(self.audio_dropped_s, 3),
            "silence_filled_s": round(self.silence_filled_s, 3),
            "texts": self.texts,
            "latency_ms": pct(self.latency_s),
            "stage_ms": {name: pct(values) for name, values in self.stage_s.items()},
        }


@dataclass(frozen=True)
class LiveFrame:
    """One frame out of a session.

    Attributes
    ----------
    index: frame number; shown at ``time_s = index / fps`` on the session's timeline
    time_s: its time on the timeline
    image: (size, size, 3) uint8 RGB
    motion: the MotionFrame rendered
    audio: speech to play with this frame (float32 at :data:`OUTPUT_SAMPLE_RATE`; text mode),
        covering the timeline from the previous rendered frame up to the next frame, or None
    audio_arrival: wall-clock time (:func:`time.monotonic`) at which the audio this frame shows
        arrived, or None where it showed silence the session filled in, or text
    audio_tag: the ``tag`` that audio was pushed with
    ready_at: wall-clock time the frame was ready
    """

    index: int
    time_s: float
    image: np.ndarray
    motion: object
    audio: np.ndarray | None
    audio_arrival: float | None
    audio_tag: int | None
    ready_at: float
