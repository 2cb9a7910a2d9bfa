"""Class list editor: add, rename, recolour, delete with confirmation; pick the active class."""

from __future__ import annotations

import streamlit as st

from app.state import db, get_workspace
from core.projects.classes import (
    add_class,
    default_palette,
    delete_class,
    list_classes,
    update_class,
)
from core.store.models import LabelClass


def class_editor(project_id: int) -> None:
    """Render the class manager (inside an expander)."""
    with db() as session:
        classes = list_classes(session, project_id)
    for label_class in classes:
        cols = st.columns([4, 2, 2])
        name = cols[0].text_input("Name", label_class.name, key=f"class_name_{label_class.id}", label_visibility="collapsed")
        color = cols[1].color_picker("Colour", label_class.color, key=f"class_color_{label_class.id}", label_visibility="collapsed")
        if name != label_class.name or color != label_class.color:
            try:
                with db() as session:
                    update_class(session, label_class.id, name=name, color=color)
                st.rerun()
            except (ValueError, LookupError) as error:
                st.error(str(error))
        with cols[2].popover("Delete", icon=":material/delete:"):
            st.write(f"Delete class **{label_class.name}**? Its labeled pixels become unlabeled in a new label version; older versions stay in each tile's history.")
            if st.button("Delete for good", key=f"class_delete_{label_class.id}", type="primary"):
                with db() as session:
                    changed = delete_class(session, get_workspace(), label_class.id)
                st.toast(f"Deleted {label_class.name}; {changed} tile(s) relabeled.")
                st.session_state["canvas_nonce"] = st.session_state.get("canvas_nonce", 0) + 1
                st.rerun()
    with st.form("class_add", clear_on_submit=True, border=False):
        cols = st.columns([4, 2, 2])
        new_name = cols[0].text_input("New class", placeholder="e.g. weed", key="class_new_name")
        # Default to the first palette colour no class uses yet, so new classes look different.
        palette = default_palette()
        used = {c.color.lower() for c in classes}
        suggested = next((colour for colour in palette if colour.lower() not in used), palette[len(classes) % len(palette)])
        new_color = cols[1].color_picker("Colour", suggested, key=f"class_new_color_{len(classes)}")
        if cols[2].form_submit_button("Add"):
            try:
                with db() as session:
                    add_class(session, project_id, new_name, new_color)
                st.rerun()
            except ValueError as error:
                st.error(str(error))


def active_class_picker(classes: list[LabelClass]) -> LabelClass | None:
    """Return the class to paint, chosen with a radio list of coloured names."""
    if not classes:
        st.warning("Add a class below before painting.")
        return None
    by_index = {c.index: c for c in classes}
    index = st.radio(
        "Paint class",
        list(by_index),
        format_func=lambda i: f"{by_index[i].name}  ({by_index[i].color})",
        key="label_active_class",
    )
    return by_index[index]
