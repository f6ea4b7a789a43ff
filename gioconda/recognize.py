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

import math
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from pocketsphinx import Decoder, get_model_path

from gioconda.audio import Audio, resample
from gioconda.timeline import ANALYSIS_SAMPLE_RATE, FEATURE_HOP_S
from gioconda.visemenet import VisemePosteriors, path_to_phones
from gioconda.visemes import VISEME_INDEX, PhoneSegment, arpabet_to_viseme

# PocketSphinx frame f is a 25.6 ms window that starts at f * 10 ms: it stands for the
# window's centre, so a boundary between frames f-1 and f lies at f * 10 ms + 7.8 ms.
_FRAME_S = 0.010
_BOUNDARY_OFFSET_S = 0.0128 - _FRAME_S / 2
# The phone language model's weight: 1-2 is best for phones (the default 6.5 suits words).
_LANGUAGE_WEIGHT = 1.5
# Context-dependent phones need narrow beams to run near real time; at 1e-10 and below the
# search loses its way (frame accuracy falls to 0.35).
_CD_BEAM = 1e-14
_CD_MAX_HMMS_PER_FRAME = 3000
# The acoustic model never heard digital silence (synthetic speech has it in every stop
# closure); a floor 55 dB under the speech's peak fills it, far below any real recording's.
_NOISE_FLOOR_DB = -55.0
_NOISE_SEED = 0
# Word decoding: PocketSphinx's default beams (1e-48, 1e-40, 7e-29) lose the right word
# on real speech more often; these raise word-based frame accuracy on the real recordings
# from 0.66 to 0.68 and cost 0.17 -> 0.25 s per audio second.
_WORD_BEAMS = {"beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60}
_MIN_NOISE_FLOOR = 10 ** (-90 / 20)  # about one 16-bit step, for all-silent input


@runtime_checkable
class PhoneRecognizer(Protocol):
    """Anything that finds phones in speech."""

    #: Short identifier, e.g. for reports and command-line choices.
    name: str

    def recognize(self, audio: Audio) -> tuple[PhoneSegment, ...]:
        """Contiguous phone segments covering the whole audio; pauses have viseme ``"sil"``."""
        ...


class PocketSphinxRecognizer:
    """PocketSphinx all-phone decoding with the wheel's US English model.

    The decoder is built once (about 0.15 s) and reused; calls are serialized because a
    decoder holds one utterance at a time.

    Parameters
    ----------
    context_dependent:
        Decode triphones instead of context-independent phones: 5 points more frame
        accuracy on real speech, none on synthetic speech, and 12-40x slower (0.6-2 s per
        second of audio on one core, against 0.05 s): for offline work only.
    """

    name = "pocketsphinx"

    def __init__(self, context_dependent: bool = False) -> None:
        model = get_model_path()
        options: dict[str, object] = {
            "hmm": os.path.join(model, "en-us", "en-us"),
            "allphone": os.path.join(model, "en-us", "en-us-phone.lm.bin"),
            "lw": _LANGUAGE_WEIGHT,
            "logfn": os.devnull,  # it logs every setting and utterance otherwise
        }
        if context_dependent:
            options.update(
                allphone_ci=False,
                beam=_CD_BEAM,
                pbeam=_CD_BEAM,
                maxhmmpf=_CD_MAX_HMMS_PER_FRAME,
            )
        self._decoder = Decoder(**options)
        self._lock = threading.Lock()

    def recognize(self, audio: Audio) -> tuple[PhoneSegment, ...]:
        """Phones heard in ``audio`` (any sample rate, resampled to 16 kHz).

        Returns
        -------
        Contiguous segments from 0 to ``audio.duration_s``, labelled with ARPAbet phones
        (``"SIL"`` and noise fillers such as ``"+NSN+"`` have viseme ``"sil"``).
        """
        duration = audio.duration_s
        if duration <= 0:
            return ()
        with self._lock:
            _decode(self._decoder, audio)
            decoded = [(seg.word, seg.start_frame) for seg in self._decoder.seg()]
        return _segments(decoded, duration)


class NetworkRecognizer:
    """Visemes from our own network (:mod:`gioconda.visemenet`): any language, any voice."""

    name = "network"

    def __init__(self) -> None:
        from gioconda.visemenet import VisemeNet

        self._net = VisemeNet()

    def recognize(self, audio: Audio) -> tuple[PhoneSegment, ...]:
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
        from gioconda.visemenet import VisemeNet

        self._net = VisemeNet()
        self._words = PocketSphinxWordRecognizer()

    def recognize(self, audio: Audio) -> tuple[PhoneSegment, ...]:
        return combined_phones(self._net(audio), self._words.words(audio))


def combined_phones(
    posteriors: VisemePosteriors, words: Sequence[RecognizedWord]
) -> tuple[PhoneSegment, ...]:
    """The combination of :class:`CombinedRecognizer`.

    Each word's visemes are placed by :func:`align_words`, except where the network finds
    them :data:`WORD_DOUBT_NATS` per hop less likely than its own best path (PocketSphinx
    probably misheard the word): there the network's path stands. Closures the network is
    fairly sure of (:data:`COMBINED_CLOSURE_THRESHOLD`) are kept even where the words have
    none, so that a misheard word does not leave the lips open on /p b m/. No words at all
    (silence, humming): the network's path.
    """
    own_path = posteriors.viseme_path()
    if not words:
        return path_to_phones(own_path)
    scores = np.asarray(posteriors.log_probs, np.float64)
    hops = np.arange(len(scores))
    path = visemes_at(align_words(posteriors, words), hops * FEATURE_HOP_S)
    for first, stop in _word_hops(words, len(scores)):
        span = hops[first:stop]
        doubt = np.mean(scores[span, own_path[span]] - scores[span, path[span]])
        if doubt > WORD_DOUBT_NATS:
            path[span] = own_path[span]
    path[posteriors.closure_hops(COMBINED_CLOSURE_THRESHOLD)] = VISEME_INDEX["PP"]
    return path_to_phones(path)


@dataclass(frozen=True)
class RecognizedWord:
    """One word PocketSphinx heard: its dictionary spelling, span, and ARPAbet phones."""

    word: str
    start_s: float
    end_s: float
    phones: tuple[str, ...]


class PocketSphinxWordRecognizer:
    """English words with the wheel's language model and dictionary (no download).

    Wider beams than PocketSphinx's defaults (:data:`_WORD_BEAMS`) find more of the right
    words on real speech (0.17 -> 0.25 s per second of audio on one core). Building the
    decoder loads the language model (about 0.5 s); calls are serialized.
    """

    def __init__(self) -> None:
        model = os.path.join(get_model_path(), "en-us")
        self._decoder = Decoder(
            hmm=os.path.join(model, "en-us"),
            lm=os.path.join(model, "en-us.lm.bin"),
            dict=os.path.join(model, "cmudict-en-us.dict"),
            logfn=os.devnull,
            **_WORD_BEAMS,
        )
        self._lock = threading.Lock()

    def words(self, audio: Audio) -> tuple[RecognizedWord, ...]:
        """The words heard in ``audio``, in order; fillers and silences left out."""
        if audio.duration_s <= 0:
            return ()
        words: list[RecognizedWord] = []
        with self._lock:
            _decode(self._decoder, audio)
            for seg in self._decoder.seg():
                # <s>, </s>, <sil>, [NOISE], +SMACK+ ...: not words
                if seg.word[:1] in "<[+":
                    continue
                pronunciation = self._decoder.lookup_word(seg.word)
                if not pronunciation:
                    continue
                words.append(
                    RecognizedWord(
                        word=re.sub(r"\(\d+\)$", "", seg.word),  # "and(2)": a variant
                        start_s=seg.start_frame * _FRAME_S + _BOUNDARY_OFFSET_S,
                        end_s=(seg.end_frame + 1) * _FRAME_S + _BOUNDARY_OFFSET_S,
                        phones=tuple(pronunciation.split()),
                    )
                )
        return tuple(words)


#: PP probability at which the network's closures stand beside the words' own. Measured on 9
#: Kokoro sentences (3 voices) and 8 real recordings: 0.2 -> 58/69 synthetic closures at
#: 0.70 PP-frame precision, real 13/13 at 0.43; 0.4 -> 53/69 at 0.73, real 12/13 at 0.72;
#: none -> 45/69 at 0.72, real 12/13 at 0.82. 0.4 keeps real speech's precision.
COMBINED_CLOSURE_THRESHOLD = 0.4
#: How much less likely (nats per hop, under the network) a word's aligned visemes may be
#: than the network's own path before the network's path replaces them. On 8 real
#: recordings / 6 Kokoro / 12 eSpeak sentences, frame accuracy: never 0.70/0.63/0.68,
#: 3 -> 0.70/0.65/0.69, 1.5 -> 0.68/0.68/0.73. Real speech decides: 3.
WORD_DOUBT_NATS = 3.0
#: Shortest a viseme lasts in a forced alignment, in 10 ms hops (chosen on the real
#: recordings' frame accuracy: 1 -> 0.674, 2 -> 0.683, 3 -> 0.697).
ALIGN_MIN_HOPS = 3


def align_words(
    posteriors: VisemePosteriors,
    words: Sequence[RecognizedWord],
    min_hops: int = ALIGN_MIN_HOPS,
) -> tuple[PhoneSegment, ...]:
    """Each word's visemes, in order, placed inside its span where the network hears them.

    Within a word's hops (hop ``i`` stands for ``i * 10`` ms) the word's visemes (repeats
    merged), optionally preceded and followed by silence, take the path of highest summed
    log-probability with every viseme at least ``min_hops`` long (fewer where the word is too
    short to hold them all). Hops outside every word are silence.

    Returns
    -------
    Contiguous segments over the posteriors' hops (``phone`` is the viseme's name).
    """
    scores = np.asarray(posteriors.log_probs, np.float64)
    path = np.full(len(scores), VISEME_INDEX["sil"], np.int64)
    for word, (first, stop) in zip(words, _word_hops(words, len(scores)), strict=True):
        visemes = [VISEME_INDEX[arpabet_to_viseme(p)] for p in word.phones]
        visemes = [v for i, v in enumerate(visemes) if i == 0 or v != visemes[i - 1]]
        if stop > first and visemes:
            path[first:stop] = _forced_path(scores[first:stop], visemes, min_hops)
    return path_to_phones(path)


def _word_hops(words: Sequence[RecognizedWord], n_hops: int) -> list[tuple[int, int]]:
    """Each word's hops as ``(first, stop)``: hop ``i`` (at ``i * 10`` ms) inside its span."""
    return [
        (
            max(0, math.ceil(word.start_s / FEATURE_HOP_S - 1e-9)),
            min(n_hops, math.ceil(word.end_s / FEATURE_HOP_S - 1e-9)),
        )
        for word in words
    ]


def _forced_path(scores: np.ndarray, visemes: Sequence[int], min_hops: int) -> np.ndarray:
    """Best path through ``[sil?] visemes... [sil?]`` over ``scores`` (n, 15); (n,) indices.

    Each viseme is a chain of ``min_hops`` states (the last one may repeat), so it lasts at
    least that long; the edge silences are optional and may be one hop.
    """
    n_hops = len(scores)
    if len(visemes) > n_hops:  # too many for the span: keep an even spread of them
        keep = np.linspace(0, len(visemes) - 1, n_hops).round().astype(int)
        visemes = [visemes[i] for i in keep]
    hold = max(1, min(min_hops, n_hops // len(visemes)))
    silence = VISEME_INDEX["sil"]
    # States: leading silence, hold states per viseme, trailing silence.
    state_viseme = np.array([silence, *np.repeat(visemes, hold), silence])
    n_states = len(state_viseme)
    can_stay = np.zeros(n_states, bool)
    can_stay[[0, -1]] = True
    can_stay[hold : n_states - 1 : hold] = True  # the last state of each viseme's chain
    emit = scores[:, state_viseme]
    very_unlikely = -1e18
    score = np.full(n_states, very_unlikely)
    score[0] = emit[0, 0]
    score[1] = emit[0, 1]  # no leading silence
    came_from_previous = np.zeros((n_hops, n_states), bool)
    for t in range(1, n_hops):
        stay = np.where(can_stay, score, very_unlikely)
        advance = np.concatenate([[very_unlikely], score[:-1]])
        moved = advance > stay
        came_from_previous[t] = moved
        score = np.where(moved, advance, stay) + emit[t]
    # End in the trailing silence or in the last viseme's last state.
    state = n_states - 1 if score[-1] >= score[-2] else n_states - 2
    path = np.empty(n_hops, np.int64)
    for t in range(n_hops - 1, -1, -1):
        path[t] = state_viseme[state]
        if t and came_from_previous[t, state]:
            state -= 1
    return path


def visemes_at(phones: Sequence[PhoneSegment], times_s: np.ndarray) -> np.ndarray:
    """The viseme at each instant: indices into :data:`VISEMES`, shaped like ``times_s``.

    An instant is in a segment when ``start_s <= t < end_s``; an instant in no segment is
    silence; where segments overlap, the later-starting one wins.

    Examples
    --------
    >>> track = visemes_at([PhoneSegment(0.0, 0.02, "m", "PP")], np.arange(4) * 0.01)
    >>> [VISEMES[i] for i in track]
    ['PP', 'PP', 'sil', 'sil']
    """
    times = np.asarray(times_s, np.float64)
    track = np.full(times.shape, VISEME_INDEX["sil"], np.int64)
    for phone in sorted(phones, key=lambda p: p.start_s):
        inside = (times >= phone.start_s - 1e-9) & (times < phone.end_s - 1e-9)
        track[inside] = VISEME_INDEX[phone.viseme]
    return track


def _decode(decoder: Decoder, audio: Audio) -> None:
    """Run ``decoder`` over the whole of ``audio`` (resampled to 16 kHz, with the noise floor);
    its results are then read from it. The caller holds the decoder's lock."""
    pcm = _to_pcm16(_with_noise_floor(resample(audio, ANALYSIS_SAMPLE_RATE)))
    # The front end carries state from one utterance to the next; resetting it (0.1 ms) makes
    # every call decode exactly as a fresh decoder would.
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _with_noise_floor(audio: Audio) -> Audio:
    """The audio with a faint, seeded white noise added (the same every call)."""
    level = float(np.percentile(np.abs(audio.samples), 99.9))
    noise = np.random.default_rng(_NOISE_SEED).standard_normal(audio.samples.size)
    floor = max(level * 10 ** (_NOISE_FLOOR_DB / 20), _MIN_NOISE_FLOOR)
    return Audio((audio.samples + floor * noise).astype(np.float32), audio.sample_rate)


def _to_pcm16(audio: Audio) -> bytes:
    return (np.clip(audio.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def _segments(decoded: Iterable[tuple[str, int]], duration_s: float) -> tuple[PhoneSegment, ...]:
    """Contiguous segments from (label, start frame) pairs in decoding order."""
    starts: list[float] = []
    labels: list[str] = []
    for label, start_frame in decoded:
        start = 0.0 if not starts else start_frame * _FRAME_S + _BOUNDARY_OFFSET_S
        if start >= duration_s:
            break
        if starts and start <= starts[-1]:
            labels[-1] = label  # a zero-length phone: the later one wins
            continue
        starts.append(start)
        labels.append(label)
    if not starts:
        return (PhoneSegment(0.0, duration_s, "SIL", "sil"),)
    ends = [*starts[1:], duration_s]
    return tuple(
        PhoneSegment(start, end, label, arpabet_to_viseme(label))
        for start, end, label in zip(starts, ends, labels, strict=True)
    )


def viseme_frames(
    phones: Sequence[PhoneSegment], n_frames: int, hop_s: float = FEATURE_HOP_S
) -> np.ndarray:
    """The viseme at the centre of each frame, as indices into :data:`~gioconda.visemes.VISEMES`.

    Frame ``i`` covers ``[i * hop_s, (i + 1) * hop_s)``; where no segment covers its centre it
    is ``sil``. Returns ``(n_frames,) int64``.
    """
    return visemes_at(phones, (np.arange(n_frames) + 0.5) * hop_s)


def viseme_accuracy(
    truth: Sequence[PhoneSegment],
    predicted: Sequence[PhoneSegment],
    duration_s: float,
    hop_s: float = FEATURE_HOP_S,
) -> float:
    """Share of ``hop_s`` frames over ``duration_s`` whose predicted viseme is the true one.

    Examples
    --------
    >>> a = [PhoneSegment(0.0, 0.5, "M", "PP"), PhoneSegment(0.5, 1.0, "AA", "aa")]
    >>> b = [PhoneSegment(0.0, 0.6, "B", "PP"), PhoneSegment(0.6, 1.0, "AH", "aa")]
    >>> round(viseme_accuracy(a, b, 1.0), 2)
    0.9
    """
    n_frames = int(duration_s / hop_s + 1e-9)  # whole frames only
    if n_frames == 0:
        return 1.0
    return float(
        np.mean(viseme_frames(truth, n_frames, hop_s) == viseme_frames(predicted, n_frames, hop_s))
    )


#: The recognizers by name, as ``--lipsync`` spells them.
RECOGNIZERS: dict[str, type] = {
    "combined": CombinedRecognizer,
    "network": NetworkRecognizer,
    "pocketsphinx": PocketSphinxRecognizer,
}
