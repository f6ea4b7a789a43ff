"""The batch on a Ray cluster: one Ray task per video.

The driver (the machine running ``gioconda batch --ray``) reads each distinct input file
once and puts its bytes in Ray's object store, so workers on other machines need no shared
disk. Each distinct portrait (photo, face, size) is analysed once, by one task, and the
analysis is shared through the object store with every video of that photo. A video task
renders into a local temporary folder on its node and returns the finished file's bytes;
the driver moves them into the output folder whole. With an output URL (``s3://``, ...)
the worker uploads the video there itself, in one piece, and the driver only records it. A
task whose worker dies (killed, out of memory, a lost node) is retried by Ray
(``max_retries``); nothing of its unfinished file reaches the output.

Ray is an optional extra: ``pip install 'gioconda[ray]'``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from gioconda.batch.local import DEFAULT_RETRIES
from gioconda.batch.store import upload
from gioconda.batch.worker import ClipMaker, Outcome, Task, run_task
from gioconda.errors import GiocondaError

if TYPE_CHECKING:
    from gioconda.face.portrait import Portrait

#: The worker process's clip maker: models and recognizers loaded once per Ray worker.
_MAKER: ClipMaker | None = None


def import_ray():
    """The ``ray`` module, or a GiocondaError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise GiocondaError(
            "--ray needs Ray: pip install 'gioconda[ray]' (the batch runs locally without it)"
        ) from None
    return ray


def _maker() -> ClipMaker:
    global _MAKER
    if _MAKER is None:
        _MAKER = ClipMaker()
    return _MAKER


def _local_copy(folder: str, name: str, data: bytes) -> str:
    path = os.path.join(folder, name)
    with open(path, "wb") as file:
        file.write(data)
    return path


def _analyse(photo: bytes, suffix: str, task: Task) -> object:
    """Ray task: the portrait of a photo, or why there is none (a string)."""
    with tempfile.TemporaryDirectory(prefix="gioconda-photo-") as folder:
        path = _local_copy(folder, f"photo{suffix}", photo)
        try:
            return _maker().portrait(task.portrait_key, task.job, path)
        except GiocondaError as error:
            return str(error)


def _make(
    task: Task, portrait: Portrait | str | None, audio: bytes | None, suffix: str, url: str | None
) -> tuple:
    """Ray task: one video, as (outcome, the file's bytes or None). With ``url`` the worker
    uploads the video there itself and returns no bytes."""
    with tempfile.TemporaryDirectory(prefix="gioconda-clip-") as folder:
        audio_path = _local_copy(folder, f"audio{suffix}", audio) if audio is not None else None
        outcome = run_task(
            _maker(), task, os.path.join(folder, "clip.mp4"), portrait, audio_path=audio_path
        )
        if outcome.status != "done":
            return outcome, None
        if url is None:
            return outcome, Path(outcome.path).read_bytes()
        try:
            size = upload(outcome.path, url)
        except GiocondaError as error:
            return Outcome(task.index, "failed", str(error)), None
        return replace(outcome, committed=size), None


class RayRunner:
    """Runs tasks on a Ray cluster.

    Parameters
    ----------
    address: None to start a Ray instance on this machine (or join the one ``RAY_ADDRESS``
        names), ``"auto"`` for the cluster this machine is part of, or ``HOST:PORT``
    retries: Ray's ``max_retries`` for a video whose worker dies
    num_cpus: CPUs of a Ray instance started here (default: all)
    """

    def __init__(
        self,
        address: str | None = None,
        retries: int = DEFAULT_RETRIES,
        num_cpus: int | None = None,
    ) -> None:
        self.ray = import_ray()
        self.address = address
        self.retries = retries
        self.num_cpus = num_cpus

    def describe(self) -> str:
        return "a local Ray instance" if self.address is None else f"Ray at {self.address}"

    def _connect(self) -> bool:
        """Join or start Ray; True if this runner started it (and shuts it down)."""
        if self.ray.is_initialized():
            return False
        try:
            self.ray.init(
                address=self.address,
                num_cpus=self.num_cpus if self.address is None else None,
                include_dashboard=False,
                log_to_driver=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = self.address or "a local instance"
            raise GiocondaError(f"cannot start or reach Ray ({where}): {error}") from None
        return True

    def run(
        self,
        tasks: Sequence[Task],
        scratch: Path,
        report: Callable[[Outcome], None],
        url_of: Callable[[str], str | None] = lambda name: None,
    ) -> None:
        """Run ``tasks`` on Ray; ``report`` is called here as each one ends. Where
        ``url_of(output)`` gives a URL, the worker uploads the video there itself."""
        if not tasks:
            return
        ray = self.ray
        started = self._connect()
        analyse = ray.remote(num_cpus=1, max_retries=self.retries)(_analyse)
        make = ray.remote(num_cpus=1, max_retries=self.retries)(_make)
        files: dict[str, object] = {}
        portraits: dict[str, object] = {}
        running: dict[object, Task] = {}

        def stored(path: str) -> object:
            if path not in files:
                files[path] = ray.put(Path(path).read_bytes())
            return files[path]

        try:
            for task in tasks:
                job = task.job
                if task.portrait_key not in portraits:
                    photo = stored(job.photo)
                    portraits[task.portrait_key] = analyse.remote(
                        photo, Path(job.photo).suffix, task
                    )
                audio = stored(job.audio) if job.audio is not None else None
                suffix = Path(job.audio).suffix if job.audio is not None else ""
                url = url_of(job.output)
                running[make.remote(task, portraits[task.portrait_key], audio, suffix, url)] = task
            while running:
                finished, _ = ray.wait(list(running), num_returns=1)
                task = running.pop(finished[0])
                try:
                    outcome, data = ray.get(finished[0])
                except ray.exceptions.RayError as error:
                    reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
                    report(Outcome(task.index, "failed", f"{type(error).__name__}: {reason}"))
                    continue
                if data is not None:
                    path = scratch / f"{task.index}.ray.mp4"
                    path.write_bytes(data)
                    outcome = Outcome(
                        outcome.index, "done", path=str(path), frames=outcome.frames,
                        seconds=outcome.seconds,
                    )  # fmt: skip
                report(outcome)
        finally:
            for ref in running:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()
