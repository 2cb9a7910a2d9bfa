import numpy as np
import pytest
from sqlalchemy import select

from core.labels.files import MaskFileError
from core.labels.versions import (
    label_history,
    latest_label,
    load_label_mask,
    load_mask_or_empty,
    restore_label,
    save_label,
)
from core.store.engine import session_scope
from core.store.models import Tile


def first_tile(session, project_id):
    return session.scalars(select(Tile).where(Tile.project_id == project_id).order_by(Tile.id)).first()


def test_save_label_round_trip(studio, project_id):
    with session_scope(studio.database_url) as session:
        tile = first_tile(session, project_id)
        mask = np.full((tile.height, tile.width), 255, np.uint8)
        mask[10:20, 5:30] = 1
        label = save_label(session, studio, tile, mask)
    assert label.version == 1
    assert label.labeled_pixels == 250
    assert label.class_counts == {"1": 250}
    np.testing.assert_array_equal(load_label_mask(label), mask)


def test_versions_increase_and_old_ones_stay(studio, project_id):
    with session_scope(studio.database_url) as session:
        tile = first_tile(session, project_id)
        first = np.full((tile.height, tile.width), 255, np.uint8)
        first[0, 0] = 0
        second = first.copy()
        second[1, 1] = 1
        save_label(session, studio, tile, first)
        save_label(session, studio, tile, second)
        history = label_history(session, tile.id)
        assert [label.version for label in history] == [2, 1]
        np.testing.assert_array_equal(load_label_mask(history[1]), first)


def test_restore_makes_old_version_newest(studio, project_id):
    with session_scope(studio.database_url) as session:
        tile = first_tile(session, project_id)
        first = np.full((tile.height, tile.width), 255, np.uint8)
        first[:5] = 0
        old = save_label(session, studio, tile, first)
        save_label(session, studio, tile, np.full_like(first, 1))
        restored = restore_label(session, studio, old.id)
        assert restored.version == 3
        np.testing.assert_array_equal(load_mask_or_empty(session, tile), first)


def test_unlabeled_tile_gives_empty_mask(studio, project_id):
    with session_scope(studio.database_url) as session:
        tile = first_tile(session, project_id)
        mask = load_mask_or_empty(session, tile)
    assert mask.shape == (tile.height, tile.width)
    assert (mask == 255).all()


def test_wrong_shape_is_rejected(studio, project_id):
    with session_scope(studio.database_url) as session:
        tile = first_tile(session, project_id)
        with pytest.raises(ValueError, match="native resolution"):
            save_label(session, studio, tile, np.zeros((tile.height + 1, tile.width), np.uint8))
        assert latest_label(session, tile.id) is None


def test_unknown_class_value_is_rejected(studio, project_id):
    with session_scope(studio.database_url) as session:
        tile = first_tile(session, project_id)
        with pytest.raises(ValueError, match="not class indices"):
            save_label(session, studio, tile, np.full((tile.height, tile.width), 7, np.uint8))


def test_corrupted_mask_file_is_reported(studio, project_id):
    with session_scope(studio.database_url) as session:
        tile = first_tile(session, project_id)
        label = save_label(session, studio, tile, np.zeros((tile.height, tile.width), np.uint8))
    with open(label.path, "r+b") as stream:
        stream.seek(60)
        stream.write(b"\x00\x01\x02")
    with pytest.raises(MaskFileError, match="hash"):
        load_label_mask(label)
