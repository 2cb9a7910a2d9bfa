"""Segmentation metrics from a confusion matrix: per-class IoU, F1, recall."""

from __future__ import annotations

import numpy as np

from core.labels.files import UNLABELED


def confusion_matrix(target: np.ndarray, prediction: np.ndarray, num_classes: int) -> np.ndarray:
    """Count (target, prediction) pairs over labeled pixels.

    Args:
        target: Class indices, any shape; 255 (unlabeled) pixels are skipped.
        prediction: Predicted class indices of the same shape.
        num_classes: Number of classes K.

    Returns:
        (K, K) int64 matrix, rows are targets and columns predictions.
    """
    keep = (target != UNLABELED) & (target < num_classes) & (prediction < num_classes)
    pairs = target[keep].astype(np.int64) * num_classes + prediction[keep].astype(np.int64)
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores_from_confusion(matrix: np.ndarray) -> dict[str, object]:
    """Compute per-class IoU, F1 and recall plus their means over present classes.

    A class without target pixels gets NaN IoU, F1 and recall and is left out of
    the means: with sparse validation labels a class may have no held-out pixel,
    and scoring it 0 would understate the run.
    """
    matrix = matrix.astype(np.float64)
    true_positive = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    union = support + predicted - true_positive
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(support > 0, true_positive / union, np.nan)
        recall = np.where(support > 0, true_positive / support, np.nan)
        f1 = np.where(support > 0, 2 * true_positive / (support + predicted), np.nan)
    total = matrix.sum()
    return {
        "iou": iou.tolist(),
        "f1": f1.tolist(),
        "recall": recall.tolist(),
        "mean_iou": float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"),
        "mean_f1": float(np.nanmean(f1)) if np.isfinite(f1).any() else float("nan"),
        "pixel_accuracy": float(true_positive.sum() / total) if total else float("nan"),
        "support": support.astype(np.int64).tolist(),
    }


def single_class_warning(class_counts: np.ndarray, threshold: float = 0.995) -> str | None:
    """Return a warning when predictions are (almost) one class everywhere."""
    total = class_counts.sum()
    if total == 0:
        return None
    share = class_counts.max() / total
    if share >= threshold and (class_counts > 0).sum() <= len(class_counts):
        dominant = int(class_counts.argmax())
        return (
            f"The run predicts class {dominant} on {share:.1%} of pixels: it may have collapsed to one "
            "class. Label more pixels of the other classes or enable class weighting."
        )
    return None
