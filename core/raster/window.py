"""Windows over large rasters: memory estimates and overlapping window grids."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from core.raster.header import TileHeader


@dataclass(frozen=True)
class Window:
    """A rectangle of a raster to read, and the part of it that is written back.

    Neighbouring windows overlap by `overlap` pixels. Each overlap is split at
    its middle, so the cores of all windows cover every raster pixel exactly
    once while each core pixel keeps context from the rest of its window.

    Attributes:
        row: first row of the window in the raster.
        col: first column of the window in the raster.
        height: rows of the window (smaller than the window size at the
            bottom edge of a raster).
        width: columns of the window.
        core_row: first row of the core in the raster.
        core_col: first column of the core in the raster.
        core_height: rows of the core.
        core_width: columns of the core.
    """

    row: int
    col: int
    height: int
    width: int
    core_row: int
    core_col: int
    core_height: int
    core_width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """Row and column slices of the window in raster coordinates."""
        return slice(self.row, self.row + self.height), slice(self.col, self.col + self.width)

    @property
    def core_slices(self) -> tuple[slice, slice]:
        """Row and column slices of the core in raster coordinates."""
        return (
            slice(self.core_row, self.core_row + self.core_height),
            slice(self.core_col, self.core_col + self.core_width),
        )

    @property
    def core_in_window(self) -> tuple[slice, slice]:
        """Row and column slices of the core relative to the window's first pixel."""
        top = self.core_row - self.row
        left = self.core_col - self.col
        return slice(top, top + self.core_height), slice(left, left + self.core_width)


@dataclass(frozen=True)
class _Span:
    start: int
    length: int
    core_start: int
    core_length: int


def _spans(extent: int, size: int, overlap: int) -> list[_Span]:
    """Split one axis into windows of `size` starting every `size - overlap` pixels."""
    step = size - overlap
    starts = [0]
    while starts[-1] + size < extent:
        starts.append(starts[-1] + step)

    spans = []
    for index, start in enumerate(starts):
        end = min(start + size, extent)
        core_start = start + overlap // 2 if index > 0 else start
        core_end = starts[index + 1] + overlap // 2 if index + 1 < len(starts) else end
        spans.append(_Span(start, end - start, core_start, core_end - core_start))
    return spans


def iter_windows(height: int, width: int, size: int, overlap: int) -> Iterator[Window]:
    """Yield overlapping windows over a raster in row-major order.

    Window origins lie on multiples of `size - overlap`, so a caller that
    needs aligned windows (for example to a backbone's stride of 32) only has
    to choose `size` and `overlap` as multiples of that stride. The windows of
    the last row and column end at the raster edge and may be smaller than
    `size`, but they are always longer than `overlap`.

    Args:
        height: raster rows, at least 1.
        width: raster columns, at least 1.
        size: window side in pixels.
        overlap: pixels shared by neighbouring windows, 0 <= overlap < size.

    Raises:
        ValueError: if a size is not positive or `overlap` is not in [0, size).
    """
    if height < 1 or width < 1:
        raise ValueError(f"Raster size must be positive, got {height} x {width} pixels.")
    if size < 1:
        raise ValueError(f"Window size must be positive, got {size}.")
    if not 0 <= overlap < size:
        raise ValueError(
            f"Window overlap must be at least 0 and smaller than the window size {size}, "
            f"got {overlap}."
        )
    for rows in _spans(height, size, overlap):
        for cols in _spans(width, size, overlap):
            yield Window(
                row=rows.start,
                col=cols.start,
                height=rows.length,
                width=cols.length,
                core_row=rows.core_start,
                core_col=cols.core_start,
                core_height=rows.core_length,
                core_width=cols.core_length,
            )


def count_windows(height: int, width: int, size: int, overlap: int) -> int:
    """Return how many windows `iter_windows` yields for these arguments."""
    return len(_spans(height, size, overlap)) * len(_spans(width, size, overlap))


def estimate_bytes(header: TileHeader) -> int:
    """Estimate the memory that reading a whole tile with `read_tile` takes.

    Counts the (bands, H, W) pixel array in the stored dtype plus the (H, W)
    bool validity mask. Temporary copies made while decoding (for example
    when a TIFF stores bands pixel-interleaved) can double the peak, and a
    standardised float32 copy for prediction adds `bands * H * W * 4` bytes.

    Args:
        header: the tile's header from `read_header`; no pixels are read.

    Returns:
        Bytes as an integer.
    """
    pixels = header.height * header.width
    return header.bands * pixels * np.dtype(header.dtype).itemsize + pixels
