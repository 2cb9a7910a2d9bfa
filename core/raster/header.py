"""Tile headers: shape, dtype, nodata and georeference, read without pixel data."""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import tifffile

from core.raster.errors import TileReadError
from core.raster.georef import GeoReference
from core.raster.image_header import (
    JPEG_SIGNATURE,
    PNG_SIGNATURE,
    read_jpeg_header,
    read_png_header,
)
from core.raster.tiff_layout import (
    check_series_complete,
    first_page_tags,
    layout_from_series,
    parse_nodata,
)

__all__ = ["GeoReference", "TileHeader", "TileReadError", "read_header"]

logger = logging.getLogger(__name__)

TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
_PNG_HEAD_BYTES = 65536


@dataclass(frozen=True)
class TileHeader:
    """Header fields of a tile file: shape, dtype, nodata and georeference.

    Attributes:
        path: the file (for a per-band file group, the first file).
        bands: number of bands.
        height: rows in pixels.
        width: columns in pixels.
        dtype: numpy dtype name of the stored values, e.g. "uint16".
        nodata: value of the GDAL_NODATA tag (42113), None when not declared.
        georef: GeoTIFF georeference, None when the file has none.
        band_files: one file per band for per-band file groups, else empty.
        problems: non-fatal issues found while reading the header.
    """

    path: Path
    bands: int
    height: int
    width: int
    dtype: str
    nodata: float | None = None
    georef: GeoReference | None = None
    band_files: tuple[Path, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[int, int, int]:
        """(bands, height, width)."""
        return self.bands, self.height, self.width


def read_header(path: Path) -> TileHeader:
    """Read a tile's header and tags without decoding pixel data.

    Args:
        path: a TIFF/GeoTIFF, PNG or JPEG file.

    Raises:
        FileNotFoundError: if `path` does not exist.
        TileReadError: if the file is empty, truncated, not an image or in an
            unsupported layout.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Tile not found: {path}. Check the path and the folder.")
    size = path.stat().st_size
    if size == 0:
        raise TileReadError(f"{path}: the file is empty (0 bytes); copy it again from the source.")

    with path.open("rb") as handle:
        head = handle.read(_PNG_HEAD_BYTES)
        handle.seek(max(0, size - 12))
        tail = handle.read()

    if head.startswith(TIFF_SIGNATURES):
        return _read_tiff_header(path, size)
    if head.startswith(PNG_SIGNATURE):
        info = read_png_header(path, head, tail)
    elif head.startswith(JPEG_SIGNATURE):
        info = read_jpeg_header(path, head)
    else:
        raise TileReadError(
            f"{path}: not a TIFF, PNG or JPEG image (unknown file signature {head[:4]!r}); "
            "remove it from the folder or convert it to GeoTIFF."
        )
    return TileHeader(
        path=path, bands=info.bands, height=info.height, width=info.width, dtype=info.dtype
    )


def _read_tiff_header(path: Path, size: int) -> TileHeader:
    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.series:
                raise TileReadError(f"{path}: the TIFF contains no image; export it again.")
            series = tif.series[0]
            layout = layout_from_series(path, tuple(series.shape), series.axes)
            check_series_complete(path, series, size)
            tags = first_page_tags(tif.pages.first)
            dtype = series.dtype
    except TileReadError:
        raise
    # tifffile raises struct.error, TypeError or ZeroDivisionError on some malformed headers.
    except (tifffile.TiffFileError, ValueError, OSError, IndexError, KeyError, struct.error, TypeError, ArithmeticError) as error:
        raise TileReadError(
            f"{path}: the TIFF header is invalid ({error}); export or copy the file again."
        ) from error

    nodata, problems = parse_nodata(path, tags)
    return TileHeader(
        path=path,
        bands=layout.bands,
        height=layout.height,
        width=layout.width,
        dtype=dtype.name,
        nodata=nodata,
        georef=GeoReference.from_tags(tags),
        problems=tuple(problems),
    )
