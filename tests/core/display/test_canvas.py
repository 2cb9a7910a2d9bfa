import numpy as np
import pytest

from core.display.canvas import NOT_PAINTED, apply_strokes, canvas_to_mask

ORANGE = (255, 165, 0)
BLUE = (0, 0, 255)
ERASER = (255, 255, 255)
TABLE = {ORANGE: 1, BLUE: 2, ERASER: 255}


def canvas(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width, 4), np.uint8)


def test_colours_mapped_through_table():
    image = canvas(2, 3)
    image[0, 0] = (*ORANGE, 255)
    image[0, 1] = (250, 160, 10, 255)  # anti-aliased edge of the orange stroke
    image[1, 0] = (*BLUE, 255)
    image[1, 1] = (*ERASER, 255)
    image[1, 2] = (*ORANGE, 40)  # too transparent

    mask = canvas_to_mask(image, TABLE, (2, 3))

    np.testing.assert_array_equal(mask, [[1, 1, NOT_PAINTED], [2, 255, NOT_PAINTED]])


def test_unknown_colour_is_not_painted():
    image = canvas(1, 1)
    image[0, 0] = (120, 0, 200, 255)

    assert canvas_to_mask(image, TABLE, (1, 1))[0, 0] == NOT_PAINTED


def test_high_dpi_canvas_downsampled_by_pixel_centres():
    # Canvas at twice the tile size: tile pixel (r, c) reads canvas pixel (2r + 1, 2c + 1).
    image = canvas(8, 8)
    image[1::2, 1::2] = (*ORANGE, 255)

    mask = canvas_to_mask(image, TABLE, (4, 4))

    assert (mask == 1).all()


def test_small_canvas_upsampled_without_new_classes():
    image = canvas(2, 2)
    image[0, 0] = (*ORANGE, 255)
    image[1, 1] = (*BLUE, 255)

    mask = canvas_to_mask(image, TABLE, (5, 5))

    assert set(np.unique(mask)) == {1, 2, NOT_PAINTED}
    assert mask[0, 0] == 1
    assert mask[4, 4] == 2
    assert (mask[:2, :2] == 1).all()


def test_table_value_254_rejected():
    with pytest.raises(ValueError, match="254"):
        canvas_to_mask(canvas(1, 1), {ORANGE: NOT_PAINTED}, (1, 1))


def test_apply_strokes_overrides_painted_only():
    mask = np.array([[0, 1, 255]], np.uint8)
    painted = np.array([[NOT_PAINTED, 255, 2]], np.uint8)

    result = apply_strokes(mask, painted)

    np.testing.assert_array_equal(result, [[0, 255, 2]])
    np.testing.assert_array_equal(mask, [[0, 1, 255]])
