"""Phones from recorded speech, behind one small interface.

A :class:`PhoneRecognizer` turns audio into contiguous phone segments
(:class:`~gioconda.visemes.PhoneSegment`). :class:`PocketSphinxRecognizer` decodes phones
with the English acoustic model that the ``pocketsphinx`` wheel carries (no download); our
own network (:class:`NetworkRecognizer`, :mod:`gioconda.visemenet`) is the other one.

Settings were chosen by measurement: share of 10 ms frames with the right viseme, on 40
eSpeak NG sentences (4 voices, exact timings from :mod:`gioconda.speech`) and on 7
hand-labelled recordings of a real speaker (Australian English); chance is about 0.1.

=================================  ======  =====  ========================
decoder                            eSpeak  real   seconds per audio second
=================================  ======  =====  ========================
PocketSphinx defaults (lw 6.5)     0.25    0.61   0.05
lw 2                               0.38    0.67   0.05
lw 1.5, noise floor (the default)  0.51    0.68   0.05
context-dependent phones           0.51    0.73   0.6-2
=================================  ======  =====  ========================

Beams, phone insertion penalty and top-N barely matter (within 0.01).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from pocketsphinx import Decoder, get_model_path
from scipy.ndimage import maximum_filter1d

from gioconda.audio import Audio, resample
from gioconda.timeline import ANALYSIS_SAMPLE_RATE, FEATURE_HOP_S
from gioconda.visemenet import SWITCH_PENALTY, VisemePosteriors, path_to_phones, viterbi
from gioconda.visemes import VISEME_INDEX, PhoneSegment, arpabet_to_viseme

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
_MIN_NOISE_FLOOR = 10 ** (-90 / 20)  # about one 16-bit step, for all-silent input


@runtime_checkable
class PhoneRecognizer(Protocol):
    """Anything that finds phones in speech."""

    #: Short identifier, e.g. for reports and command-line choices.
    name: str

    def recognize(self, audio: Audio) -> tuple[PhoneSegment, ...]:
        """Contiguous phone segments covering the whole audio; pauses have viseme ``"sil"``."""
        ...


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

    def recognize(self, audio: Audio) -> tuple[PhoneSegment, ...]:
        """Phones heard in ``audio`` (any sample rate, resampled to 16 kHz).

        Returns
        -------
        Contiguous segments from 0 to ``audio.duration_s``, labelled with ARPAbet phones
        (``"SIL"`` and noise fillers such as ``"+NSN+"`` have viseme ``"sil"``).
        """
        duration = audio.duration_s
        if duration <= 0:
            return ()
        pcm = _to_pcm16(_with_noise_floor(resample(audio, ANALYSIS_SAMPLE_RATE)))
        with self._lock:
            # The front end carries state from one utterance to the next; resetting it (0.1 ms)
            # makes every call decode exactly as a fresh decoder would.
            self._decoder.reinit_feat()
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
            decoded = [(seg.word, seg.start_frame) for seg in self._decoder.seg()]
        return _segments(decoded, duration)


class NetworkRecognizer:
    """Visemes from our own network (:mod:`gioconda.visemenet`): any language, any voice."""

    name = "network"

    def __init__(self) -> None:
        from gioconda.visemenet import VisemeNet

        self._net = VisemeNet()

    def recognize(self, audio: Audio) -> tuple[PhoneSegment, ...]:
        return self._net(audio).to_phones()


class CombinedRecognizer:
    """English: our network's timing and closures, PocketSphinx's phone model as a prior."""

    name = "combined"

    def __init__(self) -> None:
        from gioconda.visemenet import VisemeNet

        self._net = VisemeNet()
        self._sphinx = PocketSphinxRecognizer()

    def recognize(self, audio: Audio) -> tuple[PhoneSegment, ...]:
        return fuse_network_and_recognizer(self._net(audio), self._sphinx.recognize(audio))


#: How far either side of where PocketSphinx put a viseme it counts as support, in seconds.
FUSION_SUPPORT_S = 0.06
#: Cost (nats) of a viseme that PocketSphinx does not support nearby: the network must be
#: e^2 ~ 7 times surer of it than of the supported ones to keep it.
FUSION_PENALTY = 2.0


def fuse_network_and_recognizer(
    posteriors: VisemePosteriors,
    recognized: Sequence[PhoneSegment],
    support_s: float = FUSION_SUPPORT_S,
    penalty: float = FUSION_PENALTY,
    switch_penalty: float = SWITCH_PENALTY,
) -> tuple[PhoneSegment, ...]:
    """Visemes from the network's posteriors, with PocketSphinx's visemes as a prior.

    The network times everything and alone decides closures; PocketSphinx (whose timing is
    coarse but whose English phone model knows the language) says which visemes are plausible
    around each moment. A viseme that PocketSphinx put within ``support_s`` of a 10 ms frame
    is supported there; every other viseme pays ``penalty`` nats at that frame, except ``PP``,
    which is never penalized (the network's closures stand). The best path through these
    scores (Viterbi with ``switch_penalty`` per change, as :meth:`VisemePosteriors.to_phones`)
    is the result: where the two agree the network's timing wins, where they disagree the
    network must be clearly surer than the prior.

    Parameters
    ----------
    posteriors: the network's (T, 15) log-probabilities, hop ``i`` at ``i * 10`` ms
    recognized: PocketSphinx's phones on the same audio
    support_s: how far a recognized viseme's support reaches beyond its segment, in seconds
    penalty: cost of an unsupported viseme, in nats per frame
    switch_penalty: Viterbi cost of changing viseme between two frames

    Returns
    -------
    Contiguous segments over the T hops (``phone`` is the viseme's name).
    """
    scores = np.asarray(posteriors.log_probs, np.float64)
    n_hops = len(scores)
    said = visemes_at(recognized, np.arange(n_hops) * FEATURE_HOP_S)
    support = np.zeros_like(scores)
    support[np.arange(n_hops), said] = 1.0
    reach = round(support_s / FEATURE_HOP_S)
    support = maximum_filter1d(support, size=2 * reach + 1, axis=0, mode="nearest")
    support[:, VISEME_INDEX["PP"]] = 1.0
    return path_to_phones(viterbi(scores - penalty * (1.0 - support), switch_penalty))


def visemes_at(phones: Sequence[PhoneSegment], times_s: np.ndarray) -> np.ndarray:
    """The viseme at each instant: indices into :data:`VISEMES`, shaped like ``times_s``.

    An instant is in a segment when ``start_s <= t < end_s``; an instant in no segment is
    silence; where segments overlap, the later-starting one wins.

    Examples
    --------
    >>> track = visemes_at([PhoneSegment(0.0, 0.02, "m", "PP")], np.arange(4) * 0.01)
    >>> [VISEMES[i] for i in track]
    ['PP', 'PP', 'sil', 'sil']
    """
    times = np.asarray(times_s, np.float64)
    track = np.full(times.shape, VISEME_INDEX["sil"], np.int64)
    for phone in sorted(phones, key=lambda p: p.start_s):
        inside = (times >= phone.start_s - 1e-9) & (times < phone.end_s - 1e-9)
        track[inside] = VISEME_INDEX[phone.viseme]
    return track


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


def viseme_frames(
    phones: Sequence[PhoneSegment], n_frames: int, hop_s: float = FEATURE_HOP_S
) -> np.ndarray:
    """The viseme at the centre of each frame, as indices into :data:`~gioconda.visemes.VISEMES`.

    Frame ``i`` covers ``[i * hop_s, (i + 1) * hop_s)``; where no segment covers its centre it
    is ``sil``. Returns ``(n_frames,) int64``.
    """
    return visemes_at(phones, (np.arange(n_frames) + 0.5) * hop_s)


def viseme_accuracy(
    truth: Sequence[PhoneSegment],
    predicted: Sequence[PhoneSegment],
    duration_s: float,
    hop_s: float = FEATURE_HOP_S,
) -> float:
    """Share of ``hop_s`` frames over ``duration_s`` whose predicted viseme is the true one.

    Examples
    --------
    >>> a = [PhoneSegment(0.0, 0.5, "M", "PP"), PhoneSegment(0.5, 1.0, "AA", "aa")]
    >>> b = [PhoneSegment(0.0, 0.6, "B", "PP"), PhoneSegment(0.6, 1.0, "AH", "aa")]
    >>> round(viseme_accuracy(a, b, 1.0), 2)
    0.9
    """
    n_frames = int(duration_s / hop_s + 1e-9)  # whole frames only
    if n_frames == 0:
        return 1.0
    return float(
        np.mean(viseme_frames(truth, n_frames, hop_s) == viseme_frames(predicted, n_frames, hop_s))
    )


#: The recognizers by name, as ``--lipsync`` spells them.
RECOGNIZERS: dict[str, type] = {
    "combined": CombinedRecognizer,
    "network": NetworkRecognizer,
    "pocketsphinx": PocketSphinxRecognizer,
}
