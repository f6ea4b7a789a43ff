"""``gioconda bench live``: live sessions fed a microphone in real time, measured.

Each session runs as the server runs it: in a worker process of its own
(:mod:`gioconda.live.worker`), 20 ms chunks of speech (eSpeak NG, sentences with pauses) pushed
as the wall clock reaches them, frames drawn and JPEG-encoded in the worker and taken as they
come. ``threads=True`` runs them instead in threads of this process, as the server did before,
to compare. Reported per session count: the frame rate each session sustained, frames skipped
to keep up, the latency from a chunk's arrival to the encoded frame that shows it (p50, p95,
p99) split by stage, and the CPU a drawn frame cost and how long the sessions waited for a core
(Linux: /proc schedstat), which says how much other work on the machine weighed on the figures.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from gioconda.face.photo import load_photo
from gioconda.face.portrait import Portrait, analyze_portrait
from gioconda.live.session import LiveOptions, LiveSession
from gioconda.live.worker import NO_SEQUENCE, LiveWorkers, RemoteSession, WorkerGone
from gioconda.motion.controls import MotionControls
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
    #: CPU time per drawn frame (every thread of the session's process), milliseconds
    cpu_ms_per_frame: float
    #: Time the sessions' threads were ready to run but waited for a core, per drawn frame
    #: (other work on the machine, or the sessions themselves on too few cores), milliseconds
    waited_ms_per_frame: float
    mode: str
    #: Threads only: time a session's thread was blocked (not running, not waiting for a core,
    #: not sleeping on purpose) per drawn frame: waiting for the GIL, milliseconds
    gil_ms_per_frame: float | None = None


def run_live_bench(
    sessions: tuple[int, ...] = (1, 2, 3),
    seconds: float = 10.0,
    size: int = 512,
    fps: float = 25.0,
    out: TextIO | None = None,
    threads: bool = False,
) -> list[LiveBenchResult]:
    """Run 1, 2, 3 ... live sessions at once and report what they sustain.

    ``threads``: run the sessions in threads of this process instead of a process each.
    """
    photo = str(resources.files("gioconda") / "assets" / "mona_lisa.jpg")
    portrait = analyze_portrait(load_photo(photo), size)
    speech = resample(speak(BENCH_TEXT, "en-us").audio, 48_000).samples
    pause = np.zeros(24_000, np.float32)
    loop = np.concatenate([speech, pause])
    pcm = (np.clip(loop, -1, 1) * 32767).astype(np.int16)
    results = []
    for n in sessions:
        run = _run_threads if threads else _run_processes
        result = run(n, portrait, pcm, seconds, fps)
        results.append(result)
        if out is not None:
            _print(result, fps, out)
    return results


def _run_processes(
    n: int, portrait: Portrait, pcm: np.ndarray, seconds: float, fps: float
) -> LiveBenchResult:
    workers = LiveWorkers(n)
    try:
        live = [
            workers.open("bench", portrait, LiveOptions(fps=fps), MotionControls(seed=k))
            for k in range(n)
        ]
        pids = [s.pid for s in live]
        latencies: list[list[float]] = [[] for _ in range(n)]
        received_at: list[list[float]] = [[] for _ in range(n)]
        stats: list[dict] = [{} for _ in range(n)]
        start = time.monotonic() + 0.2
        waited0 = sum(_waited_s(pid) for pid in pids)
        threads = [
            threading.Thread(target=job, args=args, daemon=True)
            for s, lat, got, st in zip(live, latencies, received_at, stats, strict=True)
            for job, args in (
                (_push, (s, pcm, start, seconds)),
                (_take, (s, start, seconds, lat, got, st)),
            )
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        waited = sum(_waited_s(pid) for pid in pids) - waited0
    finally:
        workers.close()
    rendered = [int(st.get("frames_rendered", 0)) for st in stats]
    # The frame rate over the timed run (a session opened first drew frames while the next
    # one opened).
    received = [len(x) for x in received_at]
    stage: dict[str, dict[str, float]] = {}
    for name in ("lookahead", "features", "motion", "render", "encode"):
        # The worst session's percentiles (each session reports its own).
        per = [st.get("stage_ms", {}).get(name, {}) for st in stats]
        stage[name] = {q: max(p.get(q, 0.0) for p in per) for q in ("p50", "p95", "p99")}
    all_latency = np.concatenate([np.asarray(x) for x in latencies]) * 1000.0
    drawn = max(sum(rendered), 1)
    cpu = sum(
        float(st.get("cpu_ms_per_frame", 0.0)) * r for st, r in zip(stats, rendered, strict=True)
    )
    return LiveBenchResult(
        n,
        [r / seconds for r in received],
        sum(int(st.get("frames_skipped", 0)) for st in stats),
        _percentiles(all_latency),
        stage,
        all(r / seconds >= SUSTAINED_SHARE * fps for r in received),
        cpu / drawn,
        1000.0 * waited / drawn,
        "a process per session",
    )


def _push(session: RemoteSession, pcm: np.ndarray, start: float, seconds: float) -> None:
    """20 ms chunks as the wall clock reaches their end, numbered from 0."""
    chunk = round(48_000 * CHUNK_S)
    sent = 0
    while (sent + 1) * CHUNK_S <= seconds:
        time.sleep(max(0.0, start + (sent + 1) * CHUNK_S - time.monotonic()))
        k = (sent * chunk) % (len(pcm) - chunk)
        session.push_audio(pcm[k : k + chunk].tobytes(), 48_000, tag=sent)
        sent += 1
    session.ask_stats()


def _take(
    session: RemoteSession,
    start: float,
    seconds: float,
    latency: list[float],
    received_at: list[float],
    stats: dict,
) -> None:
    """Frames as they come (a client that keeps up); the latency of each from its chunk."""
    try:
        while True:
            message = session.receive()
            if message[0] == "frame":
                session.taken()
                now = time.monotonic()
                if start <= now < start + seconds:
                    received_at.append(now)
                (tag,) = struct.unpack_from("<I", message[1][-1], 5)
                if tag != NO_SEQUENCE:
                    latency.append(now - (start + (tag + 1) * CHUNK_S))
            elif message[0] == "json" and message[1].get("type") == "stats":
                stats.update(message[1])
                session.end()
            elif message[0] == "ended":
                break
    except WorkerGone:
        pass
    session.release()


def _waited_s(pid: int) -> float:
    """Seconds the threads of process ``pid`` have waited for a core (0 off Linux)."""
    total = 0.0
    for path in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(path.read_text().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            continue
    return total


def _run_threads(
    n: int, portrait: Portrait, pcm: np.ndarray, seconds: float, fps: float
) -> LiveBenchResult:
    live = [LiveSession(portrait, LiveOptions(fps=fps), MotionControls(seed=k)) for k in range(n)]
    latencies: list[list[float]] = [[] for _ in range(n)]
    blocked: list[float] = []
    threads = [
        threading.Thread(target=_feed, args=(s, pcm, seconds, lat, blocked), daemon=True)
        for s, lat in zip(live, latencies, strict=True)
    ]
    cpu0, waited0 = time.process_time(), _waited_s(os.getpid())
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu, waited = time.process_time() - cpu0, _waited_s(os.getpid()) - waited0
    rates = [s.stats.frames_rendered / seconds for s in live]
    skipped = sum(s.stats.frames_skipped for s in live)
    all_latency = np.concatenate([np.asarray(x) for x in latencies]) * 1000.0
    stage: dict[str, dict[str, float]] = {}
    for name in ("lookahead", "features", "motion", "render", "encode"):
        values = np.concatenate([np.asarray(s.stats.stage_s.get(name, [])) for s in live]) * 1000
        stage[name] = _percentiles(values)
    sustained = all(r >= SUSTAINED_SHARE * fps for r in rates)
    drawn = max(sum(s.stats.frames_rendered for s in live), 1)
    return LiveBenchResult(
        n, rates, skipped, _percentiles(all_latency), stage, sustained,
        1000.0 * cpu / drawn, 1000.0 * waited / drawn, "threads of one process",
        1000.0 * sum(blocked) / drawn,
    )  # fmt: skip


def _feed(
    session: LiveSession,
    pcm: np.ndarray,
    seconds: float,
    latency: list[float],
    blocked: list[float],
) -> None:
    """Push 20 ms chunks as the clock reaches them, pull and encode frames, for ``seconds``;
    add to ``blocked`` how long this thread was blocked (on the GIL)."""
    chunk = round(48_000 * CHUNK_S)
    start = time.monotonic()
    sent = 0
    slept = 0.0
    ran0, waited0 = _thread_sched()
    while True:
        now = time.monotonic() - start
        if now >= seconds:
            ran, waited = _thread_sched()
            wall = time.monotonic() - start
            blocked.append(max(wall - (ran - ran0) - (waited - waited0) - slept, 0.0))
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
        t0 = time.monotonic()
        time.sleep(0.004)
        slept += time.monotonic() - t0


def _thread_sched() -> tuple[float, float]:
    """Seconds this thread has run and waited for a core (zeros off Linux)."""
    try:
        path = f"/proc/self/task/{threading.get_native_id()}/schedstat"
        ran, waited = Path(path).read_text().split()[:2]
        return int(ran) / 1e9, int(waited) / 1e9
    except (OSError, ValueError):
        return 0.0, 0.0


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
    gil = "" if result.gil_ms_per_frame is None else (
        f"; blocked on the GIL {result.gil_ms_per_frame:.1f} ms a frame"
    )  # fmt: skip
    out.write(
        f"      {result.mode}: CPU {result.cpu_ms_per_frame:.1f} ms a drawn frame; waited "
        f"for a core {result.waited_ms_per_frame:.1f} ms a frame{gil}\n"
    )
