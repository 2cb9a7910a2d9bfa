"""Tests for the tile crop dataset and data module."""

import numpy as np
import pytest
import torch

from core.pretrain.data import TileViewDataModule, TileViewDataset, pad_to_size, random_crop


def make_tiles(bands: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        rng.standard_normal((bands, 40, 52)).astype(np.float32),
        rng.standard_normal((bands, 20, 13)).astype(np.float32),
    ]


def test_views_from_tiles_of_different_sizes() -> None:
    dataset = TileViewDataset(make_tiles(), crop_size=32, views=4)

    for index in range(len(dataset)):
        views = dataset[index]
        assert len(views) == 4
        assert all(view.shape == (5, 32, 32) for view in views)
        assert all(view.dtype == torch.float32 for view in views)


def test_loader_function_and_crops_per_tile() -> None:
    tiles = make_tiles(3)
    requested: list[int] = []

    def load(index: int) -> np.ndarray:
        requested.append(index)
        return tiles[index]

    dataset = TileViewDataset(load, crop_size=16, views=2, tile_count=2, crops_per_tile=3)
    dataset[5]

    assert len(dataset) == 6
    assert requested == [1]


def test_loader_function_needs_tile_count() -> None:
    with pytest.raises(ValueError, match="tile_count"):
        TileViewDataset(lambda index: make_tiles()[index], crop_size=16)


def test_mixed_band_counts_raise() -> None:
    tiles = [np.zeros((4, 16, 16), np.float32), np.zeros((5, 16, 16), np.float32)]

    with pytest.raises(ValueError, match=r"\[4, 5\]"):
        TileViewDataset(tiles, crop_size=16)


def test_no_tiles_raise() -> None:
    with pytest.raises(ValueError, match="at least one tile"):
        TileViewDataset([], crop_size=16)


def test_pad_to_size_reflects() -> None:
    tile = np.arange(6, dtype=np.float32).reshape(1, 2, 3)

    padded = pad_to_size(tile, 5)

    assert padded.shape == (1, 5, 5)
    assert np.array_equal(padded[:, :2, :3], tile)
    assert padded[0, 0, 3] == tile[0, 0, 1]


def test_random_crop_avoids_invalid_area() -> None:
    torch.manual_seed(0)
    tile = np.zeros((3, 64, 64), np.float32)
    # Columns 24-63 are valid, so most crop positions are at most half invalid.
    tile[:, :, 24:] = 1.0

    crops = [random_crop(tile, 16) for _ in range(20)]

    invalid = [float(np.mean(np.all(crop == 0, axis=0))) for crop in crops]
    assert max(invalid) <= 0.5
    assert all(crop.shape == (3, 16, 16) for crop in crops)


def test_data_module_batches() -> None:
    dataset = TileViewDataset(make_tiles(), crop_size=16, views=3, crops_per_tile=2)
    loader = TileViewDataModule(dataset, batch_size=2).train_dataloader()

    batch = next(iter(loader))

    assert len(batch) == 3
    assert batch[0].shape == (2, 5, 16, 16)
    assert len(loader) == 2
