"""Phones from recorded speech, behind one small interface.

A :class:`PhoneRecognizer` turns audio into contiguous phone segments
(:class:`~gioconda.visemes.PhoneSegment`). :class:`PocketSphinxRecognizer` decodes phones
with the English acoustic model that the ``pocketsphinx`` wheel carries (no download); our
own network (:class:`NetworkRecognizer`, :mod:`gioconda.visemenet`) is the second; the
default, :class:`CombinedRecognizer`, lets PocketSphinx's English words (language model and
dictionary) say what was said and the network say when.

Frame accuracy on 8 real recordings (7 of one Australian speaker, 1 CMU ARCTIC): all-phone
0.59, network 0.51, words placed by the network 0.70.

All-phone settings were chosen by measurement: share of 10 ms frames with the right viseme, on 40
eSpeak NG sentences (4 voices, exact timings from :mod:`gioconda.speech`) and on 7
hand-labelled recordings of a real speaker (Australian English); chance is about 0.1.

=================================  ======  =====  ========================
decoder                            eSpeak  real   seconds per audio second
=================================  ======  =====  ========================
PocketSphinx defaults (lw 6.5)     0.25    0.61   0.05
lw 2                               0.38    0.67   0.05
lw 1.5, noise floor (the default)  0.51    0.68   0.05
context-dependent phones           0.51    0.73   0.6-2
=================================  ======  =====  ========================

Beams, phone insertion penalty and top-N barely matter (within 0.01).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from gioconda.progress import Progress, no_progress
from gioconda.speech.align import combined_phones
from gioconda.speech.audio import Audio
from gioconda.speech.pocketsphinx import PocketSphinxRecognizer, PocketSphinxWordRecognizer
from gioconda.speech.transcript import WhisperRecognizer
from gioconda.speech.visemes import PhoneSegment


@runtime_checkable
class PhoneRecognizer(Protocol):
    """Anything that finds phones in speech."""

    #: Short identifier, e.g. for reports and command-line choices.
    name: str

    def recognize(self, audio: Audio, progress: Progress = no_progress) -> tuple[PhoneSegment, ...]:
        """Contiguous phone segments covering the whole audio; pauses have viseme ``"sil"``.
        ``progress`` hears the stages a recognizer reports (Whisper's reading and alignment;
        the others take a moment and report none)."""
        ...


class NetworkRecognizer:
    """Visemes from our own network (:mod:`gioconda.visemenet`): any language, any voice."""

    name = "network"

    def __init__(self) -> None:
        from gioconda.speech.visemenet import VisemeNet

        self._net = VisemeNet()

    def recognize(self, audio: Audio, progress: Progress = no_progress) -> tuple[PhoneSegment, ...]:
        return self._net(audio).to_phones()


class CombinedRecognizer:
    """English: PocketSphinx's words say what was said, our network says when.

    PocketSphinx decodes words with its English language model and pronouncing dictionary,
    which constrain the phones far more than all-phone decoding can; each word's dictionary
    visemes are then placed inside the span PocketSphinx gave the word by forced alignment
    on the network's posteriors (:func:`align_words`). A misheard word usually sounds like the
    right one, so its visemes are mostly right too. Where PocketSphinx hears no words at all
    (silence, humming, another language), the network's own path is used.
    """

    name = "combined"

    def __init__(self) -> None:
        from gioconda.speech.visemenet import VisemeNet

        self._net = VisemeNet()
        self._words = PocketSphinxWordRecognizer()

    def recognize(self, audio: Audio, progress: Progress = no_progress) -> tuple[PhoneSegment, ...]:
        return combined_phones(self._net(audio), self._words.words(audio))


#: The recognizers by name, as ``--lipsync`` spells them.
RECOGNIZERS: dict[str, type] = {
    "whisper": WhisperRecognizer,
    "combined": CombinedRecognizer,
    "network": NetworkRecognizer,
    "pocketsphinx": PocketSphinxRecognizer,
}
