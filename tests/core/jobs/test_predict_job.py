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


def test_predict_run_writes_class_maps(studio, project_id, tmp_path):
    with session_scope(studio.database_url) as session:
        tiles = list(session.scalars(select(Tile).where(Tile.project_id == project_id).order_by(Tile.id)))
        mask = np.full((tiles[0].height, tiles[0].width), 255, np.uint8)
        mask[:, :10] = 1
        mask[:, -10:] = 0
        save_label(session, studio, tiles[0], mask)
        backbone = create_random_baseline(session, studio, session.get(Project, project_id))
        train = enqueue_run(session, project_id, "train", HeadConfig(steps=5, preview=False).to_dict(), backbone_id=backbone.id)
        source = tiles[1].path
    run_worker(studio, once=True)

    output = tmp_path / "predicted"
    with session_scope(studio.database_url) as session:
        assert session.get(Run, train.id).status == "succeeded"
        predict = enqueue_run(session, project_id, "predict", {"source_run": train.id, "input": source, "output": str(output)})
    run_worker(studio, once=True)

    with session_scope(studio.database_url) as session:
        finished = session.get(Run, predict.id)
        assert finished.status == "succeeded", finished.message
    files = sorted(output.glob("*_classes.tif"))
    assert len(files) == 1
    assert tifffile.imread(files[0]).shape == (tiles[1].height, tiles[1].width)


def test_predict_run_without_source_fails_readably(studio, project_id):
    with session_scope(studio.database_url) as session:
        run = enqueue_run(session, project_id, "predict", {"input": "/nowhere"})
    run_worker(studio, once=True)
    with session_scope(studio.database_url) as session:
        failed = session.get(Run, run.id)
        assert failed.status == "failed"
        assert "source_run" in failed.message
