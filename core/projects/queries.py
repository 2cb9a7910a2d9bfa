"""Read-only lookups the UI needs: projects, tiles, labels and predictions per tile."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.labels.versions import latest_labels_for_project
from core.store.models import Prediction, Project, Run, Tile


def list_projects(session: Session) -> list[Project]:
    """Return all projects, newest first, with their classes loaded."""
    return list(session.scalars(select(Project).options(selectinload(Project.classes)).order_by(Project.id.desc())))


def get_project(session: Session, project_id: int) -> Project:
    """Return one project with its classes loaded.

    Raises:
        LookupError: no project has this id.
    """
    project = session.scalar(select(Project).options(selectinload(Project.classes)).where(Project.id == project_id))
    if project is None:
        raise LookupError(f"Project {project_id} not found; pick a project on the Projects page.")
    return project


def count_tiles(session: Session, project_id: int) -> int:
    """Return the number of tiles in a project."""
    return int(session.scalar(select(func.count(Tile.id)).where(Tile.project_id == project_id)) or 0)


def list_tiles(session: Session, project_id: int, offset: int = 0, limit: int | None = None) -> list[Tile]:
    """Return a page of a project's tiles ordered by name."""
    query = select(Tile).where(Tile.project_id == project_id).order_by(Tile.name, Tile.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def get_tile(session: Session, tile_id: int) -> Tile:
    """Return one tile.

    Raises:
        LookupError: no tile has this id.
    """
    tile = session.get(Tile, tile_id)
    if tile is None:
        raise LookupError(f"Tile {tile_id} not found.")
    return tile


def labeled_pixel_counts(session: Session, project_id: int) -> dict[int, int]:
    """Return tile id -> labeled pixels of its newest label version (tiles with none are absent)."""
    return {tile_id: label.labeled_pixels for tile_id, label in latest_labels_for_project(session, project_id).items()}


def predictions_of_run(session: Session, run_id: int) -> dict[int, Prediction]:
    """Return tile id -> prediction for one run."""
    return {p.tile_id: p for p in session.scalars(select(Prediction).where(Prediction.run_id == run_id))}


def runs_with_predictions(session: Session, project_id: int) -> list[Run]:
    """Return the project's succeeded training runs, and running ones with preview predictions, newest first."""
    has_predictions = select(Prediction.run_id).where(Prediction.run_id == Run.id).exists()
    return list(
        session.scalars(
            select(Run)
            .where(Run.project_id == project_id, Run.kind == "train")
            .where((Run.status == "succeeded") | ((Run.status == "running") & has_predictions))
            .order_by(Run.id.desc())
        )
    )
