"""Per-class scores of a run's validation pixels, as a table and a chart."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st

from core.store.models import LabelClass, Run


def run_scores(run: Run, classes: list[LabelClass]) -> None:
    """Show per-class IoU, F1 and recall on the run's held-out labeled pixels."""
    validation = (run.metrics or {}).get("validation") or {}
    if not validation.get("iou"):
        st.caption("No validation pixels were held out for this run.")
        return
    by_index = {c.index: c.name for c in classes}
    rows = []
    for index, iou in enumerate(validation["iou"]):
        if index not in by_index:
            continue
        rows.append(
            {
                "class": by_index[index],
                "IoU": iou,
                "F1": validation["f1"][index],
                "recall": validation["recall"][index],
                "validation pixels": validation["support"][index],
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")
    figure = go.Figure(
        go.Bar(x=[r["class"] for r in rows], y=[0 if r["IoU"] is None or math.isnan(r["IoU"]) else r["IoU"] for r in rows])
    )
    figure.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=10), title="IoU per class", yaxis_range=[0, 1])
    st.plotly_chart(figure, width="stretch", key=f"scores_{run.id}")
    metrics = run.metrics or {}
    st.caption(
        f"Mean IoU {validation.get('mean_iou', float('nan')):.3f} · mean F1 {validation.get('mean_f1', float('nan')):.3f}"
        f" · kept head from step {metrics.get('best_step', '?')} (lowest validation loss)"
    )
