"""Per-band robust statistics over valid pixels, value scale detection and normalization."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from core.raster.read import Raster

logger = logging.getLogger(__name__)

ValueScale = Literal["display_8bit", "raw_counts", "reflectance_x10000", "reflectance_float"]

LOW_PERCENTILE = 2.0
HIGH_PERCENTILE = 98.0
# Reflectance above about 1.5 (x10000: 15000) is rare even over snow and clouds,
# so a 98th percentile beyond it points to raw sensor counts.
_MAX_REFLECTANCE = 1.5


@dataclass(frozen=True)
class BandStats:
    """Statistics of one band over valid pixels, in the band's stored units.

    Attributes:
        low: 2nd percentile (display stretch minimum).
        high: 98th percentile (display stretch maximum).
        mean: mean over all valid pixels.
        std: population standard deviation over all valid pixels.
        minimum: smallest valid value.
        maximum: largest valid value.
    """

    low: float
    high: float
    mean: float
    std: float
    minimum: float
    maximum: float

    def to_dict(self) -> dict[str, float]:
        """Return a JSON-safe dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> BandStats:
        """Rebuild statistics from the output of `to_dict`."""
        return cls(**{name: float(data[name]) for name in cls.__dataclass_fields__})


@dataclass
class _Accumulator:
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = np.inf
    maximum: float = -np.inf

    def add(self, values: np.ndarray) -> None:
        """Merge a batch with Chan's parallel update of mean and squared deviations."""
        n = values.size
        if n == 0:
            return
        batch_mean = float(values.mean())
        batch_m2 = float(((values - batch_mean) ** 2).sum())
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        self.m2 += batch_m2 + delta**2 * self.count * n / total
        self.count = total
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))


def compute_band_stats(
    rasters: Iterable[Raster],
    band_names: Sequence[str],
    max_samples_per_tile: int = 20000,
    seed: int = 0,
) -> dict[str, BandStats]:
    """Compute per-band statistics over the valid pixels of all rasters.

    Mean, std, minimum and maximum use every valid pixel in float64. The 2nd and
    98th percentiles use up to `max_samples_per_tile` randomly drawn valid pixels
    per tile, so a few saturated (glint) pixels do not set the display scale.

    Args:
        rasters: tiles with `len(band_names)` bands each.
        band_names: one name per band, in band order.
        max_samples_per_tile: valid pixels drawn per tile for the percentiles.
        seed: seed of the pixel sampling.

    Returns:
        Statistics keyed by band name.

    Raises:
        ValueError: if a raster has another band count, or a band has no valid pixel.
    """
    rng = np.random.default_rng(seed)
    accumulators = [_Accumulator() for _ in band_names]
    samples: list[list[np.ndarray]] = [[] for _ in band_names]
    for raster in rasters:
        _check_band_count(raster, band_names)
        pixels = raster.data[:, raster.valid]
        if pixels.shape[1] > max_samples_per_tile:
            chosen = rng.choice(pixels.shape[1], size=max_samples_per_tile, replace=False)
            sampled = pixels[:, np.sort(chosen)]
        else:
            sampled = pixels
        for index in range(len(band_names)):
            accumulators[index].add(pixels[index].astype(np.float64))
            samples[index].append(sampled[index].astype(np.float64))

    stats: dict[str, BandStats] = {}
    for name, accumulator, band_samples in zip(band_names, accumulators, samples, strict=True):
        if accumulator.count == 0:
            raise ValueError(
                f"Band {name!r} has no valid pixel in any tile (all NaN, inf or nodata); "
                "check the nodata value or remove the empty tiles."
            )
        low, high = np.percentile(np.concatenate(band_samples), [LOW_PERCENTILE, HIGH_PERCENTILE])
        stats[name] = BandStats(
            low=float(low),
            high=float(high),
            mean=accumulator.mean,
            std=float(np.sqrt(accumulator.m2 / accumulator.count)),
            minimum=accumulator.minimum,
            maximum=accumulator.maximum,
        )
    return stats


def _check_band_count(raster: Raster, band_names: Sequence[str]) -> None:
    bands = raster.data.shape[0]
    if bands != len(band_names):
        raise ValueError(
            f"{raster.header.path}: {bands} bands found but {len(band_names)} band names given "
            f"({', '.join(band_names)}); give one name per band."
        )


def detect_value_scale(dtype: str, stats: Mapping[str, BandStats]) -> ValueScale:
    """Guess what the stored values mean from the dtype and the 98th percentiles.

    uint8 is a display-scaled image. Float data whose 98th percentiles stay at
    or below 1.5 are reflectance. Other data at or below 15000 are reflectance
    x 10000, and anything larger is raw sensor counts.

    NOTE: this is a heuristic. A 12-bit sensor with dark scenes also stays below
    15000 and is then reported as reflectance x 10000.
    """
    highest = max((band.high for band in stats.values()), default=0.0)
    kind = np.dtype(dtype).kind
    if np.dtype(dtype) == np.uint8:
        return "display_8bit"
    if kind == "f" and highest <= _MAX_REFLECTANCE:
        return "reflectance_float"
    if highest <= _MAX_REFLECTANCE * 10000:
        return "reflectance_x10000"
    return "raw_counts"


def normalization_from_stats(stats: Mapping[str, BandStats]) -> dict[str, tuple[float, float]]:
    """Return band name -> (mean, std) for standardisation.

    The std is floored at 1e-6 and at 1e-3 of |mean|, so a constant band does
    not divide by zero.
    """
    return {
        name: (band.mean, max(band.std, 1e-6, 1e-3 * abs(band.mean)))
        for name, band in stats.items()
    }


def normalize(
    data: np.ndarray,
    valid: np.ndarray,
    band_names: Sequence[str],
    normalization: Mapping[str, tuple[float, float]],
) -> np.ndarray:
    """Standardise each band with its (mean, std).

    Args:
        data: (bands, H, W) array of any numeric dtype.
        valid: (H, W) bool validity mask.
        band_names: one name per band of `data`.
        normalization: band name -> (mean, std), e.g. from `normalization_from_stats`.

    Returns:
        (bands, H, W) float32, (value - mean) / std, with 0 at invalid pixels.

    Raises:
        ValueError: if the band count differs from `band_names` or a band has no
            normalization entry.
    """
    if data.shape[0] != len(band_names):
        raise ValueError(
            f"data has {data.shape[0]} bands but {len(band_names)} band names were given."
        )
    missing = [name for name in band_names if name not in normalization]
    if missing:
        raise ValueError(f"No normalization for bands {missing}; recompute the project statistics.")
    out = np.empty(data.shape, dtype=np.float32)
    for index, name in enumerate(band_names):
        mean, std = normalization[name]
        band = data[index].astype(np.float64)
        out[index] = (band - mean) / std
    out[:, ~valid] = 0.0
    return out
