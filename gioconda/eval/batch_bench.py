"""``gioconda bench batch``: clips per minute for the same short jobs, three ways.

1. one process per clip (``gioconda animate``, as a shell loop would run it, as many at a
   time as there are cores): every clip loads the models and analyses its photo again;
2. a local batch (``gioconda batch``): one worker per core, models and portraits kept;
3. a batch on a Ray instance started on this machine with all its cores (``gioconda batch
   --ray``); the instance's start is timed apart, as a cluster is started once for many
   batches.

The jobs: the bundled portrait saying short eSpeak NG sentences, one recording per job,
each with its own seed. Numbers, not pass/fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TextIO

from gioconda.batch import LocalRunner, read_jobs, run_batch
from gioconda.batch.local import usable_cpus
from gioconda.eval.bench import BENCH_SENTENCES, _write_wav
from gioconda.pipeline import AnimateOptions
from gioconda.progress import Progress, no_progress
from gioconda.speech.audio import Audio
from gioconda.speech.espeak import synthesize


def _make_jobs(folder: Path, count: int, seconds: float) -> Path:
    """``count`` jobs of about ``seconds`` each; returns the jobs file."""
    with resources.as_file(resources.files("gioconda") / "assets" / "mona_lisa.jpg") as photo:
        shutil.copy(photo, folder / "mona.jpg")
    lines = ["photo,audio,seed,output"]
    for i in range(count):
        text = ""
        while True:  # sentences in turn until the speech is long enough
            text += BENCH_SENTENCES[(i + len(text)) % len(BENCH_SENTENCES)]
            spoken = synthesize(text)
            if spoken.audio.duration_s >= seconds:
                break
        cut = spoken.audio.samples[: int(seconds * spoken.audio.sample_rate)]
        _write_wav(Audio(cut, spoken.audio.sample_rate), str(folder / f"speech{i}.wav"))
        lines.append(f"mona.jpg,speech{i}.wav,{i},clip{i}.mp4")
    jobs_file = folder / "jobs.csv"
    jobs_file.write_text("\n".join(lines) + "\n")
    return jobs_file


def _one_process_per_clip(jobs_file: Path, out: Path, options: AnimateOptions, workers: int):
    jobs = read_jobs(jobs_file, options)

    def animate(job) -> None:
        command = [
            sys.executable, "-m", "gioconda", "animate", job.photo, job.audio, "-q",
            "--size", str(options.size), "--lipsync", options.lipsync,
            "--seed", str(job.options.motion.seed), "-o", str(out / job.output),
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)

    out.mkdir()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(animate, jobs))


def run_batch_bench(
    jobs: int = 20,
    seconds: float = 2.0,
    size: int = 256,
    lipsync: str = "combined",
    out: TextIO | None = None,
    progress: Progress = no_progress,
) -> dict[str, float]:
    """Run the three ways and print a table to ``out``; returns clips per minute by way.
    ``progress`` hears each way start and end ("bench batch: local batch, 2 workers")."""
    workers = usable_cpus()
    options = replace(AnimateOptions(), size=size, lipsync=lipsync)
    results: dict[str, float] = {}

    def say(line: str) -> None:
        if out is not None:
            print(line, file=out, flush=True)

    with tempfile.TemporaryDirectory(prefix="gioconda-bench-batch-") as scratch:
        folder = Path(scratch)
        jobs_file = _make_jobs(folder, jobs, seconds)
        say(f"{jobs} clips of {seconds:g} s at {size} px ({lipsync} lip sync), {workers} cores")
        say("| how | clips/minute | wall s |")
        say("|---|---|---|")

        stage = f"bench batch: {jobs} clips, one process per clip, {workers} at a time"
        progress(stage, 0, 1)
        start = time.perf_counter()
        _one_process_per_clip(jobs_file, folder / "processes", options, workers)
        wall = time.perf_counter() - start
        progress(stage, 1, 1)
        results["one process per clip"] = 60 * jobs / wall
        say(f"| one process per clip, {workers} at a time | {60 * jobs / wall:.1f} | {wall:.1f} |")

        stage = f"bench batch: {jobs} clips, local batch, {workers} workers"
        progress(stage, 0, 1)
        start = time.perf_counter()
        batch = read_jobs(jobs_file, options)
        run_batch(batch, folder / "local", LocalRunner(workers), log=None, progress=False)
        wall = time.perf_counter() - start
        progress(stage, 1, 1)
        results["local batch"] = 60 * jobs / wall
        say(f"| local batch, {workers} workers | {60 * jobs / wall:.1f} | {wall:.1f} |")

        try:
            import ray
        except ImportError:
            say("| Ray | not installed: pip install 'gioconda[ray]' | |")
            return results
        from gioconda.batch.on_ray import RayRunner

        stage = f"bench batch: {jobs} clips, Ray on this machine, {workers} CPUs"
        progress(stage, 0, 1)
        start = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        started = time.perf_counter() - start
        try:
            start = time.perf_counter()
            run_batch(batch, folder / "ray", RayRunner(), log=None, progress=False)
            wall = time.perf_counter() - start
        finally:
            ray.shutdown()
        progress(stage, 1, 1)
        results["ray"] = 60 * jobs / wall
        say(
            f"| Ray on this machine, {workers} CPUs (+{started:.1f} s to start Ray) | "
            f"{60 * jobs / wall:.1f} | {wall:.1f} |"
        )
    return results
