from pathlib import Path

import numpy as np
import pytest
import tifffile
from sqlalchemy import select

from core.projects.importer import ProjectImportError, create_project
from core.store.engine import session_scope
from core.store.models import Project, Tile

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
CASES = SHARED / "cases"
MICASENSE = SHARED / "data" / "micasense_rededge_capture"


def tiles_of(session, project_id):
    return list(session.scalars(select(Tile).where(Tile.project_id == project_id).order_by(Tile.name)))


@pytest.mark.skipif(not CASES.is_dir(), reason=f"problem inputs not found at {CASES}")
def test_mixed_folder_names_left_out_files(studio):
    with session_scope(studio.database_url) as session:
        result = create_project(session, CASES / "C06_mixed_tiles", "mixed", workspace=studio)
        tiles = tiles_of(session, result.project_id)
    skipped = dict(result.skipped)
    assert len(tiles) == 2
    assert len({(t.height, t.width) for t in tiles}) == 2
    assert set(skipped) == {"tile_r0_c0_preview.tif", "tile_r1_c0.tif"}
    assert all(reason for reason in skipped.values())


def test_band_names_must_match_band_count(studio, tmp_path):
    folder = tmp_path / "tiles"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", np.ones((4, 16, 16), np.uint16), photometric="minisblack")
    with session_scope(studio.database_url) as session, pytest.raises(ProjectImportError, match="4 bands"):
        create_project(session, folder, "p", ["red", "green", "blue", "red"], workspace=studio)


def test_missing_folder_is_reported(studio, tmp_path):
    with session_scope(studio.database_url) as session, pytest.raises(ProjectImportError, match="not found"):
        create_project(session, tmp_path / "nope", "p", workspace=studio)


def test_duplicate_project_name_is_rejected(studio, project_id, tmp_path):
    with session_scope(studio.database_url) as session, pytest.raises(ProjectImportError, match="already exists"):
        create_project(session, tmp_path / "tiles", "synthetic", ["red", "green", "blue"])


def test_project_stores_band_statistics_by_name(studio, project_id):
    with session_scope(studio.database_url) as session:
        project = session.get(Project, project_id)
        assert list(project.band_stats) == ["red", "green", "blue"]
        assert project.band_stats["red"]["high"] > project.band_stats["red"]["low"]
        assert project.value_scale


@pytest.mark.skipif(not CASES.is_dir(), reason=f"problem inputs not found at {CASES}")
def test_orthomosaic_is_cut_into_georeferenced_tiles(studio):
    with session_scope(studio.database_url) as session:
        result = create_project(
            session, CASES / "C09_georef_input_4band.tif", "ortho", workspace=studio, tile_size=64, overlap=16
        )
        tiles = tiles_of(session, result.project_id)
    assert len(tiles) == 9
    assert all(t.georef is not None for t in tiles)
    assert all(Path(t.path).is_relative_to(studio.root) for t in tiles)


@pytest.mark.skipif(not MICASENSE.is_dir(), reason=f"MicaSense capture not found at {MICASENSE}")
def test_per_band_capture_becomes_one_aligned_tile(studio):
    with session_scope(studio.database_url) as session:
        result = create_project(
            session, MICASENSE, "micasense", ["blue", "green", "red", "nir", "red_edge"], workspace=studio
        )
        tiles = tiles_of(session, result.project_id)
    assert len(tiles) == 1
    assert tiles[0].bands == 5
    assert (tiles[0].height, tiles[0].width) == (960, 1280)
    assert len(result.notes) == 5
    assert all("residual shift" in note for note in result.notes)


def test_per_band_capture_needs_workspace(tmp_path, studio):
    folder = tmp_path / "capture"
    folder.mkdir()
    for band in range(1, 4):
        tifffile.imwrite(folder / f"IMG_0001_{band}.tif", np.full((32, 32), band * 100, np.uint16))
    with session_scope(studio.database_url) as session, pytest.raises(ProjectImportError, match="workspace"):
        create_project(session, folder, "capture", ["green", "red", "nir"])
