"""Seeded generator of tiny tiles written to a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile

TileWriter = Callable[..., Path]


def random_bands(bands: int, height: int, width: int, dtype: str, seed: int = 0) -> np.ndarray:
    """Return (bands, H, W) values of `dtype` in a range typical for that dtype."""
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.uniform(0.01, 0.6, size=(bands, height, width)).astype(dtype)
    high = 250 if np.dtype(dtype).itemsize == 1 else 5000
    return rng.integers(1, high, size=(bands, height, width)).astype(dtype)


@pytest.fixture
def write_tile(tmp_path: Path) -> TileWriter:
    """Write a (bands, H, W) array as a TIFF and return its path.

    Keyword arguments: name, array (else random), bands, height, width, dtype,
    seed, and any tifffile.imwrite option (e.g. planarconfig="contig" with an
    (H, W, bands) array).
    """

    def write(
        name: str = "tile.tif",
        array: np.ndarray | None = None,
        bands: int = 4,
        height: int = 16,
        width: int = 24,
        dtype: str = "uint16",
        seed: int = 0,
        **options: object,
    ) -> Path:
        data = array if array is not None else random_bands(bands, height, width, dtype, seed)
        path = tmp_path / name
        options.setdefault("photometric", "minisblack")
        tifffile.imwrite(path, data, **options)
        return path

    return write
