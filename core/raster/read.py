"""Reading tiles into (bands, H, W) arrays with a validity mask."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile

from core.raster.errors import TileReadError
from core.raster.header import TileHeader, read_header
from core.raster.tiff_layout import layout_from_series, to_band_first
from core.raster.validity import valid_mask

logger = logging.getLogger(__name__)


@dataclass
class Raster:
    """Pixels of one tile.

    Attributes:
        data: (bands, H, W) array in the file's original dtype, never rescaled.
        valid: (H, W) bool, False where any band is NaN or inf, equals the
            declared nodata, or (8-bit PNG only) where every band is exactly 0.
        header: the tile's header.
    """

    data: np.ndarray
    valid: np.ndarray
    header: TileHeader

    @property
    def nodata_share(self) -> float:
        """Fraction of pixels in [0, 1] that are not valid."""
        if self.valid.size == 0:
            return 0.0
        return 1.0 - float(np.count_nonzero(self.valid)) / self.valid.size


def read_tile(path: Path) -> Raster:
    """Read a tile's pixels as (bands, H, W) in the file's own band layout.

    TIFF files are read with tifffile following the series axes (planar
    configuration, samples per pixel, pages); alpha extra samples stay data
    bands. PNG and JPEG files are read with OpenCV and converted from BGR(A)
    to RGB(A) order; greyscale files give 1 band.

    Raises:
        FileNotFoundError: if `path` does not exist.
        TileReadError: if the file cannot be decoded.
    """
    path = Path(path)
    header = read_header(path)
    if _is_tiff(path):
        data = _read_tiff_pixels(path)
    else:
        data = _read_image_pixels(path)

    if data.shape != header.shape:
        raise TileReadError(
            f"{path}: decoded pixels have shape {data.shape} but the header declares "
            f"{header.shape}; export the file again."
        )
    if not data.dtype.isnative:
        data = data.astype(data.dtype.newbyteorder("="))
    zero_is_nodata = path.suffix.lower() == ".png" and data.dtype == np.uint8
    valid = valid_mask(data, header.nodata, zero_is_nodata=zero_is_nodata)
    return Raster(data=data, valid=valid, header=header)


def _is_tiff(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) in (b"II", b"MM")


def _read_tiff_pixels(path: Path) -> np.ndarray:
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            layout = layout_from_series(path, tuple(series.shape), series.axes)
            array = series.asarray()
    except TileReadError:
        raise
    except (tifffile.TiffFileError, ValueError, OSError, zlib.error, RuntimeError) as error:
        raise TileReadError(
            f"{path}: the TIFF pixel data cannot be decoded ({error}); copy the file again or "
            "re-export it without an exotic compression."
        ) from error
    return np.ascontiguousarray(to_band_first(array, layout))


def _read_image_pixels(path: Path) -> np.ndarray:
    buffer = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise TileReadError(
            f"{path}: OpenCV cannot decode the image; export it again as PNG or GeoTIFF."
        )
    if image.ndim == 2:
        return image[np.newaxis]
    if image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return np.ascontiguousarray(np.moveaxis(image, -1, 0))
