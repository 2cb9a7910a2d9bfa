"""Real imagery from the shared data sets read, scanned and previewed."""

import json

import numpy as np

from core.display.composite import list_composites, render_composite
from core.raster.align import group_band_files, read_band_group
from core.raster.bands import band_order_warnings, load_sensor_presets
from core.raster.read import read_tile
from core.raster.scan import scan_folder
from core.raster.stats import compute_band_stats, detect_value_scale
from core.raster.write import read_mask_file

SIX_BANDS = "Six-band reflectance (blue, green, red, nir, swir1, swir2)"


def test_weedmap_png_tiles(data_path):
    folder = data_path("weedmap_rededge_cir/images")
    names = load_sensor_presets()["WeedMap CIR composite"]

    report = scan_folder(folder)
    rasters = [read_tile(entry.path) for entry in report.included[:5]]
    stats = compute_band_stats(rasters, names)

    assert report.band_count == 3
    assert report.dtype == "uint8"
    assert len(report.excluded) == 0
    assert detect_value_scale("uint8", stats) == "display_8bit"
    for raster in rasters:
        black = (raster.data == 0).all(axis=0)
        np.testing.assert_array_equal(raster.valid, ~black)


def test_weedmap_masks_match_tiles(data_path):
    image = data_path("weedmap_rededge_cir/images/rededge_m000_o020.png")
    mask_path = data_path("weedmap_rededge_cir/masks/rededge_m000_o020.png")
    classes = json.loads(data_path("weedmap_rededge_cir/classes.json").read_text())

    raster = read_tile(image)
    mask = read_mask_file(mask_path, class_count=3)

    assert mask.shape == raster.valid.shape
    assert isinstance(classes, dict | list)
    assert (mask[~raster.valid] == 255).all()


def test_ukis_int16_reflectance(data_path):
    names = load_sensor_presets()[SIX_BANDS]
    raster = read_tile(data_path("ukis_cloud_s2_landsat/images/sentinel2.tif"))

    stats = compute_band_stats([raster], names)
    scale = detect_value_scale(raster.header.dtype, stats)

    assert raster.data.shape == (6, 512, 512)
    assert raster.data.dtype == np.int16
    assert scale == "reflectance_x10000"
    assert band_order_warnings([raster], names, scale) == []
    swapped = ["blue", "green", "nir", "red", "swir1", "swir2"]
    assert len(band_order_warnings([raster], swapped, scale)) == 1


def test_landsat_digital_numbers(data_path):
    names = load_sensor_presets()["Landsat 8/9 (B2-B5)"]
    path = data_path(
        "landsat8_38cloud_sample/patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1_BGRN.tif"
    )
    raster = read_tile(path)
    stats = compute_band_stats([raster], names)

    rgba = render_composite(raster, names, stats, list_composites(names)["True colour"])

    assert raster.data.shape == (4, 384, 384)
    assert detect_value_scale("uint16", stats) == "raw_counts"
    assert rgba[..., :3].std() > 10


def test_micasense_single_band_files(data_path):
    folder = data_path("micasense_rededge_capture")

    report = scan_folder(folder)

    assert [e.path.name for e in report.included] == [f"IMG_0001_{i}.tif" for i in range(1, 6)]
    assert report.band_count == 1
    assert report.dtype == "uint16"


def test_micasense_capture_aligned(data_path):
    folder = data_path("micasense_rededge_capture")
    groups = group_band_files(sorted(folder.glob("*.tif")))

    raster, alignments = read_band_group(groups["IMG_0001"], reference=1)

    assert raster.data.shape == (5, 960, 1280)
    assert raster.data.dtype == np.uint16
    assert len(raster.header.band_files) == 5
    assert raster.nodata_share < 0.1
    for alignment in alignments:
        assert alignment.correlation > 0.5, alignment.path.name
        assert alignment.residual_shift < 2.0, alignment.path.name
