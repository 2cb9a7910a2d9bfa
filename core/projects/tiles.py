"""Loading a project's tiles as standardised arrays, with clear errors for missing files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from core.raster.read import Raster, read_tile
from core.raster.stats import BandStats, normalization_from_stats, normalize
from core.store.models import Project, Tile


class TileMissingError(FileNotFoundError):
    """A tile's file is gone from disk since it was imported."""


def load_raster(tile: Tile) -> Raster:
    """Read a tile's pixels from its original file.

    Raises:
        TileMissingError: the file was moved or deleted since import.
    """
    path = Path(tile.path)
    if not path.exists():
        raise TileMissingError(
            f"Tile file not found: {path} (tile {tile.name!r}). Put the file back or re-import the folder."
        )
    return read_tile(path)


def project_stats(project: Project) -> dict[str, BandStats]:
    """Return the project's per-band statistics keyed by band name."""
    return {band: BandStats.from_dict(values) for band, values in project.band_stats.items()}


def project_normalization(project: Project) -> dict[str, list[float]]:
    """Return band -> [mean, std] from the project's statistics (JSON-friendly)."""
    return {band: [float(m), float(s)] for band, (m, s) in normalization_from_stats(project_stats(project)).items()}


def standardize(raster: Raster, band_names: Sequence[str], normalization: Mapping[str, Sequence[float]]) -> np.ndarray:
    """Return (C, H, W) float32 standardised bands with invalid pixels set to 0."""
    pairs = {band: (float(values[0]), float(values[1])) for band, values in normalization.items()}
    return normalize(raster.data, raster.valid, list(band_names), pairs)
