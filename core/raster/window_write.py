"""Writing a large single-band GeoTIFF window by window, without holding it in memory.

The file is created uncompressed with its full size declared, so every pixel
has a fixed file offset and each window is written with positioned writes.
The pixels live in a temporary file next to the target until `commit` moves
it into place, so readers never see a partly written raster.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from types import TracebackType

import numpy as np
import tifffile
from numpy.typing import DTypeLike

from core.raster.georef import GeoReference
from core.raster.tiff_layout import GDAL_NODATA

logger = logging.getLogger(__name__)

# Classic TIFF offsets are 32-bit; tifffile leaves room for tags below 4 GiB.
_CLASSIC_TIFF_LIMIT = 2**32 - 2**25


class WindowedGeoTiffWriter:
    """An (H, W) GeoTIFF written in rectangles, then committed atomically.

    Pixels never written read as 0, because the file is created sparse.

    Args:
        path: target file; its folder must exist.
        height: rows of the raster.
        width: columns of the raster.
        dtype: pixel dtype, e.g. uint8 for class maps.
        georef: georeference copied unchanged from the source raster, or None.
        nodata: value stored in the GDAL_NODATA tag, None for no tag.
    """

    def __init__(
        self,
        path: Path,
        height: int,
        width: int,
        dtype: DTypeLike,
        georef: GeoReference | None,
        nodata: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.height = height
        self.width = width
        self.dtype = np.dtype(dtype).newbyteorder("<")
        descriptor, name = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        os.close(descriptor)
        self._temporary = Path(name)

        extratags = list(georef.extratags()) if georef is not None else []
        if nodata is not None:
            extratags.append((GDAL_NODATA, "s", 0, _format_nodata(nodata), True))

        nbytes = height * width * self.dtype.itemsize
        try:
            offset, _ = tifffile.imwrite(  # type: ignore[misc]
                self._temporary,
                shape=(height, width),
                dtype=self.dtype,
                byteorder="<",
                bigtiff=nbytes > _CLASSIC_TIFF_LIMIT,
                photometric="minisblack",
                extratags=extratags,
                metadata=None,
                returnoffset=True,
            )
        except BaseException:
            self._temporary.unlink(missing_ok=True)
            raise
        self._offset = int(offset)
        self._descriptor: int | None = os.open(self._temporary, os.O_RDWR)

    def __enter__(self) -> WindowedGeoTiffWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def write(self, row: int, col: int, array: np.ndarray) -> None:
        """Write an (h, w) array with its first pixel at (row, col).

        Raises:
            ValueError: if the array is not 2-D or reaches outside the raster.
        """
        if self._descriptor is None:
            raise ValueError(f"{self.path}: the writer is already committed or discarded.")
        if array.ndim != 2:
            raise ValueError(f"Expected an (h, w) array, got shape {array.shape}.")
        rows, cols = array.shape
        if row < 0 or col < 0 or row + rows > self.height or col + cols > self.width:
            raise ValueError(
                f"A {rows} x {cols} array at row {row}, column {col} reaches outside the "
                f"{self.height} x {self.width} raster {self.path}."
            )
        values = np.ascontiguousarray(array, dtype=self.dtype)
        row_bytes = self.width * self.dtype.itemsize
        for index in range(rows):
            position = self._offset + (row + index) * row_bytes + col * self.dtype.itemsize
            os.pwrite(self._descriptor, values[index].tobytes(), position)

    def commit(self) -> Path:
        """Flush the file to disk and move it onto the target path."""
        if self._descriptor is None:
            raise ValueError(f"{self.path}: the writer is already committed or discarded.")
        os.fsync(self._descriptor)
        os.close(self._descriptor)
        self._descriptor = None
        os.replace(self._temporary, self.path)
        logger.debug("Wrote %s (%d x %d %s)", self.path, self.height, self.width, self.dtype)
        return self.path

    def discard(self) -> None:
        """Remove the temporary file, leaving any existing target unchanged."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
        self._temporary.unlink(missing_ok=True)


def _format_nodata(nodata: float) -> str:
    if float(nodata).is_integer():
        return str(int(nodata))
    return repr(float(nodata))
