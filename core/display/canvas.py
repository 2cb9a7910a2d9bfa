"""Converting a drawing canvas image into class indices at the tile's native resolution."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

NOT_PAINTED = 254
"""Value of `canvas_to_mask` output pixels that no stroke touched.

It is distinct from every class index (0-253) and from 255 (unlabeled, which
an eraser colour maps to), so `apply_strokes` can tell "erase" from "keep".
"""


def canvas_to_mask(
    rgba: np.ndarray,
    colour_table: Mapping[tuple[int, int, int], int],
    tile_shape: tuple[int, int],
    alpha_threshold: int = 128,
    tolerance: int = 40,
) -> np.ndarray:
    """Turn canvas pixels into class indices with an explicit colour table.

    The canvas may have any size (e.g. displayed size times device pixel
    ratio). Tile pixel (r, c) takes the canvas pixel at
    (floor((r + 0.5) * h / H), floor((c + 0.5) * w / W)), nearest neighbour
    with exact pixel centres, so no class is invented by interpolation.

    Args:
        rgba: (h, w, 4) uint8 canvas image, not premultiplied.
        colour_table: stroke colour (r, g, b) -> class index (0-253, or 255
            for the eraser colour).
        tile_shape: (H, W) of the tile.
        alpha_threshold: pixels with alpha below it are untouched.
        tolerance: maximum per-channel difference to a table colour; the
            nearest table colour (Euclidean) within it wins.

    Returns:
        (H, W) uint8 class indices, NOT_PAINTED (254) where nothing was painted.

    Raises:
        ValueError: for a wrong canvas shape or a table value of 254 or above 255.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"Expected an (h, w, 4) RGBA canvas image, got shape {rgba.shape}.")
    for colour, index in colour_table.items():
        if index == NOT_PAINTED or not 0 <= index <= 255:
            raise ValueError(
                f"Colour {colour} maps to {index}; class indices must be 0-253 or 255 (eraser)."
            )

    sampled = _sample_nearest(rgba, tile_shape)
    colours = sampled[..., :3].astype(np.int32)
    painted = sampled[..., 3] >= alpha_threshold

    result = np.full(tile_shape, NOT_PAINTED, dtype=np.uint8)
    best_distance = np.full(tile_shape, np.inf)
    for colour, index in colour_table.items():
        difference = colours - np.asarray(colour, dtype=np.int32)
        within = painted & (np.abs(difference).max(axis=-1) <= tolerance)
        distance = (difference.astype(np.float64) ** 2).sum(axis=-1)
        better = within & (distance < best_distance)
        result[better] = index
        best_distance[better] = distance[better]
    return result


def apply_strokes(mask: np.ndarray, painted: np.ndarray) -> np.ndarray:
    """Return a copy of `mask` with every painted pixel (not NOT_PAINTED) replaced.

    Args:
        mask: (H, W) uint8 mask, 255 = unlabeled.
        painted: (H, W) uint8 output of `canvas_to_mask`.
    """
    if mask.shape != painted.shape:
        raise ValueError(f"Mask shape {mask.shape} differs from painted shape {painted.shape}.")
    return np.where(painted != NOT_PAINTED, painted, mask).astype(np.uint8)


def _sample_nearest(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    rows = np.minimum(
        ((np.arange(height) + 0.5) * image.shape[0] / height).astype(np.intp), image.shape[0] - 1
    )
    cols = np.minimum(
        ((np.arange(width) + 0.5) * image.shape[1] / width).astype(np.intp), image.shape[1] - 1
    )
    return image[rows[:, None], cols[None, :]]
