"""The viseme network for training (PyTorch). Mirrors gioconda/visemenet.py exactly."""

from __future__ import annotations

import torch
from torch import nn

from gioconda.speech.audio import MEL_BANDS
from gioconda.speech.visemenet import BLOCK_DILATIONS, BLOCK_KERNEL, FIRST_KERNEL, LOOKAHEAD_FRAMES
from gioconda.speech.visemes import VISEMES


class DepthwiseConv(nn.Module):
    """Per-channel time convolution with a fixed look-ahead; (B, T, C) in and out."""

    def __init__(self, channels: int, kernel: int, dilation: int, lookahead: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(channels, kernel) / kernel**0.5)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.dilation = dilation
        self.past = (kernel - 1 - lookahead) * dilation
        self.future = lookahead * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.pad(x.transpose(1, 2), (self.past, self.future))
        y = nn.functional.conv1d(y, self.weight[:, None, :], self.bias, dilation=self.dilation,
                                 groups=self.weight.shape[0])  # fmt: skip
        return y.transpose(1, 2)


class Block(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.conv = DepthwiseConv(channels, BLOCK_KERNEL, dilation, 0)
        self.expand = nn.Linear(channels, 2 * channels)
        self.project = nn.Linear(2 * channels, channels)
        self.act = nn.GELU(approximate="tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(self.act(self.expand(self.conv(self.norm(x)))))


class VisemeNetTorch(nn.Module):
    def __init__(self, channels: int = 96) -> None:
        super().__init__()
        self.input = nn.Linear(MEL_BANDS, channels)
        self.front = DepthwiseConv(channels, FIRST_KERNEL, 1, LOOKAHEAD_FRAMES)
        self.blocks = nn.ModuleList(Block(channels, d) for d in BLOCK_DILATIONS)
        self.head_norm = nn.LayerNorm(channels)
        self.head = nn.Linear(channels, len(VISEMES))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, 40) normalized log-mel to (B, T, 15) logits."""
        h = self.front(self.input(features))
        for block in self.blocks:
            h = block(h)
        return self.head(self.head_norm(h))
