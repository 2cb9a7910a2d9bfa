"""Comparing predictions with labels and with each other: error maps, difference maps, class areas."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.labels.files import UNLABELED

# Codes of `error_map`.
NOT_LABELED, RIGHT, WRONG, MISSED = 0, 1, 2, 3
ERROR_COLOURS: dict[int, tuple[int, int, int]] = {
    RIGHT: (26, 152, 80),
    WRONG: (215, 48, 39),
    MISSED: (253, 174, 97),
}


def error_map(label: np.ndarray, prediction: np.ndarray, class_index: int | None = None) -> np.ndarray:
    """Classify every labeled pixel as right, wrong or missed.

    Without ``class_index``, WRONG is a labeled pixel predicted as another class
    and MISSED a labeled pixel the prediction left invalid (255). With
    ``class_index``, the map is about that class only. WRONG is a false
    positive (predicted as the class, labeled as another) and MISSED a false
    negative (labeled as the class, predicted as another or invalid). Every
    other labeled pixel is RIGHT, because a mix-up between two other classes
    is no error of this class.

    Args:
        label: (H, W) uint8 mask, 255 = unlabeled.
        prediction: (H, W) uint8 class map, 255 = invalid.
        class_index: Optional class to focus on.

    Returns:
        (H, W) uint8 codes: NOT_LABELED, RIGHT, WRONG or MISSED.
    """
    if label.shape != prediction.shape:
        raise ValueError(f"Label shape {label.shape} differs from prediction shape {prediction.shape}.")
    labeled = label != UNLABELED
    codes = np.full(label.shape, NOT_LABELED, dtype=np.uint8)
    agree = labeled & (label == prediction)
    codes[agree] = RIGHT
    if class_index is None:
        codes[labeled & ~agree & (prediction != UNLABELED)] = WRONG
        codes[labeled & (prediction == UNLABELED)] = MISSED
        return codes

    codes[labeled & ~agree] = RIGHT  # disagreements about other classes do not concern this class
    codes[labeled & (prediction == class_index) & (label != class_index)] = WRONG
    codes[labeled & (label == class_index) & (prediction != class_index)] = MISSED
    return codes


def error_counts(codes: np.ndarray) -> dict[str, int]:
    """Count right, wrong and missed pixels of an `error_map`."""
    return {
        "right": int((codes == RIGHT).sum()),
        "wrong": int((codes == WRONG).sum()),
        "missed": int((codes == MISSED).sum()),
    }


def paint_codes(rgba: np.ndarray, codes: np.ndarray, colours: Mapping[int, tuple[int, int, int]], dim: float = 0.4) -> np.ndarray:
    """Draw coded pixels in their colours over a dimmed composite.

    Args:
        rgba: (H, W, 4) uint8 composite; transparent pixels become black.
        codes: (H, W) integer codes; codes missing from ``colours`` show the composite.
        colours: Code -> RGB colour.
        dim: Brightness factor in [0, 1] of the composite under the codes.

    Returns:
        (H, W, 3) uint8 RGB image.
    """
    rgb = (rgba[..., :3].astype(np.float32) * dim).astype(np.uint8)
    for code, colour in colours.items():
        rgb[codes == code] = colour
    rgb[rgba[..., 3] == 0] = 0
    return rgb


def error_image(rgba: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Render an `error_map` over a dimmed composite: right green, wrong red, missed orange."""
    return paint_codes(rgba, codes, ERROR_COLOURS)


def difference_map(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Return (H, W) bool: pixels both class maps predict (not 255) with different classes."""
    if first.shape != second.shape:
        raise ValueError(f"Class map shapes differ: {first.shape} and {second.shape}.")
    both = (first != UNLABELED) & (second != UNLABELED)
    return both & (first != second)


def difference_image(rgba: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Render the pixels where two class maps differ in magenta over a dimmed composite."""
    return paint_codes(rgba, difference_map(first, second).astype(np.uint8), {1: (255, 0, 255)})


def class_area_shares(class_counts: Mapping[str, int], class_indices: list[int]) -> dict[int, float]:
    """Return class index -> share of predicted pixels in [0, 1], from a prediction's ``class_counts``."""
    counts = {index: int(class_counts.get(str(index), 0)) for index in class_indices}
    total = sum(counts.values())
    return {index: (count / total if total else 0.0) for index, count in counts.items()}
