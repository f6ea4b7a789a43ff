"""Work begun before the command line is parsed.

Building the parser imports the whole program (about a second on two cores: SciPy, OpenCV,
PyAV, the renderer), and nothing in that needs Whisper's models, which take about as long to
load and mostly without Python's lock. So ``gioconda animate`` of a recording starts loading
them at once, from a first look at its arguments; the parser checks them properly after. A
guess that turns out wrong (a line argparse refuses) costs a second of a core, nothing else.
"""

from __future__ import annotations

#: Flags after which ``animate`` reads no recording with Whisper, or needs no models yet.
_NO_RECOGNITION = ("--text", "--motion", "--transcript", "-h", "--help")


def start(arguments: list[str]) -> None:
    """Start loading the Whisper models ``arguments`` (``sys.argv[1:]``) will need, if any."""
    if not arguments or arguments[0] != "animate":
        return
    flags = {a.split("=", 1)[0] for a in arguments[1:]}
    if flags.intersection(_NO_RECOGNITION):
        return
    if _value(arguments, "--lipsync") not in (None, "whisper"):
        return
    from gioconda.speech.whisper import WhisperListener, models_needed

    WhisperListener.shared().preload(models_needed(_value(arguments, "--language")))


def _value(arguments: list[str], flag: str) -> str | None:
    """The value of ``flag`` (``--flag VALUE`` or ``--flag=VALUE``), the last one given."""
    value = None
    for i, arg in enumerate(arguments):
        if arg == flag and i + 1 < len(arguments):
            value = arguments[i + 1]
        elif arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
    return value
