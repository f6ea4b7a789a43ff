"""What the ``gioconda`` command loads before it runs one: not the packages only some stages
use (SciPy's signal and optimize packages cost 0.5-0.8 s of every start, on one core)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_parser_loads_no_signal_or_optimize_package() -> None:
    code = (
        "import json, sys\n"
        "from gioconda.cli.app import build_parser\n"
        "build_parser().parse_args(['animate', 'photo.jpg', 'speech.wav', '-o', 'out.mp4'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('scipy.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    assert "scipy.ndimage" in loaded  # (the renderer's, loaded with the pipeline: a real check)
    assert not {"scipy.signal", "scipy.optimize", "scipy.stats"} & loaded
