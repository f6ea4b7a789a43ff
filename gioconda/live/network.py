"""Our viseme network run hop by hop: each new 10 ms hop costs one hop of computation.

The offline :meth:`VisemeNet.forward` convolves whole sequences. Its layers are a pointwise
input projection, a depthwise convolution that looks 4 hops back and 4 ahead, then causal
dilated depthwise convolutions: so a stream keeps, per layer, the few past rows its convolution
reads, and scores hop ``t`` once hop ``t + 4`` is in. The weights and the arithmetic are the
offline ones (a test holds the two equal).
"""

from __future__ import annotations

import numpy as np

import gioconda.speech.visemenet as _net


class StreamingVisemeNet:
    """Feeds normalized log-mel rows in, takes viseme log-probabilities out, in order."""

    def __init__(self, net: _net.VisemeNet) -> None:
        self.w = net.w
        self.lookahead = _net.LOOKAHEAD_FRAMES
        channels = self.w["input.bias"].shape[0]
        # The front convolution's input: the last 2 * lookahead rows, zeros before the start.
        self.front_in = np.zeros((2 * self.lookahead, channels), np.float32)
        self.pending = 0  # rows in front_in not yet scored (the look-ahead)
        self.block_in = [np.zeros((2 * d, channels), np.float32) for d in _net.BLOCK_DILATIONS]

    def push(self, mel: np.ndarray) -> np.ndarray:
        """Take ``mel`` (n, 40) normalized rows; return the log-probabilities of every hop
        that can now be scored, (k, 15), continuing where the last call stopped."""
        w = self.w
        h = mel.astype(np.float32) @ w["input.weight"].T + w["input.bias"]
        history = np.concatenate([self.front_in, h])
        self.pending += len(h)
        # Hops that have their look-ahead: the last `lookahead` rows wait for more.
        ready = max(self.pending - self.lookahead, 0)
        if ready == 0:
            self.front_in = history[-2 * self.lookahead :]
            return np.zeros((0, w["head.bias"].shape[0]), np.float32)
        kernel = w["front.weight"]  # (C, 2 * lookahead + 1)
        k = kernel.shape[1]
        # Output row r is centred on history row (len(history) - pending + r).
        first = len(history) - self.pending
        out = np.zeros((ready, h.shape[1]), np.float32)
        for j in range(k):
            rows = history[first - self.lookahead + j : first - self.lookahead + j + ready]
            out += rows * kernel[:, j]
        out += w["front.bias"]
        self.pending -= ready
        self.front_in = history[-(2 * self.lookahead) :]
        h = out
        for i, dilation in enumerate(_net.BLOCK_DILATIONS):
            p = f"blocks.{i}."
            y = _net._layer_norm(h, w[p + "norm.weight"], w[p + "norm.bias"])
            past = np.concatenate([self.block_in[i], y])
            conv = np.zeros_like(y)
            kernel = w[p + "conv.weight"]
            span = 2 * dilation
            for j in range(kernel.shape[1]):
                start = j * dilation
                conv += past[start : start + len(y)] * kernel[:, j]
            self.block_in[i] = past[-span:]
            conv += w[p + "conv.bias"]
            y = _net._gelu(conv @ w[p + "expand.weight"].T + w[p + "expand.bias"])
            h = h + y @ w[p + "project.weight"].T + w[p + "project.bias"]
        h = _net._layer_norm(h, w["head_norm.weight"], w["head_norm.bias"])
        return _net._log_softmax(h @ w["head.weight"].T + w["head.bias"]).astype(np.float32)
