"""The bench's whole-job memory: a forked child's own pages count, shared pages count once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from gioconda.eval.bench import _job_kb

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# A parent that touches 200 MB, then forks a child that touches 100 MB of its own and waits.
_SCRIPT = """
import os, sys, time
import numpy as np
shared = np.ones(200 * 2**20 // 8)
if os.fork() == 0:
    own = np.ones(100 * 2**20 // 8)
    print("ready", flush=True)
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


def test_a_forked_childs_own_pages_count_and_shared_pages_once() -> None:
    with subprocess.Popen([sys.executable, "-c", _SCRIPT], stdout=subprocess.PIPE, text=True) as p:
        try:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
            time.sleep(0.2)
            total_mb = _job_kb(p.pid) / 1024
            with open(f"/proc/{p.pid}/status") as status:
                parent_mb = (
                    next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
                    / 1024
                )
        finally:
            p.kill()
    # The parent's 200 MB, shared with the child, count once (in the parent's resident set);
    # the child's own 100 MB count too.
    assert parent_mb >= 200
    assert parent_mb + 90 <= total_mb <= parent_mb + 100 + 40
