"""Label versions: every save of a tile's mask is a new file plus a new row."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.labels.files import UNLABELED, read_mask_png, write_mask_png
from core.store.models import Label, LabelClass, Tile
from core.store.retry import retry_on_locked
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)


def class_counts(mask: np.ndarray) -> dict[str, int]:
    """Count pixels per class index in a mask, leaving out unlabeled (255) pixels."""
    values, counts = np.unique(mask[mask != UNLABELED], return_counts=True)
    return {str(int(value)): int(count) for value, count in zip(values, counts, strict=True)}


def validate_mask(mask: np.ndarray, tile: Tile, class_indices: set[int]) -> np.ndarray:
    """Check a mask's shape and values against its tile and the project's classes.

    Returns:
        The mask as a contiguous (H, W) uint8 array.

    Raises:
        ValueError: the shape differs from the tile or a value is not a class index or 255.
    """
    if mask.shape != (tile.height, tile.width):
        raise ValueError(
            f"Mask shape {mask.shape} does not match tile {tile.name!r} ({tile.height}, {tile.width}); "
            "masks are stored at the tile's native resolution."
        )
    unknown = set(np.unique(mask).tolist()) - class_indices - {UNLABELED}
    if unknown:
        raise ValueError(
            f"Mask for tile {tile.name!r} contains values {sorted(unknown)} that are not class indices "
            f"{sorted(class_indices)}; add the classes first or map the values to 255 (unlabeled)."
        )
    return np.ascontiguousarray(mask, dtype=np.uint8)


def save_label(
    session: Session, workspace: Workspace, tile: Tile, mask: np.ndarray, source: str = "canvas"
) -> Label:
    """Store ``mask`` as the next label version of ``tile`` and return the new row.

    The PNG is written atomically before the row is added, so a crash leaves
    at worst an unreferenced file, never a row without its file.
    """
    class_indices = set(
        session.scalars(select(LabelClass.index).where(LabelClass.project_id == tile.project_id))
    )
    mask = validate_mask(mask, tile, class_indices)
    latest = session.scalar(select(func.max(Label.version)).where(Label.tile_id == tile.id)) or 0
    version = latest + 1
    path = workspace.labels_dir / str(tile.project_id) / str(tile.id) / f"v{version:04d}.png"
    digest = write_mask_png(path, mask)
    counts = class_counts(mask)
    label = Label(
        tile_id=tile.id,
        version=version,
        path=str(path),
        sha256=digest,
        labeled_pixels=sum(counts.values()),
        class_counts=counts,
        source=source,
    )
    session.add(label)
    session.flush()
    logger.info("Saved label version %d of tile %d (%d labeled pixels)", version, tile.id, label.labeled_pixels)
    return label


def latest_label(session: Session, tile_id: int) -> Label | None:
    """Return the newest label version of a tile, or None if it was never labeled."""
    return session.scalar(
        select(Label).where(Label.tile_id == tile_id).order_by(Label.version.desc()).limit(1)
    )


def load_label_mask(label: Label) -> np.ndarray:
    """Read a label version's mask, verifying the file against its stored hash."""
    return read_mask_png(Path(label.path), expected_sha256=label.sha256)


def load_mask_or_empty(session: Session, tile: Tile) -> np.ndarray:
    """Return the tile's newest mask, or an all-unlabeled mask if it has none."""
    label = latest_label(session, tile.id)
    if label is None:
        return np.full((tile.height, tile.width), UNLABELED, dtype=np.uint8)
    return load_label_mask(label)


def label_history(session: Session, tile_id: int) -> list[Label]:
    """Return every label version of a tile, newest first."""
    return list(session.scalars(select(Label).where(Label.tile_id == tile_id).order_by(Label.version.desc())))


def restore_label(session: Session, workspace: Workspace, label_id: int) -> Label:
    """Make an older label version the newest one by saving its mask again."""
    label = session.get(Label, label_id)
    if label is None:
        raise LookupError(f"Label {label_id} not found; pick a version from the tile's history.")
    tile = session.get(Tile, label.tile_id)
    if tile is None:
        raise LookupError(f"Tile {label.tile_id} of label {label_id} not found.")
    return save_label(session, workspace, tile, load_label_mask(label), source=f"restore:v{label.version}")


def latest_labels_for_project(session: Session, project_id: int) -> dict[int, Label]:
    """Return the newest label of every labeled tile in a project, keyed by tile id."""
    newest = (
        select(Label.tile_id, func.max(Label.version).label("version"))
        .join(Tile, Tile.id == Label.tile_id)
        .where(Tile.project_id == project_id)
        .group_by(Label.tile_id)
        .subquery()
    )
    rows = session.scalars(
        select(Label).join(newest, (Label.tile_id == newest.c.tile_id) & (Label.version == newest.c.version))
    )
    return {label.tile_id: label for label in rows if label.labeled_pixels > 0}


def save_label_with_retry(
    workspace: Workspace,
    tile_id: int,
    mask: np.ndarray,
    changed: np.ndarray | None = None,
    source: str = "canvas",
) -> Label | None:
    """Save a new label version in its own transaction, retried while the database is locked.

    Args:
        workspace: the workspace holding the database and label files.
        tile_id: the tile to label.
        mask: (H, W) uint8 class indices, 255 = unlabeled.
        changed: optional (H, W) bool; where False, the newest stored mask wins,
            so edits another tab saved meanwhile are kept.
        source: where the mask came from, stored with the row.

    Returns:
        The new label, or None when the result equals the newest stored mask.

    Raises:
        LookupError: no tile has ``tile_id``.
        DatabaseBusyError: the database stayed locked through every retry.
    """

    def write(session: Session) -> Label | None:
        tile = session.get(Tile, tile_id)
        if tile is None:
            raise LookupError(f"Tile {tile_id} not found; reload the page to list the project's tiles.")
        newest = load_mask_or_empty(session, tile)
        merged = mask if changed is None else np.where(changed, mask, newest).astype(np.uint8)
        if np.array_equal(merged, newest):
            return None
        return save_label(session, workspace, tile, merged, source=source)

    return retry_on_locked(workspace.database_url, write, operation=f"label save for tile {tile_id}")
