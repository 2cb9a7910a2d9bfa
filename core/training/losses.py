"""Losses for sparse labels and mean-teacher pseudo-labels."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from core.labels.files import UNLABELED


def class_weights(masks: list[np.ndarray], num_classes: int, power: float = 0.5) -> Tensor:
    """Weights proportional to frequency ** -power, normalised to mean 1 over present classes.

    The square root (power 0.5) softens inverse-frequency weighting, which
    otherwise over-amplifies classes with a handful of labeled pixels.
    """
    counts = np.zeros(num_classes, dtype=np.float64)
    for mask in masks:
        values = mask[mask != UNLABELED]
        counts += np.bincount(values[values < num_classes], minlength=num_classes)[:num_classes]
    weights = np.zeros(num_classes)
    present = counts > 0
    weights[present] = counts[present] ** -power
    if present.any():
        weights[present] /= weights[present].mean()
    return torch.tensor(weights, dtype=torch.float32)


def sparse_cross_entropy(logits: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Cross-entropy over labeled pixels only, normalised by their count.

    Args:
        logits: (B, K, H, W) class logits.
        target: (B, H, W) int64 class indices; 255 is ignored.
        weight: Optional (K,) class weights.

    Returns:
        Scalar loss; exactly 0 (with a gradient path) when no pixel is labeled.
    """
    labeled = target != UNLABELED
    count = labeled.sum()
    if count == 0:
        return logits.sum() * 0.0
    per_pixel = F.cross_entropy(logits, target, weight=weight, ignore_index=UNLABELED, reduction="none")
    return per_pixel.sum() / count


def soft_dice_loss(logits: Tensor, target: Tensor) -> Tensor:
    """Compute one minus the soft Dice score over labeled pixels, averaged over the labeled classes.

    Dice weighs each class equally whatever its pixel count, which helps rare classes
    such as weeds that cross-entropy drowns in background.

    Args:
        logits: (B, K, H, W) class logits.
        target: (B, H, W) int64 class indices; 255 is ignored.

    Returns:
        Scalar loss in [0, 1]; 0 (with a gradient path) when no pixel is labeled.
    """
    labeled = target != UNLABELED
    if not labeled.any():
        return logits.sum() * 0.0
    num_classes = logits.shape[1]
    probabilities = logits.softmax(dim=1).permute(0, 2, 3, 1)[labeled]
    one_hot = F.one_hot(target[labeled], num_classes).to(probabilities.dtype)
    present = one_hot.sum(dim=0) > 0
    intersection = (probabilities * one_hot).sum(dim=0)
    total = probabilities.sum(dim=0) + one_hot.sum(dim=0)
    dice = (2 * intersection + 1.0) / (total + 1.0)
    return 1.0 - dice[present].mean()


def pseudo_label_loss(student_logits: Tensor, teacher_logits: Tensor, valid: Tensor, threshold: float) -> tuple[Tensor, float]:
    """Cross-entropy of the student against confident teacher pseudo-labels.

    Args:
        student_logits: (B, K, H, W) logits of the student on a strong view.
        teacher_logits: (B, K, H, W) logits of the teacher on the weak view.
        valid: (B, H, W) bool; invalid pixels never become pseudo-labels.
        threshold: Minimum teacher probability for a pixel to be used.

    Returns:
        The loss and the share of valid pixels above the threshold.
    """
    probabilities = teacher_logits.detach().softmax(dim=1)
    confidence, pseudo = probabilities.max(dim=1)
    keep = (confidence >= threshold) & valid
    target = torch.where(keep, pseudo, torch.full_like(pseudo, UNLABELED))
    share = float(keep.sum()) / max(int(valid.sum()), 1)
    return sparse_cross_entropy(student_logits, target), share


def sigmoid_rampup(step: int, start: int, length: int) -> float:
    """Ramp from 0 to 1 over ``length`` steps after ``start`` (Laine and Aila, 2017)."""
    if step < start:
        return 0.0
    if length <= 0:
        return 1.0
    phase = 1.0 - min(step - start, length) / length
    return float(np.exp(-5.0 * phase * phase))
