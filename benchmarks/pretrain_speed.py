"""Measure FastSiam pretraining throughput: full pipeline vs a bare loop, fp32 vs bf16.

The bare loop runs the same FastSiam module, loss and batch on pre-made views with a plain
SGD step. The pipeline is ``pretrain_backbone``: random crops, N-band augmentations, the
data loader and the Lightning Trainer. Throughput is tiles per second, each tile giving
``--views`` views, computed from the median step time so that short bursts of load from
other processes do not dominate. The first step of every measurement is a warm-up and is
not timed.

Run: ``.venv/bin/python benchmarks/pretrain_speed.py --steps 6``
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from core.pretrain.module import FastSiam
from core.pretrain.train import PretrainConfig, pretrain_backbone

logger = logging.getLogger("benchmarks.pretrain_speed")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18", choices=["resnet18", "resnet50", "swin_t"])
    parser.add_argument("--bands", type=int, default=5, help="band count of the synthetic tiles")
    parser.add_argument("--crop-size", type=int, default=128, help="view side in pixels")
    parser.add_argument("--batch-size", type=int, default=8, help="tiles per step")
    parser.add_argument("--views", type=int, default=4, help="views per tile")
    parser.add_argument("--steps", type=int, default=8, help="steps per measurement, 1 warm-up")
    parser.add_argument("--repeats", type=int, default=2,
                        help="rounds over all settings; each rate is the best round")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return parser.parse_args()


def bare_loop_rate(args: argparse.Namespace, bf16: bool, channels_last: bool) -> float:
    """Return tiles/s of forward, loss, backward and SGD step on fixed random views."""
    torch.manual_seed(0)
    module = FastSiam(args.arch, args.bands, views=args.views, channels_last=channels_last)
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    module.train()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.05, momentum=0.9)
    views = torch.randn(args.views * args.batch_size, args.bands, args.crop_size, args.crop_size)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()

    step_times: list[float] = []
    for _ in range(args.steps):
        start = time.perf_counter()
        with autocast:
            z, p = module(views)
        shape = (args.views, args.batch_size, -1)
        loss = module.fastsiam_loss(z.float().view(shape), p.float().view(shape))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step_times.append(time.perf_counter() - start)
    return args.batch_size / float(np.median(step_times[1:]))


def pipeline_rate(args: argparse.Namespace, bf16: bool, channels_last: bool) -> float:
    """Return tiles/s of ``pretrain_backbone``, timed between its progress callbacks."""
    rng = np.random.default_rng(0)
    size = args.crop_size + 32
    tiles = [
        rng.standard_normal((args.bands, size, size)).astype(np.float32)
        for _ in range(args.batch_size * args.steps)
    ]
    band_names = [f"band_{index}" for index in range(args.bands)]
    config = PretrainConfig(
        arch=args.arch,
        epochs=1,
        batch_size=args.batch_size,
        views=args.views,
        crop_size=args.crop_size,
        precision="bf16-mixed" if bf16 else "32-true",
        channels_last=channels_last,
        accelerator="cpu",
        devices=1,
        max_steps_per_epoch=args.steps,
    )
    times: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        pretrain_backbone(
            tiles,
            band_names,
            {band: (0.0, 1.0) for band in band_names},
            config,
            Path(folder) / "backbone.pt",
            on_progress=lambda _: times.append(time.perf_counter()),
        )
    # Step k's time is the gap between callbacks k-1 and k, which includes loading and
    # augmenting its batch. The first gap starts after step 1, the warm-up.
    return args.batch_size / float(np.median(np.diff(times)))


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)

    # "fp32" is contiguous fp32 and "bf16" is bf16 autocast with channels-last, the two
    # settings pretrain_backbone chooses between. "fp32+cl" separates the layout's share.
    # Rounds run every setting in turn, so a burst of load from other processes slows
    # one round of each setting at most, and the best round is kept.
    measurements = {
        ("bare", "fp32"): lambda: bare_loop_rate(args, bf16=False, channels_last=False),
        ("bare", "fp32+cl"): lambda: bare_loop_rate(args, bf16=False, channels_last=True),
        ("bare", "bf16"): lambda: bare_loop_rate(args, bf16=True, channels_last=True),
        ("pipeline", "fp32"): lambda: pipeline_rate(args, bf16=False, channels_last=False),
        ("pipeline", "bf16"): lambda: pipeline_rate(args, bf16=True, channels_last=True),
    }
    rates = dict.fromkeys(measurements, 0.0)
    for _ in range(args.repeats):
        for key, measure in measurements.items():
            rates[key] = max(rates[key], measure())

    settings = (
        f"{args.arch}, {args.bands} bands, {args.crop_size} px, batch {args.batch_size} x "
        f"{args.views} views, median of {args.steps - 1} steps, best of {args.repeats} rounds, "
        f"{torch.get_num_threads()} threads"
    )
    lines = [f"FastSiam pretraining throughput ({settings})"]
    for (kind, precision), rate in rates.items():
        lines.append(f"  {kind:8s} {precision}: {rate:7.2f} tiles/s")
    for precision in ("fp32", "bf16"):
        ratio = rates[("pipeline", precision)] / rates[("bare", precision)]
        lines.append(f"  pipeline / bare ({precision}): {ratio:.2f}")
    for kind in ("bare", "pipeline"):
        ratio = rates[(kind, "bf16")] / rates[(kind, "fp32")]
        lines.append(f"  bf16+channels_last / fp32 ({kind}): {ratio:.2f}")
    # Results go to stdout because this is a command-line report, not a log.
    print("\n".join(lines))  # noqa: T201


if __name__ == "__main__":
    main()
