"""Error maps, difference maps and class area shares."""

from __future__ import annotations

import numpy as np

from core.review.compare import (
    MISSED,
    NOT_LABELED,
    RIGHT,
    WRONG,
    class_area_shares,
    difference_map,
    error_counts,
    error_image,
    error_map,
)

LABEL = np.array([[0, 1, 1, 255], [2, 0, 1, 1]], dtype=np.uint8)
PREDICTION = np.array([[0, 1, 0, 1], [1, 255, 1, 2]], dtype=np.uint8)


def test_error_map_all_classes():
    codes = error_map(LABEL, PREDICTION)

    assert codes.tolist() == [[RIGHT, RIGHT, WRONG, NOT_LABELED], [WRONG, MISSED, RIGHT, WRONG]]
    assert error_counts(codes) == {"right": 3, "wrong": 3, "missed": 1}


def test_error_map_one_class():
    codes = error_map(LABEL, PREDICTION, class_index=1)

    # Labeled 1 predicted 0 or 2: missed. Labeled 2 predicted 1: wrong. Labeled 0 predicted 255: right for class 1.
    assert codes.tolist() == [[RIGHT, RIGHT, MISSED, NOT_LABELED], [WRONG, RIGHT, RIGHT, MISSED]]


def test_error_image_colours():
    rgba = np.full((2, 4, 4), 255, dtype=np.uint8)
    codes = error_map(LABEL, PREDICTION)

    image = error_image(rgba, codes)

    assert image.shape == (2, 4, 3)
    assert image[0, 0].tolist() == [26, 152, 80]
    assert image[0, 2].tolist() == [215, 48, 39]
    assert image[0, 3].tolist() == [102, 102, 102]


def test_difference_map_ignores_invalid():
    other = np.array([[0, 0, 0, 255], [1, 1, 1, 1]], dtype=np.uint8)

    differs = difference_map(PREDICTION, other)

    assert differs.tolist() == [[False, True, False, False], [False, False, False, True]]


def test_class_area_shares():
    shares = class_area_shares({"0": 30, "1": 10}, [0, 1, 2])

    assert shares == {0: 0.75, 1: 0.25, 2: 0.0}
    assert class_area_shares({}, [0, 1]) == {0: 0.0, 1: 0.0}
