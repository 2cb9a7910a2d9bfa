"""Model bundles: one file with everything needed to predict outside the workspace.

A bundle is ``torch.save`` of a dict of plain values and tensors, read back
with ``weights_only=True``. It contains the frozen backbone's weights and
metadata, the trained head's weights and config, the band names in channel
order, the per-band normalization ({band: [mean, std]}) and the project's
classes (index, name, colour), so a raster can be predicted exactly as the
run predicted its tiles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sqlalchemy.orm import Session

from core.inference.predict import predict_sample
from core.models.backbone import BACKBONE_ARCHS, Backbone, build_backbone, freeze
from core.models.checkpoint import load_backbone
from core.models.head import SegmentationHead, head_from_checkpoint, read_head_checkpoint
from core.projects.tiles import standardize
from core.raster.atomic import atomic_writer
from core.raster.read import read_tile
from core.store.models import Backbone as BackboneRow
from core.store.models import Project, Run
from core.training.data import build_sample
from core.training.features import extract_features

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "multissl-studio-model"
BUNDLE_VERSION = 1
BUNDLE_SUFFIX = ".pt"


@dataclass
class ModelBundle:
    """A loaded bundle: frozen backbone, trained head and how to feed them.

    Attributes:
        backbone: Frozen backbone in eval mode.
        head: Trained head in eval mode.
        band_names: Band names in channel order; rasters must have these bands.
        normalization: Band name -> [mean, std] applied before the backbone.
        classes: Dicts with ``index``, ``name`` and ``color`` (hex).
        head_config: The run's `HeadConfig` as a dict.
        run_id: The run the bundle was exported from.
        backbone_metadata: Metadata of the backbone checkpoint (arch, method, config).
    """

    backbone: Backbone
    head: SegmentationHead
    band_names: list[str]
    normalization: dict[str, list[float]]
    classes: list[dict[str, Any]]
    head_config: dict[str, Any]
    run_id: int | None = None
    backbone_metadata: dict[str, Any] = field(default_factory=dict)


def _run_rows(session: Session, run_id: int) -> tuple[Run, BackboneRow, Project]:
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"Run {run_id} not found; list runs with `python -m core runs`.")
    if run.kind != "train" or run.status != "succeeded" or not run.checkpoint_path:
        raise LookupError(
            f"Run {run_id} ({run.kind}, {run.status}) has no trained head; pick a succeeded head training run."
        )
    backbone = session.get(BackboneRow, run.backbone_id) if run.backbone_id else None
    project = session.get(Project, run.project_id)
    if backbone is None or project is None:
        raise LookupError(f"Run {run_id} has no backbone or project in the database.")
    return run, backbone, project


def export_bundle(session: Session, run_id: int, path: Path) -> Path:
    """Write the model of a succeeded head training run to one bundle file.

    The file is written to a temporary name and moved into place, so a reader
    never sees half a bundle.

    Args:
        session: Database session of the run's workspace.
        run_id: Id of a succeeded head training run.
        path: Bundle file to write (conventionally ``.pt``); its folder is created.

    Returns:
        The written path.

    Raises:
        LookupError: the run, its backbone or its project is missing, or the run has no head.
        FileNotFoundError: the head or backbone checkpoint file is missing.
        ValueError: the head was trained on another backbone file than the run's.
    """
    run, backbone_row, project = _run_rows(session, run_id)
    head_checkpoint = read_head_checkpoint(Path(run.checkpoint_path or ""), backbone_row.sha256, run_id)
    backbone, backbone_metadata = load_backbone(Path(backbone_row.path))

    contents = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "run_id": run.id,
        "backbone": {
            "state_dict": {k: v.detach().cpu() for k, v in backbone.state_dict().items()},
            "metadata": backbone_metadata,
            "sha256": backbone_row.sha256,
        },
        "head": {
            "state_dict": head_checkpoint["state_dict"],
            "config": head_checkpoint["config"],
            "feature_channels": [int(c) for c in head_checkpoint["feature_channels"]],
            "in_bands": int(head_checkpoint["in_bands"]),
            "num_classes": int(head_checkpoint["num_classes"]),
            "backbone_arch": head_checkpoint.get("backbone_arch", backbone_row.arch),
        },
        "band_names": list(head_checkpoint.get("band_names") or project.band_names),
        "normalization": {band: [float(v) for v in values] for band, values in backbone_row.normalization.items()},
        "classes": [{"index": c.index, "name": c.name, "color": c.color} for c in project.classes],
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as handle:
        torch.save(contents, handle)
    logger.info("Exported run %d as a model bundle to %s", run_id, path)
    return path


def load_bundle(path: Path) -> ModelBundle:
    """Load a bundle written by `export_bundle`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a bundle, has an unsupported version, or its
            weights do not fit the architecture it names.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model bundle not found: {path}. Export one with export_bundle.")
    contents = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(contents, dict) or contents.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"{path} is not a MultiSSL Studio model bundle; export one from a head training run.")
    if contents.get("version") != BUNDLE_VERSION:
        raise ValueError(
            f"Model bundle {path} has version {contents.get('version')}; this code reads version {BUNDLE_VERSION}."
        )

    metadata = contents["backbone"]["metadata"]
    if metadata["arch"] not in BACKBONE_ARCHS:
        raise ValueError(f"Model bundle {path} names unknown backbone {metadata['arch']!r}; expected one of {BACKBONE_ARCHS}.")
    backbone = build_backbone(metadata["arch"], int(metadata["in_channels"]))
    try:
        backbone.load_state_dict(contents["backbone"]["state_dict"])
    except RuntimeError as error:
        raise ValueError(f"Backbone weights in {path} do not fit {metadata['arch']}: {error}") from error

    head_part = contents["head"]
    config = head_part["config"]
    head = head_from_checkpoint(head_part)
    return ModelBundle(
        backbone=freeze(backbone),
        head=head,
        band_names=list(contents["band_names"]),
        normalization={band: list(values) for band, values in contents["normalization"].items()},
        classes=list(contents["classes"]),
        head_config=dict(config),
        run_id=contents.get("run_id"),
        backbone_metadata=dict(metadata),
    )


def predict_with_bundle(bundle: ModelBundle, raster_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Predict one raster whole, the way a run predicts its tiles.

    The whole raster is held in memory; for orthomosaics pass ``bundle.backbone``
    and ``bundle.head`` to `core.inference.windowed.predict_raster` instead.

    Returns:
        Class map (H, W) uint8 with 255 on invalid pixels, and confidence
        (H, W) float32 in [0, 1], 0 on invalid pixels.

    Raises:
        FileNotFoundError: ``raster_path`` does not exist.
        TileReadError: the raster cannot be read.
        ValueError: the raster's band count differs from the bundle's bands.
    """
    raster_path = Path(raster_path)
    if not raster_path.exists():
        raise FileNotFoundError(f"Raster not found: {raster_path}.")
    raster = read_tile(raster_path)
    if raster.data.shape[0] != len(bundle.band_names):
        raise ValueError(
            f"{raster_path} has {raster.data.shape[0]} bands but the model expects {len(bundle.band_names)} "
            f"({', '.join(bundle.band_names)}); predict rasters with the project's band layout."
        )
    image = standardize(raster, bundle.band_names, bundle.normalization)
    features = extract_features(bundle.backbone, image)
    sample = build_sample(0, image, raster.valid, features)
    return predict_sample(bundle.head, sample)
