"""File jobs: a photo and a recording (or text) in, an MP4 out, one at a time, with progress."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from fastapi import HTTPException

from gioconda.errors import GiocondaError
from gioconda.face.photo import load_photo
from gioconda.face.portrait import Portrait, analyze_portrait
from gioconda.motion.controls import MotionControls
from gioconda.pipeline import (
    AnimateOptions,
    motion_for_speech,
    render_video,
    speech_from_audio,
    speech_from_text,
)

if TYPE_CHECKING:
    from gioconda.serve.app import ServeConfig


@dataclass
class Job:
    """One file job and where it stands."""

    id: str
    folder: Path
    state: str = "queued"  # queued, running, done, failed
    stage: str = ""
    progress: float = 0.0
    error: str | None = None
    output: Path | None = None
    frames: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "state": self.state,
            "stage": self.stage,
            "progress": round(self.progress, 3),
        }
        if self.error:
            out["error"] = self.error
        if self.state == "done":
            out["video"] = f"/api/jobs/{self.id}/video"
            out["frames"] = self.frames
        return out


class JobRunner:
    """Runs file jobs on one worker thread, each in its own folder under ``work``."""

    def __init__(
        self, work: Path, config: ServeConfig, portrait_of: Callable[[str], Portrait]
    ) -> None:
        self.work, self.config, self.portrait_of = work, config, portrait_of
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gioconda-job")

    def new_dir(self) -> Path:
        folder = self.work / f"job-{uuid.uuid4().hex[:12]}"
        folder.mkdir()
        return folder

    def submit(
        self,
        folder: Path,
        photo: Path | None,
        portrait_id: str,
        audio: Path | None,
        text: str | None,
        voice: str,
        emotion: str,
    ) -> Job:
        job = Job(folder.name.removeprefix("job-"), folder)
        with self.lock:
            self._expire()
            self.jobs[job.id] = job
        self.pool.submit(self._run, job, photo, portrait_id, audio, text, voice, emotion)
        return job

    def get(self, job_id: str) -> Job:
        with self.lock:
            if job_id not in self.jobs:
                raise HTTPException(404, f"no job {job_id}")
            return self.jobs[job_id]

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        if job.state in ("queued", "running"):
            raise HTTPException(409, f"job {job_id} is {job.state}; wait until it ends")
        with self.lock:
            self.jobs.pop(job_id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def counts(self) -> dict[str, int]:
        with self.lock:
            states = [job.state for job in self.jobs.values()]
        return {state: states.count(state) for state in ("queued", "running", "done", "failed")}

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _expire(self) -> None:
        """Forget the oldest finished jobs (and delete their files) beyond ``max_jobs``."""
        finished = [j for j in self.jobs.values() if j.state in ("done", "failed")]
        while len(self.jobs) >= self.config.max_jobs and finished:
            job = finished.pop(0)
            self.jobs.pop(job.id, None)
            shutil.rmtree(job.folder, ignore_errors=True)

    def _run(
        self,
        job: Job,
        photo: Path | None,
        portrait_id: str,
        audio: Path | None,
        text: str | None,
        voice: str,
        emotion: str,
    ) -> None:
        job.state = "running"
        try:
            options = AnimateOptions(
                fps=25.0,
                size=self.config.size,
                motion=MotionControls(emotion=emotion),
                max_audio_s=self.config.max_audio_s,
                voice=voice,
            )
            job.stage = "speech"
            # The app sends text or an audio file: without text, audio is a path.
            speech = (
                speech_from_text(text, options)
                if text
                else speech_from_audio(cast(Path, audio), options)
            )
            job.stage, job.progress = "face", 0.05
            if photo is not None:
                portrait = analyze_portrait(load_photo(photo), self.config.size)
            else:
                portrait = self.portrait_of(portrait_id)
            job.stage, job.progress = "motion", 0.1
            motion = motion_for_speech(speech, options.fps, options.motion)
            output = job.folder / "gioconda.mp4"

            def progress(stage: str, done: int, total: int) -> None:
                job.stage, job.progress = "render", 0.1 + 0.9 * done / max(total, 1)

            job.frames = render_video(portrait, motion, speech.audio, output, progress=progress)
            job.output = output
            job.state, job.progress = "done", 1.0
        except GiocondaError as error:
            # The user's file, not the server's temporary path to it.
            message = str(error)
            for path, name in ((photo, "the uploaded photo"), (audio, "the uploaded audio")):
                if path is not None:
                    message = message.replace(str(path), name)
            job.state, job.error = "failed", message
        except Exception as error:  # a job must never take the server down
            job.state, job.error = "failed", f"internal error: {type(error).__name__}: {error}"
        finally:
            # Inputs are not kept once the job has run.
            for path in (photo, audio):
                if path is not None:
                    path.unlink(missing_ok=True)
