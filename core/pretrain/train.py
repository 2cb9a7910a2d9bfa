"""Pretraining entry point: FastSiam on a project's tiles through the Lightning Trainer.

The same call runs on one CPU, on GPUs, and across nodes with DDP: ``devices``,
``num_nodes``, ``strategy`` and ``accelerator`` go to the Trainer unchanged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch

from core.models.checkpoint import file_sha256, save_backbone
from core.pretrain.config import (
    PRECISIONS,
    Precision,
    PretrainConfig,
    default_precision,
)
from core.pretrain.data import TileViewDataModule, TileViewDataset
from core.pretrain.module import FastSiam
from core.pretrain.progress import PretrainProgress

__all__ = [
    "PRECISIONS",
    "Precision",
    "PretrainConfig",
    "PretrainResult",
    "default_precision",
    "pretrain_backbone",
]

logger = logging.getLogger(__name__)

# Limits of the standardisation check, loose enough for tiles that differ from the project
# average (a tile of only water or only canopy).
STANDARDIZATION_SAMPLE_TILES = 16
MAX_STANDARDIZED_MEAN = 5.0
MAX_STANDARDIZED_STD = 10.0

@dataclass
class PretrainResult:
    """Outcome of ``pretrain_backbone``.

    Attributes:
        checkpoint_path: Backbone file written by ``save_backbone``.
        sha256: SHA-256 of that file.
        history: One dict per epoch that ran: ``epoch``, mean ``loss`` and ``embedding_std``,
            ``steps`` and ``completed`` (False for an epoch cut short by ``should_stop``).
        epochs_completed: Epochs that ran to their end.
        stopped_early: True when ``should_stop`` ended the run before ``epochs``.
    """

    checkpoint_path: Path
    sha256: str
    history: list[dict[str, Any]]
    epochs_completed: int
    stopped_early: bool


def pretrain_backbone(
    tiles: Sequence[np.ndarray],
    band_names: Sequence[str],
    normalization: Mapping[str, tuple[float, float]],
    config: PretrainConfig,
    output_path: Path,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PretrainResult:
    """Pretrain a backbone with FastSiam and save it.

    Args:
        tiles: Standardised float32 tiles (C, H, W), invalid pixels 0, C equal to the
            number of band names. Sizes may differ.
        band_names: Band names in channel order, stored with the backbone.
        normalization: Band name -> (mean, std) used to standardise the tiles, stored with
            the backbone so features can be reproduced.
        config: Run settings.
        output_path: Backbone file to write.
        on_progress: Called on the main process after every step with ``epoch``, ``step``,
            ``loss``, ``embedding_std`` and ``progress`` in [0, 1].
        should_stop: Polled after every step. When it returns True, training stops after
            that step and the backbone trained so far is saved.

    Returns:
        The result. Under DDP every process returns it, after the main process has saved.

    Raises:
        ValueError: If tiles, band names and normalization disagree or the config is invalid.
    """
    _check_inputs(tiles, band_names, normalization, config)
    _warn_if_not_standardized(tiles, band_names)
    output_path = Path(output_path)
    pl.seed_everything(config.seed, workers=True, verbose=False)

    dataset = TileViewDataset(
        list(tiles),
        crop_size=config.crop_size,
        views=config.views,
        crops_per_tile=config.crops_per_tile,
        augmentation=config.augmentation,
    )
    data_module = TileViewDataModule(dataset, config.batch_size, config.num_workers)
    module = _build_module(config, in_channels=len(band_names))
    progress = PretrainProgress(on_progress, should_stop)
    trainer = _build_trainer(config, progress)

    logger.info(
        "Pretraining %s on %d tiles (%d bands) for %d epochs, precision %s, writing %s",
        config.arch, len(tiles), len(band_names), config.epochs, config.precision, output_path,
    )
    trainer.fit(module, datamodule=data_module)

    if trainer.is_global_zero:
        metadata = {
            "arch": config.arch,
            "in_channels": len(band_names),
            "band_names": list(band_names),
            "normalization": {band: list(normalization[band]) for band in band_names},
            "method": "fastsiam",
            "config": config.to_dict(),
            "history": progress.history,
        }
        save_backbone(output_path, module.backbone, metadata)
    trainer.strategy.barrier("pretrain_backbone_saved")

    stopped_early = progress.stopped_early and progress.epochs_completed < config.epochs
    if trainer.is_global_zero:
        logger.info(
            "Pretraining finished after %d epochs%s. Backbone saved to %s",
            progress.epochs_completed, " (stopped early)" if stopped_early else "", output_path,
        )
    return PretrainResult(
        checkpoint_path=output_path,
        sha256=file_sha256(output_path),
        history=progress.history,
        epochs_completed=progress.epochs_completed,
        stopped_early=stopped_early,
    )


def _build_module(config: PretrainConfig, in_channels: int) -> FastSiam:
    channels_last = config.channels_last
    if channels_last is None:
        channels_last = config.arch.startswith("resnet")
    module = FastSiam(
        arch=config.arch,
        in_channels=in_channels,
        views=config.views,
        optimizer=config.optimizer,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        channels_last=channels_last,
    )
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    return module


def _build_trainer(config: PretrainConfig, progress: PretrainProgress) -> pl.Trainer:
    limit_train_batches = config.max_steps_per_epoch or 1.0
    return pl.Trainer(
        max_epochs=config.epochs,
        limit_train_batches=limit_train_batches,
        precision=config.precision,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        accelerator=config.accelerator,
        callbacks=[progress],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        deterministic=False,
    )


def _warn_if_not_standardized(tiles: Sequence[np.ndarray], band_names: Sequence[str]) -> None:
    """Log a warning when the first tiles look like raw values rather than z-scores.

    Standardised bands have mean near 0 and std near 1 over the project. A band whose
    mean magnitude over the sampled tiles exceeds ``MAX_STANDARDIZED_MEAN`` or whose std
    exceeds ``MAX_STANDARDIZED_STD`` was most likely not divided by its std.
    """
    sample = np.concatenate(
        [tile.reshape(tile.shape[0], -1) for tile in tiles[:STANDARDIZATION_SAMPLE_TILES]],
        axis=1,
    )
    means = np.abs(sample.mean(axis=1))
    stds = sample.std(axis=1)
    suspicious = [
        name
        for name, mean, std in zip(band_names, means, stds, strict=True)
        if mean > MAX_STANDARDIZED_MEAN or std > MAX_STANDARDIZED_STD
    ]
    if suspicious:
        logger.warning(
            "Bands %s do not look standardised (|mean| up to %.1f, std up to %.1f). "
            "pretrain_backbone expects (value - mean) / std per band; check the normalization.",
            suspicious, float(means.max()), float(stds.max()),
        )


def _check_inputs(
    tiles: Sequence[np.ndarray],
    band_names: Sequence[str],
    normalization: Mapping[str, tuple[float, float]],
    config: PretrainConfig,
) -> None:
    if len(tiles) == 0:
        raise ValueError("Pretraining needs at least one tile, got none.")
    bands = len(band_names)
    for index, tile in enumerate(tiles):
        if tile.ndim != 3 or tile.shape[0] != bands:
            raise ValueError(
                f"Tile {index} has shape {tile.shape}, expected ({bands}, H, W) for bands "
                f"{list(band_names)}."
            )
    missing = [band for band in band_names if band not in normalization]
    if missing:
        raise ValueError(f"normalization has no (mean, std) for bands {missing}.")
    if config.precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {config.precision!r}.")
    if config.epochs < 1 or config.batch_size < 1:
        raise ValueError(
            f"epochs and batch_size must be at least 1, got {config.epochs} and "
            f"{config.batch_size}."
        )
    if config.max_steps_per_epoch is not None and config.max_steps_per_epoch < 1:
        raise ValueError(
            f"max_steps_per_epoch must be at least 1 or None, got {config.max_steps_per_epoch}."
        )
    if not all(math.isfinite(value) for band in band_names for value in normalization[band]):
        raise ValueError("normalization contains a non-finite mean or std.")
