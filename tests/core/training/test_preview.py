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


def test_entropy_is_low_where_confident(make_sample):
    import torch

    from core.inference.predict import predict_sample, predict_sample_with_entropy
    from core.training.trainer import HeadConfig, train_head

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    labeled, _ = make_sample(1, rng, labeled_fraction=0.1)
    head = train_head([labeled], [], 2, HeadConfig(steps=20, crop_size=64, batch_size=4, eval_every=10)).head
    class_map, confidence, entropy = predict_sample_with_entropy(head, labeled)
    plain_map, plain_confidence = predict_sample(head, labeled)
    assert (class_map == plain_map).all()
    assert np.allclose(confidence, plain_confidence, atol=1e-5)
    assert 0.0 <= entropy.min()
    assert entropy.max() <= 1.0
    high, low = np.quantile(confidence, [0.75, 0.25])
    assert entropy[confidence >= high].mean() < entropy[confidence <= low].mean()
