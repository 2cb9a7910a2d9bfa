"""Exports of a georeferenced tile carry its CRS, transform and size."""

import numpy as np

from core.raster.header import read_header
from core.raster.write import write_geotiff


def test_mask_export_keeps_georeference(case_path, tmp_path):
    source = read_header(case_path("C09_georef_input_4band.tif"))
    mask = np.zeros((source.height, source.width), np.uint8)

    target = tmp_path / "mask.tif"
    write_geotiff(target, mask, source.georef, nodata=255)

    exported = read_header(target)
    assert exported.georef == source.georef
    assert exported.georef.epsg == 3857
    assert exported.georef.pixel_size == (0.05, 0.05)
    assert (exported.height, exported.width) == (source.height, source.width)


def test_probability_export_keeps_georeference(case_path, tmp_path):
    source = read_header(case_path("C09_georef_input_4band.tif"))
    probabilities = np.full((3, source.height, source.width), 1 / 3, np.float32)

    target = tmp_path / "probabilities.tif"
    write_geotiff(target, probabilities, source.georef)

    exported = read_header(target)
    assert exported.georef == source.georef
    assert exported.shape == (3, source.height, source.width)


def test_tile_without_georeference_exported_without(case_path, tmp_path):
    source = read_header(case_path("C10_s2like_13band_uint16.tif"))

    target = tmp_path / "mask.tif"
    write_geotiff(target, np.zeros((source.height, source.width), np.uint8), source.georef)

    assert source.georef is None
    assert read_header(target).georef is None
