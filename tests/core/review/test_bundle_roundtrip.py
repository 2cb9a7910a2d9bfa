"""Model bundles: export from a run, reload, predict identically."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sqlalchemy import select

from core.inference.bundle import BUNDLE_FORMAT, export_bundle, load_bundle, predict_with_bundle
from core.projects.render import read_prediction
from core.store.engine import session_scope
from core.store.models import Prediction


def test_bundle_contains_model_parts(trained_run, tmp_path):
    with session_scope(trained_run.workspace.database_url) as session:
        path = export_bundle(session, trained_run.run_id, tmp_path / "model.pt")

    contents = torch.load(path, map_location="cpu", weights_only=True)
    assert contents["format"] == BUNDLE_FORMAT
    assert contents["band_names"] == ["blue", "green", "red", "nir"]
    assert set(contents["normalization"]) == {"blue", "green", "red", "nir"}
    assert [c["name"] for c in contents["classes"]] == ["soil", "crop"]
    assert contents["head"]["config"]["steps"] == 12
    assert contents["head"]["num_classes"] == 2
    assert contents["backbone"]["metadata"]["arch"] == "resnet18"


def test_bundle_predicts_like_run(trained_run, tmp_path):
    with session_scope(trained_run.workspace.database_url) as session:
        path = export_bundle(session, trained_run.run_id, tmp_path / "model.pt")
        stored = {
            p.tile_id: read_prediction(p.class_path, p.confidence_path)
            for p in session.scalars(select(Prediction).where(Prediction.run_id == trained_run.run_id))
        }
    bundle = load_bundle(path)

    for tile_id, raster_path in zip(trained_run.tile_ids, trained_run.tile_paths, strict=True):
        class_map, confidence = predict_with_bundle(bundle, raster_path)
        stored_classes, stored_confidence = stored[tile_id]
        assert np.array_equal(class_map, stored_classes), raster_path.name
        # Stored confidence is quantised to 1/65535.
        assert np.abs(confidence - stored_confidence).max() <= 1 / 65535 + 1e-6, raster_path.name


def test_bundle_reload_is_identical(trained_run, tmp_path):
    with session_scope(trained_run.workspace.database_url) as session:
        path = export_bundle(session, trained_run.run_id, tmp_path / "model.pt")
    first = predict_with_bundle(load_bundle(path), trained_run.tile_paths[1])
    second = predict_with_bundle(load_bundle(path), trained_run.tile_paths[1])

    assert np.array_equal(first[0], second[0])
    assert np.array_equal(first[1], second[1])


def test_bundle_rejects_other_file(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, path)

    with pytest.raises(ValueError, match="not a MultiSSL Studio model bundle"):
        load_bundle(path)


def test_bundle_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="export_bundle"):
        load_bundle(tmp_path / "missing.pt")


def test_bundle_band_count_mismatch(trained_run, tmp_path):
    import tifffile

    with session_scope(trained_run.workspace.database_url) as session:
        bundle = load_bundle(export_bundle(session, trained_run.run_id, tmp_path / "model.pt"))
    three_bands = tmp_path / "three.tif"
    tifffile.imwrite(three_bands, np.zeros((3, 64, 96), dtype=np.uint16), photometric="minisblack", planarconfig="separate")

    with pytest.raises(ValueError, match="has 3 bands but the model expects 4"):
        predict_with_bundle(bundle, three_bands)


def test_export_unknown_run(trained_run, tmp_path):
    with session_scope(trained_run.workspace.database_url) as session, pytest.raises(LookupError, match="Run 999"):
        export_bundle(session, 999, tmp_path / "model.pt")
