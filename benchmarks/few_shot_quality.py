"""Few-shot segmentation quality on WeedMap: methods, label budgets and label styles.

Labeled tiles are drawn from field maps 000, 001, 002 and every method is scored on all
tiles of map 004 against their full masks. For each number k of labeled tiles and each
label style (``full`` masks, or ``scribble``: about 2 % of the labeled pixels along thin
random strokes), the methods are:

1. ``pixel_classifier``: random forest on filter features of the bands (ilastik-like).
3. ``fpn_pretrained``: supervised FPN head on the frozen FastSiam backbone.
4. ``fpn_semi_pretrained``: mean-teacher FPN head on the same backbone; every other tile of
   all four maps is an unlabeled tile, the test map included (transductive).
5. ``fpn_semi_random``: method 4 on a frozen randomly initialised ResNet18.
6. ``fpn_all_labels``: supervised FPN head on the full masks of all training-map tiles,
   run once per seed as the upper reference.

Method 2 (end-to-end training from scratch) and adapters are not run. The FastSiam
backbone is the one ``probe_pretraining.py`` saved under ``/tmp/multissl_benchmarks``
(pretrained here with the same settings if missing). Times are seconds to train and to
predict the test tiles, measured in turn in one process, and are reported as ratios to
method 1 of the same setting and seed.

Run: ``.venv/bin/python benchmarks/few_shot_quality.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
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
    load_weedmap,
    machine_note,
    mean_std,
    pretrain_config,
    pretrained_backbone,
    random_backbone,
    score_predictions,
    scribble_mask,
    with_mask,
    write_json,
)
from core.inference.predict import predict_sample
from core.training.data import TileSample
from core.training.pixel_classifier import PixelClassifier, filter_features
from core.training.trainer import HeadConfig, train_head

logger = logging.getLogger("benchmarks.few_shot_quality")

TRAIN_MAPS = ("000", "001", "002")
TEST_MAPS = ("004",)
SCRIBBLE_FRACTION = 0.02
METHODS = ("pixel_classifier", "fpn_pretrained", "fpn_semi_pretrained", "fpn_semi_random")
REFERENCE_METHOD = "fpn_all_labels"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[1, 5],
                        help="numbers k of labeled tiles")
    parser.add_argument("--styles", nargs="+", default=["full", "scribble"],
                        choices=["full", "scribble"], help="label styles")
    parser.add_argument("--seeds", type=int, default=3, help="labeled-tile draws per setting")
    # NOTE: 100 steps fit the CPU budget of the recorded runs; HeadConfig uses 300 by default.
    parser.add_argument("--steps", type=int, default=100, help="head training steps")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 tiles per map, k = 1, 1 seed, 20 steps")
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


def run_head(
    dataset: Dataset,
    samples: dict[int, TileSample],
    labeled: dict[int, np.ndarray],
    test: list[int],
    config: HeadConfig,
) -> dict[str, Any]:
    """Train an FPN head with ``labeled`` masks (all other tiles unlabeled) and score it."""
    labeled_samples = [with_mask(samples[i], mask) for i, mask in labeled.items()]
    unlabeled_samples = []
    if config.semi_supervised:
        unlabeled_samples = [with_mask(s, None) for i, s in samples.items() if i not in labeled]
    result = train_head(labeled_samples, unlabeled_samples, dataset.num_classes, config)
    return score_predictions(lambda index: predict_sample(result.head, samples[index])[0],
                             dataset, test)


def head_config(semi_supervised: bool, steps: int, seed: int) -> HeadConfig:
    return HeadConfig(head="fpn", semi_supervised=semi_supervised, steps=steps, seed=seed,
                      preview=False)


def record(runs: list[dict[str, Any]], scores: dict[str, Any], seconds: float,
           **keys: Any) -> None:
    runs.append({**keys, "mean_iou": scores["mean_iou"], "iou": scores["iou"],
                 "seconds": seconds})
    logger.info("%s: mean IoU %.3f, IoU %s, %.1f s", keys, scores["mean_iou"],
                np.round(scores["iou"], 3).tolist(), seconds)


def run_benchmark(
    args: argparse.Namespace,
    on_setting_done: Callable[[Dataset, list[dict[str, Any]], dict[str, Any]], None],
) -> tuple[Dataset, list[dict[str, Any]], dict[str, Any]]:
    """Run every method for every seed, k and label style.

    ``on_setting_done`` receives the runs so far after each (seed, k, style), so a run
    stopped at a time limit still leaves its finished settings on disk.
    """
    dataset = load_weedmap(limit_per_map=3 if args.quick else None)
    train = dataset.indices_of(TRAIN_MAPS)
    test = dataset.indices_of(TEST_MAPS)
    tag = "fastsiam_quick" if args.quick else "fastsiam"
    pretrained, pretraining = pretrained_backbone(
        dataset, pretrain_config("weedmap", args.quick), tag
    )
    samples = {
        "pretrained": build_samples(dataset, pretrained),
        "random": build_samples(dataset, random_backbone(len(dataset.band_names), seed=0)),
    }

    runs: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        all_labels = {i: dataset.masks[i] for i in train}
        config = head_config(False, args.steps, seed)
        scores, seconds = timed(
            partial(run_head, dataset, samples["pretrained"], all_labels, test, config)
        )
        record(runs, scores, seconds, method=REFERENCE_METHOD, seed=seed, shots=len(train),
               style="full", labeled_pixels=int(sum((dataset.masks[i] != 255).sum() for i in train)))

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
                scores, seconds = timed(partial(run_pixel_classifier, dataset, labeled, test, seed))
                record(runs, scores, seconds, method="pixel_classifier", **keys)
                for method, backbone, semi in (
                    ("fpn_pretrained", "pretrained", False),
                    ("fpn_semi_pretrained", "pretrained", True),
                    ("fpn_semi_random", "random", True),
                ):
                    config = head_config(semi, args.steps, seed)
                    scores, seconds = timed(
                        partial(run_head, dataset, samples[backbone], labeled, test, config)
                    )
                    record(runs, scores, seconds, method=method, **keys)
                on_setting_done(dataset, runs, pretraining)

    return dataset, runs, pretraining


def summary_table(dataset: Dataset, runs: list[dict[str, Any]]) -> str:
    """Format one Markdown row per setting and method, mean ± std over seeds."""
    seconds_of = {
        (run["seed"], run["shots"], run["style"]): run["seconds"]
        for run in runs if run["method"] == "pixel_classifier"
    }
    header_classes = " | ".join(f"IoU {name}" for name in dataset.class_names)
    lines = [
        f"| k | labels | method | seeds | mean IoU | {header_classes} | seconds | time / method 1 |",
        "| --- | --- | --- | --- | --- | " + "--- | " * len(dataset.class_names) + "--- | --- |",
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
                                     for c in range(dataset.num_classes))
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


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.quick:
        args.shots, args.seeds, args.steps = [1], 1, 20
    output_name = "few_shot_quality_quick.json" if args.quick else "few_shot_quality.json"

    def save(dataset: Dataset, runs: list[dict[str, Any]], pretraining: dict[str, Any]) -> Path:
        return write_json(output_name, {
            "machine": machine_note(),
            "args": vars(args),
            "class_names": dataset.class_names,
            "train_maps": list(TRAIN_MAPS),
            "test_maps": list(TEST_MAPS),
            "pretrained_backbone": pretraining["path"],
            "runs": runs,
            "table": summary_table(dataset, runs),
        })

    dataset, runs, pretraining = run_benchmark(args, save)
    table = summary_table(dataset, runs)
    path = save(dataset, runs, pretraining)
    sys.stdout.write(table + "\n")
    logger.info("Results written to %s", path)


if __name__ == "__main__":
    main()
