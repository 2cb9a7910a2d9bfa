"""Import scan: read every tile header in a folder and decide which tiles fit the project."""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from core.raster.errors import TileReadError
from core.raster.header import IMAGE_SUFFIXES, TileHeader, read_header

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# Largest decoded tile accepted at import, in bytes (bands x height x width x item size).
# Import reads each tile of a folder whole; a larger file imported on its own is cut into tiles.
# NOTE: chosen for a workstation with 8+ GiB of memory, not measured.
MAX_TILE_BYTES = 2 * 1024**3
# Largest side accepted at import, in pixels, whatever the dtype.
MAX_TILE_SIDE = 65_536


@dataclass
class ImportEntry:
    """One file found by the scan.

    Attributes:
        path: the file.
        header: its header, None when it could not be read.
        included: whether the file joins the project.
        reason: why it was left out, None when included.
    """

    path: Path
    header: TileHeader | None
    included: bool
    reason: str | None = None


@dataclass
class ImportReport:
    """Result of scanning a folder.

    Attributes:
        entries: one entry per image file, sorted by file name.
        band_count: the project's band count (given or the most common).
        dtype: the project's dtype name (the most common among matching files).
    """

    entries: list[ImportEntry] = field(default_factory=list)
    band_count: int | None = None
    dtype: str | None = None

    @property
    def included(self) -> list[ImportEntry]:
        """Entries that join the project."""
        return [entry for entry in self.entries if entry.included]

    @property
    def excluded(self) -> list[ImportEntry]:
        """Entries left out, each with its reason."""
        return [entry for entry in self.entries if not entry.included]


def scan_folder(folder: Path, expected_bands: int | None = None) -> ImportReport:
    """Read the header of every image file directly in `folder`.

    The project's band count is `expected_bands` or the most common one; its
    dtype is the most common among files with that band count. Files with
    another band count or dtype, and unreadable files, are left out with a
    reason. Tiles of different sizes are all kept and never resized.

    Args:
        folder: folder holding .tif, .tiff, .png, .jpg or .jpeg files
            (subfolders are not searched).
        expected_bands: band count required by the project, None to choose it.

    Raises:
        FileNotFoundError: if `folder` does not exist.
        NotADirectoryError: if `folder` is a file.
        ValueError: if the folder contains no image file.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"Folder not found: {folder}. Check the path.")
    if not folder.is_dir():
        raise NotADirectoryError(
            f"{folder} is a file, not a folder. Choose the folder that contains the tiles."
        )
    files = sorted(
        # Broken symbolic links are listed too, so the report names them.
        (p for p in folder.iterdir() if (p.is_file() or p.is_symlink()) and p.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda p: p.name,
    )
    if not files:
        suffixes = ", ".join(IMAGE_SUFFIXES)
        raise ValueError(
            f"No image files ({suffixes}) found in {folder}. Choose the folder that contains the tiles."
        )

    headers: dict[Path, TileHeader] = {}
    errors: dict[Path, str] = {}
    # Links inside the folder to a file listed already would import one file twice.
    seen: dict[Path, str] = {}
    for path in files:
        header, problem = _checked_header(folder, path, seen)
        if header is not None:
            headers[path] = header
        else:
            logger.warning("Skipping tile %s: %s", path, problem)
            errors[path] = problem or "unreadable"

    band_count = expected_bands or _most_common(h.bands for h in headers.values())
    dtype = _most_common(h.dtype for h in headers.values() if h.bands == band_count)
    report = ImportReport(band_count=band_count, dtype=dtype)
    for path in files:
        header = headers.get(path)
        reason = errors.get(path) or _mismatch_reason(header, band_count, dtype)
        report.entries.append(
            ImportEntry(path=path, header=header, included=reason is None, reason=reason)
        )
    logger.info(
        "Scanned %s: %d tiles included, %d excluded (bands=%s, dtype=%s)",
        folder,
        len(report.included),
        len(report.excluded),
        band_count,
        dtype,
    )
    return report


def _checked_header(folder: Path, path: Path, seen: dict[Path, str]) -> tuple[TileHeader | None, str | None]:
    """Return the file's header, or None and why it is left out; record its target in ``seen``."""
    problem = file_access_problem(folder, path)
    target = path.resolve()
    if problem is None and target in seen:
        problem = f"{path.name} is a link to {seen[target]}, which is in the folder already; it is imported once."
    seen.setdefault(target, path.name)
    if problem is not None:
        return None, problem
    try:
        header = read_header(path)
    except (TileReadError, OSError) as error:
        return None, str(error)
    problem = size_problem(header)
    if problem is not None:
        return None, problem
    return header, None


def file_access_problem(folder: Path, path: Path) -> str | None:
    """Return why ``path`` may not be imported from ``folder`` before opening it, or None.

    A symbolic link is left out when its target lies outside ``folder``, so a
    project only reads files inside the folder the user chose.
    """
    if path.is_symlink():
        target = path.resolve()
        root = folder.resolve()
        if not target.exists():
            return f"{path.name} is a broken symbolic link: its target {target} is not found; fix or remove the link."
        if not target.is_relative_to(root):
            return (
                f"{path.name} is a symbolic link to {target}, outside the chosen folder {root}; "
                "copy the file into the folder to import it."
            )
    if not os.access(path, os.R_OK):
        return f"{path.name} cannot be read (permission denied); make it readable (chmod +r) and import again."
    return None


def size_problem(header: TileHeader) -> str | None:
    """Return why a tile is too large to import, judged from its header alone, or None."""
    name = header.path.name
    if header.height > MAX_TILE_SIDE or header.width > MAX_TILE_SIDE:
        return (
            f"{name}: the header declares {header.width} x {header.height} pixels, more than "
            f"{MAX_TILE_SIDE} on a side; import the file on its own (not its folder) to cut it into tiles."
        )
    try:
        item_size = np.dtype(header.dtype).itemsize
    except TypeError:
        return f"{name}: unsupported pixel type {header.dtype!r}; convert it to an integer or float type."
    size = header.bands * header.height * header.width * item_size
    if size > MAX_TILE_BYTES:
        return (
            f"{name}: the header declares {header.bands} bands of {header.width} x {header.height} "
            f"{header.dtype} pixels ({size / 1024**3:.1f} GiB decoded), more than the "
            f"{MAX_TILE_BYTES / 1024**3:.0f} GiB import limit; import the file on its own (not its folder) to cut it into tiles."
        )
    return None


def _most_common(values: Iterable[_T]) -> _T | None:
    counts = Counter(values)
    if not counts:
        return None
    # Ties go to the value seen first, which is the first file name in sort order.
    return counts.most_common(1)[0][0]


def _mismatch_reason(
    header: TileHeader | None, band_count: int | None, dtype: str | None
) -> str | None:
    if header is None:
        return None
    if band_count is not None and header.bands != band_count:
        return f"{header.bands} bands found, {band_count} expected"
    if dtype is not None and header.dtype != dtype:
        return f"dtype {header.dtype} found, {dtype} expected"
    return None
