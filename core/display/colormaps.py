"""Colour maps as anchor tables: 256-entry lookup tables for images, colour scales for plotly."""

from __future__ import annotations

import numpy as np

Anchor = tuple[float, tuple[int, int, int]]

# Diverging map for normalised-difference indices over [-1, 1]: brown (bare,
# water) through pale yellow (0) to dark green (dense vegetation).
INDEX_ANCHORS: tuple[Anchor, ...] = (
    (0.0, (120, 50, 25)),
    (0.25, (200, 120, 60)),
    (0.5, (245, 238, 190)),
    (0.7, (150, 200, 100)),
    (0.85, (60, 150, 60)),
    (1.0, (10, 85, 40)),
)

# Perceptually ordered map from dark purple through blue and green to yellow,
# with anchors close to matplotlib's viridis.
CONFIDENCE_ANCHORS: tuple[Anchor, ...] = (
    (0.0, (68, 1, 84)),
    (0.25, (59, 82, 139)),
    (0.5, (33, 145, 140)),
    (0.75, (94, 201, 98)),
    (1.0, (253, 231, 37)),
)


def lookup_table(anchors: tuple[Anchor, ...], size: int = 256) -> np.ndarray:
    """Interpolate anchors linearly into a (size, 3) uint8 lookup table."""
    positions = np.array([position for position, _ in anchors])
    colours = np.array([colour for _, colour in anchors], dtype=np.float64)
    grid = np.linspace(0.0, 1.0, size)
    table = np.stack([np.interp(grid, positions, colours[:, c]) for c in range(3)], axis=1)
    return np.round(table).astype(np.uint8)


def plotly_colorscale(anchors: tuple[Anchor, ...]) -> list[tuple[float, str]]:
    """Return anchors as a plotly colorscale: [(position in [0, 1], "rgb(r,g,b)"), ...]."""
    return [(position, f"rgb({r},{g},{b})") for position, (r, g, b) in anchors]


def apply_lookup(values: np.ndarray, table: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Map values in [vmin, vmax] (clipped) through a (N, 3) lookup table.

    Returns:
        values.shape + (3,) uint8. NaN maps to the first entry.
    """
    scaled = (np.nan_to_num(values.astype(np.float64), nan=vmin) - vmin) / (vmax - vmin)
    indices = np.clip(np.round(scaled * (len(table) - 1)), 0, len(table) - 1).astype(np.intp)
    return table[indices]
