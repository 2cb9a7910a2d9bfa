from pathlib import Path

import cv2
import numpy as np
import pytest

from core.raster.errors import TileReadError
from core.raster.read import read_tile


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32", "uint32"])
def test_original_dtype_and_values_kept(write_tile, dtype):
    array = np.arange(4 * 5 * 6).reshape(4, 5, 6).astype(dtype)
    path = write_tile(array=array, planarconfig="separate")

    raster = read_tile(path)

    assert raster.data.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(raster.data, array)


def test_contig_layout_read_band_first(write_tile):
    band_first = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    path = write_tile(array=np.moveaxis(band_first, 0, -1), planarconfig="contig")

    raster = read_tile(path)

    np.testing.assert_array_equal(raster.data, band_first)


def test_band_separate_tile_with_two_columns(write_tile):
    array = np.arange(6 * 9 * 2, dtype=np.uint16).reshape(6, 9, 2)
    path = write_tile(array=array, planarconfig="separate")

    raster = read_tile(path)

    np.testing.assert_array_equal(raster.data, array)


def test_alpha_extra_sample_is_a_data_band(write_tile):
    rgba = np.random.default_rng(1).integers(0, 255, (5, 6, 4), dtype=np.uint8)
    path = write_tile(
        array=rgba, photometric="rgb", planarconfig="contig", extrasamples=["unassalpha"]
    )

    raster = read_tile(path)

    assert raster.data.shape == (4, 5, 6)
    np.testing.assert_array_equal(raster.data[3], rgba[..., 3])


def test_nan_and_inf_are_invalid(write_tile):
    array = np.ones((2, 4, 4), dtype=np.float32)
    array[0, 0, 0] = np.nan
    array[1, 2, 3] = np.inf

    raster = read_tile(write_tile(array=array))

    assert not raster.valid[0, 0]
    assert not raster.valid[2, 3]
    assert raster.valid.sum() == 14
    assert raster.nodata_share == pytest.approx(2 / 16)


def test_declared_nodata_in_any_band_is_invalid(write_tile):
    array = np.full((3, 4, 4), 100, dtype=np.int16)
    array[1, 1, 1] = -9999
    path = write_tile(array=array, extratags=[(42113, "s", 0, "-9999", True)])

    raster = read_tile(path)

    assert raster.header.nodata == -9999
    assert not raster.valid[1, 1]
    assert raster.valid.sum() == 15


def test_zero_is_valid_in_tiff(write_tile):
    raster = read_tile(write_tile(array=np.zeros((3, 4, 4), dtype=np.uint8)))

    assert raster.valid.all()


def test_png_converted_to_rgb_order(tmp_path: Path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200  # red
    rgb[..., 2] = 10  # blue
    path = tmp_path / "tile.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    raster = read_tile(path)

    assert raster.data.shape == (3, 4, 5)
    assert (raster.data[0] == 200).all()
    assert (raster.data[2] == 10).all()


def test_png_black_pixels_are_nodata(tmp_path: Path):
    rgb = np.full((4, 5, 3), 50, np.uint8)
    rgb[0, :] = 0
    rgb[1, 0] = (0, 0, 7)  # one band non-zero: still valid
    path = tmp_path / "tile.png"
    cv2.imwrite(str(path), rgb)

    raster = read_tile(path)

    assert not raster.valid[0].any()
    assert raster.valid[1].all()
    assert raster.nodata_share == pytest.approx(5 / 20)


def test_greyscale_png_is_one_band(tmp_path: Path):
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), np.full((4, 5), 9, np.uint16))

    raster = read_tile(path)

    assert raster.data.shape == (1, 4, 5)
    assert raster.data.dtype == np.uint16


def test_corrupt_compressed_data_raises(write_tile):
    path = write_tile(bands=2, height=32, width=32, compression="zlib")
    content = bytearray(path.read_bytes())
    content[20:200] = b"\x00" * 180
    path.write_bytes(bytes(content))

    with pytest.raises(TileReadError) as error:
        read_tile(path)
    assert str(path) in str(error.value)


def test_png_with_tif_suffix_read_by_signature(tmp_path: Path):
    path = tmp_path / "mislabelled.tif"
    path.write_bytes(cv2.imencode(".png", np.full((3, 4), 7, np.uint8))[1].tobytes())

    raster = read_tile(path)

    assert raster.data.shape == (1, 3, 4)
    assert (raster.data == 7).all()


def test_nodata_outside_dtype_range_ignored(write_tile):
    path = write_tile(bands=2, dtype="uint16", extratags=[(42113, "s", 0, "-9999", True)])

    raster = read_tile(path)

    assert raster.valid.all()
