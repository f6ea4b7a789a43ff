"""A local batch end to end: real worker processes, one of them killed mid-clip."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gioconda.batch import LocalRunner, read_jobs, run_batch, summary_table
from gioconda.batch.manifest import MANIFEST_NAME
from gioconda.batch.store import PARTIAL_DIR
from gioconda.pipeline import animate

from .conftest import BAD_OUTPUT, GOOD_OUTPUTS, TEST_DEFAULTS, manifest_entries


@pytest.mark.slow
def test_local_batch_survives_a_dead_worker_and_a_bad_row(local_batch: Path):
    assert (local_batch / "a.mp4").is_file()


@pytest.mark.slow
def test_a_rerun_does_nothing_but_the_failed_row(local_batch: Path, batch_inputs: Path):
    before = {name: (local_batch / name).stat().st_mtime_ns for name in GOOD_OUTPUTS}
    jobs = read_jobs(batch_inputs / "jobs.jsonl", TEST_DEFAULTS)
    report = run_batch(jobs, local_batch, LocalRunner(2), log=None, progress=False)
    statuses = {r.job.output: r.status for r in report.results}
    assert statuses == {**dict.fromkeys(GOOD_OUTPUTS, "skipped"), BAD_OUTPUT: "failed"}
    assert {name: (local_batch / name).stat().st_mtime_ns for name in GOOD_OUTPUTS} == before
    table = summary_table(report)
    assert "| 3 | c.mp4 | failed: no face found" in table
    assert "4 jobs in" in table and "3 skipped, 1 failed" in table


@pytest.mark.slow
def test_a_row_gives_the_same_video_alone(local_batch: Path, batch_inputs: Path, tmp_path):
    jobs = {job.output: job for job in read_jobs(batch_inputs / "jobs.jsonl", TEST_DEFAULTS)}
    job = jobs["sub/b.mp4"]
    alone = tmp_path / "b.mp4"
    animate(job.photo, alone, job.audio, job.text, job.options)
    assert alone.read_bytes() == (local_batch / "sub/b.mp4").read_bytes()
    # eSpeak NG carries state from one utterance to the next, and this process has spoken
    # already: the text row is compared with `gioconda animate` in a process of its own.
    alone = tmp_path / "d.mp4"
    command = [sys.executable, "-m", "gioconda", "animate", job.photo, "--text", "Good.",
               "--voice", "en-us", "--seed", "4", "--size", "128", "-o", str(alone)]  # fmt: skip
    subprocess.run(command, check=True, timeout=300)
    assert alone.read_bytes() == (local_batch / "d.mp4").read_bytes()


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_the_manifest_intact(batch_inputs: Path, tmp_path: Path):
    rows = [
        {"photo": "mona.jpg", "audio": "day.wav", "seed": seed, "output": f"v{seed}.mp4"}
        for seed in range(4)
    ]
    jobs_file = tmp_path / "many.jsonl"
    jobs_file.write_text("".join(json.dumps(row) + "\n" for row in rows))
    for name in ("mona.jpg", "day.wav"):
        (tmp_path / name).symlink_to(batch_inputs / name)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "gioconda", "batch", str(jobs_file), "-o", str(out),
               "--size", "128", "--lipsync", "network", "--workers", "2"]  # fmt: skip
    batch = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)  # fmt: skip
    # Interrupt once the first video is in place, while others are being made.
    deadline = time.monotonic() + 120
    while not (out / MANIFEST_NAME).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(batch.pid, signal.SIGINT)  # as Ctrl-C: the whole process group
    stdout, stderr = batch.communicate(timeout=60)
    assert batch.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    manifest = manifest_entries(out)
    videos = sorted(str(p.relative_to(out)) for p in out.glob("*.mp4"))
    assert 1 <= len(manifest) < len(rows) and sorted(manifest) == videos
    assert not (out / PARTIAL_DIR).exists()
    assert "not run: interrupted" in stdout
    # The rest is made by the next run; what was done is not made again.
    done = {name: (out / name).stat().st_mtime_ns for name in manifest}
    again = subprocess.run([*command, "-q"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.glob("*.mp4")) == sorted(r["output"] for r in rows)
    assert {name: (out / name).stat().st_mtime_ns for name in done} == done
