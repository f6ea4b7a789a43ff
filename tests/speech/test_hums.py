"""Hums: a nasal murmur (lips shut, voice on) is found in the waveform and draws a written
/m/ onto it; a breath or a pause is no hum. The sounds are synthesized here: a glottal pulse
train through a nasal murmur's resonance, or through an open vowel's formants."""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from gioconda.speech.audio import Audio
from gioconda.speech.hums import hum_strength
from gioconda.speech.pronounce import word_viseme_variants
from gioconda.speech.transcript import transcript_phones
from gioconda.speech.visemenet import VisemePosteriors
from gioconda.speech.visemes import VISEME_INDEX, VISEMES
from gioconda.speech.whisper import HeardSpeech, HeardWord
from gioconda.timeline import ANALYSIS_SAMPLE_RATE, FEATURE_HOP_S

SR = ANALYSIS_SAMPLE_RATE
PAUSE_S, VOWEL_S, HUM_S = 0.3, 0.15, 0.5
NASAL_SHARE = 0.3


def voiced(seconds: float, resonances: list[tuple[float, float]], f0: float = 110.0) -> np.ndarray:
    """A pulse train at ``f0`` with a glottal source's falling spectrum, through resonators
    given as (centre Hz, bandwidth Hz), scaled to a speaking level."""
    n = int(seconds * SR)
    source = np.zeros(n)
    source[:: int(SR / f0)] = 1.0
    # The source falls about 12 dB per octave, the lips' radiation lifts 6 dB per octave.
    signal = lfilter([1.0, -1.0], [1.0, -0.95], source)
    for centre, bandwidth in resonances:
        r = np.exp(-np.pi * bandwidth / SR)
        signal = lfilter([1.0 - r], [1.0, -2 * r * np.cos(2 * np.pi * centre / SR), r * r], signal)
    return (0.2 * signal / np.max(np.abs(signal))).astype(np.float32)


def murmur(seconds: float) -> np.ndarray:
    """A hummed /m/: a strong low resonance, and the nose's weak ones higher up (about as
    muffled as the labelled /m/ of real voices: 31-33 dB less above 1.8 kHz than below
    400 Hz)."""
    nasal = voiced(seconds, [(1000.0, 150.0), (2200.0, 200.0)])
    return voiced(seconds, [(250.0, 60.0), (250.0, 100.0)]) + NASAL_SHARE * nasal


def vowel(seconds: float) -> np.ndarray:
    """An open /a/: formants at 700, 1220 and 2600 Hz."""
    return voiced(seconds, [(700.0, 80.0), (1220.0, 90.0), (2600.0, 120.0)])


def breath(seconds: float) -> np.ndarray:
    """An unvoiced breath: noise, at a speaking level."""
    noise = np.random.default_rng(0).standard_normal(int(seconds * SR))
    return (0.03 * noise).astype(np.float32)


def pause(seconds: float) -> np.ndarray:
    """A pause in a quiet room."""
    return (1e-4 * np.random.default_rng(1).standard_normal(int(seconds * SR))).astype(np.float32)


def filled_pause(middle: np.ndarray) -> Audio:
    """Pause, an open vowel, ``middle`` (HUM_S long), pause: the shape of "um" or "uh"."""
    parts = [pause(PAUSE_S), vowel(VOWEL_S), middle, pause(PAUSE_S)]
    return Audio(np.concatenate(parts), SR)


def hops(start_s: float, end_s: float) -> slice:
    return slice(round(start_s / FEATURE_HOP_S), round(end_s / FEATURE_HOP_S))


def test_a_hum_is_found_and_a_vowel_breath_or_pause_is_not() -> None:
    audio = Audio(
        np.concatenate([pause(0.4), vowel(0.4), murmur(0.4), breath(0.4), pause(0.4)]), SR
    )
    strength = hum_strength(audio)
    assert len(strength) == int(np.ceil(len(audio.samples) / (FEATURE_HOP_S * SR)))
    inner = 0.05  # away from the edges between the sounds
    assert strength[hops(inner, 0.4 - inner)].max() == 0.0  # pause
    assert strength[hops(0.4 + inner, 0.8 - inner)].mean() < 0.2  # open vowel
    assert strength[hops(0.8 + inner, 1.2 - inner)].mean() > 0.8  # hum
    assert strength[hops(1.2 + inner, 1.6 - inner)].max() < 0.1  # breath
    assert strength[hops(1.6 + inner, 2.0 - inner)].max() == 0.0  # pause


def posteriors_hearing_no_hum(n_hops: int) -> VisemePosteriors:
    """What our network makes of a filled pause: the vowel, then silence with a little of
    the vowel and of /m/ for the hum (as it heard the MFA recording's hums)."""
    probs = np.full((n_hops, len(VISEMES)), 0.2 / (len(VISEMES) - 1))
    probs[:, VISEME_INDEX["sil"]] = 0.8
    vowel_hops = hops(PAUSE_S, PAUSE_S + VOWEL_S)
    probs[vowel_hops] = 0.2 / (len(VISEMES) - 1)
    probs[vowel_hops, VISEME_INDEX["aa"]] = 0.8
    hum_hops = hops(PAUSE_S + VOWEL_S, PAUSE_S + VOWEL_S + HUM_S)
    probs[hum_hops] = 0.1 / (len(VISEMES) - 3)
    probs[hum_hops, VISEME_INDEX["sil"]] = 0.55
    probs[hum_hops, VISEME_INDEX["aa"]] = 0.3
    probs[hum_hops, VISEME_INDEX["PP"]] = 0.05
    return VisemePosteriors(np.log(probs).astype(np.float32))


def shut_at(phones, t: float) -> bool:
    return any(p.viseme == "PP" and p.start_s <= t < p.end_s for p in phones)


def test_a_hummed_um_shuts_the_lips_and_an_uh_with_a_breath_does_not() -> None:
    # Whisper writes "Um," with no length, where the hum ends.
    end_s = PAUSE_S + VOWEL_S + HUM_S
    heard = HeardSpeech((HeardWord("Um,", end_s, end_s, 0.9, -0.2, 0.0),), "en", ((0.3, end_s),))
    hum_audio = filled_pause(murmur(HUM_S))
    n_hops = int(np.ceil(len(hum_audio.samples) / (FEATURE_HOP_S * SR)))
    posteriors = posteriors_hearing_no_hum(n_hops)
    middle_s = PAUSE_S + VOWEL_S + HUM_S / 2
    # The network alone hears silence there: the /m/ is placed right after the vowel.
    assert not shut_at(transcript_phones(posteriors, heard), middle_s)
    with_hum = transcript_phones(posteriors, heard, hum_audio)
    assert shut_at(with_hum, middle_s)
    assert shut_at(with_hum, PAUSE_S + VOWEL_S + 0.1)
    assert not shut_at(with_hum, PAUSE_S + VOWEL_S / 2)  # the vowel stays open
    # "Uh" and a breath: the same words and network output, no hum in the waveform.
    breath_audio = filled_pause(breath(HUM_S))
    with_breath = transcript_phones(posteriors, heard, breath_audio)
    assert with_breath == transcript_phones(posteriors, heard)
    silent_audio = filled_pause(pause(HUM_S))
    assert transcript_phones(posteriors, heard, silent_audio) == transcript_phones(
        posteriors, heard
    )


def test_hummed_fillers_may_be_said_as_a_hum_alone() -> None:
    for filler in ("Um,", "umm", "Hmm.", "mm", "Mmm,", "mm-hmm", "Mhm"):
        assert ("PP",) in word_viseme_variants(filler, "en"), filler
    assert word_viseme_variants("Um,", "en")[0] == ("aa", "PP")  # the dictionary's first
    for word in ("uh", "Uh-huh", "some", "hum"):  # open fillers, and words, keep their vowel
        assert ("PP",) not in word_viseme_variants(word, "en"), word
