"""The README and the command's help agree (issue 12): every flag the README's command examples
use is in that command's ``--help``, every flag the README names exists somewhere, and every
help shows its defaults."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from gioconda.cli.app import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"
#: A flag as help texts and the README write it: --long-name or -x.
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")
#: Flags the README shows for other tools: ``ray start --head``, ``--address HEAD:6379``.
OTHER_TOOLS_FLAGS = {"--head", "--address"}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


@cache
def all_parsers() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command's parser by its words: (), ("animate",), ("eval", "lipsync"), ..."""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(words: tuple[str, ...], parser: argparse.ArgumentParser) -> None:
        found[words] = parser
        for name, sub in _subparsers(parser).items():
            walk((*words, name), sub)

    walk((), build_parser())
    return found


def help_flags(parser: argparse.ArgumentParser) -> set[str]:
    """The flags a --help text shows, read from the text itself."""
    return set(_FLAG.findall(parser.format_help()))


def readme_commands() -> list[list[str]]:
    """Every ``gioconda ...`` command line in the README's shell blocks, as words, comments
    left out."""
    commands = []
    in_shell = False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            in_shell = line.strip() in ("```sh", "```bash", "```shell")
            continue
        words = shlex.split(line, comments=True) if in_shell else []
        if words and words[0].endswith("gioconda"):
            commands.append(words[1:])
    return commands


def split_command(words: list[str]) -> tuple[list[str], tuple[str, ...], list[str]]:
    """(flags before the command, the command's words, its flags) of a command line."""
    parsers = all_parsers()
    before = [w for w in words[: next(i for i, w in enumerate(words) if w[0] != "-")]]
    rest = words[len(before) :]
    command: tuple[str, ...] = ()
    while rest and (*command, rest[0]) in parsers:
        command = (*command, rest.pop(0))
    flags = [w.split("=")[0] for w in rest if _FLAG.fullmatch(w.split("=")[0])]
    return before, command, flags


def test_the_readme_shows_commands_of_every_kind():
    commands = {split_command(words)[1] for words in readme_commands()}
    for expected in [("animate",), ("reenact",), ("faces",), ("voices",), ("lipsync",),
                     ("eval", "lipsync"), ("bench",), ("batch",), ("serve",)]:  # fmt: skip
        assert expected in commands, expected


@pytest.mark.parametrize("words", readme_commands(), ids=lambda words: " ".join(words)[:60])
def test_each_readme_example_uses_flags_its_command_has(words, tmp_path, monkeypatch):
    before, command, flags = split_command(words)
    parsers = all_parsers()
    assert command in parsers and command != (), f"no such command: {words}"
    assert set(before) <= help_flags(parsers[()]), before
    missing = set(flags) - help_flags(parsers[command])
    assert not missing, f"gioconda {' '.join(command)} --help lacks {sorted(missing)}"
    # And the line parses as written (a value that looks like a flag, a missing argument...);
    # --controls is read while parsing, so the example's file is made here.
    from gioconda.cli.app import join_negative_values

    monkeypatch.chdir(tmp_path)
    (tmp_path / "keyframes.json").write_text("[]")
    build_parser().parse_args(join_negative_values([w for w in words if w not in ("-v",)]))


def test_every_flag_the_readme_names_exists():
    known = set().union(*(help_flags(p) for p in all_parsers().values()))
    text = README.read_text()
    # Flags in the README's prose and examples; -N options of other tools are not ours.
    named = {flag for flag in _FLAG.findall(text) if flag.startswith("--")} - OTHER_TOOLS_FLAGS
    assert named - known == set(), f"the README names flags no command has: {named - known}"


def test_every_help_shows_the_defaults_it_has():
    for words, parser in all_parsers().items():
        for action in parser._actions:
            if not action.option_strings or action.help in (None, argparse.SUPPRESS):
                continue
            if action.default in (None, False, argparse.SUPPRESS) or action.required:
                continue
            assert "default" in action.help, (words, action.option_strings, action.help)


def test_flags_read_from_the_options_show_none_in_words():
    """An option whose default is None shows what None means there, never 'None'."""
    for words, parser in all_parsers().items():
        assert "(default: None)" not in parser.format_help(), words


def test_help_runs_as_a_real_command():
    """The real command prints a help and exits 0 (one process: every other help is the
    parser's own text, checked above)."""
    run = subprocess.run([sys.executable, "-m", "gioconda", "animate", "--help"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0 and run.stderr == ""
    assert "--motion-out" in run.stdout and "(default: joe)" in run.stdout
