"""View augmentations for N-band tiles, for self-supervised pretraining.

Every transform takes and returns a (C, H, W) float32 tensor of standardised bands (each
band has mean 0 and std 1 over the project, invalid pixels 0), for any C. None of them is
a colour-space operation (colour jitter, grayscale, solarize), because those assume three
RGB channels in [0, 1]. Per-band gain and offset jitter takes the place of colour jitter.

Defaults follow the SimSiam recipe as lightly 1.6.0 implements it in ``SimSiamTransform``
(crop scale 0.2-1, colour jitter probability 0.8, blur probability 0.5 with sigma 0.1-2),
with the changes for overhead imagery that each field below describes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from lightly.transforms.multi_view_transform import MultiViewTransform
from torch import Tensor, nn
from torchvision.transforms import v2

from core.pretrain.config import ViewAugmentation

__all__ = [
    "RandomBandDropout",
    "RandomBandJitter",
    "RandomGaussianBlur",
    "RandomGaussianNoise",
    "RandomRotate90",
    "ViewAugmentation",
    "build_multi_view_transform",
    "build_view_transform",
    "gaussian_blur",
]


class RandomRotate90(nn.Module):
    """Rotate a (C, H, W) tensor by 0, 90, 180 or 270 degrees, chosen uniformly.

    Non-square inputs swap H and W for odd multiples.
    """

    def forward(self, x: Tensor) -> Tensor:
        turns = int(torch.randint(0, 4, ()).item())
        return torch.rot90(x, turns, dims=(-2, -1)) if turns else x


class RandomBandJitter(nn.Module):
    """Scale and shift each band of a (C, H, W) tensor by its own random gain and offset."""

    def __init__(self, gain: float, offset: float, probability: float) -> None:
        super().__init__()
        self.gain = gain
        self.offset = offset
        self.probability = probability

    def forward(self, x: Tensor) -> Tensor:
        if torch.rand(()) >= self.probability:
            return x
        bands = x.shape[0]
        gain = 1.0 + (torch.rand(bands, 1, 1) * 2 - 1) * self.gain
        offset = (torch.rand(bands, 1, 1) * 2 - 1) * self.offset
        return x * gain.to(x.dtype) + offset.to(x.dtype)


class RandomGaussianBlur(nn.Module):
    """Blur every band of a (C, H, W) tensor with one random Gaussian kernel.

    The kernel is separable, spans 3 sigma on each side and uses reflection padding, so
    the output has the input's size. It works on tensors directly, with no PIL round trip.
    """

    def __init__(self, sigma: tuple[float, float], probability: float) -> None:
        super().__init__()
        self.sigma = sigma
        self.probability = probability

    def forward(self, x: Tensor) -> Tensor:
        if torch.rand(()) >= self.probability:
            return x
        low, high = self.sigma
        sigma = low + float(torch.rand(())) * (high - low)
        return gaussian_blur(x, sigma)


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Blur each band of a (C, H, W) tensor with a Gaussian of ``sigma`` pixels."""
    bands, height, width = x.shape
    # The radius is capped so that reflection padding stays valid on small crops.
    radius = min(math.ceil(3 * sigma), height - 1, width - 1)
    if radius < 1:
        return x

    positions = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (positions / sigma) ** 2)
    kernel = kernel / kernel.sum()

    batch = F.pad(x.unsqueeze(0), (radius, radius, radius, radius), mode="reflect")
    horizontal = kernel.view(1, 1, 1, -1).expand(bands, 1, 1, -1)
    vertical = kernel.view(1, 1, -1, 1).expand(bands, 1, -1, 1)
    batch = F.conv2d(batch, horizontal, groups=bands)
    batch = F.conv2d(batch, vertical, groups=bands)
    return batch.squeeze(0)


class RandomGaussianNoise(nn.Module):
    """Add zero-mean Gaussian noise of a fixed standard deviation to a (C, H, W) tensor."""

    def __init__(self, std: float, probability: float) -> None:
        super().__init__()
        self.std = std
        self.probability = probability

    def forward(self, x: Tensor) -> Tensor:
        if self.std <= 0 or torch.rand(()) >= self.probability:
            return x
        return x + torch.randn_like(x) * self.std


class RandomBandDropout(nn.Module):
    """Set a random subset of bands of a (C, H, W) tensor to 0, keeping at least one band.

    After standardisation 0 is the band mean, the same value invalid pixels have.
    """

    def __init__(self, rate: float, probability: float) -> None:
        super().__init__()
        self.rate = rate
        self.probability = probability

    def forward(self, x: Tensor) -> Tensor:
        bands = x.shape[0]
        dropped = min(round(self.rate * bands), bands - 1)
        if dropped < 1 or torch.rand(()) >= self.probability:
            return x
        indices = torch.randperm(bands)[:dropped]
        x = x.clone()
        x[indices] = 0
        return x


def build_view_transform(
    crop_size: int, settings: ViewAugmentation | None = None
) -> v2.Compose:
    """Build the random transform that makes one view of a tile.

    Args:
        crop_size: Side of the square output view in pixels.
        settings: Augmentation settings. Defaults to ``ViewAugmentation()``.

    Returns:
        A callable mapping a (C, H, W) float32 tensor to a (C, crop_size, crop_size) one.
    """
    settings = settings or ViewAugmentation()
    transforms: list[nn.Module] = [
        v2.RandomResizedCrop(crop_size, scale=settings.crop_scale, antialias=True),
        v2.RandomHorizontalFlip(settings.flip_probability),
        v2.RandomVerticalFlip(settings.flip_probability),
    ]
    if settings.rotate90:
        transforms.append(RandomRotate90())
    transforms += [
        RandomBandJitter(settings.gain, settings.offset, settings.jitter_probability),
        RandomGaussianBlur(settings.blur_sigma, settings.blur_probability),
        RandomGaussianNoise(settings.noise_std, settings.noise_probability),
        RandomBandDropout(settings.band_dropout_rate, settings.band_dropout_probability),
    ]
    return v2.Compose(transforms)


def build_multi_view_transform(
    crop_size: int, views: int, settings: ViewAugmentation | None = None
) -> MultiViewTransform:
    """Build a transform that returns ``views`` independently augmented views of a tile.

    Args:
        crop_size: Side of each square view in pixels.
        views: Number of views K, at least 2. FastSiam uses 4.
        settings: Augmentation settings shared by all views.

    Returns:
        A callable mapping a (C, H, W) tensor to a list of K (C, crop_size, crop_size) tensors.
    """
    if views < 2:
        raise ValueError(f"views must be at least 2 for a Siamese objective, got {views}.")
    return MultiViewTransform([build_view_transform(crop_size, settings) for _ in range(views)])
