"""Per-tile class areas of a run's predictions and of the project's labels, as CSV."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.labels.files import UNLABELED, read_mask_png
from core.labels.versions import latest_labels_for_project, load_label_mask
from core.raster.atomic import write_bytes_atomic
from core.raster.georef import GeoReference
from core.raster.pixel_area import pixel_area_m2
from core.store.models import LabelClass, Prediction, Run, Tile

logger = logging.getLogger(__name__)

AreaSource = Literal["prediction", "label"]
CSV_COLUMNS = ("source", "tile", "class_index", "class_name", "pixels", "square_metres")


@dataclass(frozen=True)
class ClassArea:
    """Pixels of one class in one tile's prediction or label.

    Attributes:
        source: "prediction" (a run's class map) or "label" (the newest label).
        tile: tile name.
        class_index: class index in the mask.
        class_name: the project's name for the class, "" for an unknown index.
        pixels: pixel count; unlabeled and invalid pixels (255) are left out.
        square_metres: ground area, None when the tile is not georeferenced in
            a projected CRS with metre units.
    """

    source: AreaSource
    tile: str
    class_index: int
    class_name: str
    pixels: int
    square_metres: float | None


def class_areas(
    class_map: np.ndarray,
    class_names: Mapping[int, str],
    tile: str,
    source: AreaSource,
    georef: GeoReference | None,
) -> list[ClassArea]:
    """Count the pixels and area of every class in one (H, W) uint8 class map.

    Every class in `class_names` gets a row, also with 0 pixels, followed by
    any other index found in the map. Pixels equal to 255 are not counted.
    """
    counts = np.bincount(class_map.ravel(), minlength=256)
    height, width = class_map.shape
    pixel_area = pixel_area_m2(georef, height, width)
    indices = sorted(set(class_names) | {int(i) for i in np.flatnonzero(counts) if i != UNLABELED})
    rows = []
    for index in indices:
        pixels = int(counts[index])
        rows.append(
            ClassArea(
                source=source,
                tile=tile,
                class_index=index,
                class_name=class_names.get(index, ""),
                pixels=pixels,
                square_metres=pixels * pixel_area if pixel_area is not None else None,
            )
        )
    return rows


def run_class_areas(
    session: Session, run_id: int, sources: Sequence[AreaSource] = ("prediction", "label")
) -> list[ClassArea]:
    """Compute class areas of a run's predictions and its project's newest labels.

    Raises:
        LookupError: if the run does not exist.
        MaskFileError: if a prediction or label file is missing or damaged.
    """
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"Run {run_id} not found; list runs with `python -m core runs`.")
    class_names = _class_names(session, run.project_id)
    tiles = {
        tile.id: tile
        for tile in session.scalars(
            select(Tile).where(Tile.project_id == run.project_id).order_by(Tile.id)
        )
    }
    areas: list[ClassArea] = []
    if "prediction" in sources:
        predictions = session.scalars(
            select(Prediction).where(Prediction.run_id == run_id).order_by(Prediction.tile_id)
        )
        for prediction in predictions:
            tile = tiles.get(prediction.tile_id)
            if tile is None:
                continue
            class_map = read_mask_png(Path(prediction.class_path))
            areas += class_areas(class_map, class_names, tile.name, "prediction", tile_georef(tile))
    if "label" in sources:
        labels = latest_labels_for_project(session, run.project_id)
        for tile_id in sorted(labels):
            tile = tiles[tile_id]
            mask = load_label_mask(labels[tile_id])
            areas += class_areas(mask, class_names, tile.name, "label", tile_georef(tile))
    return areas


def write_areas_csv(path: Path, areas: Sequence[ClassArea]) -> Path:
    """Write class areas as CSV (columns `CSV_COLUMNS`), atomically.

    Square metres are written with 4 decimals, and left empty when unknown.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for area in areas:
        metres = "" if area.square_metres is None else f"{area.square_metres:.4f}"
        writer.writerow(
            (area.source, area.tile, area.class_index, area.class_name, area.pixels, metres)
        )
    write_bytes_atomic(Path(path), buffer.getvalue().encode("utf-8"))
    logger.info("Wrote %d class area rows to %s", len(areas), path)
    return Path(path)


def tile_georef(tile: Tile) -> GeoReference | None:
    """Return a tile's stored georeference, or None when it has none."""
    return GeoReference.from_dict(tile.georef) if tile.georef else None


def _class_names(session: Session, project_id: int) -> dict[int, str]:
    rows = session.scalars(select(LabelClass).where(LabelClass.project_id == project_id))
    return {row.index: row.name for row in rows}
