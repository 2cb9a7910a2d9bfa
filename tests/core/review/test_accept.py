"""Accepting predictions into labels: pixel selection, merging, stored versions."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from core.labels.versions import label_history, latest_label, load_label_mask, save_label
from core.projects.render import read_prediction
from core.review.accept import accept_prediction, merge_prediction, select_pixels
from core.store.engine import session_scope
from core.store.models import Prediction, Tile

CLASS_MAP = np.array([[0, 1, 255], [1, 1, 0]], dtype=np.uint8)
CONFIDENCE = np.array([[0.95, 0.5, 0.0], [0.99, 0.7, 0.9]], dtype=np.float32)


def test_select_all_skips_invalid():
    selected = select_pixels(CLASS_MAP, CONFIDENCE, "all")

    assert selected.tolist() == [[True, True, False], [True, True, True]]


def test_select_confident_threshold():
    selected = select_pixels(CLASS_MAP, CONFIDENCE, "confident", threshold=0.9)

    assert selected.tolist() == [[True, False, False], [True, False, True]]


def test_select_one_class():
    selected = select_pixels(CLASS_MAP, CONFIDENCE, "class", class_index=1)

    assert selected.tolist() == [[False, True, False], [True, True, False]]


@pytest.mark.parametrize(
    ("mode", "kwargs", "message"),
    [
        ("class", {}, "needs a class index"),
        ("confident", {"threshold": 1.5}, "Invalid confidence threshold 1.5"),
        ("everything", {}, "Invalid accept mode 'everything'"),
    ],
)
def test_select_invalid_settings(mode, kwargs, message):
    with pytest.raises(ValueError, match=message):
        select_pixels(CLASS_MAP, CONFIDENCE, mode, **kwargs)


def test_merge_keeps_existing_labels():
    current = np.array([[1, 255, 255], [255, 0, 255]], dtype=np.uint8)
    selected = select_pixels(CLASS_MAP, CONFIDENCE, "all")

    merged = merge_prediction(current, CLASS_MAP, selected)

    assert merged.tolist() == [[1, 1, 255], [1, 0, 0]]


def test_merge_replace_overwrites():
    current = np.array([[1, 255, 255], [255, 0, 255]], dtype=np.uint8)
    selected = select_pixels(CLASS_MAP, CONFIDENCE, "all")

    merged = merge_prediction(current, CLASS_MAP, selected, replace=True)

    assert merged.tolist() == [[0, 1, 255], [1, 1, 0]]


def test_merge_shape_mismatch():
    with pytest.raises(ValueError, match="another tile size"):
        merge_prediction(np.zeros((3, 3), np.uint8), CLASS_MAP, np.ones((2, 3), bool))


def stored_prediction(session, run_id: int, tile_id: int) -> tuple[np.ndarray, np.ndarray]:
    row = session.scalar(select(Prediction).where(Prediction.run_id == run_id, Prediction.tile_id == tile_id))
    return read_prediction(row.class_path, row.confidence_path)


def test_accept_all_saves_version(trained_run):
    tile_id = trained_run.tile_ids[1]
    with session_scope(trained_run.workspace.database_url) as session:
        result = accept_prediction(session, trained_run.workspace, trained_run.run_id, tile_id, "all")
        class_map, _ = stored_prediction(session, trained_run.run_id, tile_id)
        label = latest_label(session, tile_id)
        mask = load_label_mask(label)

    assert result.label is not None
    assert label.version == 1
    assert label.source == f"accepted:run{trained_run.run_id}"
    assert np.array_equal(mask, class_map)
    assert result.accepted_pixels == int((class_map != 255).sum())


def test_accept_confident_over_label(trained_run):
    tile_id = trained_run.tile_ids[2]
    with session_scope(trained_run.workspace.database_url) as session:
        tile = session.get(Tile, tile_id)
        existing = np.full((tile.height, tile.width), 255, dtype=np.uint8)
        existing[:, :10] = 1
        save_label(session, trained_run.workspace, tile, existing)
        class_map, confidence = stored_prediction(session, trained_run.run_id, tile_id)
        threshold = float(np.median(confidence))

        accept_prediction(session, trained_run.workspace, trained_run.run_id, tile_id, "confident", threshold=threshold)
        mask = load_label_mask(latest_label(session, tile_id))
        versions = [label.version for label in label_history(session, tile_id)]

    confident = (confidence >= threshold) & (class_map != 255)
    assert versions == [2, 1]
    assert np.all(mask[:, :10] == 1)
    right = np.zeros_like(confident)
    right[:, 10:] = True
    assert np.array_equal(mask[confident & right], class_map[confident & right])
    assert np.all(mask[~confident & right] == 255)


def test_accept_twice_saves_nothing(trained_run):
    tile_id = trained_run.tile_ids[1]
    with session_scope(trained_run.workspace.database_url) as session:
        accept_prediction(session, trained_run.workspace, trained_run.run_id, tile_id, "all")
        before = len(label_history(session, tile_id))
        result = accept_prediction(session, trained_run.workspace, trained_run.run_id, tile_id, "all")
        after = len(label_history(session, tile_id))

    assert result.label is None
    assert result.accepted_pixels == 0
    assert after == before


def test_accept_missing_prediction(trained_run):
    with session_scope(trained_run.workspace.database_url) as session, pytest.raises(LookupError, match="no prediction"):
        accept_prediction(session, trained_run.workspace, 999, trained_run.tile_ids[0], "all")
