"""Runs left in status running by a worker process that no longer exists."""

from __future__ import annotations

import subprocess
import sys

from core.jobs.queue import claim_next_run, enqueue_run
from core.jobs.worker import fail_orphaned_runs, run_log_path
from core.store.engine import session_scope
from core.store.models import Run


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_dead_worker_run_failed_with_log(studio, project_id):
    pid = dead_pid()
    with session_scope(studio.database_url) as session:
        run_id = enqueue_run(session, project_id, "train", {}).id
        claim_next_run(session, worker_pid=pid)
        session.get(Run, run_id).progress = 0.4
        session.get(Run, run_id).stage = "training"
    run_log_path(studio, run_id).write_text("step 1\n")

    assert fail_orphaned_runs(studio) == [run_id]

    with session_scope(studio.database_url) as session:
        run = session.get(Run, run_id)
        assert run.status == "failed"
        assert f"pid {pid}" in run.message
        assert "40%" in run.message
        assert "training" in run.message
        assert "killed or crashed" in run.message
        assert run.log_path == str(run_log_path(studio, run_id))
        assert run.finished_at is not None


def test_live_worker_run_left_running(studio, project_id):
    import os

    with session_scope(studio.database_url) as session:
        run_id = enqueue_run(session, project_id, "train", {}).id
        claim_next_run(session, worker_pid=os.getppid())

    assert fail_orphaned_runs(studio) == []
    with session_scope(studio.database_url) as session:
        assert session.get(Run, run_id).status == "running"
