"""Collapse guard for semi-supervised training: predictions drifting toward one class.

A mean teacher can reinforce its own mistakes until one class swallows the others. The
guard compares each class's share of the predictions on a few unlabeled tiles with its
share of the labels. It flags a labeled class that the model no longer predicts, and
one class taking nearly every pixel.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from core.labels.files import UNLABELED
from core.training.data import Crop

# A class with at least this share of the labels must keep at least VANISHED_SHARE of the predictions.
COVERED_SHARE, VANISHED_SHARE = 0.05, 0.01
# One class above this share of the predictions is a collapse unless the labels are as lopsided.
DOMINANT_SHARE = 0.99


def labeled_shares(masks: list[np.ndarray], num_classes: int) -> np.ndarray:
    """Return the share of each class among the labeled pixels of ``masks``."""
    counts = np.zeros(num_classes, dtype=np.float64)
    for mask in masks:
        values = mask[mask != UNLABELED]
        counts += np.bincount(values[values < num_classes], minlength=num_classes)[:num_classes]
    return counts / max(counts.sum(), 1.0)


@torch.no_grad()
def predicted_shares(head: nn.Module, batches: list[Crop], num_classes: int) -> np.ndarray:
    """Return the share of each class among the predicted valid pixels of whole-tile ``batches``."""
    head.eval()
    counts = np.zeros(num_classes, dtype=np.float64)
    for batch in batches:
        predicted = head(batch.features, batch.image).argmax(1)[batch.valid].numpy()
        counts += np.bincount(predicted, minlength=num_classes)[:num_classes]
    return counts / max(counts.sum(), 1.0)


def collapse_warning(predicted: np.ndarray, labeled: np.ndarray) -> str | None:
    """Describe a collapse of ``predicted`` class shares against the ``labeled`` ones, or None."""
    vanished = [int(c) for c in np.flatnonzero((labeled >= COVERED_SHARE) & (predicted < VANISHED_SHARE))]
    if vanished:
        shares = ", ".join(f"class {c}: {labeled[c]:.0%} of labels, {predicted[c]:.1%} predicted" for c in vanished)
        return f"Predictions collapsed away from labeled classes ({shares})."
    top = int(np.argmax(predicted))
    if predicted[top] > DOMINANT_SHARE and labeled[top] < DOMINANT_SHARE - 0.1:
        return f"Predictions collapsed onto class {top} ({predicted[top]:.1%} of pixels, {labeled[top]:.0%} of labels)."
    return None
