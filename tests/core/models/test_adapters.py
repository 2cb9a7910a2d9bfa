"""Residual adapters in the late backbone stages: identity at start, only adapters train."""

import numpy as np
import pytest
import torch

from core.inference.predict import predict_sample
from core.models.adapters import AdaptedLateStages
from core.models.backbone import build_backbone, freeze
from core.models.head import head_from_checkpoint
from core.training.data import build_sample
from core.training.features import extract_features
from core.training.trainer import HeadConfig, train_head


@pytest.mark.parametrize("arch", ["resnet18", "swin_t"])
def test_untrained_adapters_reproduce_the_backbone(arch):
    torch.manual_seed(0)
    backbone = freeze(build_backbone(arch, 5))
    tile = torch.randn(1, 5, 64, 96)
    with torch.no_grad():
        expected = backbone(tile)
        adapted = AdaptedLateStages(backbone)(expected[1])
    assert [tuple(a.shape) for a in adapted] == [tuple(e.shape) for e in expected[2:]]
    for got, want in zip(adapted, expected[2:], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_copied_stages_stay_frozen_in_train_mode():
    backbone = freeze(build_backbone("resnet18", 3))
    stages = AdaptedLateStages(backbone).train()
    assert not stages.stages.training
    assert all(not p.requires_grad for p in stages.stages.parameters())
    assert all(p.requires_grad for p in stages.adapters.parameters())


def _tile_sample(backbone, rng, labeled):
    height, width = 64, 96
    truth = np.zeros((height, width), np.uint8)
    truth[:, : width // 2] = 1
    image = (rng.normal(0, 0.3, size=(3, height, width)) + truth * 1.5).astype(np.float32)
    mask = np.where(rng.random(truth.shape) < 0.1, truth, 255).astype(np.uint8) if labeled else None
    sample = build_sample(0, image, np.ones(truth.shape, bool), extract_features(backbone, image), mask)
    return sample, truth


def test_adapter_head_training_and_checkpoint():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    backbone = freeze(build_backbone("resnet18", 3))
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    labeled, truth = _tile_sample(backbone, rng, labeled=True)
    config = HeadConfig(adapters=True, semi_supervised=False, steps=30, batch_size=2, crop_size=64, eval_every=10)

    head = train_head([labeled], [], 2, config, backbone=backbone).head

    adapter_weights = torch.cat([p.flatten() for p in head.late_stages.adapters.parameters()])
    assert adapter_weights.abs().sum() > 0
    for key, value in backbone.state_dict().items():
        torch.testing.assert_close(value, before[key])
    for name, value in head.late_stages.stages.state_dict().items():
        stage, block, rest = name.split(".", 2)
        torch.testing.assert_close(value, before[f"layer{int(stage) + 3}.{block}.{rest}"])
    class_map, _ = predict_sample(head, labeled)
    assert (class_map == truth).mean() > 0.9

    checkpoint = {"state_dict": head.state_dict(), "config": config.to_dict(), "feature_channels": [64, 128, 256, 512],
                  "in_bands": 3, "num_classes": 2, "backbone_arch": "resnet18"}
    restored = head_from_checkpoint(checkpoint)
    np.testing.assert_array_equal(predict_sample(restored, labeled)[0], class_map)


def test_adapters_without_backbone_are_refused():
    rng = np.random.default_rng(0)
    sample, _ = _tile_sample(freeze(build_backbone("resnet18", 3)), rng, labeled=True)
    with pytest.raises(ValueError, match="Adapters need the backbone"):
        train_head([sample], [], 2, HeadConfig(adapters=True, steps=3))
