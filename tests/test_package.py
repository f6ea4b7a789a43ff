"""The package's shape: a public surface in ``gioconda``, and a runtime that never loads the
evaluation."""

from __future__ import annotations

import subprocess
import sys

import gioconda


def test_the_runtime_loads_no_evaluation_code() -> None:
    # A fresh interpreter: this test session has imported gioconda.eval for other tests.
    code = (
        "import sys, gioconda.pipeline, gioconda.cli.app;"
        "from gioconda import animate, render_frames, load_portrait;"
        "print(sorted(m for m in sys.modules if m.startswith('gioconda.eval')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_import_gioconda_is_light() -> None:
    code = "import sys, gioconda; print('cv2' in sys.modules, 'mediapipe' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_public_name_resolves() -> None:
    for name in gioconda.__all__:
        assert getattr(gioconda, name) is not None, name
