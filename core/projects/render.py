"""Display images of tiles: composites, label overlays, thumbnails cached on disk."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from core.display.composite import CompositeSpec, list_composites, render_composite
from core.display.overlay import blend_classes, hex_to_rgb, thumbnail
from core.inference.paths import entropy_path_for
from core.labels.files import encode_png, write_atomic
from core.projects.tiles import load_raster, project_stats
from core.raster.stats import compute_band_stats
from core.store.models import Project, Tile
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)

THUMBNAIL_SIDE = 160


def default_composite(project: Project) -> CompositeSpec:
    """Return the composite shown first: CIR when NIR exists, else true colour, else the first three bands."""
    composites = list_composites(project.band_names)
    for name in ("True colour", "CIR"):
        if name in composites:
            return composites[name]
    return next(iter(composites.values()))


def composite_image(
    project: Project, tile: Tile, spec: CompositeSpec, gamma: float = 1.0, per_tile: bool = False
) -> np.ndarray:
    """Render a tile as an (H, W, 4) uint8 RGBA composite.

    The stretch uses the project's band statistics, so neighbouring tiles look
    alike, or with ``per_tile`` the tile's own percentiles.
    """
    raster = load_raster(tile)
    stats = compute_band_stats([raster], project.band_names) if per_tile else project_stats(project)
    return render_composite(raster, project.band_names, stats, spec, gamma=gamma)


def palette_rgb(project: Project) -> dict[int, tuple[int, int, int]]:
    """Return class index -> RGB colour of the project's classes."""
    return {c.index: hex_to_rgb(c.color) for c in project.classes}


def overlay_image(
    rgba: np.ndarray,
    class_map: np.ndarray,
    project: Project,
    opacity: float,
    visible: set[int] | None = None,
) -> np.ndarray:
    """Blend a class map (mask or prediction) over a composite; invalid pixels stay black."""
    rgb = blend_classes(rgba, class_map, palette_rgb(project), opacity, visible)
    rgb[rgba[..., 3] == 0] = 0
    return rgb


def thumbnail_path(workspace: Workspace, tile: Tile) -> Path:
    """Return where a tile's cached thumbnail lives; the tile hash invalidates it."""
    return workspace.thumbnails_dir / str(tile.project_id) / f"{tile.id}_{tile.content_hash[:12]}.png"


def tile_thumbnail(workspace: Workspace, project: Project, tile: Tile) -> Path:
    """Return the path of a tile's thumbnail PNG, rendering it on first use."""
    path = thumbnail_path(workspace, tile)
    if not path.is_file():
        small = thumbnail(composite_image(project, tile, default_composite(project)), THUMBNAIL_SIDE)
        rgb = small[..., :3].copy()
        rgb[small[..., 3] == 0] = 0
        write_atomic(path, encode_png(rgb))
    return path


def read_prediction(class_path: str, confidence_path: str) -> tuple[np.ndarray, np.ndarray]:
    """Read a stored prediction: class map (H, W) uint8 and confidence (H, W) float32 in [0, 1]."""
    classes = cv2.imread(class_path, cv2.IMREAD_UNCHANGED)
    confidence = cv2.imread(confidence_path, cv2.IMREAD_UNCHANGED)
    if classes is None or confidence is None:
        raise FileNotFoundError(
            f"Prediction files missing or unreadable: {class_path}, {confidence_path}. Train the run again."
        )
    return classes, confidence.astype(np.float32) / 65535.0


def draw_outlines(
    rgb: np.ndarray, class_map: np.ndarray, project: Project, visible: set[int] | None = None
) -> np.ndarray:
    """Draw one-pixel class boundaries of a class map in each class's colour.

    Args:
        rgb: (H, W, 3) uint8 image to draw on (a copy is returned).
        class_map: (H, W) uint8 class indices; 255 has no outline.
        project: Source of the class colours.
        visible: Classes to outline, None for all.
    """
    result = rgb.copy()
    kernel = np.ones((3, 3), np.uint8)
    for index, colour in palette_rgb(project).items():
        if visible is not None and index not in visible:
            continue
        region = (class_map == index).astype(np.uint8)
        edge = region.astype(bool) & ~cv2.erode(region, kernel).astype(bool)
        result[edge] = colour
    return result


def read_entropy(confidence_path: str) -> np.ndarray | None:
    """Read the normalised entropy map stored next to a confidence map, or None if there is none."""
    entropy = cv2.imread(str(entropy_path_for(confidence_path)), cv2.IMREAD_UNCHANGED)
    return None if entropy is None else entropy.astype(np.float32) / 65535.0
