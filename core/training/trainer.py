"""Head training on cached frozen-backbone features, supervised or mean-teacher.

A plain PyTorch loop rather than a Lightning Trainer: the head is small, its
inputs are cached, and per-step overhead dominates at these sizes.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.models.head import RAW_BRANCH_WIDTH, HeadKind, SegmentationHead
from core.training.data import (
    Crop,
    TileSample,
    collate,
    sample_tensors,
    split_validation,
    take_crop,
)
from core.training.losses import (
    class_weights,
    pseudo_label_loss,
    sigmoid_rampup,
    sparse_cross_entropy,
)
from core.training.metrics import confusion_matrix, scores_from_confusion

logger = logging.getLogger(__name__)


@dataclass
class HeadConfig:
    """Settings of one head training run (stored with the run)."""

    head: HeadKind = "fpn"
    raw_branch: bool = True
    semi_supervised: bool = True
    steps: int = 300
    batch_size: int = 8
    crop_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    validation_fraction: float = 0.2
    class_weighting: bool = True
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
    def from_dict(cls, values: dict[str, Any]) -> HeadConfig:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class HeadResult:
    """Outcome of head training: best weights by validation loss, and history."""

    head: SegmentationHead
    best_step: int
    history: list[dict[str, float]] = field(default_factory=list)
    validation: dict[str, Any] = field(default_factory=dict)
    stopped_early: bool = False
    seconds: float = 0.0


# Called with (step, total_steps, metrics); returning True cancels training.
ProgressHook = Callable[[int, int, dict[str, float]], bool]


def build_head(samples: list[TileSample], num_classes: int, config: HeadConfig) -> SegmentationHead:
    """Create a head sized for the samples' feature channels and band count."""
    channels = [f.shape[0] for f in samples[0].features]
    bands = samples[0].image.shape[0]
    return SegmentationHead(channels, bands, num_classes, kind=config.head, raw_width=RAW_BRANCH_WIDTH if config.raw_branch else 0)


def perturb(crop: Crop, config: HeadConfig, generator: torch.Generator) -> tuple[Crop, tuple[int, ...]]:
    """Strong view for the student: feature dropout and noise, plus a random flip.

    Returns:
        The perturbed crop and the flipped tensor dimensions, to undo the flip on logits.
    """
    dims: tuple[int, ...] = ()
    if torch.rand(1, generator=generator).item() < 0.5:
        dims = (-1,)
    features = []
    for level in crop.features:
        noisy = torch.nn.functional.dropout2d(level, p=config.feature_dropout, training=True)
        noisy = noisy + config.feature_noise * noisy.std() * torch.randn(noisy.shape, generator=generator)
        features.append(noisy.flip(dims) if dims else noisy)
    image = crop.image.flip(dims) if dims else crop.image
    return Crop(features, image, crop.valid, None), dims


def update_teacher(teacher: torch.nn.Module, student: torch.nn.Module, decay: float) -> None:
    """Set teacher weights to an exponential moving average of the student's."""
    with torch.no_grad():
        for teacher_weight, student_weight in zip(teacher.parameters(), student.parameters(), strict=True):
            teacher_weight.mul_(decay).add_(student_weight.detach(), alpha=1.0 - decay)
        for teacher_buffer, student_buffer in zip(teacher.buffers(), student.buffers(), strict=True):
            teacher_buffer.copy_(student_buffer)


@torch.no_grad()
def evaluate(head: SegmentationHead, batches: list[Crop], num_classes: int, weight: Tensor | None) -> dict[str, Any]:
    """Validation loss and scores over the held-out labeled pixels of whole-tile ``batches``."""
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


def train_head(
    labeled: list[TileSample],
    unlabeled: list[TileSample],
    num_classes: int,
    config: HeadConfig,
    on_progress: ProgressHook | None = None,
) -> HeadResult:
    """Train a head on labeled pixels (and, if enabled, mean-teacher pseudo-labels).

    Args:
        labeled: Samples with masks (255 = unlabeled pixel).
        unlabeled: Samples without masks, used only for the unsupervised loss.
        num_classes: Number of classes K.
        config: Training settings.
        on_progress: Called after every step; returning True stops training.

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
    weight = class_weights([s.mask for s in train_samples if s.mask is not None], num_classes) if config.class_weighting else None
    student = build_head(labeled, num_classes, config)
    teacher = copy.deepcopy(student).requires_grad_(False)
    optimizer = torch.optim.AdamW(student.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    # At least two warm-up steps: OneCycleLR divides by (pct_start * total_steps - 1).
    warmup_share = min(0.5, max(0.1, 2.5 / config.steps))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.steps, pct_start=warmup_share
    )
    pool = unlabeled + labeled
    use_teacher = config.semi_supervised and bool(pool)

    result = HeadResult(head=copy.deepcopy(student), best_step=0)
    best_loss = float("inf")
    running: list[float] = []
    for step in range(1, config.steps + 1):
        student.train()
        picks = rng.integers(len(train_samples), size=config.batch_size)
        batch = collate([take_crop(train_samples[i], config.crop_size, rng, labeled_only=True) for i in picks])
        logits = student(batch.features, batch.image)
        assert batch.target is not None
        loss = sparse_cross_entropy(logits, batch.target, weight)
        metrics = {"train_loss": float(loss.detach())}

        ramp = sigmoid_rampup(step, config.warmup_steps, config.warmup_steps * 2)
        if use_teacher and ramp > 0:
            picks = rng.integers(len(pool), size=max(2, config.batch_size // 2))
            weak = collate([take_crop(pool[i], config.crop_size, rng, labeled_only=False) for i in picks])
            teacher.eval()
            with torch.no_grad():
                teacher_logits = teacher(weak.features, weak.image)
            strong, dims = perturb(weak, config, generator)
            student_logits = student(strong.features, strong.image)
            if dims:
                student_logits = student_logits.flip(dims)
            unsupervised, share = pseudo_label_loss(student_logits, teacher_logits, weak.valid, config.pseudo_label_threshold)
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
        update_teacher(teacher, student, config.ema_decay)
        running.append(metrics["train_loss"])

        if step % config.eval_every == 0 or step == config.steps:
            # The teacher is the smoother model, so it is the one evaluated and kept.
            candidate = teacher if use_teacher else student
            metrics["train_loss"] = float(np.mean(running))
            running.clear()
            if validation_batches:
                scores = evaluate(candidate, validation_batches, num_classes, weight)
                metrics.update(val_loss=scores["loss"], val_mean_iou=scores["mean_iou"])
                score = scores["loss"]
            else:
                scores, score = {}, metrics["train_loss"]
            if score < best_loss:
                best_loss, result.best_step = score, step
                result.head = copy.deepcopy(candidate)
                result.validation = scores
            result.history.append({"step": step, **metrics})
        if on_progress is not None and on_progress(step, config.steps, metrics):
            result.stopped_early = True
            logger.info("Head training cancelled at step %d", step)
            break

    result.head.eval()
    result.seconds = time.perf_counter() - start
    return result
