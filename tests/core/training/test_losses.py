import numpy as np
import torch

from core.training.losses import (
    class_weights,
    pseudo_label_loss,
    sigmoid_rampup,
    soft_dice_loss,
    sparse_cross_entropy,
)
from core.training.trainer import update_teacher


def test_all_ignored_batch_gives_zero_not_nan():
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    target = torch.full((2, 8, 8), 255)
    loss = sparse_cross_entropy(logits, target)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(logits.grad).all()


def test_loss_is_normalised_by_labeled_pixels():
    logits = torch.zeros(1, 2, 4, 4)
    sparse = torch.full((1, 4, 4), 255)
    sparse[0, 0, 0] = 1
    dense = torch.ones(1, 4, 4, dtype=torch.long)
    assert torch.isclose(sparse_cross_entropy(logits, sparse), sparse_cross_entropy(logits, dense))


def test_class_weights_favour_rare_classes():
    mask = np.full((10, 10), 255, np.uint8)
    mask[:9] = 0
    mask[9, :1] = 1
    weights = class_weights([mask], num_classes=3)
    assert weights[1] > weights[0]
    assert weights[2] == 0


def test_pseudo_labels_respect_threshold_and_validity():
    teacher = torch.tensor([[[[5.0, 0.0]], [[0.0, 0.1]]]])  # (1, 2, 1, 2): confident, then unsure
    student = torch.zeros(1, 2, 1, 2, requires_grad=True)
    valid = torch.tensor([[[True, True]]])
    loss, share = pseudo_label_loss(student, teacher, valid, threshold=0.9)
    assert share == 0.5
    assert loss.item() > 0
    _, share_invalid = pseudo_label_loss(student, teacher, torch.zeros_like(valid), threshold=0.9)
    assert share_invalid == 0.0


def test_rampup_goes_from_zero_to_one():
    assert sigmoid_rampup(5, start=10, length=20) == 0.0
    assert 0.0 < sigmoid_rampup(20, start=10, length=20) < 1.0
    assert sigmoid_rampup(30, start=10, length=20) == 1.0


def test_teacher_moves_toward_student():
    student = torch.nn.Linear(2, 2)
    teacher = torch.nn.Linear(2, 2)
    with torch.no_grad():
        teacher.weight.zero_()
        student.weight.fill_(1.0)
    update_teacher(teacher, student, decay=0.9)
    assert torch.allclose(teacher.weight, torch.full((2, 2), 0.1))


def test_dice_perfect_and_unlabeled():
    target = torch.tensor([[[0, 1], [2, 255]]])
    perfect = torch.nn.functional.one_hot(target.clamp(max=2), 3).permute(0, 3, 1, 2).float() * 50
    assert soft_dice_loss(perfect, target).item() < 1e-3
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    empty = soft_dice_loss(logits, torch.full((1, 2, 2), 255))
    empty.backward()
    assert empty.item() == 0.0
    assert torch.isfinite(logits.grad).all()


def test_dice_weighs_rare_classes():
    target = torch.zeros(1, 10, 10, dtype=torch.long)
    target[0, 0, 0] = 1
    logits = torch.zeros(1, 2, 10, 10)
    logits[:, 0] = 5.0  # predicts the common class everywhere
    # Cross-entropy barely notices the missed rare pixel; Dice loses much of its score.
    assert soft_dice_loss(logits, target).item() > 4 * sparse_cross_entropy(logits, target).item()
