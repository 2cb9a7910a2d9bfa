"""Band names: sensor presets, validation and a band order sanity check."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from core.raster.read import Raster
from core.raster.stats import ValueScale

logger = logging.getLogger(__name__)

PRESETS_PATH = Path(__file__).resolve().parents[2] / "assets" / "sensor_presets.json"
_BAND_NAME = re.compile(r"[a-z][a-z0-9_]*")
_REFLECTANCE_SCALES = ("reflectance_x10000", "reflectance_float")
# Vegetation has NDVI well above 0.3, while bare soil, water and clouds stay below it.
# An NDVI below -0.3 on a large share of pixels is rare in real scenes.
_VEGETATION_NDVI = 0.3
_MIN_PIXELS = 100
_SAMPLES_PER_TILE = 20000


def load_sensor_presets(path: Path = PRESETS_PATH) -> dict[str, list[str]]:
    """Load preset name -> band names in file order from the presets JSON file."""
    with Path(path).open(encoding="utf-8") as handle:
        presets = json.load(handle)
    return {str(name): [str(band) for band in bands] for name, bands in presets.items()}


def validate_band_names(names: Sequence[str], band_count: int) -> list[str]:
    """Normalise band names to lowercase and check them.

    Args:
        names: one name per band, as typed by the user or from a preset.
        band_count: number of bands in the project's tiles.

    Returns:
        Stripped, lowercase names.

    Raises:
        ValueError: naming the offending value if the count differs, a name is
            empty, not an identifier (letters, digits, underscore, starting with
            a letter) or repeated.
    """
    cleaned = [str(name).strip().lower().replace(" ", "_").replace("-", "_") for name in names]
    if len(cleaned) != band_count:
        raise ValueError(
            f"{len(cleaned)} band names given ({', '.join(cleaned)}) but the tiles have "
            f"{band_count} bands; give exactly one name per band."
        )
    for position, name in enumerate(cleaned, start=1):
        if not _BAND_NAME.fullmatch(name):
            raise ValueError(
                f"Band {position} name {names[position - 1]!r} is invalid; use letters, digits and "
                "underscores, starting with a letter (e.g. 'red_edge')."
            )
    duplicates = sorted({name for name in cleaned if cleaned.count(name) > 1})
    if duplicates:
        raise ValueError(f"Band names {duplicates} are repeated; give each band its own name.")
    return cleaned


def band_order_warnings(
    rasters: Iterable[Raster],
    band_names: Sequence[str],
    value_scale: ValueScale,
    seed: int = 0,
) -> list[str]:
    """Check that the named bands behave like their names on vegetation.

    Runs only for reflectance data, because raw counts and display-scaled
    composites are not comparable across bands. More pixels with NDVI below
    -0.3 than above 0.3 suggest that red and NIR are swapped. A red edge band
    brighter than NIR on vegetated pixels suggests that red edge and NIR are
    swapped, a common mistake because MicaSense RedEdge files store NIR as
    band 4 and red edge as band 5.

    Returns:
        Human-readable warnings, empty when nothing looks wrong or the check
        cannot run.
    """
    if value_scale not in _REFLECTANCE_SCALES or "nir" not in band_names or "red" not in band_names:
        return []
    samples = _sample_valid_pixels(rasters, len(band_names), seed)
    if samples.shape[1] < _MIN_PIXELS:
        return []
    bands = {name: samples[i] for i, name in enumerate(band_names)}
    nir, red = bands["nir"], bands["red"]
    total = nir + red
    ndvi = np.divide(nir - red, total, out=np.zeros_like(total), where=total > 0)

    warnings: list[str] = []
    vegetated = ndvi > _VEGETATION_NDVI
    inverted = ndvi < -_VEGETATION_NDVI
    if inverted.mean() > 0.05 and inverted.sum() > vegetated.sum():
        warnings.append(
            f"Band order: {inverted.mean():.0%} of pixels have NDVI below -0.3 but only "
            f"{vegetated.mean():.0%} above 0.3; 'red' and 'nir' may be swapped. "
            "Check the band order of the sensor preset."
        )
    red_edge = next((bands[n] for n in ("red_edge", "red_edge1") if n in bands), None)
    if red_edge is not None and vegetated.sum() >= _MIN_PIXELS:
        if np.median(red_edge[vegetated]) > np.median(nir[vegetated]):
            warnings.append(
                "Band order: on vegetated pixels the red edge band is brighter than NIR; "
                "'red_edge' and 'nir' may be swapped (MicaSense RedEdge files store NIR as "
                "band 4 and red edge as band 5)."
            )
    for warning in warnings:
        logger.warning(warning)
    return warnings


def _sample_valid_pixels(rasters: Iterable[Raster], band_count: int, seed: int) -> np.ndarray:
    """Return (bands, N) float64 values of valid pixels, at most a fixed number per tile."""
    rng = np.random.default_rng(seed)
    parts = []
    for raster in rasters:
        pixels = raster.data[:, raster.valid]
        if pixels.shape[0] != band_count:
            raise ValueError(
                f"{raster.header.path}: {pixels.shape[0]} bands found, {band_count} band names given."
            )
        if pixels.shape[1] > _SAMPLES_PER_TILE:
            pixels = pixels[:, rng.choice(pixels.shape[1], _SAMPLES_PER_TILE, replace=False)]
        parts.append(pixels.astype(np.float64))
    if not parts:
        return np.empty((band_count, 0))
    return np.concatenate(parts, axis=1)
