"""The ``python -m core pretrain`` subcommand: FastSiam on a folder of tiles."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from core.models.arch import BACKBONE_ARCHS
from core.pretrain.config import OPTIMIZERS, PRECISIONS, PretrainConfig, default_precision

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pretrain`` subcommand to ``subparsers``, dispatched through ``args.handler``.

    Registering imports no torch, so ``python -m core --help`` stays fast.
    """
    defaults = {item.name: item.default for item in dataclasses.fields(PretrainConfig)}
    parser = subparsers.add_parser(
        "pretrain",
        help="pretrain a backbone with FastSiam on a folder of tiles",
        description="Pretrain an N-band backbone with FastSiam and save it with its band "
        "names and normalization.",
    )

    parser.add_argument("--input-dir", type=Path, required=True,
                        help="folder of tiles (.tif, .tiff, .png, .jpg); subfolders are not read")
    parser.add_argument("--bands", required=True,
                        help="comma-separated band names in file order, e.g. blue,green,red,nir")
    parser.add_argument("--output", type=Path, required=True, help="backbone file to write (.pt)")

    parser.add_argument("--backbone", choices=BACKBONE_ARCHS, default=defaults["arch"],
                        help="backbone architecture (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=defaults["epochs"],
                        help="passes over the tiles (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=defaults["batch_size"],
                        help="tiles per batch on each device (default: %(default)s)")
    parser.add_argument("--views", type=int, default=defaults["views"],
                        help="augmented views per tile, at least 2 (default: %(default)s)")
    parser.add_argument("--crop-size", type=int, default=defaults["crop_size"],
                        help="side of each square view in pixels (default: %(default)s)")
    parser.add_argument("--crops-per-tile", type=int, default=defaults["crops_per_tile"],
                        help="random crops per tile and epoch (default: %(default)s)")
    parser.add_argument("--max-steps-per-epoch", type=int, default=None,
                        help="cap on batches per epoch (default: all)")

    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults["optimizer"],
                        help="optimizer (default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="peak learning rate (default: 0.05 for sgd, 1e-3 for adamw)")
    parser.add_argument("--seed", type=int, default=defaults["seed"],
                        help="seed for weights, crops and augmentations (default: %(default)s)")
    parser.add_argument("--num-workers", type=int, default=defaults["num_workers"],
                        help="data loader worker processes per device (default: %(default)s)")

    parser.add_argument("--precision", choices=PRECISIONS, default=None,
                        help="numeric precision (default: bf16-mixed where the CPU or GPU "
                        "computes bf16 natively, else 32-true)")
    parser.add_argument("--devices", default="auto",
                        help="devices per node: 'auto', a count, or comma-separated indices")
    parser.add_argument("--num-nodes", type=int, default=1, help="machines for multi-node DDP")
    parser.add_argument("--strategy", default="auto",
                        help="Lightning strategy, e.g. auto, ddp, ddp_spawn (default: auto)")
    parser.add_argument("--accelerator", default="auto",
                        help="Lightning accelerator: auto, cpu, gpu (default: auto)")

    parser.set_defaults(handler=run_pretrain_command)


def run_pretrain_command(args: argparse.Namespace) -> int:
    """Read and standardise the tiles of ``args.input_dir``, pretrain and save a backbone.

    Returns:
        Exit code 0.

    Raises:
        ValueError: If the band names are missing or no tile can be read.
        FileNotFoundError: If the input folder does not exist.
    """
    from core.pretrain.train import pretrain_backbone

    band_names = parse_band_names(args.bands)
    tiles, normalization = load_standardized_tiles(args.input_dir, band_names)
    config = PretrainConfig(
        arch=args.backbone,
        epochs=args.epochs,
        batch_size=args.batch_size,
        views=args.views,
        crop_size=args.crop_size,
        crops_per_tile=args.crops_per_tile,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        precision=args.precision or default_precision(),
        devices=parse_devices(args.devices),
        num_nodes=args.num_nodes,
        strategy=args.strategy,
        accelerator=args.accelerator,
        seed=args.seed,
        num_workers=args.num_workers,
        max_steps_per_epoch=args.max_steps_per_epoch,
    )

    result = pretrain_backbone(tiles, band_names, normalization, config, args.output)
    logger.info(
        "Backbone written to %s (sha256 %s) after %d epochs",
        result.checkpoint_path, result.sha256, result.epochs_completed,
    )
    return 0


def load_standardized_tiles(
    folder: Path, band_names: list[str]
) -> tuple[list[np.ndarray], dict[str, tuple[float, float]]]:
    """Read the tiles of ``folder`` and standardise them with statistics over all of them.

    Files that the scan leaves out or that fail to read are logged and skipped.

    Returns:
        Standardised float32 tiles (C, H, W) with invalid pixels 0, and band name ->
        (mean, std).
    """
    from core.raster.read import read_tile
    from core.raster.scan import scan_folder
    from core.raster.stats import compute_band_stats, normalization_from_stats, normalize

    report = scan_folder(folder, expected_bands=len(band_names))
    for entry in report.excluded:
        logger.warning("Skipping %s: %s", entry.path, entry.reason)

    rasters = []
    for entry in report.included:
        try:
            rasters.append(read_tile(entry.path))
        except (ValueError, OSError) as error:
            logger.warning("Skipping %s: %s", entry.path, error)
    if not rasters:
        raise ValueError(
            f"No readable tile with {len(band_names)} bands in {folder}. Check --input-dir "
            f"and that --bands lists one name per band."
        )

    normalization = normalization_from_stats(compute_band_stats(rasters, band_names))
    tiles = [normalize(raster.data, raster.valid, band_names, normalization) for raster in rasters]
    logger.info("Read %d tiles with bands %s from %s", len(tiles), band_names, folder)
    return tiles, normalization


def parse_band_names(text: str) -> list[str]:
    """Split comma-separated band names, rejecting empty and repeated names."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError(f"--bands {text!r} contains no band name. Give e.g. blue,green,red,nir.")
    if len(set(names)) != len(names):
        raise ValueError(f"--bands {text!r} repeats a band name. Give each band once.")
    return names


def parse_devices(text: str) -> int | str | list[int]:
    """Parse --devices: "auto", a count such as "2", or indices such as "0,1"."""
    text = text.strip()
    try:
        if "," in text:
            return [int(part) for part in text.split(",") if part.strip()]
        return int(text)
    except ValueError:
        if text == "auto":
            return text
        raise ValueError(
            f"--devices {text!r} is invalid. Use 'auto', a count such as 2, or indices "
            "such as 0,1."
        ) from None
