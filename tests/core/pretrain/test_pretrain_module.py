"""Tests for the FastSiam LightningModule."""

import logging
import math

import pytest
import torch
from lightly.loss import NegativeCosineSimilarity

from core.pretrain.module import FastSiam

# training_step calls self.log, which warns when no Trainer is attached.
pytestmark = pytest.mark.filterwarnings(r"ignore:You are trying to `self.log\(\)`")


def make_views(views: int = 4, batch: int = 3, bands: int = 5, size: int = 32) -> list:
    return [torch.randn(batch, bands, size, size) for _ in range(views)]


def test_fastsiam_loss_matches_definition() -> None:
    torch.manual_seed(0)
    module = FastSiam(in_channels=5, views=4)
    projections = torch.randn(4, 3, 8)
    predictions = torch.randn(4, 3, 8)
    criterion = NegativeCosineSimilarity()

    expected = 0.0
    for index in range(4):
        others = [projections[j] for j in range(4) if j != index]
        expected += criterion(predictions[index], torch.stack(others).mean(0)) / 4

    assert torch.allclose(module.fastsiam_loss(projections, predictions), expected)


def test_fastsiam_loss_stops_target_gradient() -> None:
    module = FastSiam(in_channels=5, views=2)
    projections = torch.randn(2, 3, 8, requires_grad=True)
    predictions = torch.randn(2, 3, 8, requires_grad=True)

    module.fastsiam_loss(projections, predictions).backward()

    assert projections.grad is None
    assert predictions.grad is not None


def test_training_step_returns_loss_and_std() -> None:
    torch.manual_seed(0)
    module = FastSiam(in_channels=5, views=4)

    output = module.training_step(make_views(), 0)

    assert output["loss"].ndim == 0
    assert -1.0 <= output["loss"].item() <= 1.0
    assert output["loss"].requires_grad
    assert 0.0 < output["embedding_std"].item() <= 1.0
    output["loss"].backward()
    assert module.backbone.conv1.weight.grad is not None


def test_training_step_view_count_mismatch() -> None:
    module = FastSiam(in_channels=5, views=4)

    with pytest.raises(ValueError, match="Expected 4 views"):
        module.training_step(make_views(views=3), 0)


def test_swin_training_step() -> None:
    torch.manual_seed(0)
    module = FastSiam(arch="swin_t", in_channels=3, views=2, channels_last=False)

    output = module.training_step(make_views(views=2, batch=2, bands=3), 0)

    assert torch.isfinite(output["loss"])


def test_hyperparameters_saved() -> None:
    module = FastSiam(arch="resnet18", in_channels=6, views=3, optimizer="adamw")

    assert module.hparams.in_channels == 6
    assert module.hparams.views == 3
    assert module.hparams.optimizer == "adamw"


def test_invalid_settings_raise() -> None:
    with pytest.raises(ValueError, match="at least 2 views"):
        FastSiam(in_channels=4, views=1)
    with pytest.raises(ValueError, match="optimizer"):
        FastSiam(in_channels=4, optimizer="lamb")  # type: ignore[arg-type]


def test_collapse_warning_once(caplog: pytest.LogCaptureFixture) -> None:
    module = FastSiam(in_channels=4, projection_dim=64)
    assert math.isclose(module.collapse_threshold, 0.1 / 8)

    with caplog.at_level(logging.WARNING, logger="core.pretrain.module"):
        module._report_collapse(torch.tensor(0.001))
        module._report_collapse(torch.tensor(0.001))

    assert len(caplog.records) == 1
    assert "collapsed" in caplog.records[0].getMessage()
