"""Time from Train to predictions on every tile, side by side with a pixel-classifier baseline.

Project: 5 labeled and 50 unlabeled synthetic 5-band uint16 tiles of 256 x 256
(field-like stripes of crop rows over soil, with noise). Each method runs
through the real worker code path (queue, features, training, prediction,
database writes); the baseline is the random-forest pixel classifier on band
values and filter responses, fitted and applied to the same tiles.

    .venv/bin/python benchmarks/head_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
import torch

from core.jobs.queue import enqueue_run
from core.jobs.worker import run_worker
from core.labels.versions import save_label
from core.projects.backbones import create_random_baseline
from core.projects.importer import create_project
from core.projects.queries import list_tiles
from core.projects.tiles import load_raster, project_normalization, standardize
from core.store.engine import session_scope, upgrade_database
from core.store.models import Project, Run
from core.store.workspace import Workspace
from core.training.pixel_classifier import PixelClassifier, filter_features
from core.training.trainer import HeadConfig

logger = logging.getLogger("head_speed")
BANDS = ["blue", "green", "red", "red_edge", "nir"]


def write_field(folder: Path, count: int, size: int, seed: int) -> list[np.ndarray]:
    """Write synthetic field tiles and return their true class maps (0 soil, 1 crop)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    truths = []
    rows, cols = np.mgrid[0:size, 0:size]
    for index in range(count):
        angle, period = rng.uniform(0, np.pi), rng.uniform(14, 24)
        phase = (rows * np.cos(angle) + cols * np.sin(angle)) % period
        truth = (phase < period * 0.35).astype(np.uint8)
        soil = np.array([900, 1100, 1300, 1700, 2000])[:, None, None]
        crop = np.array([400, 900, 500, 2500, 4200])[:, None, None]
        data = np.where(truth[None] == 1, crop, soil) + rng.normal(0, 120, size=(5, size, size))
        tifffile.imwrite(folder / f"tile_{index:03d}.tif", np.clip(data, 0, 65535).astype(np.uint16), photometric="minisblack")
        truths.append(truth)
    return truths


def scribble(truth: np.ndarray, rng: np.random.Generator, share: float = 0.02) -> np.ndarray:
    """Keep about ``share`` of pixels as labels, sampled along horizontal strokes."""
    mask = np.full(truth.shape, 255, np.uint8)
    for row in rng.choice(truth.shape[0], size=max(1, int(truth.shape[0] * share)), replace=False):
        mask[row] = truth[row]
    return mask


def time_run(workspace: Workspace, project_id: int, backbone_id: int, config: HeadConfig) -> dict[str, float]:
    with session_scope(workspace.database_url) as session:
        run = enqueue_run(session, project_id, "train", config.to_dict(), backbone_id=backbone_id)
    start = time.perf_counter()
    run_worker(workspace, once=True)
    total = time.perf_counter() - start
    with session_scope(workspace.database_url) as session:
        finished = session.get(Run, run.id)
        if finished.status != "succeeded":
            raise RuntimeError(f"Run {run.id} {finished.status}: {finished.message}")
        return {"wall_s": total, **finished.metrics["timings"]}


def time_pixel_classifier(workspace: Workspace, project_id: int, labeled: dict[int, np.ndarray]) -> float:
    start = time.perf_counter()
    with session_scope(workspace.database_url) as session:
        project = session.get(Project, project_id)
        tiles = list_tiles(session, project_id)
        normalization = project_normalization(project)
        band_names = project.band_names
    images = {}
    for tile in tiles:
        raster = load_raster(tile)
        images[tile.id] = (filter_features(standardize(raster, band_names, normalization)), raster.valid)
    model = PixelClassifier(2).fit([images[i][0] for i in labeled], list(labeled.values()))
    for features, valid in images.values():
        model.predict(features, valid)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 labeled + 6 unlabeled tiles of 128 px")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(2)
    labeled_count, unlabeled_count, size = (2, 6, 128) if args.quick else (5, 50, 256)
    # Each mode's default step count (HeadConfig.for_mode) unless --quick.
    steps = {"steps": 30} if args.quick else {}

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        workspace = Workspace(root / "workspace").create()
        upgrade_database(workspace.database_url)
        truths = write_field(root / "tiles", labeled_count + unlabeled_count, size, seed=0)
        rng = np.random.default_rng(0)
        with session_scope(workspace.database_url) as session:
            project_id = create_project(session, root / "tiles", "speed", BANDS, ["soil", "crop"]).project_id
            tiles = list_tiles(session, project_id)
            labeled = {}
            for tile, truth in zip(tiles[:labeled_count], truths, strict=False):
                mask = scribble(truth, rng)
                save_label(session, workspace, tile, mask)
                labeled[tile.id] = mask
            backbone_id = create_random_baseline(session, workspace, session.get(Project, project_id)).id

        results = {
            "pixel_classifier_s": time_pixel_classifier(workspace, project_id, labeled),
            "cold_cache_supervised": time_run(workspace, project_id, backbone_id, HeadConfig.for_mode(False, **steps)),
            "warm_cache_supervised": time_run(workspace, project_id, backbone_id, HeadConfig.for_mode(False, **steps)),
            "warm_cache_semi_supervised": time_run(workspace, project_id, backbone_id, HeadConfig.for_mode(True, **steps)),
            "warm_cache_semi_supervised_adapters": time_run(
                workspace, project_id, backbone_id, HeadConfig.for_mode(True, adapters=True, **steps)
            ),
        }
    baseline = results["pixel_classifier_s"]
    sys.stdout.write(json.dumps(results, indent=2) + "\n")
    sys.stdout.write(
        "| method | wall s | ratio to pixel classifier | preview on every tile s | features s | preview s | "
        "training s | prediction s |\n|---|---|---|---|---|---|---|---|\n"
    )
    sys.stdout.write(f"| pixel classifier (method 1) | {baseline:.1f} | 1.00 | | | | | |\n")
    for name in ("cold_cache_supervised", "warm_cache_supervised", "warm_cache_semi_supervised",
                 "warm_cache_semi_supervised_adapters"):
        r = results[name]
        sys.stdout.write(
            f"| {name} | {r['wall_s']:.1f} | {r['wall_s'] / baseline:.2f} | "
            f"{r['features_s'] + r.get('preview_s', 0):.1f} | {r['features_s']:.1f} | "
            f"{r.get('preview_s', 0):.1f} | {r['training_s']:.1f} | {r['prediction_s']:.1f} |\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
