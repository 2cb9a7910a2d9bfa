"""Datasets of random tile crops turned into K augmented views, for pretraining."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import torch
from pytorch_lightning import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from core.pretrain.augment import ViewAugmentation, build_multi_view_transform

logger = logging.getLogger(__name__)

TileLoader = Callable[[int], np.ndarray]

# A crop whose pixels are more than this fraction invalid (0 in every band) is redrawn, at
# most MAX_CROP_ATTEMPTS times, so views rarely show only nodata.
MAX_INVALID_FRACTION = 0.5
MAX_CROP_ATTEMPTS = 5


class TileViewDataset(Dataset):
    """Random square crops of tiles, each returned as K augmented views.

    Args:
        tiles: Either standardised float32 arrays (C, H, W) with invalid pixels 0, or a
            function that loads such an array by tile index, for tiles that do not fit in
            memory. Tiles may differ in size but must have the same band count.
        crop_size: Side of the square crop and of each view in pixels. Tiles smaller than
            this are padded by reflection.
        views: Number of views K per crop.
        tile_count: Number of tiles, required when ``tiles`` is a function.
        crops_per_tile: Crops drawn from each tile per epoch, so a few large tiles still
            give many samples.
        augmentation: View augmentation settings. None uses the defaults.
    """

    def __init__(
        self,
        tiles: Sequence[np.ndarray] | TileLoader,
        crop_size: int,
        views: int = 4,
        tile_count: int | None = None,
        crops_per_tile: int = 1,
        augmentation: ViewAugmentation | None = None,
    ) -> None:
        if callable(tiles):
            if tile_count is None:
                raise ValueError("tile_count is required when tiles is a loader function.")
            self._load: TileLoader = tiles
            self.tile_count = tile_count
        else:
            _check_tiles(tiles)
            self._load = tiles.__getitem__
            self.tile_count = len(tiles)
        if self.tile_count < 1:
            raise ValueError("Pretraining needs at least one tile, got none.")
        if crop_size < 8:
            raise ValueError(f"crop_size must be at least 8 pixels, got {crop_size}.")
        if crops_per_tile < 1:
            raise ValueError(f"crops_per_tile must be at least 1, got {crops_per_tile}.")

        self.crop_size = crop_size
        self.crops_per_tile = crops_per_tile
        self.transform = build_multi_view_transform(crop_size, views, augmentation)

    def __len__(self) -> int:
        return self.tile_count * self.crops_per_tile

    def __getitem__(self, index: int) -> list[Tensor]:
        """Return K views of a random crop of tile ``index // crops_per_tile``.

        Returns:
            K float32 tensors (C, crop_size, crop_size).
        """
        tile = np.asarray(self._load(index // self.crops_per_tile), dtype=np.float32)
        if tile.ndim != 3:
            raise ValueError(
                f"Tile {index // self.crops_per_tile} has shape {tile.shape}. Expected (C, H, W)."
            )
        crop = random_crop(tile, self.crop_size)
        views = self.transform(torch.from_numpy(crop))
        return cast(list[Tensor], views)


def random_crop(tile: np.ndarray, crop_size: int) -> np.ndarray:
    """Cut a random crop_size x crop_size window from a (C, H, W) tile.

    Tiles smaller than the crop are reflection-padded first. Crops that are mostly invalid
    are redrawn up to ``MAX_CROP_ATTEMPTS`` times, and the last draw is kept.
    """
    tile = pad_to_size(tile, crop_size)
    _, height, width = tile.shape
    crop = tile
    for _ in range(MAX_CROP_ATTEMPTS):
        top = int(torch.randint(0, height - crop_size + 1, ()).item())
        left = int(torch.randint(0, width - crop_size + 1, ()).item())
        crop = tile[:, top : top + crop_size, left : left + crop_size]
        invalid_fraction = float(np.mean(np.all(crop == 0, axis=0)))
        if invalid_fraction <= MAX_INVALID_FRACTION:
            break
    return np.ascontiguousarray(crop)


def pad_to_size(tile: np.ndarray, size: int) -> np.ndarray:
    """Reflection-pad a (C, H, W) tile at the bottom and right to at least size x size."""
    _, height, width = tile.shape
    pad_bottom = max(0, size - height)
    pad_right = max(0, size - width)
    if not pad_bottom and not pad_right:
        return tile
    return np.pad(tile, ((0, 0), (0, pad_bottom), (0, pad_right)), mode="reflect")


def _check_tiles(tiles: Sequence[np.ndarray]) -> None:
    band_counts = {tile.shape[0] for tile in tiles if tile.ndim == 3}
    shapes = [tile.shape for tile in tiles if tile.ndim != 3]
    if shapes:
        raise ValueError(f"Tiles must be (C, H, W) arrays, got shapes {shapes[:3]}.")
    if len(band_counts) > 1:
        raise ValueError(
            f"All tiles must have the same band count, got {sorted(band_counts)}. Select "
            "the same bands for every tile."
        )


class TileViewDataModule(LightningDataModule):
    """Lightning data module over a ``TileViewDataset``.

    Args:
        dataset: Dataset of views.
        batch_size: Tiles per batch on each device.
        num_workers: Data loader worker processes. 0 loads in the training process.
    """

    def __init__(self, dataset: TileViewDataset, batch_size: int, num_workers: int = 0) -> None:
        super().__init__()
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_workers = num_workers

    def train_dataloader(self) -> DataLoader:
        # Dropping the last partial batch keeps batch-norm statistics stable, but only
        # when every device still gets one full batch.
        world_size = self.trainer.world_size if self.trainer is not None else 1
        drop_last = len(self.dataset) >= self.batch_size * world_size
        return DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=drop_last,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )
