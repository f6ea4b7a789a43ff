"""The batch on this machine: one worker process per core, each loading its models once.

The workers are started fresh (``spawn``), not forked from a process that may already hold
MediaPipe's or ONNX Runtime's threads. Each one takes a job, makes its video into the
scratch folder and reports back; the parent hands a worker jobs on photos it has already
analysed first. A worker that dies mid-clip (killed, out of memory) is replaced and its job
given again, up to ``retries`` times, as Ray retries its tasks; its unfinished file stays in
the scratch folder, which is removed when the batch ends.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path

from gioconda.batch.worker import ClipMaker, Outcome, Task, run_task

#: A task's second and later tries, after its worker died.
DEFAULT_RETRIES = 2


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _worker_main(connection: Connection, scratch: str) -> None:
    # Ctrl-C goes to the whole process group: the parent decides what stops, and when.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Stopped mid-clip (Ctrl-C in the parent): exit through Python, so that the child
    # processes multiprocessing started for this worker are ended too.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(1))
    maker = ClipMaker()
    while True:
        message = connection.recv()
        if message is None:
            return
        task, attempt = message
        out_path = Path(scratch) / f"{task.index}.{attempt}.mp4"
        connection.send(run_task(maker, task, out_path))


class _Worker:
    def __init__(self, context, scratch: Path) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, str(scratch)), name="gioconda-batch"
        )
        self.process.start()
        child.close()
        self.task: Task | None = None
        self.attempt = 0
        self.portraits: set[str] = set()

    def give(self, task: Task, attempt: int) -> None:
        self.task, self.attempt = task, attempt
        self.portraits.add(task.portrait_key)
        self.connection.send((task, attempt))

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(10)
        if self.process.is_alive():  # stuck in native code: nothing more to save
            self.process.kill()
            self.process.join()
        self.connection.close()


class LocalRunner:
    """Runs tasks on worker processes on this machine.

    Parameters
    ----------
    workers: how many processes (default: one per usable core)
    retries: how many more times a task is tried after its worker died

    Notes
    -----
    The workers are started with ``spawn``, which imports the caller's main module again:
    a script that runs a batch must do so under ``if __name__ == "__main__":``.
    """

    def __init__(self, workers: int | None = None, retries: int = DEFAULT_RETRIES) -> None:
        self.workers = workers or usable_cpus()
        self.retries = retries

    def describe(self) -> str:
        return f"{self.workers} local worker process{'es' * (self.workers != 1)}"

    def run(
        self,
        tasks: Sequence[Task],
        scratch: Path,
        report: Callable[[Outcome], None],
        url_of: Callable[[str], str | None] = lambda name: None,
    ) -> None:
        """Run ``tasks``; ``report`` is called in this process as each one ends. The videos
        stay in ``scratch`` for the caller to move or upload (``url_of`` is not used: the
        workers share this machine's disk with the caller)."""
        if not tasks:
            return
        context = multiprocessing.get_context("spawn")
        pending = deque(tasks)
        attempts = {task.index: 0 for task in tasks}
        workers = [_Worker(context, scratch) for _ in range(min(self.workers, len(tasks)))]
        try:
            while pending or any(w.task is not None for w in workers):
                for worker in workers:
                    if worker.task is None and pending:
                        task = _next_for(worker, pending)
                        attempts[task.index] += 1
                        worker.give(task, attempts[task.index])
                busy = [w for w in workers if w.task is not None]
                ready = wait([w.connection for w in busy] + [w.process.sentinel for w in busy])
                for i, worker in enumerate(workers):
                    if worker.task is None or not (
                        worker.connection in ready or worker.process.sentinel in ready
                    ):
                        continue
                    task = worker.task
                    try:
                        outcome = worker.connection.recv()
                    except (EOFError, OSError):
                        outcome = None
                    if outcome is not None:
                        worker.task = None
                        report(outcome)
                        continue
                    # The worker died mid-clip: a fresh one takes its place.
                    worker.process.join(5)
                    code = worker.process.exitcode
                    worker.stop()
                    workers[i] = _Worker(context, scratch)
                    if attempts[task.index] <= self.retries:
                        pending.appendleft(task)
                    else:
                        reason = f"its worker died {attempts[task.index]} times (exit code {code})"
                        report(Outcome(task.index, "failed", reason))
        finally:
            for worker in workers:
                if worker.task is None and worker.process.is_alive():
                    try:
                        worker.connection.send(None)
                    except OSError:
                        pass
            for worker in workers:
                if worker.task is None:
                    worker.process.join(5)
                worker.stop()


def _next_for(worker: _Worker, pending: deque[Task]) -> Task:
    """The first pending task whose portrait the worker already has, else the first."""
    for task in pending:
        if task.portrait_key in worker.portraits:
            pending.remove(task)
            return task
    return pending.popleft()
