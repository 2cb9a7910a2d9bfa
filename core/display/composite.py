"""Composites: 3-channel display images made from named bands (true colour, CIR, indices)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.display.colormaps import INDEX_ANCHORS, apply_lookup, lookup_table, plotly_colorscale
from core.raster.read import Raster
from core.raster.stats import BandStats

logger = logging.getLogger(__name__)

CompositeKind = Literal["rgb", "index"]
INDEX_RANGE = (-1.0, 1.0)


@dataclass(frozen=True)
class CompositeSpec:
    """How to build a composite from band names.

    Attributes:
        name: label shown in the UI, e.g. "CIR".
        kind: "rgb" maps three bands to red, green, blue; "index" computes the
            normalised difference (a - b) / (a + b) of two bands.
        bands: three band names for "rgb", (a, b) for "index".
    """

    name: str
    kind: CompositeKind
    bands: tuple[str, ...]


# Band roles and the project band names accepted for each, in order of preference.
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "blue": ("blue",),
    "green": ("green",),
    "red": ("red",),
    "red_edge": ("red_edge", "red_edge1", "rededge", "re"),
    "nir": ("nir", "nir_narrow", "nir08"),
}

_PRESETS: tuple[tuple[str, CompositeKind, tuple[str, ...]], ...] = (
    ("True colour", "rgb", ("red", "green", "blue")),
    ("CIR", "rgb", ("nir", "red", "green")),
    ("NDVI", "index", ("nir", "red")),
    ("NDRE", "index", ("nir", "red_edge")),
    ("GNDVI", "index", ("nir", "green")),
)


def list_composites(band_names: Sequence[str]) -> dict[str, CompositeSpec]:
    """List the composites that the project's band names allow.

    Returns:
        Composite name -> spec, holding the preset composites whose bands exist
        (e.g. "NDRE" accepts "red_edge" or Sentinel-2's "red_edge1") and always
        the fallback "Bands 1-2-3" (first three bands, or the only band as grey).
    """
    composites: dict[str, CompositeSpec] = {}
    for name, kind, roles in _PRESETS:
        bands = [_find_band(band_names, role) for role in roles]
        if all(band is not None for band in bands):
            composites[name] = CompositeSpec(name=name, kind=kind, bands=tuple(bands))  # type: ignore[arg-type]
    fallback = _first_three(band_names)
    composites[fallback.name] = fallback
    return composites


def custom_composite(bands: tuple[str, str, str]) -> CompositeSpec:
    """Return an RGB composite of three user-chosen band names."""
    if len(bands) != 3:
        raise ValueError(f"A custom composite needs 3 band names (red, green, blue), got {bands}.")
    return CompositeSpec(name=f"Custom ({', '.join(bands)})", kind="rgb", bands=tuple(bands))


def _find_band(band_names: Sequence[str], role: str) -> str | None:
    for candidate in _ROLE_NAMES[role]:
        if candidate in band_names:
            return candidate
    return None


def _first_three(band_names: Sequence[str]) -> CompositeSpec:
    if len(band_names) >= 3:
        return CompositeSpec(name="Bands 1-2-3", kind="rgb", bands=tuple(band_names[:3]))
    if not band_names:
        raise ValueError("The project has no band names; name every band first.")
    first = band_names[0]
    return CompositeSpec(name="Bands 1-2-3", kind="rgb", bands=(first, first, first))


def render_composite(
    raster: Raster,
    band_names: Sequence[str],
    stats: Mapping[str, BandStats],
    spec: CompositeSpec,
    gamma: float = 1.0,
) -> np.ndarray:
    """Render a composite of one tile.

    RGB: each band is stretched linearly from its 2nd to 98th percentile
    (`stats` low/high) to [0, 1], clipped, raised to 1 / gamma (gamma > 1
    brightens) and scaled to 0-255. Index: (a - b) / (a + b) is computed in
    float64 on the stored values and coloured over [-1, 1] with
    `index_colormap`; pixels with a + b = 0 are transparent.

    Args:
        raster: the tile.
        band_names: one name per band of the tile.
        stats: project statistics keyed by band name (used for RGB only).
        spec: the composite.
        gamma: display gamma, > 0.

    Returns:
        (H, W, 4) uint8 RGBA; alpha is 0 at invalid pixels and 255 elsewhere.

    Raises:
        ValueError: if a band of `spec` is not in `band_names`, or gamma <= 0.
    """
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}.")
    indices = _band_indices(band_names, spec)
    if spec.kind == "rgb":
        _check_stats(stats, spec)
    if spec.kind == "rgb":
        rgb = np.stack(
            [_stretch(raster.data[i], stats[spec.bands[k]], gamma) for k, i in enumerate(indices)],
            axis=-1,
        )
        valid = raster.valid
    else:
        index, valid = normalized_difference(
            raster.data[indices[0]], raster.data[indices[1]], raster.valid
        )
        rgb = apply_lookup(index, lookup_table(INDEX_ANCHORS), *INDEX_RANGE)
    alpha = np.where(valid, 255, 0).astype(np.uint8)
    rgba = np.dstack([rgb, alpha])
    rgba[~valid, :3] = 0
    return rgba


def normalized_difference(
    a: np.ndarray, b: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Compute (a - b) / (a + b) in float64.

    Returns:
        The (H, W) float64 index (NaN where undefined) and the (H, W) bool mask
        of pixels where it is defined: valid and a + b != 0.
    """
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    denominator = a64 + b64
    defined = valid & (denominator != 0)
    index = np.full(a.shape, np.nan)
    np.divide(a64 - b64, denominator, out=index, where=defined)
    return index, defined


def index_colormap(name: str = "NDVI") -> tuple[list[tuple[float, str]], float, float]:
    """Return the colour bar of an index composite for plotly.

    Args:
        name: the index name ("NDVI", "NDRE", "GNDVI" or any normalised difference);
            all share one diverging brown-yellow-green map.

    Returns:
        (colorscale, vmin, vmax): a plotly colorscale list of
        (position in [0, 1], "rgb(r,g,b)") and the value range -1 and 1.
    """
    del name
    return plotly_colorscale(INDEX_ANCHORS), INDEX_RANGE[0], INDEX_RANGE[1]


def _band_indices(band_names: Sequence[str], spec: CompositeSpec) -> list[int]:
    missing = [band for band in spec.bands if band not in band_names]
    if missing:
        raise ValueError(
            f"Composite {spec.name!r} needs bands {missing}, which the project does not have "
            f"(bands: {', '.join(band_names)}); choose another composite or rename the bands."
        )
    return [list(band_names).index(band) for band in spec.bands]


def _check_stats(stats: Mapping[str, BandStats], spec: CompositeSpec) -> None:
    missing = [band for band in spec.bands if band not in stats]
    if missing:
        raise ValueError(
            f"No statistics for bands {missing} of composite {spec.name!r}; "
            "recompute the project statistics."
        )


def _stretch(band: np.ndarray, stats: BandStats, gamma: float) -> np.ndarray:
    span = stats.high - stats.low
    if span <= 0:
        span = 1.0
    scaled = (band.astype(np.float32) - np.float32(stats.low)) / np.float32(span)
    scaled = np.clip(np.nan_to_num(scaled, nan=0.0), 0.0, 1.0)
    if gamma != 1.0:
        scaled = scaled ** np.float32(1.0 / gamma)
    return np.round(scaled * 255).astype(np.uint8)
