"""Backbones registered for a project: pretrained, imported, or the random baseline."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models.backbone import Backbone as BackboneModel
from core.models.backbone import build_backbone, freeze
from core.models.checkpoint import file_sha256, import_backbone, load_backbone, save_backbone
from core.projects.tiles import project_normalization
from core.store.models import Backbone, Project
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)

RANDOM_BASELINE_SEED = 0


def list_backbones(session: Session, project_id: int) -> list[Backbone]:
    """Return the project's backbones, newest first."""
    return list(session.scalars(select(Backbone).where(Backbone.project_id == project_id).order_by(Backbone.id.desc())))


def describe(backbone: Backbone) -> str:
    """Return a one-line description naming architecture and origin."""
    origin = {
        "fastsiam": "FastSiam pretrained",
        "random": "random init (baseline, not pretrained)",
        "imported": "imported",
    }.get(backbone.method, backbone.method)
    if backbone.method == "random" and "random" in backbone.name:
        # The baseline's name already says what it is; only the warning part is added.
        return f"{backbone.name}, not pretrained"
    return f"{backbone.name} ({origin})" if backbone.arch in backbone.name else f"{backbone.name} ({backbone.arch}, {origin})"


def register_backbone(
    session: Session,
    project: Project,
    name: str,
    path: Path,
    sha256: str,
    metadata: dict[str, Any],
    run_id: int | None = None,
) -> Backbone:
    """Insert a backbone row for a checkpoint file written by ``save_backbone``."""
    row = Backbone(
        project_id=project.id,
        name=name,
        arch=str(metadata["arch"]),
        method=str(metadata["method"]),
        path=str(path),
        sha256=sha256,
        band_names=list(metadata["band_names"]),
        normalization=dict(metadata["normalization"]),
        config=dict(metadata.get("config", {})),
        run_id=run_id,
    )
    session.add(row)
    session.flush()
    return row


def create_random_baseline(session: Session, workspace: Workspace, project: Project, arch: str = "resnet18") -> Backbone:
    """Register a randomly initialised backbone, explicitly named as a baseline."""
    existing = session.scalar(
        select(Backbone).where(Backbone.project_id == project.id, Backbone.method == "random", Backbone.arch == arch)
    )
    if existing is not None:
        return existing
    torch.manual_seed(RANDOM_BASELINE_SEED)
    model = build_backbone(arch, len(project.band_names))  # type: ignore[arg-type]
    metadata = {
        "arch": arch,
        "in_channels": len(project.band_names),
        "band_names": list(project.band_names),
        "normalization": project_normalization(project),
        "method": "random",
        "config": {"seed": RANDOM_BASELINE_SEED},
    }
    path = workspace.checkpoints_dir / str(project.id) / f"{arch}_random_baseline.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = save_backbone(path, model, metadata)
    return register_backbone(session, project, f"{arch} random init (baseline)", path, digest, metadata)


def load_frozen(row: Backbone) -> BackboneModel:
    """Load a registered backbone checkpoint and freeze it for feature extraction."""
    model, _ = load_backbone(Path(row.path))
    return freeze(model)


def _own_metadata(path: Path) -> dict[str, Any] | None:
    """Return the metadata of a file written by ``save_backbone``, or None for foreign files."""
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError):
        return None
    metadata = contents.get("metadata") if isinstance(contents, dict) else None
    return metadata if isinstance(metadata, dict) else None


def import_backbone_file(
    session: Session, workspace: Workspace, project: Project, path: Path, arch: str, name: str | None = None
) -> Backbone:
    """Import a backbone checkpoint for a project and register it.

    A file written by this app keeps its stored normalization when its band
    names match the project. Any other state dict or Lightning checkpoint gets
    the project's normalization.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the weights do not fit ``arch`` or the project's band count.
    """
    path = Path(path).expanduser()
    model = import_backbone(path, arch, len(project.band_names))  # type: ignore[arg-type]
    own = _own_metadata(path)
    same_bands = own is not None and list(own.get("band_names", [])) == list(project.band_names)
    normalization = dict(own["normalization"]) if own is not None and same_bands else project_normalization(project)
    metadata = {
        "arch": arch,
        "in_channels": len(project.band_names),
        "band_names": list(project.band_names),
        "normalization": normalization,
        "method": str(own.get("method", "imported")) if own is not None and same_bands else "imported",
        "config": {"source": str(path)},
    }
    target = workspace.checkpoints_dir / str(project.id) / f"imported_{file_sha256(path)[:12]}_{arch}.pt"
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = save_backbone(target, model, metadata)
    return register_backbone(session, project, name or f"{arch} from {path.name}", target, digest, metadata)
