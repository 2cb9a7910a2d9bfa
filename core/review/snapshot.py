"""Restoring the label versions a run trained on."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from core.labels.versions import latest_label, restore_label
from core.store.models import Label, Run
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)


def restore_run_labels(session: Session, workspace: Workspace, run_id: int) -> int:
    """Make the label versions recorded in a run's snapshot the newest ones again.

    Tiles whose newest label has the recorded version's content are left
    alone. Every other tile gets a new version equal to the recorded one, so no
    label version is lost.

    Returns:
        The number of tiles that got a new label version.

    Raises:
        LookupError: the run does not exist or recorded no labels.
    """
    run = session.get(Run, run_id)
    if run is None or not run.label_snapshot:
        raise LookupError(f"Run {run_id} recorded no label versions; only head training runs do.")
    restored = 0
    for tile_id, label_id in run.label_snapshot.items():
        recorded = session.get(Label, label_id)
        if recorded is None:
            logger.warning("Label %s of run %d no longer exists; tile %s skipped", label_id, run_id, tile_id)
            continue
        newest = latest_label(session, int(tile_id))
        if newest is not None and newest.sha256 == recorded.sha256:
            continue
        restore_label(session, workspace, label_id)
        restored += 1
    logger.info("Restored %d label versions of run %d", restored, run_id)
    return restored
