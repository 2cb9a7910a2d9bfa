"""Batch prediction job: a trained run's head over new rasters of any size, window by window."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from core.inference.command import input_rasters, load_run_models
from core.inference.export import safe_file_stem
from core.inference.windowed import predict_raster
from core.jobs.context import JobContext
from core.store.engine import session_scope
from core.store.models import Run

logger = logging.getLogger(__name__)


def run_predict_job(ctx: JobContext) -> dict[str, Any]:
    """Predict every raster named in the run's config with the head of ``config["source_run"]``.

    The config contains ``source_run`` (a succeeded head training run), ``input``
    (a raster file or a folder of rasters) and ``output`` (a folder).

    Returns:
        Run fields to store: the written files in the metrics.
    """
    with session_scope(ctx.workspace.database_url) as session:
        run = session.get(Run, ctx.run_id)
        if run is None:
            raise LookupError(f"Run {ctx.run_id} not found.")
        config = dict(run.config)
    missing = [key for key in ("source_run", "input", "output") if not config.get(key)]
    if missing:
        raise ValueError(f"Prediction run {ctx.run_id} lacks {missing} in its config; queue it again from the Export page.")
    rasters = input_rasters(Path(config["input"]))
    models = load_run_models(ctx.workspace, int(config["source_run"]))
    output = Path(config["output"])
    output.mkdir(parents=True, exist_ok=True)

    written = []
    for position, raster in enumerate(rasters):
        target = output / f"{safe_file_stem(raster.name, f'raster_{position + 1}')}_classes.tif"

        def report(done: int, total: int, index: int = position) -> None:
            ctx.update(stage=f"raster {index + 1}/{len(rasters)}, window {done}/{total}",
                       progress=(index + done / max(total, 1)) / len(rasters))

        predict_raster(models.backbone, models.head, raster, models.normalization, models.band_names, target,
                       on_progress=report)
        written.append(str(target))
        logger.info("Run %d predicted %s into %s", ctx.run_id, raster, target)
    return {"metrics": {"files": written, "rasters": len(rasters)}}
