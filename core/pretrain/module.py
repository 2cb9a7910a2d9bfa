"""FastSiam LightningModule: self-supervised pretraining of an N-band backbone.

FastSiam extends SimSiam to K views per tile. The prediction of each view is matched to
the mean of the stop-gradient projections of the other K - 1 views, which gives a less
noisy target than SimSiam's single other view.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
from lightly.loss import NegativeCosineSimilarity
from lightly.models.modules import SimSiamPredictionHead, SimSiamProjectionHead
from lightly.utils.debug import std_of_l2_normalized
from pytorch_lightning import LightningModule
from pytorch_lightning.utilities.types import OptimizerLRSchedulerConfig
from torch import Tensor

from core.models.backbone import BackboneArch, build_backbone, pooled_embedding_dim
from core.pretrain.config import OPTIMIZERS, OptimizerName

logger = logging.getLogger(__name__)

__all__ = ["COLLAPSE_FRACTION", "DEFAULT_OPTIMIZER_SETTINGS", "OPTIMIZERS", "FastSiam"]


# Defaults per optimizer: (learning rate, weight decay). SGD uses SimSiam's base values
# (lr 0.05 with momentum 0.9, weight decay 1e-4) without the batch/256 scaling, because
# batches here are far below 256. AdamW uses common values for ResNet and Swin training.
# NOTE: starting values, not tuned on multispectral tiles.
DEFAULT_OPTIMIZER_SETTINGS: dict[str, tuple[float, float]] = {
    "sgd": (0.05, 1e-4),
    "adamw": (1e-3, 0.05),
}

# Projections whose L2-normalised std falls below this fraction of 1 / sqrt(dim) are
# reported as collapsed. An isotropic Gaussian gives 1 / sqrt(dim) and full collapse 0.
COLLAPSE_FRACTION = 0.1


class FastSiam(LightningModule):
    """FastSiam pretraining of a backbone with lightly's SimSiam heads and loss.

    Args:
        arch: Backbone architecture.
        in_channels: Band count of the tiles.
        views: Number of views K per tile, at least 2. FastSiam uses 4 (3 targets + 1 base).
        optimizer: ``"sgd"`` (momentum 0.9) or ``"adamw"``.
        learning_rate: Peak learning rate of the cosine schedule. None picks the default
            of ``optimizer`` from ``DEFAULT_OPTIMIZER_SETTINGS``.
        weight_decay: Weight decay. None picks the default of ``optimizer``.
        projection_hidden_dim: Hidden width of the projection head.
        projection_dim: Output width of the projection and prediction heads.
        prediction_hidden_dim: Bottleneck width of the prediction head.
        channels_last: Feed views in channels-last memory format, which is faster for
            convolutions on CPU, especially with bf16.
    """

    def __init__(
        self,
        arch: BackboneArch = "resnet18",
        in_channels: int = 4,
        views: int = 4,
        optimizer: OptimizerName = "sgd",
        learning_rate: float | None = None,
        weight_decay: float | None = None,
        projection_hidden_dim: int = 512,
        projection_dim: int = 128,
        prediction_hidden_dim: int = 64,
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        if views < 2:
            raise ValueError(f"FastSiam needs at least 2 views per tile, got {views}.")
        if optimizer not in DEFAULT_OPTIMIZER_SETTINGS:
            raise ValueError(
                f"Unknown optimizer {optimizer!r}. Expected one of "
                f"{tuple(DEFAULT_OPTIMIZER_SETTINGS)}."
            )
        self.save_hyperparameters()

        self.backbone = build_backbone(arch, in_channels)
        self.projection_head, self.prediction_head = self._build_heads()
        self.criterion = NegativeCosineSimilarity()
        self.collapse_threshold = COLLAPSE_FRACTION / math.sqrt(projection_dim)
        self._collapse_reported = False

    @property
    def hyperparameters(self) -> Any:
        """Saved constructor arguments, typed as Any for attribute access."""
        return self.hparams

    def _build_heads(self) -> tuple[SimSiamProjectionHead, SimSiamPredictionHead]:
        hparams = self.hyperparameters
        projection = SimSiamProjectionHead(
            pooled_embedding_dim(self.backbone),
            hparams.projection_hidden_dim,
            hparams.projection_dim,
        )
        prediction = SimSiamPredictionHead(
            hparams.projection_dim, hparams.prediction_hidden_dim, hparams.projection_dim
        )
        return projection, prediction

    def embed(self, x: Tensor) -> Tensor:
        """Return globally average-pooled last-stage features, (B, C, H, W) -> (B, D)."""
        if self.hyperparameters.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.backbone(x)[-1].mean(dim=(-2, -1))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Project and predict a batch of views.

        Args:
            x: Views, (B, C, H, W).

        Returns:
            Projections z and predictions p, both (B, projection_dim).
        """
        z = self.projection_head(self.embed(x))
        p = self.prediction_head(z)
        return z, p

    def fastsiam_loss(self, projections: Tensor, predictions: Tensor) -> Tensor:
        """Compute the FastSiam loss, averaged over views.

        Args:
            projections: (K, B, D) projections of K views.
            predictions: (K, B, D) predictions of the same views.

        Returns:
            Scalar loss in [-1, 1]. -1 means every prediction points at its target.
        """
        views = projections.shape[0]
        targets = projections.detach()
        target_sum = targets.sum(dim=0)
        loss = projections.new_zeros(())
        for index in range(views):
            target = (target_sum - targets[index]) / (views - 1)
            loss = loss + self.criterion(predictions[index], target)
        return loss / views

    def training_step(self, batch: list[Tensor] | tuple[Tensor, ...], batch_idx: int) -> dict:
        """Run one FastSiam step on a batch of K views, each (B, C, H, W)."""
        views = list(batch)
        if len(views) != self.hyperparameters.views:
            raise ValueError(
                f"Expected {self.hyperparameters.views} views per tile, got {len(views)}. The data "
                "module and the module must use the same number of views."
            )
        batch_size = views[0].shape[0]

        # One backbone pass over all views together is faster than K small passes. Batch
        # norm then normalises over all views of the batch.
        z, p = self(torch.cat(views))
        projections = z.float().view(len(views), batch_size, -1)
        predictions = p.float().view(len(views), batch_size, -1)
        loss = self.fastsiam_loss(projections, predictions)

        embedding_std = std_of_l2_normalized(projections[0])
        self._report_collapse(embedding_std)
        self.log("train_loss", loss, batch_size=batch_size, prog_bar=True, on_step=True,
                 on_epoch=True, sync_dist=True)
        self.log("embedding_std", embedding_std, batch_size=batch_size, on_step=True,
                 on_epoch=True, sync_dist=True)
        return {"loss": loss, "embedding_std": embedding_std}

    def _report_collapse(self, embedding_std: Tensor) -> None:
        if self._collapse_reported or embedding_std.item() >= self.collapse_threshold:
            return
        self._collapse_reported = True
        logger.warning(
            "Projections may have collapsed: std of L2-normalised projections is %.4f, "
            "below %.4f (%.1f / sqrt(%d)). Lower the learning rate or use stronger "
            "augmentations if it stays there.",
            embedding_std.item(),
            self.collapse_threshold,
            COLLAPSE_FRACTION,
            self.hyperparameters.projection_dim,
        )

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        """Build the optimizer and a per-step cosine learning-rate schedule."""
        hparams = self.hyperparameters
        default_lr, default_decay = DEFAULT_OPTIMIZER_SETTINGS[hparams.optimizer]
        learning_rate = hparams.learning_rate if hparams.learning_rate is not None else default_lr
        weight_decay = hparams.weight_decay if hparams.weight_decay is not None else default_decay

        optimizer: torch.optim.Optimizer
        match hparams.optimizer:
            case "sgd":
                optimizer = torch.optim.SGD(
                    self.parameters(), lr=learning_rate, momentum=0.9, weight_decay=weight_decay
                )
            case "adamw":
                optimizer = torch.optim.AdamW(
                    self.parameters(), lr=learning_rate, weight_decay=weight_decay
                )

        total_steps = max(1, int(self.trainer.estimated_stepping_batches))
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
