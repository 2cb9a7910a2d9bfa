"""Few-shot segmentation quality: methods, label budgets and label styles, over seeds.

Datasets (``--dataset``): WeedMap, labeled tiles drawn from field maps 000-002 and every
method scored on all tiles of map 004; UKIS, labeled tiles drawn from the Sentinel-2 and
Landsat-7 scenes and scored on the Landsat-5 scene. For each number k of labeled tiles
and each label style (``full`` masks, or ``scribble``: about 2 % of the labeled pixels
along thin strokes), the methods are:

1. ``pixel_classifier``: random forest on filter features of the bands (ilastik-like).
2. ``unet_scratch``: a small U-Net trained end to end from scratch on the labeled tiles.
3. ``fpn_pretrained``: supervised FPN head on the frozen FastSiam backbone.
4. ``fpn_semi_pretrained``: mean-teacher FPN head on the same backbone; every other tile
   of the dataset, the test tiles included, is an unlabeled tile (transductive).
5. ``fpn_semi_random``: method 4 on a frozen randomly initialised ResNet18 (and
   ``fpn_random``, method 3 on it), and
   ``fpn_semi_adapters``: method 4 with residual adapters in the backbone's last stages.
6. ``fpn_all_labels``: supervised FPN head on the full masks of all training tiles,
   run once per seed as the upper reference.

Heads use the default ``HeadConfig`` of their mode unless ``--steps`` is given. The
FastSiam backbone is the one ``probe_pretraining.py`` saved under
``/tmp/multissl_benchmarks`` (pretrained here with the same settings if missing). Times
are seconds to train and to predict the test tiles, measured in turn in one process, and
are reported as ratios to method 1 of the same setting and seed.

Run: ``.venv/bin/python benchmarks/few_shot_quality.py --dataset weedmap``
(``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from functools import partial
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
    scribble_mask,
    with_mask,
    without_spectral_jitter,
    write_json,
)
from benchmarks.end_to_end import predict_unet, train_unet
from core.inference.predict import predict_sample
from core.models.backbone import Backbone
from core.training.data import TileSample
from core.training.pixel_classifier import PixelClassifier, filter_features
from core.training.trainer import HeadConfig, train_head

logger = logging.getLogger("benchmarks.few_shot_quality")

# Dataset -> (groups the labeled tiles come from, groups scored).
SPLITS = {
    "weedmap": (("000", "001", "002"), ("004",)),
    "ukis": (("sentinel2", "landsat7"), ("landsat5",)),
}
SCRIBBLE_FRACTION = 0.02
# Method -> (backbone, semi-supervised, adapters); None for methods without a backbone.
HEAD_METHODS: dict[str, tuple[str, bool, bool]] = {
    "fpn_pretrained": ("pretrained", False, False),
    "fpn_semi_pretrained": ("pretrained", True, False),
    "fpn_random": ("random", False, False),
    "fpn_semi_random": ("random", True, False),
    "fpn_semi_adapters": ("pretrained", True, True),
}
METHODS = ("pixel_classifier", "unet_scratch", *HEAD_METHODS)
REFERENCE_METHOD = "fpn_all_labels"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SPLITS), default="weedmap")
    parser.add_argument("--shots", type=int, nargs="+", default=[1, 2, 5],
                        help="numbers k of labeled tiles")
    parser.add_argument("--styles", nargs="+", default=["full", "scribble"],
                        choices=["full", "scribble"], help="label styles")
    parser.add_argument("--seeds", type=int, default=3, help="labeled-tile draws per setting")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--reference-methods", nargs="*", default=[REFERENCE_METHOD],
                        choices=[*METHODS, REFERENCE_METHOD],
                        help="methods also trained on every labeled training tile, once per seed")
    parser.add_argument("--steps", type=int, default=None,
                        help="head training steps (default: HeadConfig's default of each mode)")
    parser.add_argument("--unet-steps", type=int, default=150, help="U-Net training steps")
    parser.add_argument("--tag", default="", help="suffix of the result file name")
    parser.add_argument("--table", type=Path, nargs="+",
                        help="only print the merged table of these result files")
    parser.add_argument("--pretrain-epochs", type=int, default=None,
                        help="use the backbone pretrained for this many epochs "
                             "(probe_pretraining.py --pretrain-epochs)")
    parser.add_argument("--no-spectral-jitter", action="store_true",
                        help="use the backbone pretrained without gain/offset jitter and band "
                             "dropout (probe_pretraining.py --no-spectral-jitter)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 tiles per group, k = 1, 1 seed, 20 steps")
    return parser.parse_args()


def timed(run: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    scores = run()
    return scores, time.perf_counter() - start


def run_pixel_classifier(
    dataset: Dataset, labeled: dict[int, np.ndarray], test: list[int], seed: int
) -> dict[str, Any]:
    """Fit the random forest on the labeled tiles' filter features and score the test tiles."""
    classifier = PixelClassifier(dataset.num_classes, seed=seed)
    classifier.fit([filter_features(dataset.images[i]) for i in labeled], list(labeled.values()))
    return score_predictions(
        lambda index: classifier.predict(filter_features(dataset.images[index]),
                                         dataset.valid[index])[0],
        dataset, test,
    )


def run_unet(
    dataset: Dataset, labeled: dict[int, np.ndarray], test: list[int], seed: int, steps: int
) -> dict[str, Any]:
    """Train the U-Net from scratch on the labeled tiles and score the test tiles."""
    model = train_unet([dataset.images[i] for i in labeled], list(labeled.values()),
                       dataset.num_classes, steps, seed)
    return score_predictions(
        lambda index: predict_unet(model, dataset.images[index], dataset.valid[index]),
        dataset, test,
    )


def run_head(
    dataset: Dataset,
    samples: dict[int, TileSample],
    labeled: dict[int, np.ndarray],
    test: list[int],
    config: HeadConfig,
    backbone: Backbone | None = None,
) -> dict[str, Any]:
    """Train an FPN head with ``labeled`` masks (all other tiles unlabeled) and score it."""
    labeled_samples = [with_mask(samples[i], mask) for i, mask in labeled.items()]
    unlabeled_samples = []
    if config.semi_supervised:
        unlabeled_samples = [with_mask(s, None) for i, s in samples.items() if i not in labeled]
    result = train_head(labeled_samples, unlabeled_samples, dataset.num_classes, config,
                        backbone=backbone)
    return score_predictions(lambda index: predict_sample(result.head, samples[index])[0],
                             dataset, test)


def head_config(semi_supervised: bool, adapters: bool, steps: int | None, seed: int) -> HeadConfig:
    config = HeadConfig.for_mode(semi_supervised)
    config.adapters, config.seed, config.preview = adapters, seed, False
    if steps is not None:
        config.steps = steps
    return config


def record(runs: list[dict[str, Any]], scores: dict[str, Any], seconds: float,
           **keys: Any) -> None:
    runs.append({**keys, "mean_iou": scores["mean_iou"], "iou": scores["iou"],
                 "seconds": seconds})
    logger.info("%s: mean IoU %.3f, IoU %s, %.1f s",
                {k: v for k, v in keys.items() if k != "labeled_tiles"}, scores["mean_iou"],
                np.round(scores["iou"], 3).tolist(), seconds)


def load_dataset(name: str, quick: bool) -> Dataset:
    if name == "ukis":
        return load_ukis()
    return load_weedmap(limit_per_map=3 if quick else None)


def run_benchmark(
    args: argparse.Namespace,
    on_setting_done: Callable[[Dataset, list[dict[str, Any]], dict[str, Any]], None],
) -> tuple[Dataset, list[dict[str, Any]], dict[str, Any]]:
    """Run every method for every seed, k and label style.

    ``on_setting_done`` receives the runs so far after each (seed, k, style), so a run
    stopped at a time limit still leaves its finished settings on disk.
    """
    dataset = load_dataset(args.dataset, args.quick)
    train_groups, test_groups = SPLITS[args.dataset]
    train = dataset.indices_of(train_groups)
    test = dataset.indices_of(test_groups)
    tag = "fastsiam_quick" if args.quick else "fastsiam"
    config = pretrain_config(args.dataset, args.quick)
    if args.pretrain_epochs is not None:
        config.epochs = args.pretrain_epochs
        tag += f"_epochs{args.pretrain_epochs}"
    if args.no_spectral_jitter:
        without_spectral_jitter(config)
        tag += "_nojitter"
    pretrained, pretraining = pretrained_backbone(dataset, config, tag)
    backbones = {"pretrained": pretrained,
                 "random": random_backbone(len(dataset.band_names), seed=0)}
    needed = {HEAD_METHODS[m][0] for m in args.methods if m in HEAD_METHODS} | {"pretrained"}
    samples = {name: build_samples(dataset, backbones[name]) for name in sorted(needed)}

    def run_method(method: str, labeled: dict[int, np.ndarray], seed: int) -> tuple[dict[str, Any], float]:
        if method == "pixel_classifier":
            return timed(partial(run_pixel_classifier, dataset, labeled, test, seed))
        if method == "unet_scratch":
            return timed(partial(run_unet, dataset, labeled, test, seed, args.unet_steps))
        backbone, semi, adapters = HEAD_METHODS.get(method, ("pretrained", False, False))
        config = head_config(semi, adapters, args.steps, seed)
        return timed(partial(run_head, dataset, samples[backbone], labeled, test, config,
                             backbones[backbone]))

    runs: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        all_labels = {i: dataset.masks[i] for i in train}
        for method in args.reference_methods:
            scores, seconds = run_method(method, all_labels, seed)
            record(runs, scores, seconds, method=method, seed=seed, shots=len(train), style="full",
                   labeled_pixels=int(sum((dataset.masks[i] != 255).sum() for i in train)))

        for shots in args.shots:
            rng = np.random.default_rng(1000 * seed + shots)
            chosen = [int(i) for i in rng.choice(train, size=shots, replace=False)]
            for style in args.styles:
                labeled = {
                    i: dataset.masks[i] if style == "full"
                    else scribble_mask(dataset.masks[i], SCRIBBLE_FRACTION, rng)
                    for i in chosen
                }
                keys = {"seed": seed, "shots": shots, "style": style,
                        "labeled_tiles": [dataset.tile_names[i] for i in chosen],
                        "labeled_pixels": int(sum((m != 255).sum() for m in labeled.values()))}
                for method in args.methods:
                    scores, seconds = run_method(method, labeled, seed)
                    record(runs, scores, seconds, method=method, **keys)
                on_setting_done(dataset, runs, pretraining)

    return dataset, runs, pretraining


def summary_table(class_names: list[str], runs: list[dict[str, Any]]) -> str:
    """Format one Markdown row per setting and method, mean ± std over seeds."""
    seconds_of = {
        (run["seed"], run["shots"], run["style"]): run["seconds"]
        for run in runs if run["method"] == "pixel_classifier"
    }
    header_classes = " | ".join(f"IoU {name}" for name in class_names)
    lines = [
        f"| k | labels | method | seeds | mean IoU | {header_classes} | seconds | time / method 1 |",
        "| --- | --- | --- | --- | --- | " + "--- | " * len(class_names) + "--- | --- |",
    ]
    settings = sorted({(run["shots"], run["style"]) for run in runs})
    for shots, style in settings:
        for method in (*METHODS, REFERENCE_METHOD):
            group = [r for r in runs
                     if r["shots"] == shots and r["style"] == style and r["method"] == method]
            if not group:
                continue
            per_class = np.array([r["iou"] for r in group], dtype=np.float64)
            class_cells = " | ".join(format_mean_std(per_class[:, c])
                                     for c in range(len(class_names)))
            seconds, _ = mean_std([r["seconds"] for r in group])
            ratios = [r["seconds"] / seconds_of[(r["seed"], r["shots"], r["style"])]
                      for r in group if (r["seed"], r["shots"], r["style"]) in seconds_of]
            ratio = f"{mean_std(ratios)[0]:.1f}" if ratios else "n/a"
            lines.append(
                f"| {shots} | {style} | {method} | {len(group)} | "
                f"{format_mean_std([r['mean_iou'] for r in group])} | {class_cells} | "
                f"{seconds:.0f} | {ratio} |"
            )
    return "\n".join(lines)


def target_summary(runs: list[dict[str, Any]], shots: int = 5) -> str:
    """Compare method 4 at ``shots`` labeled tiles with methods 1, 3 and 6, per label style."""

    def mean_of(method: str, style: str, at: int | None = shots) -> float:
        values = [r["mean_iou"] for r in runs
                  if r["method"] == method and (at is None or r["shots"] == at)
                  and (at is None or r["style"] == style)]
        return mean_std(values)[0]

    lines = []
    reference = mean_of(REFERENCE_METHOD, "full", None)
    for style in sorted({r["style"] for r in runs if r["shots"] == shots}):
        semi = mean_of("fpn_semi_pretrained", style)
        lines.append(
            f"k = {shots}, {style}: method 4 minus method 1: "
            f"{semi - mean_of('pixel_classifier', style):+.3f} (target +0.100); "
            f"minus method 3: {semi - mean_of('fpn_pretrained', style):+.3f} (target > 0); "
            f"share of method 6: {semi / reference:.0%} (target 85 %)"
        )
    return "\n".join(lines)


def print_tables(paths: list[Path]) -> None:
    """Print the merged table and target summary of result files of one dataset."""
    payloads = [json.loads(path.read_text()) for path in paths]
    runs, seen = [], set()
    for run in (run for payload in payloads for run in payload["runs"]):
        # Files can repeat a baseline run (same method, seed, k and style); count it once.
        identity = (run["method"], run["seed"], run["shots"], run["style"])
        if identity not in seen:
            seen.add(identity)
            runs.append(run)
    sys.stdout.write(summary_table(payloads[0]["class_names"], runs) + "\n\n")
    sys.stdout.write(target_summary(runs) + "\n")


def main() -> None:
    args = parse_args()
    if args.table:
        print_tables(args.table)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.quick:
        args.shots, args.seeds, args.steps, args.unet_steps = [1], 1, 20, 20
    suffix = "_quick" if args.quick else ""
    if args.tag:
        suffix += f"_{args.tag}"
    output_name = f"few_shot_quality_{args.dataset}{suffix}.json"

    def save(dataset: Dataset, runs: list[dict[str, Any]], pretraining: dict[str, Any]) -> Path:
        return write_json(output_name, {
            "machine": machine_note(),
            "args": vars(args),
            "class_names": dataset.class_names,
            "train_groups": list(SPLITS[args.dataset][0]),
            "test_groups": list(SPLITS[args.dataset][1]),
            "pretrained_backbone": pretraining["path"],
            "runs": runs,
            "table": summary_table(dataset.class_names, runs),
        })

    dataset, runs, pretraining = run_benchmark(args, save)
    table = summary_table(dataset.class_names, runs)
    path = save(dataset, runs, pretraining)
    sys.stdout.write(table + "\n")
    logger.info("Results written to %s", path)


if __name__ == "__main__":
    main()
