"""Progress in a log file: whole lines, a few per stage, no carriage returns (issue 12)."""

from __future__ import annotations

from gioconda.cli.progress import ProgressBars


def test_progress_in_a_log_is_four_lines_a_stage(capsys):
    with ProgressBars(quiet=False, terminal=False) as progress:
        for i in range(1, 531):
            progress("render", i, 530)
        for i in range(1, 11):
            progress("track", i, 10)
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert lines[:4] == [
        "gioconda: render 25% (133/530)",
        "gioconda: render 50% (265/530)",
        "gioconda: render 75% (398/530)",
        "gioconda: render 100% (530/530)",
    ]
    assert len(lines) == 8 and lines[-1] == "gioconda: track 100% (10/10)"


def test_quiet_is_silent(capsys):
    with ProgressBars(quiet=True, terminal=False) as progress:
        progress("render", 5, 5)
    assert capsys.readouterr().err == ""


def test_a_stage_reported_at_zero_says_it_started_once(capsys):
    """A stage may say it has begun (bench rows do, before their first run): one line, then
    its quarters as usual."""
    with ProgressBars(quiet=False, terminal=False) as progress:
        progress("bench render", 0, 3)
        progress("bench render", 0, 3)
        for run in range(1, 4):
            progress("bench render", run, 3)
    assert capsys.readouterr().err.splitlines() == [
        "gioconda: bench render 0% (0/3)",
        "gioconda: bench render 33% (1/3)",
        "gioconda: bench render 66% (2/3)",
        "gioconda: bench render 100% (3/3)",
    ]
