"""In-memory rasters for display tests."""

from pathlib import Path

import numpy as np
import pytest

from core.raster.header import TileHeader
from core.raster.read import Raster


@pytest.fixture
def make_raster():
    """Return a function building a Raster from a (bands, H, W) array and optional valid mask."""

    def build(data: np.ndarray, valid: np.ndarray | None = None) -> Raster:
        bands, height, width = data.shape
        header = TileHeader(
            path=Path("mem.tif"), bands=bands, height=height, width=width, dtype=data.dtype.name
        )
        mask = np.ones((height, width), bool) if valid is None else valid
        return Raster(data=data, valid=mask, header=header)

    return build
