from pathlib import Path

import cv2
import numpy as np
import pytest

from core.raster.georef import GeoReference
from core.raster.header import read_header
from core.raster.read import read_tile
from core.raster.write import write_geotiff, write_png

GEOREF = GeoReference(
    model_pixel_scale=(0.05, 0.05, 0.0),
    model_tiepoint=(0.0, 0.0, 0.0, 500000.0, 4000000.0, 0.0),
    geo_key_directory=(1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633),
)


def test_geotiff_round_trip_keeps_georeference(tmp_path: Path):
    array = np.random.default_rng(0).random((3, 8, 9)).astype(np.float32)
    path = tmp_path / "probabilities.tif"

    write_geotiff(path, array, GEOREF, nodata=-1.0)

    header = read_header(path)
    assert header.georef == GEOREF
    assert header.georef.epsg == 32633
    assert header.nodata == -1.0
    np.testing.assert_array_equal(read_tile(path).data, array)


def test_geotiff_two_dimensional_mask(tmp_path: Path):
    mask = np.array([[0, 1], [255, 2]], dtype=np.uint8)
    path = tmp_path / "mask.tif"

    write_geotiff(path, mask, None)

    raster = read_tile(path)
    assert raster.header.georef is None
    np.testing.assert_array_equal(raster.data[0], mask)


def test_geotiff_rejects_four_dimensions(tmp_path: Path):
    with pytest.raises(ValueError, match="shape"):
        write_geotiff(tmp_path / "x.tif", np.zeros((1, 2, 3, 4)), None)


def test_failed_write_keeps_old_file(tmp_path: Path, monkeypatch):
    path = tmp_path / "mask.tif"
    write_geotiff(path, np.zeros((4, 4), np.uint8), None)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("core.raster.write.tifffile.imwrite", fail)
    with pytest.raises(OSError, match="disk full"):
        write_geotiff(path, np.ones((4, 4), np.uint8), None)

    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["mask.tif"]


def test_png_rgb_round_trip(tmp_path: Path):
    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[..., 0] = 255
    path = tmp_path / "overlay.png"

    write_png(path, rgb)

    decoded = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(decoded, rgb)


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_png_index_round_trip(tmp_path: Path, dtype):
    mask = np.arange(12, dtype=dtype).reshape(3, 4)
    path = tmp_path / "mask.png"

    write_png(path, mask)

    np.testing.assert_array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), mask)


def test_png_rejects_float(tmp_path: Path):
    with pytest.raises(ValueError, match="float32"):
        write_png(tmp_path / "x.png", np.zeros((2, 2), np.float32))
