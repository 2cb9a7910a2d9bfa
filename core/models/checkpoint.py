"""Backbone checkpoint files: save, load and import.

A backbone file is ``torch.save({"state_dict": ..., "metadata": ...})``. The metadata contains
everything needed to rebuild the backbone and to feed it the same input again: the
architecture, the band names in channel order and the per-band normalization. Files are
read with ``weights_only=True``, so metadata may contain only plain Python values (dict,
list, tuple, str, int, float, bool, None).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import pickle
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.models.backbone import BACKBONE_ARCHS, Backbone, BackboneArch, build_backbone

logger = logging.getLogger(__name__)

REQUIRED_METADATA = ("arch", "in_channels", "band_names", "normalization", "method", "config")
BACKBONE_METHODS = ("fastsiam", "random", "imported")

# Prefixes that training frameworks put in front of backbone keys: our FastSiam module and
# other Lightning modules ("backbone."), DataParallel and DDP wrappers ("module."), and
# common wrapper attribute names.
KNOWN_KEY_PREFIXES = (
    "backbone.",
    "model.backbone.",
    "module.backbone.",
    "module.",
    "model.",
    "encoder.",
    "student_backbone.",
)

# Torchvision classifier keys that a backbone does not have: ResNet ``fc`` and the final
# Swin-T ``norm`` and ``head``.
CLASSIFIER_KEY_PREFIXES = ("fc.", "head.", "norm.")

FIRST_LAYER_KEYS = {
    "resnet18": "conv1.weight",
    "resnet50": "conv1.weight",
    "swin_t": "features.0.0.weight",
}


def file_sha256(path: Path | str) -> str:
    """Return the SHA-256 hex digest of the file at ``path``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_backbone(path: Path, backbone: Backbone, metadata: Mapping[str, Any]) -> str:
    """Write the backbone weights and metadata atomically and return the file's SHA-256.

    The file is written to a temporary file in the same folder and moved into place with
    ``os.replace``, so a reader never sees a half-written file.

    Args:
        path: Destination file. Missing parent folders are created.
        backbone: Backbone to save. Its weights are copied to the CPU.
        metadata: At least ``REQUIRED_METADATA``: ``arch``, ``in_channels``, ``band_names``
            (one per channel, in order), ``normalization`` (band name -> [mean, std]),
            ``method`` (one of ``BACKBONE_METHODS``) and ``config`` (the run settings).
            Paths and dataclasses are converted to plain values.

    Returns:
        SHA-256 hex digest of the written file.

    Raises:
        ValueError: If metadata is missing a key or disagrees with the backbone.
    """
    plain_metadata = _to_plain(dict(metadata))
    _check_metadata(plain_metadata, backbone, path)

    state_dict = {key: value.detach().cpu() for key, value in backbone.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    # open(..., "xb") applies the umask, unlike tempfile.mkstemp, which always creates 0600.
    temporary_name = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary_name, "xb") as file:
            torch.save({"state_dict": state_dict, "metadata": plain_metadata}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary_name, path)
    except BaseException:
        Path(temporary_name).unlink(missing_ok=True)
        raise

    sha256 = file_sha256(path)
    logger.info("Saved %s backbone to %s (sha256 %s)", backbone.arch, path, sha256[:12])
    return sha256


def load_backbone(path: Path) -> tuple[Backbone, dict[str, Any]]:
    """Load a backbone file written by ``save_backbone``.

    Returns:
        The backbone in eval mode, not frozen, and its metadata.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not a backbone file or its weights do not fit the
            architecture named in its metadata.
    """
    contents = _read_checkpoint(Path(path))
    if not isinstance(contents, dict) or "state_dict" not in contents or "metadata" not in contents:
        raise ValueError(
            f"{path} is not a backbone file: expected a dict with 'state_dict' and "
            "'metadata'. Use import_backbone for torchvision or Lightning checkpoints."
        )

    metadata = contents["metadata"]
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ValueError(f"Backbone file {path} has no metadata keys {missing}.")
    if metadata["arch"] not in BACKBONE_ARCHS:
        raise ValueError(
            f"Backbone file {path} names unknown architecture {metadata['arch']!r}. "
            f"Expected one of {BACKBONE_ARCHS}."
        )

    backbone = build_backbone(metadata["arch"], int(metadata["in_channels"]))
    _load_state_dict(backbone, contents["state_dict"], path)
    backbone.eval()
    return backbone, metadata


def import_backbone(path: Path, arch: BackboneArch, in_channels: int) -> Backbone:
    """Import backbone weights from a state dict or a Lightning checkpoint.

    Accepts a plain torchvision-style state dict, a Lightning checkpoint (its
    ``"state_dict"`` entry) or a file from ``save_backbone``. Keys may carry one of
    ``KNOWN_KEY_PREFIXES``. The prefix that matches the most backbone keys is stripped and
    keys with other prefixes (for example projection heads) are ignored. Torchvision
    classifier weights (``fc``, ``head`` and the final ``norm``) are dropped.

    Args:
        path: Checkpoint file, read with ``weights_only=True``.
        arch: Architecture the weights were trained with.
        in_channels: Band count of the project's tiles.

    Returns:
        The backbone in eval mode, not frozen.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file contains no matching weights, its first layer has a different
            band count than ``in_channels``, or keys and shapes do not fit ``arch``.
    """
    path = Path(path)
    contents = _read_checkpoint(path)
    state_dict = contents.get("state_dict", contents) if isinstance(contents, dict) else None
    if not isinstance(state_dict, Mapping) or not state_dict:
        raise ValueError(f"{path} contains no state dict of tensors.")

    backbone = build_backbone(arch, in_channels)
    expected_keys = set(backbone.state_dict())
    weights = _strip_prefix(state_dict, expected_keys, path, arch)

    first_layer_key = FIRST_LAYER_KEYS[arch]
    first_layer = weights.get(first_layer_key)
    if isinstance(first_layer, Tensor) and first_layer.ndim == 4:
        found_bands = first_layer.shape[1]
        if found_bands != in_channels:
            raise ValueError(
                f"{path} has a first layer for {found_bands} bands, but the tiles have "
                f"{in_channels} bands. Import a backbone trained on {in_channels} bands."
            )

    _load_state_dict(backbone, weights, path)
    backbone.eval()
    logger.info("Imported %s backbone for %d bands from %s", arch, in_channels, path)
    return backbone


def _read_checkpoint(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"Backbone file not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as error:
        raise ValueError(
            f"Failed to read {path} as a PyTorch checkpoint with weights_only=True: {error}. "
            "The file may be damaged, or hold objects other than tensors and plain values."
        ) from error


def _strip_prefix(
    state_dict: Mapping[str, Any], expected_keys: set[str], path: Path, arch: str
) -> dict[str, Any]:
    best_prefix, best_matches = "", 0
    for prefix in ("", *KNOWN_KEY_PREFIXES):
        matches = sum(
            1
            for key in state_dict
            if key.startswith(prefix) and key[len(prefix) :] in expected_keys
        )
        if matches > best_matches:
            best_prefix, best_matches = prefix, matches

    if best_matches == 0:
        sample = sorted(state_dict)[:5]
        raise ValueError(
            f"{path} contains no {arch} backbone weights: none of its keys (for example "
            f"{sample}) match, with or without the prefixes {KNOWN_KEY_PREFIXES}."
        )

    weights = {}
    for key, value in state_dict.items():
        if not key.startswith(best_prefix):
            continue
        name = key[len(best_prefix) :]
        if name.startswith(CLASSIFIER_KEY_PREFIXES):
            continue
        weights[name] = value
    return weights


def _load_state_dict(backbone: Backbone, state_dict: Mapping[str, Any], path: Path) -> None:
    try:
        backbone.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise ValueError(
            f"Weights in {path} do not fit a {backbone.arch} backbone for "
            f"{backbone.in_channels} bands: {error}"
        ) from error


def _check_metadata(metadata: dict[str, Any], backbone: Backbone, path: Path) -> None:
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ValueError(f"Failed to save {path}: metadata is missing {missing}.")
    if metadata["arch"] != backbone.arch:
        raise ValueError(
            f"Failed to save {path}: metadata arch {metadata['arch']!r} differs from the "
            f"backbone's {backbone.arch!r}."
        )
    if metadata["in_channels"] != backbone.in_channels:
        raise ValueError(
            f"Failed to save {path}: metadata in_channels {metadata['in_channels']} differs from "
            f"the backbone's {backbone.in_channels}."
        )
    if len(metadata["band_names"]) != backbone.in_channels:
        raise ValueError(
            f"Failed to save {path}: {len(metadata['band_names'])} band names for a backbone "
            f"with {backbone.in_channels} input channels."
        )
    if metadata["method"] not in BACKBONE_METHODS:
        raise ValueError(
            f"Failed to save {path}: method {metadata['method']!r} is not one of "
            f"{BACKBONE_METHODS}."
        )


def _to_plain(value: Any) -> Any:
    """Convert paths, dataclasses, tuples and numpy scalars to values weights_only can load."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _to_plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(key): _to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_plain(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
