"""Waveform augmentation that leaves every phone where it was.

Synthetic speech has one timbre per voice, no room, no noise and no microphone; the network
must learn what in the sound tells the mouth's shape, not what tells eSpeak. So most
utterances go through a random chain of what real recordings go through, in the order that
sound meets it: a room (reverberation), noise in the room, a microphone (EQ), a channel
(telephone band, a lossy codec) and a recorder's gain (clipping, level).

Nothing here may move the sound in time, or the per-10-ms labels would lie: reverberation
keeps its direct path at lag 0, filters are minimum-phase (a few ms of group delay at most),
and codec round trips remove the encoder's delay, which is measured once per codec setting by
cross-correlation. ``training/test_make_data.py`` checks every effect on speech.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import av
import numpy as np
from scipy import fft, signal

from gioconda.speech.audio import Audio, resample
from gioconda.timeline import ANALYSIS_SAMPLE_RATE

SAMPLE_RATE = ANALYSIS_SAMPLE_RATE

#: Share of utterances left clean (no effect at all, not even a speed change).
CLEAN_SHARE = 0.15
#: Speed (pitch and tempo together) factor range, and the share of augmented ones it hits.
SPEED_RANGE = (0.85, 1.15)
SPEED_SHARE = 0.5
#: Signal-to-noise ratio of additive noise, dB (speech power over active frames).
SNR_DB_RANGE = (0.0, 30.0)
#: Reverberation time of the synthetic rooms, seconds.
RT60_RANGE_S = (0.1, 0.9)
#: Between the steps of an effect chain's description.
STEP_SEPARATOR = " > "


@dataclass(frozen=True)
class Codec:
    """A lossy codec round trip.

    Attributes
    ----------
    name: short name for descriptions
    encoder, container: FFmpeg's names
    sample_rate: rate the codec runs at
    bit_rates: bit rates to draw from, bits per second
    delay: samples at 16 kHz by which the decoded sound lags the input (measured with
        :func:`measure_codec_delay`; the tests check it for every bit rate)
    """

    name: str
    encoder: str
    container: str
    sample_rate: int
    bit_rates: tuple[int, ...]
    delay: int = 0


#: The codecs. Their containers tell the decoder the encoder's delay (LAME's gapless header,
#: MP4's edit list, Ogg Opus's pre-skip), so the decoder removes it; raw AMR does not: its
#: 5 ms are removed here.
CODECS: tuple[Codec, ...] = (
    Codec("mp3", "libmp3lame", "mp3", 44100, (32_000, 48_000, 64_000, 96_000, 128_000)),
    Codec("mp3", "libmp3lame", "mp3", 22050, (32_000, 48_000, 64_000)),
    Codec("aac", "aac", "mp4", 44100, (32_000, 64_000, 96_000)),
    Codec("aac", "aac", "mp4", 16000, (24_000, 32_000)),
    Codec("opus", "libopus", "ogg", 48000, (16_000, 24_000, 32_000, 48_000)),
    Codec("opus", "libopus", "ogg", 16000, (8_000, 12_000, 16_000)),
    Codec("amr", "libopencore_amrnb", "amr", 8000, (5_900, 7_950, 12_200), delay=80),
)


@dataclass(frozen=True)
class Augmented:
    """Augmented audio at :data:`SAMPLE_RATE` and what was done to it.

    Attributes
    ----------
    samples: (n,) float32, as long as the input
    description: the chain in words
    channel_lags: (channel, lag in samples) of the telephone or codec step if any,
        re-measured on this utterance by cross-correlating the step's input and output:
        0 when aligned
    """

    samples: np.ndarray
    description: str
    channel_lags: tuple[tuple[str, int], ...] = ()


def change_speed(audio: Audio, factor: float) -> tuple[Audio, float]:
    """Play ``audio`` ``factor`` times faster (pitch and tempo together), at 16 kHz.

    Returns the audio and the exact factor used (the sample rate is an integer): a phone at
    ``t`` seconds is now at ``t / factor``.
    """
    played_rate = round(audio.sample_rate * factor)
    played = Audio(audio.samples, played_rate)
    return resample(played, SAMPLE_RATE), played_rate / audio.sample_rate


def augment(
    samples: np.ndarray, rng: np.random.Generator, babble: Sequence[np.ndarray]
) -> Augmented:
    """A random chain of effects on 16 kHz speech; same length, same timing.

    Parameters
    ----------
    samples: (n,) float32 speech at :data:`SAMPLE_RATE`
    rng: the utterance's random generator
    babble: clean speech clips at :data:`SAMPLE_RATE` to mix into babble noise

    Returns
    -------
    The new samples and a description such as ``"reverb(rt60=0.42s,drr=3dB) > noise(pink,
    snr=12dB) > mp3(64k@44100Hz) > level(-18dB)"``.
    """
    x = samples.astype(np.float64)
    steps: list[str] = []
    if rng.random() < 0.5:
        x, step = add_reverb(x, rng)
        steps.append(step)
    if rng.random() < 0.75:
        kinds = ["white", "pink", "brown", "babble", "hum"]
        for kind in rng.choice(kinds, size=1 if rng.random() < 0.7 else 2, replace=False):
            snr_db = float(rng.uniform(*SNR_DB_RANGE))
            x, step = add_noise(x, str(kind), snr_db, rng, babble)
            steps.append(step)
    if rng.random() < 0.6:
        x, step = random_eq(x, rng)
        steps.append(step)
    lags: list[tuple[str, int]] = []
    if rng.random() < 0.5:
        before = x
        if rng.random() < 0.3:
            x, step = telephone(x, rng)
        else:
            codec = CODECS[int(rng.integers(len(CODECS)))]
            bit_rate = int(rng.choice(codec.bit_rates))
            x = codec_round_trip(x, codec, bit_rate)
            step = f"{codec.name}({bit_rate / 1000:g}k@{codec.sample_rate}Hz)"
        lags.append((step.split("(")[0], channel_lag(before, x)))
        steps.append(step)
    if rng.random() < 0.15:
        x, step = clip(x, rng)
        steps.append(step)
    x, step = set_level(x, float(rng.uniform(-30.0, -1.0)))
    steps.append(step)
    return Augmented(x.astype(np.float32), STEP_SEPARATOR.join(steps), tuple(lags))


def speech_power(x: np.ndarray) -> float:
    """Mean power over the 10 ms frames within 30 dB of the loudest (pauses left out)."""
    hop = SAMPLE_RATE // 100
    n = len(x) // hop * hop
    frames = (x[:n].reshape(-1, hop) ** 2).mean(axis=1) if n else np.array([np.mean(x**2)])
    active = frames[frames >= frames.max() * 1e-3]
    return float(active.mean()) + 1e-20


def add_noise(
    x: np.ndarray,
    kind: str,
    snr_db: float,
    rng: np.random.Generator,
    babble: Sequence[np.ndarray] = (),
) -> tuple[np.ndarray, str]:
    """Add ``kind`` noise (white, pink, brown, babble, hum) at ``snr_db`` below the speech."""
    n = len(x)
    if kind == "babble" and babble:
        noise = _babble(n, rng, babble)
    elif kind == "hum":
        noise = _hum(n, rng)
    else:
        exponent = {"white": 0.0, "pink": 1.0, "brown": 2.0}.get(kind, 0.0)
        noise = _coloured_noise(n, exponent, rng)
        kind = kind if kind in ("white", "pink", "brown") else "white"
    gain = np.sqrt(speech_power(x) / (np.mean(noise**2) + 1e-20) / 10 ** (snr_db / 10))
    return x + gain * noise, f"noise({kind},snr={snr_db:.0f}dB)"


def _coloured_noise(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with power spectrum 1/f**exponent (0 white, 1 pink, 2 brown)."""
    if exponent == 0.0:
        return rng.standard_normal(n)
    size = fft.next_fast_len(n, real=True)  # a prime length would make the FFT crawl
    spectrum = fft.rfft(rng.standard_normal(size))
    freqs = fft.rfftfreq(size, 1.0 / SAMPLE_RATE)
    # Below 20 Hz nothing is audible; flattening there keeps brown noise from being DC.
    spectrum *= np.maximum(freqs, 20.0) ** (-exponent / 2)
    return fft.irfft(spectrum, size)[:n]


def _babble(n: int, rng: np.random.Generator, clips: Sequence[np.ndarray]) -> np.ndarray:
    """3-7 other talkers at once, each starting at a random point of its (looped) clip."""
    noise = np.zeros(n)
    for index in rng.choice(len(clips), size=min(len(clips), int(rng.integers(3, 8)))):
        clip_ = clips[int(index)]
        start = int(rng.integers(len(clip_)))
        looped = np.resize(np.roll(clip_, -start), n)
        noise += looped / np.sqrt(speech_power(clip_))
    return noise


def _hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum: 50 or 60 Hz and its harmonics with random strengths, a little hiss."""
    t = np.arange(n) / SAMPLE_RATE
    base = float(rng.choice([50.0, 60.0])) * float(rng.uniform(0.995, 1.005))
    hum = np.zeros(n)
    for harmonic in range(1, 12):
        amplitude = float(rng.uniform(0.0, 1.0)) / harmonic ** float(rng.uniform(0.3, 1.5))
        hum += amplitude * np.sin(2 * np.pi * base * harmonic * t + rng.uniform(0, 2 * np.pi))
    return hum + 0.01 * np.std(hum) * rng.standard_normal(n)


def room_impulse_response(
    rt60_s: float, drr_db: float, rng: np.random.Generator, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """A synthetic room: a unit direct path at sample 0, then a decaying noise tail.

    The tail starts after a 2-15 ms pre-delay (the first reflection), decays 60 dB in
    ``rt60_s`` and loses its highs faster than its lows (air and walls absorb them), and
    carries ``drr_db`` less energy than the direct sound.
    """
    length = int(min(1.2 * rt60_s, 1.0) * sample_rate)
    t = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * np.exp(-6.908 * t / rt60_s)
    # A one-pole low-pass: the darker the room, the duller its tail.
    pole = float(rng.uniform(0.0, 0.7))
    tail = signal.lfilter([1.0 - pole], [1.0, -pole], tail)
    tail[: int(rng.uniform(0.002, 0.015) * sample_rate)] = 0.0
    tail *= np.sqrt(10 ** (-drr_db / 10) / (np.sum(tail**2) + 1e-20))
    rir = tail
    rir[0] = 1.0
    return rir


def add_reverb(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Convolve with a synthetic room; the direct sound stays at lag 0 so labels hold."""
    rt60 = float(rng.uniform(*RT60_RANGE_S))
    drr = float(rng.uniform(-3.0, 15.0))
    rir = room_impulse_response(rt60, drr, rng)
    wet = signal.fftconvolve(x, rir)[: len(x)]
    return wet, f"reverb(rt60={rt60:.2f}s,drr={drr:.0f}dB)"


def _peaking(f0: float, gain_db: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    """RBJ cookbook peaking EQ biquad."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / SAMPLE_RATE
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return b / den[0], den / den[0]


def _shelf(f0: float, gain_db: float, high: bool) -> tuple[np.ndarray, np.ndarray]:
    """RBJ cookbook shelving biquad (slope 1): low shelf, or high shelf if ``high``."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / SAMPLE_RATE
    cos, alpha = np.cos(w0), np.sin(w0) / 2 * np.sqrt(2)
    s = -1.0 if high else 1.0  # the high shelf is the low shelf with cos(w0) negated
    root = 2 * np.sqrt(a) * alpha
    b = a * np.array([(a + 1) - s * (a - 1) * cos + root, 2 * s * ((a - 1) - s * (a + 1) * cos),
                      (a + 1) - s * (a - 1) * cos - root])  # fmt: skip
    den = np.array([(a + 1) + s * (a - 1) * cos + root, -2 * s * ((a - 1) + s * (a + 1) * cos),
                    (a + 1) + s * (a - 1) * cos - root])  # fmt: skip
    return b / den[0], den / den[0]


def random_eq(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A microphone and its placement: 1-4 peaking/shelving biquads, maybe band edges."""
    names = []
    for _ in range(int(rng.integers(1, 5))):
        kind = str(rng.choice(["peak", "lowshelf", "highshelf"], p=[0.6, 0.2, 0.2]))
        gain = float(rng.uniform(-12.0, 12.0))
        if kind == "peak":
            f0 = float(np.exp(rng.uniform(np.log(150.0), np.log(6000.0))))
            b, a = _peaking(f0, gain, float(rng.uniform(0.5, 3.0)))
        elif kind == "lowshelf":
            b, a = _shelf(float(rng.uniform(80.0, 400.0)), gain, high=False)
        else:
            b, a = _shelf(float(rng.uniform(2000.0, 6000.0)), gain, high=True)
        x = signal.lfilter(b, a, x)
        names.append(f"{kind}{gain:+.0f}")
    if rng.random() < 0.3:
        cutoff = float(rng.uniform(60.0, 250.0))
        x = signal.sosfilt(signal.butter(2, cutoff, "highpass", fs=SAMPLE_RATE, output="sos"), x)
        names.append(f"hp{cutoff:.0f}")
    if rng.random() < 0.3:
        cutoff = float(rng.uniform(3000.0, 7000.0))
        x = signal.sosfilt(signal.butter(4, cutoff, "lowpass", fs=SAMPLE_RATE, output="sos"), x)
        names.append(f"lp{cutoff:.0f}")
    return x, f"eq({','.join(names)})"


def telephone(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A phone line: 300-3400 Hz, sampled at 8 kHz, with G.711 mu-law or AMR-NB on top."""
    # Zero-phase: a causal band-pass would delay the sound by ~1.5 ms.
    x = signal.sosfiltfilt(_telephone_band(order=2), x)
    kind = str(rng.choice(["8k", "mulaw", "amr"]))
    if kind == "amr":
        amr = next(c for c in CODECS if c.name == "amr")
        return codec_round_trip(x, amr, int(rng.choice(amr.bit_rates))), "telephone(amr)"
    narrow = resample(Audio(x.astype(np.float32), SAMPLE_RATE), 8000).samples.astype(np.float64)
    if kind == "mulaw":
        narrow = _mu_law(narrow)
    back = resample(Audio(narrow.astype(np.float32), 8000), SAMPLE_RATE).samples
    return _fit(back.astype(np.float64), len(x)), f"telephone({kind})"


def _mu_law(x: np.ndarray, mu: float = 255.0) -> np.ndarray:
    """8-bit mu-law quantization (G.711), at a level a phone would send."""
    scale = 0.5 / (np.max(np.abs(x)) + 1e-12)
    compressed = np.sign(x * scale) * np.log1p(mu * np.abs(x * scale)) / np.log1p(mu)
    quantized = np.round(compressed * 127) / 127
    return np.sign(quantized) * np.expm1(np.abs(quantized) * np.log1p(mu)) / mu / scale


def codec_round_trip(x: np.ndarray, codec: Codec, bit_rate: int) -> np.ndarray:
    """Encode and decode with ``codec`` in memory; same length and timing as ``x``."""
    peak = float(np.max(np.abs(x))) + 1e-12
    # Encoders want full-scale-ish input; the level is restored after.
    coded = _encode_decode((x / peak * 0.7).astype(np.float32), codec, bit_rate)
    delay = codec.delay
    coded = coded[delay:] if delay >= 0 else np.concatenate([np.zeros(-delay), coded])
    return _fit(coded.astype(np.float64), len(x)) * (peak / 0.7)


def _encode_decode(x: np.ndarray, codec: Codec, bit_rate: int) -> np.ndarray:
    """The raw decoder output at :data:`SAMPLE_RATE`, encoder delay included if any."""
    source = resample(Audio(x, SAMPLE_RATE), codec.sample_rate).samples
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=codec.container) as container:
        stream = container.add_stream(codec.encoder, rate=codec.sample_rate, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(source.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = codec.sample_rate
        frame.pts = 0
        # PyAV cuts the frame into the encoder's frame size and converts its sample format.
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    parts = []
    with av.open(buffer) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        for decoded in container.decode(audio=0):
            parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(decoded)]
        parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def measure_codec_delay(codec: Codec, bit_rate: int) -> int:
    """Samples (at 16 kHz) by which the decoded output lags the input, uncorrected.

    The probe is 2 s of noise bursts in the telephone band (every codec keeps that band),
    aperiodic so the cross-correlation has a single peak.
    """
    rng = np.random.default_rng(12345)
    probe = signal.sosfilt(_telephone_band(), rng.standard_normal(2 * SAMPLE_RATE))
    envelope = np.repeat(rng.uniform(0.0, 1.0, 40) ** 2, SAMPLE_RATE // 20)
    probe = (0.5 * probe * envelope / np.max(np.abs(probe))).astype(np.float32)
    decoded = _encode_decode(probe, codec, bit_rate)
    return estimate_lag(probe, decoded, max_lag=SAMPLE_RATE // 10)


def _telephone_band(order: int = 4) -> np.ndarray:
    """Second-order sections of a 300-3400 Hz Butterworth band-pass at 16 kHz."""
    return signal.butter(order, [300.0, 3400.0], "bandpass", fs=SAMPLE_RATE, output="sos")


def channel_lag(before: np.ndarray, after: np.ndarray) -> int:
    """Lag (samples) of a channel's output behind its input, within +-50 ms.

    Both are compared in the telephone band, which every channel keeps: below it AMR cuts
    everything, and a boosted bass that only one side has would pull the peak off.
    """
    band = _telephone_band()
    return estimate_lag(
        signal.sosfiltfilt(band, before), signal.sosfiltfilt(band, after), SAMPLE_RATE // 20
    )


def estimate_lag(reference: np.ndarray, delayed: np.ndarray, max_lag: int) -> int:
    """Lag (samples) at which ``delayed`` best matches ``reference``: > 0 if it comes later."""
    n = min(len(reference), len(delayed))
    correlation = signal.correlate(
        np.asarray(delayed[:n], np.float64), np.asarray(reference[:n], np.float64), "full",
        method="fft",
    )  # fmt: skip
    lags = np.arange(-n + 1, n)
    window = np.abs(lags) <= max_lag
    return int(lags[window][np.argmax(correlation[window])])


def clip(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Overdrive a recorder: gain 3-15 dB past full scale, then hard or soft clipping."""
    drive_db = float(rng.uniform(3.0, 15.0))
    driven = x / (np.max(np.abs(x)) + 1e-12) * 10 ** (drive_db / 20)
    if rng.random() < 0.5:
        return np.clip(driven, -1.0, 1.0), f"clip(hard,{drive_db:.0f}dB)"
    return np.tanh(driven), f"clip(soft,{drive_db:.0f}dB)"


def set_level(x: np.ndarray, peak_db: float) -> tuple[np.ndarray, str]:
    """Scale to a peak of ``peak_db`` dBFS (quiet and loud recordings alike)."""
    return x / (np.max(np.abs(x)) + 1e-12) * 10 ** (peak_db / 20), f"level({peak_db:.0f}dB)"


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-pad to ``n`` samples."""
    return x[:n] if len(x) >= n else np.concatenate([x, np.zeros(n - len(x))])
