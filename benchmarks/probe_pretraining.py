"""Check whether FastSiam pretraining helps: linear probe on pretrained vs random ResNet18 features.

For each dataset a ResNet18 is pretrained with FastSiam on all its tiles (images only, no
masks), and a second ResNet18 keeps torchvision's random initialisation. Both are frozen.
A linear head (one 1x1 convolution stack over the upsampled, concatenated feature levels,
no raw-band branch) is trained on the full masks of a few tiles of the training groups and
scored on every tile of a held-out group:

* WeedMap: labeled tiles from field maps 000, 001, 002; test on map 004.
* UKIS: labeled tiles from the Sentinel-2 and Landsat-7 scenes; test on Landsat-5.

Each seed draws other labeled tiles and another head initialisation; the backbones are the
same for all seeds (one pretraining run, one random initialisation). Pretrained backbones
are cached under ``/tmp/multissl_benchmarks`` and reused by ``few_shot_quality.py``.

Run: ``.venv/bin/python benchmarks/probe_pretraining.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_data import (
    Dataset,
    build_samples,
    format_mean_std,
    load_ukis,
    load_weedmap,
    machine_note,
    mean_std,
    pretrain_config,
    pretrained_backbone,
    random_backbone,
    score_predictions,
    without_spectral_jitter,
    write_json,
)
from core.inference.predict import predict_sample
from core.pretrain.config import PretrainConfig
from core.training.data import TileSample
from core.training.trainer import HeadConfig, train_head

logger = logging.getLogger("benchmarks.probe_pretraining")

SPLITS = {
    "weedmap": (("000", "001", "002"), ("004",)),
    "ukis": (("sentinel2", "landsat7"), ("landsat5",)),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["weedmap", "ukis"],
                        choices=sorted(SPLITS), help="datasets to probe")
    parser.add_argument("--seeds", type=int, default=3, help="labeled-tile draws per backbone")
    parser.add_argument("--labeled-tiles", type=int, default=5,
                        help="tiles with full masks used to train the probe")
    # NOTE: 100 steps fit the CPU budget of the recorded runs; HeadConfig uses 300 by default.
    parser.add_argument("--steps", type=int, default=100, help="probe training steps")
    parser.add_argument("--pretrain-epochs", type=int, default=None,
                        help="override the pretraining epochs (a variant, saved separately)")
    parser.add_argument("--pretrain-crop-size", type=int, default=None,
                        help="override the pretraining view size in pixels")
    parser.add_argument("--pretrain-learning-rate", type=float, default=None,
                        help="override the peak SGD learning rate of pretraining")
    parser.add_argument("--no-spectral-jitter", action="store_true",
                        help="pretrain without per-band gain/offset jitter and band dropout")
    parser.add_argument("--skip-random", action="store_true",
                        help="probe only the pretrained backbone (for pretraining variants)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: few tiles, 1 short pretraining epoch, 1 seed, 20 steps")
    return parser.parse_args()


def variant_config(name: str, args: argparse.Namespace) -> tuple[PretrainConfig, str]:
    """Return the pretraining config with the command-line overrides, and its file tag."""
    config = pretrain_config(name, args.quick)
    tag = "fastsiam_quick" if args.quick else "fastsiam"
    overrides = {
        "epochs": args.pretrain_epochs,
        "crop_size": args.pretrain_crop_size,
        "learning_rate": args.pretrain_learning_rate,
    }
    for field_name, value in overrides.items():
        if value is not None:
            setattr(config, field_name, value)
            tag += f"_{field_name}{value}"
    if args.no_spectral_jitter:
        without_spectral_jitter(config)
        tag += "_nojitter"
    return config, tag


def load_dataset(name: str, quick: bool) -> Dataset:
    if name == "weedmap":
        return load_weedmap(limit_per_map=3 if quick else None)
    return load_ukis()


def probe_seed(
    dataset: Dataset,
    samples: dict[int, TileSample],
    train_indices: list[int],
    test_indices: list[int],
    seed: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Draw the labeled tiles of one seed, train the linear probe on them and score it."""
    rng = np.random.default_rng(seed)
    labeled = sorted(int(i) for i in rng.choice(train_indices, size=args.labeled_tiles,
                                                replace=False))
    config = HeadConfig(head="linear", raw_branch=False, semi_supervised=False,
                        preview=False, steps=args.steps, seed=seed)
    start = time.perf_counter()
    result = train_head([samples[i] for i in labeled], [], dataset.num_classes, config)
    scores = score_predictions(
        lambda index: predict_sample(result.head, samples[index])[0], dataset, test_indices
    )
    return {
        "seed": seed,
        "labeled_tiles": [dataset.tile_names[i] for i in labeled],
        "mean_iou": scores["mean_iou"],
        "iou": scores["iou"],
        "pixel_accuracy": scores["pixel_accuracy"],
        "train_and_predict_seconds": time.perf_counter() - start,
    }


def probe_dataset(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Pretrain (or reuse), extract features, and train and score the probe for every seed."""
    dataset = load_dataset(name, args.quick)
    train_groups, test_groups = SPLITS[name]
    train_indices = dataset.indices_of(train_groups)
    test_indices = dataset.indices_of(test_groups)
    config, tag = variant_config(name, args)
    pretrained, pretraining = pretrained_backbone(dataset, config, tag)
    backbones = {"fastsiam": pretrained}
    if not args.skip_random:
        backbones["random"] = random_backbone(len(dataset.band_names), seed=0)

    runs: list[dict[str, Any]] = []
    for backbone_name, backbone in backbones.items():
        start = time.perf_counter()
        samples = build_samples(dataset, backbone, train_indices + test_indices)
        feature_seconds = time.perf_counter() - start
        logger.info("%s/%s: features of %d tiles in %.1f s",
                    name, backbone_name, len(samples), feature_seconds)
        for seed in range(args.seeds):
            run = probe_seed(dataset, samples, train_indices, test_indices, seed, args)
            logger.info("%s/%s seed %d: mean IoU %.3f, IoU %s, %.1f s",
                        name, backbone_name, seed, run["mean_iou"],
                        np.round(run["iou"], 3).tolist(), run["train_and_predict_seconds"])
            runs.append({"backbone": backbone_name, **run})

    return {
        "dataset": name,
        "class_names": dataset.class_names,
        "train_groups": list(train_groups),
        "test_groups": list(test_groups),
        "test_tiles": len(test_indices),
        "pretraining": {
            "tag": tag,
            "config": config.to_dict(),
            "seconds": pretraining["seconds"],
            "loss_by_epoch": [entry["loss"] for entry in pretraining["history"]],
            "embedding_std_by_epoch": [entry["embedding_std"] for entry in pretraining["history"]],
        },
        "runs": runs,
    }


def summary_table(results: list[dict[str, Any]], seeds: int, labeled_tiles: int) -> str:
    """Format one Markdown row per dataset and backbone: mean ± std over seeds."""
    lines = [
        f"Linear probe on frozen ResNet18 features, {labeled_tiles} labeled tiles, "
        f"{seeds} seeds (mean ± std)",
        "",
        "| dataset | backbone | mean IoU | per-class IoU | seconds per seed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results:
        for backbone in ("fastsiam", "random"):
            runs = [run for run in result["runs"] if run["backbone"] == backbone]
            if not runs:
                continue
            per_class = np.array([run["iou"] for run in runs], dtype=np.float64)
            class_cells = ", ".join(
                f"{name} {format_mean_std(per_class[:, index])}"
                for index, name in enumerate(result["class_names"])
            )
            seconds, _ = mean_std([run["train_and_predict_seconds"] for run in runs])
            lines.append(
                f"| {result['dataset']} | {backbone} | "
                f"{format_mean_std([run['mean_iou'] for run in runs])} | {class_cells} | "
                f"{seconds:.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.quick:
        args.seeds, args.steps = 1, 20
    results = [probe_dataset(name, args) for name in args.datasets]
    table = summary_table(results, args.seeds, args.labeled_tiles)
    payload = {"machine": machine_note(), "args": vars(args), "results": results, "table": table}
    suffix = "_".join(result["pretraining"]["tag"] for result in results)
    default = not (args.pretrain_epochs or args.pretrain_crop_size or args.pretrain_learning_rate
                   or args.no_spectral_jitter)
    name = "probe_pretraining" + ("" if default and not args.quick else f"_{suffix}")
    path = write_json(f"{name}.json", payload)
    sys.stdout.write(table + "\n")
    logger.info("Results written to %s", path)


if __name__ == "__main__":
    main()
