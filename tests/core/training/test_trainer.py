import numpy as np
import pytest
import torch

from core.inference.predict import predict_sample
from core.training.data import split_validation, take_crop
from core.training.trainer import HeadConfig, train_head


def test_crops_contain_labeled_pixels(make_sample):
    rng = np.random.default_rng(0)
    sample, _ = make_sample(1, rng, labeled_fraction=0.01, shape=(256, 256))
    for _ in range(20):
        crop = take_crop(sample, 64, rng, labeled_only=True)
        assert (crop.target != 255).any()


def test_validation_split_is_disjoint(make_sample):
    rng = np.random.default_rng(0)
    sample, _ = make_sample(1, rng, labeled_fraction=0.5, shape=(128, 128))
    train, validation = split_validation([sample], 0.3, rng)
    overlap = (train[0].mask != 255) & (validation[0].mask != 255)
    assert not overlap.any()
    assert (validation[0].mask != 255).any()


@pytest.mark.parametrize("semi_supervised", [False, True])
def test_head_learns_sparse_labels(semi_supervised, make_sample):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    labeled = [make_sample(1, rng, labeled_fraction=0.05)[0]]
    test_sample, truth = make_sample(2, rng)
    config = HeadConfig(steps=40, batch_size=4, crop_size=64, eval_every=10, semi_supervised=semi_supervised, warmup_steps=10)
    result = train_head(labeled, [test_sample], num_classes=2, config=config)
    class_map, confidence = predict_sample(result.head, test_sample)
    accuracy = (class_map == truth).mean()
    assert accuracy > 0.9
    assert confidence.min() >= 0.0
    assert confidence.max() <= 1.0
    assert result.history


def test_training_without_labels_is_rejected(make_sample):
    rng = np.random.default_rng(0)
    sample, _ = make_sample(1, rng, labeled_fraction=0.0)
    with pytest.raises(ValueError, match="No labeled pixels"):
        train_head([sample], [], 2, HeadConfig(steps=2))


def test_cancel_stops_training(make_sample):
    rng = np.random.default_rng(0)
    sample, _ = make_sample(1, rng, labeled_fraction=0.1)
    result = train_head([sample], [], 2, HeadConfig(steps=50, crop_size=64), on_progress=lambda step, total, m: step >= 3)
    assert result.stopped_early


@pytest.mark.parametrize("steps", [3, 10, 11])
def test_short_runs_train(make_sample, steps):
    rng = np.random.default_rng(0)
    sample, _ = make_sample(1, rng, labeled_fraction=0.1)
    result = train_head([sample], [], 2, HeadConfig(steps=steps, crop_size=64, batch_size=2, eval_every=2))
    assert result.history


def test_too_few_steps_are_rejected(make_sample):
    rng = np.random.default_rng(0)
    sample, _ = make_sample(1, rng, labeled_fraction=0.1)
    with pytest.raises(ValueError, match="at least 3 steps"):
        train_head([sample], [], 2, HeadConfig(steps=2))
