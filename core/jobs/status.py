"""Run status for the UI: active runs, metric curves, elapsed time."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs.queue import ACTIVE_STATUSES
from core.store.models import Run, RunMetric


def as_utc(moment: datetime | None) -> datetime | None:
    """Attach UTC to naive datetimes read back from SQLite."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def elapsed_seconds(run: Run) -> float:
    """Seconds from start to finish (or to now while running); 0 before start."""
    start = as_utc(run.started_at)
    if start is None:
        return 0.0
    end = as_utc(run.finished_at) or datetime.now(UTC)
    return max(0.0, (end - start).total_seconds())


def active_runs(session: Session, project_id: int) -> list[Run]:
    """Return the project's queued or running runs, oldest first."""
    return list(
        session.scalars(
            select(Run).where(Run.project_id == project_id, Run.status.in_(ACTIVE_STATUSES)).order_by(Run.id)
        )
    )


def list_runs(session: Session, project_id: int, kind: str | None = None) -> list[Run]:
    """Return the project's runs, newest first, optionally of one kind."""
    query = select(Run).where(Run.project_id == project_id)
    if kind is not None:
        query = query.where(Run.kind == kind)
    return list(session.scalars(query.order_by(Run.id.desc())))


def get_run(session: Session, run_id: int) -> Run:
    """Return a run.

    Raises:
        LookupError: no run has this id.
    """
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"Run {run_id} not found.")
    return run


def metric_series(session: Session, run_id: int) -> dict[str, tuple[list[int], list[float]]]:
    """Return metric name -> (steps, values) for plotting."""
    series: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    rows = session.execute(
        select(RunMetric.name, RunMetric.step, RunMetric.value).where(RunMetric.run_id == run_id).order_by(RunMetric.id)
    )
    for name, step, value in rows:
        series[name][0].append(step)
        series[name][1].append(value)
    return dict(series)
