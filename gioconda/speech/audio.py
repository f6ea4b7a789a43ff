"""Audio in: decode any common format with PyAV, resample, and measure it per 10 ms.

Loudness, voicing, pitch and pauses are the prosody that drives the jaw, the head and the
blinks; the phonetic content (visemes) comes from :mod:`gioconda.recognize` or from the
speech synthesizer's own timings (:mod:`gioconda.speech`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from gioconda.errors import GiocondaError
from gioconda.timeline import ANALYSIS_SAMPLE_RATE, FEATURE_HOP_S

#: Longest audio accepted unless the caller raises it, in seconds.
DEFAULT_MAX_AUDIO_S = 600.0


@dataclass(frozen=True)
class Audio:
    """Mono audio.

    Attributes
    ----------
    samples: (n,) float32 in [-1, 1]
    sample_rate: samples per second
    """

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class AudioFeatures:
    """Prosody of an utterance, one value per 10 ms hop (hop ``i`` is time ``i * 0.01`` s).

    Attributes
    ----------
    loudness_db: (T,) float32, RMS level in dBFS (-100 for digital silence)
    speech: (T,) bool, voice activity: True while someone is speaking (pauses are False)
    voiced: (T,) bool, a periodic (voiced) sound is present
    pitch_hz: (T,) float32, fundamental frequency where voiced, 0 elsewhere
    level: (T,) float32 in [0, 1], loudness normalized to this utterance's speech range
    """

    loudness_db: np.ndarray
    speech: np.ndarray
    voiced: np.ndarray
    pitch_hz: np.ndarray
    level: np.ndarray

    @property
    def duration_s(self) -> float:
        return len(self.loudness_db) * FEATURE_HOP_S


#: The highest sample rate a soundtrack is kept at (the MP4's AAC is 48 kHz).
MAX_SOURCE_RATE = 48_000


def load_audio(
    path: str | os.PathLike[str],
    sample_rate: int | None = ANALYSIS_SAMPLE_RATE,
    max_duration_s: float | None = DEFAULT_MAX_AUDIO_S,
) -> Audio:
    """Decode an audio file (WAV, MP3, M4A, OGG, FLAC, or a video's audio) to mono.

    Parameters
    ----------
    path: the file
    sample_rate: rate to resample to; None keeps the file's own rate, up to
        :data:`MAX_SOURCE_RATE` (a soundtrack: a 16 kHz recording is not blown up to 48 kHz,
        three times its memory, only to be resampled again when it is muxed)
    max_duration_s: refuse longer audio (None: no limit)

    Raises
    ------
    GiocondaError: the file is missing, unreadable, has no audio stream, is silent-empty,
        or is longer than ``max_duration_s``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise GiocondaError(f"audio file not found: {path}")
    if not os.path.isfile(path):
        raise GiocondaError(f"audio file {path} is not a regular file")
    if max_duration_s is not None and not max_duration_s > 0:  # NaN too
        raise GiocondaError(f"the audio limit must be a positive number, got {max_duration_s}")
    # Decoded into one buffer that grows as needed (sized from the container's duration):
    # chunks joined at the end would hold a long recording twice.
    samples = np.zeros(0, np.float32)
    total = 0
    # Channels are averaged here, not by FFmpeg: its downmix of 5.1 to mono adds the channels
    # up (a 3x gain for six equal channels, which clips). The average is then raised back to
    # the loudest input channel's peak, so a voice in the centre channel alone keeps its level.
    input_peak = mono_peak = 0.0
    try:
        with av.open(path) as container:
            if not container.streams.audio:
                raise GiocondaError(f"no audio stream in {path}")
            stream = container.streams.audio[0]
            if sample_rate is None:
                sample_rate = min(stream.rate or MAX_SOURCE_RATE, MAX_SOURCE_RATE)
            resampler = av.AudioResampler(format="fltp", rate=sample_rate)
            limit = (
                None
                if max_duration_s is None or math.isinf(max_duration_s)
                else int(max_duration_s * sample_rate) + 1
            )
            expected_s = container.duration / av.time_base if container.duration else 10.0
            if limit is not None and max_duration_s is not None:
                expected_s = min(expected_s, max_duration_s)
            samples = np.zeros(int(min(expected_s, 4 * 3600) * sample_rate * 1.01) + 1, np.float32)

            def append(channels: np.ndarray) -> None:
                nonlocal samples, total, input_peak, mono_peak
                if not channels.size:
                    return
                if not np.isfinite(channels).all():
                    # A float file's NaN spreads through every later filter and silenced the
                    # whole recording's lip sync; such a sample (infinity too: +inf and -inf
                    # in two channels average to NaN) is no sound, and leaves the level of
                    # the rest as it was.
                    channels = np.where(np.isfinite(channels), channels, 0.0).astype(np.float32)
                mono = channels.mean(axis=0, dtype=np.float32)
                if total + len(mono) > len(samples):
                    samples = np.resize(samples, max(total + len(mono), len(samples) * 3 // 2))
                samples[total : total + len(mono)] = mono
                total += len(mono)
                input_peak = max(input_peak, float(np.abs(channels).max()))
                mono_peak = max(mono_peak, float(np.abs(mono).max()))

            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    append(out.to_ndarray())
                if limit is not None and total > limit:
                    raise GiocondaError(
                        f"audio is longer than {max_duration_s:g} s: {path} "
                        "(raise the limit with --max-audio-seconds)"
                    )
            for out in resampler.resample(None):
                append(out.to_ndarray())
    except GiocondaError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as error:
        raise GiocondaError(f"cannot read audio from {path}: {error}") from None
    samples = samples[:total]
    assert sample_rate is not None
    if samples.size < sample_rate // 10:
        raise GiocondaError(f"audio is empty (under 0.1 s): {path}")
    if 0.0 < mono_peak < input_peak:
        samples *= np.float32(min(input_peak, 1.0) / mono_peak)
    return Audio(np.clip(samples, -1.0, 1.0, out=samples), sample_rate)


#: Seconds of audio handed to the resampler at a time.
RESAMPLE_BLOCK_S = 4


def resample(audio: Audio, sample_rate: int) -> Audio:
    """The same audio at another sample rate (PyAV's resampler, i.e. FFmpeg's swresample)."""
    if audio.sample_rate == sample_rate:
        return audio
    return Audio(AudioResampling(audio, sample_rate).take(None), sample_rate)


class AudioResampling:
    """A recording at another sample rate, handed out a piece at a time.

    The source is fed to the resampler a few seconds at a time, as the output is asked for,
    so a long soundtrack is never held twice (a 10-minute one at 48 kHz is 115 MB); the
    samples out are the same as resampling all at once.
    """

    def __init__(self, audio: Audio, sample_rate: int) -> None:
        self._source = np.asarray(audio.samples, np.float32).reshape(-1)
        self._source_rate = audio.sample_rate
        self._source_pos = 0
        self._resampler = (
            None
            if audio.sample_rate == sample_rate
            else av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        )
        self._rate = sample_rate
        self._flushed = False
        self._ready = np.zeros(0, np.float32)  # resampled, not yet taken

    def take(self, count: int | None) -> np.ndarray:
        """The next ``count`` output samples (fewer at the end; None: all that are left)."""
        if count is None:
            return self._take_all()
        parts, ready = [self._ready], len(self._ready)
        while count is None or ready < count:
            out = self._feed()
            if out is None:
                break
            parts += out
            ready += sum(len(o) for o in out)
        # Joined once per call: joining block by block would copy a whole recording over and
        # over when all of it is asked for at once (resample()).
        joined = parts[0] if len(parts) == 1 else np.concatenate(parts)
        self._ready = joined[count:]
        return joined[:count]

    def _take_all(self) -> np.ndarray:
        """All the output samples that are left, written into one buffer as they come: the
        blocks joined at the end would hold the whole output twice at once."""
        left = max(0, len(self._source) - self._source_pos)
        # The output's length, give or take the resampler's delay (grown if ever short).
        expected = len(self._ready) + math.ceil(left * self._rate / self._source_rate) + 4096
        out = np.empty(expected, np.float32)
        filled = 0
        pieces: list[np.ndarray] | None = [self._ready]
        while pieces is not None:
            for piece in pieces:
                if filled + len(piece) > len(out):
                    out = np.resize(out, max(filled + len(piece), len(out) * 5 // 4))
                out[filled : filled + len(piece)] = piece
                filled += len(piece)
            pieces = self._feed()
        self._ready = np.zeros(0, np.float32)
        return out[:filled]

    def _feed(self) -> list[np.ndarray] | None:
        """The next block of the source, resampled; None once everything is out."""
        if self._source_pos >= len(self._source):
            if self._resampler is None or self._flushed:
                return None
            self._flushed = True  # what the resampler still holds
            return [f.to_ndarray().reshape(-1) for f in self._resampler.resample(None)]
        stop = self._source_pos + RESAMPLE_BLOCK_S * self._source_rate
        block = self._source[self._source_pos : stop]
        self._source_pos = stop
        if self._resampler is None:
            return [block]
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block).reshape(1, -1), format="flt", layout="mono"
        )
        frame.sample_rate = self._source_rate
        return [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]


def analyze_audio(audio: Audio) -> AudioFeatures:
    """Loudness, voice activity, voicing and pitch, every 10 ms.

    Each hop looks at a 25 ms window centred on its time, so the features need 12.5 ms of
    look-ahead: cheap enough for live use.
    """
    audio = resample(audio, ANALYSIS_SAMPLE_RATE)
    sr = audio.sample_rate
    hop = round(FEATURE_HOP_S * sr)
    win = round(0.025 * sr)
    n_hops = max(1, int(np.ceil(len(audio.samples) / hop)))
    loudness_db = np.empty(n_hops, np.float32)
    pitch_hz = np.empty(n_hops, np.float32)
    periodicity = np.empty(n_hops, np.float32)
    for first, frames in hop_frames(audio.samples, n_hops, hop, win):
        done = slice(first, first + len(frames))
        rms = np.sqrt(np.mean(frames**2, axis=1) + 1e-12)
        loudness_db[done] = np.maximum(20 * np.log10(rms + 1e-10), -100.0)
        pitch_hz[done], periodicity[done] = autocorrelation_pitch(frames, sr)

    # Voice activity: level above an adaptive floor, held over short gaps between syllables.
    floor_db = float(np.percentile(loudness_db, 10))
    peak_db = float(np.percentile(loudness_db, 95))
    threshold = max(floor_db + 0.35 * (peak_db - floor_db), peak_db - 40.0, -60.0)
    active = loudness_db > threshold
    speech = _close_gaps(active, max_gap=20)  # pauses shorter than 200 ms are not pauses
    speech = _remove_short(speech, min_len=5)

    voiced = (periodicity > 0.45) & (loudness_db > threshold - 6.0)
    pitch_hz = np.where(voiced, pitch_hz, 0.0).astype(np.float32)

    span = max(peak_db - threshold, 6.0)
    level = np.clip((loudness_db - threshold) / span, 0.0, 1.0).astype(np.float32)
    return AudioFeatures(loudness_db, speech, voiced, pitch_hz, level)


#: Hops analyzed at a time: each hop is computed on its own, and in blocks the frames and
#: their spectra stay a few MB however long the audio (whole, ten minutes took gigabytes).
#: 2000 hops held 80-105 MB at once in the pitch's float64 spectra, and the hum finder's and
#: the audio features' blocks overlap in animate (beside the alignment): a 10 min recording's
#: peak was 861 MB, 780 MB with 500 (the same features to the bit, ~0.4 s more CPU in 10 min).
HOPS_PER_BLOCK = 500


def hop_frames(
    samples: np.ndarray, n_hops: int, hop: int, win: int, pre_emphasis: float | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """The analysis windows of ``samples``, ``win`` samples every ``hop``, hop ``i``'s centred
    on sample ``i * hop`` (zeros beyond either end), as (first hop, (hops, win) float32 block)
    pairs of at most :data:`HOPS_PER_BLOCK` hops.

    With ``pre_emphasis`` (``a``), each sample less ``a`` times the one before it (the first
    of the padded recording kept as it is). Only each block's stretch of the recording is
    copied and padded: a padded copy of the whole would hold it twice.
    """
    offsets = np.arange(win)[None, :]
    before = 0 if pre_emphasis is None else 1  # the sample before, for the pre-emphasis
    for first in range(0, n_hops, HOPS_PER_BLOCK):
        stop = min(first + HOPS_PER_BLOCK, n_hops)
        # Samples [low, high) of the recording, zero outside it, hold the block's windows.
        low, high = first * hop - win // 2 - before, (stop - 1) * hop - win // 2 + win
        stretch = np.zeros(high - low, np.float32)
        inside = samples[max(0, low) : max(0, high)]
        stretch[max(0, -low) : max(0, -low) + len(inside)] = inside
        if pre_emphasis is not None:
            stretch = stretch[1:] - pre_emphasis * stretch[:-1]
        starts = np.arange(stop - first) * hop
        yield first, stretch[starts[:, None] + offsets]


def autocorrelation_pitch(frames: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Autocorrelation pitch (70-400 Hz) and its periodicity (normalized peak height)."""
    frames = frames - frames.mean(axis=1, keepdims=True)
    n = frames.shape[1]
    spectrum = np.fft.rfft(frames * np.hanning(n), n=2 * n, axis=1)
    acf = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :n]
    lag_min, lag_max = int(sr / 400), min(int(sr / 70), n - 1)
    energy = acf[:, :1] + 1e-9
    # Correct for the window's own taper so long lags are not penalized.
    window_acf = np.correlate(np.hanning(n), np.hanning(n), "full")[n - 1 :]
    normalized = acf / energy / np.maximum(window_acf / window_acf[0], 0.1)
    search = normalized[:, lag_min:lag_max]
    best = np.argmax(search, axis=1)
    periodicity = search[np.arange(len(best)), best]
    pitch = sr / (best + lag_min)
    return pitch.astype(np.float32), periodicity.astype(np.float32)


def _close_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """Morphological closing: fill False runs shorter than ``max_gap`` between True runs."""
    if not mask.any():
        return mask.copy()
    grown = maximum_filter1d(mask.astype(np.uint8), size=max_gap, mode="constant")
    return minimum_filter1d(grown, size=max_gap, mode="constant").astype(bool) | mask


def _remove_short(mask: np.ndarray, min_len: int) -> np.ndarray:
    """Drop True runs shorter than ``min_len`` (clicks, breaths)."""
    opened = maximum_filter1d(
        minimum_filter1d(mask.astype(np.uint8), size=min_len, mode="constant"),
        size=min_len,
        mode="constant",
    )
    return opened.astype(bool) & mask


#: Log-mel features for phone recognition: bands, and the frequency range they cover.
MEL_BANDS = 40


MEL_FMIN_HZ, MEL_FMAX_HZ = 60.0, 7600.0


_MEL_NFFT = 512


_MEL_WINDOW = 400  # 25 ms at 16 kHz


#: Time constant of the running mean removed from the log-mel features (10 ms hops): long
#: enough to keep phonetic contrasts, short enough to follow a change of microphone or room.
MEL_NORM_HOPS = 300


def log_mel(audio: Audio) -> np.ndarray:
    """Log-mel spectrogram every 10 ms: (T, MEL_BANDS) float32, hop ``i`` centred at i * 10 ms.

    The same frames as :func:`analyze_audio`: T = ceil(samples / 160) at 16 kHz. Each frame
    looks 12.5 ms ahead, so the features can be computed live.
    """
    audio = resample(audio, ANALYSIS_SAMPLE_RATE)
    hop = round(FEATURE_HOP_S * ANALYSIS_SAMPLE_RATE)
    n_hops = max(1, int(np.ceil(len(audio.samples) / hop)))
    bank = _mel_filterbank()
    out = np.empty((n_hops, MEL_BANDS), np.float32)
    # Pre-emphasis evens out speech's spectral tilt so the upper bands carry weight.
    for first, frames in hop_frames(audio.samples, n_hops, hop, _MEL_WINDOW, 0.97):
        spectrum = np.abs(np.fft.rfft(frames * np.hanning(_MEL_WINDOW), n=_MEL_NFFT, axis=1)) ** 2
        out[first : first + len(frames)] = np.log(spectrum @ bank + 1e-8)
    return out


def normalize_features(features: np.ndarray, state: np.ndarray | None = None) -> np.ndarray:
    """Subtract a causal running mean per band (what a live stream can know so far).

    ``state`` is the running mean to start from (None: the first frame's values). The same
    function serves offline and live use, so both see identical features.
    """
    # Imported here, not with the module: SciPy's signal package (with the statistics and
    # interpolation packages it loads) took 0.5-0.7 s of a command's start, on one core; here it
    # loads on the viseme network's thread while Whisper reads.
    from scipy.signal import lfilter

    alpha = 1.0 / MEL_NORM_HOPS
    start = features[0] if state is None else state
    # An exponential moving average is a first-order IIR filter, run over all bands at once.
    initial = ((1 - alpha) * np.asarray(start, np.float64))[None, :]
    means, _ = lfilter([alpha], [1, -(1 - alpha)], features, axis=0, zi=initial)
    return (features - means).astype(np.float32)


def _mel_filterbank() -> np.ndarray:
    """Triangular mel filters, (n_fft/2 + 1, MEL_BANDS)."""

    def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(MEL_FMIN_HZ), hz_to_mel(MEL_FMAX_HZ), MEL_BANDS + 2))
    bins = np.fft.rfftfreq(_MEL_NFFT, 1.0 / ANALYSIS_SAMPLE_RATE)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None).T.astype(np.float32)
