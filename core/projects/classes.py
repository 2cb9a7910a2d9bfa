"""Class list of a project: add, rename, recolour, delete."""

from __future__ import annotations

import functools
import json
import logging
import re
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.labels.files import UNLABELED
from core.labels.versions import latest_label, load_label_mask, save_label
from core.store.models import LabelClass, Project, Tile
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)

PALETTE_FILE = Path(__file__).resolve().parents[2] / "assets" / "class_palette.json"
# The canvas paints the eraser in this colour, so no class may use it.
ERASER_COLOR = "#ffffff"
MAX_CLASSES = 254
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def default_palette() -> list[str]:
    """Return the default class colours from the assets folder."""
    return list(_palette_colors())


@functools.cache
def _palette_colors() -> tuple[str, ...]:
    # Read once per process: the Label page asks for the palette on every rerun.
    return tuple(json.loads(PALETTE_FILE.read_text())["colors"])


def _validate_color(color: str) -> str:
    if not _HEX.match(color):
        raise ValueError(f"Invalid colour {color!r}; use a hex colour like '#1b9e77'.")
    if color.lower() == ERASER_COLOR:
        raise ValueError(f"Colour {color} is reserved for the eraser; pick another colour.")
    return color.lower()


def _validate_name(name: str, others: list[LabelClass]) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 100:
        raise ValueError(f"Invalid class name {name!r}; use 1 to 100 characters.")
    if any(c.name.lower() == cleaned.lower() for c in others):
        raise ValueError(f"A class named {cleaned!r} already exists; choose another name.")
    return cleaned


def list_classes(session: Session, project_id: int) -> list[LabelClass]:
    """Return the project's classes ordered by index."""
    return list(session.scalars(select(LabelClass).where(LabelClass.project_id == project_id).order_by(LabelClass.index)))


def add_class(session: Session, project_id: int, name: str, color: str | None = None) -> LabelClass:
    """Add a class with the lowest free index (0-253) and return it."""
    existing = list_classes(session, project_id)
    used = {c.index for c in existing}
    index = next((i for i in range(MAX_CLASSES) if i not in used), None)
    if index is None:
        raise ValueError(f"A project can have at most {MAX_CLASSES} classes; delete one first.")
    if color is None:
        palette = default_palette()
        color = palette[index % len(palette)]
    label_class = LabelClass(
        project_id=project_id, index=index, name=_validate_name(name, existing), color=_validate_color(color)
    )
    session.add(label_class)
    session.flush()
    return label_class


def update_class(session: Session, class_id: int, name: str | None = None, color: str | None = None) -> LabelClass:
    """Rename and/or recolour a class; masks keep their indices."""
    label_class = session.get(LabelClass, class_id)
    if label_class is None:
        raise LookupError(f"Class {class_id} not found.")
    if name is not None and name.strip() != label_class.name:
        others = [c for c in list_classes(session, label_class.project_id) if c.id != class_id]
        label_class.name = _validate_name(name, others)
    if color is not None:
        label_class.color = _validate_color(color)
    session.flush()
    return label_class


def delete_class(session: Session, workspace: Workspace, class_id: int) -> int:
    """Delete a class; its labeled pixels become unlabeled in a new label version.

    Returns:
        The number of tiles that got a new label version.
    """
    label_class = session.get(LabelClass, class_id)
    if label_class is None:
        raise LookupError(f"Class {class_id} not found.")
    index, project_id = label_class.index, label_class.project_id
    session.delete(label_class)
    session.flush()
    changed = 0
    for tile in session.scalars(select(Tile).where(Tile.project_id == project_id)):
        label = latest_label(session, tile.id)
        if label is None or str(index) not in label.class_counts:
            continue
        mask = load_label_mask(label)
        save_label(session, workspace, tile, np.where(mask == index, UNLABELED, mask).astype(np.uint8), source="class-deleted")
        changed += 1
    logger.info("Deleted class %d of project %d; relabeled %d tiles", index, project_id, changed)
    return changed


def palette_of(project: Project) -> dict[int, str]:
    """Return class index -> hex colour for a project."""
    return {c.index: c.color for c in project.classes}
