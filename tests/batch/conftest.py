"""Inputs for the batch tests: the bundled portrait, a photo with no face, two short
recordings (eSpeak NG, written as WAV) and a keyframe file, with a jobs file over them."""

from __future__ import annotations

import json
import os
import shutil
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from importlib import resources
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from gioconda.batch import LocalRunner, read_jobs, run_batch
from gioconda.batch.manifest import MANIFEST_NAME
from gioconda.batch.worker import CRASH_ENV
from gioconda.pipeline import AnimateOptions
from gioconda.speech.espeak import synthesize

#: Rows of the shared jobs file: three good, one bad (no face in the photo). Tiny clips.
JOB_ROWS = [
    {"photo": "mona.jpg", "audio": "hi.wav", "seed": 1, "output": "a.mp4", "emotion": "happy"},
    {"photo": "mona.jpg", "audio": "day.wav", "seed": 2, "output": "sub/b.mp4",
     "controls": "keys.json"},
    {"photo": "blank.png", "audio": "hi.wav", "seed": 3, "output": "c.mp4"},
    {"photo": "mona.jpg", "text": "Good.", "voice": "en-us", "seed": 4, "output": "d.mp4"},
]  # fmt: skip
#: The rows that make a video, and the one that does not.
GOOD_OUTPUTS = ("a.mp4", "sub/b.mp4", "d.mp4")
BAD_OUTPUT = "c.mp4"


@contextmanager
def crash_once(output: str, marker: Path) -> Iterator[None]:
    """Workers started inside the block kill themselves (``os._exit``) at the 5th frame of
    ``output``, the first time (when ``marker`` does not exist yet; it is then created)."""
    previous = os.environ.get(CRASH_ENV)
    os.environ[CRASH_ENV] = f"{output}:5:{marker}"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[CRASH_ENV]
        else:
            os.environ[CRASH_ENV] = previous


def manifest_entries(out: Path) -> dict[str, dict]:
    """The manifest's entries by output name, read as a user would (a JSON Lines file)."""
    lines = (out / MANIFEST_NAME).read_text().splitlines()
    assert json.loads(lines[0])["format"] == "gioconda-batch-manifest"
    entries = [json.loads(line) for line in lines[1:]]
    return {entry.pop("output"): entry for entry in entries}


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    pcm = np.clip(samples * 32767, -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


@pytest.fixture(scope="session")
def batch_inputs(tmp_path_factory) -> Path:
    """A folder with the inputs and ``jobs.jsonl`` (JOB_ROWS) in it."""
    folder = tmp_path_factory.mktemp("batch-inputs")
    with resources.as_file(resources.files("gioconda") / "assets" / "mona_lisa.jpg") as mona:
        shutil.copy(mona, folder / "mona.jpg")
    Image.fromarray(np.full((160, 160, 3), 120, np.uint8)).save(folder / "blank.png")
    for name, text in (("hi.wav", "Hi."), ("day.wav", "Good day.")):
        spoken = synthesize(text)
        write_wav(folder / name, spoken.audio.samples, spoken.audio.sample_rate)
    keys = [{"time": 0.2, "control": "gaze", "value": [-20, 0]}]
    (folder / "keys.json").write_text(json.dumps(keys))
    lines = [json.dumps(row) for row in JOB_ROWS]
    (folder / "jobs.jsonl").write_text("\n".join(lines) + "\n")
    return folder


#: Tiny clips: what is tested is the batch, not the render.
TEST_DEFAULTS = replace(AnimateOptions(), size=128, lipsync="network")


def decoded(path: Path) -> tuple[int, float]:
    """(video frames, audio seconds) of an MP4, as PyAV decodes it."""
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(str(path)) as container:
        samples = sum(f.samples for f in container.decode(audio=0))
        rate = container.streams.audio[0].rate
    return frames, samples / rate


def check_outputs(out: Path, report) -> None:
    """The good rows are whole, playable videos in the manifest; the bad one is reported."""
    by_output = {r.job.output: r for r in report.results}
    assert by_output[BAD_OUTPUT].status == "failed"
    assert "no face" in by_output[BAD_OUTPUT].reason
    manifest = manifest_entries(out)
    assert sorted(manifest) == sorted(GOOD_OUTPUTS)
    for name in GOOD_OUTPUTS:
        assert by_output[name].status == "done", by_output[name]
        frames, seconds = decoded(out / name)
        assert frames == manifest[name]["frames"] == by_output[name].frames
        assert abs(seconds - frames / TEST_DEFAULTS.fps) < 0.1
        assert manifest[name]["bytes"] == (out / name).stat().st_size
    # Nothing partial: the videos, the manifest and the sub-folder, nothing else.
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert left == sorted([*GOOD_OUTPUTS, MANIFEST_NAME, "sub"])


@pytest.fixture(scope="session")
def local_batch(batch_inputs: Path, tmp_path_factory) -> Path:
    """The shared jobs run as a local batch on two workers; the worker making ``a.mp4`` is
    killed at its 5th frame on its first try."""
    out = tmp_path_factory.mktemp("local") / "out"
    marker = out.parent / "crashed-once"
    jobs = read_jobs(batch_inputs / "jobs.jsonl", TEST_DEFAULTS)
    with crash_once("a.mp4", marker):
        report = run_batch(jobs, out, LocalRunner(2), log=None, progress=False)
    assert marker.exists()  # the worker did die, and the clip was made again
    check_outputs(out, report)
    assert not report.ok and report.count("done") == 3 and report.count("failed") == 1
    return out
