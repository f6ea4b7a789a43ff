"""Inputs for the batch tests: the bundled portrait, a photo with no face, two short
recordings (eSpeak NG, written as WAV) and a keyframe file, with a jobs file over them."""

from __future__ import annotations

import json
import shutil
import wave
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

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
