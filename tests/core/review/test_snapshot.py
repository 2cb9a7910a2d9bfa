import numpy as np
import pytest
from sqlalchemy import select

from core.labels.versions import latest_label, load_label_mask, save_label
from core.review.snapshot import restore_run_labels
from core.store.engine import session_scope
from core.store.models import Run, Tile


def test_restore_brings_back_trained_versions(studio, project_id):
    with session_scope(studio.database_url) as session:
        tile = session.scalars(select(Tile).where(Tile.project_id == project_id)).first()
        trained = np.full((tile.height, tile.width), 255, np.uint8)
        trained[:4] = 1
        used = save_label(session, studio, tile, trained)
        save_label(session, studio, tile, np.zeros_like(trained))
        run = Run(project_id=project_id, kind="train", status="succeeded", label_snapshot={str(tile.id): used.id})
        session.add(run)
        session.flush()
        assert restore_run_labels(session, studio, run.id) == 1
        np.testing.assert_array_equal(load_label_mask(latest_label(session, tile.id)), trained)
        assert restore_run_labels(session, studio, run.id) == 0


def test_restore_without_snapshot_is_rejected(studio, project_id):
    with session_scope(studio.database_url) as session:
        run = Run(project_id=project_id, kind="pretrain", status="succeeded")
        session.add(run)
        session.flush()
        with pytest.raises(LookupError, match="recorded no label"):
            restore_run_labels(session, studio, run.id)
