"""Live view of runs: progress, stage, elapsed time, loss curve and Cancel, polled from the database."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from app.state import db
from core.jobs.queue import request_cancel
from core.jobs.status import active_runs, elapsed_seconds, list_runs, metric_series
from core.store.models import Run

POLL_SECONDS = 1.0
CURVES = ("train_loss", "val_loss", "loss", "unsupervised_loss", "embedding_std", "val_mean_iou")


def metric_chart(run_id: int, key: str) -> None:
    """Plot the run's logged metrics against steps."""
    with db() as session:
        series = metric_series(session, run_id)
    if not series:
        return
    figure = go.Figure()
    for name in CURVES:
        if name in series:
            steps, values = series[name]
            figure.add_trace(go.Scatter(x=steps, y=values, mode="lines+markers", name=name))
    figure.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="step", title="Metrics")
    st.plotly_chart(figure, width="stretch", key=key)


def run_card(run: Run) -> None:
    """Show one active run with its progress and a Cancel button."""
    label = f"Run {run.id} ({run.kind}) · {run.status} · {run.stage or 'waiting for the worker'}"
    st.progress(min(max(run.progress, 0.0), 1.0), text=label)
    unit = "Epoch" if run.kind == "pretrain" else "Step"
    st.caption(f"{unit} {run.epoch} · elapsed {elapsed_seconds(run):.0f} s")
    if st.button("Cancel", key=f"run_cancel_{run.id}", disabled=run.cancel_requested):
        with db() as session:
            request_cancel(session, run.id)
        st.toast(f"Cancel requested for run {run.id}.")
    metric_chart(run.id, key=f"run_chart_{run.id}_{run.epoch}")


def last_finished(project_id: int, kind: str) -> list[Run]:
    """Return the newest finished run of a kind, plus the newest succeeded one if that differs."""
    with db() as session:
        runs = [r for r in list_runs(session, project_id, kind) if r.status not in ("queued", "running")]
    if not runs:
        return []
    succeeded = next((r for r in runs if r.status == "succeeded"), None)
    return [runs[0]] if succeeded is None or succeeded is runs[0] else [runs[0], succeeded]


@st.fragment(run_every=POLL_SECONDS)
def live_runs(project_id: int) -> None:
    """Poll the database and render the project's active runs and the latest results."""
    with db() as session:
        runs = active_runs(session, project_id)
    if runs:
        for run in runs:
            run_card(run)
        st.session_state["runs_were_active"] = True
        return
    if st.session_state.pop("runs_were_active", False):
        st.rerun()  # A run just ended: refresh the whole page (backbone list, review links).
    for kind in ("pretrain", "train"):
        for position, run in enumerate(last_finished(project_id, kind)):
            finished_run(run, "Last" if position == 0 else "Last succeeded")


def finished_run(run: Run, title: str) -> None:
    """Show a finished run's outcome and its metric curves."""
    text = f"{title} {run.kind} run {run.id}: {run.status} after {elapsed_seconds(run):.0f} s. {run.message}"
    match run.status:
        case "succeeded":
            st.success(text)
        case "cancelled":
            st.info(text)
        case _:
            st.error(text + (f" Log: {run.log_path}" if run.log_path else ""))
    metric_chart(run.id, key=f"run_chart_done_{run.id}")
