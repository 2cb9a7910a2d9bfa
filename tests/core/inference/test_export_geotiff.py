"""Export of a run's predictions, confidence maps and labels as GeoTIFF and PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import tifffile

from core.inference.export import export_run, safe_file_stem
from core.raster.georef import GEO_TAG_CODES
from core.store.engine import session_scope

GDAL_NODATA = 42113


def _export(fixture: Any, out_dir: Path, **options):  # type: ignore[no-untyped-def]
    with session_scope(fixture.workspace.database_url) as session:
        return export_run(session, fixture.workspace, fixture.run_id, out_dir, **options)


def _geo_tags(path: Path) -> dict[int, object]:
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages.first.tags
        return {code: tags[code].value for code in GEO_TAG_CODES if code in tags}


def test_export_geotiff_keeps_source_georeference(tmp_path: Path, export_workspace: Any) -> None:
    out = tmp_path / "export"

    report = _export(export_workspace, out)

    source_tags = _geo_tags(export_workspace.georef_tile)
    source_shape = tifffile.imread(export_workspace.georef_tile).shape[-2:]
    assert source_tags
    for kind in ("prediction", "confidence", "mask"):
        exported = out / f"C09_georef_input_4band_{kind}.tif"
        assert exported in report.files
        assert _geo_tags(exported) == source_tags
        assert tifffile.imread(exported).shape == source_shape
    with tifffile.TiffFile(out / "C09_georef_input_4band_prediction.tif") as tif:
        assert tif.pages.first.tags[GDAL_NODATA].value == "255"
    with tifffile.TiffFile(out / "C09_georef_input_4band_confidence.tif") as tif:
        assert GDAL_NODATA not in tif.pages.first.tags
        assert tif.pages.first.dtype == np.float32


def test_export_pixels_match_stored_files(tmp_path: Path, export_workspace: Any) -> None:
    out = tmp_path / "export"

    _export(export_workspace, out)

    prediction_png = cv2.imread(str(out / "C09_georef_input_4band_prediction.png"), cv2.IMREAD_UNCHANGED)
    prediction_tif = tifffile.imread(out / "C09_georef_input_4band_prediction.tif")
    confidence_png = cv2.imread(str(out / "C09_georef_input_4band_confidence.png"), cv2.IMREAD_UNCHANGED)
    confidence_tif = tifffile.imread(out / "C09_georef_input_4band_confidence.tif")
    mask_tif = tifffile.imread(out / "C09_georef_input_4band_mask.tif")
    assert np.array_equal(prediction_png, prediction_tif)
    assert (prediction_tif[:2] == 255).all()
    assert confidence_png.dtype == np.uint16
    np.testing.assert_allclose(confidence_tif, confidence_png / 65535.0, atol=1e-6)
    assert (mask_tif[10:20, 10:30] == 1).all()
    assert int((mask_tif != 255).sum()) == 200 + 100


def test_export_tile_without_georef_is_reported(tmp_path: Path, export_workspace: Any) -> None:
    out = tmp_path / "export"

    report = _export(export_workspace, out)

    assert report.tiles_without_georef == ["../../evil name.tif"]
    assert report.tiles_exported == 2
    assert report.problems == []
    plain = out / "evil_name_prediction.tif"
    assert _geo_tags(plain) == {}
    assert tifffile.imread(plain).shape == (40, 56)
    assert not (out / "evil_name_mask.tif").exists()


def test_export_names_stay_inside_folder(tmp_path: Path, export_workspace: Any) -> None:
    out = tmp_path / "export"

    report = _export(export_workspace, out)

    for path in report.files:
        assert path.resolve().parent == out.resolve()
    assert not any(tmp_path.glob("evil*"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../evil name.tif", "evil_name"),
        ("..", "tile_7"),
        ("C:\\data\\field 1.TIF", "field_1"),
        (".hidden.tif", "hidden"),
        ("plot.v2.tif", "plot.v2"),
        ("", "tile_7"),
    ],
)
def test_safe_file_stem_sanitises(name: str, expected: str) -> None:
    assert safe_file_stem(name, "tile_7") == expected


def test_export_formats_and_items_filter(tmp_path: Path, export_workspace: Any) -> None:
    out = tmp_path / "export"

    report = _export(export_workspace, out, formats=("png",), include=("predictions", "areas"))

    suffixes = sorted({path.suffix for path in report.files})
    assert suffixes == [".csv", ".png"]
    assert not any("confidence" in path.name or "mask" in path.name for path in report.files)


def test_export_missing_prediction_file_is_a_problem(tmp_path: Path, export_workspace: Any) -> None:
    for png in export_workspace.workspace.predictions_dir.rglob("*_classes.png"):
        png.unlink()
        break

    report = _export(export_workspace, tmp_path / "export")

    assert len(report.problems) == 1
    assert "prediction not exported" in report.problems[0]


def test_export_rejects_unknown_format(tmp_path: Path, export_workspace: Any) -> None:
    with pytest.raises(ValueError, match="Unknown format \\['jpeg'\\]"):
        _export(export_workspace, tmp_path / "export", formats=("jpeg",))


def test_export_unknown_run_raises(tmp_path: Path, export_workspace: Any) -> None:
    with session_scope(export_workspace.workspace.database_url) as session:
        with pytest.raises(LookupError, match="Run 999 not found"):
            export_run(session, export_workspace.workspace, 999, tmp_path)
