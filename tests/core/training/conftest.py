"""Fixtures for head-training tests: synthetic tiles with matching backbone features."""

import numpy as np
import pytest

from core.training.data import build_sample


def synthetic_sample(tile_id, rng, labeled_fraction=None, shape=(64, 96)):
    """A tile whose left part is class 1 in both bands and features."""
    height, width = shape
    truth = np.zeros(shape, np.uint8)
    truth[:, : width // 2] = 1
    image = rng.normal(0, 0.3, size=(3, height, width)).astype(np.float32) + truth * 1.5
    features = []
    for channels, stride in ((8, 4), (8, 8), (8, 16), (8, 32)):
        coarse = truth[stride // 2 :: stride, stride // 2 :: stride][: -(-height // 32) * 32 // stride]
        level = rng.normal(0, 0.3, size=(channels, -(-height // 32) * 32 // stride, -(-width // 32) * 32 // stride))
        level[:, : coarse.shape[0], : coarse.shape[1]] += coarse * 1.0
        features.append(level.astype(np.float16))
    mask = None
    if labeled_fraction is not None:
        mask = np.where(rng.random(shape) < labeled_fraction, truth, 255).astype(np.uint8)
    return build_sample(tile_id, image, np.ones(shape, bool), features, mask), truth


@pytest.fixture
def make_sample():
    """Return the synthetic sample factory."""
    return synthetic_sample
