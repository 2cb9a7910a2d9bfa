"""Create a project from a folder of tiles: scan, read, hash, compute band statistics."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.projects.band_groups import StackReport, find_band_groups, stack_band_groups
from core.projects.classes import add_class
from core.raster.read import Raster, read_tile
from core.raster.scan import ImportReport, scan_folder
from core.raster.stats import compute_band_stats, detect_value_scale
from core.raster.tiling import cut_into_tiles
from core.store.models import Project, Tile
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)

# Band names assumed when the user gives none, by band count.
DEFAULT_BAND_NAMES: dict[int, tuple[str, ...]] = {
    1: ("gray",),
    3: ("red", "green", "blue"),
    4: ("blue", "green", "red", "nir"),
    5: ("blue", "green", "red", "red_edge", "nir"),
    6: ("blue", "green", "red", "nir", "swir1", "swir2"),
}
IMAGE_SUBFOLDERS = ("images", "imgs", "tiles")


class ProjectImportError(ValueError):
    """A folder cannot become a project; the message gives the reason and the fix."""


@dataclass
class ImportResult:
    """The created project and the scan report (which files were left out and why)."""

    project_id: int
    report: ImportReport
    tile_count: int
    skipped: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)


def default_band_names(band_count: int) -> list[str]:
    """Return the assumed band names for a band count (``band_1``... when unknown)."""
    return list(DEFAULT_BAND_NAMES.get(band_count, tuple(f"band_{i + 1}" for i in range(band_count))))


def resolve_image_folder(folder: Path) -> Path:
    """Return ``folder``, or its ``images/`` subfolder when the images live there."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise ProjectImportError(f"Folder not found: {folder}. Check the path and try again.")
    if not folder.is_dir():
        raise ProjectImportError(f"{folder} is not a folder; choose the folder that contains the tiles.")
    for name in IMAGE_SUBFOLDERS:
        candidate = folder / name
        if candidate.is_dir() and not any(folder.glob("*.tif*")) and not any(folder.glob("*.png")):
            return candidate
    return folder


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_class_names(folder: Path) -> list[str]:
    """Read class names from a ``classes.json`` ({"0": "soil", ...}) beside the tiles, if any."""
    for candidate in (folder / "classes.json", folder.parent / "classes.json"):
        if candidate.is_file():
            try:
                mapping = json.loads(candidate.read_text())
                indices = sorted(int(k) for k in mapping if str(k).isdigit() and int(k) < 255)
                return [str(mapping[str(i)]).split(" (")[0] for i in indices]
            except (ValueError, TypeError, json.JSONDecodeError) as error:
                logger.warning("Ignoring unreadable class list %s: %s", candidate, error)
    return []


def create_project(
    session: Session,
    folder: Path,
    name: str,
    band_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    workspace: Workspace | None = None,
    tile_size: int = 512,
    overlap: int = 0,
) -> ImportResult:
    """Scan ``folder`` and create a project from every tile that fits.

    Files with another band count or dtype, or that cannot be read, are left
    out and listed in the result with their reason, and the rest import. Per-band
    captures (``IMG_0001_1.tif`` ... ``_5.tif``) are aligned and stacked once
    into ``workspace``, and the stacks become the tiles. A single raster file
    (an orthomosaic) is cut into ``tile_size`` tiles with ``overlap`` pixels
    shared between neighbours, each keeping its georeference.

    Raises:
        ProjectImportError: the folder is missing, has no readable tile, the
            band names do not match, or the project name is taken.
    """
    if session.scalar(select(Project).where(Project.name == name)) is not None:
        raise ProjectImportError(f"A project named {name!r} already exists; choose another name.")
    if Path(folder).is_file():
        image_folder = _cut_orthomosaic(Path(folder), name, workspace, tile_size, overlap)
    else:
        image_folder = resolve_image_folder(folder)
    expected = len(band_names) if band_names else None
    image_folder, stack = _stack_captures(image_folder, name, workspace)
    try:
        report = scan_folder(image_folder, expected_bands=expected)
    except (FileNotFoundError, NotADirectoryError, ValueError) as error:
        raise ProjectImportError(str(error)) from error
    if not report.included or report.band_count is None:
        reasons = "; ".join(f"{e.path.name}: {e.reason}" for e in report.excluded[:5])
        raise ProjectImportError(f"No tile in {image_folder} can be imported ({reasons}).")
    names = [n.strip().lower() for n in band_names] if band_names else default_band_names(report.band_count)
    if len(names) != report.band_count or len(set(names)) != len(names) or not all(names):
        raise ProjectImportError(
            f"Band names {names} do not fit tiles with {report.band_count} bands; give "
            f"{report.band_count} distinct names, for example {default_band_names(report.band_count)}."
        )

    project = Project(name=name, source_folder=str(image_folder.resolve()), band_names=names, dtype=report.dtype or "", value_scale="")
    session.add(project)
    session.flush()

    skipped = [(e.path.name, e.reason or "") for e in report.excluded] + stack.problems
    tiles: list[Tile] = []

    def read_included() -> Iterator[Raster]:
        for entry in report.included:
            try:
                raster = read_tile(entry.path)
            except (OSError, ValueError, MemoryError) as error:
                skipped.append((entry.path.name, str(error)))
                logger.warning("Skipping %s: %s", entry.path, error)
                continue
            header = raster.header
            tiles.append(
                Tile(
                    project_id=project.id,
                    path=str(entry.path.resolve()),
                    name=entry.path.name,
                    bands=header.bands,
                    height=header.height,
                    width=header.width,
                    dtype=header.dtype,
                    content_hash=file_sha256(entry.path),
                    nodata_share=raster.nodata_share,
                    nodata_value=header.nodata,
                    georef=header.georef.to_dict() if header.georef else None,
                )
            )
            yield raster

    try:
        stats = compute_band_stats(read_included(), names)
    except ValueError as error:
        raise ProjectImportError(f"Band statistics failed for {image_folder}: {error}") from error
    project.band_stats = {band: s.to_dict() for band, s in stats.items()}
    project.value_scale = detect_value_scale(project.dtype, stats)
    session.add_all(tiles)
    for class_name in class_names if class_names is not None else read_class_names(image_folder):
        add_class(session, project.id, class_name)
    session.flush()
    logger.info("Created project %r with %d tiles (%d skipped)", name, len(tiles), len(skipped))
    return ImportResult(project.id, report, len(tiles), skipped, notes=stack.notes)


def _workspace_folder(workspace: Workspace | None, kind: str, name: str, what: str) -> Path:
    if workspace is None:
        raise ProjectImportError(f"Importing {what} needs a workspace to store the result; use the app or `python -m core import`.")
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "project"
    return workspace.root / kind / safe_name


def _cut_orthomosaic(path: Path, name: str, workspace: Workspace | None, tile_size: int, overlap: int) -> Path:
    """Cut one large raster into georeferenced tiles inside the workspace and return their folder."""
    target = _workspace_folder(workspace, "tiled", name, f"the single raster {path.name}")
    try:
        tiles = cut_into_tiles(path, target, tile_size, overlap)
    except (ValueError, OSError) as error:
        raise ProjectImportError(f"Cutting {path} into tiles failed: {error}") from error
    logger.info("Cut %s into %d tiles of %d px (overlap %d)", path, len(tiles), tile_size, overlap)
    return target


def _stack_captures(folder: Path, name: str, workspace: Workspace | None) -> tuple[Path, StackReport]:
    """Stack per-band captures found in ``folder`` and return the folder to scan instead."""
    groups = find_band_groups(folder)
    if not groups:
        return folder, StackReport()
    target = _workspace_folder(workspace, "stacked", name, f"per-band captures ({', '.join(list(groups)[:3])})")
    stack = stack_band_groups(groups, target)
    if not stack.stacked:
        reasons = "; ".join(f"{capture}: {reason}" for capture, reason in stack.problems[:3])
        raise ProjectImportError(f"No per-band capture in {folder} could be aligned ({reasons}).")
    return target, stack
