"""Review page: predictions and confidence over the composite, errors, scores, and accepting into labels."""

from __future__ import annotations

import streamlit as st

from app.state import TILE_KEY, db, get_workspace, require_project, select_tile
from app.widgets.composite_picker import composite_picker
from app.widgets.review_panels import accept_panel, area_panel, confusion_panel, error_panel
from app.widgets.run_scores import run_scores
from core.display.overlay import confidence_image
from core.projects.backbones import describe, list_backbones
from core.projects.queries import get_project, list_tiles, predictions_of_run, runs_with_predictions
from core.projects.render import (
    composite_image,
    draw_outlines,
    overlay_image,
    read_entropy,
    read_prediction,
)
from core.projects.tiles import TileMissingError
from core.raster.errors import TileReadError
from core.review.ranking import rank_tiles

ORDERS = ("Least confident first", "Label next (uncertain and unlike labeled tiles)", "By name")

project_id = require_project()
with db() as session:
    project = get_project(session, project_id)
    runs = runs_with_predictions(session, project_id)
    backbones = {b.id: b for b in list_backbones(session, project_id)}
st.title("Review")
if not runs:
    st.info("No finished training run yet. Train a head on the Train page; its predictions appear here.")
    st.stop()

by_id = {r.id: r for r in runs}
run_id = st.selectbox(
    "Run", list(by_id), format_func=lambda i: f"Run {i} · {by_id[i].config.get('head')} head · {by_id[i].message}", key="review_run"
)
run = by_id[run_id]
backbone = backbones.get(run.backbone_id or -1)
config = run.config
st.caption(
    f"Backbone: {describe(backbone) if backbone else 'unknown'} · head {config.get('head')} · "
    f"{config.get('steps')} steps · semi-supervised {'on' if config.get('semi_supervised') else 'off'}"
    f"{' · adapters' if config.get('adapters') else ''}"
)
if (run.metrics or {}).get("warning"):
    st.warning(run.metrics["warning"], icon=":material/warning:")

with db() as session:
    predictions = predictions_of_run(session, run_id)
    tiles = [t for t in list_tiles(session, project_id) if t.id in predictions]
if not tiles:
    st.error(f"Run {run_id} has no stored predictions. Train the head again to predict every tile.")
    st.stop()

with st.sidebar:
    order = st.radio("Tile order", ORDERS, key="review_order")
    label_next: dict[int, float] = {}
    if order == ORDERS[0]:
        tiles.sort(key=lambda t: predictions[t.id].mean_confidence)
    elif order == ORDERS[1]:
        with db() as session:
            label_next = {s.tile_id: s.score for s in rank_tiles(session, get_workspace(), run_id)}
        tiles.sort(key=lambda t: (-label_next.get(t.id, 0.0), t.name))
    ids = [t.id for t in tiles]
    names = {t.id: t.name for t in tiles}
    current = st.session_state.get(TILE_KEY)

    def tile_caption(tile_id: int) -> str:
        text = f"{names[tile_id]} · confidence {predictions[tile_id].mean_confidence:.2f}"
        if tile_id in label_next:
            text += f" · label-next score {label_next[tile_id]:.2f}"
        return text

    tile_id = st.selectbox(
        "Tile", ids, index=ids.index(current) if current in ids else 0, format_func=tile_caption, key="review_tile"
    )
    if tile_id != current:
        select_tile(tile_id)
    spec = composite_picker(project.band_names, key="review")
    opacity = st.slider("Prediction opacity", 0.0, 1.0, 0.5, key="review_opacity")
    st.write("Classes shown")
    visible = {c.index for c in project.classes if st.checkbox(c.name, value=True, key=f"review_class_{c.index}")}
    outlines = st.toggle("Class outlines", value=False, key="review_outlines")

tile = next(t for t in tiles if t.id == tile_id)
prediction = predictions[tile_id]
classes = list(project.classes)
try:
    rgba = composite_image(project, tile, spec)
    class_map, confidence = read_prediction(prediction.class_path, prediction.confidence_path)
except (TileMissingError, TileReadError, FileNotFoundError) as error:
    st.error(str(error))
    st.stop()

show_errors = st.toggle("Error map on labeled pixels", value=False, key="review_error_toggle")
columns = st.columns(3 if show_errors else 2)
overlay = overlay_image(rgba, class_map, project, opacity, visible)
if outlines:
    overlay = draw_outlines(overlay, class_map, project, visible)
columns[0].image(overlay, caption=f"Prediction over {spec.name}", width="stretch")
uncertainty_view = columns[1].radio(
    "Map", ["Confidence", "Entropy"], horizontal=True, key="review_uncertainty", label_visibility="collapsed"
)
entropy = read_entropy(prediction.confidence_path) if uncertainty_view == "Entropy" else None
if uncertainty_view == "Entropy" and entropy is None:
    columns[1].caption("This run stored no entropy map (runs before entropy maps were added); showing confidence.")
shown = confidence if entropy is None else 1.0 - entropy
uncertainty_rgb = confidence_image(shown)
uncertainty_rgb[class_map == 255] = 128  # Nodata is grey, not "low confidence".
caption = "Confidence" if entropy is None else "Entropy, shown as 1 - entropy"
columns[1].image(uncertainty_rgb, caption=f"{caption} (dark = uncertain, bright = certain, grey = nodata)", width="stretch")
if show_errors:
    with columns[2]:
        error_panel(rgba, tile, class_map, classes)
legend = " · ".join(f"{c.name} {c.color}" for c in classes)
st.caption(f"Classes: {legend}. Mean confidence on this tile: {prediction.mean_confidence:.2f}.")

st.subheader("Accept into label")
accept_panel(run, tile, classes)

st.subheader("Predicted area per class")
area_panel(run, prediction, classes)

st.subheader("Scores on held-out labeled pixels")
scores, confusion = st.columns(2)
with scores:
    run_scores(run, classes)
with confusion:
    confusion_panel(run, classes)
