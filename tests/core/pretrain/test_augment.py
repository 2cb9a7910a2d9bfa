"""Tests for the N-band view augmentations."""

import pytest
import torch

from core.pretrain.augment import (
    RandomBandDropout,
    RandomBandJitter,
    RandomGaussianNoise,
    RandomRotate90,
    ViewAugmentation,
    build_multi_view_transform,
    build_view_transform,
    gaussian_blur,
)


@pytest.mark.parametrize("bands", [1, 3, 4, 5, 13])
def test_view_shape_for_any_band_count(bands: int) -> None:
    torch.manual_seed(0)
    transform = build_view_transform(24)
    tile = torch.randn(bands, 40, 37)

    for _ in range(5):
        view = transform(tile)
        assert view.shape == (bands, 24, 24)
        assert view.dtype == torch.float32
        assert torch.isfinite(view).all()


def test_values_not_clipped_or_quantised() -> None:
    settings = ViewAugmentation(crop_scale=(1.0, 1.0), jitter_probability=0.0,
                                blur_probability=0.0, noise_probability=0.0,
                                band_dropout_probability=0.0, flip_probability=0.0,
                                rotate90=False)
    tile = torch.randn(5, 16, 16) * 4

    view = build_view_transform(16, settings)(tile)

    assert torch.allclose(view, tile, atol=1e-5)
    assert view.min() < -1
    assert view.max() > 1


def test_multi_view_returns_distinct_views() -> None:
    torch.manual_seed(1)
    transform = build_multi_view_transform(16, views=4)

    views = transform(torch.randn(6, 32, 32))

    assert len(views) == 4
    assert all(view.shape == (6, 16, 16) for view in views)
    assert not torch.equal(views[0], views[1])


def test_multi_view_rejects_one_view() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        build_multi_view_transform(16, views=1)


def test_rotate90_keeps_content() -> None:
    torch.manual_seed(0)
    tile = torch.randn(3, 8, 8)

    rotated = RandomRotate90()(tile)

    assert torch.allclose(rotated.sum(), tile.sum(), atol=1e-4)
    assert any(torch.equal(rotated, torch.rot90(tile, k, (1, 2))) for k in range(4))


def test_band_jitter_is_per_band_affine() -> None:
    torch.manual_seed(0)
    tile = torch.randn(4, 8, 8)

    jittered = RandomBandJitter(gain=0.2, offset=0.2, probability=1.0)(tile)

    for band in range(4):
        design = torch.stack([tile[band].flatten(), torch.ones(64)], dim=1)
        solution = torch.linalg.lstsq(design, jittered[band].flatten().unsqueeze(1)).solution
        gain, offset = solution.flatten().tolist()
        assert 0.8 - 1e-4 <= gain <= 1.2 + 1e-4
        assert -0.2 - 1e-4 <= offset <= 0.2 + 1e-4


def test_gaussian_blur_preserves_constant_and_shape() -> None:
    constant = torch.full((5, 9, 11), 2.5)

    blurred = gaussian_blur(constant, sigma=1.5)

    assert blurred.shape == constant.shape
    assert torch.allclose(blurred, constant, atol=1e-5)


def test_gaussian_blur_lowers_variance() -> None:
    torch.manual_seed(0)
    tile = torch.randn(2, 32, 32)

    blurred = gaussian_blur(tile, sigma=2.0)

    assert blurred.std() < tile.std() / 2


def test_gaussian_blur_on_tiny_crop() -> None:
    tile = torch.randn(3, 2, 2)

    assert gaussian_blur(tile, sigma=2.0).shape == (3, 2, 2)


def test_band_dropout_keeps_one_band() -> None:
    torch.manual_seed(0)
    tile = torch.randn(2, 8, 8) + 5
    dropout = RandomBandDropout(rate=1.0, probability=1.0)

    dropped = dropout(tile)

    zero_bands = [band for band in range(2) if torch.all(dropped[band] == 0)]
    assert len(zero_bands) == 1
    assert tile.min() > 0


def test_band_dropout_single_band_unchanged() -> None:
    tile = torch.randn(1, 8, 8)

    assert torch.equal(RandomBandDropout(rate=0.5, probability=1.0)(tile), tile)


def test_noise_std() -> None:
    torch.manual_seed(0)
    tile = torch.zeros(4, 64, 64)

    noisy = RandomGaussianNoise(std=0.1, probability=1.0)(tile)

    assert abs(noisy.std().item() - 0.1) < 0.01
