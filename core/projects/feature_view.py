"""Feature view: the first three principal components of a tile's backbone features as an image."""

from __future__ import annotations

import numpy as np

from core.projects.backbones import load_frozen
from core.projects.tiles import load_raster, standardize
from core.store.models import Backbone, Project, Tile
from core.store.workspace import Workspace
from core.training.features import FeatureCache, extract_features, feature_cache_key


def tile_features(workspace: Workspace, project: Project, tile: Tile, backbone: Backbone) -> list[np.ndarray]:
    """Return a tile's cached backbone features, extracting and caching them when missing."""
    cache = FeatureCache(workspace.cache_dir / "features")
    key = feature_cache_key(backbone.sha256, tile.content_hash, backbone.normalization)
    features = cache.get(key)
    if features is None:
        image = standardize(load_raster(tile), project.band_names, backbone.normalization)
        features = extract_features(load_frozen(backbone), image)
        cache.put(key, features)
    return features


def pca_image(features: np.ndarray) -> np.ndarray:
    """Project (C, h, w) features on their first three principal components.

    Returns:
        (h, w, 3) uint8, each component stretched between its 2nd and 98th percentiles.
    """
    channels, height, width = features.shape
    flat = features.reshape(channels, -1).astype(np.float64)
    flat -= flat.mean(axis=1, keepdims=True)
    # The left singular vectors of the centred (C, N) matrix are the principal axes.
    axes, _, _ = np.linalg.svd(flat @ flat.T)
    components = axes[:, :3].T @ flat
    low = np.percentile(components, 2, axis=1, keepdims=True)
    high = np.percentile(components, 98, axis=1, keepdims=True)
    scaled = np.clip((components - low) / np.maximum(high - low, 1e-9), 0, 1)
    return (scaled.T.reshape(height, width, 3) * 255).astype(np.uint8)


def feature_view(workspace: Workspace, project: Project, tile: Tile, backbone: Backbone, level: int = 1) -> np.ndarray:
    """Return the PCA image of one feature level (0 = stride 4 ... 3 = stride 32), cropped to the tile."""
    features = tile_features(workspace, project, tile, backbone)[level].astype(np.float32)
    stride = 4 * 2**level
    image = pca_image(features)
    return image[: -(-tile.height // stride), : -(-tile.width // stride)]
