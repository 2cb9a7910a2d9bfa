"""Runs page panels: one run's details and two runs side by side."""

from __future__ import annotations

import json
import math

import streamlit as st

from app.state import db
from app.widgets.run_progress import metric_chart
from core.jobs.status import elapsed_seconds
from core.projects.backbones import describe
from core.projects.queries import predictions_of_run
from core.projects.render import composite_image, default_composite, read_prediction
from core.projects.tiles import TileMissingError
from core.raster.errors import TileReadError
from core.review.compare import difference_image, difference_map
from core.store.models import Backbone, LabelClass, Project, Run, Tile


def snapshot_size(run: Run) -> int | None:
    """Return the number of labeled tiles the run trained on, or None when unknown."""
    if run.label_snapshot:
        return len(run.label_snapshot)
    return (run.metrics or {}).get("labeled_tiles")


def run_row(run: Run, backbones: dict[int, Backbone]) -> dict[str, object]:
    """Return one line of the runs table."""
    backbone = backbones.get(run.backbone_id or -1)
    validation = (run.metrics or {}).get("validation") or {}
    return {
        "run": run.id,
        "kind": run.kind,
        "status": run.status,
        "backbone": describe(backbone) if backbone else "",
        "head": head_summary(run),
        "steps": run.config.get("steps", run.config.get("epochs")),
        "labeled tiles": snapshot_size(run),
        "duration (s)": round(elapsed_seconds(run), 1),
        "mean IoU": validation.get("mean_iou"),
        "created": f"{run.created_at:%Y-%m-%d %H:%M}",
    }


def head_summary(run: Run) -> str:
    """Describe a training run's head in a few words: type, mean teacher, adapters."""
    if run.kind != "train":
        return ""
    parts = [run.config.get("head", "fpn")]
    if run.config.get("semi_supervised"):
        parts.append("mean teacher")
    if run.config.get("adapters"):
        parts.append("adapters")
    return ", ".join(parts)


def run_details(run: Run, backbones: dict[int, Backbone]) -> None:
    """Show one run's config, backbone, metrics and curves."""
    backbone = backbones.get(run.backbone_id or -1)
    st.write(
        f"**Run {run.id}** ({run.kind}) · {run.status} · {elapsed_seconds(run):.0f} s · "
        f"backbone {describe(backbone) if backbone else 'none'} · labeled tiles {snapshot_size(run) or 'unknown'}"
    )
    if run.message:
        st.caption(run.message)
    if (run.metrics or {}).get("warning"):
        st.warning(run.metrics["warning"], icon=":material/warning:")
    config, metrics = st.columns(2)
    config.caption("Config")
    config.json(run.config, expanded=False)
    metrics.caption("Metrics")
    metrics.json(run.metrics or {}, expanded=False)
    metric_chart(run.id, key=f"runs_chart_{run.id}")


def format_score(value: object) -> str:
    """Format a score for the comparison table: three decimals, or a dash for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return json.dumps(value)


def validation_table(first: Run, second: Run, classes: list[LabelClass]) -> list[dict[str, str]]:
    """Return rows of validation metrics of two runs side by side, per class and overall."""
    rows = []
    left = (first.metrics or {}).get("validation") or {}
    right = (second.metrics or {}).get("validation") or {}
    for name in ("mean_iou", "mean_f1", "pixel_accuracy"):
        rows.append({"metric": name, f"run {first.id}": format_score(left.get(name)), f"run {second.id}": format_score(right.get(name))})
    for metric in ("iou", "f1", "recall"):
        for c in classes:
            values = [
                (v[c.index] if isinstance(v := side.get(metric), list) and c.index < len(v) else None)
                for side in (left, right)
            ]
            rows.append({"metric": f"{metric} {c.name}", f"run {first.id}": format_score(values[0]), f"run {second.id}": format_score(values[1])})
    return rows


def compare_runs(project: Project, first: Run, second: Run, tiles: list[Tile]) -> None:
    """Show two runs' validation metrics side by side and where their predictions differ on one tile."""
    st.dataframe(validation_table(first, second, list(project.classes)), hide_index=True, width="stretch")
    with db() as session:
        first_predictions = predictions_of_run(session, first.id)
        second_predictions = predictions_of_run(session, second.id)
    shared = [t for t in tiles if t.id in first_predictions and t.id in second_predictions]
    if not shared:
        st.info(f"Runs {first.id} and {second.id} have no predicted tile in common, so there is no difference map.")
        return
    names = {t.id: t.name for t in shared}
    tile_id = st.selectbox("Tile for the difference map", list(names), format_func=names.__getitem__, key="runs_compare_tile")
    tile = next(t for t in shared if t.id == tile_id)
    try:
        rgba = composite_image(project, tile, default_composite(project))
        first_map, _ = read_prediction(first_predictions[tile_id].class_path, first_predictions[tile_id].confidence_path)
        second_map, _ = read_prediction(second_predictions[tile_id].class_path, second_predictions[tile_id].confidence_path)
    except (TileMissingError, TileReadError, FileNotFoundError) as error:
        st.error(str(error))
        return
    differs = difference_map(first_map, second_map)
    st.image(difference_image(rgba, first_map, second_map), caption=f"Magenta: runs {first.id} and {second.id} predict different classes", width="stretch")
    st.caption(f"{int(differs.sum())} of {differs.size} pixels ({differs.mean():.1%}) differ on {tile.name}.")
