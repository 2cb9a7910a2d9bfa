"""Runs page: every run of the project with its config, metrics and curves, and two runs compared."""

from __future__ import annotations

import streamlit as st

from app.state import db, get_workspace, require_project
from app.widgets.run_compare import compare_runs, run_details, run_row
from core.jobs.status import list_runs
from core.projects.backbones import list_backbones
from core.projects.queries import get_project, list_tiles
from core.review.snapshot import restore_run_labels

project_id = require_project()
with db() as session:
    project = get_project(session, project_id)
    runs = list_runs(session, project_id)
    backbones = {b.id: b for b in list_backbones(session, project_id)}
    tiles = list_tiles(session, project_id)
st.title("Runs")
if not runs:
    st.info("No run yet. Pretrain a backbone or train a head on the Train page.")
    st.stop()

st.dataframe([run_row(run, backbones) for run in runs], hide_index=True, width="stretch")

by_id = {run.id: run for run in runs}
chosen = st.selectbox("Run details", list(by_id), format_func=lambda i: f"Run {i} ({by_id[i].kind}, {by_id[i].status})", key="runs_detail")
run_details(by_id[chosen], backbones)
if by_id[chosen].label_snapshot and st.button(
    "Restore the label versions this run trained on", key="runs_restore_labels",
    help="Each changed tile gets a new label version equal to the one the run used; nothing is deleted.",
):
    with db() as session:
        restored = restore_run_labels(session, get_workspace(), chosen)
    st.success(f"Restored labels of {restored} tile(s).")

st.subheader("Compare two runs")
trained = [run for run in runs if run.kind == "train" and run.status == "succeeded"]
if len(trained) < 2:
    st.caption("Comparing needs two succeeded head training runs.")
    st.stop()
trained_ids = [run.id for run in trained]
left, right = st.columns(2)
first = left.selectbox("First run", trained_ids, index=1, key="runs_compare_first")
second = right.selectbox("Second run", trained_ids, index=0, key="runs_compare_second")
if first == second:
    st.info("Pick two different runs to compare.")
    st.stop()
compare_runs(project, by_id[first], by_id[second], tiles)
