"""Tests of the synthetic data generator: splits, texts, label timing, augmentation alignment.

Run with ``pytest training/test_make_data.py`` (about half a minute on two cores).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import regex  # wordfreq's dependency

from gioconda.speech.espeak import ESpeakEngine, list_voices, synthesize
from gioconda.speech.visemes import VISEME_INDEX, VISEMES
from training import augment, make_data, splits, texts

SR = augment.SAMPLE_RATE
#: Labials in many vowel contexts, and pauses.
REFERENCE_TEXT = "Maybe a bump in a papa's map, five vivid fans move by."
#: Largest timing error allowed anywhere: one 10 ms hop.
HOP_TOLERANCE_S = 0.010


@functools.cache
def reference_speech() -> tuple[np.ndarray, object]:
    """Clean 16 kHz speech and its synthesis (phones), made once."""
    speech = synthesize(REFERENCE_TEXT, "en-us", words_per_minute=170)
    return augment.change_speed(speech.audio, 1.0)[0].samples.astype(np.float64), speech


def envelope_lag_s(clean: np.ndarray, other: np.ndarray) -> float:
    """Lag of ``other``'s onsets behind ``clean``'s, seconds: cross-correlated log envelopes.

    Onsets (rises of the 5 ms log-energy envelope) are what the labels' boundaries mark, and
    unlike the envelope itself they are not smeared late by reverberation.
    """

    def onsets(x: np.ndarray) -> np.ndarray:
        hop = SR // 1000
        frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, (0, 5 * hop)), 5 * hop)
        energy = 10 * np.log10((frames[::hop] ** 2).mean(axis=1) + 1e-10)
        energy = np.maximum(energy, energy.max() - 50.0)
        return np.maximum(np.diff(energy, prepend=energy[0]), 0.0)

    lag = augment.estimate_lag(onsets(clean), onsets(other), max_lag=100)
    return lag / 1000


def waveform_lag_s(clean: np.ndarray, other: np.ndarray) -> float:
    return augment.estimate_lag(clean, other, max_lag=SR // 5) / SR


# ---------------------------------------------------------------------------------- splits


def test_held_out_sets_exist_and_are_disjoint() -> None:
    variants = set(ESpeakEngine.shared().variants())
    assert set(splits.VALID_VARIANTS) <= variants and set(splits.TEST_VARIANTS) <= variants
    assert not set(splits.VALID_VARIANTS) & set(splits.TEST_VARIANTS)
    assert not set(splits.VALID_LANGUAGES) & set(splits.TEST_LANGUAGES)
    for held_out, voices in (
        (splits.VALID_LANGUAGES, splits.VALID_ESPEAK_VOICES),
        (splits.TEST_LANGUAGES, splits.TEST_ESPEAK_VOICES),
    ):
        assert set(voices) == {v for code in held_out for v in texts.LANGUAGES[code].espeak_voices}
        assert set(voices) <= set(list_voices())


def test_voice_split_rules() -> None:
    assert splits.voice_split("en", "espeak", "") == splits.TRAIN
    assert splits.voice_split("en", "espeak", "f4") == splits.TEST
    assert splits.voice_split("el", "espeak", "m1") == splits.TEST
    assert splits.voice_split("ro", "espeak", "f2") == splits.VALID
    assert splits.voice_split("ro", "espeak", "f4") is None  # held out for both: never used
    assert splits.text_split("Hello  World") == splits.text_split("hello world")


def test_plans_keep_languages_speakers_and_texts_apart() -> None:
    seen: dict[str, set[str]] = {}
    for split in splits.SPLITS:
        plans = list(itertools.islice(make_data.plan_utterances(split, 0, ["espeak"]), 60))
        for plan in plans:
            assert splits.belongs(split, plan.language, "espeak", plan.speaker, plan.text)
            assert plan.voice.split("+")[0] in texts.LANGUAGES[plan.language].espeak_voices
        seen[split] = {splits.normalize_text(p.text) for p in plans}
        if split == splits.TRAIN:
            assert not {p.language for p in plans} & set(
                splits.VALID_LANGUAGES + splits.TEST_LANGUAGES
            )
        else:
            assert {p.held_out for p in plans} == {"language", "speaker"}
    assert not seen["train"] & (seen["valid"] | seen["test"])
    # Seeded: the same plans again.
    again = next(make_data.plan_utterances(splits.TEST, 0, ["espeak"]))
    assert again == next(make_data.plan_utterances(splits.TEST, 0, ["espeak"]))


# ----------------------------------------------------------------------------------- texts


def test_every_language_has_text_in_its_own_script() -> None:
    with_words = [code for code in texts.LANGUAGES if texts.has_words(code)]
    assert len(with_words) >= 40
    for code in with_words:
        words = texts.word_list(code)
        assert len(words) >= 70, code
        if texts.LANGUAGES[code].script != "Latin":
            assert not any(regex.search(r"[A-Za-z0-9]", w) for w in words), code
    rng = np.random.default_rng(0)
    for script in ("latin", "cyrillic", "kana"):
        line = texts.nonsense(script, rng)
        assert 3 <= len(line.split()) <= 10


def test_text_is_spoken_by_its_voices_without_language_switches() -> None:
    rng = np.random.default_rng(1)
    engine = ESpeakEngine.shared()
    for code in ("zh", "yue", "ja", "ar", "hi", "ru", "ko", "th", "hy", "en", "sw"):
        text, _ = texts.utterance_text(code, rng)
        voice = texts.LANGUAGES[code].espeak_voices[0]
        _, events = engine.synthesize(text, voice, 175, 50)
        assert not [e for _, e in events if e.startswith("(")], (code, text)


def test_nonsense_is_rich_in_lip_closures() -> None:
    speech = synthesize(texts.nonsense("latin", np.random.default_rng(2)), "es")
    visemes = [p.viseme for p in speech.phones]
    labial = sum(v in ("PP", "FF") for v in visemes)
    consonants = sum(v not in ("sil", "aa", "E", "ih", "oh", "ou") for v in visemes)
    assert labial >= 0.35 * consonants


# ---------------------------------------------------------------------------------- labels


def _speech_span_s(x: np.ndarray) -> tuple[float, float]:
    """First and last 10 ms hop (centre time) within 35 dB of the loudest."""
    hop = SR // 100
    frames = np.pad(x, (hop // 2, hop))[: (len(x) // hop + 1) * hop].reshape(-1, hop)
    energy = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    loud = np.flatnonzero(energy > energy.max() - 35.0)
    return loud[0] / 100, loud[-1] / 100


@pytest.mark.parametrize("speed", [0.85, 1.0, 1.15])
def test_labels_follow_speed_change_and_padding(speed: float) -> None:
    _, speech = reference_speech()
    audio, exact = augment.change_speed(speech.audio, speed)
    lead = int(0.3 * SR)
    x = np.pad(audio.samples.astype(np.float64), (lead, int(0.2 * SR)))
    n_hops = int(np.ceil(len(x) / (SR // 100)))
    labels = make_data.hop_labels(speech.phones, n_hops, exact, lead / SR)
    voiced = np.flatnonzero(labels != VISEME_INDEX["sil"])
    first, last = _speech_span_s(x)
    # Speech is heard from the first labelled hop to the last: at the start a /m/, at the end
    # an /a/ whose release the 35 dB threshold may cut a hop or two short.
    # (Compared in whole hops: 3.36 - 3.37 is a hop, not -0.010000000000000231 s.)
    hops = round(HOP_TOLERANCE_S * 100)
    assert abs(voiced[0] - round(first * 100)) <= hops
    assert -hops <= voiced[-1] - round(last * 100) <= 3 * hops
    # Scaled phone times: the utterance is 1/speed as long.
    assert len(x) / SR == pytest.approx(
        (len(speech.audio.samples) / speech.audio.sample_rate) / exact + 0.5, abs=0.01
    )


def test_speed_change_does_not_shift() -> None:
    from scipy.signal import resample_poly

    _, speech = reference_speech()
    for factor in (0.85, 1.15):
        fast, exact = augment.change_speed(speech.audio, factor)
        played = round(speech.audio.sample_rate * factor)
        reference = resample_poly(speech.audio.samples.astype(np.float64), SR, played)
        assert exact == played / speech.audio.sample_rate
        assert waveform_lag_s(reference, fast.samples) == 0.0


# ---------------------------------------------------------------------------- augmentation


def _effects() -> dict[str, object]:
    """Each effect alone, with fixed settings: name -> function(x, rng) -> samples."""
    effects: dict[str, object] = {
        "reverb": lambda x, rng: augment.add_reverb(x, rng)[0],
        "eq": lambda x, rng: augment.random_eq(x, rng)[0],
        "clip": lambda x, rng: augment.clip(x, rng)[0],
        "level": lambda x, rng: augment.set_level(x, -20.0)[0],
    }
    for kind in ("white", "pink", "brown", "babble", "hum"):
        effects[f"noise-{kind}"] = functools.partial(_noise, kind)
    for kind in ("8k", "mulaw", "amr"):
        effects[f"telephone-{kind}"] = functools.partial(_telephone, kind)
    for codec in augment.CODECS:
        effects[f"{codec.name}@{codec.sample_rate}"] = functools.partial(
            lambda c, x, rng: augment.codec_round_trip(x, c, min(c.bit_rates)), codec
        )
    return effects


def _noise(kind: str, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    babble = [np.roll(x, 4000), np.roll(x, 9000)[::-1], np.roll(x, 15000)]
    return augment.add_noise(x, kind, 5.0, rng, babble)[0]


def _telephone(kind: str, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    class Fixed:  # rng whose choice() picks ``kind``; the rest is the real generator
        def choice(self, options: list[str], *args: object, **kwargs: object) -> object:
            return kind if kind in list(options) else rng.choice(options, *args, **kwargs)

    return augment.telephone(x, Fixed())[0]  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list(_effects()))
def test_effect_keeps_timing(name: str) -> None:
    clean, _ = reference_speech()
    rng = np.random.default_rng(3)
    out = np.asarray(_effects()[name](clean.copy(), rng), np.float64)
    assert out.shape == clean.shape and np.all(np.isfinite(out))
    assert abs(envelope_lag_s(clean, out)) <= HOP_TOLERANCE_S, name
    if not name.startswith(("noise-white", "noise-brown", "noise-babble")):
        # Where the waveform survives (all but 5 dB SNR noise), it is not shifted at all.
        assert abs(waveform_lag_s(clean, out)) <= 0.002, name


def test_codec_delays_are_measured_and_removed() -> None:
    clean, _ = reference_speech()
    for codec in augment.CODECS:
        bit_rate = max(codec.bit_rates)
        out = augment.codec_round_trip(clean, codec, bit_rate)
        assert abs(augment.estimate_lag(clean, out, SR // 10)) <= 2, codec
    # The containers that carry their encoder's delay need no correction (within the 0.1 ms
    # that a low bit rate's distortion moves the correlation peak); raw AMR needs 5 ms.
    for codec in augment.CODECS:
        delays = [augment.measure_codec_delay(codec, rate) for rate in codec.bit_rates]
        assert max(abs(d - codec.delay) for d in delays) <= 2, codec
    assert {c.name: c.delay for c in augment.CODECS}["amr"] == 80


def test_random_chains_keep_timing_and_length() -> None:
    clean, _ = reference_speech()
    babble = (np.roll(clean, 5000), np.roll(clean, 11000))
    channels = 0
    for seed in range(12):
        out = augment.augment(clean.astype(np.float32), np.random.default_rng(seed), babble)
        assert out.samples.shape == clean.shape and np.all(np.isfinite(out.samples))
        assert abs(envelope_lag_s(clean, out.samples)) <= HOP_TOLERANCE_S, out.description
        # Telephone and codec steps are re-measured on the utterance: within 0.5 ms.
        assert all(abs(lag) <= 0.0005 * SR for _, lag in out.channel_lags), out.description
        channels += len(out.channel_lags)
    assert channels >= 3


def test_shelves_and_peaks_have_the_gain_asked() -> None:
    from scipy.signal import freqz

    for gain in (-9.0, 6.0):
        b, a = augment._shelf(200.0, gain, high=False)
        _, h = freqz(b, a, worN=[10.0, 7000.0], fs=SR)
        assert 20 * np.log10(np.abs(h)) == pytest.approx([gain, 0.0], abs=0.5)
        b, a = augment._shelf(3000.0, gain, high=True)
        _, h = freqz(b, a, worN=[50.0, 7900.0], fs=SR)
        assert 20 * np.log10(np.abs(h)) == pytest.approx([0.0, gain], abs=0.5)
        b, a = augment._peaking(1000.0, gain, 1.0)
        _, h = freqz(b, a, worN=[1000.0], fs=SR)
        assert 20 * np.log10(np.abs(h[0])) == pytest.approx(gain, abs=0.1)


# ------------------------------------------------------------------------------ end to end


def test_utterances_are_reproducible_in_fresh_processes() -> None:
    plans = list(itertools.islice(make_data.plan_utterances(splits.TRAIN, 0, ["espeak"]), 3))
    processes = make_data.FreshProcesses(workers=2)
    babble = processes.run(make_data.make_babble, (plans[:2],))
    first, again = processes.map(make_data.make_block, iter([(plans, babble)] * 2))
    for one, other in zip(first, again, strict=True):
        assert np.array_equal(one.features, other.features)
        assert np.array_equal(one.labels, other.labels)
        assert one.features.shape == (len(one.labels), 40)
        assert one.features.dtype == np.float16 and one.labels.dtype == np.int8
        assert 0 <= one.labels.min() and one.labels.max() < len(VISEMES)


def test_cli_writes_the_same_shards_with_one_or_two_workers(tmp_path: Path) -> None:
    digests = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        args = ["--out", str(out), "--minutes", "0.4", "--seed", "7", "--workers", str(workers)]
        assert make_data.main(args) == 0
        shards = sorted(out.glob("*.npz"))
        assert {p.name.split("-")[0] for p in shards} == set(splits.SPLITS)
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in shards})
    assert digests[0] == digests[1]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split_definition"]["test_languages"] == list(splits.TEST_LANGUAGES)
    shard = np.load(out / "train-000.npz")
    assert shard["offsets"][-1] == len(shard["labels"]) == len(shard["features"])
    assert len(shard["text"]) == len(shard["offsets"]) - 1
