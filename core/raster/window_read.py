"""Reading windows of a TIFF without loading the whole file.

Uncompressed striped data are read row by row at computed file offsets.
Compressed or tiled data are read by decoding only the strips or tiles
that intersect the window. Memory use therefore depends on the window and
the file's strip or tile size, not on the raster size. PNG and JPEG files
cannot be read in parts, so they are read whole (they are small in practice).
"""

from __future__ import annotations

import logging
import math
import zlib
from pathlib import Path
from types import TracebackType

import numpy as np
import tifffile

from core.raster.errors import TileReadError
from core.raster.header import TileHeader, read_header
from core.raster.read import read_tile
from core.raster.window import Window

logger = logging.getLogger(__name__)

_UNCOMPRESSED = 1
_PLANAR_SEPARATE = 2


class WindowReader:
    """An open raster from which windows are read as (bands, h, w) arrays.

    Use it as a context manager so the file handle is closed:

        with WindowReader(path) as reader:
            data = reader.read(window)

    Attributes:
        path: the raster file.
        header: its header (bands, size, dtype, nodata, georeference).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.header: TileHeader = read_header(self.path)
        self._tif: tifffile.TiffFile | None = None
        self._pages: list[tifffile.TiffPage] = []
        self._whole: np.ndarray | None = None
        if self.header.band_files or not _is_tiff(self.path):
            self._whole = read_tile(self.path).data
            return
        self._open_tiff()

    def _open_tiff(self) -> None:
        try:
            self._tif = tifffile.TiffFile(self.path)
            pages = [page for page in self._tif.series[0].pages if page is not None]
        except (tifffile.TiffFileError, ValueError, OSError, IndexError) as error:
            self.close()
            raise TileReadError(
                f"{self.path}: the TIFF cannot be opened for windowed reading ({error}); "
                "copy the file again."
            ) from error
        self._pages = [page for page in pages if isinstance(page, tifffile.TiffPage)]
        bands = sum(page.samplesperpixel for page in self._pages)
        first = self._pages[0] if self._pages else None
        if (
            first is None
            or bands != self.header.bands
            or (first.imagelength, first.imagewidth) != (self.header.height, self.header.width)
        ):
            self.close()
            raise TileReadError(
                f"{self.path}: the TIFF pages do not form one (bands, height, width) image of "
                f"shape {self.header.shape}; convert it to a plain band-stacked GeoTIFF."
            )

    def __enter__(self) -> WindowReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file handle; further reads raise ValueError."""
        if self._tif is not None:
            self._tif.close()
            self._tif = None

    def read(self, window: Window) -> np.ndarray:
        """Read one window.

        Returns:
            (bands, window.height, window.width) array in the file's dtype,
            native byte order. Missing (sparse) strips or tiles read as 0.

        Raises:
            ValueError: if the window lies outside the raster or the reader is closed.
            TileReadError: if the pixel data cannot be decoded.
        """
        if (
            window.row < 0
            or window.col < 0
            or window.row + window.height > self.header.height
            or window.col + window.width > self.header.width
        ):
            raise ValueError(
                f"Window {window} lies outside the {self.header.height} x {self.header.width} "
                f"raster {self.path}."
            )
        if self._whole is not None:
            rows, cols = window.slices
            return np.ascontiguousarray(self._whole[:, rows, cols])
        if self._tif is None:
            raise ValueError(f"{self.path}: the window reader is closed.")

        parts = []
        try:
            for page in self._pages:
                parts.append(self._read_page(page, window))
        except (ValueError, OSError, zlib.error, RuntimeError) as error:
            raise TileReadError(
                f"{self.path}: decoding window at row {window.row}, column {window.col} failed "
                f"({error}); copy the file again or re-export it without an exotic compression."
            ) from error
        data = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        if not data.dtype.isnative:
            data = data.astype(data.dtype.newbyteorder("="))
        return data

    def _read_page(self, page: tifffile.TiffPage, window: Window) -> np.ndarray:
        """Read the window from one page as (samples, h, w)."""
        plain = (
            page.compression == _UNCOMPRESSED
            and not page.is_tiled
            and page.bitspersample == np.dtype(page.dtype).itemsize * 8
            and page.fillorder == 1
        )
        if plain:
            return self._read_plain_rows(page, window)
        return self._read_segments(page, window)

    def _read_plain_rows(self, page: tifffile.TiffPage, window: Window) -> np.ndarray:
        """Read uncompressed strips at computed offsets, one read per row (or strip run)."""
        assert self._tif is not None
        handle = self._tif.filehandle
        dtype = np.dtype(page.dtype).newbyteorder(self._tif.byteorder)
        samples = page.samplesperpixel
        separate = page.planarconfig == _PLANAR_SEPARATE and samples > 1
        planes = samples if separate else 1
        per_pixel = 1 if separate else samples
        rows_per_strip = min(page.rowsperstrip or page.imagelength, page.imagelength)
        strips_per_plane = math.ceil(page.imagelength / rows_per_strip)
        row_bytes = page.imagewidth * per_pixel * dtype.itemsize
        full_width = window.col == 0 and window.width == page.imagewidth

        out = np.zeros((planes, window.height, window.width, per_pixel), dtype=dtype)
        for plane in range(planes):
            row = window.row
            end = window.row + window.height
            while row < end:
                strip = row // rows_per_strip
                # Rows of one strip are contiguous, so a full-width window reads them at once.
                run = min(end, (strip + 1) * rows_per_strip) - row if full_width else 1
                offset = page.dataoffsets[plane * strips_per_plane + strip]
                offset += (row % rows_per_strip) * row_bytes
                offset += window.col * per_pixel * dtype.itemsize
                count = run * window.width * per_pixel
                handle.seek(offset)
                buffer = handle.read(count * dtype.itemsize)
                values = np.frombuffer(buffer, dtype=dtype, count=count)
                target = out[plane, row - window.row : row - window.row + run]
                target[...] = values.reshape(run, window.width, per_pixel)
                row += run
        return _to_samples_first(out, separate)

    def _read_segments(self, page: tifffile.TiffPage, window: Window) -> np.ndarray:
        """Decode the strips or tiles of a page that intersect the window."""
        assert self._tif is not None
        if page.is_tiled:
            segment_height, segment_width = page.tilelength, page.tilewidth
        else:
            segment_height = min(page.rowsperstrip or page.imagelength, page.imagelength)
            segment_width = page.imagewidth
        grid_rows = math.ceil(page.imagelength / segment_height)
        grid_cols = math.ceil(page.imagewidth / segment_width)
        samples = page.samplesperpixel
        separate = page.planarconfig == _PLANAR_SEPARATE and samples > 1
        planes = samples if separate else 1
        per_pixel = 1 if separate else samples

        first_row, last_row = window.row // segment_height, (window.row + window.height - 1) // segment_height
        first_col, last_col = window.col // segment_width, (window.col + window.width - 1) // segment_width
        indices = [
            plane * grid_rows * grid_cols + grid_row * grid_cols + grid_col
            for plane in range(planes)
            for grid_row in range(first_row, last_row + 1)
            for grid_col in range(first_col, last_col + 1)
        ]
        offsets = [page.dataoffsets[i] for i in indices]
        counts = [page.databytecounts[i] for i in indices]

        out = np.zeros((planes, window.height, window.width, per_pixel), dtype=page.dtype)
        decode = page.decode
        segments_per_plane = grid_rows * grid_cols
        segments = self._tif.filehandle.read_segments(offsets, counts, indices=indices, flat=True)
        for data, index in segments:  # type: ignore[misc]
            if data is None or len(data) == 0:
                continue  # a sparse segment: the file stores no data, which reads as 0
            segment, _, _ = decode(data, index)
            if segment is None:
                continue
            plane, position = divmod(int(index), segments_per_plane)  # type: ignore[arg-type]
            grid_row, grid_col = divmod(position, grid_cols)
            _paste(out[plane], segment[0], grid_row * segment_height, grid_col * segment_width, window)
        return _to_samples_first(out, separate)


def _paste(target: np.ndarray, segment: np.ndarray, top: int, left: int, window: Window) -> None:
    """Copy the part of a decoded (rows, cols, samples) segment inside the window."""
    row_start = max(top, window.row)
    row_end = min(top + segment.shape[0], window.row + window.height)
    col_start = max(left, window.col)
    col_end = min(left + segment.shape[1], window.col + window.width)
    if row_start >= row_end or col_start >= col_end:
        return
    target[row_start - window.row : row_end - window.row, col_start - window.col : col_end - window.col] = (
        segment[row_start - top : row_end - top, col_start - left : col_end - left]
    )


def _to_samples_first(array: np.ndarray, separate: bool) -> np.ndarray:
    """Turn a (planes, h, w, samples) buffer into (bands, h, w)."""
    if separate:
        return array[..., 0]
    return np.ascontiguousarray(np.moveaxis(array[0], -1, 0))


def _is_tiff(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) in (b"II", b"MM")


def read_window(path: Path, window: Window) -> np.ndarray:
    """Read one window of a raster file as (bands, h, w) in the file's dtype."""
    with WindowReader(path) as reader:
        return reader.read(window)
