"""Upgrading a database that contains data at revision 0001 to the newest revision."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from core.store.engine import get_engine, session_scope, upgrade_database
from core.store.models import Label, LabelCheck, Run, RunMetric

ROWS_0001 = [
    "INSERT INTO projects (id, name, source_folder, band_names, dtype, value_scale, band_stats, created_at) "
    "VALUES (1, 'field', '/data', '[\"red\", \"nir\"]', 'uint16', 'raw_counts', '{}', '2026-01-01 00:00:00')",
    "INSERT INTO tiles (id, project_id, path, name, bands, height, width, dtype, content_hash, nodata_share) "
    "VALUES (1, 1, '/data/a.tif', 'a.tif', 2, 64, 96, 'uint16', 'abc', 0.0)",
    "INSERT INTO labels (id, tile_id, version, path, sha256, labeled_pixels, class_counts, source, created_at) "
    "VALUES (1, 1, 1, '/ws/labels/1/1/v0001.png', 'def', 100, '{\"0\": 100}', 'canvas', '2026-01-01 00:00:00')",
    "INSERT INTO runs (id, project_id, kind, status, config, label_snapshot, progress, epoch, stage, message, "
    "metrics, cancel_requested, created_at) VALUES (1, 1, 'train', 'succeeded', '{\"steps\": 5}', '{}', 1.0, 5, "
    "'done', 'Trained.', '{\"best_step\": 4}', 0, '2026-01-01 00:00:00')",
    "INSERT INTO run_metrics (id, run_id, step, epoch, name, value) VALUES (1, 1, 4, 4, 'val_loss', 0.25)",
]


def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studio.db'}"


def test_upgrade_from_0001_keeps_data(tmp_path):
    url = database_url(tmp_path)
    upgrade_database(url, "0001")
    raw = create_engine(url)
    with raw.begin() as connection:
        assert "label_checks" not in inspect(connection).get_table_names()
        for statement in ROWS_0001:
            connection.execute(text(statement))
    raw.dispose()

    upgrade_database(url)

    with session_scope(url) as session:
        label = session.get(Label, 1)
        run = session.get(Run, 1)
        metric = session.get(RunMetric, 1)
        assert label is not None
        assert label.class_counts == {"0": 100}
        assert run is not None
        assert run.config == {"steps": 5}
        assert run.metrics == {"best_step": 4}
        assert metric is not None
        assert metric.value == 0.25
        session.add(LabelCheck(label_id=1, problem="missing", detail="test"))
    inspector = inspect(get_engine(url))
    index_names = {index["name"] for index in inspector.get_indexes("run_metrics")}
    assert "ix_run_metrics_run_id_name" in index_names
    with get_engine(url).connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"


def test_downgrade_to_0001_drops_checks(tmp_path):
    from alembic import command

    from core.store.engine import alembic_config

    url = database_url(tmp_path)
    upgrade_database(url)
    command.downgrade(alembic_config(url), "0001")

    raw = create_engine(url)
    tables = set(inspect(raw).get_table_names())
    raw.dispose()
    assert "label_checks" not in tables
    assert "labels" in tables
