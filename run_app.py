"""Start MultiSSL Studio: migrate the workspace, optionally import a folder, start the worker and the UI."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
logger = logging.getLogger("run_app")
# Loopback only, so the app is reachable from the network only when --host sets another address.
DEFAULT_HOST = "127.0.0.1"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from core.store.workspace import default_workspace_root

    parser = argparse.ArgumentParser(description="Start the MultiSSL Studio app and its worker.")
    parser.add_argument("--workspace", default=str(default_workspace_root()), help="workspace folder (default: %(default)s)")
    parser.add_argument("--import", dest="import_folder", help="create a project from this folder of tiles first")
    parser.add_argument("--bands", help="comma-separated band names for --import, in file order")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind; anything but 127.0.0.1 exposes your data to the network")
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--no-worker", action="store_true", help="do not start the worker process")
    return parser.parse_args(argv)


def import_folder(workspace_root: Path, folder: Path, bands: str | None) -> None:
    """Create a project from ``folder`` unless a project already reads that folder."""
    from sqlalchemy import select

    from core.projects.importer import ProjectImportError, create_project, resolve_image_folder
    from core.store.engine import session_scope
    from core.store.models import Project
    from core.store.workspace import Workspace

    workspace = Workspace(workspace_root)
    image_folder = resolve_image_folder(folder)
    with session_scope(workspace.database_url) as session:
        existing = session.scalar(select(Project).where(Project.source_folder == str(image_folder.resolve())))
        if existing is not None:
            logger.info("Project %r already reads %s; opening it", existing.name, image_folder)
            return
        name = folder.resolve().name
        try:
            result = create_project(session, folder, name, bands.split(",") if bands else None, workspace=workspace)
        except ProjectImportError as error:
            logger.error("Import failed: %s", error)
            raise SystemExit(2) from error
    logger.info("Imported %d tiles from %s into project %r", result.tile_count, folder, name)
    for file_name, reason in result.skipped:
        logger.warning("Left out %s: %s", file_name, reason)


def warn_if_exposed(host: str) -> bool:
    """Log a warning when the server binds to an address other than 127.0.0.1; return True if it did."""
    if host == DEFAULT_HOST:
        return False
    logger.warning("Binding to %s: anyone who can reach this address can read and change your labels.", host)
    return True


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    from core.jobs.launcher import start_worker
    from core.store.engine import upgrade_database
    from core.store.workspace import WORKSPACE_ENV, Workspace

    workspace = Workspace(Path(args.workspace).expanduser().resolve()).create()
    os.environ[WORKSPACE_ENV] = str(workspace.root)
    upgrade_database(workspace.database_url)
    if args.import_folder:
        import_folder(workspace.root, Path(args.import_folder), args.bands)
    warn_if_exposed(args.host)

    worker = None if args.no_worker else start_worker(workspace)
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"),
        "--server.address", args.host, "--server.port", str(args.port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
    ]
    logger.info("Workspace %s; open http://%s:%d", workspace.root, args.host, args.port)
    # A SIGTERM (kill, a service manager) unwinds like Ctrl-C, so the server and worker stop too.
    signal.signal(signal.SIGTERM, _interrupt)
    server = subprocess.Popen(command, cwd=ROOT)
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        server.terminate()
        if worker is not None:
            worker.terminate()


def _interrupt(signum: int, _frame: object) -> None:
    logger.info("Received signal %d; stopping the server and the worker", signum)
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
