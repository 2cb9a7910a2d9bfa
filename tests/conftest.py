"""Fixtures shared by the app and browser tests: the shared data folder, a temporary
workspace, and a writer of tiny seeded multispectral tiles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tifffile

from core.store.engine import session_scope, upgrade_database
from core.store.workspace import WORKSPACE_ENV, Workspace

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"

BAND_NAMES = ("blue", "green", "red", "nir")
CLASS_NAMES = ("soil", "crop")


@pytest.fixture
def shared_dir() -> Path:
    """Return the shared data folder next to the repository, skipping when it is absent."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared data folder {SHARED_DIR} is not present next to the repository")
    return SHARED_DIR


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Create a migrated workspace in a temporary folder and point $MULTISSL_WORKSPACE at it."""
    root = tmp_path / "workspace"
    monkeypatch.setenv(WORKSPACE_ENV, str(root))
    monkeypatch.delenv("MULTISSL_DATABASE_URL", raising=False)
    created = Workspace(root).create()
    upgrade_database(created.database_url)
    return created


def write_tile_folder(folder: Path, count: int = 3, height: int = 64, width: int = 96, seed: int = 0) -> Path:
    """Write ``count`` seeded 4-band uint16 TIFF tiles of ``height`` x ``width`` into ``folder``.

    The default 64 x 96 tiles are not square, so a swapped axis shows. Each
    tile has a bright left half in NIR and a smooth gradient in the visible
    bands, so composites and training see some structure.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = np.linspace(0, 1, height)[:, None]
    cols = np.linspace(0, 1, width)[None, :]
    for index in range(count):
        visible = 8000 + 6000 * rows * cols
        nir = np.broadcast_to(np.where(cols < 0.5, 30000.0, 9000.0), (height, width))
        data = np.stack([visible, visible * 1.1, visible * 0.9, nir])
        data = data + rng.normal(0, 300, data.shape)
        tile = np.clip(data, 0, 65535).astype(np.uint16)
        tifffile.imwrite(folder / f"tile_{index:02d}.tif", tile, photometric="minisblack", planarconfig="separate")
    return folder


TileWriter = Callable[..., Path]


@pytest.fixture(scope="session")
def tile_folder_writer() -> Callable[..., Path]:
    """Return `write_tile_folder`, for fixtures of any scope."""
    return write_tile_folder


@pytest.fixture
def write_tiles(tmp_path: Path) -> TileWriter:
    """Return a function writing seeded tiles (see `write_tile_folder`) to ``tmp_path / name``."""

    def write(count: int = 3, height: int = 64, width: int = 96, seed: int = 0, name: str = "tiles") -> Path:
        return write_tile_folder(tmp_path / name, count, height, width, seed)

    return write


@dataclass(frozen=True)
class ProjectFixture:
    """Ids of a project created in the test workspace."""

    project_id: int
    tile_ids: list[int]
    folder: Path


def create_test_project(workspace: Workspace, folder: Path, name: str = "field") -> ProjectFixture:
    """Create a 2-class project from ``folder`` through the core API and return its ids."""
    from sqlalchemy import select

    from core.projects.importer import create_project
    from core.store.models import Tile

    with session_scope(workspace.database_url) as session:
        result = create_project(session, folder, name, list(BAND_NAMES), list(CLASS_NAMES))
        tile_ids = list(
            session.scalars(select(Tile.id).where(Tile.project_id == result.project_id).order_by(Tile.name))
        )
    return ProjectFixture(project_id=result.project_id, tile_ids=tile_ids, folder=folder)


@pytest.fixture(scope="session")
def project_factory() -> Callable[..., ProjectFixture]:
    """Return `create_test_project`, for fixtures of any scope."""
    return create_test_project


@pytest.fixture
def project(workspace: Workspace, write_tiles: TileWriter) -> Iterator[ProjectFixture]:
    """Create a 2-class project of three 64 x 96 tiles in the test workspace."""
    yield create_test_project(workspace, write_tiles())
