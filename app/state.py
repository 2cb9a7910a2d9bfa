"""Session state and the workspace shared by every page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy.orm import Session

from core.labels.verify import LabelProblem, check_workspace_labels
from core.store.engine import session_scope, upgrade_database
from core.store.workspace import Workspace, default_workspace_root

PROJECT_KEY = "project_id"
TILE_KEY = "tile_id"


@st.cache_resource
def get_workspace() -> Workspace:
    """Return the workspace (from $MULTISSL_WORKSPACE or the default), migrated once per server."""
    workspace = Workspace(default_workspace_root()).create()
    upgrade_database(workspace.database_url)
    return workspace


@st.cache_resource
def startup_label_problems() -> list[LabelProblem]:
    """Check every label file against its row once per server start; return the problems found."""
    return check_workspace_labels(get_workspace())


def show_label_problems() -> None:
    """Warn about label files that are missing or changed since they were saved."""
    problems = startup_label_problems()
    if not problems:
        return
    with st.expander(f":warning: {len(problems)} label files failed the integrity check", expanded=False):
        for problem in problems:
            st.warning(problem.message)


@contextmanager
def db() -> Iterator[Session]:
    """Open a short database transaction on the workspace database."""
    with session_scope(get_workspace().database_url) as session:
        yield session


def init_state() -> None:
    """Create the session-state keys every page reads, once per browser session."""
    for key in (PROJECT_KEY, TILE_KEY):
        if key not in st.session_state:
            st.session_state[key] = None
    if st.session_state[PROJECT_KEY] is None:
        params = st.query_params
        if "project" in params and params["project"].isdigit():
            st.session_state[PROJECT_KEY] = int(params["project"])
        if "tile" in params and params["tile"].isdigit():
            st.session_state[TILE_KEY] = int(params["tile"])


def current_project_id() -> int | None:
    """Return the selected project id, or None."""
    return st.session_state.get(PROJECT_KEY)


def select_project(project_id: int) -> None:
    """Select a project (and forget the selected tile); kept in the URL across reloads."""
    if st.session_state.get(PROJECT_KEY) != project_id:
        st.session_state[TILE_KEY] = None
    st.session_state[PROJECT_KEY] = project_id
    st.query_params["project"] = str(project_id)


def select_tile(tile_id: int) -> None:
    """Select a tile; kept in the URL across reloads."""
    st.session_state[TILE_KEY] = tile_id
    st.query_params["tile"] = str(tile_id)


def require_project() -> int:
    """Return the selected project id, or tell the user to pick one and stop the page."""
    project_id = current_project_id()
    if project_id is None:
        st.info("No project selected. Create or open one on the Projects page.")
        st.page_link("views/projects.py", label="Go to Projects")
        st.stop()
    return project_id
