"""The lip-sync evaluation: its metrics on curves with known answers, its held-out material,
and a quick run of ``gioconda eval lipsync`` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from gioconda.errors import GiocondaError
from gioconda.eval.lipsync import LipSyncEvalOptions
from gioconda.eval.lipsync_methods import DEFAULT_METHOD_NAMES, untrained_network_weights
from gioconda.eval.lipsync_metrics import (
    CLOSED_LIP_GAP,
    av_offset_ms,
    closure_precision,
    closures_shown,
    count_reversals,
    frame_agreement,
    open_vowel_gaps,
    reference_aperture,
    viseme_frame_accuracy,
)
from gioconda.eval.speech_sets import (
    HELD_OUT_LANGUAGES,
    HELD_OUT_SENTENCES,
    HELD_OUT_VARIANTS,
    TEST_TEXT_BUCKETS,
    ESpeakSource,
    KokoroSource,
    held_out_utterances,
    read_phone_labels,
    text_bucket,
)
from gioconda.speech.align import (
    ALIGN_MIN_HOPS,
    WORD_DOUBT_NATS,
    RecognizedWord,
    align_words,
    combined_phones,
    visemes_at,
)
from gioconda.speech.audio import Audio
from gioconda.speech.espeak import synthesize
from gioconda.speech.visemenet import VisemeNet, VisemePosteriors
from gioconda.speech.visemes import VISEME_INDEX, VISEMES, PhoneSegment, arpabet_to_viseme

FPS = 25.0


def phones(*spec: tuple[float, float, str]) -> tuple[PhoneSegment, ...]:
    return tuple(PhoneSegment(a, b, v, v) for a, b, v in spec)


# A sentence-like alternation of closures, open vowels and consonants, 0.1-0.2 s each.
SENTENCE = phones(
    (0.0, 0.4, "sil"), (0.4, 0.5, "PP"), (0.5, 0.7, "aa"), (0.7, 0.78, "DD"), (0.78, 0.95, "E"),
    (0.95, 1.05, "PP"), (1.05, 1.3, "oh"), (1.3, 1.4, "SS"), (1.4, 1.6, "aa"), (1.6, 1.7, "PP"),
    (1.7, 1.85, "ih"), (1.85, 1.95, "nn"), (1.95, 2.2, "aa"), (2.2, 2.8, "sil"),
)  # fmt: skip


# --- viseme accuracy ---------------------------------------------------------------------------


def test_identical_phones_are_fully_accurate() -> None:
    assert viseme_frame_accuracy(SENTENCE, SENTENCE, (0.0, 2.8)) == 1.0
    agree, counted = frame_agreement(SENTENCE, SENTENCE, (0.4, 2.2), speech_only=True)
    assert agree == counted == 180


def test_accuracy_counts_shifted_frames() -> None:
    truth = phones((0.0, 0.5, "PP"), (0.5, 1.0, "aa"))
    late = phones((0.0, 0.6, "PP"), (0.6, 1.0, "aa"))
    assert viseme_frame_accuracy(late, truth, (0.0, 1.0)) == pytest.approx(0.9)
    # only the span counts: the disagreement lies outside [0.7, 1.0)
    assert viseme_frame_accuracy(late, truth, (0.7, 1.0)) == 1.0
    # silence frames are left out with speech_only
    gap = phones((0.0, 0.5, "sil"), (0.5, 1.0, "aa"))
    assert frame_agreement(phones((0.5, 1.0, "aa")), gap, (0.0, 1.0), speech_only=True) == (50, 50)


def test_visemes_at_reads_instants() -> None:
    track = visemes_at(SENTENCE, np.array([0.1, 0.45, 0.5, 2.5, 9.0]))
    assert [VISEMES[i] for i in track] == ["sil", "PP", "aa", "sil", "sil"]


# --- closures and open vowels ------------------------------------------------------------------


def test_closure_recall_needs_both_the_motion_and_the_pixels() -> None:
    n = 70
    mouth_close = np.ones(n)
    gaps = np.full(n, 0.005)
    assert closures_shown(SENTENCE, mouth_close, gaps, FPS) == (3, 3)
    # the /p/ at 0.4-0.5 s has its middle at frame round(0.45 * 25) = 11
    gaps[11] = CLOSED_LIP_GAP + 0.01
    assert closures_shown(SENTENCE, mouth_close, gaps, FPS) == (2, 3)
    gaps[11] = np.nan  # no face found: not shown
    assert closures_shown(SENTENCE, mouth_close, gaps, FPS) == (2, 3)
    gaps[11] = 0.0
    mouth_close[25] = 0.5  # the /b/ at 0.95-1.05 s: pixels shut, motion not
    assert closures_shown(SENTENCE, mouth_close, gaps, FPS) == (2, 3)
    short = phones((0.0, 0.5, "aa"), (0.5, 0.53, "PP"), (0.53, 1.0, "aa"))
    assert closures_shown(short, np.ones(30), np.zeros(30), FPS) == (0, 0)


def test_closure_precision_counts_closures_off_the_bilabials() -> None:
    mouth_close = np.zeros(70)
    for phone in SENTENCE:
        if phone.viseme == "PP":  # shut over each /p b m/, as the motion does
            mouth_close[round(phone.start_s * FPS) : round(phone.end_s * FPS) + 1] = 1.0
    assert closure_precision(SENTENCE, mouth_close, FPS) == (3, 3)
    mouth_close[round(0.6 * FPS)] = 0.95  # shut in the middle of an open vowel
    mouth_close[round(2.6 * FPS) :] = 1.0  # and in the final silence
    assert closure_precision(SENTENCE, mouth_close, FPS) == (3, 5)
    assert closure_precision(SENTENCE, np.zeros(70), FPS) == (0, 0)


def test_open_vowel_gap_is_the_widest_opening_during_the_vowel() -> None:
    gaps = np.zeros(70)
    gaps[13:17] = [0.05, 0.2, 0.1, 0.0]  # the aa at 0.5-0.7 s covers frames 13-17
    gaps[8] = 0.5  # before it: does not count
    measured = open_vowel_gaps(SENTENCE, gaps, FPS)
    assert len(measured) == 3  # three aa of 200-250 ms
    assert measured[0] == pytest.approx(0.2)
    assert measured[1] == measured[2] == 0.0


def test_reference_aperture_follows_the_phones() -> None:
    ref = reference_aperture(SENTENCE, FPS, 70)
    assert ref.shape == (70,)
    assert np.all(ref[:8] == 0.0)  # silence, well before the first phone
    assert ref[round(0.6 * FPS)] > 0.9  # middle of a 200 ms open vowel
    assert ref[round(2.5 * FPS)] < 0.01
    assert ref[round(1.65 * FPS)] < 0.35  # middle of a 100 ms closure between vowels


# --- audio-visual offset -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return reference_aperture(SENTENCE, FPS, 70)


def test_offset_of_a_perfect_curve_is_zero(reference: np.ndarray) -> None:
    assert av_offset_ms(0.2 * reference, reference, FPS) == pytest.approx(0.0, abs=1.0)


@pytest.mark.parametrize("shift", [2, -1, 4])
def test_offset_of_a_shifted_curve(reference: np.ndarray, shift: int) -> None:
    late = np.roll(0.2 * reference, shift)  # the mouth moves `shift` frames after the sound
    assert av_offset_ms(late, reference, FPS) == pytest.approx(shift * 40.0, abs=4.0)


def test_offset_finds_fractions_of_a_frame() -> None:
    fine = reference_aperture(SENTENCE, 100.0, 280)  # 10 ms frames, resampled to 25 fps
    frames = np.arange(70) * 4
    late = fine[np.clip(frames - 2, 0, None)]  # 20 ms late: half a 25 fps frame
    offset = av_offset_ms(late, fine[frames], FPS)
    assert 8.0 < offset < 32.0, offset


def test_offset_survives_missing_frames_and_flat_curves(reference: np.ndarray) -> None:
    late = np.roll(0.2 * reference, 2)
    late[[20, 21, 40]] = np.nan
    assert av_offset_ms(late, reference, FPS) == pytest.approx(80.0, abs=8.0)
    assert np.isnan(av_offset_ms(np.zeros(70), reference, FPS))


# --- chatter -----------------------------------------------------------------------------------


def test_reversals_are_counted_with_hysteresis() -> None:
    assert count_reversals(np.array([0, 1, 0, 1, 0.0]), 0.5) == 3
    assert count_reversals(np.array([0, 0.3, 0, 0.3, 0.0]), 0.5) == 0  # all below the hysteresis
    assert count_reversals(np.array([1.0, 0, 1]), 0.5) == 1  # starting downwards
    # a wiggle on an opening does not count, a real closing does
    assert count_reversals(np.array([0, 0.5, 0.45, 0.9, 0.0]), 0.1) == 1
    assert count_reversals(np.array([0, np.nan, 1, np.nan, 0]), 0.5) == 1
    assert count_reversals(np.array([]), 0.1) == 0
    # a 4 Hz open/close at 25 fps: two reversals per cycle
    t = np.arange(100) / FPS
    assert count_reversals(0.1 + 0.1 * np.sin(2 * np.pi * 4 * t), 0.02) in (31, 32)


# --- the combined method -----------------------------------------------------------------------


def _posteriors(rows: list[dict[str, float]]) -> VisemePosteriors:
    logits = np.full((len(rows), len(VISEMES)), -8.0)
    for t, row in enumerate(rows):
        for viseme, value in row.items():
            logits[t, VISEME_INDEX[viseme]] = value
    logits -= np.log(np.exp(logits).sum(1, keepdims=True))
    return VisemePosteriors(logits.astype(np.float32))


def _names(segments: tuple[PhoneSegment, ...], n_hops: int) -> list[str]:
    return [VISEMES[i] for i in visemes_at(segments, np.arange(n_hops) * 0.01)]


def test_alignment_puts_the_words_visemes_where_the_network_hears_them() -> None:
    # The network hears aa, a closure at hops 40-59, then E (it is unsure between E and ih).
    post = _posteriors(
        [{"aa": 0.0}] * 40 + [{"PP": 0.0}] * 20 + [{"E": 0.0, "ih": -0.3}] * 30 + [{}] * 10
    )
    # PocketSphinx heard "ma'am-ee"-like phones from 0.05 to 0.9 s: the viseme labels are its.
    word = RecognizedWord("x", 0.05, 0.90, ("AA", "M", "IY"))
    names = _names(align_words(post, [word]), 100)
    assert names[:5] == ["sil"] * 5 and names[90:] == ["sil"] * 10  # outside the word: silence
    assert names[5:40] == ["aa"] * 35
    assert names[40:60] == ["PP"] * 20  # the closure where the network hears it
    assert names[60:90] == ["ih"] * 30  # the word says which vowel; the network says when


def test_alignment_keeps_every_viseme_of_the_word() -> None:
    # The network hears no closure at all: the word's /m/ still closes the lips, for at least
    # ALIGN_MIN_HOPS, where the network finds it least unlikely.
    post = _posteriors([{"aa": 0.0, "PP": -3.0}] * 30 + [{"aa": 0.0, "PP": -1.0}] * 4
                       + [{"aa": 0.0, "PP": -3.0}] * 30)  # fmt: skip
    word = RecognizedWord("mama", 0.0, 0.64, ("M", "AA", "M", "AA"))
    names = _names(align_words(post, [word]), 64)
    closed = [i for i, n in enumerate(names) if n == "PP"]
    assert names[0] == "PP"  # the first /m/ opens the word
    second = [i for i in closed if i > 10]
    assert len(second) == ALIGN_MIN_HOPS and 29 <= second[0] <= 33
    assert names[-1] == "aa"


def test_alignment_of_a_word_too_short_for_its_phones() -> None:
    post = _posteriors([{"aa": 0.0}] * 20)
    word = RecognizedWord("strengths", 0.05, 0.09, ("S", "T", "R", "EH", "NG", "K", "TH", "S"))
    names = _names(align_words(post, [word]), 20)
    assert names[:5] == ["sil"] * 5 and names[9:] == ["sil"] * 11
    assert all(n != "sil" for n in names[5:9])


def test_combined_keeps_the_word_unless_the_network_is_far_surer_of_its_own() -> None:
    word = RecognizedWord("eh", 0.0, 0.5, ("EH",))
    for margin, kept in ((1.0, True), (WORD_DOUBT_NATS + 1.0, False)):
        post = _posteriors([{"aa": 0.0, "E": -margin}] * 50)
        names = _names(combined_phones(post, [word]), 50)
        assert set(names) == ({"E"} if kept else {"aa"}), margin


def test_combined_falls_back_to_the_network_when_no_word_is_heard() -> None:
    post = _posteriors([{"aa": 0.0}] * 30 + [{"PP": 0.0}] * 10 + [{"aa": 0.0}] * 30)
    assert combined_phones(post, []) == post.to_phones()


# --- held-out material -------------------------------------------------------------------------


def test_sentences_are_in_the_test_buckets_and_rich_in_closures() -> None:
    assert set(HELD_OUT_SENTENCES) == {"en", *HELD_OUT_LANGUAGES}
    for language, sentences in HELD_OUT_SENTENCES.items():
        assert len(sentences) >= 3, language
        for text in sentences:
            assert text_bucket(text) in TEST_TEXT_BUCKETS, text
    english = " ".join(HELD_OUT_SENTENCES["en"]).lower()
    assert sum(english.count(c) for c in "pbm") >= 50


def test_eval_material_agrees_with_the_training_split() -> None:
    """What training holds out for test is what the evaluation speaks (training/splits.py)."""
    splits = pytest.importorskip("training.splits")
    assert HELD_OUT_LANGUAGES == splits.TEST_LANGUAGES
    assert HELD_OUT_VARIANTS == splits.TEST_VARIANTS
    assert TEST_TEXT_BUCKETS == splits.TEXT_BUCKETS[splits.TEST]
    source = ESpeakSource()
    held_out_voices = {v for lang in HELD_OUT_LANGUAGES for v in source.voices(lang)}
    assert {v.partition("+")[0] for v in held_out_voices} == set(splits.TEST_ESPEAK_VOICES)
    for language, sentences in HELD_OUT_SENTENCES.items():
        for text in sentences:
            assert splits.text_bucket(text) == text_bucket(text)
            assert splits.text_split(text) == splits.TEST, text
        for voice in source.voices(language):
            speaker = voice.partition("+")[2]
            assert splits.voice_split(language, "espeak", speaker) == splits.TEST, voice
    assert KokoroSource().voices("en") == splits.HELD_OUT_SPEAKERS["kokoro"][splits.TEST]
    assert KokoroSource().voices("hu") == ()


def test_utterances_are_reproducible_and_held_out() -> None:
    first, again = held_out_utterances(seed=3), held_out_utterances(seed=3)
    assert first == again
    assert first != held_out_utterances(seed=4)
    assert {u.language for u in first} == {"en", *HELD_OUT_LANGUAGES}
    for u in first:
        assert u.voice in ESpeakSource().voices(u.language)
        if u.language == "en":
            assert u.voice.partition("+")[2] in HELD_OUT_VARIANTS
    quick = held_out_utterances(seed=0, quick=True)
    assert [u.language for u in quick] == ["en", "hu"]
    with pytest.raises(GiocondaError, match="speech source"):
        held_out_utterances(sources=("nosuch",))
    with pytest.raises(GiocondaError, match="methods"):
        LipSyncEvalOptions(methods=("lipreading",))


def test_held_out_speech_is_the_same_in_every_process() -> None:
    """eSpeak's whisper variant draws noise; the evaluation seeds it."""
    script = (
        "import hashlib; from gioconda.eval.speech_sets import ESpeakSource; "
        "s = ESpeakSource().speak('Bob made my mom a palm lamp.', 'en-us+whisperf', 170, 5); "
        "print(hashlib.sha1(s.audio.samples.tobytes()).hexdigest())"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        for _ in range(2)
    ]
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout == runs[1].stdout


def test_untrained_weights_fit_the_network() -> None:
    net = VisemeNet(untrained_network_weights(seed=1))
    audio = Audio(np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1, 16_000)
    posteriors = net(audio)
    assert posteriors.log_probs.shape == (100, len(VISEMES))
    assert np.allclose(np.exp(posteriors.log_probs).sum(1), 1.0, atol=1e-4)


# --- the command -------------------------------------------------------------------------------


def gioconda(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gioconda", *args], capture_output=True, text=True, timeout=300
    )


#: An ARPAbet phone of every viseme, to write labels as hand-labelled corpora do.
ARPABET_OF_VISEME: dict[str, str] = {}
for _phone in (
    "P F TH T K CH S N R AA EH IH AO UW "
    "AE AH AW AY B D DH ER EY G HH IY JH L M NG OW OY SH UH V W Y Z ZH"
).split():
    ARPABET_OF_VISEME.setdefault(arpabet_to_viseme(_phone), _phone)


def write_labelled_recording(folder: Path, name: str, text: str) -> tuple[PhoneSegment, ...]:
    """eSpeak speech saved as NAME.wav (16-bit PCM) with its phones as NAME.lab (100 ns)."""
    spoken = synthesize(text, voice="en-us", words_per_minute=160)
    pcm = np.clip(spoken.audio.samples * 32767, -32768, 32767).astype("<i2")
    with wave.open(str(folder / f"{name}.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(spoken.audio.sample_rate)
        wav.writeframes(pcm.tobytes())
    lines = [
        f"{round(p.start_s * 1e7)} {round(p.end_s * 1e7)} "
        f"{'h#' if p.viseme == 'sil' else ARPABET_OF_VISEME[p.viseme]}"
        for p in spoken.phones
    ]
    (folder / f"{name}.lab").write_text("\n".join(lines) + "\n")
    return spoken.phones


@pytest.mark.slow
def test_quick_run_prints_the_table_and_writes_the_report(tmp_path) -> None:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    write_labelled_recording(recordings, "mama", "Bob made my mom a palm lamp.")
    (recordings / "unlabelled.wav").write_bytes((recordings / "mama.wav").read_bytes())
    out = tmp_path / "out"
    result = gioconda(
        "eval", "lipsync", "--quick", "--seed", "0", "--out-dir", str(out),
        "--speech", "espeak,kokoro", "--real-speech", str(recordings),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    header = rows[0]
    for column in ("viseme acc", "closure recall", "open/closed", "A/V offset", "chatter"):
        assert column in header
    groups: dict[str, dict[str, str]] = {}
    for row in rows[1:]:
        group, method = row.split(" | ")[:2]
        groups.setdefault(group.strip("| "), {})[method] = row
    assert list(groups) == ["en", "en kokoro", "el hu vi", "recorded recordings"]
    for group in groups.values():
        assert list(group) == list(DEFAULT_METHOD_NAMES)
    other = groups["el hu vi"]
    assert "n/a" in other["pocketsphinx"] and "n/a" in other["combined"]
    assert "wall time" in result.stdout and "1 recordings" in result.stdout
    tmp_path = out

    report = json.loads((tmp_path / "lipsync.json").read_text())
    by_name = {(r["group"], r["method"]): r for r in report["rows"]}
    tts = by_name[("en", "tts")]
    assert tts["closures"] >= 8
    assert tts["closure_recall"] >= 0.9
    assert tts["closure_precision"] >= 0.9
    assert tts["viseme_accuracy"] == 1.0
    assert abs(tts["offset_ms"]) <= 40.0
    # the baseline never closes the lips; the upper bound opens them far wider than it closes
    assert by_name[("en", "loudness")]["closure_recall"] == 0.0
    assert tts["aperture_ratio"] > 3.0
    # the recording's "tts" row reads its labels back: perfect by construction
    recorded = by_name[("recorded recordings", "tts")]
    assert recorded["viseme_accuracy"] == 1.0 and recorded["closure_recall"] >= 0.9
    assert (tmp_path / "lipsync.md").read_text().count("| tts |") == 4
    assert (tmp_path / "lipsync_contact.png").stat().st_size > 10_000


def test_bad_arguments_are_one_line_and_exit_2(tmp_path) -> None:
    result = gioconda("eval", "lipsync", "--quick", "--speech", "nosuch")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "nosuch" in result.stderr
    result = gioconda("eval", "lipsync", "--quick", "--weights", str(tmp_path / "missing.npz"))
    assert result.returncode == 2 and "weights" in result.stderr
    result = gioconda("eval", "lipsync", "--quick", "--real-speech", str(tmp_path))
    assert result.returncode == 2 and "NAME.lab" in result.stderr
    result = gioconda("eval", "lipsync", "--quick", "--methods", "whisper,telepathy")
    assert result.returncode == 2 and "telepathy" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_phone_labels_are_read_and_checked(tmp_path) -> None:
    good = tmp_path / "good.lab"
    good.write_text("0 1874980 h#\n1874980 2569940 ah\n2569940 3402380 m\n")
    phones = read_phone_labels(good)
    assert [p.viseme for p in phones] == ["sil", "aa", "PP"]
    assert phones[2].start_s == pytest.approx(0.256994) and phones[2].end_s == pytest.approx(
        0.340238
    )
    for text, message in (
        ("0 100 ah\n50 200 m\n", "overlap"),
        ("0 100 qq\n", "expected"),
        ("0 100\n", "expected"),
        ("", "no phone labels"),
    ):
        good.write_text(text)
        with pytest.raises(GiocondaError, match=message):
            read_phone_labels(good)


def test_a_diffuse_closure_is_kept_by_the_closure_threshold() -> None:
    """A 60 ms /m/ heard as 30% PP among a 45% neighbour: the plain Viterbi path loses it
    (two switches cost more than it gains); the closure threshold keeps it, and a PP blip of
    two hops or a PP probability of 10% stays out."""
    rows = np.full((60, len(VISEMES)), 0.01)
    rows[:, VISEME_INDEX["nn"]] = 0.6
    rows[20:26, VISEME_INDEX["PP"]], rows[20:26, VISEME_INDEX["nn"]] = 0.3, 0.45
    rows[40:42, VISEME_INDEX["PP"]] = 0.5  # a two-hop blip
    rows[50:56, VISEME_INDEX["PP"]] = 0.1
    posteriors = VisemePosteriors(np.log(rows / rows.sum(1, keepdims=True)).astype(np.float32))
    plain = posteriors.viseme_path(closure_threshold=0.0)
    assert not (plain == VISEME_INDEX["PP"]).any()
    marked = posteriors.viseme_path()
    closed = np.flatnonzero(marked == VISEME_INDEX["PP"])
    assert closed.min() >= 19 and closed.max() <= 26 and len(closed) >= 4
    assert [p.viseme for p in posteriors.to_phones()] == ["nn", "PP", "nn"]
