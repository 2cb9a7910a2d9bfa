"""Head training job: features, training, then a prediction for every tile."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sqlalchemy import delete, select

from core.inference.paths import entropy_path_for
from core.inference.predict import predict_sample_with_entropy
from core.jobs.context import JobContext
from core.labels.files import encode_png, write_atomic
from core.labels.versions import latest_labels_for_project, load_label_mask
from core.models.backbone import Backbone as BackboneModel
from core.projects.backbones import describe, load_frozen
from core.projects.tiles import load_raster, standardize
from core.raster.atomic import atomic_writer
from core.store.engine import session_scope
from core.store.models import Backbone, Prediction, Project, Run, Tile
from core.training.data import TileSample, build_sample
from core.training.features import FeatureCache, extract_features, feature_cache_key
from core.training.metrics import single_class_warning
from core.training.preview import preview_predictions
from core.training.trainer import HeadConfig, train_head

logger = logging.getLogger(__name__)

# Share of the progress bar given to each stage.
FEATURES_END, TRAINING_END = 0.3, 0.85


def _load_inputs(ctx: JobContext) -> tuple[Run, Project, Backbone, list[Tile], dict[int, Any], int]:
    with session_scope(ctx.workspace.database_url) as session:
        run = session.get(Run, ctx.run_id)
        if run is None:
            raise LookupError(f"Run {ctx.run_id} not found.")
        project = session.get(Project, run.project_id)
        backbone = session.get(Backbone, run.backbone_id) if run.backbone_id else None
        if project is None or backbone is None:
            raise ValueError(f"Run {run.id} has no project or no backbone; choose a backbone and train again.")
        if list(backbone.band_names) != list(project.band_names):
            raise ValueError(
                f"Backbone {backbone.name!r} was trained on bands {backbone.band_names}, but project "
                f"{project.name!r} has bands {project.band_names}; pick a backbone made for this project."
            )
        tiles = list(session.scalars(select(Tile).where(Tile.project_id == project.id).order_by(Tile.id)))
        labels = latest_labels_for_project(session, project.id)
        num_classes = max((c.index for c in project.classes), default=-1) + 1
        session.expunge_all()
    if num_classes < 2:
        raise ValueError(f"Project {project.name!r} has {num_classes} class(es); define at least two classes.")
    if not labels:
        raise ValueError("No tile has a label yet: paint some pixels of each class, save, then train.")
    return run, project, backbone, tiles, labels, num_classes


def _build_samples(
    ctx: JobContext, project: Project, backbone: Backbone, model: BackboneModel, tiles: list[Tile], labels: dict[int, Any]
) -> tuple[list[TileSample], list[TileSample], dict[str, float]]:
    cache = FeatureCache(ctx.workspace.cache_dir / "features")
    labeled: list[TileSample] = []
    unlabeled: list[TileSample] = []
    hits = 0
    for position, tile in enumerate(tiles):
        raster = load_raster(tile)
        image = standardize(raster, project.band_names, backbone.normalization)
        key = feature_cache_key(backbone.sha256, tile.content_hash, backbone.normalization)
        features = cache.get(key)
        if features is None:
            features = extract_features(model, image)
            cache.put(key, features)
        else:
            hits += 1
        mask = load_label_mask(labels[tile.id]) if tile.id in labels else None
        sample = build_sample(tile.id, image, raster.valid, features, mask)
        (labeled if mask is not None else unlabeled).append(sample)
        ctx.update(stage=f"backbone features {position + 1}/{len(tiles)}", progress=FEATURES_END * (position + 1) / len(tiles))
    return labeled, unlabeled, {"feature_cache_hits": hits, "tiles": len(tiles)}


def _save_head(ctx: JobContext, project: Project, head: torch.nn.Module, config: HeadConfig, extra: dict[str, Any]) -> Path:
    path = ctx.workspace.checkpoints_dir / str(project.id) / f"run_{ctx.run_id}_head.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as handle:
        torch.save({"state_dict": head.state_dict(), "config": config.to_dict(), **extra}, handle)
    return path


def _write_predictions(
    ctx: JobContext, project: Project, predictions: Iterator[tuple[int, np.ndarray, np.ndarray]], count: int, num_classes: int, stage: str, start: float
) -> dict[str, Any]:
    """Write class and confidence PNGs plus rows for every tile, replacing the run's earlier ones."""
    folder = ctx.workspace.predictions_dir / str(project.id) / f"run_{ctx.run_id}"
    totals = np.zeros(num_classes, dtype=np.int64)
    rows = []
    for position, (tile_id, class_map, confidence) in enumerate(predictions):
        class_path = folder / f"tile_{tile_id}_{stage}_classes.png"
        confidence_path = folder / f"tile_{tile_id}_{stage}_confidence.png"
        write_atomic(class_path, encode_png(class_map))
        write_atomic(confidence_path, encode_png(np.round(confidence * 65535).astype(np.uint16)))
        valid = class_map != 255
        counts = np.bincount(class_map[valid], minlength=num_classes)[:num_classes]
        totals += counts
        rows.append(
            Prediction(
                run_id=ctx.run_id,
                tile_id=tile_id,
                class_path=str(class_path),
                confidence_path=str(confidence_path),
                mean_confidence=float(confidence[valid].mean()) if valid.any() else 0.0,
                class_counts={str(i): int(c) for i, c in enumerate(counts) if c},
            )
        )
        ctx.update(stage=stage, progress=start + (1 - start) * (position + 1) / count if stage == "predicting" else start)
    with session_scope(ctx.workspace.database_url) as session:
        session.execute(delete(Prediction).where(Prediction.run_id == ctx.run_id))
        session.add_all(rows)
    warning = single_class_warning(totals)
    return {"predicted_class_pixels": totals.tolist(), "warning": warning}


def _predict_all(ctx: JobContext, project: Project, head: torch.nn.Module, samples: list[TileSample], num_classes: int) -> dict[str, Any]:
    folder = ctx.workspace.predictions_dir / str(project.id) / f"run_{ctx.run_id}"

    def predictions() -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        for sample in samples:
            class_map, confidence, entropy = predict_sample_with_entropy(head, sample)  # type: ignore[arg-type]
            # Entropy sits next to the confidence map, under the name entropy_path_for derives.
            entropy_path = entropy_path_for(folder / f"tile_{sample.tile_id}_predicting_confidence.png")
            write_atomic(entropy_path, encode_png(np.round(entropy * 65535).astype(np.uint16)))
            yield sample.tile_id, class_map, confidence

    return _write_predictions(ctx, project, predictions(), len(samples), num_classes, "predicting", TRAINING_END)


def _write_preview(ctx: JobContext, project: Project, labeled: list[TileSample], samples: list[TileSample], num_classes: int) -> float:
    """Fit the instant preview model and store its predictions until the head's replace them."""
    start = time.perf_counter()
    previews = preview_predictions(labeled, samples, num_classes)
    items = ((tile_id, class_map, confidence) for tile_id, (class_map, confidence) in previews.items())
    _write_predictions(ctx, project, items, len(previews), num_classes, "preview", FEATURES_END)
    ctx.update(force=True, stage="preview ready", progress=FEATURES_END)
    return time.perf_counter() - start


def run_train_job(ctx: JobContext) -> dict[str, Any]:
    """Train a head for the run in ``ctx`` and predict every tile of its project.

    Returns:
        Run metrics (validation scores, timings, prediction summary) to store with the run.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    run, project, backbone, tiles, labels, num_classes = _load_inputs(ctx)
    config = HeadConfig.from_dict(run.config)
    logger.info("Run %d: training a %s head on %s", run.id, config.head, describe(backbone))
    ctx.update(force=True, stage="features", progress=0.0)

    model = load_frozen(backbone)
    labeled, unlabeled, cache_info = _build_samples(ctx, project, backbone, model, tiles, labels)
    timings["features_s"] = time.perf_counter() - start
    if config.preview:
        timings["preview_s"] = _write_preview(ctx, project, labeled, labeled + unlabeled, num_classes)

    def on_progress(step: int, total: int, metrics: dict[str, float]) -> bool:
        if "val_loss" in metrics or step % 5 == 0:
            ctx.log_metrics(step, step, metrics)
        ctx.update(stage="training", progress=FEATURES_END + (TRAINING_END - FEATURES_END) * step / total, epoch=step)
        return ctx.should_stop()

    phase = time.perf_counter()
    result = train_head(labeled, unlabeled, num_classes, config, on_progress, backbone=model)
    timings["training_s"] = time.perf_counter() - phase
    head_path = _save_head(
        ctx, project, result.head, config,
        {"num_classes": num_classes, "backbone_sha256": backbone.sha256, "backbone_arch": backbone.arch, "band_names": project.band_names,
         "feature_channels": [f.shape[0] for f in labeled[0].features], "in_bands": len(project.band_names)},
    )

    phase = time.perf_counter()
    summary = _predict_all(ctx, project, result.head, labeled + unlabeled, num_classes)
    # Collapse warnings from training join the prediction summary's single-class warning.
    summary["warning"] = " ".join(w for w in [*result.warnings, summary["warning"]] if w) or None
    timings["prediction_s"] = time.perf_counter() - phase
    timings["total_s"] = time.perf_counter() - start
    return {
        "checkpoint_path": str(head_path),
        # The label versions this run trained on, so they can be restored later.
        "label_snapshot": {str(tile_id): label.id for tile_id, label in labels.items()},
        "metrics": {
            "best_step": result.best_step,
            "validation": {k: v for k, v in result.validation.items() if k != "confusion"},
            "last_step": result.last_step,
            "last_validation": {k: v for k, v in result.last_validation.items() if k != "confusion"},
            "confusion": result.validation.get("confusion"),
            "labeled_tiles": len(labeled),
            "unlabeled_tiles": len(unlabeled),
            "timings": timings,
            **cache_info,
            **summary,
        },
    }
