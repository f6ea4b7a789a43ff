"""The batch on a real Ray cluster started inside the test (nothing mocked): a worker killed
mid-clip is retried by Ray, the bad row is reported, the workers upload the videos to an
fsspec URL, nothing partial is left, and a rerun does nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import ray

from gioconda.batch import read_jobs, run_batch
from gioconda.batch.on_ray import RayRunner

from .conftest import BAD_OUTPUT, GOOD_OUTPUTS, TEST_DEFAULTS, check_outputs, crash_once


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory) -> Path:
    """A two-CPU Ray instance whose worker making ``sub/b.mp4`` dies at its 5th frame, once;
    yields the marker file the crash leaves."""
    marker = tmp_path_factory.mktemp("ray") / "crashed-once"
    # Set before Ray starts: its worker processes inherit the environment.
    with crash_once("sub/b.mp4", marker):
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield marker
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_ray_batch_retries_a_killed_worker(ray_cluster, batch_inputs, local_batch, tmp_path):
    out = tmp_path / "out"
    # An fsspec URL (to this disk, so that the test can look): the workers upload the videos.
    url = f"local://{out}"
    jobs = read_jobs(batch_inputs / "jobs.jsonl", TEST_DEFAULTS)
    report = run_batch(jobs, url, RayRunner(retries=2), log=None, progress=False)
    assert ray_cluster.exists()  # the worker died mid-clip; Ray ran the clip again
    check_outputs(out, report)
    # The same rows make the same videos on Ray as in a local batch.
    for name in GOOD_OUTPUTS:
        assert (out / name).read_bytes() == (local_batch / name).read_bytes(), name

    before = {name: (out / name).stat().st_mtime_ns for name in GOOD_OUTPUTS}
    again = run_batch(jobs, url, RayRunner(retries=2), log=None, progress=False)
    statuses = {r.job.output: r.status for r in again.results}
    assert statuses == {**dict.fromkeys(GOOD_OUTPUTS, "skipped"), BAD_OUTPUT: "failed"}
    assert {name: (out / name).stat().st_mtime_ns for name in GOOD_OUTPUTS} == before
    assert ray.is_initialized()  # a runner leaves a cluster it did not start running
