"""PocketSphinx: English phones by all-phone decoding, and English words with its language
model and dictionary.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable

import numpy as np
from pocketsphinx import Decoder, get_model_path

from gioconda.progress import Progress, no_progress
from gioconda.speech.align import RecognizedWord
from gioconda.speech.audio import Audio, resample
from gioconda.speech.visemes import PhoneSegment, arpabet_to_viseme
from gioconda.timeline import ANALYSIS_SAMPLE_RATE

# PocketSphinx frame f is a 25.6 ms window that starts at f * 10 ms: it stands for the
# window's centre, so a boundary between frames f-1 and f lies at f * 10 ms + 7.8 ms.
_FRAME_S = 0.010


_BOUNDARY_OFFSET_S = 0.0128 - _FRAME_S / 2


# The phone language model's weight: 1-2 is best for phones (the default 6.5 suits words).
_LANGUAGE_WEIGHT = 1.5


# Context-dependent phones need narrow beams to run near real time; at 1e-10 and below the
# search loses its way (frame accuracy falls to 0.35).
_CD_BEAM = 1e-14


_CD_MAX_HMMS_PER_FRAME = 3000


# The acoustic model never heard digital silence (synthetic speech has it in every stop
# closure); a floor 55 dB under the speech's peak fills it, far below any real recording's.
_NOISE_FLOOR_DB = -55.0


_NOISE_SEED = 0


# Word decoding: PocketSphinx's default beams (1e-48, 1e-40, 7e-29) lose the right word
# on real speech more often; these raise word-based frame accuracy on the real recordings
# from 0.66 to 0.68 and cost 0.17 -> 0.25 s per audio second.
_WORD_BEAMS = {"beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60}


_MIN_NOISE_FLOOR = 10 ** (-90 / 20)  # about one 16-bit step, for all-silent input


class PocketSphinxRecognizer:
    """PocketSphinx all-phone decoding with the wheel's US English model.

    The decoder is built once (about 0.15 s) and reused; calls are serialized because a
    decoder holds one utterance at a time.

    Parameters
    ----------
    context_dependent:
        Decode triphones instead of context-independent phones: 5 points more frame
        accuracy on real speech, none on synthetic speech, and 12-40x slower (0.6-2 s per
        second of audio on one core, against 0.05 s): for offline work only.
    """

    name = "pocketsphinx"

    def __init__(self, context_dependent: bool = False) -> None:
        model = get_model_path()
        options: dict[str, object] = {
            "hmm": os.path.join(model, "en-us", "en-us"),
            "allphone": os.path.join(model, "en-us", "en-us-phone.lm.bin"),
            "lw": _LANGUAGE_WEIGHT,
            "logfn": os.devnull,  # it logs every setting and utterance otherwise
        }
        if context_dependent:
            options.update(
                allphone_ci=False,
                beam=_CD_BEAM,
                pbeam=_CD_BEAM,
                maxhmmpf=_CD_MAX_HMMS_PER_FRAME,
            )
        self._decoder = Decoder(**options)
        self._lock = threading.Lock()

    def recognize(self, audio: Audio, progress: Progress = no_progress) -> tuple[PhoneSegment, ...]:
        """Phones heard in ``audio`` (any sample rate, resampled to 16 kHz).

        Returns
        -------
        Contiguous segments from 0 to ``audio.duration_s``, labelled with ARPAbet phones
        (``"SIL"`` and noise fillers such as ``"+NSN+"`` have viseme ``"sil"``).
        """
        duration = audio.duration_s
        if duration <= 0:
            return ()
        with self._lock:
            _decode(self._decoder, audio)
            decoded = [(seg.word, seg.start_frame) for seg in self._decoder.seg()]
        return _segments(decoded, duration)


class PocketSphinxWordRecognizer:
    """English words with the wheel's language model and dictionary (no download).

    Wider beams than PocketSphinx's defaults (:data:`_WORD_BEAMS`) find more of the right
    words on real speech (0.17 -> 0.25 s per second of audio on one core). Building the
    decoder loads the language model (about 0.5 s); calls are serialized.
    """

    def __init__(self) -> None:
        model = os.path.join(get_model_path(), "en-us")
        self._decoder = Decoder(
            hmm=os.path.join(model, "en-us"),
            lm=os.path.join(model, "en-us.lm.bin"),
            dict=os.path.join(model, "cmudict-en-us.dict"),
            logfn=os.devnull,
            **_WORD_BEAMS,
        )
        self._lock = threading.Lock()

    def words(self, audio: Audio) -> tuple[RecognizedWord, ...]:
        """The words heard in ``audio``, in order; fillers and silences left out."""
        if audio.duration_s <= 0:
            return ()
        words: list[RecognizedWord] = []
        with self._lock:
            _decode(self._decoder, audio)
            for seg in self._decoder.seg():
                # <s>, </s>, <sil>, [NOISE], +SMACK+ ...: not words
                if seg.word[:1] in "<[+":
                    continue
                pronunciation = self._decoder.lookup_word(seg.word)
                if not pronunciation:
                    continue
                words.append(
                    RecognizedWord(
                        word=re.sub(r"\(\d+\)$", "", seg.word),  # "and(2)": a variant
                        start_s=seg.start_frame * _FRAME_S + _BOUNDARY_OFFSET_S,
                        end_s=(seg.end_frame + 1) * _FRAME_S + _BOUNDARY_OFFSET_S,
                        phones=tuple(pronunciation.split()),
                    )
                )
        return tuple(words)


def _decode(decoder: Decoder, audio: Audio) -> None:
    """Run ``decoder`` over the whole of ``audio`` (resampled to 16 kHz, with the noise floor);
    its results are then read from it. The caller holds the decoder's lock."""
    pcm = _to_pcm16(_with_noise_floor(resample(audio, ANALYSIS_SAMPLE_RATE)))
    # The front end carries state from one utterance to the next; resetting it (0.1 ms) makes
    # every call decode exactly as a fresh decoder would.
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _with_noise_floor(audio: Audio) -> Audio:
    """The audio with a faint, seeded white noise added (the same every call)."""
    level = float(np.percentile(np.abs(audio.samples), 99.9))
    noise = np.random.default_rng(_NOISE_SEED).standard_normal(audio.samples.size)
    floor = max(level * 10 ** (_NOISE_FLOOR_DB / 20), _MIN_NOISE_FLOOR)
    return Audio((audio.samples + floor * noise).astype(np.float32), audio.sample_rate)


def _to_pcm16(audio: Audio) -> bytes:
    return (np.clip(audio.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def _segments(decoded: Iterable[tuple[str, int]], duration_s: float) -> tuple[PhoneSegment, ...]:
    """Contiguous segments from (label, start frame) pairs in decoding order."""
    starts: list[float] = []
    labels: list[str] = []
    for label, start_frame in decoded:
        start = 0.0 if not starts else start_frame * _FRAME_S + _BOUNDARY_OFFSET_S
        if start >= duration_s:
            break
        if starts and start <= starts[-1]:
            labels[-1] = label  # a zero-length phone: the later one wins
            continue
        starts.append(start)
        labels.append(label)
    if not starts:
        return (PhoneSegment(0.0, duration_s, "SIL", "sil"),)
    ends = [*starts[1:], duration_s]
    return tuple(
        PhoneSegment(start, end, label, arpabet_to_viseme(label))
        for start, end, label in zip(starts, ends, labels, strict=True)
    )
