"""Run a tiny DDP pretraining on 2 CPU processes, launched as a script by the DDP test.

Lightning's "ddp" strategy starts the second process by running this script again, so it
must be a file and not an inline command. The main process requests a stop after the third
step, to check that every process stops at the same step.
"""

import logging
import sys
from pathlib import Path

import numpy as np
import torch

from core.pretrain.train import PretrainConfig, pretrain_backbone


def main(output_path: Path) -> None:
    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    bands = ["blue", "green", "red", "nir"]
    tiles = [rng.standard_normal((4, 40, 40)).astype(np.float32) for _ in range(8)]
    steps: list[dict] = []
    config = PretrainConfig(
        epochs=2,
        batch_size=2,
        views=2,
        crop_size=32,
        max_steps_per_epoch=2,
        precision="32-true",
        devices=2,
        strategy="ddp",
        accelerator="cpu",
    )
    result = pretrain_backbone(
        tiles,
        bands,
        {band: (0.0, 1.0) for band in bands},
        config,
        output_path,
        on_progress=steps.append,
        should_stop=lambda: len(steps) >= 3,
    )
    logging.info("rank result: %s", result)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
