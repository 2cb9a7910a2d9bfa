"""Review page panels: accept a prediction into the label, error map, confusion matrix, class areas."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app.state import db, get_workspace, select_tile
from app.widgets.label_canvas import reset_canvas
from core.labels.files import UNLABELED
from core.labels.versions import load_mask_or_empty
from core.review.accept import ACCEPT_MODES, accept_prediction
from core.review.compare import class_area_shares, error_counts, error_image, error_map
from core.store.models import LabelClass, Prediction, Run, Tile

MODE_NAMES = {"all": "All predicted pixels", "confident": "Confident pixels only", "class": "One class"}


def accept_panel(run: Run, tile: Tile, classes: list[LabelClass]) -> None:
    """Accept the run's prediction of ``tile`` into its label, and link to the Label page."""
    by_index = {c.index: c.name for c in classes}
    mode = st.radio(
        "Accept", ACCEPT_MODES, format_func=MODE_NAMES.__getitem__, horizontal=True, key="review_accept_mode"
    )
    threshold = st.slider(
        "Minimum confidence", 0.0, 1.0, 0.9, step=0.01, key="review_accept_threshold",
        disabled=mode != "confident", help="Pixels whose top class probability is below this stay as they are.",
    )
    class_index = st.selectbox(
        "Class to accept", list(by_index), format_func=by_index.__getitem__, key="review_accept_class",
        disabled=mode != "class",
    )
    replace = st.checkbox(
        "Replace labeled pixels", value=False, key="review_accept_replace",
        help="Off: pixels you already labeled keep their class. On: the prediction overwrites them.",
    )
    accept, correct = st.columns(2)
    if accept.button("Accept into label", type="primary", key="review_accept_button", width="stretch"):
        try:
            with db() as session:
                result = accept_prediction(
                    session, get_workspace(), run.id, tile.id, mode, threshold, class_index, replace  # type: ignore[arg-type]
                )
                version = result.label.version if result.label is not None else None
        except (LookupError, FileNotFoundError, ValueError) as error:
            st.error(f"Could not accept run {run.id} into tile {tile.name!r}: {error}")
        else:
            if version is None:
                st.info(
                    f"No pixel changed: the {result.candidate_pixels} selected pixels are labeled already. "
                    "Tick 'Replace labeled pixels' to overwrite them."
                )
            else:
                reset_canvas()
                st.success(f"Saved label version {version} of {tile.name} ({result.accepted_pixels} pixels from run {run.id}).")
    if correct.button("Correct on the Label page", key="review_open_label", width="stretch"):
        select_tile(tile.id)
        reset_canvas()
        st.switch_page("views/label.py")


def error_panel(rgba: np.ndarray, tile: Tile, class_map: np.ndarray, classes: list[LabelClass]) -> None:
    """Show right, wrong and missed pixels of the prediction on the tile's labeled pixels."""
    with db() as session:
        label = load_mask_or_empty(session, tile)
    if not (label != UNLABELED).any():
        st.caption("This tile has no label, so there is no error map. Accept or paint a label to see one.")
        return
    by_index = {c.index: c.name for c in classes}
    focus = st.selectbox(
        "Errors of", [None, *by_index], format_func=lambda i: "all classes" if i is None else by_index[i],
        key="review_error_class",
    )
    codes = error_map(label, class_map, focus)
    counts = error_counts(codes)
    total = sum(counts.values())
    st.image(error_image(rgba, codes), caption="Labeled pixels: green right, red wrong, orange missed", width="stretch")
    if focus is None:
        meaning = "wrong = predicted as another class, missed = no prediction (invalid pixel)"
    else:
        meaning = f"wrong = predicted {by_index[focus]} but labeled otherwise, missed = labeled {by_index[focus]} but predicted otherwise"
    st.caption(
        f"{counts['right']} right, {counts['wrong']} wrong, {counts['missed']} missed of {total} labeled pixels "
        f"({meaning}). Labeled pixels include the run's training pixels, so this is not a held-out score."
    )


def confusion_panel(run: Run, classes: list[LabelClass]) -> None:
    """Plot the run's confusion matrix on held-out labeled pixels as a heatmap."""
    confusion = (run.metrics or {}).get("confusion")
    if not confusion:
        st.caption("This run stored no confusion matrix (no held-out pixels).")
        return
    by_index = {c.index: c.name for c in classes}
    names = [by_index.get(i, f"class {i}") for i in range(len(confusion))]
    figure = go.Figure(
        go.Heatmap(z=confusion, x=names, y=names, colorscale="Blues", text=confusion, texttemplate="%{text}")
    )
    figure.update_layout(
        height=300, margin=dict(l=10, r=10, t=30, b=10), title="Confusion on held-out pixels",
        xaxis_title="predicted", yaxis_title="labeled", yaxis_autorange="reversed",
    )
    st.plotly_chart(figure, width="stretch", key=f"review_confusion_{run.id}")


def area_panel(run: Run, prediction: Prediction, classes: list[LabelClass]) -> None:
    """Show each class's share of predicted pixels on this tile and over all tiles of the run."""
    indices = [c.index for c in classes]
    tile_shares = class_area_shares(prediction.class_counts, indices)
    totals = (run.metrics or {}).get("predicted_class_pixels") or []
    run_counts = {str(i): int(count) for i, count in enumerate(totals)}
    run_shares = class_area_shares(run_counts, indices)
    rows = [
        {
            "class": c.name,
            "pixels on this tile": int(prediction.class_counts.get(str(c.index), 0)),
            "share on this tile": tile_shares[c.index],
            "share over all tiles": run_shares[c.index],
        }
        for c in classes
    ]
    st.dataframe(
        rows, hide_index=True, width="stretch",
        column_config={
            "share on this tile": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
            "share over all tiles": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
        },
    )
