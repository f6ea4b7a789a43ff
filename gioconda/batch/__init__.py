"""Many videos from a table of jobs, on this machine's cores or on a Ray cluster.

``gioconda batch JOBS.csv -o OUTDIR`` (see :mod:`gioconda.batch.jobs` for the columns):

- :func:`~gioconda.batch.jobs.read_jobs` reads and checks every row before anything runs;
- :func:`~gioconda.batch.run.run_batch` skips what the manifest
  (:mod:`gioconda.batch.manifest`) says is done, runs the rest on a
  :class:`~gioconda.batch.local.LocalRunner` or :class:`~gioconda.batch.on_ray.RayRunner`,
  and moves each finished video into place (:mod:`gioconda.batch.store`).
"""

from gioconda.batch.jobs import Job, JobsFileError, read_jobs
from gioconda.batch.local import LocalRunner
from gioconda.batch.run import BatchReport, JobResult, run_batch, summary_table

__all__ = [
    "BatchReport",
    "Job",
    "JobResult",
    "JobsFileError",
    "LocalRunner",
    "read_jobs",
    "run_batch",
    "summary_table",
]
