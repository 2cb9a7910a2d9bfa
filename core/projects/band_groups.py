"""Per-band file captures (MicaSense, Sequoia...) stacked once into aligned multi-band tiles."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.raster.align import BandAlignmentError, group_band_files, read_band_group
from core.raster.errors import TileReadError
from core.raster.header import IMAGE_SUFFIXES, read_header
from core.raster.write import write_geotiff

logger = logging.getLogger(__name__)


@dataclass
class StackReport:
    """Outcome of stacking per-band captures.

    Attributes:
        stacked: Aligned multi-band files written, one per capture.
        problems: (capture, reason) for captures that could not be aligned or read.
        notes: One line per band with its alignment quality, for the import report.
    """

    stacked: list[Path] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def find_band_groups(folder: Path) -> dict[str, tuple[Path, ...]]:
    """Return capture name -> band files for groups whose files all hold one band.

    Multi-band files with numbered names (``tile_1.tif``, ``tile_2.tif``) are
    separate tiles, not bands of one capture, so they never form a group.
    """
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    groups = {}
    for capture, paths in group_band_files(files).items():
        try:
            if all(read_header(path).bands == 1 for path in paths):
                groups[capture] = paths
        except (TileReadError, OSError) as error:
            logger.warning("Skipping band group %s: %s", capture, error)
    return groups


def _nodata_for(data: np.ndarray, valid: np.ndarray) -> float | None:
    """Pick 0 as nodata when no valid pixel is 0, so uncovered edges stay invalid."""
    return 0.0 if not (data[:, valid] == 0).any() else None


def stack_band_groups(groups: dict[str, tuple[Path, ...]], out_dir: Path, reference: int = 1) -> StackReport:
    """Align each capture's bands to its reference band and write one GeoTIFF per capture.

    Args:
        groups: Output of ``find_band_groups``.
        out_dir: Folder for the stacked tiles (inside the workspace).
        reference: Index of the band the others are aligned to (1 = green for MicaSense).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    report = StackReport()
    for capture, paths in groups.items():
        try:
            raster, alignments = read_band_group(paths, reference=min(reference, len(paths) - 1))
        except (BandAlignmentError, TileReadError) as error:
            report.problems.append((capture, f"{error} Align the bands in your photogrammetry software, then import the stack."))
            logger.warning("Capture %s not imported: %s", capture, error)
            continue
        data = raster.data.copy()
        nodata = _nodata_for(data, raster.valid)
        if nodata is not None:
            data[:, ~raster.valid] = 0
        target = out_dir / f"{capture}.tif"
        write_geotiff(target, data, raster.header.georef, nodata=nodata)
        report.stacked.append(target)
        for alignment in alignments:
            report.notes.append(
                f"{capture}: {alignment.path.name} aligned with correlation {alignment.correlation:.2f}, "
                f"residual shift {alignment.residual_shift:.2f} px"
            )
    return report
