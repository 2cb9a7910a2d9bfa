from datetime import timedelta

import pytest

from core.jobs.queue import (
    claim_next_run,
    enqueue_run,
    fail_stale_runs,
    finish_run,
    heartbeat,
    request_cancel,
)
from core.store.engine import session_scope
from core.store.models import Run, utc_now


def test_request_key_dedupes_enqueue(studio, project_id):
    with session_scope(studio.database_url) as session:
        first = enqueue_run(session, project_id, "train", {"steps": 5}, request_key="click-1")
        second = enqueue_run(session, project_id, "train", {"steps": 5}, request_key="click-1")
        assert first.id == second.id
        assert session.query(Run).count() == 1


def test_claim_takes_oldest_queued_once(studio, project_id):
    with session_scope(studio.database_url) as session:
        older = enqueue_run(session, project_id, "train", {})
        enqueue_run(session, project_id, "pretrain", {})
    with session_scope(studio.database_url) as session:
        claimed = claim_next_run(session, worker_pid=123)
        assert claimed.id == older.id
        assert claimed.status == "running"
        again = claim_next_run(session, worker_pid=456)
        assert again.id != older.id


def test_claim_returns_none_when_queue_empty(studio, project_id):
    with session_scope(studio.database_url) as session:
        assert claim_next_run(session, worker_pid=1) is None


def test_cancel_queued_run_ends_it(studio, project_id):
    with session_scope(studio.database_url) as session:
        run = enqueue_run(session, project_id, "train", {})
        request_cancel(session, run.id)
        assert session.get(Run, run.id).status == "cancelled"


def test_cancel_running_run_sets_flag(studio, project_id):
    with session_scope(studio.database_url) as session:
        run = enqueue_run(session, project_id, "train", {})
    with session_scope(studio.database_url) as session:
        claim_next_run(session, worker_pid=1)
        request_cancel(session, run.id)
    with session_scope(studio.database_url) as session:
        assert heartbeat(session, run.id) is True


def test_stale_running_run_is_failed(studio, project_id):
    with session_scope(studio.database_url) as session:
        run = enqueue_run(session, project_id, "train", {})
    with session_scope(studio.database_url) as session:
        claim_next_run(session, worker_pid=1)
        session.get(Run, run.id).heartbeat_at = utc_now() - timedelta(minutes=5)
        session.commit()
        assert fail_stale_runs(session) == [run.id]
        failed = session.get(Run, run.id)
        assert failed.status == "failed"
        assert "heartbeat" in failed.message


def test_finish_rejects_unknown_status(studio, project_id):
    with session_scope(studio.database_url) as session:
        run = enqueue_run(session, project_id, "train", {})
        with pytest.raises(ValueError, match="done"):
            finish_run(session, run.id, "done")
