"""Text to speech with eSpeak NG: real synthesis, timings checked against the waveform."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from gioconda.errors import GiocondaError
from gioconda.speech.espeak import SynthesizedSpeech, list_voices, synthesize
from gioconda.speech.visemes import VISEMES, VOWEL_VISEMES, PhoneSegment

CLOSURES = "a papa a bapa, mama. Bob put a big pot of soup by the pub."
NASALS = "Mama made my mom a maple muffin, and Amy met Emma."
# Default voices give digital silence in closures; f4 and m2 add an echo, f3 breathiness.
VOICES = ["en-us", "en-gb", "en-us+f4", "en-us+f3", "fr-fr", "de", "es", "ru"]


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def _window(speech: SynthesizedSpeech, t0: float, t1: float) -> np.ndarray:
    rate = speech.audio.sample_rate
    return speech.audio.samples[max(0, int(t0 * rate)) : int(t1 * rate)]


def _segment_at(speech: SynthesizedSpeech, t: float) -> PhoneSegment:
    return next(p for p in speech.phones if p.start_s <= t < p.end_s)


def _silent_runs(samples: np.ndarray, rate: int, min_s: float, max_s: float) -> list[tuple]:
    """Runs of digital silence between min_s and max_s long, as (start_s, end_s)."""
    zero = np.concatenate([[0], (samples == 0).astype(np.int8), [0]])
    edges = np.diff(zero)
    runs = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
    return [(a / rate, b / rate) for a, b in runs if min_s * rate <= b - a <= max_s * rate]


@pytest.mark.parametrize(("voice", "er"), [("en-us", "RR"), ("en-gb", "aa"), ("en-gb+m3", "aa")])
def test_the_er_of_ever_as_the_voice_says_it(voice: str, er: str) -> None:
    """eSpeak's "3" is the US voice's r-coloured ɚ and the British voice's plain ə (its own
    IPA: ˈɛvɚ, ˈɛvə): drawn as an /r/ in one, as a schwa in the other. The stressed NURSE
    vowel "3:" of "her" is an /r/ in both, as the CMU dictionary's ER."""
    speech = synthesize("Her father never knew.", voice)
    drawn = {p.phone.lstrip("',"): p.viseme for p in speech.phones}
    assert drawn["3"] == er and drawn["3:"] == "RR", drawn


@pytest.mark.parametrize("voice", ["en-us", "fr-fr", "en-us+f3"])
def test_phones_cover_the_audio(voice: str) -> None:
    speech = synthesize("Hello there, how are you today?", voice=voice)
    audio, phones = speech.audio, speech.phones
    assert audio.sample_rate == 22050 and audio.samples.dtype == np.float32
    assert 1.0 < audio.duration_s < 4.0
    assert np.abs(audio.samples).max() <= 1.0 and np.abs(audio.samples).max() > 0.1
    assert phones[0].start_s == 0.0
    assert phones[-1].end_s == pytest.approx(audio.duration_s, abs=1e-9)
    for before, after in itertools.pairwise(phones):
        assert before.end_s == after.start_s
    assert all(p.end_s > p.start_s and p.viseme in VISEMES for p in phones)
    assert phones[-1].viseme == "sil"  # the clause ends in a pause
    assert sum(p.viseme != "sil" for p in phones) >= 15


def test_stop_closures_belong_to_the_stop() -> None:
    """The silent closure before /p b t k/ is the stop's, not the previous vowel's."""
    for voice in ("en-us", "de", "it"):
        speech = synthesize(CLOSURES, voice=voice)
        runs = _silent_runs(speech.audio.samples, speech.audio.sample_rate, 0.02, 0.1)
        checked = 0
        for start_s, end_s in runs:
            stop = _segment_at(speech, end_s + 0.002)
            if stop.viseme in ("PP", "DD", "kk"):
                # the whole closure (but the envelope's 2 ms) lies inside the stop's segment
                assert stop.start_s <= start_s + 0.003, (voice, stop, start_s)
                checked += 1
        assert checked >= 8, voice


@pytest.mark.parametrize("voice", VOICES)
def test_lips_closed_while_the_sound_is_low(voice: str) -> None:
    """/p b m/ segments are quieter than the vowels: closure, or a nasal murmur."""
    speech = synthesize(CLOSURES + " " + NASALS, voice=voice)
    vowels = [p for p in speech.phones if p.viseme in VOWEL_VISEMES]
    vowel_db = np.median([_db(_window(speech, p.start_s, p.end_s)) for p in vowels])
    closed = [p for p in speech.phones if p.viseme == "PP"]
    levels = np.array([_db(_window(speech, p.start_s, p.end_s)) for p in closed]) - vowel_db
    assert len(closed) >= 20
    assert levels.max() < -3.0, voice
    assert np.median(levels) < -8.0, voice


@pytest.mark.parametrize("voice", ["en-us", "en-us+f4", "fr-fr", "es"])
def test_vowel_after_a_nasal_starts_at_the_release(voice: str) -> None:
    """The mouth opens when the sound does: high frequencies rise at the m -> vowel boundary.

    eSpeak's own events put the boundary ~20 ms into the vowel; there the sound before and
    after would be equally loud.
    """
    speech = synthesize(NASALS, voice=voice)
    rate = speech.audio.sample_rate
    high = sosfilt(butter(4, 1000, "hp", fs=rate, output="sos"), speech.audio.samples)
    steps = []
    phones = speech.phones
    for nasal, vowel in itertools.pairwise(phones):
        # open and spread vowels: rounded back ones have too little energy above 1 kHz
        if nasal.phone.lstrip("'") == "m" and vowel.viseme in ("aa", "E", "ih"):
            b = int(vowel.start_s * rate)
            before, after = high[b - int(0.012 * rate) : b], high[b : b + int(0.012 * rate)]
            steps.append(_db(after) - _db(before))
    assert len(steps) >= 6
    assert min(steps) > 3.0 and np.median(steps) > 8.0, steps


def test_rate_and_pitch_change_the_speech() -> None:
    slow = synthesize("one two three four five six", words_per_minute=110)
    fast = synthesize("one two three four five six", words_per_minute=300)
    assert 1.8 < slow.audio.duration_s / fast.audio.duration_s < 3.5
    assert [p.phone for p in slow.phones if p.viseme != "sil"] == [
        p.phone for p in fast.phones if p.viseme != "sil"
    ]
    low, high = synthesize("aaah", pitch=10), synthesize("aaah", pitch=90)
    assert not np.array_equal(low.audio.samples[:2000], high.audio.samples[:2000])


def test_languages_and_voices() -> None:
    voices = list_voices()
    assert {"en-us", "en-gb", "fr-fr", "de", "es", "cmn", "ja", "hi"} <= set(voices)
    texts = {
        "en-us+f3": "Good morning", "en-us+m3": "Good morning", "fr-fr": "Bonjour à tous",
        "de": "Guten Morgen", "ja": "おはようございます", "cmn": "早上好", "ru": "Доброе утро",
        "hi": "सुप्रभात", "ar": "صباح الخير", "English (Great Britain)": "Good morning",
    }  # fmt: skip
    for voice, text in texts.items():
        speech = synthesize(text, voice=voice)
        assert sum(p.viseme != "sil" for p in speech.phones) >= 4, voice
    female, male = synthesize("Good morning", "en-us+f3"), synthesize("Good morning", "en-us+m3")
    assert female.audio.samples.size != male.audio.samples.size or not np.array_equal(
        female.audio.samples, male.audio.samples
    )
    # every listed voice speaks (a sample of them, to stay fast)
    for voice in voices[::7]:
        assert any(p.viseme != "sil" for p in synthesize("a", voice=voice).phones), voice


def test_concurrent_calls_are_serialized() -> None:
    texts = ["papa is here", "mama is there", "where is the dog", "a big red fox"]
    expected = {t: [p.phone for p in synthesize(t).phones] for t in texts}
    results: dict[str, list[str]] = {}

    def speak(text: str) -> None:
        results[text] = [p.phone for p in synthesize(text).phones]

    threads = [threading.Thread(target=speak, args=(t,)) for t in texts * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected


def test_the_audio_depends_on_the_request_alone() -> None:
    """What a process spoke before does not change the next utterance: a server or a batch
    worker gives a text the same audio, sample for sample, as a fresh process."""
    text = "The quick brown fox jumps over the lazy dog."
    first = synthesize(text, seed=1).audio.samples
    synthesize("Peter Piper picked a peck of pickled peppers.", "en-gb+f3", 250, 70, seed=2)
    synthesize("Bonjour à tous.", "fr-fr", seed=3)
    assert np.array_equal(synthesize(text, seed=1).audio.samples, first)
    fresh = subprocess.run(
        [sys.executable, "-c", "import sys, numpy as np; from gioconda.speech.espeak import "
         f"synthesize; sys.stdout.buffer.write(synthesize({text!r}, seed=1).audio.samples"
         ".tobytes())"],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    assert np.array_equal(np.frombuffer(fresh.stdout, np.float32), first)


@pytest.mark.parametrize("voice", ["klingon-xx", "en-us+nosuchvariant", "", "zz"])
def test_unknown_voice_is_a_clear_error(voice: str) -> None:
    with pytest.raises(GiocondaError, match="`gioconda voices`"):
        synthesize("hello", voice=voice)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_a_clear_error(text: str) -> None:
    with pytest.raises(GiocondaError, match="empty"):
        synthesize(text)


def test_out_of_range_parameters_are_clear_errors() -> None:
    with pytest.raises(GiocondaError, match="wpm"):
        synthesize("hello", words_per_minute=20)
    with pytest.raises(GiocondaError, match="pitch"):
        synthesize("hello", pitch=150)
    with pytest.raises(GiocondaError, match="nothing to speak"):
        synthesize("...")
