"""Method 2 of the few-shot benchmark: a small U-Net trained end to end from scratch.

The network trains on the labeled tiles only (no pretraining, no unlabeled tiles). It is
the baseline a user gets by training a segmentation network directly on a few painted
tiles. It uses the same sparse loss and class weights as the heads, with random flips
and 90-degree rotations as augmentation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.labels.files import UNLABELED
from core.training.losses import class_weights, sparse_cross_entropy


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.GroupNorm(min(8, out_channels), out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.GroupNorm(min(8, out_channels), out_channels),
        nn.ReLU(inplace=True),
    )


class SmallUNet(nn.Module):
    """Three-level U-Net with GroupNorm (widths 16, 32, 64 by default); input sides divisible by 4.

    On two CPU cores a step of 8 crops of 96 px takes about 0.4 s at width 16. Width 32 at
    128 px took about 2.3 s, too slow for the benchmark's time budget.
    """

    def __init__(self, in_bands: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        self.encoder = nn.ModuleList([_block(in_bands, width), _block(width, 2 * width), _block(2 * width, 4 * width)])
        self.decoder = nn.ModuleList([_block(6 * width, 2 * width), _block(3 * width, width)])
        self.classifier = nn.Conv2d(width, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for index, block in enumerate(self.encoder):
            x = block(x if index == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.decoder, reversed(skips[:-1]), strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.classifier(x)


def _labeled_crop(image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cut a crop around a random labeled pixel, then flip and rotate it at random."""
    height, width = mask.shape
    rows, cols = np.nonzero(mask != UNLABELED)
    pick = rng.integers(len(rows))
    top = int(np.clip(rows[pick] - size // 2 + rng.integers(-size // 4, size // 4 + 1), 0, height - size))
    left = int(np.clip(cols[pick] - size // 2 + rng.integers(-size // 4, size // 4 + 1), 0, width - size))
    crop_image = image[:, top : top + size, left : left + size]
    crop_mask = mask[top : top + size, left : left + size]
    turns = int(rng.integers(4))
    crop_image, crop_mask = np.rot90(crop_image, turns, axes=(1, 2)), np.rot90(crop_mask, turns)
    if rng.random() < 0.5:
        crop_image, crop_mask = crop_image[:, :, ::-1], crop_mask[:, ::-1]
    return np.ascontiguousarray(crop_image), np.ascontiguousarray(crop_mask)


def train_unet(
    images: list[np.ndarray],
    masks: list[np.ndarray],
    num_classes: int,
    steps: int,
    seed: int,
    crop_size: int = 96,
    batch_size: int = 8,
    learning_rate: float = 3e-3,
) -> SmallUNet:
    """Train a U-Net from scratch on standardised tiles and sparse masks (255 unlabeled)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    usable = [(image, mask) for image, mask in zip(images, masks, strict=True) if (mask != UNLABELED).any()]
    model = SmallUNet(images[0].shape[0], num_classes)
    weight = class_weights([mask for _, mask in usable], num_classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=steps, pct_start=0.1)
    model.train()
    for _ in range(steps):
        crops = [_labeled_crop(*usable[rng.integers(len(usable))], crop_size, rng) for _ in range(batch_size)]
        batch = torch.from_numpy(np.stack([image for image, _ in crops]))
        target = torch.from_numpy(np.stack([mask for _, mask in crops]).astype(np.int64))
        loss = sparse_cross_entropy(model(batch), target, weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    return model.eval()


@torch.no_grad()
def predict_unet(model: SmallUNet, image: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Class map of one tile; 255 on invalid pixels. Pads the tile to a multiple of 4."""
    height, width = image.shape[-2:]
    padded = np.pad(image, ((0, 0), (0, -height % 4), (0, -width % 4)))
    logits = model(torch.from_numpy(np.ascontiguousarray(padded))[None])[0, :, :height, :width]
    class_map = logits.argmax(0).numpy().astype(np.uint8)
    class_map[~valid] = UNLABELED
    return class_map
