"""Tiny seeded rasters, models and workspaces for the inference tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from torch import Tensor, nn

from core.labels.files import UNLABELED
from core.labels.versions import save_label
from core.models.head import SegmentationHead
from core.raster.header import read_header
from core.raster.write import write_png
from core.store.engine import session_scope, upgrade_database
from core.store.models import LabelClass, Prediction, Project, Run, Tile
from core.store.workspace import Workspace

BAND_NAMES = ("blue", "green", "red", "nir")
NORMALIZATION = {band: [1000.0, 500.0] for band in BAND_NAMES}
SHARED_CASES = Path(__file__).resolve().parents[3].parent / "shared" / "cases"


class PatchBackbone(nn.Module):
    """Backbone with non-overlapping convolutions at strides 4, 8, 16 and 32.

    Each feature cell depends only on the pixels of its own cell, so the receptive
    field is bounded and windowed output can equal whole-tile output.
    """

    def __init__(self, in_bands: int, channels: tuple[int, ...] = (8, 8, 8, 8)) -> None:
        super().__init__()
        self.out_channels = channels
        self.stem = nn.Conv2d(in_bands, channels[0], kernel_size=4, stride=4)
        self.stages = nn.ModuleList(
            nn.Conv2d(channels[i], channels[i + 1], kernel_size=2, stride=2)
            for i in range(len(channels) - 1)
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        maps = [torch.relu(self.stem(x))]
        for stage in self.stages:
            maps.append(torch.relu(stage(maps[-1])))
        return maps


@pytest.fixture
def tiny_models() -> tuple[PatchBackbone, SegmentationHead]:
    """A seeded random backbone and local ("linear", no raw branch) head for 3 classes."""
    torch.manual_seed(0)
    backbone = PatchBackbone(len(BAND_NAMES)).eval()
    head = SegmentationHead(backbone.out_channels, len(BAND_NAMES), 3, kind="linear", raw_width=0)
    return backbone, head.eval()


def _write_raster(path: Path, height: int, width: int, seed: int = 0, **options: object) -> np.ndarray:
    """Write a smooth-ish seeded 4-band uint16 raster and return its (bands, H, W) pixels."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(200, 2000, size=(len(BAND_NAMES), height // 8 + 1, width // 8 + 1))
    data = np.kron(coarse, np.ones((8, 8), dtype=np.int64))[:, :height, :width]
    data = (data + rng.integers(0, 200, size=data.shape)).astype(np.uint16)
    options.setdefault("photometric", "minisblack")
    tifffile.imwrite(path, data, **options)
    return data


@pytest.fixture
def write_raster() -> Callable[..., np.ndarray]:
    """Return a function (path, height, width, seed=0, **tifffile options) -> pixels.

    It writes a seeded 4-band uint16 raster with 8 x 8 blocks plus noise.
    """
    return _write_raster


@pytest.fixture
def band_names() -> tuple[str, ...]:
    """Band names of the test rasters, in file order."""
    return BAND_NAMES


@pytest.fixture
def normalization() -> dict[str, list[float]]:
    """Band name -> [mean, std] used by the test models."""
    return NORMALIZATION


@pytest.fixture
def c09_path() -> Path:
    """The shared 4 x 128 x 128 EPSG:3857 GeoTIFF case; skips when the shared folder is absent."""
    path = SHARED_CASES / "C09_georef_input_4band.tif"
    if not path.is_file():
        pytest.skip(f"shared case file missing: {path}")
    return path


@dataclass
class ExportFixture:
    """A workspace with one project, three tiles, a run with predictions and one label."""

    workspace: Workspace
    run_id: int
    georef_tile: Path
    plain_tile: Path


@pytest.fixture
def export_workspace(tmp_path: Path, c09_path: Path) -> ExportFixture:
    """Build the workspace; the georeferenced tile is the shared C09 case, read in place."""
    georef_tile = c09_path
    plain_tile = tmp_path / "plain.tif"
    _write_raster(plain_tile, 40, 56)
    workspace = Workspace(tmp_path / "workspace").create()
    upgrade_database(workspace.database_url)
    rng = np.random.default_rng(1)

    with session_scope(workspace.database_url) as session:
        project = Project(
            name="fields", source_folder=str(tmp_path), band_names=list(BAND_NAMES),
            dtype="uint16", value_scale="raw_counts", band_stats={},
        )
        project.classes = [
            LabelClass(index=0, name="soil", color="#8b4513"),
            LabelClass(index=1, name="crop", color="#00ff00"),
        ]
        session.add(project)
        session.flush()
        tiles = []
        for path, name in ((georef_tile, "C09_georef_input_4band.tif"), (plain_tile, "../../evil name.tif")):
            header = read_header(path)
            tile = Tile(
                project_id=project.id, path=str(path), name=name, bands=header.bands,
                height=header.height, width=header.width, dtype=header.dtype, content_hash="0" * 64,
                georef=header.georef.to_dict() if header.georef else None,
            )
            session.add(tile)
            tiles.append(tile)
        session.flush()
        run = Run(project_id=project.id, kind="train", status="succeeded")
        session.add(run)
        session.flush()
        folder = workspace.predictions_dir / str(project.id) / f"run_{run.id}"
        folder.mkdir(parents=True)
        for tile in tiles:
            classes = rng.integers(0, 2, size=(tile.height, tile.width)).astype(np.uint8)
            classes[:2] = UNLABELED
            confidence = rng.integers(0, 65536, size=classes.shape).astype(np.uint16)
            class_path = folder / f"tile_{tile.id}_classes.png"
            confidence_path = folder / f"tile_{tile.id}_confidence.png"
            write_png(class_path, classes)
            write_png(confidence_path, confidence)
            session.add(
                Prediction(
                    run_id=run.id, tile_id=tile.id, class_path=str(class_path),
                    confidence_path=str(confidence_path), mean_confidence=0.5,
                )
            )
        mask = np.full((tiles[0].height, tiles[0].width), UNLABELED, dtype=np.uint8)
        mask[10:20, 10:30] = 1
        mask[40:42, 0:50] = 0
        save_label(session, workspace, tiles[0], mask)
        run_id = run.id
    return ExportFixture(workspace, run_id, georef_tile, plain_tile)
