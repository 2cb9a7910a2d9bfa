"""Label and tile files damaged, deleted or unwritable on the real disk and database."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from core.labels.files import LabelWriteError, MaskFileError
from core.labels.verify import check_workspace_labels, verify_labels
from core.labels.versions import load_label_mask, save_label
from core.projects.tiles import TileMissingError, load_raster
from core.store.engine import session_scope
from core.store.models import Label, LabelCheck, Tile


def sparse_mask(tile: Tile, value: int = 1) -> np.ndarray:
    mask = np.full((tile.height, tile.width), 255, np.uint8)
    mask[5:15, 5:15] = value
    return mask


def save_versions(workspace, tile_id: int, count: int) -> list[Label]:
    labels = []
    for version in range(count):
        with session_scope(workspace.database_url) as session:
            tile = session.get(Tile, tile_id)
            labels.append(save_label(session, workspace, tile, sparse_mask(tile, version % 2)))
    return labels


@contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """Make ``folder`` unwritable: chmod for normal users, the immutable attribute for root."""
    if os.geteuid() == 0:
        result = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"running as root and chattr +i failed ({result.stderr.strip()}), so no folder is read-only")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        return
    mode = folder.stat().st_mode
    folder.chmod(0o555)
    try:
        yield
    finally:
        folder.chmod(mode)


def test_verify_reports_corrupted_label(workspace, project):
    first, second = save_versions(workspace, project.tile_ids[0], 2)
    Path(second.path).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)

    with session_scope(workspace.database_url) as session:
        problems = verify_labels(session, workspace)
        rows = session.scalars(select(Label.id)).all()

    assert [problem.label_id for problem in problems] == [second.id]
    assert problems[0].problem == "hash_mismatch"
    assert "tile_00.tif" in problems[0].message
    assert "Restore an earlier version" in problems[0].message
    assert sorted(rows) == sorted([first.id, second.id]), "a bad label row was dropped"
    with pytest.raises(MaskFileError, match="does not match its stored hash"):
        load_label_mask(second)
    assert load_label_mask(first).shape == (64, 96)


def test_verify_reports_missing_label(workspace, project):
    (label,) = save_versions(workspace, project.tile_ids[1], 1)
    Path(label.path).unlink()

    problems = check_workspace_labels(workspace)

    assert [(problem.label_id, problem.problem) for problem in problems] == [(label.id, "missing")]
    with session_scope(workspace.database_url) as session:
        stored = session.scalars(select(LabelCheck)).all()
        assert session.get(Label, label.id) is not None
    assert [(check.label_id, check.problem) for check in stored] == [(label.id, "missing")]
    assert "mask file is missing" in stored[0].detail


def test_verify_clean_workspace_finds_nothing(workspace, project):
    save_versions(workspace, project.tile_ids[0], 3)
    assert check_workspace_labels(workspace) == []


def test_deleted_tile_raises_clear_error(workspace, project):
    with session_scope(workspace.database_url) as session:
        tile = session.get(Tile, project.tile_ids[2])
        session.expunge(tile)
    Path(tile.path).unlink()

    with pytest.raises(TileMissingError, match="Tile file not found") as raised:
        load_raster(tile)
    assert tile.path in str(raised.value)
    assert "re-import" in str(raised.value)
    assert isinstance(raised.value, FileNotFoundError)


def test_save_into_read_only_folder_fails_cleanly(workspace, project):
    tile_id = project.tile_ids[0]
    (first,) = save_versions(workspace, tile_id, 1)
    tile_folder = Path(first.path).parent

    with read_only_folder(tile_folder), session_scope(workspace.database_url) as session:
        tile = session.get(Tile, tile_id)
        with pytest.raises(LabelWriteError) as raised:
            save_label(session, workspace, tile, sparse_mask(tile, 0))
        session.rollback()

    message = str(raised.value)
    assert str(tile_folder) in message
    assert "writable" in message
    with session_scope(workspace.database_url) as session:
        versions = session.scalars(select(Label.version).where(Label.tile_id == tile_id)).all()
    assert versions == [1]
    assert sorted(p.name for p in tile_folder.iterdir()) == ["v0001.png"]


def test_save_with_read_only_labels_root_fails(workspace, project):
    with read_only_folder(workspace.labels_dir), session_scope(workspace.database_url) as session:
        tile = session.get(Tile, project.tile_ids[1])
        with pytest.raises(LabelWriteError, match="Cannot write the mask file"):
            save_label(session, workspace, tile, sparse_mask(tile))
        session.rollback()
    with session_scope(workspace.database_url) as session:
        assert session.query(Label).count() == 0
