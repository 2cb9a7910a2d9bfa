"""The run queue lives in the database: enqueue, claim, heartbeat, cancel, recover."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.store.models import Run, RunMetric, utc_now

logger = logging.getLogger(__name__)

RunKind = Literal["pretrain", "train", "predict"]
RUN_KINDS: tuple[str, ...] = ("pretrain", "train", "predict")
ACTIVE_STATUSES = ("queued", "running")
FINISHED_STATUSES = ("succeeded", "failed", "cancelled")
# A running run whose worker has not written a heartbeat for this long is considered dead.
HEARTBEAT_TIMEOUT = timedelta(seconds=60)


def enqueue_run(
    session: Session,
    project_id: int,
    kind: RunKind,
    config: dict[str, Any],
    backbone_id: int | None = None,
    request_key: str | None = None,
) -> Run:
    """Queue a run, or return the existing one when ``request_key`` was already used.

    The request key comes from the UI (one per button press), so a rerun or a
    double click never queues the same run twice.
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"Invalid run kind {kind!r}; expected one of {RUN_KINDS}.")
    if request_key is not None:
        existing = session.scalar(select(Run).where(Run.request_key == request_key))
        if existing is not None:
            return existing
    run = Run(project_id=project_id, kind=kind, config=config, backbone_id=backbone_id, request_key=request_key)
    session.add(run)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        existing = session.scalar(select(Run).where(Run.request_key == request_key))
        if existing is None:
            raise
        return existing
    logger.info("Queued %s run %d for project %d", kind, run.id, project_id)
    return run


def claim_next_run(session: Session, worker_pid: int) -> Run | None:
    """Atomically move the oldest queued run to running and return it.

    The conditional UPDATE makes the claim safe with several workers, because
    only one of them gets a changed row count of 1.
    """
    candidates = session.scalars(select(Run.id).where(Run.status == "queued").order_by(Run.id).limit(5)).all()
    for run_id in candidates:
        now = utc_now()
        result = session.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == "queued")
            .values(status="running", worker_pid=worker_pid, started_at=now, heartbeat_at=now, stage="starting")
        )
        session.commit()
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return session.get(Run, run_id)
    return None


def heartbeat(session: Session, run_id: int, **fields: Any) -> bool:
    """Write the heartbeat and progress fields; return True if cancel was requested."""
    session.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=utc_now(), **fields))
    cancel = session.scalar(select(Run.cancel_requested).where(Run.id == run_id))
    session.commit()
    return bool(cancel)


def record_metrics(session: Session, run_id: int, step: int, epoch: int, values: dict[str, float]) -> None:
    """Append scalar metrics of one step."""
    session.add_all(
        RunMetric(run_id=run_id, step=step, epoch=epoch, name=name, value=float(value))
        for name, value in values.items()
    )
    session.commit()


def finish_run(session: Session, run_id: int, status: str, message: str = "", **fields: Any) -> None:
    """Mark a run as finished with ``status`` and a human-readable message."""
    if status not in FINISHED_STATUSES:
        raise ValueError(f"Invalid final status {status!r}; expected one of {FINISHED_STATUSES}.")
    session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(status=status, message=message, finished_at=utc_now(), heartbeat_at=utc_now(), **fields)
    )
    session.commit()
    logger.info("Run %d finished: %s %s", run_id, status, message)


def request_cancel(session: Session, run_id: int) -> None:
    """Ask the worker to stop a run; a queued run is cancelled at once."""
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"Run {run_id} not found.")
    if run.status == "queued":
        run.status = "cancelled"
        run.finished_at = utc_now()
        run.message = "Cancelled before it started."
    elif run.status == "running":
        run.cancel_requested = True
    session.flush()


def fail_stale_runs(session: Session, timeout: timedelta = HEARTBEAT_TIMEOUT) -> list[int]:
    """Mark running runs whose worker stopped sending heartbeats as failed.

    Returns:
        The ids of the runs that were marked failed.
    """
    cutoff = utc_now() - timeout
    stale = session.scalars(select(Run).where(Run.status == "running")).all()
    failed = []
    for run in stale:
        beat = run.heartbeat_at
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=cutoff.tzinfo)
        if beat is None or beat < cutoff:
            run.status = "failed"
            run.finished_at = utc_now()
            run.message = (
                f"The worker (pid {run.worker_pid}) stopped without finishing this run "
                f"(no heartbeat since {beat:%Y-%m-%d %H:%M:%S} UTC). Its log is kept; queue it again to retry."
                if beat
                else "The worker stopped before this run started. Queue it again to retry."
            )
            failed.append(run.id)
            logger.warning("Run %d marked failed: %s", run.id, run.message)
    session.commit()
    return failed
