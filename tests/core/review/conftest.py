"""A workspace with one trained head run, shared by the review and bundle tests of a module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from core.store.engine import session_scope, upgrade_database
from core.store.workspace import Workspace

TILE_HEIGHT, TILE_WIDTH = 64, 96


@dataclass(frozen=True)
class TrainedRun:
    """A workspace, its project, tiles and one succeeded head training run."""

    workspace: Workspace
    project_id: int
    tile_ids: list[int]
    tile_paths: list[Path]
    run_id: int


def save_half_label(workspace: Workspace, tile_id: int) -> None:
    """Label soil (0) on a stripe of the left half and crop (1) on a stripe of the right half."""
    from core.labels.versions import save_label
    from core.store.models import Tile

    with session_scope(workspace.database_url) as session:
        mask = np.full((TILE_HEIGHT, TILE_WIDTH), 255, dtype=np.uint8)
        mask[8:56, 4:40] = 0
        mask[8:56, 56:92] = 1
        save_label(session, workspace, session.get(Tile, tile_id), mask)


def train_tiny_run(workspace: Workspace, project_id: int) -> int:
    """Queue a 12-step head run on a random-init ResNet18 and execute it in this process."""
    from core.jobs.queue import enqueue_run
    from core.jobs.worker import run_worker
    from core.projects.backbones import create_random_baseline
    from core.store.models import Project, Run
    from core.training.trainer import HeadConfig

    with session_scope(workspace.database_url) as session:
        backbone = create_random_baseline(session, workspace, session.get(Project, project_id))
        # NOTE: 12 steps, because HeadConfig(steps=10) fails in OneCycleLR (pct_start 0.1 x 10 steps
        # leaves a warm-up phase of zero length and divides by zero).
        config = HeadConfig(steps=12, batch_size=2, crop_size=64, eval_every=5).to_dict()
        run_id = enqueue_run(session, project_id, "train", config, backbone_id=backbone.id).id
    run_worker(workspace, once=True)
    with session_scope(workspace.database_url) as session:
        run = session.get(Run, run_id)
        assert run.status == "succeeded", run.message
    return run_id


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tile_folder_writer, project_factory) -> TrainedRun:
    """Three 64 x 96 tiles, a label on the first, and a trained 12-step head run."""
    base = tmp_path_factory.mktemp("review")
    workspace = Workspace(base / "workspace").create()
    upgrade_database(workspace.database_url)
    folder = tile_folder_writer(base / "tiles", count=3, height=TILE_HEIGHT, width=TILE_WIDTH, seed=3)
    created = project_factory(workspace, folder)
    save_half_label(workspace, created.tile_ids[0])
    run_id = train_tiny_run(workspace, created.project_id)
    paths = sorted(folder.glob("*.tif"))
    return TrainedRun(workspace, created.project_id, created.tile_ids, paths, run_id)
