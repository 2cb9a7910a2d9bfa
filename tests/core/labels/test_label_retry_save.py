"""save_label_with_retry: merging with the newest stored mask and skipping no-op saves."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from core.labels.versions import label_history, load_label_mask, save_label_with_retry
from core.store.engine import session_scope
from core.store.models import Tile


def first_tile(studio, project_id) -> Tile:
    with session_scope(studio.database_url) as session:
        tile = session.scalars(select(Tile).where(Tile.project_id == project_id).order_by(Tile.id)).first()
        session.expunge(tile)
        return tile


def test_retry_save_merges_unchanged_pixels(studio, project_id):
    tile = first_tile(studio, project_id)
    other_tab = np.full((tile.height, tile.width), 255, np.uint8)
    other_tab[0:5, :] = 0
    save_label_with_retry(studio, tile.id, other_tab)

    painted = np.full((tile.height, tile.width), 255, np.uint8)
    painted[20:25, :] = 1
    changed = painted != 255
    label = save_label_with_retry(studio, tile.id, painted, changed=changed)

    assert label is not None
    assert label.version == 2
    stored = load_label_mask(label)
    assert (stored[0:5, :] == 0).all()
    assert (stored[20:25, :] == 1).all()


def test_retry_save_skips_identical_mask(studio, project_id):
    tile = first_tile(studio, project_id)
    mask = np.full((tile.height, tile.width), 255, np.uint8)
    mask[3, 3] = 1
    assert save_label_with_retry(studio, tile.id, mask) is not None
    assert save_label_with_retry(studio, tile.id, mask) is None
    with session_scope(studio.database_url) as session:
        assert len(label_history(session, tile.id)) == 1
