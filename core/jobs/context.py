"""Job context of a run: progress and heartbeat writes, metrics, cancel checks."""

from __future__ import annotations

import logging
import time
from typing import Any

from core.jobs.queue import heartbeat, record_metrics
from core.store.retry import retry_on_locked
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a job when the user asked to cancel its run."""


class JobContext:
    """Progress reporting for one run, throttled to a few database writes a second."""

    def __init__(self, workspace: Workspace, run_id: int, min_interval: float = 0.5) -> None:
        self.workspace = workspace
        self.run_id = run_id
        self.min_interval = min_interval
        self._last_write = 0.0
        self.cancel_requested = False

    def update(self, force: bool = False, **fields: Any) -> None:
        """Write progress fields and the heartbeat; raise JobCancelled if cancel was requested."""
        now = time.monotonic()
        if not force and now - self._last_write < self.min_interval:
            return
        self._last_write = now
        self.cancel_requested = retry_on_locked(
            self.workspace.database_url,
            lambda session: heartbeat(session, self.run_id, **fields),
            operation=f"heartbeat of run {self.run_id}",
        )
        if self.cancel_requested:
            raise JobCancelled(f"Run {self.run_id} was cancelled by the user.")

    def should_stop(self) -> bool:
        """Return True once cancel was requested (checked at the last heartbeat)."""
        return self.cancel_requested

    def log_metrics(self, step: int, epoch: int, values: dict[str, float]) -> None:
        """Store finite scalar metrics of one step."""
        finite = {k: float(v) for k, v in values.items() if isinstance(v, int | float) and v == v}
        if not finite:
            return
        retry_on_locked(
            self.workspace.database_url,
            lambda session: record_metrics(session, self.run_id, step, epoch, finite),
            operation=f"metrics of run {self.run_id} at step {step}",
        )
