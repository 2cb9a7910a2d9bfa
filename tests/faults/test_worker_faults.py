"""Fault tests of the worker against the real SQLite file and real worker processes."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from core.jobs.queue import enqueue_run
from core.store.engine import session_scope
from core.store.models import Label, Run, RunMetric
from core.store.workspace import Workspace
from core.training.trainer import HeadConfig

pytestmark = pytest.mark.slow


def wait_for(condition: Callable[[], bool], timeout: float, description: str) -> None:
    """Poll ``condition`` until it holds; ``condition`` may fail the test itself on a dead end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {description}")


def read_run(workspace: Workspace, run_id: int) -> Run:
    with session_scope(workspace.database_url) as session:
        run = session.get(Run, run_id)
        assert run is not None, f"run {run_id} not found"
        session.expunge(run)
        return run


def queue_train_runs(project, steps: list[int]) -> list[int]:
    with session_scope(project.workspace.database_url) as session:
        runs = [
            enqueue_run(session, project.project_id, "train", HeadConfig(steps=count, eval_every=5).to_dict(), backbone_id=project.backbone_id)
            for count in steps
        ]
        return [run.id for run in runs]


def finished_ok(workspace: Workspace, run_id: int) -> bool:
    run = read_run(workspace, run_id)
    assert run.status != "failed", f"run {run_id} failed: {run.message}"
    return run.status == "succeeded"


def label_rows(project) -> list[tuple[int, int, str]]:
    with session_scope(project.workspace.database_url) as session:
        return list(session.execute(select(Label.tile_id, Label.version, Label.sha256).order_by(Label.id)).all())


def test_killed_worker_run_marked_failed(labeled_project, workers):
    project = labeled_project
    workspace = project.workspace
    earlier, long_run, later = queue_train_runs(project, [30, 100_000, 30])
    labels_before = label_rows(project)

    first = workers.start(workspace)
    wait_for(lambda: finished_ok(workspace, earlier), 240, "the earlier run to succeed")
    earlier_before = read_run(workspace, earlier)

    def long_run_progressing() -> bool:
        run = read_run(workspace, long_run)
        return run.status == "running" and run.stage == "training" and run.epoch >= 5

    wait_for(long_run_progressing, 240, "the long run to train a few steps")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert read_run(workspace, long_run).status == "running"

    second = workers.start(workspace, "--once")
    assert second.wait(timeout=300) == 0

    killed = read_run(workspace, long_run)
    assert killed.status == "failed"
    assert f"pid {first.pid}" in killed.message
    assert "killed or crashed" in killed.message
    assert killed.finished_at is not None
    assert killed.log_path is not None
    log_text = open(killed.log_path).read()
    assert f"Run {long_run} (train) started" in log_text

    assert read_run(workspace, later).status == "succeeded"
    earlier_after = read_run(workspace, earlier)
    assert earlier_after.status == "succeeded"
    assert earlier_after.metrics == earlier_before.metrics
    assert earlier_after.checkpoint_path == earlier_before.checkpoint_path
    assert label_rows(project) == labels_before


def test_two_workers_never_share_run(labeled_project, workers):
    project = labeled_project
    workspace = project.workspace
    run_ids = queue_train_runs(project, [5, 5, 5, 5, 5, 5])

    for _ in range(2):
        workers.start(workspace, "--max-idle", "3")
    for process in workers.processes:
        assert process.wait(timeout=400) == 0

    runs = [read_run(workspace, run_id) for run_id in run_ids]
    assert [(run.status, run.message) for run in runs] == [("succeeded", run.message) for run in runs]
    worker_pids = {process.pid for process in workers.processes}
    assert {run.worker_pid for run in runs} <= worker_pids

    # Each run logs its start once; a run executed twice would log two starts.
    for run in runs:
        log_text = open(run.log_path).read()
        assert log_text.count(f"Run {run.id} (train) started") == 1
    with session_scope(workspace.database_url) as session:
        for run in runs:
            final_steps = session.scalars(
                select(RunMetric.step).where(RunMetric.run_id == run.id, RunMetric.name == "val_loss")
            ).all()
            assert len(final_steps) == len(set(final_steps)), f"run {run.id} logged a step twice"


def test_bad_config_run_fails_readably(labeled_project, workers):
    project = labeled_project
    workspace = project.workspace
    with session_scope(workspace.database_url) as session:
        bad = enqueue_run(session, project.project_id, "train", {"head": "transformer-xl", "steps": 5}, backbone_id=project.backbone_id).id
        missing_backbone = enqueue_run(session, project.project_id, "train", {"steps": 5}).id
    good = queue_train_runs(project, [3])[0]

    worker = workers.start(workspace, "--once")
    assert worker.wait(timeout=300) == 0

    bad_run = read_run(workspace, bad)
    assert bad_run.status == "failed"
    assert "transformer-xl" in bad_run.message
    assert "Traceback" not in bad_run.message
    missing = read_run(workspace, missing_backbone)
    assert missing.status == "failed"
    assert "backbone" in missing.message
    assert read_run(workspace, good).status == "succeeded"
    assert "transformer-xl" in open(bad_run.log_path).read()
