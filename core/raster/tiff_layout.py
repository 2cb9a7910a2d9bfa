"""TIFF layout: the axis of a tifffile series that contains the bands.

The band axis comes from the file's own layout (the series axes that tifffile
derives from the planar configuration, samples per pixel and page count), never
from the size of an axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from core.raster.errors import TileReadError
from core.raster.georef import GEO_TAG_CODES

GDAL_NODATA = 42113

# Series axes (tifffile notation) that can hold bands: S samples per pixel,
# C channel, I/Q pages of a multi-page stack, Z/T depth or time planes.
_BAND_AXES = "SCIQZT"


@dataclass(frozen=True)
class TiffLayout:
    """Shape of a TIFF series reduced to (bands, height, width).

    Attributes:
        axes: series axes as tifffile reports them, e.g. "SYX", "YXS", "YX".
        bands: number of bands.
        height: rows.
        width: columns.
        band_axis: index of the band axis in the series array, None for one band.
    """

    axes: str
    bands: int
    height: int
    width: int
    band_axis: int | None


def layout_from_series(path: Path, shape: tuple[int, ...], axes: str) -> TiffLayout:
    """Reduce a series shape to one band axis plus Y and X.

    Raises:
        TileReadError: if the series lacks Y/X axes or has more than one
            non-spatial axis longer than 1.
    """
    if "Y" not in axes or "X" not in axes:
        raise TileReadError(
            f"{path}: the TIFF series has axes {axes!r} without rows and columns (Y, X); "
            "export the image as a plain band-stacked GeoTIFF."
        )
    extra = [(i, a) for i, a in enumerate(axes) if a not in "YX" and shape[i] > 1]
    if len(extra) > 1:
        found = ", ".join(f"{a}={shape[i]}" for i, a in extra)
        raise TileReadError(
            f"{path}: the TIFF contains more than one stack axis ({found}); MultiSSL reads "
            "one tile of shape (bands, height, width) per file. Split the file per tile."
        )
    if extra and extra[0][1] not in _BAND_AXES:
        index, axis = extra[0]
        raise TileReadError(
            f"{path}: axis {axis!r} of length {shape[index]} is not a band axis; "
            "store the bands as samples per pixel or as pages."
        )
    band_axis = extra[0][0] if extra else None
    bands = shape[band_axis] if band_axis is not None else 1
    return TiffLayout(
        axes=axes,
        bands=bands,
        height=shape[axes.index("Y")],
        width=shape[axes.index("X")],
        band_axis=band_axis,
    )


def to_band_first(array: np.ndarray, layout: TiffLayout) -> np.ndarray:
    """Reorder a series array to (bands, height, width), keeping its dtype."""
    y_axis = layout.axes.index("Y")
    x_axis = layout.axes.index("X")
    order = [layout.band_axis] if layout.band_axis is not None else []
    order += [y_axis, x_axis]
    rest = [i for i in range(array.ndim) if i not in order]
    moved = np.transpose(array, rest + order)
    return moved.reshape(layout.bands, layout.height, layout.width)


def parse_nodata(path: Path, tags: dict[int, Any]) -> tuple[float | None, list[str]]:
    """Parse the GDAL_NODATA tag (ASCII number) into a float.

    Returns:
        The value (None if absent or unreadable) and a list of problem messages.
    """
    raw = tags.get(GDAL_NODATA)
    if raw is None:
        return None, []
    text = str(raw).strip().strip("\x00")
    try:
        return float(text), []
    except ValueError:
        return None, [f"{path.name}: GDAL_NODATA tag {text!r} is not a number and was ignored"]


def check_series_complete(path: Path, series: tifffile.TiffPageSeries, file_size: int) -> None:
    """Raise TileReadError if pages of the series are missing or end past the file end."""
    pages = [page for page in series.pages if page is not None]
    stored = sum(math.prod(page.shape) for page in pages)
    if stored != math.prod(series.shape):
        raise TileReadError(
            f"{path}: the file is truncated or damaged ({len(pages)} image pages found, "
            f"fewer than the {series.shape} series needs); copy it again from the source."
        )
    for page in pages:
        ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False) if c > 0]
        if not ends or max(ends) > file_size:
            raise TileReadError(
                f"{path}: the file is truncated (image data should end at byte "
                f"{max(ends, default=0)} but the file has {file_size} bytes); copy it again "
                "from the source."
            )


def first_page_tags(page: tifffile.TiffPage) -> dict[int, Any]:
    """Return the GeoTIFF and nodata tag values of a page keyed by tag code."""
    codes = (*GEO_TAG_CODES, GDAL_NODATA)
    return {code: page.tags[code].value for code in codes if code in page.tags}
