"""``POST /api/verify``: the page's "was this video made by Gioconda?" check.

The same check as ``gioconda verify`` and :func:`gioconda.provenance.verify` (the watermark,
the container's tags, any C2PA manifest) on an uploaded video, answered as JSON::

    {"file": "clip.mp4", "status": "found" | "not found" | "unreadable",
     "watermark": {"found": true, "score": 13.2, "home_score": 12.9, "false_alarm": 1e-21,
                   "frames": 85,
                   "payload": {"version": 1, "render_id": "0a3f1"} | null, "mirrored": false},
     "metadata": {"comment": "..."}, "c2pa": {"checked": true, "present": false, ...},
     "error": null, "text": "what gioconda verify prints"}

An unreadable upload is a 200 with ``status`` "unreadable" (the answer to the question asked),
never a server path: the error names the file as the user called it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from gioconda.provenance.verify import FOUND, NOT_FOUND, Verification, describe, verify

#: How the exit codes of ``gioconda verify`` read on the page.
STATUS = {FOUND: "found", NOT_FOUND: "not found"}


def verification_json(result: Verification, name: str) -> dict[str, object]:
    """``result`` as the page shows it, with the server's file path replaced by ``name``."""
    text = describe(result).replace(result.path, name)
    error = None if result.error is None else result.error.replace(result.path, name)
    mark = result.watermark
    watermark = None
    if mark is not None:
        payload = mark.payload
        watermark = {
            "found": mark.found,
            "score": round(mark.score, 2),
            "home_score": round(mark.home_score, 2),
            "false_alarm": mark.false_alarm,
            "frames": mark.frames,
            "payload": None
            if payload is None
            else {"version": payload.version, "render_id": f"{payload.render_id:05x}"},
            "mirrored": mark.mirrored,
        }
    credentials = result.credentials
    return {
        "file": name,
        "status": STATUS.get(result.exit_code, "unreadable"),
        "watermark": watermark,
        "metadata": result.metadata,
        "c2pa": None if credentials is None else asdict(credentials),
        "error": error,
        "text": text,
    }


def verify_router(save_upload: Callable[[UploadFile], Awaitable[Path]]) -> APIRouter:
    """The route; ``save_upload`` copies an upload to a server file (and enforces the size
    limit), as the app does for photos and audio."""
    router = APIRouter()

    @router.post("/api/verify")
    async def verify_upload(video: Annotated[UploadFile, File()]) -> dict[str, object]:
        path = await save_upload(video)
        try:
            # Decoding up to 250 frames and the search take a second or two: off the event
            # loop, so live sessions keep their frame rate.
            result = await asyncio.to_thread(verify, path)
        finally:
            path.unlink(missing_ok=True)
        return verification_json(result, Path(video.filename or "video").name)

    return router
