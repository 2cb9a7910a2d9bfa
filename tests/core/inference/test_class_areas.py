"""Per-tile class areas of predictions and labels."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.inference.areas import class_areas, run_class_areas, write_areas_csv
from core.raster.georef import GeoReference
from core.raster.pixel_area import pixel_area_m2
from core.store.engine import session_scope

UTM_33N = (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633)
WGS84 = (1, 1, 0, 2, 1024, 0, 1, 2, 2048, 0, 1, 4326)


def _utm(scale: float = 0.5) -> GeoReference:
    return GeoReference(
        model_pixel_scale=(scale, scale, 0.0),
        model_tiepoint=(0.0, 0.0, 0.0, 500000.0, 5000000.0, 0.0),
        geo_key_directory=UTM_33N,
    )


def test_class_areas_counts_and_metres() -> None:
    class_map = np.array([[0, 0, 1], [1, 1, 255], [2, 7, 255]], dtype=np.uint8)

    rows = class_areas(class_map, {0: "soil", 1: "crop", 2: "weed", 3: "water"}, "t1", "prediction", _utm())

    by_index = {row.class_index: row for row in rows}
    assert [row.class_index for row in rows] == [0, 1, 2, 3, 7]
    assert by_index[0].pixels == 2
    assert by_index[1].pixels == 3
    assert by_index[3].pixels == 0
    assert by_index[7].class_name == ""
    assert by_index[1].square_metres == pytest.approx(0.75)


def test_class_areas_without_georef_has_no_metres() -> None:
    rows = class_areas(np.zeros((4, 4), np.uint8), {0: "soil"}, "t1", "label", None)

    assert rows[0].pixels == 16
    assert rows[0].square_metres is None


def test_pixel_area_geographic_crs_is_unknown() -> None:
    georef = GeoReference(
        model_pixel_scale=(1e-5, 1e-5, 0.0),
        model_tiepoint=(0.0, 0.0, 0.0, 10.0, 50.0, 0.0),
        geo_key_directory=WGS84,
    )

    assert pixel_area_m2(georef, 10, 10) is None


def test_pixel_area_web_mercator_scaled_by_latitude() -> None:
    radius = 6378137.0
    latitude = math.radians(60.0)
    northing = radius * math.log(math.tan(math.pi / 4 + latitude / 2))
    georef = GeoReference(
        model_pixel_scale=(0.1, 0.1, 0.0),
        model_tiepoint=(0.0, 0.0, 0.0, 0.0, northing + 5.0, 0.0),
        geo_key_directory=(1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 3857),
    )

    area = pixel_area_m2(georef, 100, 100)

    assert area == pytest.approx(0.01 * 0.25, rel=1e-3)


def test_areas_csv_for_run(tmp_path: Path, export_workspace: Any) -> None:
    with session_scope(export_workspace.workspace.database_url) as session:
        areas = run_class_areas(session, export_workspace.run_id)
    path = write_areas_csv(tmp_path / "areas.csv", areas)

    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = [row for row in rows if row["source"] == "label"]
    predictions = [row for row in rows if row["source"] == "prediction"]
    assert len(predictions) == 4
    assert [(row["class_name"], row["pixels"]) for row in labels] == [("soil", "100"), ("crop", "200")]
    georef_tile = [row for row in predictions if row["tile"] == "C09_georef_input_4band.tif"]
    plain_tile = [row for row in predictions if row["tile"] != "C09_georef_input_4band.tif"]
    assert sum(int(row["pixels"]) for row in georef_tile) == 128 * 126
    assert all(row["square_metres"] for row in georef_tile)
    assert all(row["square_metres"] == "" for row in plain_tile)
    # C09 is EPSG:3857 near the equator, where a 0.05 m pixel covers about 0.0025 m2.
    crop = labels[1]
    assert float(crop["square_metres"]) == pytest.approx(200 * 0.0025, rel=1e-6)
