from pathlib import Path

import numpy as np
import pytest

from core.raster.bands import band_order_warnings, load_sensor_presets, validate_band_names
from core.raster.header import TileHeader
from core.raster.read import Raster


def test_presets_are_valid_band_lists():
    presets = load_sensor_presets()

    assert presets["RGB"] == ["red", "green", "blue"]
    assert presets["MicaSense RedEdge (blue, green, red, nir, red_edge)"][3:] == ["nir", "red_edge"]
    assert len(presets["Sentinel-2 (13 bands)"]) == 13
    for name, bands in presets.items():
        assert validate_band_names(bands, len(bands)) == bands, name


def test_names_normalised():
    assert validate_band_names([" Red ", "NIR", "Red Edge"], 3) == ["red", "nir", "red_edge"]


def test_wrong_count_rejected():
    with pytest.raises(ValueError, match="2 band names given .* 3 bands"):
        validate_band_names(["red", "nir"], 3)


@pytest.mark.parametrize("bad", ["", "1st", "nir!"])
def test_invalid_name_rejected(bad):
    with pytest.raises(ValueError, match="Band 2 name"):
        validate_band_names(["red", bad], 2)


def test_duplicate_name_rejected():
    with pytest.raises(ValueError, match="'red'"):
        validate_band_names(["red", "Red"], 2)


def vegetation_raster(order: list[str]) -> Raster:
    """Reflectance tile: left half vegetation, right half bare soil."""
    spectra = {
        "vegetation": {"green": 0.08, "red": 0.04, "red_edge": 0.25, "nir": 0.45},
        "soil": {"green": 0.12, "red": 0.15, "red_edge": 0.18, "nir": 0.22},
    }
    data = np.empty((len(order), 20, 20), dtype=np.float32)
    for index, band in enumerate(order):
        data[index, :, :10] = spectra["vegetation"][band]
        data[index, :, 10:] = spectra["soil"][band]
    header = TileHeader(
        path=Path("mem.tif"), bands=len(order), height=20, width=20, dtype="float32"
    )
    return Raster(data=data, valid=np.ones((20, 20), bool), header=header)


def test_correct_order_gives_no_warning():
    names = ["green", "red", "red_edge", "nir"]

    assert band_order_warnings([vegetation_raster(names)], names, "reflectance_float") == []


def test_swapped_red_and_nir_warned():
    raster = vegetation_raster(["green", "nir", "red_edge", "red"])

    warnings = band_order_warnings(
        [raster], ["green", "red", "red_edge", "nir"], "reflectance_float"
    )

    assert len(warnings) == 1
    assert "'red' and 'nir' may be swapped" in warnings[0]


def test_swapped_red_edge_and_nir_warned():
    raster = vegetation_raster(["green", "red", "nir", "red_edge"])

    warnings = band_order_warnings(
        [raster], ["green", "red", "red_edge", "nir"], "reflectance_float"
    )

    assert len(warnings) == 1
    assert "'red_edge' and 'nir' may be swapped" in warnings[0]


def test_raw_counts_are_not_checked():
    raster = vegetation_raster(["green", "nir", "red_edge", "red"])

    assert band_order_warnings([raster], ["green", "red", "red_edge", "nir"], "raw_counts") == []
