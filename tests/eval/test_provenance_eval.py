"""``gioconda eval provenance`` as a long run needs it: finished tasks kept and not redone, a
failing task reported with its name instead of ending the run."""

from __future__ import annotations

import json

from gioconda.eval.provenance import (
    _STILL_GROUPS,
    ProvenanceEvalOptions,
    _run_task,
    _Task,
    format_table,
    run_provenance_eval,
)


def test_a_bad_picture_is_reported_not_raised():
    result = _run_task(_Task("still", "no_such_picture", _STILL_GROUPS[1]), 3.4, True, "")
    assert "no_such_picture" in result["error"] and "outcomes" not in result


def test_a_rerun_takes_finished_tasks_from_the_cache(tmp_path):
    # No clips: the quick run's two photos as still videos (cropped and whole) are the work.
    options = ProvenanceEvalOptions(clips=0, quick=True, workers=1, cache=tmp_path)
    lines: list[str] = []
    first = run_provenance_eval(options, log=lines.append)
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [
        "still-photo-0.json",
        "still-photo-1.json",
    ]
    assert len(lines) == 2 and all("false 0/2" in line for line in lines)
    stills = first.unmarked[3]
    assert stills.total == 4 and stills.hits == 0

    again: list[str] = []
    second = run_provenance_eval(options, log=again.append)
    assert again == [f"2 of 2 tasks already done (cache {tmp_path})"]
    assert second.unmarked[3].scores == stills.scores
    assert second.unmarked[3].home_scores == stills.home_scores

    # An outcome stored by other code (another version of the watermark) is done again.
    path = tmp_path / "still-photo-0.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": "other"}))
    third: list[str] = []
    run_provenance_eval(options, log=third.append)
    assert third[0].startswith("1 of 2 tasks already done") and "still-photo-0" in third[1]
    assert "| photos as still videos | 0/4 |" in format_table(second)
