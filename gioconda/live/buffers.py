"""What a live session keeps between chunks: growing per-hop tracks, the running feature
normalization, and the viseme network that every session in the process shares."""

from __future__ import annotations

import threading

import numpy as np

import gioconda.speech.audio as _audio
from gioconda.speech.visemenet import VisemeNet

_PROSODY_FIELDS = ("loudness_db", "speech", "voiced", "pitch_hz", "level")


class _Growing:
    """An append-only array of rows (or scalars, ``width`` 0) indexed from the session's
    start; it doubles as it grows, and rows before :meth:`forget`'s point are let go."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.data = np.zeros((256, width) if width else 256)
        self.n = 0  # rows ever added
        self.offset = 0  # index of data[0]

    def __len__(self) -> int:
        return self.n

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows)
        used = self.n - self.offset
        while used + len(rows) > len(self.data):
            self.data = np.concatenate([self.data, np.zeros_like(self.data)])
        self.data[used : used + len(rows)] = rows
        self.n += len(rows)

    def assign(self, lo: int, rows: np.ndarray) -> None:
        self.data[lo - self.offset : lo - self.offset + len(rows)] = rows

    def view(self, lo: int, hi: int) -> np.ndarray:
        return self.data[max(lo - self.offset, 0) : hi - self.offset]

    def forget(self, before: int) -> None:
        """Let rows before index ``before`` go (once they are a good share of the store)."""
        drop = min(before, self.n) - self.offset
        if drop > 0 and drop >= len(self.data) // 2:
            self.data = np.concatenate([self.data[drop:], np.zeros_like(self.data[:drop])])
            self.offset += drop


def _normalize(mel: np.ndarray, state: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The offline running-mean normalization, continued from ``state``."""
    from scipy.signal import lfilter

    alpha = 1.0 / _audio.MEL_NORM_HOPS
    start = mel[0] if state is None else state
    initial = ((1 - alpha) * np.asarray(start, np.float64))[None, :]
    means, _ = lfilter([alpha], [1, -(1 - alpha)], mel, axis=0, zi=initial)
    return (mel - means).astype(np.float32), means[-1]


_NET: VisemeNet | None = None
_NET_LOCK = threading.Lock()


def _shared_net() -> VisemeNet:
    """The viseme network, loaded once per process and shared by every session."""
    global _NET
    with _NET_LOCK:
        if _NET is None:
            _NET = VisemeNet()
        return _NET
