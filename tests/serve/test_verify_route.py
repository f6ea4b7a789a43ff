"""``POST /api/verify``: the page's check of an uploaded video, as ``gioconda verify`` does it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gioconda.eval.provenance_attacks import decode, encode, mirror
from gioconda.motion.frames import Motion
from gioconda.pipeline import render_video
from gioconda.serve.app import ServeConfig, create_app


@pytest.fixture(scope="module")
def client():
    app = create_app(ServeConfig(size=256, max_upload_bytes=3_000_000))
    with TestClient(app) as test_client:
        yield test_client
    # Every upload was deleted once checked: shutting down found only its own folder.
    assert not app.state.work.exists()


@pytest.fixture(scope="module")
def rendered(mona_portrait, tmp_path_factory):
    """A real render (the watermark in every frame) and the same frames, unmarked."""
    folder = tmp_path_factory.mktemp("served")
    marked = folder / "rendered.mp4"
    render_video(mona_portrait, Motion.rest(40, 25.0), None, marked)
    frames = decode(marked)
    encode(mirror(frames), folder / "mirrored.mp4", bit_rate=500_000)
    # The same picture with no mark: the portrait's own crop, a still camera-like video.
    plain = [mona_portrait.image] * 40
    encode(plain, folder / "plain.mp4")
    return {name: folder / f"{name}.mp4" for name in ("rendered", "mirrored", "plain")}


def _check(client: TestClient, path, name: str | None = None) -> dict:
    with open(path, "rb") as video:
        reply = client.post("/api/verify", files={"video": (name or path.name, video, "video/mp4")})
    assert reply.status_code == 200, reply.text
    return reply.json()


@pytest.mark.slow
def test_a_rendered_video_is_found_with_its_render_id(client, rendered):
    body = _check(client, rendered["rendered"])
    assert body["status"] == "found"
    mark = body["watermark"]
    assert mark["found"] and mark["score"] >= 8 and mark["frames"] == 40
    assert mark["payload"]["version"] == 1
    # The render id the mark carries is the one render_video wrote into the metadata.
    assert f"render id {mark['payload']['render_id']}" in body["metadata"]["comment"]
    assert body["c2pa"]["present"] is False or body["c2pa"]["checked"] is False
    assert body["text"].startswith("rendered.mp4\n") and "watermark: FOUND" in body["text"]
    mirrored = _check(client, rendered["mirrored"])
    assert mirrored["status"] == "found" and mirrored["watermark"]["mirrored"]
    assert mirrored["watermark"]["payload"] == mark["payload"]
    assert "frames, the video is mirrored)" in mirrored["text"]


@pytest.mark.slow
def test_unmarked_and_unreadable_uploads(client, rendered, tmp_path):
    plain = _check(client, rendered["plain"])
    assert plain["status"] == "not found" and not plain["watermark"]["found"]
    assert plain["watermark"]["payload"] is None
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x17" * 4000)
    body = _check(client, broken, "holiday clip.mp4")
    assert body["status"] == "unreadable" and body["watermark"] is None
    # The error names the file as the user called it, never the server's temporary path.
    assert "holiday clip.mp4" in body["error"] and "gioconda-serve" not in body["error"]
    assert "gioconda-serve" not in body["text"]


def test_uploads_over_the_limit_are_refused(client):
    reply = client.post("/api/verify", files={"video": ("big.mp4", b"\x00" * 3_100_000)})
    assert reply.status_code == 413
    empty = client.post("/api/verify", files={"video": ("empty.mp4", b"")})
    assert empty.status_code == 400 and "empty" in empty.json()["error"]
