"""Lightning callback that reports pretraining progress and stops a run on request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch

logger = logging.getLogger(__name__)


class PretrainProgress(pl.Callback):
    """Report each step to ``on_progress``, record per-epoch history, poll ``should_stop``.

    ``on_progress`` and ``should_stop`` run on the main process (global rank 0) only. The
    stop decision is broadcast to every process, so all DDP processes stop after the same
    step.

    Args:
        on_progress: Receives ``{"epoch", "step", "loss", "embedding_std", "progress"}``
            after every step. ``progress`` is finished steps over planned steps, in [0, 1].
        should_stop: Returns True to end the run after the current step.
    """

    def __init__(
        self,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__()
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.history: list[dict[str, Any]] = []
        self.epochs_completed = 0
        self.stopped_early = False
        self._batches_this_epoch = 0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._batches_this_epoch = 0

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._batches_this_epoch += 1
        if trainer.is_global_zero and self.on_progress is not None:
            total_steps = max(1, int(trainer.estimated_stepping_batches))
            self.on_progress(
                {
                    "epoch": trainer.current_epoch,
                    "step": trainer.global_step,
                    "loss": _as_float(outputs["loss"]),
                    "embedding_std": _as_float(outputs["embedding_std"]),
                    "progress": min(1.0, trainer.global_step / total_steps),
                }
            )

        if self.should_stop is None:
            return
        requested = bool(self.should_stop()) if trainer.is_global_zero else False
        if trainer.strategy.broadcast(requested, src=0):
            if not self.stopped_early:
                logger.info("Stop requested; ending pretraining after step %d", trainer.global_step)
            self.stopped_early = True
            trainer.should_stop = True

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        metrics = trainer.callback_metrics
        # An epoch ended by a stop request before its last batch is recorded but not counted.
        completed = self._batches_this_epoch >= trainer.num_training_batches
        entry = {
            "epoch": trainer.current_epoch,
            "loss": _as_float(metrics.get("train_loss_epoch", float("nan"))),
            "embedding_std": _as_float(metrics.get("embedding_std_epoch", float("nan"))),
            "steps": self._batches_this_epoch,
            "completed": completed,
        }
        self.history.append(entry)
        if completed:
            self.epochs_completed += 1
        if not trainer.is_global_zero:
            return
        logger.info(
            "Pretraining epoch %d: loss %.4f, embedding std %.4f",
            entry["epoch"], entry["loss"], entry["embedding_std"],
        )


def _as_float(value: Any) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().item())
    return float(value)
