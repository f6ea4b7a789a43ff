"""One worker's side of a batch: makes videos, keeping what can be kept between them.

A worker (a local process, or a Ray worker process) holds one :class:`ClipMaker` for its
life: the speech recognizers it has built, and the last few portraits it has analysed (a
course dubbed into ten languages reuses each photo ten times). Kokoro's voice is already
one per process. None of this changes a video: recognizers reset their state on every call,
so a row gives the same video alone, in a local batch or on Ray.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from gioconda.batch.jobs import Job
from gioconda.errors import GiocondaError
from gioconda.face.cache import cached_analysis
from gioconda.face.photo import load_photo
from gioconda.face.portrait import Portrait
from gioconda.pipeline import (
    Speech,
    motion_for_speech,
    render_video,
    speech_from_text,
)
from gioconda.speech.audio import load_audio, resample
from gioconda.timeline import ANALYSIS_SAMPLE_RATE

#: Analysed portraits a worker keeps (each is a few MB at 512 px; more for full frame).
PORTRAITS_KEPT = 8
#: Test hook: ``OUTPUT:FRAME:MARKER`` makes the worker making OUTPUT die (``os._exit``) at
#: that frame, once: the first time, when the MARKER file does not exist yet (it is created).
CRASH_ENV = "GIOCONDA_BATCH_TEST_CRASH"


@dataclass(frozen=True)
class Task:
    """A job to run, with its content key and the key of the portrait it needs."""

    index: int
    job: Job
    key: str
    portrait_key: str


@dataclass(frozen=True)
class Outcome:
    """What became of a task: ``done`` (the video is at ``path``, a local scratch file) or
    ``failed`` (``reason`` says why in one line)."""

    index: int
    status: str
    reason: str = ""
    path: str = ""
    frames: int = 0
    seconds: float = 0.0
    #: Size in bytes when the worker itself has put the video in place (an upload from a
    #: Ray worker to the output URL); None when the driver is to move ``path`` there.
    committed: int | None = None


@dataclass(frozen=True)
class ClipDone:
    """A finished video, still in its local scratch file."""

    path: str
    frames: int
    seconds: float


class ClipMaker:
    """Makes the videos of jobs, with models and analysed portraits kept between them."""

    def __init__(self, portraits_kept: int = PORTRAITS_KEPT) -> None:
        self._recognizers: dict[str, Any] = {}
        self._portraits: OrderedDict[str, Portrait | GiocondaError] = OrderedDict()
        self._kept = portraits_kept

    def close(self) -> None:
        """Let go of what the maker holds (nothing is left running)."""
        self._portraits.clear()
        self._recognizers.clear()

    def portrait(self, key: str, job: Job, photo_path: str | None = None) -> Portrait:
        """The analysed portrait a job needs (``key`` from :func:`~.manifest.portrait_key`).

        Raises
        ------
        GiocondaError: no face, unreadable photo (remembered, not tried again).
        """
        found = self._portraits.get(key)
        if found is None:
            try:
                size = None if job.options.full_frame else job.options.size
                photo = load_photo(photo_path or job.photo)
                found = cached_analysis(photo, size, job.options.face)
            except GiocondaError as error:
                found = error
            self.keep_portrait(key, found)
        self._portraits.move_to_end(key)
        if isinstance(found, GiocondaError):
            raise GiocondaError(str(found))
        return found

    def keep_portrait(self, key: str, portrait: Portrait | GiocondaError) -> None:
        self._portraits[key] = portrait
        while len(self._portraits) > self._kept:
            self._portraits.popitem(last=False)

    def has_portrait(self, key: str) -> bool:
        return key in self._portraits

    def speech(self, job: Job, audio_path: str | None = None) -> Speech:
        """The job's soundtrack and phones, as ``gioconda animate`` finds them."""
        options = job.options
        if job.text is not None:
            # The same audio as a lone `gioconda animate`: eSpeak NG starts every utterance
            # from a freshly loaded library, whatever this worker spoke before.
            return speech_from_text(job.text, options)
        # As pipeline.speech_from_audio, with one recognizer per worker rather than per clip.
        # A job without text has audio (read_jobs checks): the path is never None here.
        path = cast(str, audio_path or job.audio)
        audio = load_audio(path, None, options.max_audio_s)
        if options.lipsync == "loudness":
            return Speech(audio, None, "recording")
        recognizer = self._recognizers.get(options.lipsync)
        if recognizer is None:
            from gioconda.speech.recognize import RECOGNIZERS

            recognizer = self._recognizers[options.lipsync] = RECOGNIZERS[options.lipsync]()
        phones = recognizer.recognize(resample(audio, ANALYSIS_SAMPLE_RATE))
        return Speech(audio, phones, "recording")

    def make(
        self,
        job: Job,
        out_path: str | os.PathLike[str],
        portrait: Portrait,
        audio_path: str | None = None,
    ) -> ClipDone:
        """Render a job's video to ``out_path`` (a scratch file; it appears only when whole).

        Raises
        ------
        GiocondaError: bad audio, text or voice.
        """
        start = time.perf_counter()
        speech = self.speech(job, audio_path)
        motion = motion_for_speech(speech, job.options.fps, job.options.motion)
        frames = render_video(
            portrait,
            motion,
            speech.audio,
            out_path,
            job.options.full_frame,
            job.options.label,
            progress=_crash_hook(job),
            preset=job.options.preset,
            crf=job.options.crf,
            # Each worker is a process of its own, one per core: one render thread each.
            threads=1,
        )
        return ClipDone(os.fspath(out_path), frames, time.perf_counter() - start)


def run_task(
    maker: ClipMaker,
    task: Task,
    out_path: str | os.PathLike[str],
    portrait: Portrait | str | None = None,
    photo_path: str | None = None,
    audio_path: str | None = None,
) -> Outcome:
    """Make one task's video with ``maker``; a bad row becomes a failed outcome, not an error.

    Parameters
    ----------
    maker: the worker's clip maker
    task: what to make
    out_path: the local scratch file to write
    portrait: the analysed portrait if it was made elsewhere, or why it could not be (a
        string); None to have ``maker`` analyse the photo (or take it from its cache)
    photo_path, audio_path: local copies of the job's files, where its paths are not
        reachable here (another machine of a cluster)
    """
    try:
        if isinstance(portrait, str):
            raise GiocondaError(portrait)
        if portrait is None:
            portrait = maker.portrait(task.portrait_key, task.job, photo_path)
        done = maker.make(task.job, out_path, portrait, audio_path)
    except GiocondaError as error:
        return Outcome(task.index, "failed", str(error))
    except Exception as error:  # a bug shows on its row; the rest of the batch goes on
        return Outcome(task.index, "failed", f"{type(error).__name__}: {error}")
    return Outcome(task.index, "done", path=done.path, frames=done.frames, seconds=done.seconds)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def _crash_hook(job: Job):
    """The progress callback: nothing, unless a test asked this job's worker to die."""
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return _no_progress
    output, frame, marker = spec.split(":", 2)
    if output != job.output or Path(marker).exists():
        return _no_progress

    def crash(stage: str, done: int, total: int) -> None:
        if done >= int(frame):
            Path(marker).touch()
            os._exit(70)  # as a killed worker: no cleanup, no exception handling

    return crash
