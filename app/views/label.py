"""Label page: composites of a tile, classes, and the painting canvas."""

from __future__ import annotations

import streamlit as st

from app.state import TILE_KEY, db, get_workspace, require_project, select_tile
from app.widgets.class_panel import active_class_picker, class_editor
from app.widgets.composite_picker import composite_picker, index_colorbar, stretch_settings
from app.widgets.label_canvas import TOOLS, label_canvas, reset_canvas
from core.labels.files import MaskFileError
from core.labels.versions import label_history, restore_label
from core.projects.classes import list_classes
from core.projects.queries import get_project, list_tiles
from core.projects.render import composite_image
from core.projects.tiles import TileMissingError
from core.raster.errors import TileReadError

project_id = require_project()
with db() as session:
    project = get_project(session, project_id)
    tiles = list_tiles(session, project_id)
    classes = list_classes(session, project_id)
if not tiles:
    st.warning("This project has no tiles.")
    st.stop()

ids = [t.id for t in tiles]
by_id = {t.id: t for t in tiles}
if st.session_state.get(TILE_KEY) not in by_id:
    select_tile(ids[0])

with st.sidebar:
    st.header("Tile")
    position = ids.index(st.session_state[TILE_KEY])
    previous, following = st.columns(2)
    if previous.button("Previous", disabled=position == 0, width="stretch", key="label_prev"):
        select_tile(ids[position - 1])
        st.rerun()
    if following.button("Next", disabled=position == len(ids) - 1, width="stretch", key="label_next"):
        select_tile(ids[position + 1])
        st.rerun()
    chosen = st.selectbox("Tile", ids, index=position, format_func=lambda i: by_id[i].name, key=f"label_tile_{position}")
    if chosen != ids[position]:
        select_tile(chosen)
        st.rerun()
    spec = composite_picker(project.band_names, key="label")
    gamma, per_tile = stretch_settings("label")
    st.header("Paint")
    active = active_class_picker(classes)
    tool = st.segmented_control("Tool", TOOLS, default="Brush", key="label_tool") or "Brush"
    brush = st.slider("Brush size (screen pixels)", 1, 60, 12, key="label_brush")
    segment_size = 16
    tolerance = 30
    if tool == "Superpixel":
        segment_size = st.slider(
            "Segment size (tile pixels)", 4, 128, 16, key="label_segment_size",
            help="Approximate side of a superpixel; a stroke fills every segment it touches with the class.",
        )
    if tool == "Flood fill":
        tolerance = st.slider(
            "Colour tolerance (0-255)", 0, 255, 30, key="label_flood_tolerance",
            help="A click or short dab fills the connected pixels whose composite colour differs from the clicked pixel by at most this much per channel.",
        )
    opacity = st.slider("Label opacity", 0.0, 1.0, 0.5, key="label_opacity")
    # Open until the project has the two classes training needs.
    with st.expander("Classes", expanded=len(classes) < 2):
        class_editor(project_id)

tile = by_id[st.session_state[TILE_KEY]]
st.title(tile.name)
st.caption(
    f"{tile.width} x {tile.height} px · {tile.bands} bands · {tile.dtype} · nodata {tile.nodata_share:.1%} · "
    f"{'georeferenced' if tile.georef else 'no georeference'}"
)
display_width = st.slider(
    "Display width (screen pixels)", 200, 1600, min(960, max(480, tile.width * 2)) // 20 * 20, step=20, key="label_zoom"
)

try:
    rgba = composite_image(project, tile, spec, gamma=gamma, per_tile=per_tile)
    index_colorbar(spec)
    label_canvas(
        project, tile, active, tool, brush, display_width, (f"{spec.name}{spec.bands}{gamma}{per_tile}", rgba), opacity,
        segment_size=segment_size, tolerance=tolerance,
    )
except (TileMissingError, TileReadError, MaskFileError) as error:
    st.error(str(error))
    st.stop()
st.caption(
    "Strokes are saved as a new label version when you release the mouse; polygons when you close them "
    "(click the first point). The eraser sets pixels back to unlabeled. Superpixel strokes fill whole segments "
    "of the composite; a Flood fill click fills the similar-coloured region around it."
)

with db() as session:
    history = label_history(session, tile.id)
if st.button("Undo last change", disabled=len(history) < 2, key="label_undo", icon=":material/undo:",
             help="Save the previous label version again as the newest one; every version stays in the history."):
    with db() as session:
        restore_label(session, get_workspace(), history[1].id)
    reset_canvas()
    st.rerun()

with st.expander("Label history"):
    if not history:
        st.write("No label saved yet.")
    for label in history[:20]:
        cols = st.columns([3, 3, 2])
        counts = ", ".join(f"{c.name}: {label.class_counts.get(str(c.index), 0)}" for c in classes)
        cols[0].write(f"v{label.version} · {label.created_at:%Y-%m-%d %H:%M:%S}")
        cols[1].write(counts or "empty")
        if label is not history[0] and cols[2].button("Restore", key=f"label_restore_{label.id}"):
            with db() as session:
                restore_label(session, get_workspace(), label.id)
            reset_canvas()
            st.rerun()
