from pathlib import Path

import numpy as np
import pytest

from core.raster.header import TileHeader
from core.raster.read import Raster
from core.raster.stats import (
    BandStats,
    compute_band_stats,
    detect_value_scale,
    normalization_from_stats,
    normalize,
)


def make_raster(data: np.ndarray, valid: np.ndarray | None = None) -> Raster:
    bands, height, width = data.shape
    header = TileHeader(
        path=Path("mem.tif"), bands=bands, height=height, width=width, dtype=data.dtype.name
    )
    if valid is None:
        valid = np.ones((height, width), dtype=bool)
    return Raster(data=data, valid=valid, header=header)


def test_stats_match_numpy_over_valid_pixels():
    rng = np.random.default_rng(0)
    data = rng.integers(100, 3000, (2, 50, 60)).astype(np.uint16)
    valid = rng.random((50, 60)) > 0.2

    stats = compute_band_stats([make_raster(data, valid)], ["a", "b"])

    values = data[0][valid].astype(np.float64)
    assert stats["a"].mean == pytest.approx(values.mean())
    assert stats["a"].std == pytest.approx(values.std())
    assert stats["a"].minimum == values.min()
    assert stats["a"].maximum == values.max()
    assert stats["a"].low == pytest.approx(np.percentile(values, 2))
    assert stats["a"].high == pytest.approx(np.percentile(values, 98))


def test_stats_combine_tiles_exactly():
    rng = np.random.default_rng(1)
    first = rng.normal(10, 2, (1, 20, 20)).astype(np.float32)
    second = rng.normal(50, 5, (1, 10, 30)).astype(np.float32)

    stats = compute_band_stats([make_raster(first), make_raster(second)], ["x"])

    values = np.concatenate([first.ravel(), second.ravel()]).astype(np.float64)
    assert stats["x"].mean == pytest.approx(values.mean())
    assert stats["x"].std == pytest.approx(values.std())


def test_glint_does_not_set_high_percentile():
    data = np.full((1, 100, 100), 500, dtype=np.uint16)
    data[0, :50] = 1000
    data[0, 0, :12] = 65535

    stats = compute_band_stats([make_raster(data)], ["nir"])

    assert stats["nir"].high == 1000
    assert stats["nir"].maximum == 65535


def test_sampling_is_seeded():
    data = np.random.default_rng(2).integers(0, 10000, (1, 300, 300)).astype(np.uint16)

    first = compute_band_stats([make_raster(data)], ["a"], max_samples_per_tile=500, seed=3)
    second = compute_band_stats([make_raster(data)], ["a"], max_samples_per_tile=500, seed=3)

    assert first == second


def test_band_without_valid_pixel_is_named():
    data = np.ones((1, 4, 4), np.float32)

    with pytest.raises(ValueError, match="'red'"):
        compute_band_stats([make_raster(data, np.zeros((4, 4), bool))], ["red"])


def test_band_name_count_mismatch():
    with pytest.raises(ValueError, match="3 bands found but 2 band names"):
        compute_band_stats([make_raster(np.ones((3, 4, 4), np.uint8))], ["a", "b"])


def test_band_stats_dict_round_trip():
    stats = BandStats(low=1.0, high=2.0, mean=1.5, std=0.2, minimum=0.0, maximum=9.0)

    assert BandStats.from_dict(stats.to_dict()) == stats


def stats_with_high(high: float) -> dict[str, BandStats]:
    return {"a": BandStats(low=0.0, high=high, mean=high / 2, std=1.0, minimum=0.0, maximum=high)}


@pytest.mark.parametrize(
    ("dtype", "high", "expected"),
    [
        ("uint8", 200.0, "display_8bit"),
        ("float32", 0.45, "reflectance_float"),
        ("float32", 4500.0, "reflectance_x10000"),
        ("int16", 7000.0, "reflectance_x10000"),
        ("uint16", 2100.0, "reflectance_x10000"),
        ("uint16", 40000.0, "raw_counts"),
        ("float64", 30000.0, "raw_counts"),
    ],
)
def test_detect_value_scale(dtype, high, expected):
    assert detect_value_scale(dtype, stats_with_high(high)) == expected


def test_normalize_standardises_valid_pixels():
    data = np.array([[[1, 2], [3, 4]], [[10, 10], [10, 10]]], dtype=np.uint16)
    valid = np.array([[True, True], [True, False]])
    stats = compute_band_stats([make_raster(data, valid)], ["a", "b"])
    normalization = normalization_from_stats(stats)

    out = normalize(data, valid, ["a", "b"], normalization)

    assert out.dtype == np.float32
    assert out.shape == (2, 2, 2)
    assert out[0][valid].mean() == pytest.approx(0.0, abs=1e-6)
    assert out[0][valid].std() == pytest.approx(1.0, rel=1e-5)
    assert (out[:, 1, 1] == 0).all()
    assert np.isfinite(out).all()


def test_constant_band_std_is_floored():
    stats = {"b": BandStats(low=10, high=10, mean=10, std=0.0, minimum=10, maximum=10)}

    mean, std = normalization_from_stats(stats)["b"]

    assert mean == 10
    assert std > 0


def test_normalize_missing_band():
    with pytest.raises(ValueError, match="No normalization"):
        normalize(np.ones((1, 2, 2)), np.ones((2, 2), bool), ["nir"], {"red": (0.0, 1.0)})
