"""Segmentation heads trained on the frozen backbone's multi-scale features.

Both heads can add a small full-resolution branch on the raw bands, because
thin structures (vine rows, small weeds) vanish at strides 8-32. They use
GroupNorm, since batches of a few tiles make batch-norm statistics unreliable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.models.adapters import AdaptedLateStages
from core.models.backbone import build_backbone
from core.models.filter_bank import FilterBankBranch

HeadKind = Literal["fpn", "linear"]
HEAD_KINDS: tuple[str, ...] = ("fpn", "linear")


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=min(8, channels), num_channels=channels)


class RawBandBranch(nn.Module):
    """A 3x3 convolution on the standardised bands at full resolution."""

    def __init__(self, in_bands: int, width: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_bands, width, 3, padding=1, bias=False),
            _norm(width),
            nn.ReLU(inplace=True),
        )

    def forward(self, raw: Tensor) -> Tensor:
        return self.layers(raw)


class SegmentationHead(nn.Module):
    """Decoder from backbone features (and optionally raw bands) to class logits.

    The features are fused and reduced at the finest feature stride (4). Only a
    narrow map is upsampled, so the full-resolution part stays cheap on a CPU.

    Args:
        feature_channels: Channels of each backbone feature map, finest first.
        in_bands: Number of bands of the raw input, used by the raw-band branch.
        num_classes: Number of output classes.
        kind: ``"fpn"`` sums per-level projections at the finest stride and
            refines them with a 3x3 convolution; ``"linear"`` is one 1x1
            convolution over the upsampled, concatenated features.
        width: Channels of the fused feature map.
        raw_width: Channels of the raw-band branch; 0 disables it.
        late_stages: Adapted copies of the backbone's stride-16 and stride-32 stages; when
            given, those two feature maps are recomputed from the stride-8 map.
        raw_filters: Feed the raw-band branch fixed filter responses (smoothings, gradients,
            normalised differences) instead of a 3x3 convolution.
    """

    def __init__(
        self,
        feature_channels: Sequence[int],
        in_bands: int,
        num_classes: int,
        kind: HeadKind = "fpn",
        width: int = 64,
        raw_width: int = 16,
        late_stages: AdaptedLateStages | None = None,
        raw_filters: bool = False,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.late_stages = late_stages
        reduced = width // 2
        self.fuse: nn.Module
        match kind:
            case "fpn":
                self.lateral = nn.ModuleList(
                    nn.Sequential(nn.Conv2d(c, width, 1, bias=False), _norm(width)) for c in feature_channels
                )
                # A depthwise 3x3 adds spatial context at a fraction of a full 3x3's cost.
                self.fuse = nn.Sequential(
                    nn.Conv2d(width, width, 3, padding=1, groups=width, bias=False),
                    _norm(width),
                    nn.ReLU(inplace=True),
                    nn.Dropout2d(0.1),
                    nn.Conv2d(width, reduced, 1, bias=False),
                    _norm(reduced),
                    nn.ReLU(inplace=True),
                )
            case "linear":
                # One 1x1 convolution over the concatenated levels, computed per level before
                # upsampling (the two commute), so coarse levels are never upsampled at full width.
                self.lateral = nn.ModuleList(nn.Conv2d(c, reduced, 1, bias=i == 0) for i, c in enumerate(feature_channels))
                self.fuse = nn.Identity()
            case _:
                raise ValueError(f"Invalid head kind {kind!r}; expected one of {HEAD_KINDS}.")
        self.raw_branch: nn.Module | None = None
        if raw_width > 0:
            self.raw_branch = FilterBankBranch(in_bands, raw_width) if raw_filters else RawBandBranch(in_bands, raw_width)
        self.classifier = nn.Conv2d(reduced + raw_width, num_classes, 1)

    def fuse_features(self, features: Sequence[Tensor]) -> Tensor:
        """Combine multi-scale features into one narrow map at the finest feature stride."""
        size = features[0].shape[-2:]
        fused = sum(
            F.interpolate(lateral(f), size=size, mode="bilinear", align_corners=False)
            for lateral, f in zip(self.lateral, features, strict=True)
        )
        return self.fuse(fused)

    def forward(self, features: Sequence[Tensor], raw: Tensor) -> Tensor:
        """Return class logits.

        Args:
            features: Feature maps (B, C_i, H / s_i, W / s_i), finest first.
            raw: Standardised bands (B, bands, H, W); sets the output size.

        Returns:
            Logits of shape (B, num_classes, H, W).
        """
        if self.late_stages is not None:
            features = [*features[:2], *self.late_stages(features[1])]
        fused = self.fuse_features(features)
        # The classifier is a 1x1 convolution over the upsampled fused map and the raw branch.
        # Bilinear upsampling acts on each channel alike, so it commutes with that channel
        # mixing. The fused part is therefore classified at stride 4, and only K channels are upsampled.
        weight = self.classifier.weight
        reduced = fused.shape[1]
        logits = F.conv2d(fused, weight[:, :reduced])
        logits = F.interpolate(logits, size=raw.shape[-2:], mode="bilinear", align_corners=False)
        if self.raw_branch is not None:
            logits = logits + F.conv2d(self.raw_branch(raw), weight[:, reduced:])
        bias = self.classifier.bias
        return logits if bias is None else logits + bias.view(1, -1, 1, 1)


RAW_BRANCH_WIDTH = 16


def head_from_checkpoint(checkpoint: Mapping[str, Any]) -> SegmentationHead:
    """Rebuild a trained head from a saved head checkpoint and load its weights.

    Args:
        checkpoint: Mapping with ``state_dict``, ``config`` (a HeadConfig dict),
            ``feature_channels``, ``in_bands`` and ``num_classes``; heads with adapters
            also need ``backbone_arch``.

    Returns:
        The head in eval mode.
    """
    config = checkpoint["config"]
    late_stages = None
    if config.get("adapters"):
        # The copied stages' weights come with the state dict; only their shapes are built here.
        skeleton = build_backbone(checkpoint["backbone_arch"], int(checkpoint["in_bands"]))
        late_stages = AdaptedLateStages(skeleton)
    head = SegmentationHead(
        checkpoint["feature_channels"],
        int(checkpoint["in_bands"]),
        int(checkpoint["num_classes"]),
        kind=config.get("head", "fpn"),
        raw_width=RAW_BRANCH_WIDTH if config.get("raw_branch", True) else 0,
        late_stages=late_stages,
        raw_filters=bool(config.get("raw_filters", False)),
    )
    head.load_state_dict(checkpoint["state_dict"])
    head.eval()
    return head


def read_head_checkpoint(path: Path, backbone_sha256: str, run_id: int) -> dict[str, Any]:
    """Load a run's head checkpoint and check that it belongs to the run's backbone.

    Raises:
        FileNotFoundError: the checkpoint file is missing.
        ValueError: the head was trained on a backbone with another hash.
    """
    if not path.is_file():
        raise FileNotFoundError(f"Head checkpoint of run {run_id} not found: {path}. Train the head again.")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint.get("backbone_sha256") not in (None, backbone_sha256):
        raise ValueError(f"The head of run {run_id} was trained on another backbone; train the head again.")
    return checkpoint
