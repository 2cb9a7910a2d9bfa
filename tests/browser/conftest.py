"""Fixtures for the browser tests: a real run_app.py server on 127.0.0.1 and headless Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.store.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    """Poll the Streamlit health endpoint until it returns HTTP 200."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"run_app.py exited with code {process.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"run_app.py did not serve {url} within {timeout_s} s")


def stop_process_group(process: subprocess.Popen) -> None:
    """Interrupt a process group (run_app and Streamlit), then kill what is left."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def stop_worker(workspace: Workspace) -> None:
    """Kill the worker that run_app started for this workspace, if it is still alive.

    The worker runs in its own session (process group), so stopping run_app's
    group does not reach it. run_app terminates it on a clean exit.
    """
    from core.jobs.worker import WORKER_PID_FILE

    pid_file = workspace.root / WORKER_PID_FILE
    deadline = time.monotonic() + 10
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    if not pid_file.exists():
        return
    try:
        os.killpg(int(pid_file.read_text().strip()), signal.SIGKILL)
    except (ProcessLookupError, ValueError, PermissionError):
        pass


@pytest.fixture(scope="module")
def launch_app() -> Iterator[Callable[[Workspace, Path], str]]:
    """Return a function that starts run_app.py with its worker on a workspace and returns its URL.

    Every server started through it is stopped, with its worker, when the module ends.
    """
    started: list[tuple[subprocess.Popen, Workspace, object]] = []

    def launch(workspace: Workspace, log_path: Path) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(log_path, "wb")  # noqa: SIM115 - closed at teardown
        env = {**os.environ, "MULTISSL_WORKSPACE": str(workspace.root)}
        env.pop("MULTISSL_DATABASE_URL", None)
        process = subprocess.Popen(
            [sys.executable, "run_app.py", "--workspace", str(workspace.root), "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((process, workspace, log))
        wait_for_health(url, process, SERVER_START_S)
        return url

    yield launch
    for process, workspace, log in started:
        stop_process_group(process)
        stop_worker(workspace)
        log.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """A headless Debian Chromium driven by Playwright."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
