from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from core.raster.georef import GeoReference
from core.raster.header import TileReadError, read_header

GEOKEYS_3857 = (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 3857)


def test_band_separate_tiff_shape(write_tile):
    path = write_tile(bands=5, height=10, width=12, planarconfig="separate")

    header = read_header(path)

    assert header.shape == (5, 10, 12)
    assert header.dtype == "uint16"
    assert header.nodata is None
    assert header.georef is None


def test_pixel_interleaved_tiff_shape(write_tile):
    array = np.zeros((10, 12, 4), dtype=np.uint8)
    path = write_tile(
        array=array, planarconfig="contig", photometric="rgb", extrasamples=["unassalpha"]
    )

    header = read_header(path)

    assert header.shape == (4, 10, 12)


def test_small_tile_with_few_columns_keeps_band_axis(write_tile):
    # 3 columns and 5 bands: the smallest axis is not the band axis.
    path = write_tile(bands=5, height=8, width=3, planarconfig="separate")

    assert read_header(path).shape == (5, 8, 3)


def test_multipage_band_stack(tmp_path: Path):
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as writer:
        for band in range(3):
            writer.write(np.full((6, 7), band, np.uint16), photometric="minisblack", metadata=None)

    header = read_header(path)

    assert header.shape == (3, 6, 7)


def test_nodata_and_georeference(write_tile):
    georef = GeoReference(
        model_pixel_scale=(0.5, 0.5, 0.0),
        model_tiepoint=(0.0, 0.0, 0.0, 100.0, 200.0, 0.0),
        geo_key_directory=GEOKEYS_3857,
    )
    extratags = [*georef.extratags(), (42113, "s", 0, "-9999", True)]
    path = write_tile(dtype="int16", extratags=extratags)

    header = read_header(path)

    assert header.nodata == -9999.0
    assert header.georef == georef
    assert header.georef.epsg == 3857


def test_invalid_nodata_tag_is_a_problem(write_tile):
    path = write_tile(extratags=[(42113, "s", 0, "none", True)])

    header = read_header(path)

    assert header.nodata is None
    assert len(header.problems) == 1
    assert "GDAL_NODATA" in header.problems[0]


def test_png_header(tmp_path: Path):
    path = tmp_path / "rgb.png"
    cv2.imwrite(str(path), np.zeros((9, 11, 3), np.uint8))

    header = read_header(path)

    assert header.shape == (3, 9, 11)
    assert header.dtype == "uint8"


def test_png_16bit_grey_header(tmp_path: Path):
    path = tmp_path / "grey16.png"
    cv2.imwrite(str(path), np.zeros((9, 11), np.uint16))

    header = read_header(path)

    assert header.shape == (1, 9, 11)
    assert header.dtype == "uint16"


def test_jpeg_header(tmp_path: Path):
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), np.zeros((9, 11, 3), np.uint8))

    assert read_header(path).shape == (3, 9, 11)


def test_empty_file_rejected(tmp_path: Path):
    path = tmp_path / "empty.tif"
    path.write_bytes(b"")

    with pytest.raises(TileReadError, match="empty"):
        read_header(path)


def test_truncated_tiff_rejected(write_tile):
    path = write_tile(bands=4, height=64, width=64)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])

    with pytest.raises(TileReadError, match="truncated|invalid") as error:
        read_header(path)
    assert str(path) in str(error.value)


def test_truncated_png_rejected(tmp_path: Path):
    path = tmp_path / "cut.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-30])

    with pytest.raises(TileReadError, match="truncated"):
        read_header(path)


def test_text_file_rejected(tmp_path: Path):
    path = tmp_path / "notes.tif"
    path.write_text("not an image")

    with pytest.raises(TileReadError, match="not a TIFF, PNG or JPEG"):
        read_header(path)


def test_missing_file_raises_file_not_found(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        read_header(tmp_path / "absent.tif")


def test_tile_read_error_is_value_error():
    assert issubclass(TileReadError, ValueError)
