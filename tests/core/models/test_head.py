"""Segmentation heads: output shape and the stride-4 classification shortcut."""

import pytest
import torch
import torch.nn.functional as F

from core.models.head import SegmentationHead


def upsample_then_classify(head, features, raw):
    """Reference forward: upsample the fused map to full resolution, then classify."""
    fused = F.interpolate(head.fuse_features(features), size=raw.shape[-2:], mode="bilinear", align_corners=False)
    if head.raw_branch is not None:
        fused = torch.cat([fused, head.raw_branch(raw)], dim=1)
    return head.classifier(fused)


@pytest.mark.parametrize("kind", ["fpn", "linear"])
@pytest.mark.parametrize("raw_width", [0, 16])
def test_classifying_at_stride_4_equals_upsampling_first(kind, raw_width):
    torch.manual_seed(0)
    head = SegmentationHead([64, 128, 256, 512], 5, 4, kind=kind, raw_width=raw_width).eval()
    features = [torch.randn(2, c, 96 // s, 64 // s) for c, s in zip([64, 128, 256, 512], [4, 8, 16, 32], strict=True)]
    raw = torch.randn(2, 5, 96, 64)
    with torch.no_grad():
        logits = head(features, raw)
        expected = upsample_then_classify(head, features, raw)
    assert logits.shape == (2, 4, 96, 64)
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-5)
