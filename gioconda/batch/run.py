"""A whole batch: plan against the manifest, run what is left, commit, report.

The driver alone writes the output folder and the manifest; workers (local processes or
Ray tasks) only make files in scratch space. So the manifest never names a file that is
not whole, and stopping the batch at any point (Ctrl-C, a crash) leaves the output folder
as it was after the last finished video.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

from gioconda.batch.jobs import Job
from gioconda.batch.manifest import FileDigests, Manifest, job_key, portrait_key
from gioconda.batch.store import OutputStore
from gioconda.batch.worker import Outcome, Task
from gioconda.errors import GiocondaError


class Runner(Protocol):
    """Runs tasks somewhere (:class:`~.local.LocalRunner`, :class:`~.on_ray.RayRunner`)."""

    def describe(self) -> str: ...

    def run(
        self,
        tasks: Sequence[Task],
        scratch: Path,
        report: Callable[[Outcome], None],
        url_of: Callable[[str], str | None],
    ) -> None:
        """Make the videos of ``tasks`` into ``scratch`` and ``report`` each outcome (called
        in this process); a runner whose workers are elsewhere may upload a video to
        ``url_of(output)`` itself where that is not None (and say so in the outcome)."""


@dataclass(frozen=True)
class JobResult:
    """How one row ended: ``done``, ``skipped`` (already done), ``failed`` or ``not run``."""

    job: Job
    status: str
    reason: str = ""
    frames: int = 0
    seconds: float = 0.0


@dataclass
class BatchReport:
    """Every row's result, in row order, and whether the batch was interrupted."""

    results: list[JobResult] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def ok(self) -> bool:
        return not self.interrupted and self.count("failed") == 0


def run_batch(
    jobs: Sequence[Job],
    output: str | os.PathLike[str],
    runner: Runner,
    log: TextIO | None = sys.stderr,
    progress: bool = True,
) -> BatchReport:
    """Make the videos of ``jobs`` under ``output`` (a folder or fsspec URL).

    Rows already done (same content key in the manifest, file present and whole) are
    skipped; a bad row fails alone; Ctrl-C stops the workers and returns with
    ``interrupted`` set, the manifest holding every video finished before it.

    Parameters
    ----------
    jobs: from :func:`~.jobs.read_jobs`
    output: local folder (created if missing) or fsspec URL
    runner: where the work runs
    log: where the per-job lines go (None: nowhere)
    progress: show one progress bar over the whole batch (on stderr)

    Raises
    ------
    GiocondaError: the output cannot be written, or its manifest is not ours.
    """
    start = time.perf_counter()
    store = OutputStore(output)
    try:
        manifest = Manifest.load(store)
        digests = FileDigests()
        results: dict[int, JobResult] = {}
        tasks: list[Task] = []
        for index, job in enumerate(jobs):
            task = Task(index, job, job_key(job, digests), portrait_key(job, digests))
            if manifest.is_done(job.output, task.key, store):
                results[index] = JobResult(job, "skipped", "already done")
            else:
                tasks.append(task)
        by_index = {task.index: task for task in tasks}
        bar = _bar(len(jobs), len(jobs) - len(tasks), progress)

        def say(line: str) -> None:
            if log is None:
                return
            if bar is not None:
                bar.write(line, file=log)
            else:
                print(line, file=log, flush=True)

        say(
            f"{len(jobs)} jobs: {len(jobs) - len(tasks)} already done, {len(tasks)} to make "
            f"on {runner.describe()}"
        )

        def report(outcome: Outcome) -> None:
            task = by_index[outcome.index]
            job = task.job
            result = JobResult(job, outcome.status, outcome.reason, outcome.frames,
                               outcome.seconds)  # fmt: skip
            if outcome.status == "done":
                # A video and its manifest entry go in together: Ctrl-C waits for both.
                with interrupts.held():
                    try:
                        size = outcome.committed
                        if size is None:
                            size = store.commit(Path(outcome.path), job.output)
                        manifest.record(store, job.output, task.key, size, outcome.frames,
                                        job.row)  # fmt: skip
                    except GiocondaError as error:
                        result = JobResult(job, "failed", str(error))
            results[outcome.index] = result
            if result.status == "done":
                line = f"row {job.row} {job.output}: done, {result.frames} frames in "
                line += f"{result.seconds:.1f} s"
            else:
                line = f"row {job.row} {job.output}: failed: {result.reason}"
            say(line)
            if bar is not None:
                bar.update(1)

        interrupted = False
        interrupts = _HeldInterrupts()
        try:
            with interrupts.installed():
                runner.run(tasks, store.partial, report, store.url)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if bar is not None:
                bar.close()
        if interrupted:
            say("interrupted: workers stopped; every finished video is in the manifest")
    finally:
        store.close()
    ordered = [
        results.get(i, JobResult(job, "not run", "interrupted")) for i, job in enumerate(jobs)
    ]
    return BatchReport(ordered, interrupted, time.perf_counter() - start)


class _HeldInterrupts:
    """Ctrl-C as KeyboardInterrupt, except inside :meth:`held`, where it waits for the end."""

    def __init__(self) -> None:
        self.holding = False
        self.pending = False

    def _on_sigint(self, number: int, frame: object) -> None:
        if self.holding:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only: nothing to hold there
            return
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    @contextmanager
    def held(self) -> Iterator[None]:
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.pending:
            raise KeyboardInterrupt


def _bar(total: int, initial: int, show: bool):
    """A bar over the batch, on a terminal only: in a log file (stderr not a terminal) its
    carriage returns would pile up, and the line per video already says how far it is."""
    if not show or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="video", file=sys.stderr,
                dynamic_ncols=True, desc="batch")  # fmt: skip


def summary_table(report: BatchReport) -> str:
    """The batch's end: one line per row (its result, with the reason if it failed), and the
    counts."""
    lines = ["| row | output | result | frames | seconds |", "|---|---|---|---|---|"]
    for result in report.results:
        what = result.status if not result.reason else f"{result.status}: {result.reason}"
        frames = str(result.frames) if result.status == "done" else ""
        seconds = f"{result.seconds:.1f}" if result.status == "done" else ""
        lines.append(f"| {result.job.row} | {result.job.output} | {what} | {frames} | {seconds} |")
    counts = ", ".join(
        f"{report.count(status)} {status}"
        for status in ("done", "skipped", "failed", "not run")
        if report.count(status)
    )
    lines.append("")
    lines.append(f"{len(report.results)} jobs in {report.seconds:.1f} s: {counts}")
    return "\n".join(lines)
