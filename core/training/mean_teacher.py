"""Mean-teacher parts of head training: strong views, consistency loss and the EMA update."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from core.models.head import SegmentationHead
from core.training.data import Crop
from core.training.losses import pseudo_label_loss


def perturb(
    crop: Crop, feature_dropout: float, feature_noise: float, generator: torch.Generator
) -> tuple[Crop, View]:
    """Make the student's strong view: feature dropout and noise, a random flip and, on square crops, rot90.

    Returns:
        The perturbed crop and its view, to map the student's logits back with ``undo_view``.
    """
    square = crop.image.shape[-1] == crop.image.shape[-2]
    turns = int(torch.randint(4, (1,), generator=generator)) if square else 0
    view = View(turns=turns, flip=bool(torch.rand(1, generator=generator).item() < 0.5))
    features = []
    for level in crop.features:
        noisy = torch.nn.functional.dropout2d(level, p=feature_dropout, training=True)
        noisy = noisy + feature_noise * noisy.std() * torch.randn(noisy.shape, generator=generator)
        features.append(apply_view(noisy, view))
    return Crop(features, apply_view(crop.image, view), crop.valid, None), view


@dataclass(frozen=True)
class View:
    """A geometric view: ``turns`` quarter rotations, then an optional left-right flip."""

    turns: int = 0
    flip: bool = False


def apply_view(x: Tensor, view: View) -> Tensor:
    """Rotate and flip the last two dimensions of ``x``."""
    x = torch.rot90(x, view.turns, dims=(-2, -1)) if view.turns else x
    return x.flip(-1) if view.flip else x


def undo_view(x: Tensor, view: View) -> Tensor:
    """Map a tensor seen through ``view`` back to the original orientation."""
    x = x.flip(-1) if view.flip else x
    return torch.rot90(x, -view.turns, dims=(-2, -1)) if view.turns else x


def update_teacher(teacher: torch.nn.Module, student: torch.nn.Module, decay: float) -> None:
    """Set teacher weights to an exponential moving average of the student's."""
    with torch.no_grad():
        for teacher_weight, student_weight in zip(teacher.parameters(), student.parameters(), strict=True):
            teacher_weight.mul_(decay).add_(student_weight.detach(), alpha=1.0 - decay)
        for teacher_buffer, student_buffer in zip(teacher.buffers(), student.buffers(), strict=True):
            teacher_buffer.copy_(student_buffer)


def consistency_loss(
    student: SegmentationHead,
    teacher: SegmentationHead,
    weak: Crop,
    threshold: float,
    feature_dropout: float,
    feature_noise: float,
    generator: torch.Generator,
) -> tuple[Tensor, float]:
    """Compute the mean-teacher loss of the student on a strong view against the teacher's confident pseudo-labels."""
    teacher.eval()
    with torch.no_grad():
        teacher_logits = teacher(weak.features, weak.image)
    strong, view = perturb(weak, feature_dropout, feature_noise, generator)
    student_logits = undo_view(student(strong.features, strong.image), view)
    return pseudo_label_loss(student_logits, teacher_logits, weak.valid, threshold)
