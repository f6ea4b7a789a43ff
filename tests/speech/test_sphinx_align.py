"""PocketSphinx's forced alignment of English words: where it puts /p b m/ against eSpeak NG's
true phone times, words outside its dictionary, and how the Whisper path uses it."""

from __future__ import annotations

import numpy as np
import pytest

from gioconda.speech.audio import Audio
from gioconda.speech.sphinx_align import AlignedPhone, SphinxAligner, ipa_to_arpabet
from gioconda.speech.transcript import (
    ENGLISH_SPHINX_NATS,
    PRIOR_WEIGHT,
    SPHINX_NATS,
    align_transcript,
    sphinx_timing,
    transcript_phones,
    words_to_align,
)
from gioconda.speech.visemenet import VisemeNet, VisemePosteriors
from gioconda.speech.visemes import VISEME_INDEX
from gioconda.speech.whisper import HeardSpeech, HeardWord
from gioconda.timeline import ANALYSIS_SAMPLE_RATE, FEATURE_HOP_S
from tests.speech.test_transcript import spoken


@pytest.fixture(scope="module")
def network() -> VisemeNet:
    return VisemeNet()


def test_espeak_ipa_read_as_arpabet() -> None:
    assert ipa_to_arpabet("fˈaɪv") == ("F", "AY", "V")
    assert ipa_to_arpabet("ɡɹˈɛɡsən") == ("G", "R", "EH", "G", "S", "AH", "N")
    assert ipa_to_arpabet("t͡ʃˈɜːt͡ʃ") == ("CH", "ER", "CH")


@pytest.mark.parametrize(
    "text",
    [
        "Bob put a big map on the pub table.",
        # "Gregson", "5" and "Pembroke's" are not in the CMU dictionary: eSpeak reads them
        "Gregson paid 5 pounds for Pembroke's map.",
    ],
)
def test_aligned_bilabials_sit_on_the_true_ones(text: str) -> None:
    audio, truth = spoken(text, "en-us")
    phones = SphinxAligner.shared().align(audio, text.split())
    assert phones is not None
    assert [p.word for p in phones if p.word >= 0] == sorted(p.word for p in phones if p.word >= 0)
    assert max(p.word for p in phones) == len(text.split()) - 1
    aligned = [p for p in phones if p.phone in ("P", "B", "M")]
    true = [p for p in truth if p.viseme == "PP"]
    assert len(true) >= 7
    errors = []
    for t in true:
        overlapping = [p for p in aligned if p.start_s < t.end_s and p.end_s > t.start_s]
        assert overlapping, t
        middle = (t.start_s + t.end_s) / 2
        errors.append(min(abs((p.start_s + p.end_s) / 2 - middle) for p in overlapping))
    assert np.median(errors) <= 0.02 and max(errors) <= 0.05, errors


def test_words_that_cannot_fit_are_not_aligned(network: VisemeNet) -> None:
    audio, _ = spoken("Hi.", "en-us")
    words = ("many more words than this short recording could ever hold " * 3).split()
    assert SphinxAligner.shared().align(audio, words) is None
    # ... and the Whisper path then aligns them on the network alone, as for other languages
    heard = HeardSpeech(tuple(HeardWord(w) for w in words), "en", ((0.0, audio.duration_s),))
    posteriors = network(audio)
    aligned = words_to_align(heard.words, "en")
    bonus, timed = sphinx_timing(SphinxAligner.shared(), audio, aligned, posteriors.log_probs)
    assert not bonus.any() and timed == aligned
    assert transcript_phones(posteriors, heard, audio, SphinxAligner.shared()) == (
        transcript_phones(posteriors, heard, audio)
    )


def test_english_words_take_pocketsphinx_timing(network: VisemeNet) -> None:
    text = "Bob put a big map on the pub table."
    audio, truth = spoken(text, "en-us")
    heard = HeardSpeech(tuple(HeardWord(w) for w in text.split()), "en", ((0, audio.duration_s),))
    posteriors = network(audio)
    words = words_to_align(heard.words, "en")
    bonus, timed = sphinx_timing(SphinxAligner.shared(), audio, words, posteriors.log_probs)
    # every hop has PocketSphinx's viseme (spread over its boundaries), every word its times
    assert (bonus.max(axis=1) >= ENGLISH_SPHINX_NATS / 2).all()
    assert bonus.max() <= ENGLISH_SPHINX_NATS + 1e-9
    assert all(w.start_s is not None and w.end_s is not None for w in timed)
    starts = [w.start_s for w in timed]
    assert starts == sorted(starts)
    first_true = next(p for p in truth if p.viseme != "sil")
    assert abs(starts[0] - first_true.start_s) < 0.05
    phones = transcript_phones(posteriors, heard, audio, SphinxAligner.shared())
    pp = VISEME_INDEX["PP"]
    for t in truth:
        if t.viseme == "PP":
            assert any(
                VISEME_INDEX[p.viseme] == pp and p.start_s < t.end_s and p.end_s > t.start_s
                for p in phones
            ), t


def test_other_languages_ignore_the_english_model(network: VisemeNet) -> None:
    text = "Buenos días, me llamo Pablo."
    audio, _ = spoken(text, "es")
    heard = HeardSpeech(tuple(HeardWord(w) for w in text.split()), "es", ((0, audio.duration_s),))
    posteriors = network(audio)
    assert transcript_phones(posteriors, heard, audio, SphinxAligner.shared()) == (
        transcript_phones(posteriors, heard, audio)
    )


SECTIONS = [
    "Bob put a big map on the pub table.",
    "My mum bought plums, bread and butter at the market.",
    "Peter played the piano by the open window.",
    "A bumblebee buzzed above the empty bottle.",
]


@pytest.fixture(scope="module")
def sections() -> list[tuple[object, list[str]]]:
    return [(spoken(text, "en-us")[0], text.split()) for text in SECTIONS]


def test_sections_aligned_in_a_forked_child_as_one_by_one(
    sections: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gioconda.speech.sphinx_align as sphinx_align

    assert sum(audio.duration_s for audio, _ in sections) >= sphinx_align.MIN_FORKED_S
    forked: list[int] = []

    class Counted(sphinx_align._ForkedAlignment):
        def __init__(self, aligner: SphinxAligner, jobs: list) -> None:
            forked.append(len(jobs))
            super().__init__(aligner, jobs)

    monkeypatch.setattr(sphinx_align, "_ForkedAlignment", Counted)
    aligner = SphinxAligner.shared()
    one_by_one = [aligner._run(aligner._job(audio, words)) for audio, words in sections]
    assert all(phones is not None for phones in one_by_one)
    assert aligner.align_all(sections) == one_by_one
    assert forked and 0 < forked[0] < len(sections)  # the later sections went to a child
    # ... and again: the decoder the child copied is left as it was
    assert aligner.align_all(sections) == one_by_one


@pytest.mark.parametrize("failure", ["dies", "hangs"])
def test_a_child_that_fails_leaves_its_sections_to_the_parent(
    sections: list, failure: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import time

    import gioconda.speech.sphinx_align as sphinx_align

    aligner = SphinxAligner.shared()
    expected = [aligner._run(aligner._job(audio, words)) for audio, words in sections]

    def failing(*_: object) -> None:
        if failure == "dies":
            os._exit(3)
        time.sleep(600)

    monkeypatch.setattr(sphinx_align, "_align_in_child", failing)
    monkeypatch.setattr(sphinx_align, "CHILD_WAIT_S", 0.5)
    start = time.monotonic()
    assert aligner.align_all(sections) == expected
    assert time.monotonic() - start < 20
    import multiprocessing

    assert not [p for p in multiprocessing.active_children() if p.name == "gioconda-align"]


def test_russian_bilabials_placed_by_their_nearest_english_phones() -> None:
    text = "Мама мыла раму, а папа пил воду."
    audio, truth = spoken(text, "ru")
    words = text.split()
    phones = SphinxAligner.shared().align(audio, words, "ru")
    assert phones is not None and max(p.word for p in phones) == len(words) - 1
    aligned = [p for p in phones if p.phone in ("P", "B", "M")]
    true = [p for p in truth if p.viseme == "PP"]
    assert len(aligned) == len(true) >= 6
    for a, t in zip(aligned, true, strict=True):
        assert abs((a.start_s + a.end_s) / 2 - (t.start_s + t.end_s) / 2) <= 0.04, (a, t)
    # Read as English, the same words have no pronunciation PocketSphinx could align.
    assert SphinxAligner.shared().align(audio, words) is None


class _GivenAlignment:
    """Stands in for :class:`SphinxAligner`: every section aligned as ``phones`` (times
    within the section's audio)."""

    def __init__(self, phones: list[AlignedPhone]) -> None:
        self.phones = phones

    def align_all(self, sections: list, language: str = "en") -> list[list[AlignedPhone]]:
        return [self.phones for _ in sections]


def test_a_consonant_pocketsphinx_draws_out_does_not_take_the_m_before_it() -> None:
    # MFA's "saying some words", talking really slow: the /m/ of "some" lasts 240 ms, then
    # the /w/ 50 ms and the /er/ of "words" 540 ms; PocketSphinx gives the /m/ 50 ms and the
    # /w/ 290 ms, over most of the /m/ (on main the alignment then gave the /m/ 70 ms and the
    # /w/'s rounded mouth 800 ms). The network hears the /m/ a little more than a rounded
    # mouth, then the /er/.
    def hops(s: float) -> int:
        return round(s / FEATURE_HOP_S)

    n_hops = hops(2.0)
    probs = np.full((n_hops, len(VISEME_INDEX)), 0.01)
    for viseme, start_s, end_s, p in [
        ("sil", 0.0, 0.3, 0.9), ("SS", 0.3, 0.4, 0.9), ("aa", 0.4, 0.5, 0.9),
        ("PP", 0.5, 0.74, 0.5), ("ou", 0.5, 0.79, 0.3), ("RR", 0.79, 1.33, 0.6),
        ("ou", 0.74, 1.33, 0.2), ("DD", 1.33, 1.4, 0.9), ("SS", 1.4, 1.5, 0.9),
        ("sil", 1.5, 2.0, 0.9),
    ]:  # fmt: skip
        probs[hops(start_s) : hops(end_s), VISEME_INDEX[viseme]] = p
    posteriors = VisemePosteriors(np.log(probs / probs.sum(axis=1, keepdims=True)))
    said = [("S", 0.3, 0.4, 0), ("AH", 0.4, 0.5, 0), ("M", 0.5, 0.55, 0), ("W", 0.55, 0.84, 1),
            ("ER", 0.84, 1.39, 1), ("D", 1.39, 1.45, 1), ("Z", 1.45, 1.55, 1)]  # fmt: skip
    aligner = _GivenAlignment([AlignedPhone(a, b, phone, w) for phone, a, b, w in said])
    audio = Audio(np.zeros(round(2.0 * ANALYSIS_SAMPLE_RATE), np.float32), ANALYSIS_SAMPLE_RATE)
    words = words_to_align((HeardWord("some", 0.3, 0.6), HeardWord("words", 0.6, 1.55)), "en")
    bonus, timed = sphinx_timing(aligner, audio, words, posteriors.log_probs)  # type: ignore[arg-type]
    # PocketSphinx's 290 ms /w/ is not trusted; its other phones are (their interiors fully,
    # the hops next to an edge in part: the prior is spread over its boundaries)
    assert bonus[hops(0.55) + 3 : hops(0.84) - 3].max() < 0.01 * ENGLISH_SPHINX_NATS
    assert (bonus[hops(0.3) : hops(0.55)].max(axis=1) >= ENGLISH_SPHINX_NATS / 2).all()
    assert (bonus[hops(0.84) : hops(1.55)].max(axis=1) >= ENGLISH_SPHINX_NATS / 2).all()
    vowel = bonus[hops(0.84) + 3 : hops(1.39) - 3, VISEME_INDEX["RR"]]
    assert np.allclose(vowel, ENGLISH_SPHINX_NATS, rtol=1e-3)
    path, _ = align_transcript(posteriors, timed, bonus=bonus)
    closed = np.flatnonzero(path == VISEME_INDEX["PP"]) * FEATURE_HOP_S
    assert closed.min() <= 0.52 and closed.max() >= 0.7, closed
    assert (path[hops(0.85) : hops(1.3)] == VISEME_INDEX["RR"]).all()


def test_english_vowel_the_network_hears_as_another_mouth_keeps_pocketsphinxs_place() -> None:
    # MFA's "words" said slowly: PocketSphinx places the /ɝ/ right (540 ms), but our network
    # (trained on synthetic speech) hears it as the rounded /w/ before it, on that recording
    # by 2 nats a hop on average under the alignment's scores; here by 1.75, more than the
    # prior that holds for other languages' nearest-English phones (SPHINX_NATS), less than
    # English's (ENGLISH_SPHINX_NATS).
    def hops(s: float) -> int:
        return round(s / FEATURE_HOP_S)

    margin = 1.75
    assert SPHINX_NATS < margin < ENGLISH_SPHINX_NATS
    n_hops = hops(1.2)
    probs = np.full((n_hops, len(VISEME_INDEX)), 0.005)
    for viseme, start_s, end_s, p in [
        ("sil", 0.0, 0.2, 0.9), ("ou", 0.2, 0.3, 0.9), ("ou", 0.3, 0.8, 0.5),
        ("DD", 0.8, 0.87, 0.9), ("SS", 0.87, 0.95, 0.9), ("sil", 0.95, 1.2, 0.9),
    ]:  # fmt: skip
        probs[hops(start_s) : hops(end_s), VISEME_INDEX[viseme]] = p
    log_probs = np.log(probs / probs.sum(axis=1, keepdims=True))
    # The /ɝ/'s hops: RR less likely than the rounded mouth by ``margin`` under the
    # alignment's prior-scaled scores (log-posterior less PRIOR_WEIGHT x log of its mean).
    ou, rr = VISEME_INDEX["ou"], VISEME_INDEX["RR"]
    vowel = slice(hops(0.3), hops(0.8))
    for _ in range(20):  # the mean moves with the value: a few fixed-point steps
        prior = np.log(np.exp(log_probs).mean(axis=0) + 1e-3)
        scaling = PRIOR_WEIGHT * (prior[ou] - prior[rr])
        log_probs[vowel, rr] = log_probs[vowel, ou] - margin - scaling
    posteriors = VisemePosteriors(log_probs)
    said = [("W", 0.2, 0.3, 0), ("ER", 0.3, 0.8, 0), ("D", 0.8, 0.87, 0), ("Z", 0.87, 0.95, 0)]
    aligner = _GivenAlignment([AlignedPhone(a, b, phone, w) for phone, a, b, w in said])
    audio = Audio(np.zeros(round(1.2 * ANALYSIS_SAMPLE_RATE), np.float32), ANALYSIS_SAMPLE_RATE)
    words = words_to_align((HeardWord("words", 0.2, 0.95),), "en")
    bonus, timed = sphinx_timing(aligner, audio, words, posteriors.log_probs)  # type: ignore[arg-type]
    path, _ = align_transcript(posteriors, timed, bonus=bonus)
    assert (path[hops(0.35) : hops(0.75)] == rr).all(), path
    # Japanese keeps the weaker prior: there the network's rounded mouth stands
    bonus, timed = sphinx_timing(aligner, audio, words, posteriors.log_probs, language="ja")  # type: ignore[arg-type]
    path, _ = align_transcript(posteriors, timed, bonus=bonus)
    assert (path[hops(0.35) : hops(0.75)] == ou).all(), path
