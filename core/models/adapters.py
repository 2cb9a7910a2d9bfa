"""Residual adapters in the late stages of a frozen backbone, trained together with a head.

The adapted stages start from the stride-8 feature map, which the feature cache already
holds, so training recomputes only the stride-16 and stride-32 stages: small maps that
are cheap on a CPU. Each adapter is a bottleneck ``x + up(relu(down(x)))`` with ``up``
initialised to zero, so an untrained adapter leaves the backbone's features unchanged.
"""

from __future__ import annotations

import copy
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.models.backbone import Backbone, ResNetBackbone, SwinBackbone

ADAPTER_WIDTH = 32


class ResidualAdapter(nn.Module):
    """Bottleneck adapter over the channel dimension, added to its input.

    Args:
        channels: Channels of the adapted map.
        width: Bottleneck channels.
        channels_last: True for (B, H, W, C) maps (Swin), False for (B, C, H, W) maps.
    """

    def __init__(self, channels: int, width: int = ADAPTER_WIDTH, channels_last: bool = False) -> None:
        super().__init__()
        self.channels_last = channels_last
        self.down = nn.Linear(channels, width)
        self.up = nn.Linear(width, channels)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: Tensor) -> Tensor:
        inner = x if self.channels_last else x.permute(0, 2, 3, 1)
        delta = self.up(F.relu(self.down(inner)))
        return x + (delta if self.channels_last else delta.permute(0, 3, 1, 2))


class AdaptedLateStages(nn.Module):
    """Frozen copies of a backbone's stride-16 and stride-32 stages, each block followed by an adapter.

    Only the adapters train: the copied blocks keep their weights and stay in eval mode,
    so batch-norm statistics and stochastic depth never change.

    Args:
        backbone: A ResNet or Swin-T backbone whose late stages are copied.
    """

    def __init__(self, backbone: Backbone) -> None:
        super().__init__()
        if isinstance(backbone, ResNetBackbone):
            self.channels_last = False
            stages = [list(backbone.layer3), list(backbone.layer4)]
        elif isinstance(backbone, SwinBackbone):
            # features[4] and [6] are patch merging, [5] and [7] the transformer blocks.
            self.channels_last = True
            stages = [[backbone.features[4], *backbone.features[5]], [backbone.features[6], *backbone.features[7]]]
        else:
            raise ValueError(f"Adapters are not available for backbone {backbone.arch!r}; use a ResNet or Swin-T.")
        self.stages = nn.ModuleList(nn.ModuleList(copy.deepcopy(block) for block in stage) for stage in stages)
        for parameter in self.stages.parameters():
            parameter.requires_grad_(False)
        # Eval before the shape probe below, so it never touches batch-norm statistics.
        self.stages.eval()
        self.adapters = nn.ModuleList(
            nn.ModuleList(ResidualAdapter(c, channels_last=self.channels_last) for c in channels)
            for channels in self._block_channels(backbone.out_channels[1])
        )

    @torch.no_grad()
    def _block_channels(self, in_channels: int) -> list[list[int]]:
        """Output channels of every copied block, found by running a tiny map through them."""
        x = torch.zeros(1, in_channels, 4, 4)
        if self.channels_last:
            x = x.permute(0, 2, 3, 1)
        channels = []
        for stage in self.stages:
            per_block = []
            for block in cast(nn.ModuleList, stage):
                x = block(x)
                per_block.append(x.shape[-1] if self.channels_last else x.shape[1])
            channels.append(per_block)
        return channels

    def train(self, mode: bool = True) -> AdaptedLateStages:
        super().train(mode)
        self.stages.eval()
        return self

    def forward(self, stride8: Tensor) -> list[Tensor]:
        """Return the adapted stride-16 and stride-32 maps (B, C, H, W) from the stride-8 map."""
        x = stride8.permute(0, 2, 3, 1) if self.channels_last else stride8
        outputs = []
        for blocks, adapters in zip(self.stages, self.adapters, strict=True):
            for block, adapter in zip(cast(nn.ModuleList, blocks), cast(nn.ModuleList, adapters), strict=True):
                x = adapter(block(x))
            outputs.append(x.permute(0, 3, 1, 2).contiguous() if self.channels_last else x)
        return outputs
