"""Writing masks, predictions and probability maps as GeoTIFF or PNG, atomically."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import cv2
import numpy as np
import tifffile

from core.raster.atomic import atomic_writer, write_bytes_atomic
from core.raster.georef import GeoReference
from core.raster.mask_file import read_mask_file
from core.raster.tiff_layout import GDAL_NODATA

__all__ = ["read_mask_file", "write_geotiff", "write_png"]

logger = logging.getLogger(__name__)


def write_geotiff(
    path: Path,
    array: np.ndarray,
    georef: GeoReference | None,
    nodata: float | None = None,
) -> None:
    """Write an array as a deflate-compressed (Geo)TIFF, atomically.

    Args:
        path: target file; its folder must exist.
        array: (H, W) or (bands, H, W) array; bool is stored as uint8.
            Bands are stored band-separate (planar configuration 2).
        georef: georeference copied unchanged from the source tile, or None
            to write a plain TIFF.
        nodata: value stored in the GDAL_NODATA tag, None for no tag.

    Raises:
        ValueError: if the array is not 2-D or 3-D.
    """
    array = np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if array.ndim not in (2, 3):
        raise ValueError(f"Expected an (H, W) or (bands, H, W) array, got shape {array.shape}.")

    extratags = list(georef.extratags()) if georef is not None else []
    if nodata is not None:
        extratags.append((GDAL_NODATA, "s", 0, _format_nodata(nodata), True))
    planar = "separate" if array.ndim == 3 else None
    with atomic_writer(Path(path)) as handle:
        tifffile.imwrite(
            handle,
            array,
            photometric="minisblack",
            planarconfig=planar,
            compression="zlib",
            extratags=extratags,
            metadata=None,
        )
    logger.debug(
        "Wrote %s %s %s (georeferenced: %s)", path, array.shape, array.dtype, georef is not None
    )


def write_png(path: Path, array: np.ndarray) -> None:
    """Write a PNG atomically.

    Args:
        path: target file; its folder must exist.
        array: (H, W) uint8 or uint16, or (H, W, 3) / (H, W, 4) RGB(A) uint8.

    Raises:
        ValueError: for other shapes or dtypes, or if encoding fails.
    """
    array = np.asarray(array)
    if array.ndim == 2 and array.dtype in (np.uint8, np.uint16):
        image = array
    elif array.ndim == 3 and array.shape[2] in (3, 4) and array.dtype == np.uint8:
        code = cv2.COLOR_RGB2BGR if array.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
        image = cv2.cvtColor(np.ascontiguousarray(array), code)
    else:
        raise ValueError(
            f"Cannot write {path} as PNG: expected (H, W) uint8/uint16 or (H, W, 3|4) uint8, "
            f"got shape {array.shape} and dtype {array.dtype}."
        )
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image))
    if not ok:
        raise ValueError(f"OpenCV failed to encode {path} as PNG.")
    write_bytes_atomic(Path(path), encoded.tobytes())


def _format_nodata(nodata: float) -> str:
    if math.isnan(nodata):
        return "nan"
    if float(nodata).is_integer():
        return str(int(nodata))
    return repr(float(nodata))
