"""Mask operations of the fast labeling tools: superpixel fill and flood fill on the composite.

Both tools take the canvas output of `core.display.canvas.canvas_to_mask`
(class indices, 255 for the eraser, NOT_PAINTED elsewhere) and grow it: a
superpixel stroke fills every segment it touches, a flood-fill point fills
the connected region of similar colour around it. The grown array has the
same coding, so the canvas applies it like ordinary strokes.
"""

from __future__ import annotations

import numpy as np
from skimage.measure import label as connected_components
from skimage.segmentation import slic

from core.display.canvas import NOT_PAINTED


def superpixel_segments(rgba: np.ndarray, segment_size: int, compactness: float = 10.0) -> np.ndarray:
    """Split a composite into SLIC superpixels of about ``segment_size`` x ``segment_size`` pixels.

    Args:
        rgba: (H, W, 4) uint8 composite; pixels with alpha 0 (invalid) belong to no segment.
        segment_size: Approximate segment side in tile pixels, at least 2.
        compactness: SLIC compactness; higher values give squarer segments.

    Returns:
        (H, W) int32 segment ids from 0, -1 on invalid pixels.

    Raises:
        ValueError: for a segment size below 2 or a wrong image shape.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"Expected an (H, W, 4) RGBA composite, got shape {rgba.shape}.")
    if segment_size < 2:
        raise ValueError(f"Invalid segment size {segment_size}; use at least 2 pixels.")
    height, width = rgba.shape[:2]
    valid = rgba[..., 3] > 0
    if not valid.any():
        return np.full((height, width), -1, dtype=np.int32)
    count = max(1, round(height * width / segment_size**2))
    segments = slic(
        rgba[..., :3].astype(np.float64) / 255.0,
        n_segments=count,
        compactness=compactness,
        start_label=1,
        mask=valid,
        channel_axis=-1,
    )
    # With a mask, slic returns 0 outside it, so shifting by one gives -1 there.
    return segments.astype(np.int32) - 1


def fill_touched_segments(painted: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Grow painted pixels to whole superpixels.

    Every segment that a stroke touches takes the value painted most often in
    it (ties go to the lower value). Pixels in untouched segments and invalid
    pixels (segment -1) stay as they were.

    Args:
        painted: (H, W) uint8 canvas output, NOT_PAINTED where nothing was painted.
        segments: (H, W) int segment ids from `superpixel_segments`.

    Returns:
        (H, W) uint8 in the same coding as ``painted``.
    """
    if painted.shape != segments.shape:
        raise ValueError(f"Painted shape {painted.shape} differs from segments shape {segments.shape}.")
    touched = (painted != NOT_PAINTED) & (segments >= 0)
    result = painted.copy()
    if not touched.any():
        return result
    segment_count = int(segments.max()) + 1
    pairs = segments[touched].astype(np.int64) * 256 + painted[touched].astype(np.int64)
    votes = np.bincount(pairs, minlength=segment_count * 256).reshape(segment_count, 256)
    hit = votes.sum(axis=1) > 0
    winner = votes.argmax(axis=1).astype(np.uint8)
    inside = segments >= 0
    fill = np.zeros_like(touched)
    fill[inside] = hit[segments[inside]]
    result[fill] = winner[segments[fill]]
    return result


def flood_region(rgba: np.ndarray, seed: tuple[int, int], tolerance: int) -> np.ndarray:
    """Return the (H, W) bool region connected to ``seed`` whose colour is within ``tolerance``.

    A pixel belongs to the region when each of its RGB values differs from the
    seed pixel's by at most ``tolerance`` (0-255) and it is valid (alpha > 0);
    the region is the 4-connected component of such pixels that contains the seed.

    Raises:
        ValueError: for a seed outside the image or a tolerance outside 0-255.
    """
    height, width = rgba.shape[:2]
    row, col = seed
    if not (0 <= row < height and 0 <= col < width):
        raise ValueError(f"Seed {seed} lies outside the {height} x {width} composite.")
    if not 0 <= tolerance <= 255:
        raise ValueError(f"Invalid tolerance {tolerance}; expected 0-255.")
    valid = rgba[..., 3] > 0
    if not valid[row, col]:
        return np.zeros((height, width), dtype=bool)
    colours = rgba[..., :3].astype(np.int16)
    similar = valid & (np.abs(colours - colours[row, col]).max(axis=-1) <= tolerance)
    components = connected_components(similar, connectivity=1)
    return components == components[row, col]


def point_seeds(painted: np.ndarray) -> list[tuple[tuple[int, int], int]]:
    """Return ((row, col), value) of each painted blob, at the blob pixel nearest its centroid.

    A flood-fill click draws a small dot on the canvas, so each 8-connected
    blob of painted pixels is one click.
    """
    blobs = connected_components(painted != NOT_PAINTED, connectivity=2)
    seeds = []
    for blob in range(1, int(blobs.max()) + 1):
        rows, cols = np.nonzero(blobs == blob)
        nearest = int(np.argmin((rows - rows.mean()) ** 2 + (cols - cols.mean()) ** 2))
        row, col = int(rows[nearest]), int(cols[nearest])
        seeds.append(((row, col), int(painted[row, col])))
    return seeds


def flood_fill_points(painted: np.ndarray, rgba: np.ndarray, tolerance: int) -> np.ndarray:
    """Grow every clicked point to its flood-fill region, in click-blob order (later blobs win).

    Args:
        painted: (H, W) uint8 canvas output with a small dot per click.
        rgba: (H, W, 4) uint8 composite the regions are measured on.
        tolerance: Maximum RGB difference to the seed pixel, 0-255.

    Returns:
        (H, W) uint8 in the coding of ``painted``: each region has its dot's
        value, everything else is NOT_PAINTED.
    """
    if painted.shape != rgba.shape[:2]:
        raise ValueError(f"Painted shape {painted.shape} differs from composite shape {rgba.shape[:2]}.")
    result = np.full(painted.shape, NOT_PAINTED, dtype=np.uint8)
    for seed, value in point_seeds(painted):
        region = flood_region(rgba, seed, tolerance)
        result[region] = value
        result[seed] = value
    return result
