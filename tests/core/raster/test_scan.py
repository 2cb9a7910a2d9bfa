from pathlib import Path

import cv2
import numpy as np
import pytest

from core.raster.scan import scan_folder


def test_mixed_folder_excludes_with_reasons(write_tile, tmp_path: Path):
    write_tile("a.tif", bands=6, height=20, width=21)
    write_tile("b.tif", bands=6, height=19, width=22)
    write_tile("c.tif", bands=5)
    write_tile("d.tif", bands=6, dtype="float32")
    (tmp_path / "e.tif").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("ignored")

    report = scan_folder(tmp_path)

    assert report.band_count == 6
    assert report.dtype == "uint16"
    assert [e.path.name for e in report.entries] == ["a.tif", "b.tif", "c.tif", "d.tif", "e.tif"]
    assert [e.path.name for e in report.included] == ["a.tif", "b.tif"]
    reasons = {e.path.name: e.reason for e in report.excluded}
    assert reasons["c.tif"] == "5 bands found, 6 expected"
    assert reasons["d.tif"] == "dtype float32 found, uint16 expected"
    assert "empty" in reasons["e.tif"]


def test_different_sizes_are_kept(write_tile, tmp_path: Path):
    write_tile("a.tif", height=10, width=10)
    write_tile("b.tif", height=30, width=12)

    report = scan_folder(tmp_path)

    assert {(e.header.height, e.header.width) for e in report.included} == {(10, 10), (30, 12)}


def test_expected_band_count_wins(write_tile, tmp_path: Path):
    write_tile("a.tif", bands=3)
    write_tile("b.tif", bands=3)
    write_tile("c.tif", bands=4)

    report = scan_folder(tmp_path, expected_bands=4)

    assert [e.path.name for e in report.included] == ["c.tif"]


def test_png_tiles_are_scanned(tmp_path: Path):
    cv2.imwrite(str(tmp_path / "x.png"), np.ones((5, 5, 3), np.uint8))

    report = scan_folder(tmp_path)

    assert report.band_count == 3
    assert report.dtype == "uint8"


def test_missing_folder(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="not found"):
        scan_folder(tmp_path / "absent")


def test_file_instead_of_folder(write_tile):
    with pytest.raises(NotADirectoryError):
        scan_folder(write_tile("a.tif"))


def test_folder_without_images(tmp_path: Path):
    (tmp_path / "readme.md").write_text("x")

    with pytest.raises(ValueError, match="No image files"):
        scan_folder(tmp_path)
