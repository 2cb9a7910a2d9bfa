"""Feature cache: keyed by backbone, tile content and normalization; reused across runs."""

import numpy as np
from sqlalchemy import select

from core.jobs.queue import enqueue_run
from core.jobs.worker import run_worker
from core.labels.versions import save_label
from core.projects.backbones import create_random_baseline
from core.store.engine import session_scope
from core.store.models import Project, Run, Tile
from core.training.features import FeatureCache, feature_cache_key
from core.training.trainer import HeadConfig

NORMALIZATION = {"red": [100.0, 10.0], "nir": [300.0, 30.0]}


def test_key_changes_with_backbone_tile_and_normalization():
    key = feature_cache_key("backbone-a", "tile-1", NORMALIZATION)
    assert key == feature_cache_key("backbone-a", "tile-1", dict(reversed(NORMALIZATION.items())))
    assert key != feature_cache_key("backbone-b", "tile-1", NORMALIZATION)
    assert key != feature_cache_key("backbone-a", "tile-2", NORMALIZATION)
    assert key != feature_cache_key("backbone-a", "tile-1", {**NORMALIZATION, "red": [100.0, 11.0]})


def test_cache_round_trip_and_unreadable_entry(tmp_path):
    cache = FeatureCache(tmp_path)
    features = [np.arange(24, dtype=np.float16).reshape(2, 3, 4), np.ones((4, 2, 2), np.float16)]
    cache.put("ab12", features)
    restored = cache.get("ab12")
    assert [f.shape for f in restored] == [(2, 3, 4), (4, 2, 2)]
    np.testing.assert_array_equal(restored[0], features[0])
    assert cache.get("cd34") is None
    cache.path("ab12").write_bytes(b"not an npz file")
    assert cache.get("ab12") is None


def _train(studio, project_id, backbone_id):
    config = HeadConfig.for_mode(False, steps=3, preview=False).to_dict()
    with session_scope(studio.database_url) as session:
        run = enqueue_run(session, project_id, "train", config, backbone_id=backbone_id)
    run_worker(studio, once=True)
    with session_scope(studio.database_url) as session:
        finished = session.get(Run, run.id)
        assert finished.status == "succeeded", finished.message
        return finished.metrics


def test_cache_reuse_across_runs(studio, project_id):
    with session_scope(studio.database_url) as session:
        tiles = list(session.scalars(select(Tile).where(Tile.project_id == project_id).order_by(Tile.id)))
        mask = np.full((tiles[0].height, tiles[0].width), 255, np.uint8)
        mask[:, :10], mask[:, -10:] = 1, 0
        save_label(session, studio, tiles[0], mask)
        project = session.get(Project, project_id)
        first = create_random_baseline(session, studio, project).id
        second = create_random_baseline(session, studio, project, arch="resnet50").id

    assert _train(studio, project_id, first)["feature_cache_hits"] == 0
    assert _train(studio, project_id, first)["feature_cache_hits"] == len(tiles)
    assert _train(studio, project_id, second)["feature_cache_hits"] == 0
