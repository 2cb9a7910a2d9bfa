"""Head training on cached frozen-backbone features, supervised or mean-teacher.

A plain PyTorch loop rather than a Lightning Trainer: the head is small, its
inputs are cached, and per-step overhead dominates at these sizes.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.models.adapters import AdaptedLateStages
from core.models.backbone import Backbone
from core.models.head import RAW_BRANCH_WIDTH, HeadKind, SegmentationHead
from core.training.collapse import labeled_shares
from core.training.data import (
    TileSample,
    collate,
    sample_tensors,
    split_validation,
    take_crop,
)
from core.training.losses import (
    class_weights,
    sigmoid_rampup,
    soft_dice_loss,
    sparse_cross_entropy,
)
from core.training.mean_teacher import consistency_loss, update_teacher
from core.training.selection import BestKeeper, HeadResult, monitor_batches

__all__ = ["HeadConfig", "HeadResult", "build_head", "train_head", "update_teacher"]

logger = logging.getLogger(__name__)


SUPERVISED_STEPS, SEMI_SUPERVISED_STEPS = 100, 300


@dataclass
class HeadConfig:
    """Settings of one head training run (stored with the run)."""

    head: HeadKind = "fpn"
    raw_branch: bool = True
    # Feed the raw-band branch fixed filter responses instead of a learned 3x3 convolution.
    raw_filters: bool = False
    semi_supervised: bool = True
    steps: int = 300
    # 16 crops of 64 px cover half the pixels of 8 crops of 128 px, so a step costs about half.
    # Context comes from the cached features, whose receptive field spans the tile.
    batch_size: int = 16
    crop_size: int = 64
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    validation_fraction: float = 0.2
    class_weighting: bool = True
    # Train residual adapters inside the backbone's stride-16 and stride-32 stages with the head.
    adapters: bool = False
    # Class weight = frequency ** -power: 0.5 softens inverse frequency, 1.0 is full inverse frequency.
    class_weight_power: float = 0.5
    # Weight of a soft Dice term added to the cross-entropy, for rare classes; 0 disables it.
    dice_weight: float = 0.0
    # Mean teacher: EMA decay, confidence threshold, ramped weight of the unsupervised loss.
    ema_decay: float = 0.99
    pseudo_label_threshold: float = 0.9
    unsupervised_weight: float = 1.0
    warmup_steps: int = 60
    feature_dropout: float = 0.3
    feature_noise: float = 0.1
    eval_every: int = 25
    seed: int = 0
    # Fit a random forest on cached features first, so predictions appear within seconds.
    preview: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def for_mode(cls, semi_supervised: bool, **overrides: Any) -> HeadConfig:
        """Build the default settings of a supervised or semi-supervised run, with ``overrides`` applied.

        The supervised head converges within about 100 steps; the mean teacher needs its
        warm-up and ramp first, so it gets 300.
        """
        steps = SEMI_SUPERVISED_STEPS if semi_supervised else SUPERVISED_STEPS
        return cls(**{"semi_supervised": semi_supervised, "steps": steps, **overrides})

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> HeadConfig:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# Called with (step, total_steps, metrics); returning True cancels training.
ProgressHook = Callable[[int, int, dict[str, float]], bool]


def build_head(
    samples: list[TileSample], num_classes: int, config: HeadConfig, backbone: Backbone | None = None
) -> SegmentationHead:
    """Create a head sized for the samples' feature channels and band count.

    Raises:
        ValueError: adapters are requested without the backbone they adapt.
    """
    channels = [f.shape[0] for f in samples[0].features]
    bands = samples[0].image.shape[0]
    late_stages = None
    if config.adapters:
        if backbone is None:
            raise ValueError("Adapters need the backbone: pass it to train_head, or train without adapters.")
        late_stages = AdaptedLateStages(backbone)
    return SegmentationHead(
        channels, bands, num_classes, kind=config.head,
        raw_width=RAW_BRANCH_WIDTH if config.raw_branch else 0, late_stages=late_stages,
        raw_filters=config.raw_filters,
    )


def supervised_loss(logits: Tensor, target: Tensor, weight: Tensor | None, dice_weight: float) -> Tensor:
    """Weighted sparse cross-entropy, plus a soft Dice term when ``dice_weight`` is positive."""
    loss = sparse_cross_entropy(logits, target, weight)
    if dice_weight > 0:
        loss = loss + dice_weight * soft_dice_loss(logits, target)
    return loss


def train_head(
    labeled: list[TileSample],
    unlabeled: list[TileSample],
    num_classes: int,
    config: HeadConfig,
    on_progress: ProgressHook | None = None,
    backbone: Backbone | None = None,
) -> HeadResult:
    """Train a head on labeled pixels (and, if enabled, mean-teacher pseudo-labels).

    Args:
        labeled: Samples with masks (255 = unlabeled pixel).
        unlabeled: Samples without masks, used only for the unsupervised loss.
        num_classes: Number of classes K.
        config: Training settings.
        on_progress: Called after every step; returning True stops training.
        backbone: The frozen backbone the features came from; needed only for adapters.

    Returns:
        The head with the lowest validation loss (training loss without validation pixels).

    Raises:
        ValueError: no labeled pixel in any sample.
    """
    if not labeled or all(s.mask is None or not (s.mask != 255).any() for s in labeled):
        raise ValueError("No labeled pixels: paint at least one class on one tile before training.")
    # OneCycleLR needs at least one warm-up and one annealing step.
    if config.steps < 3:
        raise ValueError(f"Invalid number of steps {config.steps}; train for at least 3 steps.")
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)

    train_samples, validation_samples = split_validation(labeled, config.validation_fraction, rng)
    # Converted once: float16 features to float32 tensors for every evaluation.
    validation_batches = [sample_tensors(sample) for sample in validation_samples]
    weight = (
        class_weights([s.mask for s in train_samples if s.mask is not None], num_classes, config.class_weight_power)
        if config.class_weighting
        else None
    )
    student = build_head(labeled, num_classes, config, backbone)
    teacher = copy.deepcopy(student).requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=config.learning_rate, weight_decay=config.weight_decay)
    # At least two warm-up steps: OneCycleLR divides by (pct_start * total_steps - 1).
    warmup_share = min(0.5, max(0.1, 2.5 / config.steps))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.steps, pct_start=warmup_share
    )
    pool = unlabeled + labeled
    # The mean teacher waits at most a fifth of the run, so short runs still use it.
    warmup = min(config.warmup_steps, config.steps // 5)
    use_teacher = config.semi_supervised and bool(pool)

    keeper = BestKeeper(
        HeadResult(head=copy.deepcopy(student), best_step=0),
        validation_batches,
        monitor_batches(unlabeled or labeled, rng) if use_teacher else [],
        labeled_shares([s.mask for s in train_samples if s.mask is not None], num_classes),
        num_classes,
        weight,
    )
    running: list[float] = []
    for step in range(1, config.steps + 1):
        student.train()
        picks = rng.integers(len(train_samples), size=config.batch_size)
        batch = collate([take_crop(train_samples[i], config.crop_size, rng, labeled_only=True) for i in picks])
        logits = student(batch.features, batch.image)
        assert batch.target is not None
        loss = supervised_loss(logits, batch.target, weight, config.dice_weight)
        metrics = {"train_loss": float(loss.detach())}

        ramp = sigmoid_rampup(step, warmup, warmup * 2)
        if use_teacher and ramp > 0:
            picks = rng.integers(len(pool), size=max(2, config.batch_size // 2))
            weak = collate([take_crop(pool[i], config.crop_size, rng, labeled_only=False) for i in picks])
            unsupervised, share = consistency_loss(
                student, teacher, weak, config.pseudo_label_threshold, config.feature_dropout, config.feature_noise, generator
            )
            loss = loss + config.unsupervised_weight * ramp * unsupervised
            metrics.update(unsupervised_loss=float(unsupervised.detach()), pseudo_label_share=share)

        if not torch.isfinite(loss):
            raise ValueError(
                f"Loss became {float(loss.detach())} at step {step}; lower the learning rate "
                f"({config.learning_rate}) or check the tiles for NaN or infinite values."
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if use_teacher:
            update_teacher(teacher, student, config.ema_decay)
        running.append(metrics["train_loss"])

        if step % config.eval_every == 0 or step == config.steps:
            metrics["train_loss"] = float(np.mean(running))
            running.clear()
            # The teacher is the smoother model, so it is the one evaluated and kept.
            keeper.consider(teacher if use_teacher else student, step, metrics)
        if on_progress is not None and on_progress(step, config.steps, metrics):
            keeper.result.stopped_early = True
            logger.info("Head training cancelled at step %d", step)
            break

    result = keeper.result
    if result.best_step == 0:
        # Every evaluated head collapsed: keep the last one rather than an untrained head.
        result.head = copy.deepcopy(teacher if use_teacher else student)
        result.best_step = step
        result.warnings.append("Every evaluated head collapsed; add labels of the missing classes and train again.")
    result.head.eval()
    result.seconds = time.perf_counter() - start
    return result
