"""The whole loop on real WeedMap imagery: import, sparse labels, pretrain, train, predict."""

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from core.jobs.queue import enqueue_run
from core.labels.versions import save_label
from core.projects.importer import create_project
from core.store.engine import session_scope, upgrade_database
from core.store.models import Backbone, Prediction, Run, Tile
from core.store.workspace import Workspace
from core.training.metrics import confusion_matrix, scores_from_confusion
from core.training.trainer import HeadConfig

REPO = Path(__file__).resolve().parents[2]
WEEDMAP = REPO.parent / "shared" / "data" / "weedmap_rededge_cir"
LABELED_TILES = 3
TILE_COUNT = 16

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not WEEDMAP.is_dir(), reason=f"real imagery not found at {WEEDMAP}"),
]


def run_worker_process(workspace: Workspace) -> None:
    """Run the real worker process until the queue is empty."""
    completed = subprocess.run(
        [sys.executable, "-m", "core", "--workspace", str(workspace.root), "worker", "--once"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


def link_tiles(folder: Path) -> list[Path]:
    """Copy tiles of two field maps into a temporary folder (symlinks out of a folder are refused)."""
    folder.mkdir()
    names = sorted(p.name for p in (WEEDMAP / "images").glob("rededge_m00[01]_*.png"))
    chosen = names[:: max(1, len(names) // TILE_COUNT)][:TILE_COUNT]
    for name in chosen:
        shutil.copy(WEEDMAP / "images" / name, folder / name)
    return [folder / name for name in chosen]


def ground_truth(name: str) -> np.ndarray:
    return cv2.imread(str(WEEDMAP / "masks" / name), cv2.IMREAD_UNCHANGED)


def test_whole_loop_beats_majority_class(tmp_path):
    workspace = Workspace(tmp_path / "workspace").create()
    upgrade_database(workspace.database_url)
    link_tiles(tmp_path / "tiles")
    rng = np.random.default_rng(0)

    with session_scope(workspace.database_url) as session:
        result = create_project(session, tmp_path / "tiles", "weedmap", ["nir", "red", "green"], ["soil", "crop", "weed"])
        project_id = result.project_id
        tiles = list(session.scalars(select(Tile).where(Tile.project_id == project_id).order_by(Tile.id)))
        for tile in tiles[:LABELED_TILES]:
            truth = ground_truth(tile.name)
            sparse = np.where(rng.random(truth.shape) < 0.05, truth, 255).astype(np.uint8)
            save_label(session, workspace, tile, sparse)
        enqueue_run(session, project_id, "pretrain", {"epochs": 1, "batch_size": 8, "crop_size": 96, "views": 4})
    run_worker_process(workspace)

    with session_scope(workspace.database_url) as session:
        backbone = session.scalar(select(Backbone).where(Backbone.method == "fastsiam"))
        assert backbone is not None, session.scalar(select(Run.message))
        config = HeadConfig(steps=150, semi_supervised=True).to_dict()
        train_run = enqueue_run(session, project_id, "train", config, backbone_id=backbone.id)
    run_worker_process(workspace)

    with session_scope(workspace.database_url) as session:
        run = session.get(Run, train_run.id)
        assert run.status == "succeeded", run.message
        predictions = {p.tile_id: p for p in session.scalars(select(Prediction).where(Prediction.run_id == run.id))}
    assert set(predictions) == {tile.id for tile in tiles}

    model = np.zeros((3, 3), np.int64)
    majority = np.zeros((3, 3), np.int64)
    for tile in tiles[LABELED_TILES:]:
        truth = ground_truth(tile.name)
        predicted = cv2.imread(predictions[tile.id].class_path, cv2.IMREAD_UNCHANGED)
        model += confusion_matrix(truth, predicted, 3)
        majority += confusion_matrix(truth, np.zeros_like(truth), 3)
    model_iou = scores_from_confusion(model)["mean_iou"]
    majority_iou = scores_from_confusion(majority)["mean_iou"]
    print(f"mean IoU on unlabeled tiles: model {model_iou:.3f}, majority class {majority_iou:.3f}")
    assert model_iou > majority_iou + 0.1
