"""Japanese written in kanji, as Whisper writes it, read as kana before eSpeak NG reads it."""

from __future__ import annotations

import numpy as np

from gioconda.speech.audio import Audio, resample
from gioconda.speech.espeak import synthesize
from gioconda.speech.pronounce import japanese_readings, word_visemes, words_viseme_variants
from gioconda.speech.sphinx_align import SphinxAligner, foreign_ipa_to_arpabet
from gioconda.speech.transcript import (
    SPHINX_NATS,
    WhisperRecognizer,
    sphinx_timing,
    transcript_words,
    words_to_align,
)
from gioconda.speech.visemenet import VisemeNet
from gioconda.speech.visemes import PhoneSegment
from gioconda.speech.whisper import HeardSpeech
from gioconda.timeline import ANALYSIS_SAMPLE_RATE

LEAD_S = 0.4


def test_kanji_words_get_the_visemes_of_their_kana_reading() -> None:
    assert word_visemes("水", "ja") == word_visemes("みず", "ja") == ("PP", "ih", "SS", "ou")
    assert word_visemes("東京", "ja") == word_visemes("トーキョー", "ja")
    # Kanji and kana in one word: eSpeak alone drops the kanji (行きます read "kimasu").
    assert word_visemes("行きます", "ja") == word_visemes("いきます", "ja")
    assert word_visemes("龘", "ja") is None  # outside Janome's dictionary: as before


def test_readings_in_context_shared_among_the_words_whisper_split() -> None:
    # Whisper splits Japanese into characters: 東 and 京 read alone would be ヒガシ, キョウ.
    assert japanese_readings(["東", "京", "に", "行", "き", "ます。"]) == [
        "トウ", "キョウ", "ニ", "イ", "キ", "マス。",
    ]  # fmt: skip
    # The particle は is said ワ; Latin letters and digits stay as written.
    assert japanese_readings(["私", "は", "GPT", "を"]) == ["ワタシ", "ワ", "GPT", "ヲ"]
    # JSUT's first sentence as Whisper base wrote it: every word now has a pronunciation.
    heard = ["水", "を", "ま", "れ", "し", "や", "から", "変", "わ", "なく", "て", "は"]
    variants = words_viseme_variants(heard, "ja")
    assert all(v is not None for v in variants)
    assert variants[0] == (("PP", "ih", "SS", "ou"),)


def spoken(kana: str) -> tuple[Audio, list[PhoneSegment]]:
    """eSpeak NG's Japanese voice saying ``kana`` (it cannot read kanji), padded, 16 kHz."""
    speech = synthesize(kana, voice="ja")
    audio = resample(speech.audio, ANALYSIS_SAMPLE_RATE)
    pad = np.zeros(int(LEAD_S * audio.sample_rate), np.float32)
    phones = [
        PhoneSegment(p.start_s + LEAD_S, p.end_s + LEAD_S, p.phone, p.viseme) for p in speech.phones
    ]
    return Audio(np.concatenate([pad, audio.samples, pad]), audio.sample_rate), phones


def closure_centres(phones: tuple[PhoneSegment, ...]) -> list[float]:
    return [(p.start_s + p.end_s) / 2 for p in phones if p.viseme == "PP"]


def test_a_sentence_in_kanji_closes_the_lips_where_its_kana_does() -> None:
    kana, kanji = "まいあさ みずを のみます", "毎朝 水を 飲みます"
    audio, truth = spoken(kana)
    closures = [p for p in truth if p.viseme == "PP"]
    assert len(closures) == 4  # m of mai, mizu, nomi, masu
    by_kana = WhisperRecognizer(language="ja", transcript=kana).recognize(audio)
    by_kanji = WhisperRecognizer(language="ja", transcript=kanji).recognize(audio)
    for p in closures:
        assert any(
            q.viseme == "PP" and q.start_s < p.end_s and q.end_s > p.start_s for q in by_kanji
        )
    # The same closures as the kana transcript gives, each within two 10 ms frames.
    assert len(closure_centres(by_kanji)) == len(closure_centres(by_kana))
    for a, b in zip(closure_centres(by_kanji), closure_centres(by_kana), strict=True):
        assert abs(a - b) <= 0.02


def test_japanese_ipa_read_as_the_nearest_english_phones() -> None:
    # eSpeak NG's Japanese: a lowered vowel is a vowel, ɯ with its mark u, ɕ sh, ç h.
    assert foreign_ipa_to_arpabet("mˈizɯ͡ᵝ") == ("M", "IY", "Z", "UW")
    assert foreign_ipa_to_arpabet("t͡ɕˈo̞tto̞") == ("CH", "OW", "T", "T", "OW")
    assert foreign_ipa_to_arpabet("çˈito̞") == ("HH", "IY", "T", "OW")
    assert foreign_ipa_to_arpabet("ɸɯ͡ᵝd͡ʑˈisäɴ") == ("F", "UW", "JH", "IY", "S", "AA", "N")


def test_a_sentence_in_kanji_is_placed_by_pocketsphinx_as_its_reading() -> None:
    kana, kanji = "まいあさ みずを のみます", "毎朝 水を 飲みます"
    audio, truth = spoken(kana)
    heard = HeardSpeech(transcript_words(kanji), "ja", ((0.0, audio.duration_s),))
    words = words_to_align(heard.words, "ja")
    # PocketSphinx is given each word as it is said, read in context, not as written.
    assert [w.text for w in words] == ["マイアサ", "ミズヲ", "ノミマス"]
    phones = SphinxAligner.shared().align(audio, [w.text for w in words], "ja")
    assert phones is not None and max(p.word for p in phones) == 2
    # Its /m/ sit on eSpeak's four (mai, mizu, nomi, masu), each within 40 ms.
    aligned = [p for p in phones if p.phone == "M"]
    true = [p for p in truth if p.viseme == "PP"]
    assert len(aligned) == len(true) == 4
    for a, t in zip(aligned, true, strict=True):
        assert abs((a.start_s + a.end_s) / 2 - (t.start_s + t.end_s) / 2) <= 0.04, (a, t)
    # ... and the Whisper path takes its timing: every hop has PocketSphinx's viseme.
    posteriors = VisemeNet()(audio)
    bonus, timed = sphinx_timing(
        SphinxAligner.shared(), audio, words, posteriors.log_probs, language="ja"
    )
    assert (bonus.max(axis=1) == SPHINX_NATS).all()
    assert all(w.start_s is not None for w in timed)
