"""Lip sync from words: what was said (Whisper's words, or a given transcript) placed in time
by our network, over the whole utterance at once.

The words' visemes (:mod:`gioconda.speech.pronounce`), in order, with an optional pause
between every two words, are forced onto the network's viseme posteriors by one Viterbi
pass over the whole recording; each viseme lasts at least :data:`ALIGN_MIN_HOPS` hops. A
word's place is not fixed by Whisper's word times (often 100 ms off): they are only loose
anchors, a cost for every hop a word is placed more than :data:`ANCHOR_SLACK_S` outside
them, so one bad time cannot pull a word far off and the search stays on track in long
recordings. A word with no pronunciation (a script eSpeak cannot read) is a stretch of free
visemes, where the network's own path is kept.

Since the words are said, their /p b m/ shut the lips even when the network barely hears
them: before /f v/ ("step forward") or a stop with no audible release ("drop five"). A /p b m/
lasts at least :data:`CLOSURE_MIN_HOPS` (the network hears little of a /p/'s silent hold).
Where the waveform hums (:mod:`gioconda.speech.hums`: a nasal murmur, lips shut) and the
network hears silence, a written /m/ is drawn onto the hum (:data:`HUM_NATS`): Whisper's
zero-length "Um,", a drawn-out "some".

Guards against words nobody said: where the voice activity detector hears no one, Whisper
is not asked (:mod:`gioconda.speech.whisper`) and the mouth stays shut; where the network
finds a placed word :data:`WORD_DOUBT_NATS` per hop less likely than its own path (a
misheard word, speech in another language than the one forced), the network's path stands;
and so it does for words of a segment Whisper itself is unsure of (:func:`trusted`: a voice
it misreads, such as eSpeak NG's Hungarian heard as Thai).

Measured with ``gioconda eval lipsync --real-speech`` (see the README's lip-sync section).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from gioconda.errors import GiocondaError
from gioconda.progress import Progress, no_progress
from gioconda.speech.accent import r_f3_ratio, says_r_after_vowels
from gioconda.speech.align import ALIGN_MIN_HOPS, WORD_DOUBT_NATS
from gioconda.speech.audio import Audio, resample
from gioconda.speech.hums import hum_strength
from gioconda.speech.pronounce import (
    cmu_pronunciations,
    english_pronunciations,
    japanese_readings,
    word_viseme_variants,
    words_viseme_variants,
)
from gioconda.speech.sphinx_align import AlignedPhone, SphinxAligner, aligned_path
from gioconda.speech.visemenet import VisemePosteriors, path_to_phones
from gioconda.speech.visemes import VISEME_INDEX, PhoneSegment
from gioconda.speech.whisper import HeardSpeech, HeardWord, WhisperListener, check_language
from gioconda.timeline import ANALYSIS_SAMPLE_RATE, FEATURE_HOP_S

_log = logging.getLogger(__name__)

#: How far outside Whisper's time a word may lie before it costs. Frame accuracy on the three
#: real English voices (hand-labelled speaker / CMU ARCTIC / MFA) for 0.1, 0.15, 0.2, 0.3,
#: 0.5 s: 0.68/0.64/0.63, 0.70/0.68/0.63, 0.70/0.68/0.64, 0.70/0.63/0.64, 0.70/0.63/0.66.
ANCHOR_SLACK_S = 0.2
#: A segment of Whisper's words whose mean token log-probability is lower is not trusted
#: (:func:`trusted`): the network's own path stands there. Real recordings' segments average
#: -0.14 to -0.43; eSpeak's el/hu/vi, misread, -0.86 to -1.56. Frame accuracy (10 ms, phones
#: before rendering) of eSpeak el / hu / vi / English, Kokoro, the real English voices, for
#: never, -0.7, -0.8, -0.9: 0.65/0.52/0.43/0.70, 0.80, 0.67/0.64/0.70;
#: 0.80/0.73/0.53/0.71; 0.80/0.73/0.53/0.73; 0.78/0.73/0.53/0.73 (Kokoro and real unchanged).
MIN_SEGMENT_LOG_PROB = -0.8
#: Whisper's time for a word shorter than this (s) is no anchor: it gives fillers such as
#: "Um," no length at all, placed where the hum ends (MFA's recording: two 0.5 s hums), and
#: the anchor held the filler there. Unanchored, it moves 0.2 s towards the hum (MFA frame
#: accuracy within speech 0.55 -> 0.57, A/V -7 -> -5 ms; the other recordings unchanged).
MIN_ANCHOR_S = 0.03
#: Added to ``PP``'s score (nats per hop) where the waveform hums fully
#: (:func:`~gioconda.speech.hums.hum_strength`) and our network hears silence (at least
#: :data:`HUM_SILENCE_REF` of it, averaged over 90 ms; less: in proportion). The network
#: hears a hum as silence or an open vowel, so a written /m/ (Whisper's zero-length "Um,",
#: the drawn-out /m/ of "some") was placed off its hum. Closures at the middle of the true
#: /p b m/ (phones before rendering) and frame accuracy (10 ms, within speech) on the MFA
#: recording / hand-labelled speaker / ARCTIC, for 0: 6 of 9, 0.565 / 9 of 11, 0.749 / 2 of
#: 2, 0.642; 3: 7 of 9, 0.590; 5 and 8: 9 of 9, 0.626 (the others unchanged at every value;
#: closure precision on MFA 11 of 12 -> 12 of 12). Ungated by the network's silence (5
#: nats), laterals and back vowels took the bonus too: ARCTIC 0.631, Kokoro 0.732 -> 0.649;
#: gated, the held-out synthetic groups are unchanged (Kokoro closures 38 -> 39 of 44).
HUM_NATS = 5.0
#: English words are first placed by PocketSphinx's en-us acoustic model (trained on real
#: speech; :func:`sphinx_timing`): the viseme it places at a hop gains ``SPHINX_NATS``, and
#: its word times replace Whisper's as anchors with ``SPHINX_SLACK_S`` of slack; where the
#: waveform hums, ``PP`` gains ``HUM_LIFT`` times as much, scaled by the hum (PocketSphinx
#: gives half a hummed "Um" to its vowel). Frame accuracy (10 ms, phones before rendering) on
#: the hand-labelled speaker / ARCTIC / MFA recording, then the held-out synthetic eSpeak /
#: Kokoro English (24 / 8 utterances); closures at the middle of the true /p b m/ of 40 ms or
#: more on the three real voices. Network alone (no PocketSphinx): 0.733 / 0.667 / 0.702,
#: 0.751 / 0.810; 9 / 2 / 9 of 11 / 2 / 9. PocketSphinx's phones instead of the network's
#: alignment: 0.801 / 0.717 / 0.817, 0.709 / 0.796 (its model never heard eSpeak), MFA's
#: hums 6 of 9. As a prior, with Whisper's anchors, 1.5 / 2 / 3 nats: ARCTIC 0.785 / 0.695 /
#: 0.703, MFA 0.747 / 0.780 / 0.785; its own times as anchors (0.06, 0.1 or 0.2 s slack):
#: MFA 0.780 -> 0.806 at 2 nats, the others within 0.005. Hums lifting ``PP`` (2 nats): MFA
#: closures 6 -> 8 of 9 and 0.829; lifted 3x, 9 of 9, but ARCTIC 0.63 and Kokoro 0.78.
#: Chosen, 1.5 nats, lift 1.5, 0.2 s: 0.774 / 0.789 / 0.786, 0.746 / 0.816; closures 11 / 2 /
#: 8 (2 nats: 0.788 / 0.695 / 0.829, but ARCTIC's "turned" then doubted and handed back to
#: the network's path, an /n/ heard as a closure); with words added to an empty decoder
#: dictionary (:mod:`~gioconda.speech.sphinx_align`): 0.771 / 0.781 / 0.781, 0.740 / 0.817,
#: closures the same (eSpeak 142 -> 138 of 154, Kokoro 41 -> 44 of 44). The /m/ still
#: missed, the drawn-out one of MFA's "some words", which PocketSphinx gives to the /w/
#: after it, is kept by :data:`CONSONANT_MAX_S`. English since takes a stronger, spread
#: prior (:data:`ENGLISH_SPHINX_NATS`); this one holds for Japanese and Russian.
SPHINX_NATS = 1.5
#: The languages whose words PocketSphinx's English model places: Japanese too, its kana
#: reading said by eSpeak NG's Japanese voice, each sound as the nearest English phone
#: (:func:`~gioconda.speech.sphinx_align.foreign_ipa_to_arpabet`). The network's timing, not
#: the words, held JSUT's recording back: Whisper's words give 40 of its 41 labelled visemes
#: in order, and the true sentence aligns no better (0.617). Frame accuracy (10 ms, phones
#: before rendering) on JSUT 0.613 -> 0.725 (the same 1.5 nats, 0.2 s slack as English,
#: nothing fitted); on eSpeak NG's own Japanese (six sentences of ours, which the network
#: was trained on the like of) 0.868 -> 0.869 with Whisper's words, 0.880 -> 0.872 with the
#: kanji transcript given. Russian likewise: the five real festvox-ru-nsh sentences 0.654 ->
#: 0.706 before rendering; rendered (``eval lipsync --quick``) 0.65 -> 0.71, closures 0.87
#: -> 1.00 of 45 (precision 0.93 -> 0.98), A/V -30 -> -23 ms; eSpeak NG's Russian with
#: ``--language ru`` (four sentences of ours, Whisper misreads them) 0.732 -> 0.729. Other
#: languages are not measured on real speech and keep the network's timing (every language
#: Whisper detects, tried on the held-out eSpeak el/hu/vi: 0.778 / 0.673 / 0.536 ->
#: 0.778 / 0.673 / 0.525, one Vietnamese voice heard as Thai).
SPHINX_LANGUAGES = frozenset({"en", "ja", "ru"})
#: The longest a consonant lasts in speech (s), by ARPAbet phone, from phonetics, not fitted:
#: a stop's closure or an approximant's glide about 50-150 ms, a nasal or fricative longer
#: (a held /s/ or a drawn-out /m/ up to some 300 ms); vowels have no limit. Where
#: PocketSphinx gives a consonant longer than this, its placement is not trusted there (no
#: :data:`SPHINX_NATS` over the phone's hops): in MFA's "some words" ("talking really slow")
#: it gives the /w/ 290 ms over most of the drawn-out /m/ (240 ms, then a 50 ms /w/), and
#: the alignment gave the /m/ 70 ms and the /w/'s rounded mouth 800 ms. It fires on 8
#: consonants of the 20 real recordings (0.20-0.29 s; 5 of them MFA's); ``eval lipsync
#: --quick``: MFA's closures 8 -> 9 of 9 (precision 1.00), frame accuracy 0.78 -> 0.79, A/V
#: -3 -> -4 ms; every other row, real or synthetic, unchanged.
CONSONANT_MAX_S = (
    dict.fromkeys(("P", "B", "T", "D", "K", "G", "DX", "CH", "JH"), 0.2)
    | dict.fromkeys(("W", "Y", "R", "L", "HH"), 0.2)
    | dict.fromkeys(("M", "N", "NG", "F", "V", "TH", "DH", "S", "Z", "SH", "ZH"), 0.35)
)
SPHINX_SLACK_S = 0.2
HUM_LIFT = 1.5
#: English, which PocketSphinx's acoustic model was trained on, takes its placement as a
#: stronger prior than the other languages' nearest-English phones (:data:`SPHINX_NATS`):
#: ``ENGLISH_SPHINX_NATS`` at a hop, spread over the hops around its boundaries by a Gaussian
#: of ``SPHINX_SPREAD_HOPS`` (its boundaries are good to about one of its 10 ms frames: their
#: scatter about each corpus's mean offset, 11-16 ms), so that it holds a phone's interior
#: against our network (trained on synthetic speech only, confidently wrong on a drawn-out
#: real /ɝ/ or a quiet /l/) and leaves the exact edge to both. Where the error was: on the
#: hand-labelled speaker PocketSphinx's phones alone reach 0.802 against the combination's
#: 0.771, and its boundaries scatter less than ours on every real English voice (standard
#: deviation about the mean offset, ours / its: hand-labelled 16.8 / 16.0 ms, ARCTIC 16.7 /
#: 10.8, MFA 18.8 / 14.7); its mean offsets follow each corpus's labelling (+1.5, +17.6,
#: +9.1 ms), which is why it is a prior, not the answer. Frame accuracy (10 ms, phones
#: before rendering, over the scored speech) on the hand-labelled speaker / ARCTIC / MFA /
#: MFA's cold recording / north wind / phonlab, then eSpeak / Kokoro held-out English (24 / 8
#: utterances), for nats and spread: 1.5, none (before): 0.771 / 0.781 / 0.787 / 0.638 /
#: 0.744 / 0.668, 0.744 / 0.817; 2, none: 0.783 / 0.703 / 0.815 (ARCTIC's "turned" then
#: doubted, :data:`WORD_DOUBT_NATS`, and handed to the network's path); 2.5, none: 0.795 /
#: 0.703 / 0.827, MFA closures at the /m/ middles 9 -> 8 of 9; 1.5, 1 hop: 0.771 / 0.771 /
#: 0.779; 1.75, 1: 0.776 / 0.781 / 0.788; 2, 0.5: ARCTIC 0.703, MFA 8 of 9; 2, 1.5: 0.777 /
#: 0.785 / 0.810, hand-labelled closures 11 -> 10 of 11; 2.25, 1 and 2.5, 1: MFA 8 of 9.
#: Chosen, 2 nats, 1 hop: 0.784 / 0.792 / 0.816 / 0.638 / 0.752 / 0.680, 0.745 / 0.815
#: (closures at the middles unchanged on every group: 11 / 2 / 9 of 11 / 2 / 9, eSpeak 139
#: of 154, Kokoro 44 of 44). The hum's lift (:data:`HUM_LIFT`) stays in proportion: held at
#: 1.5 x 1.5 nats, MFA's hummed "Um" loses its closure (8 of 9) to PocketSphinx's vowel.
#: Japanese and Russian keep 1.5 nats unspread: with these, JSUT 0.725 -> 0.703, Russian
#: 0.705 -> 0.709.
ENGLISH_SPHINX_NATS = 2.0
SPHINX_SPREAD_HOPS = 1.0
#: A long English recording's accent (:func:`~gioconda.speech.accent.says_r_after_vowels`)
#: is told from its first ``ACCENT_SECTIONS`` sections (up to a minute) where they hold
#: ``ACCENT_EARLY_TOKENS`` /r/ positions or more, and the rest is aligned once, with the
#: pronunciations of that accent: told from the whole recording, a non-rhotic speaker's
#: every section was aligned twice (a 10-minute eSpeak RP recording through ``gioconda
#: lipsync``: PocketSphinx 14.1 s of 38.2 s in all, its second pass some 18 % of the run).
#: Recordings of up to two sections (a minute) are told as before, from all of it.
ACCENT_SECTIONS = 2
ACCENT_EARLY_TOKENS = 10
HUM_SILENCE_REF = 0.25
#: Cost per hop (nats) of a word's viseme further than the slack from the word's time.
ANCHOR_COST_NATS = 1.0
#: The network's posteriors are divided by this power of their mean over the recording
#: before alignment (a scaled likelihood, as hybrid recognizers align): frequent visemes
#: stop crowding out rare ones. Frame accuracy on the real recordings, English/Japanese:
#: 0 -> 0.69, 0.61, 0.63 / 0.54; 0.7 -> 0.70, 0.63, 0.64 / 0.61.
PRIOR_WEIGHT = 0.7
#: Cost per hop of a word without a pronunciation against the network's best viseme, so
#: that it does not swallow the pauses around it.
FREE_WORD_COST_NATS = 0.5
#: Hops a word without a pronunciation lasts at least (the free stretch's minimum).
FREE_WORD_MIN_HOPS = 3
#: Shortest /p b m/ in an alignment, in hops, and how much longer for each more bilabial
#: phone it stands for (the /m p/ of "tempting"). A /p/'s silent hold sounds like a pause, so
#: the network hears little more than its burst; the lips are shut 60-120 ms. Real recordings'
#: closures shut at the middle of the true /p b m/ (MouthClose >= 0.9, 24 of them; frame
#: accuracy unchanged within 0.005) for (3, 0): 17, (6, 0): 18, (6, 3): 19, (8, 3): 19 (one
#: precision lost).
CLOSURE_MIN_HOPS = 6
CLOSURE_HOPS_PER_EXTRA_PHONE = 3
#: The longest stretch aligned in one Viterbi pass. The search keeps a score for every
#: (hop, state) pair, so one pass over a 10-minute recording would hold ~20 GB; longer
#: recordings are cut between words (at the widest pause Whisper heard) into sections of at
#: most this length. Recordings up to this length are aligned exactly as in one pass.
MAX_SECTION_S = 30.0
#: How far from its estimated time a cut between two untimed words may move to a silence.
CUT_SEARCH_S = 0.3

_SIL = VISEME_INDEX["sil"]
_PP = VISEME_INDEX["PP"]
_FREE = -1  # a state that emits whichever viseme the network likes best
_VERY_UNLIKELY = -1e18


@dataclass(frozen=True)
class WordToAlign:
    """One word for :func:`align_transcript`.

    Attributes
    ----------
    visemes: indices into :data:`~gioconda.speech.visemes.VISEMES` (no ``sil``), repeats
        merged; None for a word without a pronunciation (the network's path is kept there)
    start_s, end_s: where Whisper heard it (loose anchors), or None (a given transcript)
    phones: how many phones each of ``visemes`` stands for (the /m p/ of "tempting" is one
        PP of two phones, and lasts longer); None: one each
    variants: the word's other pronunciations as (visemes, phones) pairs, like ``visemes``
        and ``phones`` ("to" said T AH0); :func:`choose_variants` picks among them
    text: the word as PocketSphinx is given it (:func:`sphinx_sections`): as written; Japanese
        as its kana reading in context
    slack_s: how far outside ``start_s``..``end_s`` it may lie before it costs
    arpabet: the phones PocketSphinx is given for it where not the dictionary's (a
        non-rhotic speaker's "water" W AO T AH); None: looked up by ``text``
    """

    visemes: tuple[int, ...] | None
    start_s: float | None = None
    end_s: float | None = None
    phones: tuple[int, ...] | None = None
    variants: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = ()
    text: str = ""
    slack_s: float = ANCHOR_SLACK_S
    arpabet: tuple[str, ...] | None = None


def _merged(visemes: Sequence[str]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Viseme names as indices with repeats merged, and how many phones each stands for."""
    merged: list[list[int]] = []
    for v in (VISEME_INDEX[v] for v in visemes):
        if merged and merged[-1][0] == v:
            merged[-1][1] += 1
        else:
            merged.append([v, 1])
    return tuple(v for v, _ in merged), tuple(n for _, n in merged)


def words_to_align(
    words: Sequence[HeardWord], language: str, rhotic: bool = True
) -> list[WordToAlign]:
    """Each word's pronunciations as merged viseme indices; punctuation alone is left out.

    ``rhotic`` False: English said without the /r/ after a vowel
    (:func:`~gioconda.speech.pronounce.non_rhotic`), for the visemes and for PocketSphinx."""
    aligned = []
    texts = [word.text for word in words]
    # Read together: a Japanese word's kanji reading depends on the words around it; an
    # English word's final /r/ and "the" on whether the next begins with a vowel.
    sphinx_phones: list[tuple[str, ...] | None] = [None] * len(texts)
    if language == "en":
        in_context = english_pronunciations(texts, rhotic)
        readings = [
            word_viseme_variants(t, language, p) for t, p in zip(texts, in_context, strict=True)
        ]
        # PocketSphinx chooses among the dictionary's pronunciations itself: a word said
        # otherwise in context is given with its phones.
        for i, spoken in enumerate(in_context):
            if spoken and spoken != cmu_pronunciations(texts[i]):
                sphinx_phones[i] = spoken[0]
    else:
        readings = words_viseme_variants(texts, language, rhotic)
    # What PocketSphinx is given to say: Japanese as its kana reading.
    said = japanese_readings(texts) if language == "ja" else texts
    for word, text, variants, phones in zip(words, said, readings, sphinx_phones, strict=True):
        if variants is not None and not variants[0]:
            continue
        if variants is None or not trusted(word):
            aligned.append(WordToAlign(None, word.start_s, word.end_s, text=text))
            continue
        first, *others = [_merged(v) for v in variants]
        seen, alternatives = {first[0]}, []
        for other in others:
            if other[0] not in seen:
                seen.add(other[0])
                alternatives.append(other)
        aligned.append(
            WordToAlign(
                first[0], word.start_s, word.end_s, first[1], tuple(alternatives), text,
                arpabet=phones,
            )
        )  # fmt: skip
    return aligned


def trusted(word: HeardWord) -> bool:
    """Whether Whisper read ``word`` well enough to place its visemes (a given word: yes).

    Whisper's mean token log-probability over the word's segment tells: on real speech it is
    -0.45 or more; where Whisper misreads (eSpeak NG's Greek, Hungarian, Vietnamese, heard
    as other languages) it is -0.86 or less.
    """
    return word.segment_log_prob is None or word.segment_log_prob >= MIN_SEGMENT_LOG_PROB


def align_transcript(
    posteriors: VisemePosteriors,
    words: Sequence[WordToAlign],
    min_hops: int = ALIGN_MIN_HOPS,
    hum: np.ndarray | None = None,
    bonus: np.ndarray | None = None,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The words' visemes forced onto the posteriors over the whole recording.

    States, in order: optional leading silence, then for every word its visemes (each a
    chain of ``min_hops`` states, fewer where the recording is too short to hold them all)
    and an optional pause after it (the last is the trailing silence). The best path has the
    highest summed log-probability under the prior-scaled posteriors (:data:`PRIOR_WEIGHT`),
    less the anchor costs.

    Returns
    -------
    (path, spans): per-hop viseme indices (hop ``i`` at ``i * 10`` ms; free words filled with
    the network's own path), and each word's hops as ``(first, stop)`` (``(0, 0)`` if none)
    """
    log_probs = np.asarray(posteriors.log_probs, np.float64)
    n_hops = len(log_probs)
    if not words or n_hops == 0:
        return np.full(n_hops, _SIL, np.int64), [(0, 0)] * len(words)
    scores = _scores(log_probs, hum, bonus)
    units = [_word_units(word, min_hops) for word in words]
    wanted = sum(length for word_units in units for _, length in word_units)
    # Where the recording is too short for every unit's minimum, all are shortened alike.
    squeeze = min(1.0, n_hops / wanted)
    viseme, can_stay, optional, word_of = [_SIL], [True], [True], [-1]
    for w, word_units in enumerate(units):
        for v, wanted_hops in word_units:
            length = max(1, int(wanted_hops * squeeze))
            viseme += [v] * length
            can_stay += [False] * (length - 1) + [True]
            optional += [False] * length
            word_of += [w] * length
        viseme.append(_SIL)  # the pause after the word, which may be skipped
        can_stay.append(True)
        optional.append(True)
        word_of.append(-1)
    state_viseme = np.array(viseme)
    stay = np.array(can_stay)
    state_word = np.array(word_of)
    # (hops, states), the alignment's largest array: made once and changed in place (a
    # 30 s section of a long recording has some 3000 hops by 1000 states).
    emit = scores[:, np.maximum(state_viseme, 0)]
    free_states = state_viseme == _FREE
    if free_states.any():
        emit[:, free_states] = scores.max(axis=1, keepdims=True) - FREE_WORD_COST_NATS
    times = np.arange(n_hops) * FEATURE_HOP_S
    for w, word in enumerate(words):
        if word.start_s is None or word.end_s is None or word.end_s - word.start_s < MIN_ANCHOR_S:
            continue
        outside = np.clip(word.start_s - word.slack_s - times, 0, None) + np.clip(
            times - word.end_s - word.slack_s, 0, None
        )
        emit[:, state_word == w] -= (ANCHOR_COST_NATS / FEATURE_HOP_S * outside)[:, None]
    # A state may be entered from the one before, or from two before over a skipped pause.
    skip_into = np.zeros(len(state_viseme), bool)
    skip_into[2:] = np.array(optional)[1:-1]
    score = np.full(len(state_viseme), _VERY_UNLIKELY)
    score[:2] = emit[0, :2]  # start in the leading silence or in the first word
    step_back = np.zeros((n_hops, len(state_viseme)), np.int8)  # 0 stay, 1 advance, 2 skip
    for t in range(1, n_hops):
        from_stay = np.where(stay, score, _VERY_UNLIKELY)
        from_previous = np.concatenate([[_VERY_UNLIKELY], score[:-1]])
        from_skip = np.where(
            skip_into, np.concatenate([[_VERY_UNLIKELY] * 2, score[:-2]]), _VERY_UNLIKELY
        )
        best = np.maximum(np.maximum(from_stay, from_previous), from_skip)
        step_back[t] = np.where(best == from_stay, 0, np.where(best == from_previous, 1, 2))
        score = best + emit[t]
    # End in the trailing silence or in the last word's last state.
    state = len(state_viseme) - 1 if score[-1] >= score[-2] else len(state_viseme) - 2
    states = np.empty(n_hops, np.int64)
    for t in range(n_hops - 1, -1, -1):
        states[t] = state
        state -= step_back[t, state]
    path = state_viseme[states]
    free = path == _FREE
    if free.any():
        path[free] = posteriors.viseme_path()[free]
    hop_words = state_word[states]
    spans = []
    for w in range(len(words)):
        hops = np.flatnonzero(hop_words == w)
        spans.append((int(hops[0]), int(hops[-1]) + 1) if len(hops) else (0, 0))
    return path, spans


def _word_units(word: WordToAlign, min_hops: int) -> list[tuple[int, int]]:
    """A word's states as (viseme or _FREE, shortest stay in hops)."""
    if word.visemes is None:
        return [(_FREE, FREE_WORD_MIN_HOPS)]
    counts = word.phones or (1,) * len(word.visemes)
    return [
        (v, max(min_hops, CLOSURE_MIN_HOPS + CLOSURE_HOPS_PER_EXTRA_PHONE * (n - 1)))
        if v == _PP
        else (v, min_hops)
        for v, n in zip(word.visemes, counts, strict=True)
    ]


def align_in_sections(
    posteriors: VisemePosteriors,
    words: Sequence[WordToAlign],
    min_hops: int = ALIGN_MIN_HOPS,
    max_section_s: float = MAX_SECTION_S,
    hum: np.ndarray | None = None,
    bonus: np.ndarray | None = None,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """:func:`align_transcript` in sections of at most ``max_section_s``, cut between words.

    Memory and time grow with a section's hops times its states, not the whole recording's:
    a 10-minute recording costs what 30 s does, twenty times over. Cuts fall between two
    words, at the widest pause Whisper heard in the last half of the allowed length; words
    without times (a given transcript) are placed for cutting by their share of the visemes
    between the nearest timed words (or over the whole recording).

    Returns
    -------
    The same as :func:`align_transcript`, over the whole recording.
    """
    log_probs = np.asarray(posteriors.log_probs)
    n_hops = len(log_probs)
    cuts = _sections(words, log_probs, max_section_s)
    path = np.empty(n_hops, np.int64)
    spans: list[tuple[int, int]] = []
    for (first_word, first_hop), (stop_word, stop_hop) in pairwise(cuts):
        offset_s = first_hop * FEATURE_HOP_S
        section_words = [
            replace(w, start_s=w.start_s - offset_s, end_s=w.end_s - offset_s)
            if w.start_s is not None and w.end_s is not None
            else w
            for w in words[first_word:stop_word]
        ]
        section = VisemePosteriors(log_probs[first_hop:stop_hop])
        section_hum = None if hum is None else hum[first_hop:stop_hop]
        section_bonus = None if bonus is None else bonus[first_hop:stop_hop]
        section_path, section_spans = align_transcript(
            section, section_words, min_hops, section_hum, section_bonus
        )
        path[first_hop:stop_hop] = section_path
        spans += [(a + first_hop, b + first_hop) if b > a else (0, 0) for a, b in section_spans]
    return path, spans


def _sections(
    words: Sequence[WordToAlign], log_probs: np.ndarray, max_section_s: float
) -> list[tuple[int, int]]:
    """Section boundaries as (first word, first hop), from (0, 0) to (len(words), n_hops):
    one section where the recording fits in ``max_section_s`` (or has one word), else
    :func:`_section_cuts`."""
    n_hops = len(log_probs)
    max_hops = max(1, int(max_section_s / FEATURE_HOP_S))
    if n_hops <= max_hops or len(words) < 2:
        return [(0, 0), (len(words), n_hops)]
    return _section_cuts(words, log_probs, max_hops)


def _section_cuts(
    words: Sequence[WordToAlign], log_probs: np.ndarray, max_hops: int
) -> list[tuple[int, int]]:
    """Section boundaries as (first word, first hop), from (0, 0) to (len(words), n_hops).

    A cut fixes where one word ends and the next begins, so it goes where the two are
    surely apart: between the words with the widest pause Whisper heard, at the hop near
    that boundary where the network hears silence most.
    """
    n_hops = len(log_probs)
    units = np.array([len(w.visemes) if w.visemes else 1 for w in words], np.float64)
    before = np.concatenate([[0.0], np.cumsum(units)])  # visemes before word i (and the total)
    # Known (viseme count, seconds) points: the timed words' edges and the recording's ends;
    # a word boundary's time is interpolated between them.
    known_units, known_s = [0.0], [0.0]
    for i, w in enumerate(words):
        if w.start_s is not None and w.end_s is not None:
            known_units += [before[i], before[i + 1]]
            known_s += [w.start_s, w.end_s]
    known_units.append(before[-1])
    known_s.append(n_hops * FEATURE_HOP_S)
    order = np.argsort(known_units, kind="stable")
    boundary_s = np.interp(
        before[1:-1],
        np.asarray(known_units)[order],
        np.maximum.accumulate(np.asarray(known_s)[order]),
    )  # boundary_s[b - 1]: between word b - 1 and word b
    boundary_hop = np.clip(np.round(boundary_s / FEATURE_HOP_S).astype(int), 1, n_hops - 1)
    gap_s = np.zeros(len(words) - 1)
    for b in range(1, len(words)):
        left, right = words[b - 1], words[b]
        if left.end_s is not None and right.start_s is not None:
            gap_s[b - 1] = right.start_s - left.end_s
    silence = np.convolve(log_probs[:, _SIL].astype(np.float64), np.ones(3) / 3, "same")
    cuts = [(0, 0)]
    while n_hops - cuts[-1][1] > max_hops:
        first_word, first_hop = cuts[-1]
        candidates = [
            b
            for b in range(first_word + 1, len(words))
            if first_hop + max_hops // 2 <= boundary_hop[b - 1] <= first_hop + max_hops
        ]
        if not candidates:  # a long stretch without words: cut at the next boundary after it
            later = [
                b for b in range(first_word + 1, len(words)) if boundary_hop[b - 1] > first_hop
            ]
            if not later:
                break
            candidates = later[:1]
        best = max(candidates, key=lambda b: (gap_s[b - 1], b))
        hop = _quietest_hop(words, best, int(boundary_hop[best - 1]), silence)
        cuts.append((best, max(first_hop + 1, hop)))
    cuts.append((len(words), n_hops))
    return cuts


def _quietest_hop(
    words: Sequence[WordToAlign], boundary: int, estimate: int, silence: np.ndarray
) -> int:
    """The hop between word ``boundary - 1`` and word ``boundary`` where the network hears
    silence most: inside Whisper's pause (with a little slack) where both words are timed,
    else within :data:`CUT_SEARCH_S` of the estimate."""
    left, right = words[boundary - 1], words[boundary]
    if left.end_s is not None and right.start_s is not None:
        first = int((min(left.end_s, right.start_s) - ANCHOR_SLACK_S / 2) / FEATURE_HOP_S)
        stop = int((max(left.end_s, right.start_s) + ANCHOR_SLACK_S / 2) / FEATURE_HOP_S) + 1
    else:
        reach = int(CUT_SEARCH_S / FEATURE_HOP_S)
        first, stop = estimate - reach, estimate + reach + 1
    first, stop = max(1, first), min(len(silence) - 1, stop)
    if stop <= first:
        return estimate
    return first + int(np.argmax(silence[first:stop]))


def _prior_scaled(log_probs: np.ndarray) -> np.ndarray:
    """The alignment's scores, (hops, visemes): each hop's log-posteriors less
    :data:`PRIOR_WEIGHT` times the log of each viseme's mean posterior over the recording
    (so that a common viseme does not win every hop it is merely likely at)."""
    prior = np.log(np.exp(log_probs).mean(axis=0) + 1e-3)
    return log_probs - PRIOR_WEIGHT * prior


def _scores(
    log_probs: np.ndarray, hum: np.ndarray | None, bonus: np.ndarray | None = None
) -> np.ndarray:
    """The alignment's scores: :func:`_prior_scaled`, where the waveform hums
    (:func:`~gioconda.speech.hums.hum_strength`) up to :data:`HUM_NATS` more for ``PP``, and
    ``bonus`` (hops, visemes) added (:func:`sphinx_timing`)."""
    scores = _prior_scaled(log_probs)
    if bonus is not None:
        scores += bonus[: len(scores)]
    if hum is not None:
        n = min(len(scores), len(hum))
        heard_silent = np.convolve(np.exp(log_probs[:n, _SIL]), np.ones(9) / 9, "same")
        weight = np.clip(heard_silent / HUM_SILENCE_REF, 0.0, 1.0)
        scores[:n, _PP] += HUM_NATS * np.asarray(hum[:n], np.float64) * weight
    return scores


def choose_variants(
    posteriors: VisemePosteriors,
    words: Sequence[WordToAlign],
    path: np.ndarray,
    spans: Sequence[tuple[int, int]],
    min_hops: int = ALIGN_MIN_HOPS,
    hum: np.ndarray | None = None,
    bonus: np.ndarray | None = None,
) -> np.ndarray:
    """The path with each word said the way the network hears best within its place.

    A forced aligner's choice among a dictionary's pronunciations (speakers reduce "to" to
    T AH0, say "caused" with AA or AO): the word keeps the hops the alignment gave it, and
    each of its pronunciations is placed there anew (:func:`_best_in_span`, the alignment's
    prior-scaled scores); the highest-scoring one replaces the first.

    Returns
    -------
    A new path; ``path`` itself is not changed.
    """
    chosen = path.copy()
    if len(chosen) == 0 or not any(word.variants for word in words):
        return chosen  # (no variant to place; nor a prior to take of no hops)
    scores = _scores(np.asarray(posteriors.log_probs, np.float64), hum, bonus)
    for word, (first, stop) in zip(words, spans, strict=True):
        if not word.variants or word.visemes is None or stop <= first:
            continue
        said = [(word.visemes, word.phones or (1,) * len(word.visemes)), *word.variants]
        placed = [
            _best_in_span(scores[first:stop], _word_units(WordToAlign(v, phones=n), min_hops))
            for v, n in said
        ]
        best = max(range(len(placed)), key=lambda i: placed[i][0])
        if best > 0:
            chosen[first:stop] = placed[best][1]
    return chosen


def _best_in_span(scores: np.ndarray, units: Sequence[tuple[int, int]]) -> tuple[float, np.ndarray]:
    """The best placement of ``units`` (viseme, shortest stay) over exactly these hops, in
    order, each shortened alike where the hops cannot hold them all: (score, per-hop path)."""
    n_hops = len(scores)
    squeeze = min(1.0, n_hops / sum(length for _, length in units))
    state_viseme: list[int] = []
    can_stay: list[bool] = []
    for v, wanted in units:
        length = max(1, int(wanted * squeeze))
        state_viseme += [v] * length
        can_stay += [False] * (length - 1) + [True]
    if len(state_viseme) > n_hops:
        return _VERY_UNLIKELY, np.full(n_hops, units[0][0], np.int64)
    visemes = np.array(state_viseme)
    stay = np.array(can_stay)
    emit = scores[:, visemes]
    score = np.full(len(visemes), _VERY_UNLIKELY)
    score[0] = emit[0, 0]
    advanced = np.zeros((n_hops, len(visemes)), bool)
    for t in range(1, n_hops):
        from_stay = np.where(stay, score, _VERY_UNLIKELY)
        from_previous = np.concatenate([[_VERY_UNLIKELY], score[:-1]])
        advanced[t] = from_previous > from_stay
        score = np.maximum(from_stay, from_previous) + emit[t]
    states = np.empty(n_hops, np.int64)
    state = len(visemes) - 1
    for t in range(n_hops - 1, -1, -1):
        states[t] = state
        state -= int(advanced[t, state])
    return float(score[-1]), visemes[states]


def transcript_phones(
    posteriors: VisemePosteriors,
    heard: HeardSpeech,
    audio: Audio | None = None,
    aligner: SphinxAligner | None = None,
) -> tuple[PhoneSegment, ...]:
    """The mouth's visemes for a recording whose words are known (heard or given).

    - Words: aligned over the whole recording (:func:`align_transcript`); a word the network
      finds :data:`WORD_DOUBT_NATS` per hop less likely than its own path takes the
      network's path instead (misheard, or another language than the one forced).
    - A language of :data:`SPHINX_LANGUAGES`, with ``aligner`` and ``audio`` given:
      PocketSphinx's English acoustic model (trained on real speech) places the words first
      (:func:`sphinx_timing`); its times replace Whisper's as tighter anchors and its visemes
      gain :data:`SPHINX_NATS` in the alignment (English: :data:`ENGLISH_SPHINX_NATS`).
    - No words, but the voice activity detector hears speech (a language or a voice Whisper
      cannot read): the network's own path inside the speech, silence outside.
    - No words and no speech (silence, music, noise): silence throughout.

    Returns
    -------
    Contiguous segments over the posteriors' hops (``phone`` is the viseme's name).
    """
    log_probs = np.asarray(posteriors.log_probs, np.float64)
    n_hops = len(log_probs)
    own = posteriors.viseme_path()
    words = words_to_align(heard.words, heard.language)
    if not words:
        path = np.full(n_hops, _SIL, np.int64)
        for start_s, end_s in heard.speech_spans:
            first = max(0, int(start_s / FEATURE_HOP_S))
            stop = min(n_hops, int(np.ceil(end_s / FEATURE_HOP_S)))
            path[first:stop] = own[first:stop]
        return path_to_phones(path)
    hum = None if audio is None else hum_strength(audio)
    bonus = None
    if aligner is not None and audio is not None and heard.language in SPHINX_LANGUAGES:
        english = heard.language == "en"
        # English: the first sections first, whose /r/ may tell the accent before the rest
        # is placed with pronunciations that a non-rhotic speaker would have said otherwise.
        placed = sphinx_sections(
            aligner, audio, words, log_probs, heard.language,
            stop_section=ACCENT_SECTIONS if english else None,
        )  # fmt: skip
        rest = ACCENT_SECTIONS if english else None
        measured = r_f3_ratio(audio, recording_phones(placed)) if english else None
        if measured is not None and measured[1] < ACCENT_EARLY_TOKENS:
            placed += sphinx_sections(
                aligner, audio, words, log_probs, heard.language, first_section=ACCENT_SECTIONS
            )
            measured = r_f3_ratio(audio, recording_phones(placed))
            rest = None
        if measured is not None and not says_r_after_vowels(audio, measured):
            # A non-rhotic speaker: the words said without the dictionary's /r/, placed anew.
            words = words_to_align(heard.words, heard.language, rhotic=False)
            placed = sphinx_sections(aligner, audio, words, log_probs, heard.language)
            rest = None
        if rest is not None:
            placed += sphinx_sections(
                aligner, audio, words, log_probs, heard.language, first_section=rest
            )
        bonus, words = sphinx_timing(
            aligner, audio, words, log_probs, hum, heard.language, placed=placed
        )
    path, spans = align_in_sections(posteriors, words, hum=hum, bonus=bonus)
    path = choose_variants(posteriors, words, path, spans, hum=hum, bonus=bonus)
    hops = np.arange(n_hops)
    for first, stop in spans:
        if stop > first:
            span = hops[first:stop]
            doubt = np.mean(log_probs[span, own[span]] - log_probs[span, path[span]])
            if doubt > WORD_DOUBT_NATS:
                path[span] = own[span]
    return path_to_phones(path)


@dataclass(frozen=True)
class SphinxSection:
    """PocketSphinx's alignment of one section's words (:func:`sphinx_sections`).

    Attributes
    ----------
    first_word, stop_word: the section's words, ``words[first_word:stop_word]``
    first_hop, stop_hop: its hops
    start_s: where the audio aligned starts in the recording (half a hop before
        ``first_hop``)
    phones: the aligned phones, times in the section's audio (from ``start_s``), word
        indices within the section; None where PocketSphinx could not align it
    """

    first_word: int
    stop_word: int
    first_hop: int
    stop_hop: int
    start_s: float
    phones: tuple[AlignedPhone, ...] | None


def sphinx_sections(
    aligner: SphinxAligner,
    audio: Audio,
    words: Sequence[WordToAlign],
    log_probs: np.ndarray,
    language: str = "en",
    max_section_s: float = MAX_SECTION_S,
    first_section: int = 0,
    stop_section: int | None = None,
) -> list[SphinxSection]:
    """The words force-aligned by PocketSphinx in the sections :func:`align_in_sections`
    would cut (a whole recording at once would hold every frame's every state); a section
    with a word the network alone must place (no pronunciation, or Whisper unsure of it) is
    left out. Each word is given as :attr:`WordToAlign.arpabet` says, else by its text.
    ``first_section``, ``stop_section``: only the sections cut[first_section:stop_section]."""
    cuts = _sections(words, log_probs, max_section_s)
    samples = resample(audio, ANALYSIS_SAMPLE_RATE)
    hop_samples = round(FEATURE_HOP_S * samples.sample_rate)
    sections = []  # (first word, stop word, first hop, stop hop, first sample)
    for (first_word, first_hop), (stop_word, stop_hop) in list(pairwise(cuts))[
        first_section:stop_section
    ]:
        if first_word == stop_word or any(w.visemes is None for w in words[first_word:stop_word]):
            continue
        # Hop i stands for the instant i * 10 ms: the section's audio starts half a hop early.
        first_sample = max(0, first_hop * hop_samples - hop_samples // 2)
        sections.append((first_word, stop_word, first_hop, stop_hop, first_sample))
    aligned = aligner.align_all(
        [
            (
                Audio(samples.samples[first_sample : stop_hop * hop_samples - hop_samples // 2],
                      samples.sample_rate),
                [w.text if w.arpabet is None else (w.text, w.arpabet)
                 for w in words[first_word:stop_word]],
            )
            for first_word, stop_word, _, stop_hop, first_sample in sections
        ],
        language,
    )  # fmt: skip
    return [
        SphinxSection(
            first_word, stop_word, first_hop, stop_hop, first_sample / samples.sample_rate, phones
        )
        for (first_word, stop_word, first_hop, stop_hop, first_sample), phones in zip(
            sections, aligned, strict=True
        )
    ]


def recording_phones(sections: Sequence[SphinxSection]) -> list[AlignedPhone]:
    """The sections' aligned phones in order, times in the whole recording, word indices
    into the words aligned (a pause between two sections)."""
    phones: list[AlignedPhone] = []
    for section in sections:
        if section.phones is None:
            continue
        if phones:
            phones.append(AlignedPhone(phones[-1].end_s, phones[-1].end_s, "SIL", -1))
        phones += [
            replace(
                p,
                start_s=p.start_s + section.start_s,
                end_s=p.end_s + section.start_s,
                word=p.word + section.first_word if p.word >= 0 else -1,
            )
            for p in section.phones
        ]
    return phones


def sphinx_timing(
    aligner: SphinxAligner,
    audio: Audio,
    words: Sequence[WordToAlign],
    log_probs: np.ndarray,
    hum: np.ndarray | None = None,
    language: str = "en",
    max_section_s: float = MAX_SECTION_S,
    placed: Sequence[SphinxSection] | None = None,
) -> tuple[np.ndarray, list[WordToAlign]]:
    """PocketSphinx's placement of the words (``language``: English, or another language's
    sounds as the nearest English phones), as a prior for :func:`align_transcript`.

    The words are force-aligned by :class:`~gioconda.speech.sphinx_align.SphinxAligner` in
    sections (:func:`sphinx_sections`, at most ``max_section_s`` long; ``placed``: its result
    for these words, already computed, whose sections are as they were cut). A section with
    a word the network alone must place, or that PocketSphinx cannot align, keeps Whisper's
    times and no bonus.

    Returns
    -------
    (bonus, words): at each hop, for the viseme PocketSphinx places there, :data:`SPHINX_NATS`
    (English: :data:`ENGLISH_SPHINX_NATS`, spread over its boundaries by
    :data:`SPHINX_SPREAD_HOPS`) (hops, visemes); the words with its times as anchors,
    :data:`SPHINX_SLACK_S` of slack
    """
    bonus = np.zeros(log_probs.shape)
    nats, spread_hops = (
        (ENGLISH_SPHINX_NATS, SPHINX_SPREAD_HOPS) if language == "en" else (SPHINX_NATS, 0.0)
    )
    timed = list(words)
    if placed is None:
        placed = sphinx_sections(aligner, audio, words, log_probs, language, max_section_s)
    for placed_section in placed:
        phones = placed_section.phones
        if phones is None:
            continue
        first_word, stop_word = placed_section.first_word, placed_section.stop_word
        first_hop, stop_hop = placed_section.first_hop, placed_section.stop_hop
        offset_s = placed_section.start_s - first_hop * FEATURE_HOP_S
        path, spans = aligned_path(
            [replace(p, start_s=p.start_s + offset_s, end_s=p.end_s + offset_s) for p in phones],
            stop_hop - first_hop,
            stop_word - first_word,
        )
        section = np.zeros((stop_hop - first_hop, log_probs.shape[1]))
        section[np.arange(len(section)), path] = nats
        for phone in phones:
            if _implausibly_long(phone):
                # The hops aligned_path gives the phone: i * 10 ms in [start, end).
                first = max(0, int(np.ceil((phone.start_s + offset_s) / FEATURE_HOP_S)))
                stop = int(np.ceil((phone.end_s + offset_s) / FEATURE_HOP_S))
                section[first:stop] = 0.0
        if spread_hops > 0:
            section = gaussian_filter1d(section, spread_hops, axis=0, mode="nearest")
        bonus[first_hop:stop_hop] = section
        for i, (first, stop) in enumerate(spans):
            if stop > first:
                timed[first_word + i] = replace(
                    words[first_word + i],
                    start_s=(first_hop + first) * FEATURE_HOP_S,
                    end_s=(first_hop + stop) * FEATURE_HOP_S,
                    slack_s=SPHINX_SLACK_S,
                )
    if hum is not None:
        n = min(len(log_probs), len(hum))
        strength = np.clip(np.asarray(hum[:n], np.float64), 0.0, 1.0)
        bonus[:n, _PP] = np.maximum(bonus[:n, _PP], HUM_LIFT * nats * strength)
    return bonus, timed


def _implausibly_long(phone: AlignedPhone) -> bool:
    """Whether PocketSphinx gives a consonant longer than it can last
    (:data:`CONSONANT_MAX_S`)."""
    longest = CONSONANT_MAX_S.get(phone.phone.strip().upper().rstrip("012"))
    return longest is not None and phone.end_s - phone.start_s > longest


def read_transcript(text_or_path: str) -> str:
    """A transcript given as its text or as a path to a UTF-8 text file.

    Raises
    ------
    GiocondaError: the file cannot be read, or the transcript has no words.
    """
    text = text_or_path
    path = Path(text_or_path)
    if "\n" not in text_or_path and len(text_or_path) < 4096 and path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise GiocondaError(f"cannot read the transcript {text_or_path}: {error}") from None
    if not text.split():
        raise GiocondaError("the transcript is empty")
    return text


def transcript_words(text: str) -> tuple[HeardWord, ...]:
    """The words of a transcript, in order, without times."""
    return tuple(HeardWord(word) for word in text.split())


class WhisperRecognizer:
    """Whisper's words placed by our network (:func:`transcript_phones`): any language.

    Parameters
    ----------
    language: ISO 639-1 code to force; None detects the language
    transcript: what is said, if known: recognition is skipped and these words are aligned
        (the language is then detected from the audio unless given)
    listener: the :class:`WhisperListener` to use (default: the process's shared one)
    """

    name = "whisper"

    def __init__(
        self,
        language: str | None = None,
        transcript: str | None = None,
        listener: WhisperListener | None = None,
    ) -> None:
        from gioconda.speech.visemenet import VisemeNet

        if language is not None:
            check_language(language)
        self.language = language
        self.transcript = read_transcript(transcript) if transcript is not None else None
        self._net = VisemeNet()
        self._listener = listener or WhisperListener.shared()
        #: What the last :meth:`recognize` heard (for reports and cue files).
        self.heard: HeardSpeech | None = None

    @property
    def listener(self) -> WhisperListener:
        """The Whisper models this recognizer uses (share them with another)."""
        return self._listener

    def hear(self, audio: Audio, progress: Progress = no_progress) -> HeardSpeech:
        """The words (heard, or the transcript's) and the speech spans of ``audio``;
        ``progress`` as :meth:`WhisperListener.listen` reports it."""
        if self.transcript is None:
            return self._listener.listen(audio, self.language, progress)
        from gioconda.speech.whisper import speech_spans, whisper_samples

        language = self.language or self._listener.detect_language(audio)
        spans = speech_spans(whisper_samples(audio))
        words = transcript_words(self.transcript)
        _log.info(
            "recognition: skipped, the transcript's %d words; language %s (%s)",
            len(words), language, "given" if self.language else "detected by Whisper",
        )  # fmt: skip
        return HeardSpeech(words, language, spans)

    def _log_heard(self, heard: HeardSpeech) -> None:
        """What ``-v`` says of the recognition (a transcript's case is said in :meth:`hear`)."""
        from gioconda.speech.whisper import ENGLISH_MODEL, MULTILINGUAL_MODEL

        if self.transcript is not None:
            return
        if not heard.speech_spans:
            _log.info("recognition: Silero VAD hears no speech; Whisper not run")
        elif not heard.words and self.language is not None:
            _log.info(
                "recognition: --language %s, but Whisper hears little of it: no words, the "
                "network alone moves the mouth", self.language,
            )  # fmt: skip
        else:
            model = ENGLISH_MODEL if heard.language == "en" else MULTILINGUAL_MODEL
            how = "given" if self.language else f"detected by Whisper {MULTILINGUAL_MODEL}"
            _log.info(
                "recognition: Whisper %s (int8, CTranslate2), language %s (%s), %d words in %d "
                "stretches of speech (Silero VAD)", model, heard.language, how,
                len(heard.words), len(heard.speech_spans),
            )  # fmt: skip

    def recognize(self, audio: Audio, progress: Progress = no_progress) -> tuple[PhoneSegment, ...]:
        """The visemes of ``audio``; ``progress`` hears the "recognition" stage (Whisper,
        in seconds of audio) and the "alignment" stage (our network, then the alignment)."""
        # Our network listens on a thread of its own while Whisper does (it is small: a tenth
        # of a second a minute, in NumPy, mostly without Python's lock).
        with ThreadPoolExecutor(1, thread_name_prefix="gioconda-visemes") as pool:
            listened = pool.submit(self._net, audio)
            self.heard = self.hear(audio, progress)
            posteriors = listened.result()
        self._log_heard(self.heard)
        progress("alignment", 1, 2)
        aligner = SphinxAligner.shared() if self.heard.language in SPHINX_LANGUAGES else None
        phones = transcript_phones(posteriors, self.heard, audio, aligner)
        progress("alignment", 2, 2)
        _log.info(
            "alignment: %d words forced onto the viseme network's output%s (30 s sections), "
            "%d phone segments",
            len(self.heard.words),
            ", timed by PocketSphinx's en-us acoustic model" if aligner else "",
            len(phones),
        )  # fmt: skip
        return phones
