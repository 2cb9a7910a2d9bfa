"""Mean-teacher views and the collapse guard."""

import numpy as np
import pytest
import torch

from core.training.collapse import collapse_warning, labeled_shares
from core.training.data import Crop, sample_tensors
from core.training.mean_teacher import View, apply_view, perturb, undo_view
from core.training.selection import BestKeeper, HeadResult
from core.training.trainer import HeadConfig, train_head


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
@pytest.mark.parametrize("flip", [False, True])
def test_undo_view_restores_the_orientation(turns, flip):
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    view = View(turns, flip)
    assert torch.equal(undo_view(apply_view(x, view), view), x)


def test_non_square_crops_are_only_flipped():
    crop = Crop([torch.ones(1, 4, 2, 3)], torch.ones(1, 3, 8, 12), torch.ones(1, 8, 12, dtype=torch.bool), None)
    generator = torch.Generator().manual_seed(0)
    for _ in range(10):
        strong, view = perturb(crop, 0.0, 0.0, generator)
        assert view.turns == 0
        assert strong.image.shape == crop.image.shape


def test_collapse_warning_flags_a_vanished_or_dominant_class():
    labeled = np.array([0.6, 0.3, 0.1])
    assert collapse_warning(np.array([0.55, 0.35, 0.10]), labeled) is None
    assert "class 2" in collapse_warning(np.array([0.7, 0.298, 0.002]), labeled)
    sparse_rare = np.array([0.88, 0.04, 0.04, 0.04])
    assert "onto class 0" in collapse_warning(np.array([0.995, 0.002, 0.002, 0.001]), sparse_rare)
    lopsided = np.array([0.995, 0.005, 0.0])
    assert collapse_warning(np.array([0.996, 0.004, 0.0]), lopsided) is None


def test_labeled_shares_ignore_unlabeled_pixels():
    mask = np.array([[0, 0, 1, 255]], np.uint8)
    np.testing.assert_allclose(labeled_shares([mask], 3), [2 / 3, 1 / 3, 0])


class ConstantHead(torch.nn.Module):
    """Predicts ``class_map`` on every tile, or one class everywhere."""

    def __init__(self, class_map, num_classes=2):
        super().__init__()
        self.logits = torch.nn.functional.one_hot(torch.as_tensor(class_map).long(), num_classes).permute(2, 0, 1).float()

    def forward(self, features, image):
        return self.logits[None].expand(image.shape[0], -1, -1, -1)


def test_collapsed_heads_are_not_kept(make_sample):
    rng = np.random.default_rng(0)
    sample, truth = make_sample(1, rng, labeled_fraction=0.1)
    tile = sample_tensors(sample)
    padded_truth = np.zeros(sample.image.shape[-2:], np.uint8)
    padded_truth[: truth.shape[0], : truth.shape[1]] = truth
    keeper = BestKeeper(HeadResult(head=None, best_step=0), [], [tile], np.array([0.5, 0.5]), 2, None)

    keeper.consider(ConstantHead(padded_truth), 10, {"train_loss": 0.5})
    keeper.consider(ConstantHead(np.zeros_like(padded_truth)), 20, {"train_loss": 0.1})

    assert keeper.result.best_step == 10
    assert len(keeper.result.warnings) == 1
    assert "Step 20" in keeper.result.warnings[0]
    assert [entry.get("collapsed") for entry in keeper.result.history] == [None, 1.0]


def test_clear_scene_has_no_collapse(make_sample):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    labeled = [make_sample(1, rng, labeled_fraction=0.05)[0]]
    unlabeled = [make_sample(i, rng)[0] for i in range(2, 5)]
    config = HeadConfig(steps=30, batch_size=4, crop_size=64, eval_every=10, warmup_steps=5)
    result = train_head(labeled, unlabeled, 2, config)
    assert result.warnings == []
    assert result.best_step > 0


def test_short_semi_supervised_runs_still_use_the_teacher(make_sample):
    """With 20 steps the default warm-up of 60 would never start the unsupervised loss."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    labeled = [make_sample(1, rng, labeled_fraction=0.05)[0]]
    unlabeled = [make_sample(2, rng)[0]]
    config = HeadConfig(steps=20, batch_size=4, crop_size=64, eval_every=5)
    history = train_head(labeled, unlabeled, 2, config).history
    assert any("unsupervised_loss" in entry for entry in history)
