"""Start the worker as a separate process (never inside the Streamlit script thread)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from core.jobs.worker import worker_running
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def start_worker(workspace: Workspace) -> subprocess.Popen[bytes] | None:
    """Spawn ``python -m core worker`` for the workspace unless one is already running.

    Returns:
        The new process, or None when a worker was already running.
    """
    if worker_running(workspace):
        return None
    workspace.create()
    log = open(workspace.logs_dir / "worker.log", "ab")  # noqa: SIM115 - owned by the child process
    process = subprocess.Popen(
        [sys.executable, "-m", "core", "--workspace", str(workspace.root), "worker"],
        cwd=REPOSITORY_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    logger.info("Started worker process %d for %s", process.pid, workspace.root)
    return process
