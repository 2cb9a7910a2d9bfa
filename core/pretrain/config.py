"""Pretraining settings, importable without torch so the CLI parser and the app stay light.

``default_precision`` imports torch when it is called.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from core.models.arch import BackboneArch

OptimizerName = Literal["sgd", "adamw"]
OPTIMIZERS: tuple[str, ...] = get_args(OptimizerName)

Precision = Literal["32-true", "bf16-mixed"]
PRECISIONS: tuple[str, ...] = get_args(Precision)


def default_precision() -> Precision:
    """Return "bf16-mixed" where the hardware computes bf16 natively, else "32-true".

    On CPU that means AVX512-BF16 or AMX support. On 2 such cores bf16 autocast with
    channels-last ran the ResNet18 FastSiam step about 2 times faster than fp32 (best runs
    of benchmarks/pretrain_speed.py, 5 bands, 128 px). Without that support bf16 is
    emulated, which is slow.
    """
    import torch

    if torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "32-true"
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    supported = any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return "bf16-mixed" if supported else "32-true"


@dataclass(frozen=True)
class ViewAugmentation:
    """Settings of one view's augmentations. Values are in standardised band units.

    Attributes:
        crop_scale: Area fraction range of the random resized crop. Default (0.2, 1.0) as in
            SimSiam, so views share context but differ in scale.
        flip_probability: Probability of each horizontal and vertical flip. Default 0.5,
            because overhead imagery has no up or left direction.
        rotate90: Rotate by a random multiple of 90 degrees. Default True, for the same reason.
        gain: Per-band multiplicative jitter, factor drawn from [1 - gain, 1 + gain]. Default
            0.2, mimicking illumination and sensor calibration changes between flights.
        offset: Per-band additive jitter in std units, drawn from [-offset, offset].
            Default 0.2, for the same reason.
        jitter_probability: Probability of applying gain and offset jitter. Default 0.8, the
            SimSiam colour jitter probability it replaces.
        blur_probability: Probability of Gaussian blur. Default 0.5 as in SimSiam.
        blur_sigma: Range of the blur standard deviation in pixels. Default (0.1, 2.0) as in
            SimSiam.
        noise_probability: Probability of additive Gaussian noise. Default 0.5.
        noise_std: Standard deviation of that noise. Default 0.05, an estimate of sensor
            noise after standardisation (bands are unit variance over the project).
        band_dropout_probability: Probability of dropping bands in a view. Default 0.2, so
            the backbone does not rely on a single band.
        band_dropout_rate: Fraction of bands set to 0 (the band mean) when dropout applies,
            keeping at least one band. Default 0.2.
    """

    crop_scale: tuple[float, float] = (0.2, 1.0)
    flip_probability: float = 0.5
    rotate90: bool = True
    gain: float = 0.2
    offset: float = 0.2
    jitter_probability: float = 0.8
    blur_probability: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    noise_probability: float = 0.5
    noise_std: float = 0.05
    band_dropout_probability: float = 0.2
    band_dropout_rate: float = 0.2


@dataclass
class PretrainConfig:
    """Settings of a pretraining run.

    Attributes:
        arch: Backbone architecture.
        epochs: Passes over the tiles (each tile gives ``crops_per_tile`` samples).
        batch_size: Tiles per batch on each device. Each tile gives ``views`` views, so the
            backbone processes ``batch_size * views`` crops per step.
        views: Views K per tile. FastSiam uses 4.
        crop_size: Side of each square view in pixels.
        crops_per_tile: Random crops per tile and epoch.
        optimizer: ``"sgd"`` or ``"adamw"``.
        learning_rate: Peak learning rate of the cosine schedule. None uses the optimizer's
            default (SGD 0.05, AdamW 1e-3).
        weight_decay: Weight decay. None uses the optimizer's default (SGD 1e-4, AdamW 0.05).
        precision: ``"bf16-mixed"`` where the hardware supports bf16, else ``"32-true"``.
        channels_last: Channels-last memory format for the backbone and views. None turns
            it on for ResNets and off for Swin-T, whose blocks work on (B, H, W, C) tokens.
        devices: Trainer devices: "auto", a count, or a list of indices.
        num_nodes: Number of machines for multi-node DDP.
        strategy: Trainer strategy, for example "auto", "ddp" or "ddp_spawn".
        accelerator: Trainer accelerator: "auto", "cpu", "gpu".
        seed: Seed for weights, crops and augmentations.
        num_workers: Data loader worker processes per device.
        max_steps_per_epoch: Cap on batches per epoch. None uses every batch.
        augmentation: View augmentation settings.
    """

    arch: BackboneArch = "resnet18"
    epochs: int = 10
    batch_size: int = 16
    views: int = 4
    crop_size: int = 128
    crops_per_tile: int = 1
    optimizer: OptimizerName = "sgd"
    learning_rate: float | None = None
    weight_decay: float | None = None
    precision: Precision = field(default_factory=default_precision)
    channels_last: bool | None = None
    devices: int | str | list[int] = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    accelerator: str = "auto"
    seed: int = 0
    num_workers: int = 0
    max_steps_per_epoch: int | None = None
    augmentation: ViewAugmentation = field(default_factory=ViewAugmentation)

    def __post_init__(self) -> None:
        # A config read back from JSON carries the augmentation as a dict with lists.
        if isinstance(self.augmentation, Mapping):
            values: dict[str, Any] = {
                key: tuple(value) if isinstance(value, list) else value
                for key, value in self.augmentation.items()
            }
            self.augmentation = ViewAugmentation(**values)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-compatible values; ``PretrainConfig(**d)`` restores them."""
        return json_compatible(dataclasses.asdict(self))


def json_compatible(value: Any) -> Any:
    """Convert tuples in nested dicts and lists to lists, as a JSON round trip would."""
    if isinstance(value, Mapping):
        return {key: json_compatible(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_compatible(item) for item in value]
    return value
