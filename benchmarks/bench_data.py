"""Datasets, backbones and scoring shared by the few-shot quality benchmarks.

Two labeled real datasets from ``../shared/data`` (relative to the repository root):

* WeedMap RedEdge CIR: 100 tiles of 480 x 360 px, 3 display-scaled 8-bit bands, classes
  background, crop, weed; 255 is nodata. Each tile belongs to one field map (000, 001,
  002, 004), which is the group used for the train/test split.
* UKIS cloud: 3 scenes (Sentinel-2, Landsat-7, Landsat-5) of 512 x 512 px, 6 bands of
  reflectance x 10000, cut into 128 px tiles. The scene is the group. Mask values
  {0 shadow, 1 water, 3 land, 4 cloud} become the contiguous classes 0..3.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from core.labels.files import UNLABELED
from core.models.backbone import Backbone, build_backbone, freeze
from core.models.checkpoint import load_backbone
from core.pretrain.train import PretrainConfig, pretrain_backbone
from core.raster.read import read_tile
from core.raster.stats import compute_band_stats, normalization_from_stats, normalize
from core.training.data import TileSample, build_sample
from core.training.features import extract_features
from core.training.metrics import confusion_matrix, scores_from_confusion

logger = logging.getLogger(__name__)

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPOSITORY_ROOT.parent / "shared" / "data"
WEEDMAP_DIR = SHARED_DATA / "weedmap_rededge_cir"
UKIS_DIR = SHARED_DATA / "ukis_cloud_s2_landsat"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
# Pretrained backbones are kept outside the repository and reused between scripts.
BACKBONE_DIR = Path("/tmp/multissl_benchmarks")

UKIS_SCENES = ("sentinel2", "landsat7", "landsat5")
UKIS_TILE_SIZE = 128
# Source mask value -> class index; value 2 (snow) never occurs and becomes unlabeled.
UKIS_CLASS_OF_VALUE = {0: 0, 1: 1, 3: 2, 4: 3}


@dataclass
class Dataset:
    """Standardised tiles with masks and a group id per tile for splitting.

    Attributes:
        name: Short dataset name used in file names and tables.
        band_names: Band names in channel order.
        class_names: Class names by index.
        tile_names: One name per tile.
        groups: Field map or scene of each tile.
        images: (bands, H, W) float32 standardised tiles, invalid pixels 0.
        valid: (H, W) bool validity masks.
        masks: (H, W) uint8 class indices, 255 on nodata.
        normalization: Band name -> (mean, std) over all tiles.
    """

    name: str
    band_names: list[str]
    class_names: list[str]
    tile_names: list[str]
    groups: list[str]
    images: list[np.ndarray]
    valid: list[np.ndarray]
    masks: list[np.ndarray]
    normalization: dict[str, tuple[float, float]]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def indices_of(self, groups: Sequence[str]) -> list[int]:
        """Return the indices of the tiles whose group is in ``groups``."""
        return [index for index, group in enumerate(self.groups) if group in groups]


def load_weedmap(limit_per_map: int | None = None) -> Dataset:
    """Read the WeedMap tiles and masks and standardise them over all tiles.

    Args:
        limit_per_map: Keep only the first tiles of each field map (smoke runs); None keeps all.
    """
    with (WEEDMAP_DIR / "tiles.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    per_map: dict[str, int] = {}
    names, groups, rasters, masks = [], [], [], []
    for row in rows:
        group = row["weedmap_orthomosaic"]
        per_map[group] = per_map.get(group, 0) + 1
        if limit_per_map is not None and per_map[group] > limit_per_map:
            continue
        raster = read_tile(WEEDMAP_DIR / "images" / f"{row['name']}.png")
        mask = cv2.imread(str(WEEDMAP_DIR / "masks" / f"{row['name']}.png"), cv2.IMREAD_UNCHANGED)
        names.append(row["name"])
        groups.append(group)
        rasters.append(raster)
        masks.append(np.where(raster.valid, mask, UNLABELED).astype(np.uint8))

    # WeedMap documents the composite as NIR / red / green, but vegetation is brighter than
    # soil in the second channel, unlike red reflectance, so these names are nominal.
    band_names = ["nir", "red", "green"]
    normalization = normalization_from_stats(compute_band_stats(rasters, band_names))
    images = [normalize(r.data, r.valid, band_names, normalization) for r in rasters]
    return Dataset(
        name="weedmap",
        band_names=band_names,
        class_names=["background", "crop", "weed"],
        tile_names=names,
        groups=groups,
        images=images,
        valid=[r.valid for r in rasters],
        masks=masks,
        normalization=normalization,
    )


def load_ukis(tile_size: int = UKIS_TILE_SIZE) -> Dataset:
    """Read the three UKIS scenes, cut them into square tiles and standardise them."""
    lookup = np.full(256, UNLABELED, dtype=np.uint8)
    for value, class_index in UKIS_CLASS_OF_VALUE.items():
        lookup[value] = class_index

    band_names = ["blue", "green", "red", "nir", "swir1", "swir2"]
    rasters = [read_tile(UKIS_DIR / "images" / f"{scene}.tif") for scene in UKIS_SCENES]
    normalization = normalization_from_stats(compute_band_stats(rasters, band_names))

    names, groups, images, valid, masks = [], [], [], [], []
    for scene, raster in zip(UKIS_SCENES, rasters, strict=True):
        image = normalize(raster.data, raster.valid, band_names, normalization)
        source_mask = cv2.imread(str(UKIS_DIR / "masks" / f"{scene}.png"), cv2.IMREAD_UNCHANGED)
        mask = np.where(raster.valid, lookup[source_mask], UNLABELED).astype(np.uint8)
        height, width = mask.shape
        for top in range(0, height - tile_size + 1, tile_size):
            for left in range(0, width - tile_size + 1, tile_size):
                window = (slice(top, top + tile_size), slice(left, left + tile_size))
                names.append(f"{scene}_r{top}_c{left}")
                groups.append(scene)
                images.append(np.ascontiguousarray(image[(slice(None), *window)]))
                valid.append(raster.valid[window].copy())
                masks.append(mask[window].copy())
    return Dataset(
        name="ukis",
        band_names=band_names,
        class_names=["cloud_shadow", "water", "land", "cloud"],
        tile_names=names,
        groups=groups,
        images=images,
        valid=valid,
        masks=masks,
        normalization=normalization,
    )


def pretrained_backbone(
    dataset: Dataset, config: PretrainConfig, tag: str
) -> tuple[Backbone, dict[str, Any]]:
    """Pretrain a backbone with FastSiam on every tile of ``dataset``, or reuse a saved one.

    A file under ``BACKBONE_DIR`` is reused when its stored config equals ``config``.

    Returns:
        The frozen backbone and a summary: path, seconds spent pretraining (0 when reused)
        and the per-epoch loss history.
    """
    path = BACKBONE_DIR / f"{dataset.name}_{tag}.pt"
    if path.is_file():
        backbone, metadata = load_backbone(path)
        if metadata.get("config") == config.to_dict():
            logger.info("Reusing pretrained backbone %s", path)
            summary = {"path": str(path), "seconds": 0.0, "history": metadata.get("history", [])}
            return freeze(backbone), summary
        logger.info("Config of %s differs from the requested one, pretraining again", path)

    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = pretrain_backbone(
        dataset.images, dataset.band_names, dataset.normalization, config, path
    )
    seconds = time.perf_counter() - start
    backbone, _ = load_backbone(path)
    summary = {"path": str(path), "seconds": seconds, "history": result.history}
    return freeze(backbone), summary


def without_spectral_jitter(config: PretrainConfig) -> PretrainConfig:
    """Turn off per-band gain/offset jitter and band dropout in ``config``, in place.

    The geometric, blur and noise augmentations stay, so the views still differ.
    """
    config.augmentation = replace(config.augmentation, gain=0.0, offset=0.0,
                                  jitter_probability=0.0, band_dropout_probability=0.0)
    return config


def random_backbone(in_channels: int, seed: int, arch: str = "resnet18") -> Backbone:
    """Build a frozen, randomly initialised backbone (torchvision's default initialisation)."""
    torch.manual_seed(seed)
    return freeze(build_backbone(arch, in_channels))  # type: ignore[arg-type]


def build_samples(
    dataset: Dataset, backbone: Backbone, indices: Sequence[int] | None = None
) -> dict[int, TileSample]:
    """Extract backbone features of the chosen tiles and wrap them with their full masks."""
    chosen = range(len(dataset.images)) if indices is None else indices
    samples = {}
    for index in chosen:
        features = extract_features(backbone, dataset.images[index])
        samples[index] = build_sample(
            index, dataset.images[index], dataset.valid[index], features, dataset.masks[index]
        )
    return samples


def with_mask(sample: TileSample, mask: np.ndarray | None) -> TileSample:
    """Return a copy of ``sample`` whose (unpadded) mask is replaced; None drops the labels."""
    return build_sample(
        sample.tile_id,
        sample.image[:, : sample.height, : sample.width],
        sample.valid[: sample.height, : sample.width],
        sample.features,
        mask,
    )


def scribble_mask(
    mask: np.ndarray, fraction: float, rng: np.random.Generator, width: int = 2
) -> np.ndarray:
    """Simulate sparse scribbles: keep labels only along random straight strokes.

    Strokes of ``width`` px are drawn through random labeled pixels, cycling over the classes
    present so that rare classes get strokes too, until about ``fraction`` of the labeled
    pixels is covered. Each stroke keeps only the pixels of its seed's class, as a user
    painting one class would.

    Returns:
        (H, W) uint8 mask with 255 outside the strokes.
    """
    labeled = mask != UNLABELED
    target = max(1, int(fraction * labeled.sum()))
    classes = [int(c) for c in np.unique(mask[labeled])]
    height, width_px = mask.shape
    stroke_length = max(height, width_px) // 4
    scribbles = np.full_like(mask, UNLABELED)
    covered = 0
    attempts = 0
    while covered < target and attempts < 2000:
        class_index = classes[attempts % len(classes)]
        attempts += 1
        rows, cols = np.nonzero(mask == class_index)
        pick = rng.integers(len(rows))
        angle = rng.uniform(0, np.pi)
        length = rng.integers(stroke_length // 2, stroke_length + 1)
        delta = np.array([np.cos(angle), np.sin(angle)]) * length / 2
        start = (int(cols[pick] - delta[0]), int(rows[pick] - delta[1]))
        end = (int(cols[pick] + delta[0]), int(rows[pick] + delta[1]))
        stroke = np.zeros_like(mask)
        cv2.line(stroke, start, end, 1, thickness=width)
        keep = (stroke == 1) & (mask == class_index) & (scribbles == UNLABELED)
        scribbles[keep] = class_index
        covered += int(keep.sum())
    return scribbles


def score_predictions(
    predict: Callable[[int], np.ndarray], dataset: Dataset, test_indices: Sequence[int]
) -> dict[str, Any]:
    """Score class maps on the test tiles against their full masks.

    Args:
        predict: Returns the (H, W) uint8 class map of the tile with the given index.

    Returns:
        ``scores_from_confusion`` of the summed confusion matrix.
    """
    matrix = np.zeros((dataset.num_classes, dataset.num_classes), dtype=np.int64)
    for index in test_indices:
        matrix += confusion_matrix(dataset.masks[index], predict(index), dataset.num_classes)
    return scores_from_confusion(matrix)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Return the mean and sample std (0 for a single value) ignoring NaN."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return float("nan"), float("nan")
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return float(array.mean()), std


def format_mean_std(values: Sequence[float]) -> str:
    mean, std = mean_std(values)
    return f"{mean:.3f} ± {std:.3f}"


def write_json(name: str, payload: dict[str, Any]) -> Path:
    """Write a result file under ``benchmarks/results`` and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    path.write_text(json.dumps(payload, indent=1, default=float) + "\n")
    return path


def machine_note() -> dict[str, Any]:
    """Return the CPU thread count, load average and date of this run."""
    import os

    return {
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "torch": torch.__version__,
    }


def pretrain_config(dataset_name: str, quick: bool = False) -> PretrainConfig:
    """Return the FastSiam settings used for a dataset by both benchmarks.

    Sized for a 2-core CPU shared with other jobs, where one step of 16 tiles x 4 views of
    128 px took 5-8 s in bf16 (ResNet18). WeedMap (100 tiles) gets 7 steps per epoch and
    UKIS (48 tiles) 3, so the runs take 70 and 36 steps.
    """
    epochs = {"weedmap": 10, "ukis": 12}[dataset_name]
    return PretrainConfig(
        arch="resnet18",
        epochs=1 if quick else epochs,
        batch_size=16,
        views=4,
        crop_size=128,
        precision="bf16-mixed",
        accelerator="cpu",
        devices=1,
        seed=0,
        max_steps_per_epoch=2 if quick else None,
    )
