"""``gioconda voices``: the voices ``--voice`` accepts."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("voices", help="list the voices that --voice accepts")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.speech import espeak, kokoro

    print("Kokoro (neural, English; blend as jm_kumo:0.7,jf_alpha:0.3):")
    print("\n".join(f"  {name}" for name in kokoro.list_voices()))
    print("eSpeak NG (about 100 languages; variants as en-us+f3):")
    print("\n".join(f"  {name}" for name in espeak.list_voices()))
    return 0
