"""A full-resolution head branch on fixed filter responses of the raw bands.

Interactive pixel classifiers separate crop, weed and soil well from a few strokes
because of hand-made per-pixel features: Gaussian smoothings and gradient magnitudes at
several scales, and normalised differences of band pairs. This branch computes the same
responses with fixed convolutions and learns only a small per-pixel network on top, so
the head can use them next to the backbone's features.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

FILTER_SIGMAS = (1.0, 2.0, 4.0)
# Standardised bands can be negative, so they are shifted positive before a normalised difference.
DIFFERENCE_SHIFT = 4.0


def gaussian_kernel(sigma: float) -> Tensor:
    """Return a normalised 1-D Gaussian of radius ceil(3 sigma)."""
    radius = math.ceil(3 * sigma)
    positions = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (positions / sigma) ** 2)
    return kernel / kernel.sum()


class FilterResponses(nn.Module):
    """Fixed per-pixel features of (B, C, H, W) standardised bands.

    Output channels: the bands, then for each sigma the smoothed bands and their
    gradient magnitudes, then the normalised difference of every band pair.
    """

    def __init__(self, in_bands: int, sigmas: tuple[float, ...] = FILTER_SIGMAS) -> None:
        super().__init__()
        self.in_bands = in_bands
        self.sigmas = sigmas
        for index, sigma in enumerate(sigmas):
            self.register_buffer(f"gaussian{index}", gaussian_kernel(sigma), persistent=False)
        sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8
        self.sobel: Tensor
        self.register_buffer("sobel", torch.stack([sobel, sobel.T])[:, None], persistent=False)
        self.pairs = list(itertools.combinations(range(in_bands), 2))

    @property
    def out_channels(self) -> int:
        return self.in_bands * (1 + 2 * len(self.sigmas)) + len(self.pairs)

    def _smooth(self, x: Tensor, kernel: Tensor) -> Tensor:
        radius = kernel.numel() // 2
        channels = x.shape[1]
        # Reflect padding needs a pad smaller than the side, so large kernels fall back to replicate.
        mode = "reflect" if radius < min(x.shape[-2:]) else "replicate"
        x = F.pad(x, (radius, radius, radius, radius), mode=mode)
        x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
        return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)

    def _gradient_magnitude(self, x: Tensor) -> Tensor:
        batch, channels, height, width = x.shape
        flat = F.pad(x.reshape(batch * channels, 1, height, width), (1, 1, 1, 1), mode="replicate")
        gradients = F.conv2d(flat, self.sobel)
        magnitude = gradients.pow(2).sum(dim=1).add(1e-12).sqrt()
        return magnitude.reshape(batch, channels, height, width)

    def forward(self, bands: Tensor) -> Tensor:
        responses = [bands]
        for index in range(len(self.sigmas)):
            smooth = self._smooth(bands, getattr(self, f"gaussian{index}"))
            responses += [smooth, self._gradient_magnitude(smooth)]
        shifted = bands + DIFFERENCE_SHIFT
        for a, b in self.pairs:
            total = (shifted[:, a] + shifted[:, b]).clamp(min=1e-3)
            responses.append(((shifted[:, a] - shifted[:, b]) / total)[:, None])
        return torch.cat(responses, dim=1)


class FilterBankBranch(nn.Module):
    """Fixed filter responses followed by a learned two-layer per-pixel network."""

    def __init__(self, in_bands: int, width: int) -> None:
        super().__init__()
        self.responses = FilterResponses(in_bands)
        hidden = 2 * width
        self.layers = nn.Sequential(
            nn.Conv2d(self.responses.out_channels, hidden, 1, bias=False),
            nn.GroupNorm(min(8, hidden), hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, width, 1, bias=False),
            nn.GroupNorm(min(8, width), width),
            nn.ReLU(inplace=True),
        )

    def forward(self, raw: Tensor) -> Tensor:
        return self.layers(self.responses(raw))
