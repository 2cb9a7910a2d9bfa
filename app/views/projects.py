"""Projects page: open or create a project, see its tiles."""

from __future__ import annotations

import streamlit as st

from app.state import current_project_id, db, select_project
from app.widgets.gallery import tile_gallery
from app.widgets.import_form import import_form
from core.projects.checks import project_warnings
from core.projects.queries import count_tiles, get_project, list_projects, list_tiles


@st.cache_data(ttl=600, show_spinner="Checking band order...")
def project_checks(project_id: int) -> list[str]:
    """Run the band-order and value-scale checks once per project (cached)."""
    with db() as session:
        return project_warnings(get_project(session, project_id), list_tiles(session, project_id))


st.title("Projects")

with db() as session:
    projects = list_projects(session)
    tile_counts = {p.id: count_tiles(session, p.id) for p in projects}

# A project created by the form below becomes the selected one on the next run.
if "created_project" in st.session_state:
    st.session_state["projects_select"] = st.session_state.pop("created_project")

if projects:
    ids = [p.id for p in projects]
    names = {p.id: f"{p.name} ({tile_counts[p.id]} tiles, {len(p.band_names)} bands)" for p in projects}
    current = current_project_id()
    chosen = st.selectbox(
        "Project", ids, index=ids.index(current) if current in ids else 0, format_func=names.get, key="projects_select"
    )
    select_project(int(chosen))

with st.expander("Create a project from a folder", expanded=not projects):
    import_form()

project_id = current_project_id()
if project_id is not None and projects:
    project = next(p for p in projects if p.id == project_id)
    st.subheader(project.name)
    st.caption(
        f"Bands: {', '.join(project.band_names)} · {project.dtype} · value scale: {project.value_scale} · "
        f"folder: {project.source_folder}"
    )
    for note in st.session_state.pop("import_notes", []):
        st.info(note)
    for warning in project_checks(project_id):
        st.warning(warning)
    tile_gallery(project_id)
