"""Low-range integers with glint, float reflectance and NaN edges."""

import numpy as np
import pytest

from core.display.composite import list_composites, render_composite
from core.raster.read import read_tile
from core.raster.stats import (
    compute_band_stats,
    detect_value_scale,
    normalization_from_stats,
    normalize,
)

FOUR_BANDS = ["blue", "green", "red", "nir"]
FIVE_BANDS = ["blue", "green", "red", "nir", "red_edge"]


def test_lowrange_uint16_keeps_values(case_path):
    raster = read_tile(case_path("C01_uint16_lowrange_4band.tif"))

    assert raster.data.dtype == np.uint16
    assert raster.data.max() == 65535
    assert raster.data.min() == 158


def test_glint_does_not_set_display_scale(case_path):
    raster = read_tile(case_path("C01_uint16_lowrange_4band.tif"))

    stats = compute_band_stats([raster], FOUR_BANDS)

    for name in FOUR_BANDS:
        assert stats[name].high < 2200, name
        assert stats[name].maximum == 65535 or stats[name].maximum < 2200


def test_lowrange_composite_is_not_black(case_path):
    raster = read_tile(case_path("C01_uint16_lowrange_4band.tif"))
    stats = compute_band_stats([raster], FOUR_BANDS)

    for spec in list_composites(FOUR_BANDS).values():
        rgba = render_composite(raster, FOUR_BANDS, stats, spec)
        assert rgba[..., :3].mean() > 40, spec.name
        assert rgba[..., :3].std() > 10, spec.name


def test_float_reflectance_stays_float(case_path):
    raster = read_tile(case_path("C02_float32_reflectance_5band.tif"))
    stats = compute_band_stats([raster], FIVE_BANDS)

    assert raster.data.dtype == np.float32
    assert 0.0 < raster.data.min() < raster.data.max() < 1.0
    assert detect_value_scale(raster.header.dtype, stats) == "reflectance_float"


def test_float_reflectance_normalised_without_collapse(case_path):
    raster = read_tile(case_path("C02_float32_reflectance_5band.tif"))
    stats = compute_band_stats([raster], FIVE_BANDS)

    out = normalize(raster.data, raster.valid, FIVE_BANDS, normalization_from_stats(stats))

    assert out.dtype == np.float32
    for index in range(len(FIVE_BANDS)):
        assert out[index].std() == pytest.approx(1.0, rel=1e-3)


def test_float_reflectance_composite_is_not_black(case_path):
    raster = read_tile(case_path("C02_float32_reflectance_5band.tif"))
    stats = compute_band_stats([raster], FIVE_BANDS)

    rgba = render_composite(raster, FIVE_BANDS, stats, list_composites(FIVE_BANDS)["True colour"])

    assert rgba[..., :3].mean() > 40


def test_nan_edges_give_one_validity_mask(case_path):
    raster = read_tile(case_path("C03_float32_nan_edges.tif"))

    nan_pixels = np.isnan(raster.data).any(axis=0)

    np.testing.assert_array_equal(raster.valid, ~nan_pixels)
    assert raster.nodata_share == pytest.approx(nan_pixels.mean())
    assert 0.0 < raster.nodata_share < 0.5


def test_nan_edges_statistics_are_finite(case_path):
    raster = read_tile(case_path("C03_float32_nan_edges.tif"))

    stats = compute_band_stats([raster], FOUR_BANDS)

    for name, band in stats.items():
        values = list(band.to_dict().values())
        assert np.isfinite(values).all(), name


def test_nan_edges_transparent_in_every_composite(case_path):
    raster = read_tile(case_path("C03_float32_nan_edges.tif"))
    stats = compute_band_stats([raster], FOUR_BANDS)

    for spec in list_composites(FOUR_BANDS).values():
        rgba = render_composite(raster, FOUR_BANDS, stats, spec)
        assert (rgba[~raster.valid, 3] == 0).all(), spec.name
        assert (rgba[raster.valid, 3] == 255).all(), spec.name


def test_nan_edges_normalised_to_zero(case_path):
    raster = read_tile(case_path("C03_float32_nan_edges.tif"))
    stats = compute_band_stats([raster], FOUR_BANDS)

    out = normalize(raster.data, raster.valid, FOUR_BANDS, normalization_from_stats(stats))

    assert np.isfinite(out).all()
    assert (out[:, ~raster.valid] == 0).all()
