"""Folder of tiles with different band counts, dtypes and sizes."""

from core.raster.scan import scan_folder


def test_mixed_tiles_report(case_path):
    report = scan_folder(case_path("C06_mixed_tiles"))

    assert report.band_count == 6
    assert report.dtype == "uint16"
    assert [e.path.name for e in report.included] == ["tile_r0_c0.tif", "tile_r0_c1.tif"]
    reasons = {e.path.name: e.reason for e in report.excluded}
    assert reasons == {
        "tile_r0_c0_preview.tif": "3 bands found, 6 expected",
        "tile_r1_c0.tif": "5 bands found, 6 expected",
    }


def test_mixed_tiles_sizes_not_changed(case_path):
    report = scan_folder(case_path("C06_mixed_tiles"))

    sizes = [(e.header.height, e.header.width) for e in report.included]

    assert sizes == [(87, 174), (87, 173)]


def test_mixed_tiles_expected_five_bands(case_path):
    report = scan_folder(case_path("C06_mixed_tiles"), expected_bands=5)

    assert [e.path.name for e in report.included] == ["tile_r1_c0.tif"]
