"""``gioconda bench live``: live sessions fed a microphone in real time, measured.

Each session runs in its own thread, as the server runs them: 20 ms chunks of speech (eSpeak NG,
sentences with pauses) are pushed as the wall clock reaches them, frames are pulled and
JPEG-encoded as the server sends them. Reported per session count: the frame rate each session
sustained, frames skipped to keep up, and the latency from a chunk's arrival to the encoded
frame that shows it (p50, p95, p99), split by stage.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from importlib import resources
from typing import TextIO

import cv2
import numpy as np

from gioconda.face.photo import load_photo
from gioconda.face.portrait import analyze_portrait
from gioconda.live.session import LiveOptions, LiveSession
from gioconda.motion.controls import MotionControls
from gioconda.progress import Progress, no_progress
from gioconda.speech.audio import resample
from gioconda.speech.synthesis import speak

BENCH_TEXT = (
    "Hello. I am Gioconda. For five hundred years, people have wondered about my smile. "
    "Maybe, one day, I will tell you what I was thinking."
)
CHUNK_S = 0.02
#: A session keeps up when it renders at least this share of its frames.
SUSTAINED_SHARE = 0.96


@dataclass(frozen=True)
class LiveBenchResult:
    """One run: ``sessions`` at once for ``seconds``."""

    sessions: int
    fps: list[float]
    skipped: int
    latency_ms: dict[str, float]
    stage_ms: dict[str, dict[str, float]]
    sustained: bool


def run_live_bench(
    sessions: tuple[int, ...] = (1, 2, 3),
    seconds: float = 10.0,
    size: int = 512,
    fps: float = 25.0,
    out: TextIO | None = None,
    progress: Progress = no_progress,
) -> list[LiveBenchResult]:
    """Run 1, 2, 3 ... live sessions at once and report what they sustain; ``progress``
    hears each run start and end ("bench live, 2 sessions for 10 s")."""
    photo = str(resources.files("gioconda") / "assets" / "mona_lisa.jpg")
    portrait = analyze_portrait(load_photo(photo), size)
    speech = resample(speak(BENCH_TEXT, "en-us").audio, 48_000).samples
    pause = np.zeros(24_000, np.float32)
    loop = np.concatenate([speech, pause])
    pcm = (np.clip(loop, -1, 1) * 32767).astype(np.int16)
    results = []
    for n in sessions:
        stage = f"bench live, {n} session{'s' if n > 1 else ''} for {seconds:g} s"
        progress(stage, 0, 1)
        result = _run(n, portrait, pcm, seconds, fps)
        progress(stage, 1, 1)
        results.append(result)
        if out is not None:
            _print(result, fps, out)
    return results


def _run(n: int, portrait, pcm: np.ndarray, seconds: float, fps: float) -> LiveBenchResult:
    live = [LiveSession(portrait, LiveOptions(fps=fps), MotionControls(seed=k)) for k in range(n)]
    latencies: list[list[float]] = [[] for _ in range(n)]
    threads = [
        threading.Thread(target=_feed, args=(s, pcm, seconds, lat), daemon=True)
        for s, lat in zip(live, latencies, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rates = [s.stats.frames_rendered / seconds for s in live]
    skipped = sum(s.stats.frames_skipped for s in live)
    all_latency = np.concatenate([np.asarray(x) for x in latencies]) * 1000.0
    stage: dict[str, dict[str, float]] = {}
    for name in ("lookahead", "features", "motion", "render", "encode"):
        values = np.concatenate([np.asarray(s.stats.stage_s.get(name, [])) for s in live]) * 1000
        stage[name] = _percentiles(values)
    sustained = all(r >= SUSTAINED_SHARE * fps for r in rates)
    return LiveBenchResult(n, rates, skipped, _percentiles(all_latency), stage, sustained)


def _feed(session: LiveSession, pcm: np.ndarray, seconds: float, latency: list[float]) -> None:
    """Push 20 ms chunks as the clock reaches them, pull and encode frames, for ``seconds``."""
    chunk = round(48_000 * CHUNK_S)
    start = time.monotonic()
    sent = 0
    while True:
        now = time.monotonic() - start
        if now >= seconds:
            return
        while (sent + 1) * CHUNK_S <= now:
            k = (sent * chunk) % (len(pcm) - chunk)
            # Arrived when the wall clock reached its end, even if this thread was busy then.
            session.push_audio(pcm[k : k + chunk], 48_000, arrived=start + (sent + 1) * CHUNK_S)
            sent += 1
        for frame in session.pull():
            t0 = time.perf_counter()
            cv2.imencode(".jpg", frame.image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
            encode = time.perf_counter() - t0
            session.stats.stage_s.setdefault("encode", []).append(encode)
            if frame.audio_arrival is not None:
                latency.append(time.monotonic() - frame.audio_arrival)
        time.sleep(0.004)


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {}
    return {f"p{q}": round(float(np.percentile(values, q)), 1) for q in (50, 95, 99)}


def _print(result: LiveBenchResult, fps: float, out: TextIO) -> None:
    rates = ", ".join(f"{r:.1f}" for r in result.fps)
    lat = result.latency_ms
    out.write(
        f"live  {result.sessions} session(s): {rates} fps (target {fps:g}), "
        f"{result.skipped} frames skipped; latency p50 {lat.get('p50', 0):.0f} ms, "
        f"p95 {lat.get('p95', 0):.0f} ms, p99 {lat.get('p99', 0):.0f} ms; "
        f"{'sustained' if result.sustained else 'NOT sustained'}\n"
    )
    stages = "  ".join(
        f"{name} {v.get('p50', 0):.1f}/{v.get('p95', 0):.1f}" for name, v in result.stage_ms.items()
    )
    out.write(f"      stages p50/p95 ms: {stages}\n")
