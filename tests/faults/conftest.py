"""Fixtures for fault tests: a labeled project with a random baseline backbone, and real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from core.labels.versions import save_label
from core.projects.backbones import create_random_baseline
from core.projects.importer import create_project
from core.store.engine import session_scope, upgrade_database
from core.store.models import Project, Tile
from core.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LabeledProject:
    """A workspace with one project, two labeled tiles and a random baseline backbone."""

    workspace: Workspace
    project_id: int
    backbone_id: int
    tile_ids: list[int]


def write_fault_tiles(folder: Path, count: int = 4) -> None:
    """Write ``count`` small seeded 3-band uint16 tiles with a bright left half."""
    import tifffile

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        data = rng.normal(1000, 60, size=(3, 48, 64))
        data[:, :, :32] += 1500
        tifffile.imwrite(folder / f"tile_{index}.tif", data.astype(np.uint16), photometric="minisblack", planarconfig="separate")


@pytest.fixture
def labeled_project(tmp_path: Path) -> LabeledProject:
    """Create a migrated workspace with a labeled 4-tile project and a random baseline backbone."""
    workspace = Workspace(tmp_path / "workspace").create()
    upgrade_database(workspace.database_url)
    write_fault_tiles(tmp_path / "tiles")
    with session_scope(workspace.database_url) as session:
        result = create_project(session, tmp_path / "tiles", "faults", ["red", "green", "blue"], ["soil", "crop"])
        project = session.get(Project, result.project_id)
        backbone = create_random_baseline(session, workspace, project)
        tiles = list(session.scalars(select(Tile).where(Tile.project_id == project.id).order_by(Tile.id)))
        for tile in tiles[:2]:
            mask = np.full((tile.height, tile.width), 255, np.uint8)
            mask[::4, 4:28:4] = 1
            mask[::4, 36:60:4] = 0
            save_label(session, workspace, tile, mask)
        return LabeledProject(workspace, project.id, backbone.id, [t.id for t in tiles])


class WorkerStarter:
    """Starts real ``python -m core --workspace DIR worker`` processes and remembers them."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, workspace: Workspace, *extra: str) -> subprocess.Popen[bytes]:
        """Start a worker with extra CLI options; its output goes to a file in the workspace."""
        log = open(workspace.root / f"worker_{time.monotonic_ns()}.out", "wb")  # noqa: SIM115 - closed with the process
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "core", "--workspace", str(workspace.root), "worker", *extra],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        self.processes.append(process)
        return process


@pytest.fixture
def workers() -> Iterator[WorkerStarter]:
    """Start worker processes for a test and kill the ones still alive at its end."""
    starter = WorkerStarter()
    yield starter
    for process in starter.processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
