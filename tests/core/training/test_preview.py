import numpy as np

from core.training.preview import preview_predictions


def test_preview_predicts_every_tile(make_sample):
    rng = np.random.default_rng(0)
    labeled, _ = make_sample(1, rng, labeled_fraction=0.1)
    unlabeled, truth = make_sample(2, rng)
    results = preview_predictions([labeled], [labeled, unlabeled], num_classes=2)
    assert set(results) == {1, 2}
    class_map, confidence = results[2]
    assert class_map.shape == truth.shape
    assert (class_map == truth).mean() > 0.85
    assert 0.0 <= confidence.min()
    assert confidence.max() <= 1.0
