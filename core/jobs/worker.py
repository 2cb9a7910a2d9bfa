"""The worker process: claims queued runs from the database and executes them."""

from __future__ import annotations

import logging
import os
import signal
import time
import traceback
from pathlib import Path
from typing import Any

import torch
from sqlalchemy import select

from core.jobs.context import JobCancelled, JobContext
from core.jobs.queue import claim_next_run, fail_stale_runs, finish_run
from core.jobs.status import as_utc
from core.store.engine import session_scope, upgrade_database
from core.store.models import Run, utc_now
from core.store.retry import retry_on_locked
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)

WORKER_PID_FILE = "worker.pid"


def pid_alive(pid: int | None) -> bool:
    """Return True if a process with ``pid`` exists on this machine."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_log_path(workspace: Workspace, run_id: int) -> Path:
    """Return the log file of a run under the workspace's logs folder."""
    return workspace.logs_dir / f"run_{run_id}.log"


def fail_orphaned_runs(workspace: Workspace) -> list[int]:
    """Mark running runs whose worker process is gone, or silent too long, as failed.

    The log path is stored on each failed run, so the user can read how far it got.

    NOTE: the process check assumes every worker runs on this machine; with a
    shared database server, only the heartbeat timeout applies safely.
    """
    failed: list[int] = []
    with session_scope(workspace.database_url) as session:
        for run in session.scalars(select(Run).where(Run.status == "running")):
            if run.worker_pid == os.getpid() or pid_alive(run.worker_pid):
                continue
            log_path = run_log_path(workspace, run.id)
            beat = as_utc(run.heartbeat_at)
            last = f"{beat:%Y-%m-%d %H:%M:%S} UTC" if beat else "never"
            run.status = "failed"
            run.finished_at = utc_now()
            run.log_path = str(log_path) if log_path.exists() else run.log_path
            run.message = (
                f"The worker process (pid {run.worker_pid}) ended while this run was at "
                f"{run.progress:.0%} ({run.stage or 'no stage'}); last heartbeat: {last}. It was "
                "killed or crashed. The log is kept; queue the run again to retry."
            )
            failed.append(run.id)
            logger.warning("Run %d marked failed: %s", run.id, run.message)
        session.flush()
        failed += fail_stale_runs(session)
    return failed


def _execute(workspace: Workspace, run: Run) -> tuple[str, str, dict[str, Any]]:
    ctx = JobContext(workspace, run.id)
    match run.kind:
        case "train":
            from core.jobs.train_job import run_train_job

            fields = run_train_job(ctx)
            validation = fields["metrics"].get("validation", {})
            message = f"Trained; validation mean IoU {validation.get('mean_iou', float('nan')):.3f}."
            if fields["metrics"].get("warning"):
                message += " " + fields["metrics"]["warning"]
            return "succeeded", message, fields
        case "pretrain":
            from core.jobs.pretrain_job import run_pretrain_job

            fields = run_pretrain_job(ctx)
            return "succeeded", f"Backbone registered ({fields['metrics']['epochs_completed']} epochs).", fields
        case "predict":
            from core.jobs.predict_job import run_predict_job

            fields = run_predict_job(ctx)
            return "succeeded", f"Predicted {fields['metrics']['rasters']} raster(s) into {run.config.get('output')}.", fields
        case _:
            raise ValueError(f"Invalid run kind {run.kind!r}; expected 'train', 'pretrain' or 'predict'.")


def _readable_reason(error: BaseException) -> str:
    if isinstance(error, MemoryError | torch.OutOfMemoryError):
        return "Out of memory: train on fewer or smaller tiles, or lower the batch size and crop size."
    return f"{type(error).__name__}: {error}"


def execute_run(workspace: Workspace, run: Run) -> str:
    """Run one claimed run to its end and store its final status; return that status."""
    log_path = run_log_path(workspace, run.id)
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logger.info("Run %d (%s) started by worker %d", run.id, run.kind, os.getpid())
    try:
        status, message, fields = _execute(workspace, run)
    except JobCancelled as error:
        status, message, fields = "cancelled", str(error), {}
    except Exception as error:  # noqa: BLE001 - every failure must end the run with a reason
        logger.error("Run %d failed: %s\n%s", run.id, error, traceback.format_exc())
        status, message, fields = "failed", _readable_reason(error), {}
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    extra = {"progress": 1.0, **fields} if status == "succeeded" else {}
    retry_on_locked(
        workspace.database_url,
        lambda session: finish_run(session, run.id, status, message, log_path=str(log_path), **extra),
        operation=f"final status of run {run.id}",
    )
    return status


def run_worker(workspace: Workspace, once: bool = False, poll_interval: float = 1.0, max_idle: float | None = None) -> None:
    """Poll the queue and execute runs until stopped (or until idle, with ``once``/``max_idle``).

    Args:
        workspace: The workspace whose database contains the queue.
        once: Execute at most the runs queued now, then return.
        poll_interval: Seconds between queue checks when idle.
        max_idle: Return after this many idle seconds (None waits forever).
    """
    workspace.create()
    upgrade_database(workspace.database_url)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    pid_file = workspace.root / WORKER_PID_FILE
    pid_file.write_text(str(os.getpid()))
    stopping = False

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        logger.info("Worker %d received signal %d; stopping after the current step", os.getpid(), signum)
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    failed = fail_orphaned_runs(workspace)
    logger.info("Worker %d started on %s (%d orphaned runs marked failed)", os.getpid(), workspace.root, len(failed))
    idle_since = time.monotonic()
    try:
        while not stopping:
            with session_scope(workspace.database_url) as session:
                run = claim_next_run(session, os.getpid())
                if run is not None:
                    session.expunge(run)
            if run is None:
                if once or (max_idle is not None and time.monotonic() - idle_since > max_idle):
                    break
                time.sleep(poll_interval)
                continue
            execute_run(workspace, run)
            idle_since = time.monotonic()
    finally:
        if pid_file.exists() and pid_file.read_text().strip() == str(os.getpid()):
            pid_file.unlink(missing_ok=True)
        logger.info("Worker %d stopped", os.getpid())


def worker_running(workspace: Workspace) -> bool:
    """Return True if the workspace's worker process (per its pid file) is alive."""
    pid_file = Path(workspace.root) / WORKER_PID_FILE
    try:
        return pid_alive(int(pid_file.read_text().strip()))
    except (OSError, ValueError):
        return False
