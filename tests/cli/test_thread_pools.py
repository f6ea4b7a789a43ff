"""The command's numeric libraries start with one-thread pools (see
:data:`gioconda.cli.app.SINGLE_THREADED_POOLS`), unless the user chose otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

from gioconda.cli.app import SINGLE_THREADED_POOLS

# A fresh interpreter: the command's entry point runs before NumPy and OpenCV load, as it does
# from the shell. It prints OpenCV's pool size and the BLAS setting OpenBLAS read.
_PROBE = """
import os, sys
from gioconda.cli import main
try:
    main(["--version"])
except SystemExit:  # argparse leaves after printing the version
    pass
import cv2, numpy
print(cv2.getNumThreads(), os.environ["OPENBLAS_NUM_THREADS"])
"""


def _probe(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SINGLE_THREADED_POOLS}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env={**clean, **env}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-2:]


def test_one_thread_per_pool_by_default() -> None:
    assert _probe() == ["1", "1"]


def test_the_users_own_settings_are_kept() -> None:
    assert _probe(OPENCV_FOR_THREADS_NUM="2", OPENBLAS_NUM_THREADS="2") == ["2", "2"]


def test_settings_that_are_not_whole_numbers_are_replaced() -> None:
    # OpenCV itself stopped with "stoull" deep inside the render on OPENCV_FOR_THREADS_NUM=inf.
    assert _probe(OPENCV_FOR_THREADS_NUM="inf", OPENBLAS_NUM_THREADS="-15,0") == ["1", "1"]
