"""Cutting a large raster (an orthomosaic) into georeferenced tiles for import."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

from core.raster.georef import GeoReference
from core.raster.window import iter_windows
from core.raster.window_read import WindowReader
from core.raster.write import write_geotiff

logger = logging.getLogger(__name__)

_UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


def shift_georeference(georef: GeoReference, row: int, col: int) -> GeoReference:
    """Return the georeference of a sub-raster whose first pixel is (row, col).

    Handles the three GeoTIFF forms: a tiepoint with a pixel scale (the
    tiepoint moves to the sub-raster's origin), ground control points without
    a scale (their raster coordinates shift) and a model transformation (its
    translation moves). The CRS keys are kept unchanged.
    """
    tiepoint = georef.model_tiepoint
    scale = georef.model_pixel_scale
    matrix = georef.model_transformation
    if matrix and len(matrix) == 16:
        shifted = list(matrix)
        shifted[3] = matrix[0] * col + matrix[1] * row + matrix[3]
        shifted[7] = matrix[4] * col + matrix[5] * row + matrix[7]
        return replace(georef, model_transformation=tuple(shifted))
    if tiepoint and len(tiepoint) == 6 and scale and len(scale) >= 2:
        i, j, k, x, y, z = tiepoint
        # Raster rows grow southwards while y grows northwards, hence the minus.
        new_x = x + (col - i) * scale[0]
        new_y = y - (row - j) * scale[1]
        return replace(georef, model_tiepoint=(0.0, 0.0, k, new_x, new_y, z))
    if tiepoint and len(tiepoint) % 6 == 0:
        points = list(tiepoint)
        for start in range(0, len(points), 6):
            points[start] -= col
            points[start + 1] -= row
        return replace(georef, model_tiepoint=tuple(points))
    return georef


def cut_into_tiles(path: Path, out_dir: Path, tile_size: int, overlap: int = 0) -> list[Path]:
    """Cut a raster into GeoTIFF tiles, reading one tile at a time.

    Each tile keeps the source's bands, dtype and nodata tag, and gets the
    source georeference moved to its own origin. Tiles are named
    `<source stem>_r<row>_c<col>.tif` after their first pixel in the source.
    Tiles at the right and bottom edges are smaller than `tile_size`.

    Args:
        path: a GeoTIFF (or any raster `read_header` accepts).
        out_dir: folder for the tiles; created if missing.
        tile_size: tile side in pixels.
        overlap: pixels shared by neighbouring tiles, 0 <= overlap < tile_size.

    Returns:
        The tile paths in row-major order.

    Raises:
        FileNotFoundError: if `path` does not exist.
        TileReadError: if the raster cannot be read.
        ValueError: for an invalid tile size or overlap.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _UNSAFE_CHARACTERS.sub("_", Path(path).stem).strip("._") or "raster"
    written: list[Path] = []
    with WindowReader(Path(path)) as reader:
        header = reader.header
        for window in iter_windows(header.height, header.width, tile_size, overlap):
            data = reader.read(window)
            georef = (
                shift_georeference(header.georef, window.row, window.col)
                if header.georef is not None
                else None
            )
            target = out_dir / f"{stem}_r{window.row:06d}_c{window.col:06d}.tif"
            write_geotiff(target, data, georef, nodata=header.nodata)
            written.append(target)
    logger.info(
        "Cut %s (%d x %d) into %d tiles of %d px in %s",
        path, header.height, header.width, len(written), tile_size, out_dir,
    )
    return written
