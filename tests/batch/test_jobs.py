"""The jobs file is read and checked in full before anything runs; the manifest's keys."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from gioconda.batch.jobs import JobsFileError, read_jobs
from gioconda.batch.manifest import FileDigests, Manifest, job_key
from gioconda.batch.store import OutputStore
from gioconda.cli.app import main
from gioconda.errors import GiocondaError
from gioconda.pipeline import AnimateOptions

from .conftest import JOB_ROWS


def test_csv_and_jsonl_give_the_same_jobs(batch_inputs: Path, tmp_path: Path):
    columns = ["photo", "audio", "text", "voice", "seed", "output", "emotion", "controls"]
    lines = [",".join(columns)]
    for row in JOB_ROWS:
        lines.append(",".join(str(row.get(column, "")) for column in columns))
    csv_path = batch_inputs / "jobs-copy.csv"
    csv_path.write_text("\n".join(lines) + "\n")
    from_csv = read_jobs(csv_path)
    from_jsonl = read_jobs(batch_inputs / "jobs.jsonl")
    assert from_csv == from_jsonl
    assert [job.row for job in from_csv] == [1, 2, 3, 4]
    # Paths are taken from the jobs file's folder; row values override the defaults.
    first, second = from_csv[0], from_csv[1]
    assert first.photo == str((batch_inputs / "mona.jpg").resolve())
    assert first.options.motion.emotion == "happy" and first.options.motion.seed == 1
    assert second.options.motion.keyframes[0].value == (-20.0, 0.0)
    assert from_csv[3].text == "Good." and from_csv[3].audio is None


def test_defaults_fill_what_a_row_leaves_out(batch_inputs: Path):
    defaults = replace(AnimateOptions(), size=128, lipsync="network")
    jobs = read_jobs(batch_inputs / "jobs.jsonl", defaults)
    assert {job.options.size for job in jobs} == {128}
    assert {job.options.lipsync for job in jobs} == {"network"}


def test_every_problem_is_reported_with_its_row(batch_inputs: Path):
    (batch_inputs / "broken.json").write_text("[{]")
    rows = [
        {"photo": "missing.jpg", "audio": "hi.wav"},
        {"photo": "mona.jpg", "audio": "hi.wav", "text": "both"},
        {"photo": "mona.jpg"},
        {"photo": "mona.jpg", "text": "x", "emotion": "glad", "gaze": "90,0", "seed": "x"},
        {"photo": "mona.jpg", "text": "x", "fps": 500, "lipsync": "magic", "size": 10},
        {"photo": "mona.jpg", "text": "x", "controls": "broken.json", "output": "../up.mp4"},
        {"photo": "mona.jpg", "text": "x", "output": "same.mp4"},
        {"photo": "mona.jpg", "text": "x", "output": "SAME.mp4"},
        {"photo": "mona.jpg", "text": "x", "colour": "red"},
        {"photo": "mona.jpg", "text": "fine"},
    ]
    jobs_file = batch_inputs / "bad.jsonl"
    jobs_file.write_text("\n".join(json.dumps(row) for row in rows) + "\nnot json\n")
    with pytest.raises(JobsFileError) as caught:
        read_jobs(jobs_file)
    problems = caught.value.problems
    expected = {
        1: ["photo not found"],
        2: ["audio or text, not both"],
        3: ["no audio or text"],
        4: ["unknown emotion 'glad'", "gaze yaw must be within", "seed must be an integer"],
        5: ["fps must be between 1 and 120", "lipsync must be one of", "size must be between"],
        6: ["not valid JSON", "output must be a name under the output folder"],
        8: ["output SAME.mp4 is also row 7's"],
        9: ["unknown column(s) colour"],
        11: ["not valid JSON"],
    }
    for row, parts in expected.items():
        mine = [p for p in problems if p.startswith(f"row {row}:")]
        for part in parts:
            assert any(part in p for p in mine), (row, part, mine)
    assert not any(p.startswith(("row 7:", "row 10:")) for p in problems)
    assert len(problems) == sum(len(parts) for parts in expected.values())
    # One message, every problem on its own line, nothing run.
    assert str(caught.value).count("\n") == len(problems)


def test_batch_command_refuses_a_bad_jobs_file_before_running(batch_inputs, tmp_path, capsys):
    jobs_file = batch_inputs / "bad.csv"
    jobs_file.write_text("photo,text,emotion\nmissing.jpg,Hi,happy\nmona.jpg,,glad\n")
    out = tmp_path / "out"
    assert main(["batch", str(jobs_file), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "3 problems in 2 rows, nothing was run" in err and "row 1: photo not found" in err
    assert "row 2: no audio or text" in err and "row 2: unknown emotion 'glad'" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_header_problems_and_unknown_suffix(batch_inputs: Path):
    jobs_file = batch_inputs / "header.csv"
    jobs_file.write_text("audio,colour\nhi.wav,red\n")
    with pytest.raises(JobsFileError, match=r"unknown column.*colour") as caught:
        read_jobs(jobs_file)
    assert any("no photo column" in p for p in caught.value.problems)
    (batch_inputs / "jobs.txt").write_text("photo\n")
    with pytest.raises(GiocondaError, match=r"\.csv or \.jsonl"):
        read_jobs(batch_inputs / "jobs.txt")


def test_job_key_follows_content_and_settings(batch_inputs: Path, tmp_path: Path):
    jobs = read_jobs(batch_inputs / "jobs.jsonl")
    digests = FileDigests()
    first = jobs[0]
    key = job_key(first, digests)
    assert job_key(first, FileDigests()) == key  # the same inputs, the same key
    reseeded = replace(first, options=replace(first.options, motion=replace(
        first.options.motion, seed=9)))  # fmt: skip
    assert job_key(reseeded, digests) != key
    assert job_key(replace(first, output="elsewhere.mp4"), digests) == key
    # The photo's bytes count, not its name.
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(Path(first.photo).read_bytes())
    assert job_key(replace(first, photo=str(copy)), FileDigests()) == key
    copy.write_bytes(copy.read_bytes() + b"\0")
    assert job_key(replace(first, photo=str(copy)), FileDigests()) != key
    # The manifest counts a file done only with the same key and the recorded size.
    store = OutputStore(tmp_path / "out")
    (tmp_path / "out" / "a.mp4").write_bytes(b"12345")
    manifest = Manifest()
    manifest.record(store, "a.mp4", key, 5, 10, 1)
    again = Manifest.load(store)
    assert again.is_done("a.mp4", key, store)
    assert not again.is_done("a.mp4", job_key(reseeded, digests), store)
    (tmp_path / "out" / "a.mp4").write_bytes(b"123")
    assert not again.is_done("a.mp4", key, store)
    store.close()
