"""``gioconda voices``: the voices ``--voice`` accepts."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("voices", help="list the voices that --voice accepts")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.speech import espeak, kokoro, piper

    if piper.list_voices():
        print("Piper (neural; also piper:NAME):")
        print("\n".join(f"  {name:<16}{piper.PIPER_ACCENTS[name]}" for name in piper.list_voices()))

    # Language and accent, so nobody is surprised: Kokoro's packaged voices are Japanese
    # speakers, reading English phonemes (gioconda/speech/kokoro.py).
    print(
        "Kokoro (neural; language: English, accent: Japanese speakers reading English; "
        "blend as jm_kumo:0.7,jf_alpha:0.3):"
    )
    print("\n".join(f"  {name}" for name in kokoro.list_voices()))
    print(
        "eSpeak NG (formant synthesis, robotic; about 100 languages, each in its own accent: "
        "en-us American, en-gb British, ...; variants as en-us+f3):"
    )
    print("\n".join(f"  {name}" for name in espeak.list_voices()))
    return 0
