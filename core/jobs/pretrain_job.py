"""Pretraining job: FastSiam on the project's own tiles, registered as a backbone."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from core.jobs.context import JobCancelled, JobContext
from core.pretrain.train import PretrainConfig, pretrain_backbone
from core.projects.backbones import register_backbone
from core.projects.tiles import load_raster, project_normalization, standardize
from core.store.engine import session_scope
from core.store.models import Project, Run, Tile

logger = logging.getLogger(__name__)

LOADING_END = 0.1


def pretrain_config_from(values: dict[str, Any]) -> PretrainConfig:
    """Build a PretrainConfig from a run's stored config, ignoring unknown keys."""
    fields = PretrainConfig.__dataclass_fields__
    return PretrainConfig(**{k: v for k, v in values.items() if k in fields})


def run_pretrain_job(ctx: JobContext) -> dict[str, Any]:
    """Pretrain a backbone for the run in ``ctx`` and register it with the project.

    Returns:
        Run fields to store: checkpoint path and metrics.
    """
    with session_scope(ctx.workspace.database_url) as session:
        run = session.get(Run, ctx.run_id)
        if run is None:
            raise LookupError(f"Run {ctx.run_id} not found.")
        project = session.get(Project, run.project_id)
        if project is None:
            raise LookupError(f"Project {run.project_id} of run {run.id} not found.")
        tiles = list(session.scalars(select(Tile).where(Tile.project_id == project.id).order_by(Tile.id)))
        session.expunge_all()
    config = pretrain_config_from(run.config)
    normalization = project_normalization(project)

    images = []
    for position, tile in enumerate(tiles):
        images.append(standardize(load_raster(tile), project.band_names, normalization))
        ctx.update(stage="loading tiles", progress=LOADING_END * (position + 1) / len(tiles))

    output = ctx.workspace.checkpoints_dir / str(project.id) / f"run_{ctx.run_id}_{config.arch}_fastsiam.pt"

    def on_progress(values: dict[str, Any]) -> None:
        step = int(values.get("step", 0))
        epoch = int(values.get("epoch", 0))
        metrics: dict[str, float] = {k: float(values[k]) for k in ("loss", "embedding_std") if k in values}
        if step % 5 == 0:
            ctx.log_metrics(step, epoch, metrics)
        try:
            ctx.update(stage="pretraining", epoch=epoch, progress=LOADING_END + (1 - LOADING_END) * float(values.get("progress", 0.0)))
        except JobCancelled:
            pass  # should_stop() now returns True, so the trainer stops at the next step.

    result = pretrain_backbone(
        images, project.band_names, {b: (v[0], v[1]) for b, v in normalization.items()}, config, output,
        on_progress=on_progress, should_stop=ctx.should_stop,
    )
    if result.stopped_early and ctx.should_stop():
        raise JobCancelled(f"Run {ctx.run_id} was cancelled after {result.epochs_completed} epochs; no backbone was registered.")
    metadata = {
        "arch": config.arch,
        "method": "fastsiam",
        "band_names": list(project.band_names),
        "normalization": normalization,
        "config": config.to_dict(),
    }
    with session_scope(ctx.workspace.database_url) as session:
        project_row = session.get(Project, project.id)
        assert project_row is not None
        backbone = register_backbone(
            session, project_row, f"{config.arch} FastSiam (run {ctx.run_id})", result.checkpoint_path,
            result.sha256, metadata, run_id=ctx.run_id,
        )
        backbone_id = backbone.id
    return {
        "checkpoint_path": str(result.checkpoint_path),
        "metrics": {"history": result.history, "epochs_completed": result.epochs_completed, "backbone_id": backbone_id},
    }
