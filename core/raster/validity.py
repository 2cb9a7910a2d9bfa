"""The validity mask shared by statistics, display, indices and training."""

from __future__ import annotations

import numpy as np


def valid_mask(data: np.ndarray, nodata: float | None, zero_is_nodata: bool = False) -> np.ndarray:
    """Compute which pixels hold data in every band.

    Args:
        data: (bands, H, W) array of any numeric dtype.
        nodata: declared nodata value; a pixel is invalid if any band equals it.
            NaN works too (it is caught by the finiteness test).
        zero_is_nodata: also mark pixels that are exactly 0 in every band as
            invalid, as orthomosaic tiles exported to 8-bit PNG store the area
            outside the mosaic.

    Returns:
        (H, W) bool array, True for valid pixels.
    """
    valid = np.ones(data.shape[1:], dtype=bool)
    if np.issubdtype(data.dtype, np.floating) or np.issubdtype(data.dtype, np.complexfloating):
        valid &= np.isfinite(data).all(axis=0)
    if nodata is not None and not np.isnan(nodata):
        valid &= ~(data == _cast_nodata(nodata, data.dtype)).any(axis=0)
    if zero_is_nodata:
        valid &= (data != 0).any(axis=0)
    return valid


def _cast_nodata(nodata: float, dtype: np.dtype) -> float | int:
    """Return the nodata value in the array's type, so integer comparisons are exact."""
    if np.issubdtype(dtype, np.integer) and float(nodata).is_integer():
        return int(nodata)
    return nodata
