"""Session state and the workspace shared by every page."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from sqlalchemy.orm import Session

from core.labels.verify import LabelProblem, check_workspace_labels
from core.projects.queries import get_project
from core.store.engine import session_scope, upgrade_database
from core.store.workspace import Workspace, default_workspace_root

logger = logging.getLogger(__name__)

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
        else:
            st.session_state[PROJECT_KEY] = last_opened_project()
        if "tile" in params and params["tile"].isdigit():
            st.session_state[TILE_KEY] = int(params["tile"])
    # Page links drop query parameters, so write them back on every run to survive a reload.
    if st.session_state[PROJECT_KEY] is not None:
        st.query_params["project"] = str(st.session_state[PROJECT_KEY])
    if st.session_state[TILE_KEY] is not None:
        st.query_params["tile"] = str(st.session_state[TILE_KEY])
    elif "tile" in st.query_params:
        del st.query_params["tile"]


def _last_project_file() -> Path:
    return get_workspace().root / "last_project.txt"


def last_opened_project() -> int | None:
    """Return the project opened last in this workspace, so a new session starts there."""
    try:
        return int(_last_project_file().read_text().strip())
    except (OSError, ValueError):
        return None


def current_project_id() -> int | None:
    """Return the selected project id, or None."""
    return st.session_state.get(PROJECT_KEY)


def select_project(project_id: int) -> None:
    """Select a project (and forget the selected tile); kept in the URL across reloads."""
    if st.session_state.get(PROJECT_KEY) != project_id:
        st.session_state[TILE_KEY] = None
    st.session_state[PROJECT_KEY] = project_id
    st.query_params["project"] = str(project_id)
    if last_opened_project() == project_id:
        return
    try:
        _last_project_file().write_text(str(project_id))
    except OSError as error:
        logger.warning("Could not remember the last project in %s: %s", _last_project_file(), error)


def select_tile(tile_id: int) -> None:
    """Select a tile; kept in the URL across reloads."""
    st.session_state[TILE_KEY] = tile_id
    st.query_params["tile"] = str(tile_id)


def require_project() -> int:
    """Return the selected project id, or tell the user to pick one and stop the page."""
    project_id = current_project_id()
    if project_id is not None:
        try:
            with db() as session:
                get_project(session, project_id)
            return project_id
        except LookupError:
            pass
        st.session_state[PROJECT_KEY] = None
        st.query_params.pop("project", None)
    st.info("No project selected. Create or open one on the Projects page.")
    st.page_link("views/projects.py", label="Go to Projects")
    st.stop()
