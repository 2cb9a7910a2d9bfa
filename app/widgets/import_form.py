"""Form that scans a folder, shows the import report and creates a project."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.state import db, get_workspace, select_project
from core.projects.band_groups import find_band_groups
from core.projects.importer import (
    ProjectImportError,
    create_project,
    default_band_names,
    resolve_image_folder,
)
from core.raster.bands import load_sensor_presets
from core.raster.errors import TileReadError
from core.raster.header import read_header
from core.raster.scan import ImportReport, scan_folder
from core.raster.window import estimate_bytes

GUESS = "Guess from band count"
CUSTOM = "Type band names"


def report_rows(report: ImportReport) -> list[dict[str, object]]:
    """Return one table row per scanned file."""
    rows = []
    for entry in report.entries:
        header = entry.header
        rows.append(
            {
                "file": entry.path.name,
                "bands": header.bands if header else None,
                "dtype": header.dtype if header else None,
                "size (W x H)": f"{header.width} x {header.height}" if header else None,
                "nodata": header.nodata if header else None,
                "georeferenced": bool(header and header.georef),
                "imported": entry.included,
                "reason": entry.reason or "",
            }
        )
    return rows


def choose_band_names(band_count: int, suggested: str | None = None) -> list[str] | None:
    """Let the user pick a sensor preset or type band names; return None while invalid.

    Args:
        band_count: Bands per tile.
        suggested: Name of a sensor preset to select first (for example when the file
            names identify the camera).
    """
    presets = {name: bands for name, bands in load_sensor_presets().items() if len(bands) == band_count}
    options = [GUESS, *presets, CUSTOM]
    first = options.index(suggested) if suggested in options else 0
    choice = st.selectbox("Band names", options, index=first, key="import_preset")
    if choice == GUESS:
        names = default_band_names(band_count)
    elif choice == CUSTOM:
        text = st.text_input(
            f"{band_count} band names, comma-separated, in file order",
            value=",".join(default_band_names(band_count)),
            key="import_custom_bands",
        )
        names = [part.strip().lower() for part in text.split(",") if part.strip()]
    else:
        names = presets[choice]
    st.caption("Bands: " + ", ".join(names))
    if len(names) != band_count or len(set(names)) != len(names):
        st.error(f"Give {band_count} distinct band names; got {len(names)}.")
        return None
    return names


def suggested_preset(groups: dict[str, tuple[Path, ...]]) -> str | None:
    """Return the sensor preset that per-band file names point to, if any.

    Parrot Sequoia suffixes its files _GRE/_RED/_REG/_NIR. MicaSense numbers them
    IMG_xxxx_1..5 and stores NIR (4) before red edge (5).
    """
    first = next(iter(groups.values()))[0].stem.upper()
    prefix = "Parrot Sequoia" if first.endswith(("_GRE", "_RED", "_REG", "_NIR")) else "MicaSense RedEdge"
    if prefix == "MicaSense RedEdge" and not all(capture.upper().startswith("IMG_") for capture in groups):
        return None
    return next((name for name in load_sensor_presets() if name.startswith(prefix)), None)


@st.cache_data(ttl=30, show_spinner="Reading file headers...")
def scan_for_import(folder_text: str) -> tuple[ImportReport, dict[str, tuple[Path, ...]]]:
    """Scan a folder once per 30 s, not on every rerun while the form is edited."""
    folder = resolve_image_folder(Path(folder_text))
    return scan_folder(folder), find_band_groups(folder)


def import_form() -> None:
    """Render the create-project form."""
    folder_text = st.text_input(
        "Folder of tiles (TIFF, GeoTIFF, PNG, JPEG), or one orthomosaic file to cut into tiles",
        key="import_folder",
        placeholder="/data/field_2026/tiles",
    )
    if not folder_text:
        return
    if Path(folder_text).is_file():
        orthomosaic_form(Path(folder_text))
        return

    try:
        report, groups = scan_for_import(folder_text)
    except (ProjectImportError, FileNotFoundError, NotADirectoryError, ValueError) as error:
        st.error(str(error))
        return
    st.dataframe(report_rows(report), hide_index=True, width="stretch")

    if groups:
        band_count = len(next(iter(groups.values())))
        st.info(
            f"{len(groups)} per-band capture(s) found ({', '.join(list(groups)[:3])}): each is aligned "
            f"band to band and stored as one {band_count}-band tile in the workspace."
        )
        names = choose_band_names(band_count, suggested_preset(groups))
        create_button(folder_text, names)
        return

    if report.excluded:
        st.warning(f"{len(report.excluded)} file(s) will be left out; the table gives each reason.")
    if not report.included or report.band_count is None:
        st.error("No file in this folder can be imported.")
        return
    st.write(f"{len(report.included)} tiles with {report.band_count} bands ({report.dtype}).")
    names = choose_band_names(report.band_count)
    create_button(folder_text, names)


def orthomosaic_form(path: Path) -> None:
    """Show a large raster's header and cut it into tiles of a chosen size."""
    try:
        header = read_header(path)
    except (TileReadError, OSError) as error:
        st.error(str(error))
        return
    st.write(
        f"{path.name}: {header.width} x {header.height} px, {header.bands} bands, {header.dtype}, "
        f"about {estimate_bytes(header) / 2**30:.2f} GiB in memory, "
        f"{'georeferenced' if header.georef else 'no georeference'}."
    )
    cols = st.columns(2)
    tile_size = cols[0].number_input("Tile size (px)", 64, 4096, 512, step=64, key="import_tile_size")
    overlap = cols[1].number_input("Overlap (px)", 0, 1024, 0, step=16, key="import_overlap")
    names = choose_band_names(header.bands)
    create_button(str(path), names, int(tile_size), int(overlap))


def create_button(folder_text: str, names: list[str] | None, tile_size: int = 512, overlap: int = 0) -> None:
    """Render the project name field and the Create button; create the project on click."""
    project_name = st.text_input("Project name", value=Path(folder_text).stem, key="import_name")
    if st.button("Create project", type="primary", disabled=names is None, key="import_create"):
        try:
            with st.spinner("Reading tiles and computing band statistics..."), db() as session:
                result = create_project(
                    session, Path(folder_text), project_name, names, workspace=get_workspace(), tile_size=tile_size, overlap=overlap
                )
        except ProjectImportError as error:
            st.error(str(error))
            return
        select_project(result.project_id)
        st.session_state["created_project"] = result.project_id
        st.session_state["import_notes"] = result.notes + [f"Left out {name}: {reason}" for name, reason in result.skipped]
        st.rerun()
