"""The painting canvas: strokes become a new label version at the tile's native resolution.

The mask saved when the canvas was mounted is the base. Every change of the
canvas (a stroke, a polygon, the canvas's own undo) saves a new label version,
so a stroke is stored as soon as the mouse is released. A save writes only the
pixels that this canvas changed since its previous save over the newest stored
mask, so edits saved meanwhile from another tab are kept.

The Superpixel tool grows each stroke to the SLIC segments of the composite it
touches, and the Flood fill tool grows each clicked point to the connected
region of similar colour, before the same save runs.
"""

from __future__ import annotations

import io
import logging
from typing import Literal

import numpy as np
import streamlit as st
from PIL import Image

from app.state import db, get_workspace
from core.display.canvas import NOT_PAINTED, apply_strokes, canvas_to_mask
from core.display.overlay import hex_to_rgb
from core.labels.files import UNLABELED
from core.labels.versions import load_mask_or_empty, save_label_with_retry
from core.projects.classes import ERASER_COLOR
from core.projects.render import overlay_image
from core.review.superpixels import fill_touched_segments, flood_fill_points, superpixel_segments
from core.store.models import LabelClass, Project, Tile

logger = logging.getLogger(__name__)

Tool = Literal["Brush", "Eraser", "Polygon", "Superpixel", "Flood fill"]
TOOLS: tuple[str, ...] = ("Brush", "Eraser", "Polygon", "Superpixel", "Flood fill")
# NOTE: Flood fill draws with "freedraw", not the canvas's "point" mode, because point clicks
# produced no canvas image update in headless Chromium with streamlit-drawable-canvas 0.13.
# Each dab of the brush is one seed (see `core.review.superpixels.point_seeds`).
DRAWING_MODES = {"Polygon": "polygon"}


def canvas_nonce() -> int:
    """Return the counter that remounts the canvas when it changes."""
    return int(st.session_state.get("canvas_nonce", 0))


def reset_canvas() -> None:
    """Remount the canvas on the next run, dropping its strokes (they are already saved)."""
    st.session_state["canvas_nonce"] = canvas_nonce() + 1


def colour_table(classes: list[LabelClass]) -> dict[tuple[int, int, int], int]:
    """Return stroke colour -> class index, with the eraser colour mapped to unlabeled."""
    table = {hex_to_rgb(c.color): c.index for c in classes}
    table[hex_to_rgb(ERASER_COLOR)] = UNLABELED
    return table


def base_mask(tile: Tile, key: str) -> np.ndarray:
    """Return the mask the mounted canvas paints over, read once per canvas key."""
    state_key = f"{key}_base"
    if state_key not in st.session_state:
        with db() as session:
            st.session_state[state_key] = load_mask_or_empty(session, tile)
    return st.session_state[state_key]


def segments_for(key: str, rgba: np.ndarray, segment_size: int) -> np.ndarray:
    """Return the composite's superpixels, computed once per canvas key (the key contains the size)."""
    state_key = f"{key}_segments"
    if state_key not in st.session_state:
        st.session_state[state_key] = superpixel_segments(rgba, segment_size)
    return st.session_state[state_key]


def grow_strokes(tool: Tool, painted: np.ndarray, key: str, rgba: np.ndarray, segment_size: int, tolerance: int) -> np.ndarray:
    """Apply the Superpixel or Flood fill tool to the canvas output; other tools keep it as it is."""
    match tool:
        case "Superpixel":
            return fill_touched_segments(painted, segments_for(key, rgba, segment_size))
        case "Flood fill":
            return flood_fill_points(painted, rgba, tolerance)
        case _:
            return painted


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an RGB array as PNG for the canvas background."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def save_if_changed(tile: Tile, key: str, painted: np.ndarray) -> int | None:
    """Save the canvas's edit as a new label version unless it changed no pixel since the last save.

    Args:
        tile: The tile being labeled.
        key: The canvas key. Session state under a name derived from it contains the strokes last saved.
        painted: (H, W) uint8 output of `canvas_to_mask` for every stroke on the canvas.

    Returns:
        The saved label version, or None when nothing was saved.
    """
    saved_key = f"{key}_painted"
    previous = st.session_state.get(saved_key)
    if previous is None:
        previous = np.full_like(painted, NOT_PAINTED)
    changed = painted != previous
    if not changed.any():
        return None

    # Pixels this canvas changed take the canvas's value: base + strokes, so an
    # undone stroke shows the base again. Every other pixel keeps the newest
    # stored value, which another tab may have saved.
    canvas_mask = apply_strokes(base_mask(tile, key), painted)
    try:
        label = save_label_with_retry(get_workspace(), tile.id, canvas_mask, changed=changed)
    except (OSError, TimeoutError) as error:
        st.error(f"The stroke was not saved: {error}")
        return None
    version = label.version if label is not None else None
    st.session_state[saved_key] = painted
    if version is not None:
        st.toast(f"Saved label version {version} of {tile.name}.")
    return version


def label_canvas(
    project: Project,
    tile: Tile,
    active: LabelClass | None,
    tool: Tool,
    brush: int,
    display_width: int,
    composite: tuple[str, np.ndarray],
    opacity: float,
    segment_size: int = 16,
    tolerance: int = 30,
) -> None:
    """Render the canvas over the composite and the saved mask, and store whatever is painted.

    Args:
        project: The tile's project (classes and colours).
        tile: The tile being labeled.
        active: Class painted by the brush and polygon tools.
        tool: Brush, Eraser, Polygon, Superpixel or Flood fill.
        brush: Stroke width in screen pixels.
        display_width: Canvas width in screen pixels; the height follows the tile's aspect.
        composite: Composite name and its (H, W, 4) RGBA image.
        opacity: Opacity of the saved mask over the composite.
        segment_size: Approximate superpixel side in tile pixels (Superpixel tool).
        tolerance: Maximum RGB difference 0-255 to the clicked pixel (Flood fill tool).
    """
    from streamlit_drawable_canvas import (
        st_canvas,  # imports only inside a running Streamlit script
    )

    # A new background gets a new canvas, so the base mask is always the one under the strokes.
    # A new tool or tool setting does too, so strokes of one tool are never regrown by another.
    composite_name, rgba = composite
    palette = "".join(c.color for c in project.classes)
    key = f"label_canvas_{tile.id}_{canvas_nonce()}_{composite_name}_{opacity:.2f}_{display_width}_{palette}"
    match tool:
        case "Superpixel":
            key += f"_superpixel{segment_size}"
        case "Flood fill":
            key += f"_flood{tolerance}"
    base = base_mask(tile, key)
    background = overlay_image(rgba, base, project, opacity)
    height = round(display_width * tile.height / tile.width)
    colour = ERASER_COLOR if tool == "Eraser" or active is None else active.color
    # NOTE: the canvas component's own toolbar is invisible until hovered and covers about
    # 1.5 rem at the canvas's top-right corner, so a stroke that starts there is not drawn.
    # Its styles sit in an isolated shadow root, so this app cannot move it.
    result = st_canvas(
        fill_color=colour,
        stroke_width=brush,
        stroke_color=colour,
        background_image=png_bytes(background),
        height=height,
        width=display_width,
        drawing_mode=DRAWING_MODES.get(tool, "freedraw"),
        return_image_data=True,
        key=key,
        disabled=active is None and tool != "Eraser",
    )
    image = result.image_data
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        return
    # An empty canvas after the canvas's own undo restores the base mask.
    painted = canvas_to_mask(np.ascontiguousarray(image), colour_table(list(project.classes)), (tile.height, tile.width))
    version = save_if_changed(tile, key, grow_strokes(tool, painted, key, rgba, segment_size, tolerance))
    if version is not None:
        # Remount over the saved mask, so the canvas shows exactly what is stored: erased pixels
        # without a white stroke on top, filled regions, and strokes at the label opacity.
        reset_canvas()
        st.rerun()
