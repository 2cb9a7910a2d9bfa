"""Load benchmark: a project of many tiny tiles, the Projects page, and concurrent sessions.

Steps, each timed:

1. Write ``--tiles`` synthetic 3-band uint16 tiles of 16 x 16 pixels and
   import them as one project through `create_project`.
2. Render app/main.py with AppTest on the Projects page with that project
   selected (the gallery shows 24 thumbnails per page): a cold run, which
   also writes the thumbnails, then a warm run in a fresh AppTest.
3. Start ``run_app.py --no-worker`` on 127.0.0.1 and send ``--sessions``
   concurrent HTTP requests to ``/`` and to ``/_stcore/health``.
4. Open the Label page of a tile in ``--sessions`` Playwright browser contexts
   at once (Chromium at /usr/bin/chromium) and wait until the canvas shows.

Usage:
    python benchmarks/load_project.py [--tiles 2000] [--sessions 20] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tifffile

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

logger = logging.getLogger("load_project")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SERVER_START_S = 90
PAGE_LOAD_S = 180


def write_tiles(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        data = rng.integers(500, 4000, (3, 16, 16), dtype=np.uint16)
        tifffile.imwrite(folder / f"tile_{index:05d}.tif", data, photometric="minisblack", planarconfig="separate")


def import_project(workspace_root: Path, folder: Path) -> tuple[int, int]:
    """Import ``folder`` and return (project id, first tile id)."""
    from sqlalchemy import select

    from core.projects.importer import create_project
    from core.store.engine import session_scope, upgrade_database
    from core.store.models import Tile
    from core.store.workspace import Workspace

    workspace = Workspace(workspace_root).create()
    upgrade_database(workspace.database_url)
    with session_scope(workspace.database_url) as session:
        result = create_project(session, folder, "load", ["red", "green", "blue"], ["soil", "crop"])
        tile_id = session.scalar(select(Tile.id).where(Tile.project_id == result.project_id).order_by(Tile.id))
    return result.project_id, int(tile_id)


def time_projects_page(project_id: int) -> dict[str, float]:
    """Render the Projects page twice with AppTest; return the cold and warm seconds."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    timings: dict[str, float] = {}
    for name in ("cold_s", "warm_s"):
        app = AppTest.from_file(str(REPO_ROOT / "app" / "main.py"), default_timeout=600)
        app.query_params["project"] = str(project_id)
        started = time.perf_counter()
        app.run()
        timings[name] = time.perf_counter() - started
        if app.exception:
            raise RuntimeError(f"the Projects page raised: {app.exception[0].message}")
        timings["thumbnails_shown"] = float(len(app.main.get("image")))
        if name == "cold_s":
            st.cache_data.clear()
    return timings


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            return response.status, time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, time.perf_counter() - started


def wait_for_health(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"run_app.py exited with code {process.returncode}")
        try:
            if fetch(f"{url}/_stcore/health")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"run_app.py did not serve {url} within {SERVER_START_S} s")


def http_sessions(url: str, sessions: int) -> dict[str, float]:
    """Request / and the health endpoint from ``sessions`` threads at once."""
    targets = [f"{url}/", f"{url}/_stcore/health"] * sessions
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        results = list(pool.map(fetch, targets))
    latencies = sorted(seconds for _, seconds in results)
    return {
        "requests": float(len(results)),
        "non_200": float(sum(status != 200 for status, _ in results)),
        "median_s": latencies[len(latencies) // 2],
        "max_s": latencies[-1],
    }


def browser_sessions(url: str, sessions: int, project_id: int, tile_id: int) -> dict[str, float]:
    """Open the Label page in ``sessions`` browser contexts at once; time until each canvas shows."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        pages = [browser.new_context().new_page() for _ in range(sessions)]
        started = time.perf_counter()
        for page in pages:
            page.goto(f"{url}/label?project={project_id}&tile={tile_id}", wait_until="commit")
        loaded: list[float] = []
        errors = 0
        for page in pages:
            try:
                page.locator("canvas.upper-canvas").wait_for(state="visible", timeout=PAGE_LOAD_S * 1000)
                loaded.append(time.perf_counter() - started)
            except Exception as error:  # noqa: BLE001 - counted and logged, the run goes on
                logger.error("A session did not show the canvas: %s", error)
                errors += 1
            errors += page.locator('[data-testid="stException"]').count()
        browser.close()
    return {
        "sessions": float(sessions),
        "errors": float(errors),
        "all_loaded_s": max(loaded, default=float("nan")),
        "first_loaded_s": min(loaded, default=float("nan")),
    }


def serve_and_measure(workspace_root: Path, args: argparse.Namespace, project_id: int, tile_id: int) -> dict[str, object]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MULTISSL_WORKSPACE": str(workspace_root)}
    log = open(workspace_root / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "run_app.py", "--workspace", str(workspace_root), "--port", str(port), "--no-worker"],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    results: dict[str, object] = {}
    try:
        started = time.perf_counter()
        wait_for_health(url, process)
        results["server_start_s"] = time.perf_counter() - started
        results["http"] = http_sessions(url, args.sessions)
        if not args.no_browser and CHROMIUM.exists():
            results["browser"] = browser_sessions(url, args.sessions, project_id, tile_id)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    return results


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiles", type=int, default=2000, help="number of 16 x 16 tiles in the project")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent HTTP and browser sessions")
    parser.add_argument("--no-browser", action="store_true", help="skip the Playwright page loads")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="load_project_") as temporary:
        base = Path(temporary)
        workspace_root = base / "workspace"
        os.environ["MULTISSL_WORKSPACE"] = str(workspace_root)
        os.environ.pop("MULTISSL_DATABASE_URL", None)
        results: dict[str, object] = {"tiles": args.tiles, "cpus": os.cpu_count()}

        started = time.perf_counter()
        write_tiles(base / "tiles", args.tiles)
        results["write_tiles_s"] = time.perf_counter() - started
        started = time.perf_counter()
        project_id, tile_id = import_project(workspace_root, base / "tiles")
        results["import_s"] = time.perf_counter() - started

        results["projects_page"] = time_projects_page(project_id)
        results.update(serve_and_measure(workspace_root, args, project_id, tile_id))
    sys.stdout.write(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
