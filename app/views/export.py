"""Export page: a run's predictions, confidence maps and labels as PNG and GeoTIFF, plus class areas."""

from __future__ import annotations

import uuid
from pathlib import Path

import streamlit as st

from app.state import db, get_workspace, require_project
from core.inference.export import EXPORT_FORMATS, export_run
from core.jobs.queue import enqueue_run
from core.projects.queries import runs_with_predictions

project_id = require_project()
workspace = get_workspace()
with db() as session:
    runs = runs_with_predictions(session, project_id)

st.title("Export")
if not runs:
    st.info("No finished training run yet: train a head first, then export its predictions.")
    st.stop()

by_id = {r.id: r for r in runs}
run_id = st.selectbox("Run", list(by_id), format_func=lambda i: f"Run {i} · {by_id[i].message}", key="export_run")
formats = st.multiselect("Formats", EXPORT_FORMATS, default=list(EXPORT_FORMATS), key="export_formats")
include = st.multiselect(
    "Items", ["predictions", "confidence", "masks", "areas"], default=["predictions", "confidence", "masks", "areas"], key="export_items"
)
folder = st.text_input("Output folder", value=str(workspace.exports_dir / f"run_{run_id}"), key="export_folder")
if st.button("Export", type="primary", disabled=not formats or not include, key="export_submit"):
    try:
        with st.spinner("Writing files..."), db() as session:
            report = export_run(session, workspace, run_id, Path(folder), formats=formats, include=include)
    except (OSError, ValueError, LookupError) as error:
        st.error(f"Export failed: {error}")
        st.stop()
    st.success(f"Wrote {len(report.files)} files for {report.tiles_exported} tiles to {report.out_dir}.")
    if report.tiles_without_georef:
        st.warning(
            f"{len(report.tiles_without_georef)} tile(s) have no georeference in their source file, so their "
            f"GeoTIFFs carry none either: {', '.join(report.tiles_without_georef[:10])}"
        )
    for problem in report.problems:
        st.error(problem)

st.header("Predict new rasters")
st.caption(
    "Runs the selected run's backbone and head over other rasters (an orthomosaic of any size, or a folder of "
    "tiles with the same bands), window by window in the worker process. Each raster gets a class-map and a "
    "confidence GeoTIFF with its georeference."
)
raster_input = st.text_input("Raster file or folder", key="predict_input", placeholder="/data/field_2026/orthomosaic.tif")
raster_output = st.text_input("Output folder", value=str(workspace.exports_dir / f"run_{run_id}_predictions"), key="predict_output")
if st.button("Queue prediction", disabled=not raster_input, key="predict_submit"):
    if not Path(raster_input).exists():
        st.error(f"Not found: {raster_input}. Give an existing raster file or folder.")
    else:
        if "predict_request" not in st.session_state:
            st.session_state["predict_request"] = uuid.uuid4().hex
        with db() as session:
            queued_run = enqueue_run(
                session, project_id, "predict",
                {"source_run": run_id, "input": raster_input, "output": raster_output},
                request_key=st.session_state.pop("predict_request"),
            )
            queued_id = queued_run.id
        st.success(f"Prediction queued as run {queued_id}; follow it on the Train or Runs page.")
