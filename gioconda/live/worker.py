"""Live sessions in processes of their own, so that two sessions use two cores.

Why processes: a live frame is ~25 ms of CPU (render ~17, features and motion ~5, JPEG ~3),
so two sessions at 25 fps need ~1.3 cores. In threads of one process they reached 22 fps each
with p95 latency 387 ms on two idle cores: together ~1.1 cores, because much of a frame's work
is short NumPy calls that hold the GIL, and a thread that lets the GIL go for an OpenCV call
waits up to the switch interval (5 ms) to get it back while the other session's thread runs
Python. In a process each, the sessions share nothing and each has a core.

A :class:`LiveWorkers` pool keeps warm processes (imports done, the viseme network loaded, the
renderers of the last portraits built); a session takes one with :meth:`LiveWorkers.open` and
gives it back when it ends. The worker makes, draws and JPEG-encodes the frames and sends the
finished messages (see :func:`frame_messages`), a few tens of KB each, through a pipe: nothing
as large as a raw frame crosses, so no shared memory is needed.

Flow control: a worker has at most :data:`SEND_CREDITS` frames out that the client has not yet
taken; the owner gives a credit back (:meth:`RemoteSession.taken`) once the client has the frame
(the server: once the page says it drew it, or once it is written to the socket for a client that
does not say). A slow client therefore costs no drawing: its due frames are made but not drawn
(``frames_skipped_consumer``), and it gets the newest frame as soon as it can take one, never a
queue of old ones.

A worker that dies (killed, out of memory) ends its session only: the owner's
:meth:`RemoteSession.receive` raises :class:`WorkerGone` and the pool starts a fresh process for
the next session.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.face.portrait import Portrait
from gioconda.live.options import LiveFrame, LiveOptions
from gioconda.motion.controls import CONTROLS, MotionControls, control_value

#: JPEG quality of live frames (45 KB at 512x512, ~2.7 ms to encode).
JPEG_QUALITY = 80
#: Frames a worker may have out that the client has not taken yet: enough to keep a client
#: fed across a round trip of up to ~120 ms at 25 fps (a LAN; longer links get fewer frames a
#: second), few enough that a slow client never waits behind a queue.
SEND_CREDITS = 3
#: Sequence number of frames that show no microphone audio (silence or text).
NO_SEQUENCE = 0xFFFFFFFF
#: Renderers a worker keeps (the last portraits it animated); building one takes ~1 s.
KEPT_RENDERERS = 2
#: How long a session's end may take before its worker is stopped instead of reused.
END_TIMEOUT_S = 5.0


class WorkerGone(GiocondaError):
    """The session's worker process stopped (killed, or out of memory)."""


def frame_messages(frame: LiveFrame, quality: int = JPEG_QUALITY) -> tuple[list[bytes], float]:
    """A frame as the stream's binary messages: its speech (if any), then the JPEG.

    ``2`` + uint32 first sample at 24 kHz + int16 PCM; ``1`` + uint32 index + uint32 the
    sequence number of the audio it shows + float64 its time on the timeline + JPEG.
    Returns the messages and the time the JPEG encode took (s).
    """
    import cv2

    from gioconda.live.session import OUTPUT_SAMPLE_RATE

    t0 = time.perf_counter()
    _, jpeg = cv2.imencode(".jpg", frame.image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    encode_s = time.perf_counter() - t0
    messages: list[bytes] = []
    if frame.audio is not None:
        pcm = (np.clip(frame.audio, -1, 1) * 32767).astype("<i2")
        start = round(frame.time_s * OUTPUT_SAMPLE_RATE)
        messages.append(b"\x02" + struct.pack("<I", start) + pcm.tobytes())
    tag = NO_SEQUENCE if frame.audio_tag is None else frame.audio_tag
    header = struct.pack("<IId", frame.index, tag, frame.time_s)
    messages.append(b"\x01" + header + jpeg.tobytes())
    return messages, encode_s


@dataclass(frozen=True)
class SessionRequest:
    """What a worker needs to open a session.

    Attributes
    ----------
    portrait_key: names the portrait; a worker keeps the renderers of the last ones
    portrait: the portrait, or None when the worker already has it (the owner knows)
    options, controls: as for :class:`~gioconda.live.session.LiveSession`
    initial: controls to set at once, (name, value) already checked
    """

    portrait_key: str
    portrait: Portrait | None
    options: LiveOptions
    controls: MotionControls
    initial: tuple[tuple[str, Any], ...] = ()


# -- the worker process ---------------------------------------------------------------------


def _worker_main(conn: Connection) -> None:
    """A worker process: sessions one after another until the pipe closes."""
    from gioconda.live.buffers import _shared_net

    _shared_net()  # load the network now, not when a session waits for it
    kept: OrderedDict[str, tuple[Portrait, Any]] = OrderedDict()
    conn.send(("idle",))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the owner is gone
        if message[0] == "session":
            try:
                _run_session(conn, message[1], kept)
                conn.send(("idle",))
            except (EOFError, OSError):
                return  # the owner is gone
        elif message[0] == "exit":
            return


def _run_session(
    conn: Connection, request: SessionRequest, kept: OrderedDict[str, tuple[Portrait, Any]]
) -> None:
    from gioconda.live.session import OUTPUT_SAMPLE_RATE, LiveSession
    from gioconda.render.renderer import Renderer

    try:
        if request.portrait is not None:
            kept[request.portrait_key] = (request.portrait, Renderer(request.portrait))
        portrait, renderer = kept[request.portrait_key]
        kept.move_to_end(request.portrait_key)
        while len(kept) > KEPT_RENDERERS:
            kept.popitem(last=False)
        session = LiveSession(portrait, request.options, request.controls, renderer=renderer)
        for control, value in request.initial:
            session.set_control(control, value)
    except GiocondaError as error:
        conn.send(("error", str(error)))
        _drain_until_end(conn)
        return
    cpu0 = time.process_time()  # what the frames cost, not the renderer's making
    send_lock = threading.Lock()

    def send(message: tuple) -> None:
        with send_lock:
            conn.send(message)

    send(("ready", {"fps": request.options.fps, "size": portrait.size,
                    "audio_rate": OUTPUT_SAMPLE_RATE}))  # fmt: skip
    credits = [SEND_CREDITS]
    credit_lock = threading.Lock()
    wake = threading.Event()
    ending = threading.Event()
    encode_s: list[float] = session.stats.stage_s.setdefault("encode", [])

    def stats() -> dict[str, object]:
        cpu = time.process_time() - cpu0
        drawn = max(session.stats.frames_rendered, 1)
        return session.stats.summary() | {"cpu_ms_per_frame": round(1000 * cpu / drawn, 1)}

    def read() -> None:
        """Take the owner's messages as they come (text is spoken here, off the frame loop)."""
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                message = ("end",)
            kind = message[0]
            try:
                if kind == "audio":
                    _, pcm, rate, tag, arrived = message
                    session.push_audio(np.frombuffer(pcm, "<i2"), rate, tag, arrived)
                elif kind == "taken":
                    with credit_lock:  # a client that says too much gains nothing
                        credits[0] = min(credits[0] + message[1], SEND_CREDITS)
                elif kind == "control":
                    session.set_control(message[1], message[2])
                elif kind == "text":
                    seconds = session.push_text(message[1], message[2])
                    send(("json", {"type": "speaking", "seconds": round(seconds, 3)}))
                elif kind == "stats":
                    send(("json", {"type": "stats", **stats()}))
                elif kind == "end":
                    ending.set()
                    wake.set()
                    return
            except GiocondaError as error:
                send(("json", {"type": "error", "message": str(error)}))
            wake.set()

    reader = threading.Thread(target=read, name="gioconda-live-read", daemon=True)
    reader.start()
    period = 1.0 / request.options.fps
    while not ending.is_set():
        for frame in session.pull(draw=credits[0] > 0):
            messages, encode = frame_messages(frame)
            encode_s.append(encode)
            with credit_lock:
                credits[0] -= 1
            send(("frame", messages, frame.ready_at))
        # Until the next frame is due, or sooner when audio (or a credit) comes in.
        wait = min(max(session.due_at() - time.monotonic(), 0.002), period / 2)
        wake.wait(wait)
        wake.clear()
    reader.join()
    session.close()
    send(("ended", stats()))


def _drain_until_end(conn: Connection) -> None:
    """After a failed start: ignore what the owner still sends until it ends the session."""
    while True:
        try:
            if conn.recv()[0] == "end":
                break
        except (EOFError, OSError):
            break
    conn.send(("ended", {}))


# -- the owner's side -----------------------------------------------------------------------


class _Worker:
    def __init__(self, context: Any) -> None:
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_worker_main, args=(child,), name="gioconda-live", daemon=True
        )
        self.process.start()
        child.close()
        self.portraits: OrderedDict[str, None] = OrderedDict()
        self.warm = False

    def wait_idle(self, timeout: float) -> bool:
        """Whether the worker said it is idle (warm) within ``timeout`` seconds."""
        try:
            if not self.conn.poll(timeout):
                return False
            return self.conn.recv()[0] == "idle"
        except (EOFError, OSError):
            return False

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(("exit",))
        self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)
        self.conn.close()


class RemoteSession:
    """A live session running in a worker process; used from one owner (say, a WebSocket).

    Send with :meth:`push_audio`, :meth:`push_text`, :meth:`set_control`, :meth:`ask_stats`;
    take what comes back with :meth:`receive` (blocking; run it in a thread of its own):
    ``("frame", messages, ready_at)``, ``("json", dict)`` for the client, or ``("ended",
    stats)``. Call :meth:`taken` once the client has a frame, and :meth:`end` when done.
    """

    def __init__(self, pool: LiveWorkers, worker: _Worker, ready: dict[str, object]) -> None:
        self.pool, self.worker, self.ready = pool, worker, ready
        self.ended = False
        self.pid = worker.process.pid

    def _send(self, message: tuple) -> None:
        try:
            self.worker.conn.send(message)
        except (OSError, ValueError) as error:
            raise WorkerGone("the live session stopped: its worker process is gone") from error

    def push_audio(self, pcm: bytes, sample_rate: int, tag: int | None = None) -> None:
        """int16 little-endian mono PCM as it arrives (any size); arrival is now."""
        if not 4000 <= sample_rate <= 192_000:
            raise GiocondaError(f"sample rate {sample_rate} Hz is out of range (4-192 kHz)")
        self._send(("audio", bytes(pcm[: len(pcm) // 2 * 2]), sample_rate, tag, time.monotonic()))

    def push_text(self, text: str, voice: str | None = None) -> None:
        """Speak ``text``; a ``speaking`` (or ``error``) message comes back."""
        self._send(("text", text, voice))

    def set_control(self, control: str, value: object) -> None:
        """Change a control (checked here, so a bad one raises at once)."""
        if control not in CONTROLS:
            raise GiocondaError(f"unknown control {control!r}; one of {', '.join(CONTROLS)}")
        self._send(("control", control, control_value(control, value)))

    def ask_stats(self) -> None:
        """A ``stats`` message comes back: the session's counters and latency."""
        self._send(("stats",))

    def taken(self, frames: int = 1) -> None:
        """``frames`` frames were written to the client: the worker may draw as many more."""
        with contextlib.suppress(WorkerGone):
            self._send(("taken", frames))

    def receive(self) -> tuple:
        """The next message from the worker (blocks); raises :class:`WorkerGone` if it died."""
        try:
            message = self.worker.conn.recv()
        except (EOFError, OSError) as error:
            raise WorkerGone("the live session stopped: its worker process is gone") from error
        if message[0] == "ended":
            self.ended = True
        return message

    def end(self) -> None:
        """Ask the worker to end the session: ``("ended", stats)`` comes back through
        :meth:`receive`, then call :meth:`release`."""
        with contextlib.suppress(WorkerGone):
            self._send(("end",))

    def kill(self) -> None:
        """Stop the worker process now (it hangs): :meth:`receive` raises WorkerGone."""
        with contextlib.suppress(OSError):
            self.worker.process.kill()

    def release(self) -> None:
        """Give the worker back to the pool once :meth:`receive` has returned ``ended`` (or
        raised WorkerGone); a worker that did not end cleanly is stopped instead."""
        healthy = False
        if self.ended:
            with contextlib.suppress(EOFError, OSError):
                conn = self.worker.conn
                healthy = conn.poll(END_TIMEOUT_S) and conn.recv()[0] == "idle"
        self.pool._give_back(self.worker, healthy)


class LiveWorkers:
    """A pool of live-session worker processes, at most ``size`` of them at once.

    Parameters
    ----------
    size: sessions at once (the caller refuses more; the pool does not queue)
    warm: workers to keep started and waiting (imports done, network loaded), so that a
        session starts without waiting ~2 s for a process; a spare is started again when a
        session takes one, as long as the pool has fewer than ``size`` workers
    """

    def __init__(self, size: int, warm: int = 0) -> None:
        # "spawn": a fresh interpreter; forking a server that runs threads can copy a held lock.
        self.context = mp.get_context("spawn")
        self.size, self.warm = size, min(warm, size)
        self.idle: list[_Worker] = []
        self.busy = 0
        self.starting = 0
        self.changed = threading.Condition()
        self.closed = False
        with self.changed:
            self._top_up()

    def _top_up(self) -> None:
        """Start spares up to ``warm`` waiting (called holding ``changed``)."""
        while (
            not self.closed
            and len(self.idle) + self.starting < self.warm
            and len(self.idle) + self.starting + self.busy < self.size
        ):
            self.starting += 1
            threading.Thread(
                target=self._start_spare, name="gioconda-live-spawn", daemon=True
            ).start()

    def _start_spare(self) -> None:
        try:
            worker = _Worker(self.context)
        except Exception:
            with self.changed:
                self.starting -= 1
                self.changed.notify_all()
            raise
        warm = worker.wait_idle(120.0)
        with self.changed:
            self.starting -= 1
            if warm and not self.closed:
                self.idle.append(worker)
                self.changed.notify_all()
                return
            self.changed.notify_all()
        worker.stop()

    def open(self, portrait_key: str, portrait: Portrait, options: LiveOptions,
             controls: MotionControls, initial: dict[str, object] | None = None,
             ) -> RemoteSession:  # fmt: skip
        """Start a session in a worker (blocking: up to a few seconds for a cold worker).

        Raises
        ------
        GiocondaError: a bad control, or the session could not start (the message says why).
        """
        checked = []
        for control, value in (initial or {}).items():
            if control not in CONTROLS:
                raise GiocondaError(f"unknown control {control!r}; one of {', '.join(CONTROLS)}")
            checked.append((control, control_value(control, value)))
        for attempt in range(2):
            worker = self._take()
            send_portrait = portrait_key not in worker.portraits
            request = SessionRequest(
                portrait_key, portrait if send_portrait else None, options, controls,
                tuple(checked),
            )  # fmt: skip
            try:
                worker.conn.send(("session", request))
                reply = worker.conn.recv()
                break
            except (EOFError, OSError) as error:
                self._give_back(worker, False)
                # A waiting worker can die unseen (killed, out of memory): try a fresh one.
                if attempt == 1:
                    message = "the live session could not start: its worker process died"
                    raise WorkerGone(message) from error
        worker.portraits[portrait_key] = None
        worker.portraits.move_to_end(portrait_key)
        while len(worker.portraits) > KEPT_RENDERERS:
            worker.portraits.popitem(last=False)
        session = RemoteSession(self, worker, reply[1] if reply[0] == "ready" else {})
        if reply[0] != "ready":
            session.end()
            with contextlib.suppress(WorkerGone):
                while session.receive()[0] != "ended":
                    pass
            session.release()
            raise GiocondaError(str(reply[1]))
        return session

    def _take(self) -> _Worker:
        with self.changed:
            # A spare on its way is quicker than a new process.
            self.changed.wait_for(lambda: self.idle or not self.starting, timeout=120.0)
            self.busy += 1
            while self.idle:
                worker = self.idle.pop()
                if worker.process.is_alive():
                    self._top_up()
                    return worker
                worker.stop()
        worker = _Worker(self.context)
        if not worker.wait_idle(120.0):
            self._give_back(worker, False)
            raise WorkerGone("the live session could not start: its worker process died")
        with self.changed:
            self._top_up()
        return worker

    def _give_back(self, worker: _Worker, healthy: bool) -> None:
        with self.changed:
            self.busy -= 1
            keep = (
                healthy and not self.closed and worker.process.is_alive()
                and len(self.idle) < self.size
            )  # fmt: skip
            if keep:
                self.idle.append(worker)
                self.changed.notify_all()
                return
        worker.stop()
        with self.changed:
            self._top_up()

    def counts(self) -> dict[str, int]:
        """Workers busy with a session, waiting, and starting."""
        with self.changed:
            return {"busy": self.busy, "idle": len(self.idle), "starting": self.starting}

    def close(self) -> None:
        """Stop every idle worker (busy ones stop when their sessions end)."""
        with self.changed:
            self.closed = True
            idle, self.idle = self.idle, []
        for worker in idle:
            worker.stop()
