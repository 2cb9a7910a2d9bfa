"""N-band backbones: torchvision ResNet and Swin-T with the first layer built for any band count.

Every backbone returns four feature maps at strides (4, 8, 16, 32), channels first. For an
input of H x W pixels the map at stride ``s`` has ``ceil(H / s) x ceil(W / s)`` pixels, also
for odd sizes such as 97 x 131, so heads can upsample each map back to the tile size.

The submodules keep torchvision's attribute names, so a state dict of this module uses the
same keys as the torchvision model without its classifier (``fc`` for ResNet, ``norm`` and
``head`` for Swin-T). That keeps importing torchvision-trained weights a key-prefix strip.
"""

from __future__ import annotations

import logging
import math

import torch.nn.functional as F
from torch import Tensor, nn
from torchvision import models

from core.models.arch import BACKBONE_ARCHS, BackboneArch

logger = logging.getLogger(__name__)

FEATURE_STRIDES: tuple[int, ...] = (4, 8, 16, 32)


class Backbone(nn.Module):
    """Multi-scale feature extractor for N-band tiles.

    Subclasses build the layers and implement ``forward``. This base class stores the
    description every caller needs and the frozen state.

    Attributes:
        arch: Architecture name, one of ``BACKBONE_ARCHS``.
        in_channels: Number of bands the first layer expects.
        out_channels: Channels of each returned feature map, one per stride.
        strides: Downsampling factor of each returned feature map: (4, 8, 16, 32).
        frozen: True after ``freeze``. A frozen backbone stays in eval mode, so batch-norm
            statistics, dropout and stochastic depth do not change when a parent module
            calls ``.train()``.
    """

    def __init__(self, arch: str, in_channels: int, out_channels: tuple[int, ...]) -> None:
        super().__init__()
        self.arch = arch
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.strides = FEATURE_STRIDES
        self.frozen = False

    def train(self, mode: bool = True) -> Backbone:
        """Set training mode, except that a frozen backbone always stays in eval mode."""
        return super().train(mode and not self.frozen)

    def forward(self, x: Tensor) -> list[Tensor]:
        """Compute feature maps.

        Args:
            x: Tiles, (B, C, H, W) float, C equal to ``in_channels``.

        Returns:
            Four tensors (B, out_channels[i], ceil(H / s), ceil(W / s)) for s in ``strides``.
        """
        raise NotImplementedError


class ResNetBackbone(Backbone):
    """Torchvision ResNet without its pooling and classifier."""

    def __init__(self, arch: str, in_channels: int, resnet: models.ResNet) -> None:
        out_channels = tuple(
            _last_block_channels(stage)
            for stage in (resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4)
        )
        super().__init__(arch, in_channels, out_channels)

        stem = resnet.conv1
        self.conv1 = nn.Conv2d(
            in_channels,
            stem.out_channels,
            kernel_size=stem.kernel_size,
            stride=stem.stride,
            padding=stem.padding,
            bias=False,
        )
        self.bn1 = resnet.bn1
        self.relu = resnet.relu
        self.maxpool = resnet.maxpool
        self.layer1 = resnet.layer1
        self.layer2 = resnet.layer2
        self.layer3 = resnet.layer3
        self.layer4 = resnet.layer4

    def forward(self, x: Tensor) -> list[Tensor]:
        """Compute feature maps as ``Backbone.forward`` describes.

        Every strided layer pads so that it outputs ``ceil(size / 2)``.
        """
        _check_input(x, self.in_channels)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [c2, c3, c4, c5]


class SwinBackbone(Backbone):
    """Torchvision Swin-T without its final norm, pooling and classifier."""

    def __init__(self, arch: str, in_channels: int, swin: models.SwinTransformer) -> None:
        embed = swin.features[0][0]
        embed_dim = embed.out_channels
        out_channels = tuple(embed_dim * 2**i for i in range(4))
        super().__init__(arch, in_channels, out_channels)

        self.patch_size = embed.kernel_size[0]
        self.features = swin.features
        self.features[0][0] = nn.Conv2d(
            in_channels, embed_dim, kernel_size=embed.kernel_size, stride=embed.stride
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        """Compute feature maps as ``Backbone.forward`` describes.

        The input is zero-padded at the bottom and right to a multiple of the patch size
        (4 px), so the patch embedding gives ``ceil(H / 4)``. Torchvision's patch merging pads
        odd sizes itself, which gives ``ceil`` at the later stages too.
        """
        _check_input(x, self.in_channels)
        height, width = x.shape[-2:]
        pad_bottom = math.ceil(height / self.patch_size) * self.patch_size - height
        pad_right = math.ceil(width / self.patch_size) * self.patch_size - width
        if pad_bottom or pad_right:
            x = F.pad(x, (0, pad_right, 0, pad_bottom))

        # features = [embed, stage1, merge, stage2, merge, stage3, merge, stage4], all (B, H, W, C).
        maps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index % 2 == 1:
                maps.append(x.permute(0, 3, 1, 2).contiguous())
        return maps


def build_backbone(arch: BackboneArch, in_channels: int) -> Backbone:
    """Build a randomly initialised torchvision backbone for ``in_channels`` bands.

    Args:
        arch: Architecture name, one of ``BACKBONE_ARCHS``.
        in_channels: Number of bands of the tiles, at least 1.

    Returns:
        The backbone in training mode, not frozen.

    Raises:
        ValueError: If ``arch`` is unknown or ``in_channels`` is below 1.
    """
    if in_channels < 1:
        raise ValueError(f"in_channels must be at least 1, got {in_channels}.")

    match arch:
        case "resnet18":
            return ResNetBackbone(arch, in_channels, models.resnet18(weights=None))
        case "resnet50":
            return ResNetBackbone(arch, in_channels, models.resnet50(weights=None))
        case "swin_t":
            return SwinBackbone(arch, in_channels, models.swin_t(weights=None))
        case _:
            raise ValueError(
                f"Unknown backbone architecture {arch!r}. Expected one of {BACKBONE_ARCHS}."
            )


def freeze(backbone: Backbone) -> Backbone:
    """Freeze the weights and batch-norm statistics of ``backbone`` in place.

    Sets ``requires_grad = False`` on every parameter and puts the backbone in eval mode.
    A later ``.train()`` on the backbone or on a parent module leaves it in eval
    mode, so batch-norm running statistics stay unchanged.

    Returns:
        The same backbone, for chaining.
    """
    for parameter in backbone.parameters():
        parameter.requires_grad_(False)
    backbone.frozen = True
    backbone.eval()
    return backbone


def pooled_embedding_dim(backbone: Backbone) -> int:
    """Return the channels of the last feature map, the size of a globally pooled embedding."""
    return backbone.out_channels[-1]


def _last_block_channels(stage: nn.Sequential) -> int:
    block = stage[-1]
    norm = block.bn3 if isinstance(block, models.resnet.Bottleneck) else block.bn2
    if not isinstance(norm, nn.BatchNorm2d):
        raise TypeError(f"Unexpected ResNet block {type(block).__name__} without batch norm.")
    return norm.num_features


def _check_input(x: Tensor, in_channels: int) -> None:
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(
            f"Backbone expects input (B, {in_channels}, H, W), got shape {tuple(x.shape)}. "
            "The band count of the tiles must match the backbone's in_channels."
        )


__all__ = [
    "BACKBONE_ARCHS",
    "Backbone",
    "BackboneArch",
    "FEATURE_STRIDES",
    "build_backbone",
    "freeze",
    "pooled_embedding_dim",
]
