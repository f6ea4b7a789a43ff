"""Forced alignment: a word sequence's visemes placed in time on our network's posteriors (the
words say what, the network says when).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gioconda.speech.visemenet import VisemePosteriors, path_to_phones
from gioconda.speech.visemes import VISEME_INDEX, PhoneSegment, arpabet_to_viseme
from gioconda.timeline import FEATURE_HOP_S


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
