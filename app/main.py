"""MultiSSL Studio: Streamlit entry point with page navigation."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import streamlit as st

# Streamlit runs this file as a script, so the repository root must be importable.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.state import init_state, show_label_problems  # noqa: E402

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

st.set_page_config(page_title="MultiSSL Studio", page_icon=":material/satellite_alt:", layout="wide")
init_state()
show_label_problems()

pages = [
    st.Page("views/projects.py", title="Projects", icon=":material/folder_open:", default=True),
    st.Page("views/label.py", title="Label", icon=":material/brush:"),
    st.Page("views/train.py", title="Train", icon=":material/model_training:"),
    st.Page("views/review.py", title="Review", icon=":material/layers:"),
    st.Page("views/runs.py", title="Runs", icon=":material/history:"),
    st.Page("views/export.py", title="Export", icon=":material/download:"),
]
st.navigation(pages).run()
