"""Head-training options through the worker: adapters survive the checkpoint and batch prediction."""

import numpy as np
import tifffile
from sqlalchemy import select

from core.jobs.queue import enqueue_run
from core.jobs.worker import run_worker
from core.labels.versions import save_label
from core.projects.backbones import create_random_baseline
from core.store.engine import session_scope
from core.store.models import Project, Run, Tile
from core.training.trainer import HeadConfig


def test_adapter_head_trains_and_predicts_new_rasters(studio, project_id, tmp_path):
    with session_scope(studio.database_url) as session:
        tiles = list(session.scalars(select(Tile).where(Tile.project_id == project_id).order_by(Tile.id)))
        mask = np.full((tiles[0].height, tiles[0].width), 255, np.uint8)
        mask[:, :10], mask[:, -10:] = 1, 0
        save_label(session, studio, tiles[0], mask)
        backbone = create_random_baseline(session, studio, session.get(Project, project_id))
        config = HeadConfig.for_mode(True, steps=6, eval_every=3, warmup_steps=2, adapters=True, preview=False)
        train = enqueue_run(session, project_id, "train", config.to_dict(), backbone_id=backbone.id)
        source = tiles[1].path
    run_worker(studio, once=True)

    with session_scope(studio.database_url) as session:
        trained = session.get(Run, train.id)
        assert trained.status == "succeeded", trained.message
        assert "last_validation" in trained.metrics
        predict = enqueue_run(session, project_id, "predict",
                              {"source_run": train.id, "input": source, "output": str(tmp_path / "out")})
    run_worker(studio, once=True)

    with session_scope(studio.database_url) as session:
        finished = session.get(Run, predict.id)
        assert finished.status == "succeeded", finished.message
    files = sorted((tmp_path / "out").glob("*_classes.tif"))
    assert len(files) == 1
    assert tifffile.imread(files[0]).shape == (tiles[1].height, tiles[1].width)
