"""Suggesting which tile to label next: prediction uncertainty combined with embedding novelty.

Uncertainty is 1 - the tile's mean confidence (top softmax probability over
valid pixels). Novelty is the cosine distance from the tile's backbone
embedding to the nearest labeled tile's embedding, so tiles unlike anything
labeled so far rank higher. The embedding is the mean over positions of the
coarsest cached feature level.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.labels.versions import latest_labels_for_project
from core.store.models import Backbone, Prediction, Run, Tile
from core.store.workspace import Workspace
from core.training.features import FeatureCache, feature_cache_key

logger = logging.getLogger(__name__)

DEFAULT_NOVELTY_WEIGHT = 0.5


@dataclass(frozen=True)
class TileScore:
    """The "label next" score of one tile.

    Attributes:
        tile_id: Database id of the tile.
        uncertainty: 1 - mean confidence, in [0, 1].
        novelty: Cosine distance to the nearest labeled tile's embedding, clipped
            to [0, 1]; None when the tile's features are not cached.
        score: The combined score in [0, 1]; higher means label it sooner.
        labeled: Whether the tile has a label already.
    """

    tile_id: int
    uncertainty: float
    novelty: float | None
    score: float
    labeled: bool


def pooled_embedding(features: Sequence[np.ndarray]) -> np.ndarray:
    """Mean-pool the last (coarsest) feature level (C, h, w) into a (C,) float32 vector."""
    if not features:
        raise ValueError("No feature levels given; extract the tile's backbone features first.")
    return features[-1].astype(np.float32).mean(axis=(1, 2))


def nearest_cosine_distance(embeddings: Mapping[int, np.ndarray], labeled_ids: set[int]) -> dict[int, float]:
    """Return tile id -> cosine distance to the nearest embedding of a labeled tile (another tile).

    A labeled tile's own embedding is left out of its own comparison. A tile
    gets 1.0 when no labeled embedding exists to compare with.
    """
    ids = list(embeddings)
    if not ids:
        return {}
    matrix = np.stack([embeddings[i] for i in ids]).astype(np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = matrix / np.where(norms > 0, norms, 1.0)
    reference = [position for position, tile_id in enumerate(ids) if tile_id in labeled_ids]
    distances: dict[int, float] = {}
    for position, tile_id in enumerate(ids):
        others = [r for r in reference if r != position]
        if not others:
            distances[tile_id] = 1.0
            continue
        similarity = unit[others] @ unit[position]
        distances[tile_id] = float(1.0 - similarity.max())
    return distances


def combine_scores(uncertainty: float, novelty: float | None, novelty_weight: float = DEFAULT_NOVELTY_WEIGHT) -> float:
    """Return (1 - w) * uncertainty + w * novelty, or the uncertainty alone when novelty is unknown.

    Args:
        uncertainty: 1 - mean confidence, in [0, 1].
        novelty: Cosine distance, clipped to [0, 1] here, or None.
        novelty_weight: w in [0, 1].
    """
    if not 0.0 <= novelty_weight <= 1.0:
        raise ValueError(f"Invalid novelty weight {novelty_weight}; expected a value in [0, 1].")
    if novelty is None:
        return uncertainty
    return (1.0 - novelty_weight) * uncertainty + novelty_weight * min(max(novelty, 0.0), 1.0)


def cached_embeddings(workspace: Workspace, backbone: Backbone, tiles: Sequence[Tile]) -> dict[int, np.ndarray]:
    """Return tile id -> pooled embedding for every tile whose features are in the feature cache.

    Tiles without cached features are left out rather than computed here,
    because a backbone pass is too slow for a page render.
    """
    cache = FeatureCache(workspace.cache_dir / "features")
    embeddings: dict[int, np.ndarray] = {}
    for tile in tiles:
        features = cache.get(feature_cache_key(backbone.sha256, tile.content_hash, backbone.normalization))
        if features is not None:
            embeddings[tile.id] = pooled_embedding(features)
    missing = len(tiles) - len(embeddings)
    if missing:
        logger.info("Backbone %d: %d of %d tiles have no cached features; ranked by uncertainty only", backbone.id, missing, len(tiles))
    return embeddings


def rank_tiles(
    session: Session, workspace: Workspace, run_id: int, novelty_weight: float = DEFAULT_NOVELTY_WEIGHT
) -> list[TileScore]:
    """Score every tile the run predicted for labeling next, highest score first.

    Raises:
        LookupError: the run does not exist.
    """
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"Run {run_id} not found.")
    predictions = {p.tile_id: p for p in session.scalars(select(Prediction).where(Prediction.run_id == run_id))}
    tiles = list(session.scalars(select(Tile).where(Tile.id.in_(list(predictions)))))
    labeled_ids = set(latest_labels_for_project(session, run.project_id))
    backbone = session.get(Backbone, run.backbone_id) if run.backbone_id else None

    embeddings = cached_embeddings(workspace, backbone, tiles) if backbone is not None else {}
    novelty = nearest_cosine_distance(embeddings, labeled_ids)
    scores = []
    for tile in tiles:
        uncertainty = 1.0 - float(predictions[tile.id].mean_confidence)
        tile_novelty = novelty.get(tile.id)
        score = combine_scores(uncertainty, tile_novelty, novelty_weight)
        scores.append(TileScore(tile.id, uncertainty, tile_novelty, score, tile.id in labeled_ids))
    scores.sort(key=lambda s: (-s.score, s.tile_id))
    return scores
