"""Label saves while another process holds a write lock on the real SQLite file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from core.labels.versions import load_label_mask, save_label_with_retry
from core.store import engine as engine_module
from core.store.engine import session_scope
from core.store.models import Label, LabelClass, Tile

# Runs in a separate process: takes the write lock, inserts a class, holds the lock, commits.
HOLD_LOCK_SCRIPT = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("INSERT INTO label_classes (project_id, \\"index\\", name, color) VALUES (?, 7, 'held', '#123456')", (int(sys.argv[2]),))
print("locked", flush=True)
time.sleep(float(sys.argv[3]))
connection.execute("COMMIT")
"""


def hold_write_lock(database: Path, project_id: int, seconds: float) -> subprocess.Popen[str]:
    """Start a process holding a write transaction for ``seconds``; return once it has the lock."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK_SCRIPT, str(database), str(project_id), str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    return process


def painted_mask(height: int, width: int) -> np.ndarray:
    mask = np.full((height, width), 255, np.uint8)
    mask[:10, :10] = 1
    return mask


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch):
    """Make SQLite give up on a lock after 0.2 s, so the retry loop has to do the waiting."""
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 200)
    engine_module.get_engine.cache_clear()
    yield
    engine_module.get_engine.cache_clear()


def test_label_save_waits_for_lock(workspace, project):
    with session_scope(workspace.database_url) as session:
        tile = session.scalars(select(Tile).where(Tile.project_id == project.project_id)).first()
        session.expunge(tile)
    holder = hold_write_lock(workspace.root / "studio.db", project.project_id, 2.0)

    started = time.monotonic()
    label = save_label_with_retry(workspace, tile.id, painted_mask(tile.height, tile.width))
    waited = time.monotonic() - started

    assert holder.wait(timeout=30) == 0
    assert label is not None
    assert waited >= 1.0, "the save did not wait for the other writer"
    with session_scope(workspace.database_url) as session:
        stored = session.scalars(select(Label).where(Label.tile_id == tile.id)).all()
        held = session.scalar(select(LabelClass).where(LabelClass.name == "held"))
    assert [row.version for row in stored] == [1]
    assert held is not None, "the other process's write was lost"
    assert np.array_equal(load_label_mask(stored[0]), painted_mask(tile.height, tile.width))


def test_label_save_retries_past_busy_timeout(workspace, project, short_busy_timeout, caplog):
    with session_scope(workspace.database_url) as session:
        tile = session.scalars(select(Tile).where(Tile.project_id == project.project_id)).first()
        session.expunge(tile)
    holder = hold_write_lock(workspace.root / "studio.db", project.project_id, 1.0)

    with caplog.at_level("WARNING", logger="core.store.retry"):
        label = save_label_with_retry(workspace, tile.id, painted_mask(tile.height, tile.width))

    assert holder.wait(timeout=30) == 0
    assert label is not None
    assert label.version == 1
    assert "database is locked" in caplog.text
    with session_scope(workspace.database_url) as session:
        assert session.query(Label).count() == 1
        assert session.scalar(select(LabelClass).where(LabelClass.name == "held")) is not None


def test_retry_gives_up_with_clear_error(workspace, project, short_busy_timeout):
    from core.store.retry import DatabaseBusyError, retry_on_locked

    with session_scope(workspace.database_url) as session:
        tile = session.scalars(select(Tile).where(Tile.project_id == project.project_id)).first()
        session.expunge(tile)
    holder = hold_write_lock(workspace.root / "studio.db", project.project_id, 3.0)

    def write(session):
        session.add(LabelClass(project_id=project.project_id, index=9, name="late", color="#000000"))
        session.flush()

    with pytest.raises(DatabaseBusyError, match="stayed locked"):
        retry_on_locked(workspace.database_url, write, attempts=2, backoff_s=0.1, operation="class insert")
    assert holder.wait(timeout=30) == 0
    with session_scope(workspace.database_url) as session:
        assert session.scalar(select(LabelClass).where(LabelClass.name == "late")) is None
