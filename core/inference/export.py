"""Exporting a run's predictions, confidence maps and the newest labels as PNG and GeoTIFF.

Every GeoTIFF carries its source tile's georeference tags unchanged and has
the tile's size, so GIS tools overlay it on the tile. PNG files hold the same
pixels without georeference.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.inference.areas import run_class_areas, tile_georef, write_areas_csv
from core.labels.files import UNLABELED, MaskFileError, read_mask_png
from core.labels.versions import latest_labels_for_project, load_label_mask
from core.raster.georef import GeoReference
from core.raster.write import write_geotiff, write_png
from core.store.models import Label, Prediction, Run, Tile
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)

ExportFormat = Literal["geotiff", "png"]
ExportItem = Literal["predictions", "confidence", "masks", "areas"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)
EXPORT_ITEMS: tuple[str, ...] = get_args(ExportItem)
AREAS_FILE = "class_areas.csv"
# Confidence PNGs store the top softmax probability times this factor as uint16.
CONFIDENCE_PNG_SCALE = 65535

_UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM_LENGTH = 120


@dataclass
class ExportReport:
    """Outcome of `export_run`: files written and items not exported.

    Attributes:
        run_id: the exported run.
        out_dir: folder holding the files.
        files: every file written.
        tiles_exported: tiles with at least one file written.
        tiles_without_georef: names of tiles exported without georeference,
            because their source has none.
        problems: one message per tile item that was not exported, e.g. a
            missing prediction file.
    """

    run_id: int
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    tiles_exported: int = 0
    tiles_without_georef: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def safe_file_stem(name: str, fallback: str) -> str:
    """Turn a tile name into a file stem without folders, dots in front or odd characters.

    Path separators, `..` and characters other than letters, digits, `.`,
    `_` and `-` become `_`, so no name can point outside the export folder.
    """
    stem = Path(name.replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem.lstrip(".") else stem
    stem = _UNSAFE_CHARACTERS.sub("_", stem).strip("._-")[:_MAX_STEM_LENGTH]
    return stem or fallback


def export_run(
    session: Session,
    workspace: Workspace,
    run_id: int,
    out_dir: Path | None = None,
    formats: Sequence[ExportFormat] = ("geotiff", "png"),
    include: Sequence[ExportItem] = ("predictions", "confidence", "masks"),
) -> ExportReport:
    """Export every tile of a run's project.

    Files per tile, named after the sanitised tile name:
    `<tile>_prediction` (uint8 class indices, 255 on invalid pixels, GeoTIFF
    nodata 255), `<tile>_confidence` (PNG: uint16, probability x 65535;
    GeoTIFF: float32 probability in [0, 1]) and `<tile>_mask` (the newest
    label, uint8, 255 unlabeled, GeoTIFF nodata 255), each as `.png` and `.tif`.
    With "areas" in `include`, `class_areas.csv` lists class areas too.

    Args:
        session: open database session.
        workspace: the workspace; its exports folder is the default target.
        run_id: a head training run.
        out_dir: target folder, created if missing; default
            `<workspace>/exports/run_<run_id>`.
        formats: any of `EXPORT_FORMATS`.
        include: any of `EXPORT_ITEMS`.

    Returns:
        The files written, tiles without georeference and per-tile problems.
        A missing or damaged file of one tile is reported, not raised.

    Raises:
        LookupError: if the run does not exist.
        ValueError: for an unknown format or item.
    """
    _check_choices(formats, EXPORT_FORMATS, "format")
    _check_choices(include, EXPORT_ITEMS, "export item")
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"Run {run_id} not found; list runs with `python -m core runs`.")
    out_dir = Path(out_dir) if out_dir is not None else workspace.exports_dir / f"run_{run_id}"
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ExportReport(run_id=run_id, out_dir=out_dir)

    tiles = list(session.scalars(select(Tile).where(Tile.project_id == run.project_id).order_by(Tile.id)))
    predictions = {
        row.tile_id: row for row in session.scalars(select(Prediction).where(Prediction.run_id == run_id))
    }
    labels = latest_labels_for_project(session, run.project_id) if "masks" in include else {}
    stems: set[str] = set()
    for tile in tiles:
        stem = safe_file_stem(tile.name, f"tile_{tile.id}")
        if stem in stems:
            stem = f"{stem}_{tile.id}"
        stems.add(stem)
        exporter = _TileExporter(tile, out_dir, stem, tuple(formats), report)
        exporter.export(predictions.get(tile.id), labels.get(tile.id), include, run_id)

    if "areas" in include:
        areas = run_class_areas(session, run_id)
        report.files.append(write_areas_csv(out_dir / AREAS_FILE, areas))
    logger.info(
        "Exported run %d: %d files for %d tiles to %s (%d tiles without georeference, %d problems)",
        run_id, len(report.files), report.tiles_exported, out_dir,
        len(report.tiles_without_georef), len(report.problems),
    )
    return report


class _TileExporter:
    """Writes one tile's items and records the outcome in the report."""

    def __init__(
        self, tile: Tile, out_dir: Path, stem: str, formats: tuple[str, ...], report: ExportReport
    ) -> None:
        self.tile = tile
        self.out_dir = out_dir
        self.stem = stem
        self.formats = formats
        self.report = report
        self.georef: GeoReference | None = tile_georef(tile)
        self.written = 0

    def export(
        self, prediction: Prediction | None, label: Label | None, include: Sequence[str], run_id: int
    ) -> None:
        wants_prediction = "predictions" in include or "confidence" in include
        if wants_prediction and prediction is None:
            self.report.problems.append(f"{self.tile.name}: run {run_id} has no prediction for this tile")
        if prediction is not None and "predictions" in include:
            self._export_item("prediction", lambda: read_mask_png(Path(prediction.class_path)), self._write_classes)
        if prediction is not None and "confidence" in include:
            self._export_item("confidence", lambda: _read_confidence(Path(prediction.confidence_path)), self._write_confidence)
        if label is not None and "masks" in include:
            self._export_item("mask", lambda: load_label_mask(label), self._write_classes)
        if self.written:
            self.report.tiles_exported += 1
            if self.georef is None:
                self.report.tiles_without_georef.append(self.tile.name)

    def _export_item(
        self,
        kind: str,
        load: Callable[[], np.ndarray],
        write: Callable[[str, np.ndarray], None],
    ) -> None:
        try:
            array = load()
        except (MaskFileError, OSError, ValueError) as error:
            self.report.problems.append(f"{self.tile.name}: {kind} not exported: {error}")
            logger.warning("Tile %d %s not exported: %s", self.tile.id, kind, error)
            return
        expected = (self.tile.height, self.tile.width)
        if array.shape != expected:
            self.report.problems.append(
                f"{self.tile.name}: {kind} has shape {array.shape} but the tile is {expected}; "
                "predict the tile again"
            )
            return
        write(kind, array)
        self.written += 1

    def _write_classes(self, kind: str, array: np.ndarray) -> None:
        base = self.out_dir / f"{self.stem}_{kind}"
        if "png" in self.formats:
            self._record(base.with_suffix(".png"), lambda path: write_png(path, array))
        if "geotiff" in self.formats:
            self._record(
                base.with_suffix(".tif"),
                lambda path: write_geotiff(path, array, self.georef, nodata=UNLABELED),
            )

    def _write_confidence(self, kind: str, array: np.ndarray) -> None:
        base = self.out_dir / f"{self.stem}_{kind}"
        if "png" in self.formats:
            self._record(base.with_suffix(".png"), lambda path: write_png(path, array))
        if "geotiff" in self.formats:
            probability = (array.astype(np.float32) / CONFIDENCE_PNG_SCALE).astype(np.float32)
            self._record(base.with_suffix(".tif"), lambda path: write_geotiff(path, probability, self.georef))

    def _record(self, path: Path, write: Callable[[Path], None]) -> None:
        write(path)
        self.report.files.append(path)


def _read_confidence(path: Path) -> np.ndarray:
    """Read a uint16 confidence PNG (probability x 65535)."""
    if not path.is_file():
        raise MaskFileError(f"Confidence file not found: {path}; predict the tile again.")
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 2 or image.dtype != np.uint16:
        raise MaskFileError(f"Confidence file {path} is not a single-channel 16-bit PNG.")
    return image


def _check_choices(values: Sequence[str], allowed: tuple[str, ...], what: str) -> None:
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValueError(f"Unknown {what} {unknown}; choose from {', '.join(allowed)}.")
