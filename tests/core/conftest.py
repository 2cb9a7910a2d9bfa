"""Fixtures for core tests: a migrated workspace and a small project of synthetic tiles."""

from pathlib import Path

import numpy as np
import pytest
import tifffile

from core.projects.importer import create_project
from core.store.engine import session_scope, upgrade_database
from core.store.workspace import Workspace


@pytest.fixture
def studio(tmp_path: Path) -> Workspace:
    """A created and migrated workspace in a temporary folder."""
    workspace = Workspace(tmp_path / "workspace").create()
    upgrade_database(workspace.database_url)
    return workspace


def write_scene_tiles(folder: Path, count: int = 4, shape: tuple[int, int] = (64, 96), seed: int = 0) -> list[Path]:
    """Write 3-band uint16 tiles with a bright left half (class 1) and dark right half (class 0)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    height, width = shape
    paths = []
    for index in range(count):
        data = rng.normal(1000, 60, size=(3, height, width))
        split = width // 2 + int(rng.integers(-8, 9))
        data[:, :, :split] += np.array([1500.0, 800.0, 300.0])[:, None, None]
        path = folder / f"tile_{index}.tif"
        tifffile.imwrite(path, np.clip(data, 0, 65535).astype(np.uint16), photometric="minisblack", planarconfig="separate")
        paths.append(path)
    return paths


def scene_truth(shape: tuple[int, int], path: Path) -> np.ndarray:
    """Return the true class map of a tile written by write_scene_tiles (1 = bright)."""
    data = tifffile.imread(path).astype(np.float64)
    return (data[0] > 1750).astype(np.uint8)


@pytest.fixture
def project_id(studio: Workspace, tmp_path: Path) -> int:
    """A project of four 64 x 96 tiles with classes 'soil' (0) and 'crop' (1)."""
    folder = tmp_path / "tiles"
    write_scene_tiles(folder)
    with session_scope(studio.database_url) as session:
        result = create_project(session, folder, "synthetic", ["red", "green", "blue"], ["soil", "crop"])
    return result.project_id
