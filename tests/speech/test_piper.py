"""Piper's joe: a native English voice, timed by its own phoneme durations (issue 12)."""

from __future__ import annotations

import itertools

import numpy as np

from gioconda.speech import piper, synthesis


def test_joe_is_the_default_voice_and_times_every_sample():
    assert synthesis.DEFAULT_VOICE == "joe"
    spoken = synthesis.speak("Bob made my mom a palm lamp.")
    audio, phones = spoken.audio, spoken.phones
    assert audio.sample_rate == 22050 and 1.0 < audio.duration_s < 4.0
    # Contiguous from the first sample to the last, as the model's durations add up.
    assert phones[0].start_s == 0.0
    assert abs(phones[-1].end_s - audio.duration_s) < 1e-9
    assert all(abs(a.end_s - b.start_s) < 1e-9 for a, b in itertools.pairwise(phones))
    # A sentence of lip closures (/b m p/ in nearly every word): the bilabial viseme is there,
    # and every other phone is heard where it is placed (its stretch of audio is not silent).
    closures = [p for p in phones if p.viseme == "PP"]
    assert len(closures) >= 6
    for segment in (p for p in phones if p.viseme not in ("sil", "PP")):
        start = round(segment.start_s * audio.sample_rate)
        end = round(segment.end_s * audio.sample_rate)
        assert np.sqrt(np.mean(audio.samples[start:end] ** 2)) > 1e-3, segment


def test_voices_names_language_and_accent(capsys):
    from gioconda.cli.app import main

    assert main(["voices"]) == 0
    out = capsys.readouterr().out
    assert "joe" in out and "American" in out and "Japanese" in out
    assert piper.voice_name("piper:JOE") == "joe" and piper.voice_name("jm_kumo") is None


def test_the_same_text_speaks_the_same_every_time():
    # VITS samples durations and spectrogram from noise; the same text must give the same
    # samples and phone times, in one process as across runs, so a video made from text repeats.
    first = piper.synthesize("Papa made more maps.")
    second = piper.synthesize("Papa made more maps.")
    assert np.array_equal(first.audio.samples, second.audio.samples)
    assert first.phones == second.phones
