"""Random-forest pixel classifier on band values, indices, filter responses and optional backbone features.

Without backbone features it is the classic interactive-labeling baseline
(band values plus Gaussian, gradient and normalised-difference features, as in
ilastik-style tools). With cached backbone features it is the instant preview
model shown while the head trains.
"""

from __future__ import annotations

import itertools
import logging

import cv2
import numpy as np
from sklearn.ensemble import RandomForestClassifier

from core.labels.files import UNLABELED
from core.models.filter_bank import DIFFERENCE_SHIFT, FILTER_SIGMAS

logger = logging.getLogger(__name__)

SIGMAS = FILTER_SIGMAS
# Labeled pixels drawn per fit: enough for a forest of this size, and a fit stays near a second.
MAX_TRAINING_PIXELS = 30_000


def filter_features(image: np.ndarray) -> np.ndarray:
    """Per-pixel features of standardised bands.

    Args:
        image: (C, H, W) float32 standardised bands.

    Returns:
        (F, H, W) float32: the bands, Gaussian smoothings and gradient magnitudes
        at ``SIGMAS``, and normalised differences of every band pair.
    """
    bands = [image[i].astype(np.float32) for i in range(image.shape[0])]
    features = list(bands)
    for band in bands:
        for sigma in SIGMAS:
            smooth = cv2.GaussianBlur(band, (0, 0), sigma)
            features.append(smooth)
            gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0)
            gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
            features.append(np.sqrt(gx * gx + gy * gy))
    # Standardised bands can be negative, so shift them positive before a normalised difference.
    for a, b in itertools.combinations(range(len(bands)), 2):
        shifted_a, shifted_b = bands[a] + DIFFERENCE_SHIFT, bands[b] + DIFFERENCE_SHIFT
        features.append((shifted_a - shifted_b) / np.maximum(shifted_a + shifted_b, 1e-3))
    return np.stack(features).astype(np.float32)


def backbone_pixel_features(levels: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """Upsample the two finest feature levels to (C1 + C2, height, width) float32."""
    upsampled = []
    for level in levels[:2]:
        for channel in level.astype(np.float32):
            upsampled.append(cv2.resize(channel, (width, height), interpolation=cv2.INTER_LINEAR))
    return np.stack(upsampled)


class PixelClassifier:
    """A random forest over per-pixel features, trained on labeled pixels only."""

    def __init__(self, num_classes: int, trees: int = 40, max_depth: int = 14, seed: int = 0) -> None:
        self.num_classes = num_classes
        self.forest = RandomForestClassifier(
            n_estimators=trees, max_depth=max_depth, n_jobs=-1, random_state=seed, class_weight="balanced_subsample"
        )
        self.seed = seed

    def fit(self, features: list[np.ndarray], masks: list[np.ndarray]) -> PixelClassifier:
        """Fit on the labeled pixels of (F, H, W) features and (H, W) masks (255 = unlabeled).

        Raises:
            ValueError: no labeled pixel in any mask.
        """
        rng = np.random.default_rng(self.seed)
        rows, targets = [], []
        for feature, mask in zip(features, masks, strict=True):
            labeled = mask != UNLABELED
            rows.append(feature[:, labeled].T)
            targets.append(mask[labeled])
        x, y = np.concatenate(rows), np.concatenate(targets)
        if len(y) == 0:
            raise ValueError("No labeled pixels: paint at least one class before training.")
        if len(y) > MAX_TRAINING_PIXELS:
            keep = rng.choice(len(y), MAX_TRAINING_PIXELS, replace=False)
            x, y = x[keep], y[keep]
        self.forest.fit(x, y)
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Return (K, H, W) class probabilities for (F, H, W) features."""
        _, height, width = features.shape
        known = self.forest.predict_proba(features.reshape(features.shape[0], -1).T)
        probabilities = np.zeros((self.num_classes, height * width), np.float32)
        probabilities[self.forest.classes_.astype(int)] = known.T
        return probabilities.reshape(self.num_classes, height, width)

    def predict(self, features: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the class map (255 on invalid pixels) and top-class confidence of one tile."""
        probabilities = self.predict_proba(features)
        class_map = probabilities.argmax(axis=0).astype(np.uint8)
        confidence = probabilities.max(axis=0)
        class_map[~valid] = UNLABELED
        confidence[~valid] = 0.0
        return class_map, confidence
