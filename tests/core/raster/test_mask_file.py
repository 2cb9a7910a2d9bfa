from pathlib import Path

import cv2
import numpy as np
import pytest

from core.raster.write import read_mask_file


def test_negative_values_become_unlabeled(write_tile):
    mask = np.array([[-1, 0], [1, 2]], dtype=np.int8)

    result = read_mask_file(write_tile(array=mask), class_count=3)

    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, [[255, 0], [1, 2]])


def test_ignore_values_become_unlabeled(tmp_path: Path):
    path = tmp_path / "mask.png"
    cv2.imwrite(str(path), np.array([[0, 1], [99, 2]], np.uint8))

    result = read_mask_file(path, ignore_values=(99,), class_count=3)

    np.testing.assert_array_equal(result, [[0, 1], [255, 2]])


def test_uint16_mask_with_large_ignore_value(write_tile):
    mask = np.array([[65535, 1]], dtype=np.uint16)

    result = read_mask_file(write_tile(array=mask), ignore_values=(65535,))

    np.testing.assert_array_equal(result, [[255, 1]])


def test_values_beyond_class_count_named(write_tile):
    path = write_tile(array=np.array([[0, 4]], dtype=np.uint8))

    with pytest.raises(ValueError, match=r"\[4\]") as error:
        read_mask_file(path, class_count=3)
    assert str(path) in str(error.value)


def test_colour_mask_rejected(tmp_path: Path):
    path = tmp_path / "colour.png"
    cv2.imwrite(str(path), np.ones((2, 2, 3), np.uint8))

    with pytest.raises(ValueError, match="1 band"):
        read_mask_file(path)


def test_fractional_float_mask_rejected(write_tile):
    path = write_tile(array=np.array([[0.5, 1.0]], dtype=np.float32))

    with pytest.raises(ValueError, match="non-integer"):
        read_mask_file(path)
