"""A non-rhotic speaker's "-er" and post-vocalic /r/: F3 tells the accent, and such a speaker's
words are drawn without the dictionary's /r/ (eSpeak NG's US voice says the /r/, its British
RP voice does not)."""

from __future__ import annotations

import numpy as np
import pytest

from gioconda.speech.accent import (
    MIN_R_TOKENS,
    MIN_SPEECH_OVER_NOISE_DB,
    RHOTIC_F3_RATIO,
    r_f3_ratio,
    says_r_after_vowels,
    speech_over_noise_db,
)
from gioconda.speech.audio import Audio, resample
from gioconda.speech.espeak import synthesize
from gioconda.speech.formants import formants_at
from gioconda.speech.pronounce import english_pronunciations, non_rhotic, words_viseme_variants
from gioconda.speech.sphinx_align import SphinxAligner
from gioconda.speech.transcript import (
    recording_phones,
    sphinx_sections,
    transcript_phones,
    words_to_align,
)
from gioconda.speech.visemenet import VisemeNet
from gioconda.speech.whisper import HeardSpeech, HeardWord
from gioconda.timeline import ANALYSIS_SAMPLE_RATE
from tests.speech.test_transcript import spoken

# Five /r/ positions a non-rhotic speaker leaves unsaid ("Her" is the stressed NURSE vowel;
# no final /r/ before a vowel, which both accents say).
SENTENCE = "Her father never saw the water by the river."


@pytest.fixture(scope="module")
def network() -> VisemeNet:
    return VisemeNet()


def test_non_rhotic_pronunciations() -> None:
    assert non_rhotic(("W", "AO", "T", "ER")) == ("W", "AO", "T", "AH")
    assert non_rhotic(("K", "AA", "R")) == ("K", "AA")
    assert non_rhotic(("HH", "IY", "R")) == ("HH", "IY", "AH")  # a centring glide is left
    assert non_rhotic(("HH", "ER")) == ("HH", "ER")  # stressed: the NURSE vowel is kept
    assert non_rhotic(("V", "EH", "R", "IY")) == ("V", "EH", "R", "IY")  # before a vowel
    assert non_rhotic(("TH", "R", "UW")) == ("TH", "R", "UW")  # after a consonant
    # eSpeak tells which ER is stressed, wherever it is in the word
    words = ["further", "percent", "offer", "any", "water", "."]
    said = [p[0] if p else None for p in english_pronunciations(words, rhotic=False)]
    assert said[:2] == [("F", "ER", "DH", "AH"), ("P", "AH", "S", "EH", "N", "T")]
    assert said[2] == ("AO", "F", "ER")  # the linking /r/ of "offer any" is said
    assert said[4] == ("W", "AO", "T", "AH")
    # no linking /r/ across a clause's end
    assert english_pronunciations(["ever.", "And"], rhotic=False)[0] == (("EH", "V", "AH"),)
    assert english_pronunciations(["ever", "and"], rhotic=False)[0] == (("EH", "V", "ER"),)
    # punctuation Whisper gives as a word of its own is not the next word
    assert english_pronunciations(["ever", ".", "And"], rhotic=False)[0] == (("EH", "V", "AH"),)
    assert english_pronunciations(["ever", "-", "and"], rhotic=False)[0] == (("EH", "V", "ER"),)
    assert english_pronunciations(["Mr.", "Anderson"], rhotic=False)[0] == (
        ("M", "IH", "S", "T", "ER"),
    )
    assert english_pronunciations(words)[4] == (("W", "AO", "T", "ER"),)
    assert words_viseme_variants(["water"], "en", rhotic=False) == [(("ou", "oh", "DD", "aa"),)]
    assert words_viseme_variants(["water"], "en") == [(("ou", "oh", "DD", "RR"),)]


def test_formants_of_synthetic_vowels() -> None:
    def vowel_formants(word: str, voice: str, label: str) -> np.ndarray:
        audio, truth = spoken(word, voice)
        [vowel] = [p for p in truth if p.phone.lstrip("'") == label]
        times = np.arange(vowel.start_s + 0.01, vowel.end_s - 0.01, 0.01)
        return np.nanmedian(formants_at(audio, times), axis=0)

    f1, f2, _ = vowel_formants("beat", "en-us", "i:")
    assert f1 < 450 and f2 > 1900  # /i/: close, front
    f1, f2, _ = vowel_formants("bought", "en-us", "O:")
    assert f1 > 450 and f2 < 1300  # /ɔ/: open, back
    # the r-coloured vowel of "water" pulls F3 down; the British schwa does not
    _, _, us = vowel_formants("water", "en-us", "3")
    _, _, rp = vowel_formants("water", "en-gb-x-rp", "a#")
    assert rp - us > 250, (us, rp)


def _r_ratio(voice: str, network: VisemeNet, sentence: str = SENTENCE) -> tuple[float, int, bool]:
    audio, _ = spoken(sentence, voice)
    words = words_to_align([HeardWord(w) for w in sentence.split()], "en")
    placed = sphinx_sections(SphinxAligner.shared(), audio, words, network(audio).log_probs)
    phones = recording_phones(placed)
    measured = r_f3_ratio(audio, phones)
    return (*measured, says_r_after_vowels(audio, measured))


def test_the_accent_is_told_by_f3(network: VisemeNet) -> None:
    ratio, count, rhotic = _r_ratio("en-us", network)
    assert count == 5 and ratio < RHOTIC_F3_RATIO - 0.03 and rhotic, ratio
    ratio, count, rhotic = _r_ratio("en-gb-x-rp", network)
    assert count == 5 and ratio > RHOTIC_F3_RATIO + 0.03 and not rhotic, ratio
    # A short sentence's one or two /r/ positions decide too (the hand-labelled British
    # speaker's sentences have one to three); with none, the dictionary's /r/ stays: the
    # final /r/ of "water" before "is" is said in both accents.
    ratio, count, rhotic = _r_ratio("en-gb-x-rp", network, "My father was here.")
    assert count == 2 and ratio > RHOTIC_F3_RATIO and not rhotic, ratio
    ratio, count, rhotic = _r_ratio("en-us", network, "My father was here.")
    assert count == 2 and ratio < RHOTIC_F3_RATIO and rhotic, ratio
    ratio, count, rhotic = _r_ratio("en-gb-x-rp", network, "The water is cold.")
    assert count == 0 and rhotic


def test_a_non_rhotic_speaker_is_drawn_without_r(network: VisemeNet) -> None:
    """eSpeak's RP voice: the unstressed "-er" of father, never, water, river is a schwa (its
    own labels' ``a#``), not the /r/ the CMU dictionary writes; the US voice says it (``3``)."""
    for voice, least_rr, most_rr in (("en-gb-x-rp", 0, 0), ("en-us", 3, 4)):
        audio, truth = spoken(SENTENCE, voice)
        heard = HeardSpeech(
            tuple(HeardWord(w) for w in SENTENCE.split()), "en", ((0, audio.duration_s),)
        )
        phones = transcript_phones(network(audio), heard, audio, SphinxAligner.shared())
        finals = [p for p in truth if p.phone in ("a#", "3")]
        assert len(finals) == 4, [p.phone for p in truth]
        drawn_rr = [
            any(p.viseme == "RR" and p.start_s < t.end_s and p.end_s > t.start_s for p in phones)
            for t in finals
        ]
        assert least_rr <= sum(drawn_rr) <= most_rr, (voice, drawn_rr)


def test_clipping_does_not_make_an_american_speaker_non_rhotic(network: VisemeNet) -> None:
    """A clipped recording (an over-driven microphone): its flat tops add harmonics that
    raise the LPC's F3 in the r-coloured vowels, which read as a non-rhotic speaker's (eSpeak's
    en-us 0.79 clean, 0.86 clipped at 1/20 of its peak; en-us+f3 0.91 at 1/5). A clipped
    phone is not measured: the American voices keep their /r/ (too few positions are left to
    decide), while the clean recordings are measured as before."""
    sentence = (
        "My mother and father were never there for her, and the water under the river was further."
    )
    words = words_to_align([HeardWord(w) for w in sentence.split()], "en")

    def accent(voice: str, gain: float | None) -> tuple[float, int, bool]:
        audio, _ = spoken(sentence, voice)
        if gain is not None:
            audio = Audio(np.clip(audio.samples * gain, -1.0, 1.0).astype(np.float32), 16000)
        placed = sphinx_sections(SphinxAligner.shared(), audio, words, network(audio).log_probs)
        phones = recording_phones(placed)
        measured = r_f3_ratio(audio, phones)
        return (*measured, says_r_after_vowels(audio, measured))

    for voice, gain in (("en-us", 20.0), ("en-us+f3", 5.0)):
        ratio, count, rhotic = accent(voice, gain)
        assert rhotic, (voice, gain, ratio, count)
    for voice, rhotic in (("en-us+f3", True), ("en-gb-x-rp", False)):
        ratio, count, said = accent(voice, None)
        assert count >= MIN_R_TOKENS and said == rhotic, (voice, ratio, count)


class _CountingAligner(SphinxAligner):
    """The real aligner, counting the seconds of audio it is given to align."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0

    def align_all(self, sections, language="en"):  # type: ignore[no-untyped-def]
        self.seconds += sum(audio.duration_s for audio, _ in sections)
        return super().align_all(sections, language)


def test_a_long_recording_is_aligned_once_after_its_first_minute(network: VisemeNet) -> None:
    """A non-rhotic speaker's long recording: the accent is told from its first sections,
    and only they are aligned twice (before: every section, 18 % of a 10-minute run); an
    American one is aligned once. The /r/ drawn is the accent's."""
    sentences = (
        "Her father never saw the water by the river.",
        "The teacher told the children a story about a tiger in the forest.",
        "We were there for an hour before the doctor arrived.",
        "My brother prefers the north shore in early summer.",
        "The weather was warmer than ever after the storm.",
        "Perhaps the answer is further along the corridor.",
    )
    for voice, rhotic in (("en-gb-x-rp", False), ("en-us", True)):
        pieces, words, at = [], [], 0.0
        while at < 100.0:  # four sections of at most 30 s
            sentence = sentences[len(pieces) // 2 % len(sentences)]
            speech = resample(synthesize(sentence, voice=voice).audio, ANALYSIS_SAMPLE_RATE)
            step = speech.duration_s / len(sentence.split())
            words += [
                HeardWord(w, at + i * step, at + (i + 1) * step, 0.9)
                for i, w in enumerate(sentence.split())
            ]
            pieces += [speech.samples, np.zeros(ANALYSIS_SAMPLE_RATE // 2, np.float32)]
            at += speech.duration_s + 0.5
        audio = Audio(np.concatenate(pieces), ANALYSIS_SAMPLE_RATE)
        heard = HeardSpeech(tuple(words), "en", ((0.0, audio.duration_s),))
        aligner = _CountingAligner()
        phones = transcript_phones(network(audio), heard, audio, aligner)
        limit = audio.duration_s + (60.0 if not rhotic else 0.5)
        assert audio.duration_s - 5 < aligner.seconds < limit, (voice, aligner.seconds)
        drawn_rr = sum(p.viseme == "RR" for p in phones)
        # The British voice's "-er", "-or", "there", "hour"... lose their /r/ ("Her", "were",
        # "further" keep the NURSE vowel; the /r/ before a vowel stays): 100 segments against
        # the American voice's 202.
        assert (drawn_rr > 150) == rhotic, (voice, drawn_rr)


def test_noise_does_not_make_an_american_speaker_non_rhotic(network: VisemeNet) -> None:
    """Broadband noise flattens the spectrum the LPC fits and raises F3 in the r-coloured
    vowels: eSpeak's en-us in white noise at 10 dB reads 0.88, a non-rhotic speaker's ratio.
    A recording whose speech stands less than MIN_SPEECH_OVER_NOISE_DB over its noise floor is
    not judged, and the American voice keeps its /r/; the clean British one is still told."""
    sentence = (
        "My mother and father were never there for her, and the water under the river was further."
    )
    words = words_to_align([HeardWord(w) for w in sentence.split()], "en")
    rng = np.random.default_rng(0)

    def accent(voice: str, snr_db: float | None) -> tuple[float, float, bool]:
        audio, _ = spoken(sentence, voice)
        samples = audio.samples.astype(np.float64)
        if snr_db is not None:
            voiced = samples[np.abs(samples) > 0.01 * np.abs(samples).max()]
            sigma = np.sqrt(np.mean(voiced**2) / 10 ** (snr_db / 10))
            samples = samples + rng.normal(0.0, sigma, len(samples))
        audio = Audio(np.clip(samples, -1.0, 1.0).astype(np.float32), audio.sample_rate)
        placed = sphinx_sections(SphinxAligner.shared(), audio, words, network(audio).log_probs)
        phones = recording_phones(placed)
        measured = r_f3_ratio(audio, phones)
        return measured[0], speech_over_noise_db(audio), says_r_after_vowels(audio, measured)

    ratio, level, rhotic = accent("en-us", 10.0)
    assert ratio > RHOTIC_F3_RATIO, ratio  # the measure alone is fooled
    assert level < MIN_SPEECH_OVER_NOISE_DB and rhotic, (ratio, level)
    ratio, level, rhotic = accent("en-gb-x-rp", None)
    assert level > MIN_SPEECH_OVER_NOISE_DB and not rhotic, (ratio, level)


def test_speech_over_noise_of_a_known_signal() -> None:
    """A tone 30 dB over white noise, half the recording each: about 30 dB. Digital silence
    (a noise gate, zeros padded on) is no noise floor: with a third of zeros before the same
    recording, still about 30 dB (not the 200 dB of zeros against the tone). Nothing but
    zeros, or too short to tell: NaN."""
    rate = 16000
    rng = np.random.default_rng(1)
    t = np.arange(2 * rate) / rate
    tone = np.where(t < 1.0, 0.0, np.sqrt(2) * 0.1 * np.sin(2 * np.pi * 200 * t))
    noisy = tone + rng.normal(0.0, 0.1 * 10 ** (-30 / 20), len(t))
    level = speech_over_noise_db(Audio(noisy.astype(np.float32), rate))
    assert 28.0 < level < 32.0, level
    gated = np.concatenate([np.zeros(rate), noisy]).astype(np.float32)
    assert 28.0 < speech_over_noise_db(Audio(gated, rate)) < 32.0
    assert np.isnan(speech_over_noise_db(Audio(np.zeros(2 * rate, np.float32), rate)))
    assert np.isnan(speech_over_noise_db(Audio(np.zeros(100, np.float32), rate)))


def test_a_loud_smooth_peak_is_not_clipping() -> None:
    """A clean voice's loudest peaks spend a while near the recording's peak (a 120 Hz vowel
    about 0.5 ms over 0.98 of it) but are never level, as a clipped top is; the same voice
    clipped is found."""
    from gioconda.speech.accent import _clipped_samples

    for rate in (16000, 44100):
        t = np.arange(rate) / rate
        voice = np.sin(2 * np.pi * 120 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) ** 2
        clean = Audio((0.9 * voice / np.abs(voice).max()).astype(np.float32), rate)
        assert len(_clipped_samples(clean)) == 0, rate
        clipped = Audio(np.clip(4.0 * clean.samples, -0.9, 0.9).astype(np.float32), rate)
        assert len(_clipped_samples(clipped)) > 50, rate
