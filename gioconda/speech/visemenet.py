"""Our own audio-to-viseme network: log-mel frames in, viseme probabilities every 10 ms out.

A small temporal convolutional network (about 0.2 M parameters) trained on speech we
synthesize with exact phoneme timings, in many languages and voices, heavily augmented
(``training/``; ``make train`` retrains it from nothing). Inference is plain NumPy, hundreds
of times faster than real time on one core. It looks at most 52.5 ms ahead (12.5 ms in the
feature window, 40 ms in its first layer), so it can run live.

The architecture is defined twice, here for inference and in ``training/model.py`` for
training; the weight names tie them together and a test checks they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.speech.audio import Audio, log_mel, normalize_features
from gioconda.speech.visemes import VISEMES, PhoneSegment
from gioconda.timeline import FEATURE_HOP_S

#: Frames of look-ahead in the first layer (10 ms each).
LOOKAHEAD_FRAMES = 4


FIRST_KERNEL = 2 * LOOKAHEAD_FRAMES + 1


BLOCK_KERNEL = 3


BLOCK_DILATIONS = (1, 2, 4, 8, 16)


WEIGHTS_FILE = "visemenet.npz"


#: Hops of the past that one output depends on: the first layer's and every block's reach.
PAST_CONTEXT_HOPS = (FIRST_KERNEL - 1 - LOOKAHEAD_FRAMES) + (BLOCK_KERNEL - 1) * sum(
    BLOCK_DILATIONS
)
#: Hops the network is run on at once (see :meth:`VisemeNet.forward_in_blocks`).
FORWARD_BLOCK_HOPS = 3000

#: Viterbi smoothing: log-probability cost of switching viseme between two 10 ms frames.
SWITCH_PENALTY = 4.0


#: PP probability (smoothed over CLOSURE_SMOOTHING_HOPS hops) that marks a closure by itself,
#: for at least CLOSURE_MIN_HOPS hops; chosen on the validation splits.
CLOSURE_THRESHOLD = 0.2


CLOSURE_SMOOTHING_HOPS = 3


CLOSURE_MIN_HOPS = 3


_PP = VISEMES.index("PP")


@dataclass(frozen=True)
class VisemePosteriors:
    """Viseme log-probabilities, (T, 15) float32, hop ``i`` at ``i * 10`` ms."""

    log_probs: np.ndarray

    def to_phones(
        self,
        switch_penalty: float = SWITCH_PENALTY,
        closure_threshold: float = CLOSURE_THRESHOLD,
    ) -> tuple[PhoneSegment, ...]:
        """The most likely viseme sequence as segments: see :meth:`viseme_path`."""
        return path_to_phones(self.viseme_path(switch_penalty, closure_threshold))

    def viseme_path(
        self,
        switch_penalty: float = SWITCH_PENALTY,
        closure_threshold: float = CLOSURE_THRESHOLD,
    ) -> np.ndarray:
        """Per-hop viseme indices: Viterbi with a cost per switch, then closures marked.

        A short /p b m/ whose probability is shared with its neighbours (a voice unlike the
        training voices) does not pay for the path's two switches, yet the lips must shut on
        it. So wherever the PP probability, smoothed over :data:`CLOSURE_SMOOTHING_HOPS`, reaches
        ``closure_threshold`` for at least :data:`CLOSURE_MIN_HOPS`, the path says PP; the
        threshold is chosen on the validation splits (``training/calibrate_closures.py``).
        0 turns this off.
        """
        path = viterbi(self.log_probs, switch_penalty)
        if closure_threshold > 0:
            path[self.closure_hops(closure_threshold)] = _PP
        return path

    def closure_hops(self, threshold: float = CLOSURE_THRESHOLD) -> np.ndarray:
        """(T,) bool: hops in a run of at least :data:`CLOSURE_MIN_HOPS` whose PP probability,
        smoothed over :data:`CLOSURE_SMOOTHING_HOPS`, reaches ``threshold``."""
        pp = np.exp(self.log_probs[:, _PP].astype(np.float64))
        kernel = np.ones(CLOSURE_SMOOTHING_HOPS) / CLOSURE_SMOOTHING_HOPS
        closed = np.convolve(pp, kernel, "same") >= threshold
        edges = np.diff(closed.astype(np.int8), prepend=0, append=0)
        hops = np.zeros(len(pp), bool)
        for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            if end - start >= CLOSURE_MIN_HOPS:
                hops[start:end] = True
        return hops


def path_to_phones(path: np.ndarray) -> tuple[PhoneSegment, ...]:
    """A per-hop viseme index path (hop i at i * 10 ms) as contiguous segments."""
    change = np.flatnonzero(np.diff(path)) + 1
    # Hop i stands for the instant i * 10 ms: a change between hops i-1 and i happens half a
    # hop before hop i.
    bounds = np.concatenate([[0.0], (change - 0.5) * FEATURE_HOP_S, [len(path) * FEATURE_HOP_S]])
    firsts = np.concatenate([[0], change])
    return tuple(
        PhoneSegment(float(a), float(b), VISEMES[path[i]], VISEMES[path[i]])
        for a, b, i in zip(bounds[:-1], bounds[1:], firsts, strict=True)
    )


def viterbi(log_probs: np.ndarray, switch_penalty: float) -> np.ndarray:
    """Best state path under a flat switching cost: (T,) int indices."""
    n_frames, n_states = log_probs.shape
    back = np.zeros((n_frames, n_states), np.int16)
    score = log_probs[0].astype(np.float64)
    states = np.arange(n_states)
    for t in range(1, n_frames):
        best = int(np.argmax(score))
        switch = score[best] - switch_penalty
        stay = score >= switch
        back[t] = np.where(stay, states, best)
        score = np.where(stay, score, switch) + log_probs[t]
    path = np.empty(n_frames, np.int64)
    path[-1] = int(np.argmax(score))
    for t in range(n_frames - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


class VisemeNet:
    """The trained network, loaded once; ``__call__`` maps audio to viseme posteriors."""

    def __init__(self, weights: dict[str, np.ndarray] | None = None) -> None:
        if weights is None:
            weights = load_weights()
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        self.n_blocks = len(BLOCK_DILATIONS)

    def __call__(self, audio: Audio) -> VisemePosteriors:
        return VisemePosteriors(self.forward_in_blocks(normalize_features(log_mel(audio))))

    def forward_in_blocks(
        self, features: np.ndarray, block: int = FORWARD_BLOCK_HOPS
    ) -> np.ndarray:
        """:meth:`forward` a block of hops at a time, each with the context it needs.

        The layers' activations for a whole 10-minute recording would hold ~500 MB at once;
        a block with :data:`PAST_CONTEXT_HOPS` before it and :data:`LOOKAHEAD_FRAMES` after
        sees all that its outputs depend on, so the result is the whole pass's.
        """
        n = len(features)
        if n <= block:
            return self.forward(features)
        out = np.empty((n, len(VISEMES)), np.float32)
        for start in range(0, n, block):
            stop = min(n, start + block)
            first = max(0, start - PAST_CONTEXT_HOPS)
            last = min(n, stop + LOOKAHEAD_FRAMES)
            out[start:stop] = self.forward(features[first:last])[start - first : stop - first]
        return out

    def forward(self, features: np.ndarray) -> np.ndarray:
        """(T, 40) normalized log-mel to (T, 15) log-probabilities."""
        w = self.w
        h = features @ w["input.weight"].T + w["input.bias"]
        h = (
            _depthwise(h, w["front.weight"], dilation=1, lookahead=LOOKAHEAD_FRAMES)
            + w["front.bias"]
        )
        for i in range(self.n_blocks):
            p = f"blocks.{i}."
            y = _layer_norm(h, w[p + "norm.weight"], w[p + "norm.bias"])
            y = _depthwise(y, w[p + "conv.weight"], BLOCK_DILATIONS[i], 0) + w[p + "conv.bias"]
            y = _gelu(y @ w[p + "expand.weight"].T + w[p + "expand.bias"])
            h = h + y @ w[p + "project.weight"].T + w[p + "project.bias"]
        h = _layer_norm(h, w["head_norm.weight"], w["head_norm.bias"])
        logits = h @ w["head.weight"].T + w["head.bias"]
        return _log_softmax(logits).astype(np.float32)


def load_weights(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The shipped weights (or ``path``'s)."""
    shipped = resources.files("gioconda") / "assets" / WEIGHTS_FILE
    try:
        with resources.as_file(shipped) if path is None else _same(Path(path)) as file:
            with np.load(file) as data:
                return {k: data[k] for k in data.files}
    except (OSError, ValueError) as error:
        raise GiocondaError(f"cannot load the viseme network's weights: {error}") from None


class _same:
    """A context manager that just hands back its path (for symmetry with as_file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        pass


def _depthwise(x: np.ndarray, kernel: np.ndarray, dilation: int, lookahead: int) -> np.ndarray:
    """Per-channel 1D convolution over time. ``kernel``: (C, K); tap j looks at
    t + (j - (K - 1 - lookahead)) * dilation, zeros beyond the ends."""
    _, k = kernel.shape
    past = (k - 1 - lookahead) * dilation
    future = lookahead * dilation
    padded = np.pad(x, ((past, future), (0, 0)))
    out = np.zeros_like(x)
    n = len(x)
    for j in range(k):
        start = j * dilation
        out += padded[start : start + n] * kernel[:, j]
    return out


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * gain + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    # The tanh form, as the training code uses (torch GELU(approximate="tanh")).
    inner = x * (0.7978845608 + 0.035677408 * (x * x))  # sqrt(2/pi) (x + 0.044715 x^3)
    return 0.5 * x * (1.0 + np.tanh(inner))


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
