"""The web app: a page, a live stream over a WebSocket, and a JSON API for file jobs.

``gioconda serve`` runs :func:`create_app` under uvicorn.

Live stream (``/api/live``, a WebSocket). The client sends, as JSON text messages::

    {"type": "start", "portrait": "mona_lisa" | ID, "sample_rate": 48000,
     "controls": {"emotion": "happy", ...}}                 # first, once
    {"type": "text", "text": "Hello", "voice": "en-us"}     # speak this
    {"type": "control", "control": "gaze", "value": [-15, 0]}
    {"type": "stats"}

and microphone audio as binary messages: a little-endian uint32 sequence number, then int16
mono PCM at ``sample_rate``. The server sends JSON (``ready``, ``stats``, ``error``) and binary
messages whose first byte says what they are:

- ``1`` a frame: uint32 index, uint32 the sequence number of the audio it shows (0xFFFFFFFF:
  silence or text), float64 its time on the timeline in seconds, then a JPEG;
- ``2`` speech to play (text mode): uint32 first sample at 24 kHz, then int16 PCM.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.websockets import WebSocketDisconnect, WebSocketState

from gioconda.errors import GiocondaError
from gioconda.face.photo import load_photo
from gioconda.face.portrait import Portrait, analyze_portrait
from gioconda.live.session import OUTPUT_SAMPLE_RATE, LiveOptions, LiveSession
from gioconda.motion.controls import MotionControls
from gioconda.serve.jobs import JobRunner
from gioconda.serve.verify_route import verify_router

#: The bundled portrait's id.
BUNDLED = "mona_lisa"
#: JPEG quality of live frames (45 KB at 512x512, ~2.7 ms to encode).
JPEG_QUALITY = 80
#: Frames waiting for a slow client beyond this are dropped (the newest is kept).
SEND_QUEUE_FRAMES = 3
#: WebSocket close code for "try again later" (RFC 6455 section 7.4.1: 1013).
CLOSE_BUSY = 1013
NO_SEQUENCE = 0xFFFFFFFF


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
    """

    size: int = 512
    fps: float = 25.0
    max_sessions: int = 2
    max_upload_bytes: int = 20 * 1024 * 1024
    max_audio_s: float = 120.0
    max_portraits: int = 8
    max_jobs: int = 16
    voice: str = "en-us"


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
        try:
            yield
        finally:
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

    # "Was this video made by Gioconda?": the same check as ``gioconda verify``.
    app.include_router(
        verify_router(lambda video: _save_upload(video, work, config.max_upload_bytes))
    )

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
            await _run_live(ws, config, portraits, release)
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
    ws: WebSocket, config: ServeConfig, portraits: _Portraits, release: Callable[[], None]
) -> None:
    """One live session on one WebSocket, until the client goes away (then ``release``)."""
    try:
        start = json.loads(await ws.receive_text())
        if start.get("type") != "start":
            raise GiocondaError('the first message must be {"type": "start", ...}')
        sample_rate = int(start.get("sample_rate", 48000))
        portrait = await asyncio.to_thread(portraits.get, str(start.get("portrait", BUNDLED)))
        session = LiveSession(
            portrait,
            LiveOptions(fps=config.fps, voice=str(start.get("voice", config.voice))),
            MotionControls(seed=int(start.get("seed", 0))),
        )
        for control, value in dict(start.get("controls", {})).items():
            session.set_control(control, value)
    except (GiocondaError, ValueError, TypeError, json.JSONDecodeError) as error:
        await _send_error(ws, str(error))
        with contextlib.suppress(Exception):
            await ws.close(1008)
        return
    except WebSocketDisconnect:
        return
    await ws.send_json(
        {
            "type": "ready",
            "fps": config.fps,
            "size": portrait.size,
            "audio_rate": OUTPUT_SAMPLE_RATE,
        }
    )
    # Items: (message, when the frame was ready or None); None ends the sender.
    outbox: asyncio.Queue[tuple[bytes | str, float | None] | None] = asyncio.Queue()
    state = {"dropped_slow": 0, "closed": False, "disconnected": False}

    async def receive() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                state["disconnected"] = True
                release()
                return
            if message.get("bytes") is not None:
                data = message["bytes"]
                if len(data) < 6:
                    continue
                (sequence,) = struct.unpack_from("<I", data)
                pcm = np.frombuffer(data, "<i2", offset=4)
                try:
                    session.push_audio(pcm, sample_rate, tag=sequence)
                except GiocondaError as error:
                    await outbox.put((json.dumps({"type": "error", "message": str(error)}), None))
                continue
            await _handle_message(message.get("text") or "{}", session, outbox, state)

    async def produce() -> None:
        period = 1.0 / config.fps
        while not state["closed"]:
            frames = await asyncio.to_thread(_pull_encoded, session)
            for packet in frames:
                # A slow client: keep only the newest few frames waiting, count the rest.
                if _frames_waiting(outbox) >= SEND_QUEUE_FRAMES:
                    _drop_oldest_frame(outbox)
                    state["dropped_slow"] += 1
                for item in packet:
                    outbox.put_nowait(item)
            await asyncio.sleep(period / 4)

    async def send() -> None:
        while True:
            item = await outbox.get()
            if item is None:
                return
            message, ready_at = item
            if isinstance(message, bytes):
                await ws.send_bytes(message)
            else:
                await ws.send_text(message)
            if ready_at is not None:
                session.stats.stage_s.setdefault("send", []).append(time.monotonic() - ready_at)

    tasks = [asyncio.create_task(job()) for job in (receive, produce, send)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Let the producer finish the frame it is on and the sender stop by itself; only what
        # is still waiting on the client after that is cancelled.
        state["closed"] = True
        outbox.put_nowait(None)
        _, pending = await asyncio.wait(tasks, timeout=2.0)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        session.close()
        if not state["disconnected"] and ws.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close()


async def _handle_message(
    text: str, session: LiveSession, outbox: asyncio.Queue, state: dict[str, int]
) -> None:
    try:
        message = json.loads(text)
        kind = message.get("type")
        if kind == "text":
            duration = await asyncio.to_thread(
                session.push_text, str(message.get("text", "")), message.get("voice")
            )
            await outbox.put(
                (json.dumps({"type": "speaking", "seconds": round(duration, 3)}), None)
            )
        elif kind == "control":
            session.set_control(str(message.get("control")), message.get("value"))
        elif kind == "stats":
            summary = session.stats.summary() | {
                "frames_dropped_slow_client": state["dropped_slow"]
            }
            await outbox.put((json.dumps({"type": "stats", **summary}), None))
        else:
            raise GiocondaError(f"unknown message type {kind!r}")
    except (GiocondaError, ValueError, TypeError, AttributeError) as error:
        await outbox.put((json.dumps({"type": "error", "message": str(error)}), None))


def _pull_encoded(session: LiveSession) -> list[list[tuple[bytes, float | None]]]:
    """Due frames, each as its messages: the speech to play with it (if any), then the JPEG."""
    out: list[list[tuple[bytes, float | None]]] = []
    for frame in session.pull():
        t0 = time.perf_counter()
        _, jpeg = cv2.imencode(
            ".jpg", frame.image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        )
        session.stats.stage_s.setdefault("encode", []).append(time.perf_counter() - t0)
        messages: list[tuple[bytes, float | None]] = []
        if frame.audio is not None:
            pcm = (np.clip(frame.audio, -1, 1) * 32767).astype("<i2")
            start = round(frame.time_s * OUTPUT_SAMPLE_RATE)
            messages.append((b"\x02" + struct.pack("<I", start) + pcm.tobytes(), None))
        tag = NO_SEQUENCE if frame.audio_tag is None else frame.audio_tag
        header = struct.pack("<IId", frame.index, tag, frame.time_s)
        messages.append((b"\x01" + header + jpeg.tobytes(), frame.ready_at))
        out.append(messages)
    return out


def _is_frame(item: object) -> bool:
    return isinstance(item, tuple) and isinstance(item[0], bytes) and item[0][:1] == b"\x01"


def _frames_waiting(outbox: asyncio.Queue) -> int:
    # asyncio.Queue keeps its items in a deque, _queue; it has no public way to look at them.
    items: Iterable[object] = outbox._queue  # type: ignore[attr-defined]  # not in typeshed
    return sum(1 for item in items if _is_frame(item))


def _drop_oldest_frame(outbox: asyncio.Queue) -> None:
    queue = outbox._queue  # type: ignore[attr-defined]  # private: see _frames_waiting
    for i, item in enumerate(queue):
        if _is_frame(item):
            del queue[i]
            return


async def _send_error(ws: WebSocket, message: str) -> None:
    with contextlib.suppress(Exception):
        await ws.send_json({"type": "error", "message": message})


def serve(host: str = "127.0.0.1", port: int = 8000, config: ServeConfig = ServeConfig()) -> None:
    """Run the app under uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(config), host=host, port=port, log_level="info")
