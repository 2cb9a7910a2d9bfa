"""Fixed filter responses of the raw-band branch."""

import cv2
import numpy as np
import torch

from core.models.filter_bank import FILTER_SIGMAS, FilterBankBranch, FilterResponses
from core.models.head import SegmentationHead, head_from_checkpoint


def test_channel_count_and_order():
    responses = FilterResponses(in_bands=5)
    out = responses(torch.randn(2, 5, 40, 48))
    assert responses.out_channels == 5 * (1 + 2 * len(FILTER_SIGMAS)) + 10
    assert out.shape == (2, responses.out_channels, 40, 48)
    bands = torch.randn(2, 5, 40, 48)
    assert torch.equal(responses(bands)[:, :5], bands)


def test_smoothing_matches_opencv_inside_the_tile():
    rng = np.random.default_rng(0)
    band = rng.normal(size=(64, 64)).astype(np.float32)
    out = FilterResponses(in_bands=1)(torch.from_numpy(band)[None, None])[0].numpy()
    for index, sigma in enumerate(FILTER_SIGMAS):
        expected = cv2.GaussianBlur(band, (0, 0), sigma)
        smoothed = out[1 + 2 * index]
        np.testing.assert_allclose(smoothed[16:-16, 16:-16], expected[16:-16, 16:-16], atol=0.02)


def test_gradient_magnitude_of_a_ramp_is_its_slope():
    ramp = torch.arange(32, dtype=torch.float32).repeat(32, 1) * 0.5
    out = FilterResponses(in_bands=1)(ramp[None, None])[0]
    np.testing.assert_allclose(out[2, 8:-8, 8:-8].numpy(), 0.5, atol=1e-3)


def test_normalised_difference_of_two_bands():
    bands = torch.stack([torch.full((8, 8), 1.0), torch.full((8, 8), -1.0)])[None]
    out = FilterResponses(in_bands=2)(bands)[0]
    np.testing.assert_allclose(out[-1].numpy(), (5.0 - 3.0) / 8.0, atol=1e-6)


def test_filter_head_round_trips_through_a_checkpoint():
    torch.manual_seed(0)
    head = SegmentationHead([8, 8, 8, 8], 3, 2, raw_width=16, raw_filters=True).eval()
    assert isinstance(head.raw_branch, FilterBankBranch)
    features = [torch.randn(1, 8, 16 // s, 16 // s) for s in (1, 2, 4, 8)]
    image = torch.randn(1, 3, 64, 64)
    checkpoint = {"state_dict": head.state_dict(), "config": {"raw_filters": True}, "feature_channels": [8, 8, 8, 8],
                  "in_bands": 3, "num_classes": 2}
    restored = head_from_checkpoint(checkpoint)
    torch.testing.assert_close(restored(features, image), head(features, image))
