"""Window grids, windowed TIFF reading and cutting rasters into georeferenced tiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from core.raster.georef import GeoReference
from core.raster.header import read_header
from core.raster.read import read_tile
from core.raster.tiling import cut_into_tiles, shift_georeference
from core.raster.window import count_windows, estimate_bytes, iter_windows
from core.raster.window_read import WindowReader
from core.raster.window_write import WindowedGeoTiffWriter


@pytest.mark.parametrize(
    ("height", "width", "size", "overlap"),
    [(1, 1, 32, 0), (100, 70, 48, 16), (512, 512, 512, 64), (513, 97, 128, 64), (300, 300, 64, 0)],
)
def test_windows_cover_every_pixel(height: int, width: int, size: int, overlap: int) -> None:
    covered = np.zeros((height, width), dtype=np.int32)
    cores = np.zeros((height, width), dtype=np.int32)

    windows = list(iter_windows(height, width, size, overlap))

    for window in windows:
        covered[window.slices] += 1
        cores[window.core_slices] += 1
        rows, cols = window.core_in_window
        assert 0 <= rows.start < rows.stop <= window.height
        assert 0 <= cols.start < cols.stop <= window.width
        assert window.height <= size
        assert window.width <= size
        assert window.row % (size - overlap) == 0
        assert window.col % (size - overlap) == 0
    assert (covered >= 1).all()
    assert (cores == 1).all()
    assert len(windows) == count_windows(height, width, size, overlap)


def test_windows_reject_bad_overlap() -> None:
    with pytest.raises(ValueError, match="smaller than the window size 64"):
        list(iter_windows(100, 100, 64, 64))


def test_estimate_bytes_from_header(c09_path: Path) -> None:
    header = read_header(c09_path)

    assert estimate_bytes(header) == 4 * 128 * 128 * 2 + 128 * 128


LAYOUTS = {
    "separate_zlib_strips": dict(planarconfig="separate", compression="zlib", predictor=True, rowsperstrip=16),
    "contig_zlib_tiles": dict(planarconfig="contig", compression="zlib", tile=(32, 32)),
    "separate_tiles": dict(planarconfig="separate", tile=(32, 32)),
    "separate_one_strip": dict(planarconfig="separate"),
    "contig_strips": dict(planarconfig="contig", rowsperstrip=7),
    "big_endian_strips": dict(planarconfig="separate", byteorder=">", rowsperstrip=9),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_window_reader_matches_whole_read(tmp_path: Path, layout: str) -> None:
    rng = np.random.default_rng(3)
    bands = rng.integers(0, 60000, size=(3, 100, 70)).astype(np.uint16)
    options = dict(LAYOUTS[layout])
    data = np.moveaxis(bands, 0, -1) if options["planarconfig"] == "contig" else bands
    path = tmp_path / f"{layout}.tif"
    tifffile.imwrite(path, data, photometric="minisblack", **options)

    with WindowReader(path) as reader:
        for window in iter_windows(100, 70, 48, 16):
            part = reader.read(window)
            assert part.dtype.isnative
            assert np.array_equal(part, bands[(slice(None), *window.slices)]), window


def test_window_reader_rejects_outside_window(c09_path: Path) -> None:
    window = next(iter_windows(256, 256, 200, 0))

    with WindowReader(c09_path) as reader, pytest.raises(ValueError, match="lies outside"):
        reader.read(window)


def test_shift_georeference_moves_tiepoint() -> None:
    georef = GeoReference(
        model_pixel_scale=(0.5, 0.25, 0.0), model_tiepoint=(0.0, 0.0, 0.0, 100.0, 200.0, 0.0)
    )

    shifted = shift_georeference(georef, row=8, col=4)

    assert shifted.model_tiepoint == (0.0, 0.0, 0.0, 102.0, 198.0, 0.0)
    assert shifted.model_pixel_scale == georef.model_pixel_scale


def test_shift_georeference_moves_transformation() -> None:
    matrix = (0.5, 0.1, 0.0, 100.0, 0.1, -0.5, 0.0, 200.0, 0, 0, 0, 0, 0, 0, 0, 1)

    shifted = shift_georeference(GeoReference(model_transformation=matrix), row=10, col=20)

    assert shifted.model_transformation[3] == pytest.approx(100.0 + 0.5 * 20 + 0.1 * 10)
    assert shifted.model_transformation[7] == pytest.approx(200.0 + 0.1 * 20 - 0.5 * 10)


def test_cut_into_tiles_keeps_pixels_and_georef(tmp_path: Path, c09_path: Path) -> None:
    source = read_tile(c09_path)

    paths = cut_into_tiles(c09_path, tmp_path / "tiles", tile_size=64, overlap=16)

    assert len(paths) == 9
    for path in paths:
        tile = read_tile(path)
        row = int(path.stem.split("_r")[1].split("_c")[0])
        col = int(path.stem.split("_c")[-1])
        height, width = tile.data.shape[1:]
        assert np.array_equal(tile.data, source.data[:, row : row + height, col : col + width])
        assert tile.header.georef == shift_georeference(source.header.georef, row, col)
        assert tile.header.georef.geo_key_directory == source.header.georef.geo_key_directory


def test_windowed_writer_commits_atomically(tmp_path: Path) -> None:
    target = tmp_path / "out.tif"
    values = np.arange(30 * 40, dtype=np.float32).reshape(30, 40)

    with WindowedGeoTiffWriter(target, 30, 40, np.float32, None, nodata=-1) as writer:
        writer.write(0, 0, values[:20, :25])
        writer.write(20, 0, values[20:, :25])
        writer.write(0, 25, values[:, 25:])
        assert not target.exists()

    assert np.array_equal(tifffile.imread(target), values)
    assert read_header(target).nodata == -1
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_windowed_writer_discards_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.tif"

    with pytest.raises(ValueError, match="reaches outside"):
        with WindowedGeoTiffWriter(target, 10, 10, np.uint8, None) as writer:
            writer.write(5, 5, np.zeros((6, 6), np.uint8))

    assert list(tmp_path.iterdir()) == []
