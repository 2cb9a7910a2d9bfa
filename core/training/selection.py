"""Choosing the head to keep: validation scores, and the collapse guard of semi-supervised runs."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.models.head import SegmentationHead
from core.training.collapse import collapse_warning, predicted_shares
from core.training.data import Crop, TileSample, sample_tensors
from core.training.losses import sparse_cross_entropy
from core.training.metrics import confusion_matrix, scores_from_confusion

logger = logging.getLogger(__name__)


@dataclass
class HeadResult:
    """Outcome of head training: best weights by validation loss, and history."""

    head: SegmentationHead
    best_step: int
    history: list[dict[str, float]] = field(default_factory=list)
    validation: dict[str, Any] = field(default_factory=dict)
    # Scores of the last evaluated head, next to those of the kept one.
    last_step: int = 0
    last_validation: dict[str, Any] = field(default_factory=dict)
    stopped_early: bool = False
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


@torch.no_grad()
def evaluate(head: SegmentationHead, batches: list[Crop], num_classes: int, weight: Tensor | None) -> dict[str, Any]:
    """Compute the validation loss and scores over the held-out labeled pixels of whole-tile ``batches``."""
    head.eval()
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    loss_sum, pixel_count = 0.0, 0
    for batch in batches:
        if batch.target is None:
            continue
        logits = head(batch.features, batch.image)
        labeled = int((batch.target != 255).sum())
        loss_sum += float(sparse_cross_entropy(logits, batch.target, weight)) * labeled
        pixel_count += labeled
        matrix += confusion_matrix(batch.target.numpy(), logits.argmax(1).numpy().astype(np.uint8), num_classes)
    scores = scores_from_confusion(matrix)
    scores["loss"] = loss_sum / max(pixel_count, 1)
    scores["confusion"] = matrix.tolist()
    return scores


def monitor_batches(samples: list[TileSample], rng: np.random.Generator, count: int = 4) -> list[Crop]:
    """Pick up to ``count`` whole tiles on which the collapse guard watches the predicted class shares."""
    picks = rng.choice(len(samples), size=min(count, len(samples)), replace=False)
    return [sample_tensors(samples[int(i)]) for i in picks]


class BestKeeper:
    """Keeper of the best head: evaluates candidates, keeps the lowest validation loss, guards against collapse.

    Without validation pixels the running training loss decides. A candidate whose
    predictions on the monitor tiles have collapsed (see ``collapse_warning``) is never kept,
    and the first collapse is reported in ``result.warnings``.
    """

    def __init__(
        self,
        result: HeadResult,
        validation: list[Crop],
        monitor: list[Crop],
        label_shares: np.ndarray,
        num_classes: int,
        weight: Tensor | None,
    ) -> None:
        self.result = result
        self.validation, self.monitor = validation, monitor
        self.label_shares, self.num_classes, self.weight = label_shares, num_classes, weight
        self.best_loss = float("inf")

    def consider(self, candidate: SegmentationHead, step: int, metrics: dict[str, float]) -> None:
        scores: dict[str, Any] = {}
        score = metrics["train_loss"]
        if self.validation:
            scores = evaluate(candidate, self.validation, self.num_classes, self.weight)
            metrics.update(val_loss=scores["loss"], val_mean_iou=scores["mean_iou"])
            score = scores["loss"]
        self.result.last_step, self.result.last_validation = step, scores
        warning = None
        if self.monitor:
            warning = collapse_warning(predicted_shares(candidate, self.monitor, self.num_classes), self.label_shares)
        if warning is not None:
            metrics["collapsed"] = 1.0
            if not self.result.warnings:
                message = f"Step {step}: {warning} Heads from collapsed steps are not kept."
                logger.warning(message)
                self.result.warnings.append(message)
        elif score < self.best_loss:
            self.best_loss, self.result.best_step = score, step
            self.result.head = copy.deepcopy(candidate)
            self.result.validation = scores
        self.result.history.append({"step": step, **metrics})
