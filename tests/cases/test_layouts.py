"""Pixel-interleaved and band-separate storage, and 13-band tiles."""

import numpy as np
import tifffile

from core.display.composite import custom_composite, list_composites, render_composite
from core.display.overlay import thumbnail
from core.raster.bands import load_sensor_presets
from core.raster.header import read_header
from core.raster.read import read_tile
from core.raster.stats import compute_band_stats


def test_contig_file_read_band_first(case_path):
    path = case_path("C04_contig_4band.tif")
    with tifffile.TiffFile(path) as tif:
        stored = tif.series[0].asarray()

    raster = read_tile(path)

    assert stored.shape == (128, 128, 4)
    assert raster.data.shape == (4, 128, 128)
    np.testing.assert_array_equal(raster.data, np.moveaxis(stored, -1, 0))


def test_separate_file_read_band_first(case_path):
    path = case_path("C04_separate_3band.tif")
    with tifffile.TiffFile(path) as tif:
        stored = tif.series[0].asarray()

    raster = read_tile(path)

    assert raster.data.shape == (3, 128, 128)
    np.testing.assert_array_equal(raster.data, stored)


def test_both_layouts_headers_agree_with_pixels(case_path):
    for name in ("C04_contig_4band.tif", "C04_separate_3band.tif"):
        path = case_path(name)
        assert read_tile(path).data.shape == read_header(path).shape, name


def test_thirteen_bands_load_and_preview(case_path):
    names = load_sensor_presets()["Sentinel-2 (13 bands)"]
    raster = read_tile(case_path("C10_s2like_13band_uint16.tif"))
    stats = compute_band_stats([raster], names)

    composites = list_composites(names)
    composites["custom"] = custom_composite(("swir1", "nir", "red"))

    assert raster.data.shape == (13, 64, 64)
    assert {"True colour", "CIR", "NDVI", "NDRE", "Bands 1-2-3"} <= set(composites)
    for spec in composites.values():
        rgba = render_composite(raster, names, stats, spec)
        assert rgba.shape == (64, 64, 4), spec.name


def test_thirteen_band_thumbnail(case_path):
    raster = read_tile(case_path("C10_s2like_13band_uint16.tif"))

    small = thumbnail(np.moveaxis(raster.data, 0, -1), max_side=32)

    assert small.shape == (32, 32, 13)
