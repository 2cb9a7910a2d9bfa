from pathlib import Path

from sqlalchemy import inspect, text

from core.store.engine import get_engine, session_scope, upgrade_database
from core.store.models import Project


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studio.db'}"


def test_upgrade_creates_every_table(tmp_path):
    url = sqlite_url(tmp_path)
    upgrade_database(url)
    tables = set(inspect(get_engine(url)).get_table_names())
    expected = {"projects", "tiles", "label_classes", "labels", "backbones", "runs", "run_metrics", "predictions"}
    assert expected <= tables
    assert "alembic_version" in tables


def test_upgrade_twice_keeps_data(tmp_path):
    url = sqlite_url(tmp_path)
    upgrade_database(url)
    with session_scope(url) as session:
        session.add(Project(name="field", source_folder="/data", band_names=["red"], dtype="uint8", value_scale="display_8bit"))
    upgrade_database(url)
    with session_scope(url) as session:
        assert session.query(Project).count() == 1


def test_sqlite_uses_wal_and_busy_timeout(tmp_path):
    url = sqlite_url(tmp_path)
    upgrade_database(url)
    with get_engine(url).connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def test_session_scope_rolls_back_on_error(tmp_path):
    url = sqlite_url(tmp_path)
    upgrade_database(url)
    try:
        with session_scope(url) as session:
            session.add(Project(name="lost", source_folder="/d", band_names=["red"], dtype="uint8", value_scale="x"))
            session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with session_scope(url) as session:
        assert session.query(Project).count() == 0
