"""Integrity check of label files against their database rows, run at app start."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.labels.files import sha256_bytes
from core.store.models import Label, LabelCheck, Tile
from core.store.retry import retry_on_locked
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)

ProblemKind = Literal["missing", "unreadable", "hash_mismatch"]


@dataclass(frozen=True)
class LabelProblem:
    """One label version whose file cannot be trusted.

    Attributes:
        label_id: the label row.
        tile_id: the tile it belongs to.
        tile_name: the tile's file name, for messages.
        version: the label version number.
        path: the mask file the row points at.
        problem: what is wrong with the file.
        message: a sentence saying what is wrong and what to do.
    """

    label_id: int
    tile_id: int
    tile_name: str
    version: int
    path: Path
    problem: ProblemKind
    message: str


def _check_file(path: Path, expected_sha256: str) -> tuple[ProblemKind, str] | None:
    if not path.is_file():
        return "missing", "the mask file is missing"
    try:
        data = path.read_bytes()
    except OSError as error:
        return "unreadable", f"the mask file cannot be read ({error.strerror or error})"
    if sha256_bytes(data) != expected_sha256:
        return "hash_mismatch", "the mask file differs from the saved version (changed or corrupted outside the app)"
    return None


def verify_labels(session: Session, workspace: Workspace) -> list[LabelProblem]:
    """Check every label row's file: present, readable and matching its stored SHA-256.

    Rows with a bad file are reported, never deleted, because an older version
    of the same tile may still be intact and can be restored.

    Args:
        session: an open session on the workspace database.
        workspace: the workspace; relative label paths are read below its root.

    Returns:
        One problem per bad label version, ordered by label id.
    """
    problems: list[LabelProblem] = []
    rows = session.execute(
        select(Label.id, Label.tile_id, Label.version, Label.path, Label.sha256, Tile.name)
        .join(Tile, Tile.id == Label.tile_id)
        .order_by(Label.id)
    )
    for label_id, tile_id, version, path_text, expected, tile_name in rows:
        path = Path(path_text)
        if not path.is_absolute():
            path = workspace.root / path
        found = _check_file(path, expected)
        if found is None:
            continue
        kind, description = found
        message = (
            f"Label version {version} of tile {tile_name!r}: {description} ({path}). "
            "Restore an earlier version from the tile's label history, or relabel the tile."
        )
        problems.append(LabelProblem(label_id, tile_id, tile_name, version, path, kind, message))
    if problems:
        logger.warning("Label check found %d bad label files of %s", len(problems), workspace.root)
    return problems


def record_label_checks(session: Session, problems: list[LabelProblem]) -> None:
    """Store the problems of one check in ``label_checks``, replacing those of earlier checks."""
    session.query(LabelCheck).delete()
    session.add_all(
        LabelCheck(label_id=problem.label_id, problem=problem.problem, detail=problem.message)
        for problem in problems
    )
    session.flush()


def check_workspace_labels(workspace: Workspace) -> list[LabelProblem]:
    """Verify every label file of the workspace, store the result and return the problems.

    The app calls this once per server start and shows the messages.
    """

    def check(session: Session) -> list[LabelProblem]:
        problems = verify_labels(session, workspace)
        record_label_checks(session, problems)
        return problems

    return retry_on_locked(workspace.database_url, check, operation="label integrity check")
