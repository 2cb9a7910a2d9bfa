"""Per-tile prediction with a trained head: class map and confidence."""

from __future__ import annotations

import numpy as np
import torch

from core.labels.files import UNLABELED
from core.models.head import SegmentationHead
from core.training.data import TileSample, sample_tensors


@torch.no_grad()
def predict_sample(head: SegmentationHead, sample: TileSample) -> tuple[np.ndarray, np.ndarray]:
    """Predict one tile.

    Returns:
        Class map (H, W) uint8 with 255 on invalid pixels, and confidence
        (H, W) float32 in [0, 1] (the top softmax probability, 0 on invalid pixels).
    """
    head.eval()
    batch = sample_tensors(sample)
    probabilities = head(batch.features, batch.image).softmax(dim=1)[0]
    confidence, classes = probabilities.max(dim=0)
    height, width = sample.height, sample.width
    valid = sample.valid[:height, :width]
    class_map = classes.numpy()[:height, :width].astype(np.uint8)
    class_map[~valid] = UNLABELED
    confidence_map = confidence.numpy()[:height, :width].astype(np.float32)
    confidence_map[~valid] = 0.0
    return class_map, confidence_map


@torch.no_grad()
def predict_sample_with_entropy(head: SegmentationHead, sample: TileSample) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predict one tile and also return its normalised entropy.

    Returns:
        Class map (H, W) uint8 (255 on invalid pixels), confidence (H, W)
        float32 and normalised entropy (H, W) float32 in [0, 1] (0 on invalid pixels).
    """
    head.eval()
    batch = sample_tensors(sample)
    probabilities = head(batch.features, batch.image).softmax(dim=1)[0].numpy()
    height, width = sample.height, sample.width
    probabilities = probabilities[:, :height, :width]
    valid = sample.valid[:height, :width]
    class_map = probabilities.argmax(axis=0).astype(np.uint8)
    confidence = probabilities.max(axis=0).astype(np.float32)
    entropy = entropy_map(probabilities)
    class_map[~valid] = UNLABELED
    confidence[~valid] = 0.0
    entropy[~valid] = 0.0
    return class_map, confidence, entropy


def entropy_map(probabilities: np.ndarray) -> np.ndarray:
    """Normalised entropy in [0, 1] of (K, H, W) class probabilities."""
    clipped = np.clip(probabilities, 1e-8, 1.0)
    entropy = -(clipped * np.log(clipped)).sum(axis=0)
    return (entropy / np.log(probabilities.shape[0])).astype(np.float32)
