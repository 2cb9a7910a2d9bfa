"""Contract tests every backbone architecture must pass."""

import math

import pytest
import torch
from torch import nn

from core.models.backbone import (
    BACKBONE_ARCHS,
    Backbone,
    build_backbone,
    freeze,
    pooled_embedding_dim,
)

BAND_COUNTS = (1, 3, 4, 5, 6, 13)
# Even and odd sizes, kept small because Swin-T attention is the slowest part of the test.
SIZES = ((64, 64), (33, 45))


@pytest.fixture(scope="module", params=BACKBONE_ARCHS)
def arch(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.mark.parametrize("bands", BAND_COUNTS)
def test_feature_shapes_and_strides(arch: str, bands: int) -> None:
    torch.manual_seed(0)
    backbone = build_backbone(arch, bands)
    backbone.eval()

    assert isinstance(backbone, Backbone)
    assert backbone.arch == arch
    assert backbone.in_channels == bands
    assert backbone.strides == (4, 8, 16, 32)
    assert len(backbone.out_channels) == 4
    assert pooled_embedding_dim(backbone) == backbone.out_channels[-1]

    for height, width in SIZES:
        with torch.no_grad():
            features = backbone(torch.randn(1, bands, height, width))

        assert len(features) == 4
        for feature, channels, stride in zip(
            features, backbone.out_channels, backbone.strides, strict=True
        ):
            expected = (1, channels, math.ceil(height / stride), math.ceil(width / stride))
            assert tuple(feature.shape) == expected, (height, width, stride)
            assert torch.isfinite(feature).all()


@pytest.mark.parametrize("bands", [4])
def test_feature_shapes_odd_large_tile(arch: str, bands: int) -> None:
    backbone = build_backbone(arch, bands).eval()

    with torch.no_grad():
        features = backbone(torch.randn(1, bands, 97, 131))

    sizes = [tuple(feature.shape[-2:]) for feature in features]
    assert sizes == [(25, 33), (13, 17), (7, 9), (4, 5)]


def test_wrong_band_count_raises(arch: str) -> None:
    backbone = build_backbone(arch, 4)

    with pytest.raises(ValueError, match=r"\(B, 4, H, W\)"):
        backbone(torch.randn(1, 5, 32, 32))


def test_unknown_arch_raises() -> None:
    with pytest.raises(ValueError, match="resnet18"):
        build_backbone("vgg16", 4)  # type: ignore[arg-type]


def test_zero_bands_raises() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        build_backbone("resnet18", 0)


def test_freeze_keeps_batch_norm_statistics(arch: str) -> None:
    backbone = freeze(build_backbone(arch, 5))
    parent = nn.Sequential(backbone)
    parent.train()
    before = {name: value.clone() for name, value in backbone.state_dict().items()}

    backbone(torch.randn(2, 5, 64, 64) * 3 + 1)

    assert not backbone.training
    assert all(not module.training for module in backbone.modules())
    assert all(not parameter.requires_grad for parameter in backbone.parameters())
    for name, value in backbone.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_unfrozen_backbone_updates_batch_norm(arch: str) -> None:
    if arch == "swin_t":
        pytest.skip("Swin-T uses layer norm and has no running statistics")
    backbone = build_backbone(arch, 5)
    backbone.train()
    before = backbone.bn1.running_mean.clone()

    backbone(torch.randn(2, 5, 64, 64) * 3 + 1)

    assert not torch.equal(backbone.bn1.running_mean, before)


def test_state_dict_keys_match_torchvision() -> None:
    import torchvision

    backbone = build_backbone("resnet18", 3)
    reference = torchvision.models.resnet18(weights=None).state_dict()
    expected = {key for key in reference if not key.startswith("fc.")}

    assert set(backbone.state_dict()) == expected


def test_channels_last_and_bf16_forward() -> None:
    backbone = build_backbone("resnet18", 5).to(memory_format=torch.channels_last)
    x = torch.randn(2, 5, 64, 64).to(memory_format=torch.channels_last)

    with torch.autocast("cpu", dtype=torch.bfloat16):
        features = backbone(x)

    assert [tuple(f.shape[-2:]) for f in features] == [(16, 16), (8, 8), (4, 4), (2, 2)]
