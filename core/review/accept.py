"""Accepting a run's prediction into a tile's label, as a new label version."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.labels.files import UNLABELED
from core.labels.versions import load_mask_or_empty, save_label
from core.projects.render import read_prediction
from core.store.models import Label, Prediction, Tile
from core.store.workspace import Workspace

logger = logging.getLogger(__name__)

AcceptMode = Literal["all", "confident", "class"]
ACCEPT_MODES: tuple[str, ...] = ("all", "confident", "class")


@dataclass(frozen=True)
class AcceptResult:
    """Outcome of accepting a prediction into a label.

    Attributes:
        label: The new label version, or None when no pixel changed.
        accepted_pixels: Pixels whose stored value changed.
        candidate_pixels: Predicted pixels the mode selected, before merging.
    """

    label: Label | None
    accepted_pixels: int
    candidate_pixels: int


def select_pixels(
    class_map: np.ndarray,
    confidence: np.ndarray,
    mode: AcceptMode,
    threshold: float = 0.9,
    class_index: int | None = None,
) -> np.ndarray:
    """Return the (H, W) bool mask of predicted pixels that ``mode`` accepts.

    Args:
        class_map: (H, W) uint8 predicted classes, 255 where the prediction is invalid.
        confidence: (H, W) float32 top softmax probability in [0, 1].
        mode: ``"all"`` takes every valid pixel, ``"confident"`` those with
            confidence >= ``threshold``, ``"class"`` those predicted as ``class_index``.
        threshold: Confidence threshold in [0, 1] of the ``"confident"`` mode.
        class_index: Class of the ``"class"`` mode.

    Raises:
        ValueError: for an unknown mode, a threshold outside [0, 1], a missing
            class index, or shapes that differ.
    """
    if class_map.shape != confidence.shape:
        raise ValueError(f"Class map shape {class_map.shape} differs from confidence shape {confidence.shape}.")
    valid = class_map != UNLABELED
    match mode:
        case "all":
            return valid
        case "confident":
            if not 0.0 <= threshold <= 1.0:
                raise ValueError(f"Invalid confidence threshold {threshold}; expected a value in [0, 1].")
            return valid & (confidence >= threshold)
        case "class":
            if class_index is None:
                raise ValueError("Accept mode 'class' needs a class index; pick the class to accept.")
            return valid & (class_map == class_index)
        case _:
            raise ValueError(f"Invalid accept mode {mode!r}; expected one of {ACCEPT_MODES}.")


def merge_prediction(current: np.ndarray, class_map: np.ndarray, selected: np.ndarray, replace: bool = False) -> np.ndarray:
    """Return ``current`` with the selected predicted pixels written into it.

    Args:
        current: (H, W) uint8 mask, 255 = unlabeled.
        class_map: (H, W) uint8 predicted classes.
        selected: (H, W) bool pixels to accept, from `select_pixels`.
        replace: If False, pixels already labeled in ``current`` keep their class.
            If True, the prediction overwrites them too.
    """
    if current.shape != class_map.shape:
        raise ValueError(
            f"Label shape {current.shape} differs from prediction shape {class_map.shape}; "
            "the prediction belongs to another tile size."
        )
    writable = selected if replace else selected & (current == UNLABELED)
    return np.where(writable, class_map, current).astype(np.uint8)


def accept_prediction(
    session: Session,
    workspace: Workspace,
    run_id: int,
    tile_id: int,
    mode: AcceptMode,
    threshold: float = 0.9,
    class_index: int | None = None,
    replace: bool = False,
) -> AcceptResult:
    """Merge a run's prediction of one tile into the tile's newest label.

    The result is stored with `save_label` under the source ``accepted:run<N>``,
    so it is an ordinary label version that can be corrected or restored.
    Nothing is saved when no pixel changes.

    Raises:
        LookupError: the tile or the run's prediction of it does not exist.
        FileNotFoundError: the prediction files are missing.
        ValueError: for invalid mode settings (see `select_pixels`).
    """
    tile = session.get(Tile, tile_id)
    if tile is None:
        raise LookupError(f"Tile {tile_id} not found.")
    prediction = session.scalar(select(Prediction).where(Prediction.run_id == run_id, Prediction.tile_id == tile_id))
    if prediction is None:
        raise LookupError(f"Run {run_id} has no prediction of tile {tile.name!r}; pick a tile the run predicted.")

    class_map, confidence = read_prediction(prediction.class_path, prediction.confidence_path)
    selected = select_pixels(class_map, confidence, mode, threshold, class_index)
    current = load_mask_or_empty(session, tile)
    merged = merge_prediction(current, class_map, selected, replace)
    changed = int((merged != current).sum())
    if changed == 0:
        logger.info("Accepting run %d on tile %d changed no pixel; no label saved", run_id, tile_id)
        return AcceptResult(None, 0, int(selected.sum()))

    label = save_label(session, workspace, tile, merged, source=f"accepted:run{run_id}")
    logger.info(
        "Accepted run %d (%s) into tile %d as label version %d: %d pixels changed",
        run_id, mode, tile_id, label.version, changed,
    )
    return AcceptResult(label, changed, int(selected.sum()))
