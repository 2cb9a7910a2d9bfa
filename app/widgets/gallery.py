"""Paginated tile gallery with cached thumbnails."""

from __future__ import annotations

import streamlit as st

from app.state import db, get_workspace, select_tile
from core.projects.queries import count_tiles, get_project, labeled_pixel_counts, list_tiles
from core.projects.render import tile_thumbnail
from core.projects.tiles import TileMissingError
from core.raster.errors import TileReadError

PAGE_SIZE = 24
COLUMNS = 6


def tile_gallery(project_id: int) -> None:
    """Render one page of thumbnails; a click on a tile opens it on the Label page."""
    with db() as session:
        total = count_tiles(session, project_id)
        pages = max(1, -(-total // PAGE_SIZE))
        page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, key="gallery_page") if pages > 1 else 1
        project = get_project(session, project_id)
        tiles = list_tiles(session, project_id, offset=(int(page) - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        labeled = labeled_pixel_counts(session, project_id)
    workspace = get_workspace()
    columns = st.columns(COLUMNS)
    for position, tile in enumerate(tiles):
        with columns[position % COLUMNS]:
            try:
                st.image(str(tile_thumbnail(workspace, project, tile)), width="stretch")
            except (TileMissingError, TileReadError) as error:
                st.error(str(error))
            pixels = labeled.get(tile.id, 0)
            caption = f"{tile.name} · {tile.width}x{tile.height}"
            caption += f" · {pixels} labeled px" if pixels else ""
            caption += f" · nodata {tile.nodata_share:.0%}" if tile.nodata_share else ""
            st.caption(caption)
            if st.button("Label", key=f"gallery_open_{tile.id}"):
                select_tile(tile.id)
                st.switch_page("views/label.py")
