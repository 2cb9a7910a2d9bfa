"""Project-level sanity checks shown before training (band order, value scale)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from core.projects.tiles import TileMissingError, load_raster
from core.raster.bands import band_order_warnings
from core.raster.errors import TileReadError
from core.raster.read import Raster
from core.store.models import Project, Tile

logger = logging.getLogger(__name__)

# Tiles sampled for the band-order check; the check draws a fixed number of pixels from each.
CHECK_TILES = 12


def project_warnings(project: Project, tiles: list[Tile]) -> list[str]:
    """Return warnings about data that contradict the project's band names or value scale."""

    def sampled() -> Iterator[Raster]:
        step = max(1, len(tiles) // CHECK_TILES)
        for tile in tiles[::step][:CHECK_TILES]:
            try:
                yield load_raster(tile)
            except (TileMissingError, TileReadError) as error:
                logger.warning("Band-order check skips tile %s: %s", tile.name, error)

    warnings = band_order_warnings(sampled(), project.band_names, project.value_scale)  # type: ignore[arg-type]
    if project.value_scale == "display_8bit" and len(project.band_names) > 3:
        warnings.append(
            "The tiles are 8-bit display values, not reflectance: indices such as NDVI are only relative."
        )
    return warnings
