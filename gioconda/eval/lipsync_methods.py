"""The lip-sync methods the evaluation compares (loudness, PocketSphinx, our network, combined, the
synthesizer's own timings) and the network weights it scores.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.eval.speech_sets import EvalClip
from gioconda.speech.align import RecognizedWord, combined_phones
from gioconda.speech.audio import MEL_BANDS
from gioconda.speech.sphinx_align import SphinxAligner
from gioconda.speech.transcript import transcript_phones
from gioconda.speech.visemenet import (
    BLOCK_DILATIONS,
    BLOCK_KERNEL,
    FIRST_KERNEL,
    WEIGHTS_FILE,
    VisemeNet,
    VisemePosteriors,
    load_weights,
)
from gioconda.speech.visemes import VISEMES, PhoneSegment
from gioconda.speech.whisper import HeardSpeech

if TYPE_CHECKING:
    from gioconda.speech.pocketsphinx import PocketSphinxRecognizer, PocketSphinxWordRecognizer
    from gioconda.speech.whisper import WhisperListener

#: Width of the network (``training/model.py`` VisemeNetTorch's default), for untrained weights.
_NETWORK_CHANNELS = 96


def untrained_network_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights of the viseme network's shapes (PyTorch's default initialization).

    For developing and testing the evaluation before trained weights exist; its scores say
    nothing about the network.
    """
    rng = np.random.default_rng(seed)
    c = _NETWORK_CHANNELS

    def linear(name: str, n_out: int, n_in: int) -> dict[str, np.ndarray]:
        bound = 1.0 / math.sqrt(n_in)
        return {
            f"{name}.weight": rng.uniform(-bound, bound, (n_out, n_in)),
            f"{name}.bias": rng.uniform(-bound, bound, n_out),
        }

    def depthwise(name: str, kernel: int) -> dict[str, np.ndarray]:
        return {f"{name}.weight": rng.standard_normal((c, kernel)) / math.sqrt(kernel),
                f"{name}.bias": np.zeros(c)}  # fmt: skip

    def norm(name: str) -> dict[str, np.ndarray]:
        return {f"{name}.weight": np.ones(c), f"{name}.bias": np.zeros(c)}

    weights = {**linear("input", c, MEL_BANDS), **depthwise("front", FIRST_KERNEL)}
    for i in range(len(BLOCK_DILATIONS)):
        weights |= norm(f"blocks.{i}.norm") | depthwise(f"blocks.{i}.conv", BLOCK_KERNEL)
        weights |= linear(f"blocks.{i}.expand", 2 * c, c) | linear(f"blocks.{i}.project", c, 2 * c)
    weights |= norm("head_norm") | linear("head", len(VISEMES), c)
    return {k: v.astype(np.float32) for k, v in weights.items()}


def load_network(weights: str | os.PathLike[str] | None = None) -> tuple[VisemeNet, str]:
    """The viseme network to evaluate, and a line saying which weights it has.

    ``weights`` is an ``.npz`` file; None takes the shipped ``gioconda/assets/visemenet.npz``,
    or, where that does not exist yet, :func:`untrained_network_weights` (and says so).
    """
    if weights is not None:
        path = Path(weights)
        return VisemeNet(load_weights(path)), f"{path} (sha1 {_file_sha1(path)})"
    shipped = resources.files("gioconda") / "assets" / WEIGHTS_FILE
    if shipped.is_file():
        with resources.as_file(shipped) as path:
            return VisemeNet(), f"shipped {WEIGHTS_FILE} (sha1 {_file_sha1(path)})"
    return (
        VisemeNet(untrained_network_weights()),
        f"UNTRAINED random weights (no {WEIGHTS_FILE} shipped): network scores are meaningless",
    )


def _file_sha1(path: str | os.PathLike[str]) -> str:
    try:
        return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]
    except OSError as error:
        raise GiocondaError(f"cannot read {path}: {error}") from None


class PhoneEstimators:
    """The audio-to-phone tools, loaded once, with the current clip's results kept for reuse."""

    def __init__(self, network: VisemeNet) -> None:
        self.network = network
        self._recognizer: PocketSphinxRecognizer | None = None
        self._word_recognizer: PocketSphinxWordRecognizer | None = None
        self._listener: WhisperListener | None = None
        self._memo: dict[tuple[str, str], object] = {}

    def start_clip(self) -> None:
        """Forget the previous clip's results."""
        self._memo.clear()

    def recognized(self, clip: EvalClip) -> tuple[PhoneSegment, ...]:
        """PocketSphinx's phones of the clip."""
        key = ("pocketsphinx", clip.utterance.key)
        if key not in self._memo:
            if self._recognizer is None:
                from gioconda.speech.pocketsphinx import PocketSphinxRecognizer

                self._recognizer = PocketSphinxRecognizer()
            self._memo[key] = tuple(self._recognizer.recognize(clip.audio))
        return self._memo[key]  # type: ignore[return-value]

    def words(self, clip: EvalClip) -> tuple[RecognizedWord, ...]:
        """PocketSphinx's words in the clip."""
        key = ("words", clip.utterance.key)
        if key not in self._memo:
            if self._word_recognizer is None:
                from gioconda.speech.pocketsphinx import PocketSphinxWordRecognizer

                self._word_recognizer = PocketSphinxWordRecognizer()
            self._memo[key] = self._word_recognizer.words(clip.audio)
        return self._memo[key]  # type: ignore[return-value]

    def heard(self, clip: EvalClip) -> HeardSpeech:
        """Whisper's words in the clip (language detected) and its speech spans."""
        key = ("whisper", clip.utterance.key)
        if key not in self._memo:
            if self._listener is None:
                from gioconda.speech.whisper import WhisperListener

                self._listener = WhisperListener()
            self._memo[key] = self._listener.listen(clip.audio)
        return self._memo[key]  # type: ignore[return-value]

    def posteriors(self, clip: EvalClip) -> VisemePosteriors:
        """The network's viseme posteriors for the clip."""
        key = ("network", clip.utterance.key)
        if key not in self._memo:
            self._memo[key] = self.network(clip.audio)
        return self._memo[key]  # type: ignore[return-value]


@dataclass(frozen=True)
class LipSyncMethod:
    """One way of driving the mouth from audio: a row of the table.

    Attributes
    ----------
    name: the row's name
    english_only: n/a on other languages
    estimate: the clip's phones, or None for loudness-only lip sync
    """

    name: str
    english_only: bool
    estimate: Callable[[PhoneEstimators, EvalClip], tuple[PhoneSegment, ...] | None]


METHODS: tuple[LipSyncMethod, ...] = (
    LipSyncMethod("loudness", False, lambda tools, clip: None),
    LipSyncMethod("pocketsphinx", True, lambda tools, clip: tools.recognized(clip)),
    LipSyncMethod("network", False, lambda tools, clip: tools.posteriors(clip).to_phones()),
    LipSyncMethod(
        "combined",
        True,
        lambda tools, clip: combined_phones(tools.posteriors(clip), tools.words(clip)),
    ),
    LipSyncMethod(
        "whisper",
        False,
        lambda tools, clip: transcript_phones(
            tools.posteriors(clip), tools.heard(clip), clip.audio, SphinxAligner.shared()
        ),
    ),
    # The default before English words were placed by PocketSphinx: all on our network.
    LipSyncMethod(
        "whisper-network",
        False,
        lambda tools, clip: transcript_phones(
            tools.posteriors(clip), tools.heard(clip), clip.audio
        ),
    ),
    LipSyncMethod("tts", False, lambda tools, clip: clip.truth),
)


METHOD_NAMES: tuple[str, ...] = tuple(m.name for m in METHODS)
#: The rows of a run that names none: every method but the old alignment without
#: PocketSphinx's timing (``whisper-network``, a row to compare with on request).
DEFAULT_METHOD_NAMES: tuple[str, ...] = tuple(n for n in METHOD_NAMES if n != "whisper-network")
