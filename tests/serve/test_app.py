"""The web app through FastAPI's test client: the page, uploads, file jobs, the live stream."""

from __future__ import annotations

import io
import json
import struct
import time

import av
import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from gioconda.serve.app import ServeConfig, create_app
from gioconda.speech.audio import resample
from gioconda.speech.synthesis import speak


@pytest.fixture(scope="module")
def speech_pcm16k() -> np.ndarray:
    audio = resample(speak("Hello there, how are you today?", "en-us").audio, 16_000)
    return (np.clip(audio.samples, -1, 1) * 32767).astype("<i2")


@pytest.fixture(scope="module")
def client():
    # One server for the module: its live worker process starts once.
    app = create_app(ServeConfig(size=256, max_sessions=1, max_upload_bytes=2_000_000))
    with TestClient(app) as test_client:
        yield test_client
    # Shutting down removes every temporary file the server made.
    assert not app.state.work.exists()


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def receive_until(ws, predicate, seconds: float = 20.0):
    """Messages until ``predicate(message)`` is true; returns all of them."""
    got = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        message = ws.receive()
        got.append(message)
        if predicate(message):
            return got
    raise AssertionError("timed out")


def is_json(kind: str):
    return lambda m: m.get("text") is not None and json.loads(m["text"]).get("type") == kind


def test_page_and_health(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "getUserMedia" in page.text and "/api/live" in page.text and "/api/jobs" in page.text
    health = client.get("/api/health").json()
    assert health["live_sessions"] == 0 and health["max_sessions"] == 1


def test_uploads_that_are_not_portraits_get_clear_errors(client: TestClient) -> None:
    not_image = client.post("/api/portraits", files={"photo": ("a.jpg", b"GIF? no", "image/jpeg")})
    assert not_image.status_code == 400
    assert "uploaded photo" in not_image.json()["error"] and "/tmp" not in not_image.text
    blank = client.post(
        "/api/portraits",
        files={"photo": ("b.png", png_bytes(np.full((300, 300, 3), 200, np.uint8)))},
    )
    assert blank.status_code == 400 and "no face" in blank.json()["error"]
    huge = client.post("/api/portraits", files={"photo": ("c.png", b"\0" * 2_100_000)})
    assert huge.status_code == 413 and "limit" in huge.json()["detail"]
    empty = client.post("/api/portraits", files={"photo": ("d.png", b"")})
    assert empty.status_code == 400


def test_upload_a_portrait_then_stream_it(client: TestClient, astronaut: np.ndarray) -> None:
    reply = client.post("/api/portraits", files={"photo": ("astronaut.png", png_bytes(astronaut))})
    assert reply.status_code == 200
    portrait_id = reply.json()["id"]
    with client.websocket_connect("/api/live") as ws:
        ws.send_text(json.dumps({"type": "start", "portrait": portrait_id, "sample_rate": 16000}))
        assert ws.receive_json()["type"] == "ready"
        frames = receive_until(ws, lambda m: m.get("bytes") is not None and m["bytes"][0] == 1)
        jpeg = frames[-1]["bytes"][17:]
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (256, 256, 3)


def test_file_job_from_text_to_mp4(client: TestClient) -> None:
    reply = client.post("/api/jobs", data={"text": "Good morning.", "voice": "en-us"})
    assert reply.status_code == 202
    job_id = reply.json()["id"]
    progress = []
    for _ in range(600):
        status = client.get(f"/api/jobs/{job_id}").json()
        progress.append(status["progress"])
        if status["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert status["state"] == "done", status
    assert progress == sorted(progress) and progress[-1] == 1.0
    video = client.get(status["video"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(video.content)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        assert container.streams.audio  # the speech is in it
    assert frames == status["frames"] > 10
    assert client.delete(f"/api/jobs/{job_id}").status_code == 200
    assert client.get(f"/api/jobs/{job_id}").status_code == 404


def test_file_job_with_bad_audio_fails_clearly(client: TestClient) -> None:
    reply = client.post(
        "/api/jobs", files={"audio": ("speech.wav", b"RIFF....WAVEfmt not really audio")}
    )
    job_id = reply.json()["id"]
    for _ in range(100):
        status = client.get(f"/api/jobs/{job_id}").json()
        if status["state"] == "failed":
            break
        time.sleep(0.1)
    assert status["state"] == "failed" and "audio" in status["error"]
    assert "Traceback" not in status["error"]
    assert client.get(f"/api/jobs/{job_id}/video").status_code == 409
    neither = client.post("/api/jobs", data={"portrait": "mona_lisa"})
    assert neither.status_code == 400 and "either" in neither.json()["error"]


def test_live_stream_talks_and_refuses_a_session_too_many(
    client: TestClient, speech_pcm16k: np.ndarray
) -> None:
    with client.websocket_connect("/api/live") as ws:
        ws.send_text(json.dumps({"type": "start", "sample_rate": 16000}))
        ready = ws.receive_json()
        assert ready == {"type": "ready", "fps": 25.0, "size": 256, "audio_rate": 24000}
        # One more than the machine carries is refused with a clear message, not slowed down.
        with client.websocket_connect("/api/live") as extra:
            refusal = extra.receive_json()
            assert refusal["type"] == "error" and "busy" in refusal["message"]
        started = time.monotonic()
        for k in range(0, len(speech_pcm16k), 320):  # 20 ms chunks, as a microphone sends them
            time.sleep(max(0.0, started + k / 16_000 - time.monotonic()))
            ws.send_bytes(struct.pack("<I", k // 320) + speech_pcm16k[k : k + 320].tobytes())
        ws.send_text(json.dumps({"type": "control", "control": "emotion", "value": "happy"}))
        ws.send_text(json.dumps({"type": "control", "control": "gaze", "value": [99, 0]}))
        messages = receive_until(ws, is_json("error"))
        assert "gaze" in json.loads(messages[-1]["text"])["message"]
        time.sleep(0.5)
        ws.send_text('{"type": "stats"}')
        messages += receive_until(ws, is_json("stats"))
        frames = [m["bytes"] for m in messages if m.get("bytes") and m["bytes"][0] == 1]
        assert len(frames) >= 10
        tags = [struct.unpack_from("<I", f, 5)[0] for f in frames]
        assert any(t != 0xFFFFFFFF for t in tags)  # frames say which audio chunk they show
        stats = json.loads(messages[-1]["text"])
        assert stats["frames"] >= len(frames) and stats["audio_in_s"] > 1.0
    # The client went away mid-stream: its slot is free again.
    for _ in range(50):
        if client.get("/api/health").json()["live_sessions"] == 0:
            break
        time.sleep(0.1)
    assert client.get("/api/health").json()["live_sessions"] == 0


def test_live_text_streams_speech_with_the_frames(client: TestClient) -> None:
    with client.websocket_connect("/api/live") as ws:
        ws.send_text(json.dumps({"type": "start", "voice": "en-us"}))
        assert ws.receive_json()["type"] == "ready"
        ws.send_text(json.dumps({"type": "text", "text": "Hello."}))
        speaking = json.loads(receive_until(ws, is_json("speaking"))[-1]["text"])
        assert 0.3 < speaking["seconds"] < 3
        got = receive_until(ws, lambda m: m.get("bytes") is not None and m["bytes"][0] == 2)
        pcm = np.frombuffer(got[-1]["bytes"], "<i2", offset=5)
        assert len(pcm) > 0
        ws.send_text(json.dumps({"type": "text", "text": ""}))
        assert "empty" in json.loads(receive_until(ws, is_json("error"))[-1]["text"])["message"]


def test_a_live_worker_that_dies_ends_its_session_only(client: TestClient) -> None:
    import multiprocessing
    import os
    import signal

    with client.websocket_connect("/api/live") as ws:
        ws.send_text(json.dumps({"type": "start"}))
        assert ws.receive_json()["type"] == "ready"
        receive_until(ws, lambda m: m.get("bytes") is not None and m["bytes"][0] == 1)
        # The session runs in a process of its own: kill it as the system would (OOM).
        workers = [p for p in multiprocessing.active_children() if p.name == "gioconda-live"]
        assert workers and all(p.pid != os.getpid() for p in workers)
        for worker in workers:
            os.kill(worker.pid, signal.SIGKILL)
        error = receive_until(ws, is_json("error"))[-1]
        assert "stopped unexpectedly" in json.loads(error["text"])["message"]
    # The server is healthy: the slot is free and the next session starts in a fresh worker.
    for _ in range(50):
        if client.get("/api/health").json()["live_sessions"] == 0:
            break
        time.sleep(0.1)
    assert client.get("/api/health").json()["live_sessions"] == 0
    with client.websocket_connect("/api/live") as ws:
        ws.send_text(json.dumps({"type": "start"}))
        assert (reply := ws.receive_json())["type"] == "ready", reply
        receive_until(ws, lambda m: m.get("bytes") is not None and m["bytes"][0] == 1)


def test_live_bad_start_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/api/live") as ws:
        ws.send_text(json.dumps({"type": "start", "portrait": "nobody"}))
        message = ws.receive_json()
        assert message["type"] == "error" and "upload the photo" in message["message"]
    with client.websocket_connect("/api/live") as ws:
        ws.send_text("not json")
        assert ws.receive_json()["type"] == "error"
    assert client.get("/api/health").json()["live_sessions"] == 0


def test_serve_command_refuses_bad_flags(capsys) -> None:
    from gioconda.cli.app import main

    assert main(["serve", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
