"""The CLI's flags are the option dataclasses' fields: one default, one range, one help."""

from __future__ import annotations

import dataclasses

import pytest

from gioconda.cli.animate import options
from gioconda.cli.app import build_parser, join_negative_values, main
from gioconda.errors import GiocondaError
from gioconda.motion.controls import MotionControls
from gioconda.pipeline import LIPSYNC_METHODS, AnimateOptions
from gioconda.speech.recognize import RECOGNIZERS


def parse(*argv: str):
    return build_parser().parse_args(join_negative_values(["animate", "p.jpg", "a.wav", *argv]))


def test_no_flags_give_the_dataclasses_defaults() -> None:
    assert options(parse("-o", "x.mp4")) == AnimateOptions()


def test_flags_set_the_fields_they_name() -> None:
    got = options(parse("-o", "x.mp4", "--fps", "30", "--no-label", "--full-frame",
                        "--gaze", "-15,0", "--seed", "4", "--max-audio-seconds", "9"))  # fmt: skip
    assert (got.fps, got.label, got.full_frame, got.max_audio_s) == (30.0, False, True, 9.0)
    assert got.motion == MotionControls(seed=4, gaze=(-15.0, 0.0))


def test_help_shows_each_default_from_the_dataclass(capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["animate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for field in dataclasses.fields(AnimateOptions):
        if isinstance(field.default, int | float | str) and not isinstance(field.default, bool):
            assert f"(default: {field.default})" in text, field.name
    assert "(default: camera)" in text and "(default: 17.0)" in text


def test_out_of_range_values_are_refused_where_the_options_are_made() -> None:
    for bad in ({"size": 0}, {"fps": float("nan")}, {"max_audio_s": float("inf")},
                {"max_audio_s": -1.0}, {"face": -1}, {"lipsync": "telepathy"}):  # fmt: skip
        with pytest.raises(GiocondaError):
            AnimateOptions(**bad)


def test_every_recognizer_is_a_lipsync_choice() -> None:
    assert set(RECOGNIZERS) | {"loudness"} == set(LIPSYNC_METHODS)


def test_a_bad_flag_value_is_one_line_and_exit_2(capsys) -> None:
    assert main(["animate", "p.jpg", "a.wav", "-o", "x.mp4", "--size", "7"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "gioconda: error: --size must be between 64 and 4096, got 7"


def test_quiet_before_the_command_belongs_to_it(capsys) -> None:
    """`gioconda -q bench ...` reads as `gioconda bench -q ...` (as -v works anywhere): the
    error is bench's own, not an unknown -q."""
    assert main(["-q", "bench", "--seconds", "nan"]) == 2
    err = capsys.readouterr().err
    assert "--seconds" in err and "unrecognized" not in err
