"""Whisper lip sync: pronunciations, the transcript path, robustness to sounds nobody said,
another language, and /p/ shut before /f/. Speech is eSpeak NG's (true phone times known)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from gioconda.errors import GiocondaError
from gioconda.speech.audio import Audio, resample
from gioconda.speech.espeak import synthesize
from gioconda.speech.pronounce import word_viseme_variants, word_visemes
from gioconda.speech.transcript import (
    WhisperRecognizer,
    WordToAlign,
    align_in_sections,
    align_transcript,
    choose_variants,
    read_transcript,
    trusted,
    words_to_align,
)
from gioconda.speech.visemenet import VisemeNet
from gioconda.speech.visemes import VISEME_INDEX, PhoneSegment
from gioconda.speech.whisper import HeardWord, WhisperListener, model_folder
from gioconda.timeline import ANALYSIS_SAMPLE_RATE, FEATURE_HOP_S

LEAD_S = 0.4  # silence around the speech, as in a recording
PP = VISEME_INDEX["PP"]


def spoken(text: str, voice: str) -> tuple[Audio, list[PhoneSegment]]:
    """eSpeak speech with silence before and after, at 16 kHz, and its true phones."""
    speech = synthesize(text, voice=voice)
    audio = resample(speech.audio, ANALYSIS_SAMPLE_RATE)
    pad = np.zeros(int(LEAD_S * audio.sample_rate), np.float32)
    samples = np.concatenate([pad, audio.samples, pad])
    phones = [
        PhoneSegment(p.start_s + LEAD_S, p.end_s + LEAD_S, p.phone, p.viseme) for p in speech.phones
    ]
    return Audio(samples, audio.sample_rate), phones


def closed_at(phones: tuple[PhoneSegment, ...], start_s: float, end_s: float) -> bool:
    """Whether some PP segment overlaps [start_s, end_s]."""
    return any(p.viseme == "PP" and p.start_s < end_s and p.end_s > start_s for p in phones)


def frame_accuracy(truth: list[PhoneSegment], phones: tuple[PhoneSegment, ...]) -> float:
    """Share of 10 ms hops inside the speech where the visemes agree."""
    start, end = truth[0].start_s, truth[-1].end_s
    times = np.arange(start, end, FEATURE_HOP_S) + FEATURE_HOP_S / 2

    def at(segments, t):
        return next((s.viseme for s in segments if s.start_s <= t < s.end_s), "sil")

    return float(np.mean([at(truth, t) == at(phones, t) for t in times]))


@pytest.fixture(scope="module")
def listener() -> WhisperListener:
    return WhisperListener()


@pytest.fixture(scope="module")
def network() -> VisemeNet:
    return VisemeNet()


def test_word_visemes_in_several_languages() -> None:
    assert word_visemes("Bob,", "en") == ("PP", "aa", "PP")  # CMU dictionary, punctuation off
    assert word_visemes("5", "en")[0] == "FF"  # a numeral is read ("five")
    assert word_visemes("Zyxwvutz", "en")  # not in the dictionary: eSpeak's rules
    assert word_visemes("bonjour", "fr")[0] == "PP"
    assert word_visemes("みず", "ja")[0] == "PP"  # kana: eSpeak reads them
    assert word_visemes("水", "ja") == word_visemes("みず", "ja")  # kanji: read as kana first
    assert word_visemes("龘", "ja") is None  # a kanji nobody reads: the network decides
    assert word_visemes("—", "en") == ()


def test_dictionary_variants_are_every_distinct_way_a_word_moves_the_mouth() -> None:
    # CMUdict lists "wind" the verb first (W AY1 N D), then the noun (W IH1 N D).
    assert word_viseme_variants("wind", "en") == (
        ("ou", "aa", "nn", "DD"),
        ("ou", "ih", "nn", "DD"),
    )
    assert ("DD", "aa") in word_viseme_variants("to", "en")  # reduced T AH0
    assert word_viseme_variants("Bob,", "en") == (("PP", "aa", "PP"),)
    assert word_viseme_variants("bonjour", "fr") == (word_visemes("bonjour", "fr"),)
    assert word_viseme_variants("龘", "ja") is None
    # Variants that differ only in phones of one viseme are one ("for" F ER0 / F R ER0).
    [word] = words_to_align([HeardWord("for")], "en")
    assert len({word.visemes, *(v for v, _ in word.variants)}) == len(word.variants) + 1


def test_the_is_said_by_the_next_words_first_sound() -> None:
    # /ðə/ before a consonant sound, for the visemes and for PocketSphinx ("the" DH AH and
    # DH IY in its dictionary); before a vowel sound both stay, chosen by the sound.
    for sentence in ("the chill", "the university", "The table.", "the one", "the 5"):
        the = words_to_align([HeardWord(w) for w in sentence.split()], "en")[0]
        expected = (VISEME_INDEX["TH"], VISEME_INDEX["aa"])
        assert (the.visemes, the.variants, the.arpabet) == (expected, (), ("DH", "AH")), sentence
    for sentence in (
        "the apple",
        "the hour",
        "the",
        "the ... apple",
        "the. Cat",
        "the 8",
        "the ' apple",
    ):
        the = words_to_align([HeardWord(w) for w in sentence.split()], "en")[0]
        assert the.variants == (((VISEME_INDEX["TH"], VISEME_INDEX["ih"]), (1, 1)),), sentence
        assert the.arpabet is None


def test_cmu_pronunciations_are_the_files_lines_in_order() -> None:
    # The dictionary is kept as text and split when a word is looked up: the same phones, in
    # the file's order ("to", "to(2)", "to(3)"), as reading it line by line.
    from pocketsphinx import get_model_path

    from gioconda.speech.pronounce import _cmu_pronunciations

    path = os.path.join(get_model_path(), "en-us", "cmudict-en-us.dict")
    with open(path, encoding="utf-8") as f:
        lines = [line.split() for line in f if line.split()[0] in ("to", "to(2)", "to(3)")]
    assert _cmu_pronunciations("to") == tuple(tuple(phones) for _, *phones in lines)
    assert len(lines) == 3
    assert _cmu_pronunciations("'bout") == (("B", "AW", "T"),)
    assert _cmu_pronunciations("notaword") is None


@pytest.mark.parametrize("text", ["The cold wind blew over the hill.", "A strong wind came."])
def test_the_pronunciation_the_network_hears_is_chosen(network: VisemeNet, text: str) -> None:
    # eSpeak says the noun, /wInd/; the dictionary's first "wind" is the verb, /waInd/.
    audio, truth = spoken(text, "en-us")
    posteriors = network(audio)
    words = words_to_align([HeardWord(w) for w in text.split()], "en")
    path, spans = align_in_sections(posteriors, words)
    chosen = choose_variants(posteriors, words, path, spans)
    first, stop = spans[[w.lower() for w in text.split()].index("wind")]
    assert VISEME_INDEX["aa"] in path[first:stop]  # the first pronunciation, placed
    assert VISEME_INDEX["ih"] in chosen[first:stop] and VISEME_INDEX["aa"] not in chosen[first:stop]
    assert (chosen[:first] == path[:first]).all() and (chosen[stop:] == path[stop:]).all()
    said = [
        p for p in truth if p.start_s < stop * FEATURE_HOP_S and p.end_s > first * FEATURE_HOP_S
    ]
    assert "I" in "".join(p.phone for p in said)


def test_whole_utterance_alignment_keeps_word_order_and_anchors(network: VisemeNet) -> None:
    audio, truth = spoken("Bob put a big map on the pub table.", "en-us")
    posteriors = network(audio)
    words = words_to_align(
        [HeardWord(w) for w in "Bob put a big map on the pub table.".split()], "en"
    )
    _, spans = align_transcript(posteriors, words)
    starts = [first for first, _ in spans]
    assert starts == sorted(starts) and all(stop > first for first, stop in spans)
    # Every word lies within the speech, none in the silence around it.
    speech = (truth[0].start_s, truth[-1].end_s)
    assert spans[0][0] * FEATURE_HOP_S > speech[0] - 0.15
    assert spans[-1][1] * FEATURE_HOP_S < speech[1] + 0.15


@pytest.mark.parametrize("timed", [True, False])
def test_long_recordings_are_aligned_in_sections_like_one_pass(
    network: VisemeNet, timed: bool
) -> None:
    """Sections keep memory flat on long recordings (one pass over 10 minutes would hold ~20
    GB) and place the words where one pass does, with Whisper's times or without any."""
    text = "Bob put a big map on the pub table. Mom made plum jam, bump by bump, for the mob."
    audio, truth = spoken(text, "en-us")
    posteriors = network(audio)
    words = words_to_align([HeardWord(w) for w in text.split()], "en")
    one_path, one_spans = align_transcript(posteriors, words)
    if timed:  # Whisper-like times: the one pass's, 60 ms late
        words = [
            WordToAlign(w.visemes, first * FEATURE_HOP_S + 0.06, stop * FEATURE_HOP_S + 0.06)
            for w, (first, stop) in zip(words, one_spans, strict=True)
        ]
    # Sections far shorter than the 30 s used, so that cuts fall among the words; without
    # times a cut is placed by the words' share of the visemes, which needs some room.
    max_section_s = 2.0 if timed else 3.0
    assert len(posteriors.log_probs) * FEATURE_HOP_S > 2 * max_section_s  # several sections
    path, spans = align_in_sections(posteriors, words, max_section_s=max_section_s)
    starts = [first for first, _ in spans]
    assert starts == sorted(starts) and all(stop > first for first, stop in spans)
    assert all(stop - first <= 150 for first, stop in spans)
    # The words land where one pass puts them (within 50 ms for most), and the visemes agree.
    near = [abs(a[0] - b[0]) <= 5 for a, b in zip(spans, one_spans, strict=True)]
    assert np.mean(near) >= (0.85 if timed else 0.6)
    speech = slice(int(truth[0].start_s / FEATURE_HOP_S), int(truth[-1].end_s / FEATURE_HOP_S))
    assert np.mean(path[speech] == one_path[speech]) >= (0.85 if timed else 0.7)


def test_transcript_path_places_every_closure(network: VisemeNet) -> None:
    text = "Bob put a big map on the pub table."
    audio, truth = spoken(text, "en-us")
    recognizer = WhisperRecognizer(language="en", transcript=text)
    phones = recognizer.recognize(audio)
    assert [w.text for w in recognizer.heard.words] == text.split()
    closures = [p for p in truth if p.viseme == "PP"]
    assert len(closures) >= 8
    assert all(closed_at(phones, p.start_s, p.end_s) for p in closures)
    accuracy = frame_accuracy(truth, phones)
    assert accuracy > frame_accuracy(truth, network(audio).to_phones())
    assert accuracy > 0.6


def test_read_transcript_text_or_file(tmp_path) -> None:
    path = tmp_path / "dialog.txt"
    path.write_text("Hello there,\nGeneral Kenobi.\n", encoding="utf-8")
    assert read_transcript(str(path)).split() == ["Hello", "there,", "General", "Kenobi."]
    assert read_transcript("just words") == "just words"
    with pytest.raises(GiocondaError):
        read_transcript("   ")


def test_p_before_f_shuts_the_lips(listener: WhisperListener) -> None:
    # /p/ before /f/ and before a stop: the lips meet though little release is heard.
    audio, truth = spoken("Take one step forward, then drop five cups.", "en-us")
    recognizer = WhisperRecognizer(listener=listener)
    phones = recognizer.recognize(audio)
    assert recognizer.heard.language == "en"
    assert "forward" in " ".join(w.text.lower() for w in recognizer.heard.words)
    bilabials = [p for p in truth if p.viseme == "PP"]
    assert len(bilabials) == 3  # steP, droP, cuPs
    for p in bilabials:
        assert closed_at(phones, p.start_s - 0.02, p.end_s + 0.02), p


def test_a_part_20_db_quieter_still_speaks(listener: WhisperListener) -> None:
    loud, loud_truth = spoken("Bob bought a map.", "en-us")
    quiet, quiet_truth = spoken("Pam made a puppet.", "en-us")
    audio = Audio(np.concatenate([loud.samples, 0.1 * quiet.samples]), loud.sample_rate)
    later = [
        PhoneSegment(p.start_s + loud.duration_s, p.end_s + loud.duration_s, p.phone, p.viseme)
        for p in quiet_truth
    ]
    recognizer = WhisperRecognizer(language="en", listener=listener)
    phones = recognizer.recognize(audio)
    heard = [w for w in recognizer.heard.words if w.start_s > loud.duration_s]
    assert len(heard) >= 3  # the quiet sentence's words were heard
    bilabials = [p for p in (*loud_truth, *later) if p.viseme == "PP"]
    found = sum(closed_at(phones, p.start_s - 0.02, p.end_s + 0.02) for p in bilabials)
    assert found >= len(bilabials) - 1
    # ... and the lips do not shut all the time
    shut = sum(p.end_s - p.start_s for p in phones if p.viseme == "PP")
    assert shut < 0.35 * audio.duration_s


def music(seconds: float, rate: int = ANALYSIS_SAMPLE_RATE) -> np.ndarray:
    """Chords that change every half second over a drum beat."""
    t = np.arange(int(seconds * rate)) / rate
    chords = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6)]
    out = np.zeros_like(t)
    for i, chord in enumerate(chords):
        on = ((t * 2).astype(int) % len(chords)) == i
        for f in chord:
            out += on * 0.12 * np.sin(2 * np.pi * f * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
    beat = np.mod(t, 0.5) < 0.04
    out += (
        beat * 0.3 * np.random.default_rng(0).standard_normal(len(t)) * np.exp(-np.mod(t, 0.5) * 60)
    )
    return out.astype(np.float32)


@pytest.mark.parametrize("sound", ["silence", "music", "noise"])
def test_no_words_from_sounds_nobody_said(
    sound: str, listener: WhisperListener, network: VisemeNet
) -> None:
    rate = ANALYSIS_SAMPLE_RATE
    samples = {
        "silence": np.zeros(4 * rate, np.float32),
        "music": music(4.0),
        "noise": 0.05 * np.random.default_rng(1).standard_normal(4 * rate).astype(np.float32),
    }[sound]
    audio = Audio(samples, rate)
    recognizer = WhisperRecognizer(listener=listener)
    phones = recognizer.recognize(audio)
    assert recognizer.heard.words == ()
    assert {p.viseme for p in phones} == {"sil"}
    if sound == "music":  # the network alone would move the mouth: the guard matters
        assert {p.viseme for p in network(audio).to_phones()} != {"sil"}


@pytest.mark.parametrize("forced", ["ja", "fr"])
def test_speech_in_another_language_than_forced_adds_no_closures(
    forced: str, listener: WhisperListener, network: VisemeNet
) -> None:
    # Whisper forced to a language would write a translation: words nobody said.
    audio, truth = spoken("Guten Morgen, mein Name ist Bernd.", "de")
    recognizer = WhisperRecognizer(language=forced, listener=listener)
    phones = recognizer.recognize(audio)
    assert recognizer.heard.words == ()
    allowed = [p for p in (*truth, *network(audio).to_phones()) if p.viseme == "PP"]
    for p in phones:
        if p.viseme == "PP":
            assert any(a.start_s < p.end_s and a.end_s > p.start_s for a in allowed), p
    assert any(p.viseme != "sil" for p in phones)  # the network still moves the mouth


def test_non_english_speech(listener: WhisperListener, network: VisemeNet) -> None:
    text = "Buenos días, me llamo Pablo y vivo en Barcelona."
    audio, truth = spoken(text, "es")
    recognizer = WhisperRecognizer(listener=listener)
    phones = recognizer.recognize(audio)
    assert recognizer.heard.language == "es"
    assert len(recognizer.heard.words) >= 6
    bilabials = [p for p in truth if p.viseme == "PP"]
    found = sum(closed_at(phones, p.start_s - 0.02, p.end_s + 0.02) for p in bilabials)
    alone = sum(
        closed_at(network(audio).to_phones(), p.start_s - 0.02, p.end_s + 0.02) for p in bilabials
    )
    assert found >= len(bilabials) - 1 and found >= alone
    assert frame_accuracy(truth, phones) > frame_accuracy(truth, network(audio).to_phones())


def test_words_whisper_is_unsure_of_are_not_placed() -> None:
    sure = HeardWord("map", 0.5, 0.8, probability=0.9, segment_log_prob=-0.3, no_speech=0.0)
    unsure = HeardWord("map", 0.5, 0.8, probability=0.3, segment_log_prob=-1.1, no_speech=0.1)
    assert trusted(sure) and not trusted(unsure)
    assert trusted(HeardWord("map"))  # a given transcript's word
    [placed], [free] = words_to_align([sure], "en"), words_to_align([unsure], "en")
    assert placed.visemes == (PP, VISEME_INDEX["aa"], PP)
    assert free.visemes is None and (free.start_s, free.end_s) == (0.5, 0.8)


def test_a_voice_whisper_misreads_keeps_the_networks_mouth(
    listener: WhisperListener, network: VisemeNet
) -> None:
    # eSpeak's Hungarian: Whisper writes words nobody said, unsure of them; placing their
    # visemes made the mouth worse than the network alone (0.76 against 0.82 of the frames).
    audio, truth = spoken("Péter és Mária a piacon paprikát vesz.", "hu+klatt4")
    recognizer = WhisperRecognizer(listener=listener)
    phones = recognizer.recognize(audio)
    assert recognizer.heard.words and not any(trusted(w) for w in recognizer.heard.words)
    alone = network(audio).to_phones()
    assert frame_accuracy(truth, phones) >= frame_accuracy(truth, alone) - 0.02
    bilabials = [p for p in truth if p.viseme == "PP"]
    found = sum(closed_at(phones, p.start_s - 0.02, p.end_s + 0.02) for p in bilabials)
    assert found >= sum(closed_at(alone, p.start_s - 0.02, p.end_s + 0.02) for p in bilabials)


def test_unknown_language_is_one_line_error() -> None:
    with pytest.raises(GiocondaError, match="language"):
        WhisperRecognizer(language="xx")


def test_base_model_assembled_into_the_cache_and_checked(tmp_path) -> None:
    folder = model_folder("base", tmp_path)
    assert {p.name for p in folder.iterdir()} >= {"model.bin", "config.json", "tokenizer.json"}
    size = (folder / "model.bin").stat().st_size
    with open(folder / "model.bin", "r+b") as f:  # a damaged copy is rebuilt, not trusted
        f.seek(1000)
        f.write(b"\0" * 16)
    assert model_folder("base", tmp_path) == folder
    assert (folder / "model.bin").stat().st_size == size
    from gioconda.cache import sha256_file
    from gioconda.speech.whisper import BASE_SHA256

    assert sha256_file(folder / "model.bin") == BASE_SHA256


def test_choosing_variants_over_no_hops_is_the_empty_path() -> None:
    # A word with a variant but a recording too short for one hop: nothing to place (the
    # prior over no hops was a mean of an empty slice, a RuntimeWarning and NaN scores).
    from gioconda.speech.visemenet import VisemePosteriors

    word = WordToAlign((VISEME_INDEX["DD"], VISEME_INDEX["ou"]), phones=(1, 1),
                       variants=(((VISEME_INDEX["DD"], VISEME_INDEX["ih"]), (1, 1)),))  # fmt: skip
    empty = VisemePosteriors(np.zeros((0, len(VISEME_INDEX)), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chosen = choose_variants(empty, [word], np.zeros(0, np.int64), [(0, 0)])
    assert chosen.shape == (0,)
