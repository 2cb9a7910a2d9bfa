"""Frozen backbone features, extracted once per tile and cached on disk.

The cache key combines the backbone checkpoint hash, the tile content hash and
the normalization, so a change to any of them invalidates the entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger(__name__)

# Backbone inputs are padded to a multiple of the coarsest stride so every
# feature level covers the tile exactly.
PAD_MULTIPLE = 32


def feature_cache_key(
    backbone_sha256: str, tile_hash: str, normalization: Mapping[str, Sequence[float]]
) -> str:
    """Return the cache key of one tile's features under one backbone and normalization."""
    payload = json.dumps(
        {"backbone": backbone_sha256, "tile": tile_hash, "normalization": normalization}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def padded_size(height: int, width: int, multiple: int = PAD_MULTIPLE) -> tuple[int, int]:
    """Round a tile size up to a multiple of ``multiple``."""
    return -(-height // multiple) * multiple, -(-width // multiple) * multiple


def pad_to_multiple(image: np.ndarray, multiple: int = PAD_MULTIPLE) -> np.ndarray:
    """Reflect-pad a (C, H, W) array at the bottom and right to a multiple of ``multiple``."""
    height, width = image.shape[-2:]
    target_h, target_w = padded_size(height, width, multiple)
    pad = ((0, 0), (0, target_h - height), (0, target_w - width))
    if height > target_h - height and width > target_w - width:
        return np.pad(image, pad, mode="reflect")
    return np.pad(image, pad, mode="edge")


@torch.no_grad()
def extract_features(backbone: nn.Module, image: np.ndarray) -> list[np.ndarray]:
    """Run the frozen backbone on one standardised tile.

    Args:
        backbone: Frozen backbone returning a list of feature maps.
        image: (C, H, W) float32 standardised bands, invalid pixels 0.

    Returns:
        Feature maps as float16 arrays (C_i, Hp / s_i, Wp / s_i) of the padded tile.
    """
    padded = torch.from_numpy(np.ascontiguousarray(pad_to_multiple(image), dtype=np.float32))[None]
    backbone.eval()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=padded.device.type == "cpu"):
        features = backbone(padded.contiguous(memory_format=torch.channels_last))
    return [f[0].float().to(torch.float16).numpy() for f in features]


class FeatureCache:
    """Feature maps stored as one ``.npz`` file per cache key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> list[np.ndarray] | None:
        """Return cached features, or None when missing or unreadable."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path) as archive:
                return [archive[f"level{i}"] for i in range(len(archive.files))]
        except (OSError, ValueError, KeyError) as error:
            logger.warning("Ignoring unreadable feature cache file %s: %s", path, error)
            return None

    def put(self, key: str, features: Sequence[np.ndarray]) -> None:
        """Store features atomically."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                arrays: dict[str, Any] = {f"level{i}": f for i, f in enumerate(features)}
                np.savez(stream, **arrays)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def upsample_to(features: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize a (B, C, h, w) feature map to ``size``."""
    return F.interpolate(features, size=size, mode="bilinear", align_corners=False)
