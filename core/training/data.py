"""Training samples built from tiles, cached features and sparse label masks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from core.labels.files import UNLABELED
from core.training.features import PAD_MULTIPLE, pad_to_multiple


@dataclass
class TileSample:
    """One tile ready for head training or prediction.

    Attributes:
        tile_id: Database id of the tile.
        image: (C, Hp, Wp) float32 standardised bands, padded to a multiple of 32.
        valid: (Hp, Wp) bool validity mask; padding is invalid.
        features: Backbone feature maps (C_i, Hp / s_i, Wp / s_i), float16.
        height: Unpadded tile height.
        width: Unpadded tile width.
        mask: (Hp, Wp) uint8 class indices with 255 unlabeled, or None for unlabeled tiles.
    """

    tile_id: int
    image: np.ndarray
    valid: np.ndarray
    features: list[np.ndarray]
    height: int
    width: int
    mask: np.ndarray | None = None
    strides: list[int] = field(default_factory=list)


def build_sample(
    tile_id: int,
    image: np.ndarray,
    valid: np.ndarray,
    features: list[np.ndarray],
    mask: np.ndarray | None = None,
) -> TileSample:
    """Pad a tile's image, validity and mask to the feature grid and wrap them."""
    height, width = image.shape[-2:]
    padded_image = pad_to_multiple(image.astype(np.float32, copy=False))
    padded_h, padded_w = padded_image.shape[-2:]
    padded_valid = np.zeros((padded_h, padded_w), dtype=bool)
    padded_valid[:height, :width] = valid
    padded_mask = None
    if mask is not None:
        padded_mask = np.full((padded_h, padded_w), UNLABELED, dtype=np.uint8)
        padded_mask[:height, :width] = np.where(valid, mask, UNLABELED)
    strides = [padded_h // f.shape[-2] for f in features]
    return TileSample(tile_id, padded_image, padded_valid, features, height, width, padded_mask, strides)


@dataclass
class Crop:
    """A batch element: features, bands, validity and targets of one crop as tensors."""

    features: list[Tensor]
    image: Tensor
    valid: Tensor
    target: Tensor | None


def crop_origin(sample: TileSample, crop: int, rng: np.random.Generator, labeled_only: bool) -> tuple[int, int]:
    """Pick a crop origin on the 32-pixel grid, centred near a labeled pixel when asked.

    Aligning crops to the coarsest stride keeps every feature level pixel-exact.
    """
    height, width = sample.image.shape[-2:]
    max_top, max_left = height - crop, width - crop
    if labeled_only and sample.mask is not None:
        rows, cols = np.nonzero(sample.mask != UNLABELED)
        if len(rows):
            pick = rng.integers(len(rows))
            top = int(rows[pick]) - crop // 2 + int(rng.integers(-crop // 4, crop // 4 + 1))
            left = int(cols[pick]) - crop // 2 + int(rng.integers(-crop // 4, crop // 4 + 1))
            top = int(np.clip(round(top / PAD_MULTIPLE) * PAD_MULTIPLE, 0, max_top))
            left = int(np.clip(round(left / PAD_MULTIPLE) * PAD_MULTIPLE, 0, max_left))
            return top, left
    top = int(rng.integers(0, max_top // PAD_MULTIPLE + 1)) * PAD_MULTIPLE
    left = int(rng.integers(0, max_left // PAD_MULTIPLE + 1)) * PAD_MULTIPLE
    return top, left


def take_crop(sample: TileSample, crop: int, rng: np.random.Generator, labeled_only: bool) -> Crop:
    """Cut one aligned crop (the whole tile if it is smaller than ``crop``)."""
    height, width = sample.image.shape[-2:]
    crop_h, crop_w = min(crop, height), min(crop, width)
    size = min(crop_h, crop_w)
    top, left = crop_origin(sample, size, rng, labeled_only) if size == crop else (0, 0)
    if size != crop:
        crop_h, crop_w = height, width
    features = []
    for level, stride in zip(sample.features, sample.strides, strict=True):
        window = level[:, top // stride : (top + crop_h) // stride, left // stride : (left + crop_w) // stride]
        features.append(torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32)))
    rows, cols = slice(top, top + crop_h), slice(left, left + crop_w)
    target = None
    if sample.mask is not None:
        target = torch.from_numpy(sample.mask[rows, cols].astype(np.int64))
    return Crop(
        features=features,
        image=torch.from_numpy(np.ascontiguousarray(sample.image[:, rows, cols])),
        valid=torch.from_numpy(sample.valid[rows, cols].copy()),
        target=target,
    )


def collate(crops: list[Crop]) -> Crop:
    """Stack crops of equal size into one batch."""
    levels = len(crops[0].features)
    return Crop(
        features=[torch.stack([c.features[i] for c in crops]) for i in range(levels)],
        image=torch.stack([c.image for c in crops]),
        valid=torch.stack([c.valid for c in crops]),
        target=None if any(c.target is None for c in crops) else torch.stack([c.target for c in crops]),  # type: ignore[misc]
    )


def sample_tensors(sample: TileSample) -> Crop:
    """Return the whole padded tile as a batch of one."""
    features = [torch.from_numpy(f.astype(np.float32))[None] for f in sample.features]
    target = torch.from_numpy(sample.mask.astype(np.int64))[None] if sample.mask is not None else None
    return Crop(
        features=features,
        image=torch.from_numpy(sample.image)[None],
        valid=torch.from_numpy(sample.valid)[None],
        target=target,
    )


def split_validation(
    samples: list[TileSample], fraction: float, rng: np.random.Generator, block: int = 32
) -> tuple[list[TileSample], list[TileSample]]:
    """Hold out labeled pixels for validation, block by block.

    Labeled pixels are grouped in ``block`` x ``block`` cells; a ``fraction`` of
    the cells with labels goes to validation, so neighbouring pixels do not leak.

    Returns:
        Training samples and validation samples (same tiles, disjoint masks).
    """
    train, validation = [], []
    for sample in samples:
        if sample.mask is None:
            continue
        mask = sample.mask
        height, width = mask.shape
        cells = np.zeros(((height + block - 1) // block, (width + block - 1) // block), dtype=bool)
        labeled_rows, labeled_cols = np.nonzero(mask != UNLABELED)
        cells[labeled_rows // block, labeled_cols // block] = True
        candidates = np.argwhere(cells)
        count = int(round(len(candidates) * fraction))
        if fraction <= 0 or count == 0 or count == len(candidates):
            train.append(sample)
            continue
        chosen = candidates[rng.choice(len(candidates), size=count, replace=False)]
        held = np.zeros_like(cells)
        held[chosen[:, 0], chosen[:, 1]] = True
        held_pixels = np.kron(held, np.ones((block, block), dtype=bool))[:height, :width]
        train_mask = np.where(held_pixels, UNLABELED, mask).astype(np.uint8)
        val_mask = np.where(held_pixels, mask, UNLABELED).astype(np.uint8)
        train.append(TileSample(**{**sample.__dict__, "mask": train_mask}))
        validation.append(TileSample(**{**sample.__dict__, "mask": val_mask}))
    return train, validation
