import numpy as np
import pytest

from core.training.pixel_classifier import PixelClassifier, filter_features


def scene(rng, shape=(48, 64)):
    truth = np.zeros(shape, np.uint8)
    truth[:, shape[1] // 2 :] = 1
    image = rng.normal(0, 0.4, size=(4, *shape)).astype(np.float32) + truth
    return image, truth


def test_filter_features_shape():
    image = np.zeros((4, 20, 30), np.float32)
    features = filter_features(image)
    assert features.shape == (4 + 4 * 3 * 2 + 6, 20, 30)
    assert features.dtype == np.float32


def test_classifier_learns_from_sparse_labels():
    rng = np.random.default_rng(0)
    image, truth = scene(rng)
    mask = np.where(rng.random(truth.shape) < 0.03, truth, 255).astype(np.uint8)
    model = PixelClassifier(num_classes=3).fit([filter_features(image)], [mask])
    test_image, test_truth = scene(rng)
    valid = np.ones(test_truth.shape, bool)
    valid[0, 0] = False
    class_map, confidence = model.predict(filter_features(test_image), valid)
    assert (class_map[valid] == test_truth[valid]).mean() > 0.9
    assert class_map[0, 0] == 255
    assert confidence[0, 0] == 0.0


def test_classifier_without_labels_is_rejected():
    image = np.zeros((2, 8, 8), np.float32)
    with pytest.raises(ValueError, match="No labeled pixels"):
        PixelClassifier(num_classes=2).fit([filter_features(image)], [np.full((8, 8), 255, np.uint8)])
