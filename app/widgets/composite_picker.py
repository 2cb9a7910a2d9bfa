"""Composite selection: presets by band name, or any three bands."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core.display.composite import CompositeSpec, custom_composite, index_colormap, list_composites

CUSTOM = "Any three bands"


def composite_picker(band_names: list[str], key: str) -> CompositeSpec:
    """Render a composite selector and return the chosen spec."""
    composites = list_composites(band_names)
    choice = st.selectbox("Composite", [*composites, CUSTOM], key=f"{key}_composite")
    if choice != CUSTOM:
        return composites[choice]
    columns = st.columns(3)
    picked = tuple(
        column.selectbox(channel, band_names, index=min(i, len(band_names) - 1), key=f"{key}_custom_{channel}")
        for i, (column, channel) in enumerate(zip(columns, ("Red", "Green", "Blue"), strict=True))
    )
    return custom_composite(picked)  # type: ignore[arg-type]


def stretch_settings(key: str) -> tuple[float, bool]:
    """Render the gamma slider and stretch scope; return (gamma, per_tile)."""
    gamma = st.slider("Gamma", 0.3, 3.0, 1.0, step=0.1, key=f"{key}_gamma", help="Above 1 brightens dark areas")
    scope = st.radio(
        "Stretch", ["Project", "This tile"], horizontal=True, key=f"{key}_stretch",
        help="Project: 2-98 % percentiles over all tiles, so neighbours look alike. This tile: its own percentiles.",
    )
    return gamma, scope == "This tile"


def index_colorbar(spec: CompositeSpec) -> None:
    """Draw a horizontal colour bar for an index composite (NDVI and the like)."""
    if spec.kind != "index":
        return
    colorscale, vmin, vmax = index_colormap(spec.name)
    figure = go.Figure(
        go.Heatmap(
            z=[[vmin + (vmax - vmin) * i / 100 for i in range(101)]],
            x=[vmin + (vmax - vmin) * i / 100 for i in range(101)],
            colorscale=colorscale,
            showscale=False,
            hovertemplate=f"{spec.name} %{{x:.2f}}<extra></extra>",
        )
    )
    figure.update_layout(height=70, margin=dict(l=10, r=10, t=10, b=25), yaxis=dict(visible=False))
    figure.update_xaxes(title=None)
    st.plotly_chart(figure, width="stretch", config={"displayModeBar": False}, key=f"colorbar_{spec.name}")
    st.caption(f"{spec.name} = ({spec.bands[0]} - {spec.bands[1]}) / ({spec.bands[0]} + {spec.bands[1]})")
