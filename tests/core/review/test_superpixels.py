"""Superpixel and flood-fill mask operations on synthetic composites."""

from __future__ import annotations

import numpy as np
import pytest

from core.display.canvas import NOT_PAINTED
from core.review.superpixels import (
    fill_touched_segments,
    flood_fill_points,
    flood_region,
    point_seeds,
    superpixel_segments,
)


def two_halves(height: int = 40, width: int = 60) -> np.ndarray:
    """A composite with a bright left half and a dark right half, all valid."""
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[:, : width // 2, :3] = 200
    rgba[:, width // 2 :, :3] = 40
    return rgba


def test_segments_follow_edges():
    segments = superpixel_segments(two_halves(), segment_size=10)

    left = set(np.unique(segments[:, :30]).tolist())
    right = set(np.unique(segments[:, 30:]).tolist())
    assert left.isdisjoint(right)
    assert segments.min() == 0


def test_segments_skip_invalid_pixels():
    rgba = two_halves()
    rgba[:5, :, 3] = 0

    segments = superpixel_segments(rgba, segment_size=10)

    assert np.all(segments[:5] == -1)
    assert np.all(segments[5:] >= 0)


def test_segments_invalid_size():
    with pytest.raises(ValueError, match="segment size 1"):
        superpixel_segments(two_halves(), segment_size=1)


def test_fill_touched_segments_fills_whole_segment():
    segments = np.zeros((4, 6), dtype=np.int32)
    segments[:, 3:] = 1
    painted = np.full((4, 6), NOT_PAINTED, dtype=np.uint8)
    painted[1, 1] = 2

    filled = fill_touched_segments(painted, segments)

    assert np.all(filled[:, :3] == 2)
    assert np.all(filled[:, 3:] == NOT_PAINTED)


def test_fill_majority_class_wins():
    segments = np.zeros((4, 4), dtype=np.int32)
    painted = np.full((4, 4), NOT_PAINTED, dtype=np.uint8)
    painted[0, :3] = 1
    painted[3, 0] = 255  # one eraser pixel loses against three class-1 pixels

    filled = fill_touched_segments(painted, segments)

    assert np.all(filled == 1)


def test_fill_keeps_invalid_pixels():
    segments = np.full((3, 3), -1, dtype=np.int32)
    segments[1:, 1:] = 0
    painted = np.full((3, 3), NOT_PAINTED, dtype=np.uint8)
    painted[2, 2] = 0

    filled = fill_touched_segments(painted, segments)

    assert np.all(filled[1:, 1:] == 0)
    assert np.all(filled[0, :] == NOT_PAINTED)
    assert np.all(filled[:, 0] == NOT_PAINTED)


def test_flood_region_stops_at_edge():
    region = flood_region(two_halves(), (10, 5), tolerance=20)

    assert region[:, :30].all()
    assert not region[:, 30:].any()


def test_flood_region_not_connected():
    rgba = two_halves()
    rgba[:, 40:50, :3] = 200  # same colour as the left half, but not connected to it

    region = flood_region(rgba, (0, 0), tolerance=0)

    assert not region[:, 40:50].any()


def test_flood_region_tolerance_spans_gradient():
    rgba = np.zeros((1, 10, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[0, :, :3] = (np.arange(10) * 10)[:, None]

    assert flood_region(rgba, (0, 0), tolerance=45).sum() == 5
    assert flood_region(rgba, (0, 0), tolerance=255).sum() == 10


@pytest.mark.parametrize(("seed", "tolerance", "message"), [((99, 0), 10, "outside"), ((0, 0), 300, "tolerance 300")])
def test_flood_region_invalid_input(seed, tolerance, message):
    with pytest.raises(ValueError, match=message):
        flood_region(two_halves(), seed, tolerance)


def test_point_seeds_one_per_dot():
    painted = np.full((20, 20), NOT_PAINTED, dtype=np.uint8)
    painted[2:5, 2:5] = 1
    painted[14:17, 10:13] = 0

    seeds = point_seeds(painted)

    assert sorted(seeds) == [((3, 3), 1), ((15, 11), 0)]


def test_flood_fill_points_grows_dot():
    painted = np.full((40, 60), NOT_PAINTED, dtype=np.uint8)
    painted[19:22, 44:47] = 1

    filled = flood_fill_points(painted, two_halves(), tolerance=10)

    assert np.all(filled[:, 30:] == 1)
    assert np.all(filled[:, :30] == NOT_PAINTED)
