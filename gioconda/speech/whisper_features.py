"""Whisper's log-mel features computed a few seconds of frames at a time.

faster-whisper's own feature extractor takes the short-time Fourier transform of everything
it is given at once: for a 60 s piece (:data:`gioconda.speech.whisper.PIECE_S`) its frames,
their float64 copy and their complex128 spectra hold about 50 MB at a time, and two halves
are read at once, where a 10 s recording's need a sixth of that. :class:`LeanFeatureExtractor`
does the same arithmetic, frame block by frame block, into the one small power spectrum the
mel filters need, so its features are the same, bit for bit (``tests/speech``), and a 60 s
piece holds 11 MB.

Imported only where a Whisper model is loaded: it imports faster-whisper.
"""

from __future__ import annotations

import numpy as np
from faster_whisper.feature_extractor import FeatureExtractor

#: Frames (10 ms each) transformed at a time: their float64 copy and spectra are about 3 MB.
FRAMES_PER_BLOCK = 250


class LeanFeatureExtractor(FeatureExtractor):
    """faster-whisper's :class:`FeatureExtractor` with :meth:`__call__` computed in blocks of
    :data:`FRAMES_PER_BLOCK` frames (its :meth:`stft` with ``center=True`` and a reflected
    edge, the window, the power of the spectrum without the last frame, the mel filters, the
    log and the clamp 8 below the maximum, each as it does them)."""

    @classmethod
    def replacing(cls, extractor: FeatureExtractor) -> LeanFeatureExtractor:
        """This extractor with ``extractor``'s settings (its mel filters, sizes, rate)."""
        lean = cls.__new__(cls)
        lean.__dict__.update(extractor.__dict__)
        return lean

    def __call__(
        self, waveform: np.ndarray, padding: int = 160, chunk_length: int | None = None
    ) -> np.ndarray:
        if chunk_length is not None:
            self.n_samples = chunk_length * self.sampling_rate
            self.nb_max_frames = self.n_samples // self.hop_length
        samples = np.asarray(waveform, np.float32)
        window = np.hanning(self.n_fft + 1)[:-1].astype("float32")
        padded = _padded(samples, padding, self.n_fft // 2)
        n_frames = 1 + (len(padded) - self.n_fft) // self.hop_length
        frames = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft)[:: self.hop_length]
        # Laid out as the original's power spectrum (frames by bins, seen transposed), so that
        # the mel filters multiply it through the same BLAS call.
        power = np.empty((n_frames - 1, self.n_fft // 2 + 1), np.float32)
        for first in range(0, n_frames - 1, FRAMES_PER_BLOCK):
            stop = min(first + FRAMES_PER_BLOCK, n_frames - 1)
            spectrum = np.fft.rfft(frames[first:stop] * window, n=self.n_fft, axis=-1)
            power[first:stop] = np.abs(spectrum.astype(np.complex64)) ** 2
        del padded, frames
        log_spec = self.mel_filters @ power.T
        del power
        # In place: the same operations on the same types as the original's new arrays.
        np.clip(log_spec, 1e-10, None, out=log_spec)
        np.log10(log_spec, out=log_spec)
        np.maximum(log_spec, log_spec.max() - 8.0, out=log_spec)
        log_spec += 4.0
        log_spec /= 4.0
        return log_spec


def _padded(samples: np.ndarray, zeros: int, edge: int) -> np.ndarray:
    """``samples`` with ``zeros`` zeros after them, then reflected ``edge`` samples out at
    both ends (NumPy's "reflect": the end sample itself not repeated), in one new array."""
    n = len(samples) + zeros
    if n <= edge:  # shorter than the reflection: NumPy's own reflects back and forth
        return np.pad(np.pad(samples, (0, zeros)), (edge, edge), mode="reflect")
    padded = np.empty(n + 2 * edge, np.float32)
    padded[edge : edge + len(samples)] = samples
    padded[edge + len(samples) : edge + n] = 0.0
    padded[:edge] = padded[2 * edge : edge : -1]
    padded[edge + n :] = padded[edge + n - 2 : n - 2 : -1]
    return padded
