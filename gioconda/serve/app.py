"""The web app: a page, a live stream over a WebSocket, and a JSON API for file jobs.

``gioconda serve`` runs :func:`create_app` under uvicorn.

Live stream (``/api/live``, a WebSocket). The client sends, as JSON text messages::

    {"type": "start", "portrait": "mona_lisa" | ID, "sample_rate": 48000,
     "controls": {"emotion": "happy", ...}, "acks": true}   # first, once
    {"type":"ack"}                                          # a frame drawn (with "acks")
    {"type": "text", "text": "Hello", "voice": "en-us"}     # speak this
    {"type": "control", "control": "gaze", "value": [-15, 0]}
    {"type": "stats"}

and microphone audio as binary messages: a little-endian uint32 sequence number, then int16
mono PCM at ``sample_rate``. The server sends JSON (``ready``, ``stats``, ``error``) and binary
messages whose first byte says what they are:

- ``1`` a frame: uint32 index, uint32 the sequence number of the audio it shows (0xFFFFFFFF:
  silence or text), float64 its time on the timeline in seconds, then a JPEG;
- ``2`` speech to play (text mode): uint32 first sample at 24 kHz, then int16 PCM.

A slow client gets the newest frames, never a queue of old ones: at most three frames are out
that it has not taken, and the frames due meanwhile are made but not drawn (the session's
``frames_skipped_consumer``). A client that starts with ``"acks": true`` (the page does) takes a
frame when it acks it; one that does not, when the frame is written to its socket, which on a
fast link (or localhost, whose socket buffers hold megabytes) is a looser bound.

Why a WebSocket with JPEG frames and not WebRTC (aiortc): measured here, a 512x512 JPEG costs
~2.7 ms to encode (VP8 in aiortc's software encoder ~8.6 ms, H.264 ~4.3 ms), the browser shows
each frame as it arrives (WebRTC's jitter buffer holds frames back to smooth the network), and
the page needs no signalling, STUN or TURN. It costs bandwidth (~45 KB a frame, ~9 Mbit/s at
25 fps): right for a local machine or a LAN, while WebRTC's codecs would be the choice over the
internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import struct
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.websockets import WebSocketDisconnect, WebSocketState

from gioconda.errors import GiocondaError
from gioconda.face.photo import load_photo
from gioconda.face.portrait import Portrait, analyze_portrait
from gioconda.live.options import LiveOptions
from gioconda.live.worker import END_TIMEOUT_S, LiveWorkers, RemoteSession, WorkerGone
from gioconda.motion.controls import MotionControls
from gioconda.serve.jobs import JobRunner

#: The bundled portrait's id.
BUNDLED = "mona_lisa"
#: WebSocket close code for "try again later" (RFC 6455 section 7.4.1: 1013).
CLOSE_BUSY = 1013
#: What a client that started with ``"acks": true`` sends for each frame it has drawn.
ACK = '{"type":"ack"}'


@dataclass(frozen=True)
class ServeConfig:
    """Limits and settings of the server.

    Attributes
    ----------
    size: side of the square live frames and file videos, in pixels
    fps: live frame rate
    max_sessions: live sessions at once; one more is refused (``gioconda bench live`` says
        how many this machine sustains at 25 fps)
    max_upload_bytes: largest photo or audio upload
    max_audio_s: longest audio (or speech) for a file job
    max_portraits: uploaded portraits kept in memory (least recently used go first)
    max_jobs: file jobs kept (finished ones go first, their files deleted)
    voice: default voice for text
    warm_workers: live worker processes started with the server and kept waiting, so that a
        session starts without waiting ~2 s for a process to start and load
    """

    size: int = 512
    fps: float = 25.0
    max_sessions: int = 2
    max_upload_bytes: int = 20 * 1024 * 1024
    max_audio_s: float = 120.0
    max_portraits: int = 8
    max_jobs: int = 16
    voice: str = "en-us"
    warm_workers: int = 1


class _Portraits:
    """Analyzed portraits by id: the bundled one, and uploads (least recently used dropped)."""

    def __init__(self, size: int, keep: int) -> None:
        self.size, self.keep = size, keep
        self.items: OrderedDict[str, Portrait] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, portrait_id: str) -> Portrait:
        with self.lock:
            if portrait_id in self.items:
                self.items.move_to_end(portrait_id)
                return self.items[portrait_id]
        if portrait_id != BUNDLED:
            raise GiocondaError(f"unknown portrait {portrait_id!r}: upload the photo again")
        photo = str(resources.files("gioconda") / "assets" / "mona_lisa.jpg")
        portrait = analyze_portrait(load_photo(photo), self.size)
        self.add(portrait, BUNDLED)
        return portrait

    def add(self, portrait: Portrait, portrait_id: str | None = None) -> str:
        """Keep ``portrait``; returns its id."""
        with self.lock:
            key = portrait_id or uuid.uuid4().hex[:12]
            self.items[key] = portrait
            uploads = [k for k in self.items if k != BUNDLED]
            while len(uploads) > self.keep:
                del self.items[uploads.pop(0)]
            return key


def create_app(config: ServeConfig = ServeConfig()) -> FastAPI:
    """The FastAPI app: ``/`` the page, ``/api/...`` the API (see the module docstring)."""
    work = Path(tempfile.mkdtemp(prefix="gioconda-serve-"))
    portraits = _Portraits(config.size, config.max_portraits)
    jobs = JobRunner(work, config, portraits.get)
    slots = {"live": 0}
    slot_lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        # Live sessions run in worker processes (see gioconda.live.worker for why).
        app.state.workers = LiveWorkers(config.max_sessions, warm=config.warm_workers)
        try:
            yield
        finally:
            app.state.workers.close()
            jobs.close()
            shutil.rmtree(work, ignore_errors=True)

    app = FastAPI(title="Gioconda", lifespan=lifespan)
    app.state.config = config
    app.state.work = work
    app.state.slots = slots

    @app.exception_handler(GiocondaError)
    async def bad_input(request: Request, error: GiocondaError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=400)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return (resources.files("gioconda.serve") / "static" / "index.html").read_text("utf-8")

    @app.get("/api/health")
    async def health() -> dict[str, object]:
        return {
            "live_sessions": slots["live"],
            "max_sessions": config.max_sessions,
            "jobs": jobs.counts(),
            "live_workers": app.state.workers.counts(),
        }

    @app.post("/api/portraits")
    async def upload_portrait(photo: Annotated[UploadFile, File()]) -> dict[str, object]:
        path = await _save_upload(photo, work, config.max_upload_bytes)
        try:
            portrait = await asyncio.to_thread(
                lambda: analyze_portrait(load_photo(path), config.size)
            )
        except GiocondaError as error:
            if str(path) in str(error):  # not an image: say so without the server's paths
                raise GiocondaError(
                    "the uploaded photo is not an image that can be read (JPEG, PNG, WebP, ...)"
                ) from None
            raise
        finally:
            path.unlink(missing_ok=True)
        return {"id": portraits.add(portrait), "size": config.size}

    @app.post("/api/jobs", status_code=202)
    async def submit_job(
        photo: Annotated[UploadFile | None, File()] = None,
        audio: Annotated[UploadFile | None, File()] = None,
        text: Annotated[str | None, Form()] = None,
        portrait: Annotated[str, Form()] = BUNDLED,
        voice: Annotated[str, Form()] = config.voice,
        emotion: Annotated[str, Form()] = "neutral",
    ) -> dict[str, object]:
        if (audio is None) == (not text):
            raise GiocondaError("give either an audio file or a text, not both or neither")
        job_dir = jobs.new_dir()
        try:
            photo_path = (
                await _save_upload(photo, job_dir, config.max_upload_bytes) if photo else None
            )
            audio_path = (
                await _save_upload(audio, job_dir, config.max_upload_bytes) if audio else None
            )
        except BaseException:
            shutil.rmtree(job_dir, ignore_errors=True)
            raise
        job = jobs.submit(job_dir, photo_path, portrait, audio_path, text, voice, emotion)
        return {"id": job.id, "status": f"/api/jobs/{job.id}"}

    @app.get("/api/jobs/{job_id}")
    async def job_status(job_id: str) -> dict[str, object]:
        return jobs.get(job_id).describe()

    @app.get("/api/jobs/{job_id}/video")
    async def job_video(job_id: str) -> FileResponse:
        job = jobs.get(job_id)
        if job.state != "done":
            raise HTTPException(409, f"job {job_id} is {job.state}, not done")
        assert job.output is not None  # set before the job is done
        return FileResponse(job.output, media_type="video/mp4", filename="gioconda.mp4")

    @app.delete("/api/jobs/{job_id}")
    async def delete_job(job_id: str) -> dict[str, object]:
        jobs.delete(job_id)
        return {"deleted": job_id}

    @app.websocket("/api/live")
    async def live(ws: WebSocket) -> None:
        await ws.accept()
        with slot_lock:
            busy = slots["live"] >= config.max_sessions
            if not busy:
                slots["live"] += 1
        if busy:
            message = (
                f"server busy: {config.max_sessions} live sessions already running, the most "
                "this machine carries at full frame rate; try again later"
            )
            await ws.send_json({"type": "error", "message": message})
            await ws.close(CLOSE_BUSY, "server busy")
            return
        released = threading.Event()

        def release() -> None:
            # Once: when the client goes (a reconnecting page must find its slot free, not
            # wait for the frame still being drawn for it), or when the session ends.
            with slot_lock:
                if not released.is_set():
                    released.set()
                    slots["live"] -= 1

        try:
            await _run_live(ws, config, portraits, app.state.workers, release)
        finally:
            release()

    return app


async def _save_upload(upload: UploadFile, folder: Path, limit: int) -> Path:
    """Copy an upload into ``folder`` in pieces, refusing it past ``limit`` bytes (413)."""
    suffix = Path(upload.filename or "").suffix.lower()[:8]
    path = folder / f"{uuid.uuid4().hex}{suffix if suffix.isascii() else ''}"
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(
                        413, f"upload is over the {limit // (1024 * 1024)} MB limit"
                    )
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise GiocondaError(f"the uploaded file {upload.filename!r} is empty")
    return path


async def _run_live(
    ws: WebSocket,
    config: ServeConfig,
    portraits: _Portraits,
    workers: LiveWorkers,
    release: Callable[[], None],
) -> None:
    """One live session on one WebSocket, run by a worker process, until the client goes away
    (then ``release``) or the worker dies."""
    try:
        start = json.loads(await ws.receive_text())
        if start.get("type") != "start":
            raise GiocondaError('the first message must be {"type": "start", ...}')
        sample_rate = int(start.get("sample_rate", 48000))
        acks = bool(start.get("acks", False))
        portrait_id = str(start.get("portrait", BUNDLED))
        portrait = await asyncio.to_thread(portraits.get, portrait_id)
        options = LiveOptions(fps=config.fps, voice=str(start.get("voice", config.voice)))
        controls = MotionControls(seed=int(start.get("seed", 0)))
        initial = dict(start.get("controls", {}))
        remote = await asyncio.to_thread(
            workers.open, portrait_id, portrait, options, controls, initial
        )
    except (GiocondaError, ValueError, TypeError, json.JSONDecodeError) as error:
        await _send_error(ws, str(error))
        with contextlib.suppress(Exception):
            await ws.close(1008)
        return
    except WebSocketDisconnect:
        return
    loop = asyncio.get_running_loop()
    # What the worker sends: ("frame", messages, ready_at), ("json", dict), ("ended", stats),
    # or ("gone",) when it died.
    inbox: asyncio.Queue[tuple] = asyncio.Queue()
    pumped = loop.create_future()

    def pump() -> None:
        try:
            while True:
                message = remote.receive()
                loop.call_soon_threadsafe(inbox.put_nowait, message)
                if message[0] == "ended":
                    return
        except WorkerGone:
            loop.call_soon_threadsafe(inbox.put_nowait, ("gone",))
        finally:
            remote.release()
            loop.call_soon_threadsafe(_settle, pumped)

    threading.Thread(target=pump, name="gioconda-live-pump", daemon=True).start()
    send_s: list[float] = []
    state = {"disconnected": False}

    async def receive() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                state["disconnected"] = True
                release()
                return
            try:
                if message.get("bytes") is not None:
                    data = message["bytes"]
                    if len(data) >= 6:
                        (sequence,) = struct.unpack_from("<I", data)
                        remote.push_audio(data[4:], sample_rate, sequence)
                elif message.get("text") == ACK:  # the common message first, unparsed
                    if acks:
                        remote.taken()  # the client drew a frame: the worker may draw another
                else:
                    _handle_message(message.get("text") or "{}", remote, acks)
            except WorkerGone:
                return  # the sender says so to the client
            except (GiocondaError, ValueError, TypeError, AttributeError) as error:
                inbox.put_nowait(("json", {"type": "error", "message": str(error)}))

    async def send() -> None:
        await ws.send_json({"type": "ready", **remote.ready})
        while True:
            message = await inbox.get()
            kind = message[0]
            if kind == "frame":
                for packet in message[1]:
                    await ws.send_bytes(packet)
                if not acks:
                    # Written to the socket: the worker may draw the next one. (The kernel's
                    # buffers hold MBs: a client that acks is paced by what it has drawn.)
                    remote.taken()
                send_s.append(time.monotonic() - message[2])
                del send_s[:-2000]
            elif kind == "json":
                reply = message[1]
                if reply.get("type") == "stats":
                    reply["stage_ms"]["send"] = _percentiles_ms(send_s)
                await ws.send_text(json.dumps(reply))
            elif kind == "gone":
                await _send_error(ws, "the live session stopped unexpectedly; start again")
                with contextlib.suppress(Exception):
                    await ws.close(1011)
                return
            else:  # ended
                return

    tasks = [asyncio.create_task(job()) for job in (receive, send)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        remote.end()
        try:
            await asyncio.wait_for(asyncio.shield(pumped), END_TIMEOUT_S)
        except TimeoutError:
            remote.kill()  # it hangs: the pump sees it gone and hands it back stopped
            await pumped
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not state["disconnected"] and ws.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close()


def _handle_message(text: str, remote: RemoteSession, acks: bool) -> None:
    message = json.loads(text)
    kind = message.get("type")
    if kind == "ack":
        if acks:
            remote.taken()
    elif kind == "text":
        voice = message.get("voice")
        remote.push_text(str(message.get("text", "")), None if voice is None else str(voice))
    elif kind == "control":
        remote.set_control(str(message.get("control")), message.get("value"))
    elif kind == "stats":
        remote.ask_stats()
    else:
        raise GiocondaError(f"unknown message type {kind!r}")


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _percentiles_ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    a = 1000.0 * np.asarray(values)
    return {f"p{q}": round(float(np.percentile(a, q)), 1) for q in (50, 95, 99)}


async def _send_error(ws: WebSocket, message: str) -> None:
    with contextlib.suppress(Exception):
        await ws.send_json({"type": "error", "message": message})


def serve(host: str = "127.0.0.1", port: int = 8000, config: ServeConfig = ServeConfig()) -> None:
    """Run the app under uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(config), host=host, port=port, log_level="info")
