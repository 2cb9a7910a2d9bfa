"""Reading externally made mask files into the project's encoding (uint8, 255 = unlabeled)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.raster.errors import TileReadError
from core.raster.read import read_tile

UNLABELED = 255


def read_mask_file(
    path: Path,
    ignore_values: Sequence[int] = (),
    class_count: int | None = None,
) -> np.ndarray:
    """Read a single-band mask and map it to class indices with 255 = unlabeled.

    Values listed in `ignore_values`, negative values (e.g. -1 in int8 masks)
    and 255 become 255. The result is never resampled.

    Args:
        path: PNG or TIFF of any integer dtype (or float with whole values).
        ignore_values: file values that mean "unlabeled".
        class_count: number of project classes; other values must be below it.

    Returns:
        (H, W) uint8 mask.

    Raises:
        TileReadError: if the file cannot be read.
        ValueError: naming the file if it has several bands, non-integer values,
            or class values outside [0, class_count) after mapping.
    """
    path = Path(path)
    data = read_tile(path).data
    if data.shape[0] != 1:
        raise ValueError(
            f"{path}: a mask must have 1 band but the file has {data.shape[0]}; "
            "save the mask as a single-band index image (one class index per pixel)."
        )
    values = data[0]
    if values.dtype.kind == "f":
        if not (np.isfinite(values).all() and np.equal(np.mod(values, 1), 0).all()):
            raise ValueError(
                f"{path}: the mask contains non-integer values; save class indices as integers."
            )
    elif values.dtype.kind not in "iub":
        raise TileReadError(
            f"{path}: mask dtype {values.dtype} is not supported; save it as uint8."
        )

    wide = values.astype(np.int64)
    ignored = wide < 0
    for value in ignore_values:
        ignored |= wide == int(value)
    ignored |= wide == UNLABELED
    labeled = wide[~ignored]

    limit = class_count if class_count is not None else UNLABELED
    if labeled.size and (labeled.max() >= limit):
        bad = np.unique(labeled[labeled >= limit])[:10].tolist()
        raise ValueError(
            f"{path}: mask values {bad} exceed the {limit} project classes (indices 0-{limit - 1}); "
            "add the classes to the project or list these values as ignore values."
        )
    mask = np.where(ignored, UNLABELED, wide).astype(np.uint8)
    return mask
