"""Label-next ranking: embeddings, nearest labeled distance, combined scores."""

from __future__ import annotations

import numpy as np
import pytest

from core.review.ranking import (
    combine_scores,
    nearest_cosine_distance,
    pooled_embedding,
    rank_tiles,
)
from core.store.engine import session_scope


def test_pooled_embedding_uses_last_level():
    levels = [np.ones((2, 8, 8), np.float16), np.arange(12, dtype=np.float16).reshape(3, 2, 2)]

    embedding = pooled_embedding(levels)

    assert embedding.dtype == np.float32
    assert embedding.tolist() == [1.5, 5.5, 9.5]


def test_nearest_distance_to_labeled():
    embeddings = {1: np.array([1.0, 0.0]), 2: np.array([0.0, 1.0]), 3: np.array([1.0, 1.0])}

    distances = nearest_cosine_distance(embeddings, labeled_ids={1})

    assert distances[2] == pytest.approx(1.0)
    assert distances[3] == pytest.approx(1 - np.sqrt(0.5))
    # The only labeled tile has no other labeled tile to compare with.
    assert distances[1] == pytest.approx(1.0)


def test_nearest_distance_without_labels():
    distances = nearest_cosine_distance({1: np.ones(3), 2: np.zeros(3)}, labeled_ids=set())

    assert distances == {1: 1.0, 2: 1.0}


def test_combine_scores_weights():
    assert combine_scores(0.2, 0.6, novelty_weight=0.5) == pytest.approx(0.4)
    assert combine_scores(0.2, None) == pytest.approx(0.2)
    assert combine_scores(0.2, 3.0, novelty_weight=1.0) == pytest.approx(1.0)


def test_combine_scores_invalid_weight():
    with pytest.raises(ValueError, match="novelty weight 1.5"):
        combine_scores(0.1, 0.1, novelty_weight=1.5)


def test_rank_tiles_of_run(trained_run):
    with session_scope(trained_run.workspace.database_url) as session:
        scores = rank_tiles(session, trained_run.workspace, trained_run.run_id)

    assert sorted(s.tile_id for s in scores) == sorted(trained_run.tile_ids)
    assert [s.score for s in scores] == sorted((s.score for s in scores), reverse=True)
    assert {s.tile_id for s in scores if s.labeled} == {trained_run.tile_ids[0]}
    # The job cached every tile's features, so every tile has a novelty term.
    assert all(s.novelty is not None for s in scores)
    for score in scores:
        assert 0.0 <= score.uncertainty <= 1.0
        assert score.score == pytest.approx(combine_scores(score.uncertainty, score.novelty))


def test_rank_tiles_uncertainty_only(trained_run):
    with session_scope(trained_run.workspace.database_url) as session:
        scores = rank_tiles(session, trained_run.workspace, trained_run.run_id, novelty_weight=0.0)

    uncertainties = [s.uncertainty for s in scores]
    assert uncertainties == sorted(uncertainties, reverse=True)


def test_rank_tiles_unknown_run(trained_run):
    with session_scope(trained_run.workspace.database_url) as session, pytest.raises(LookupError, match="Run 999"):
        rank_tiles(session, trained_run.workspace, 999)
