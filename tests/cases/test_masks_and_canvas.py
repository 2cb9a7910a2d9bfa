"""External int8 masks with -1 = unlabeled and canvas RGBA strokes turned into class indices."""

import numpy as np
import tifffile

from core.display.canvas import NOT_PAINTED, apply_strokes, canvas_to_mask
from core.raster.write import read_mask_file

ORANGE = (255, 165, 0)


def test_int8_minus_one_becomes_unlabeled(case_path):
    path = case_path("C13_partial_mask_int8_ignore_minus1.tif")
    stored = tifffile.imread(path)

    mask = read_mask_file(path, class_count=2)

    assert mask.dtype == np.uint8
    assert mask.shape == stored.shape
    np.testing.assert_array_equal(mask == 255, stored == -1)
    np.testing.assert_array_equal(mask == 1, stored == 1)


def test_canvas_stroke_becomes_class_indices(case_path):
    rgba = tifffile.imread(case_path("C14_canvas_rgba_stroke.tif"))
    stroke = rgba[..., 3] > 0

    painted = canvas_to_mask(rgba, {ORANGE: 3, (255, 255, 255): 255}, (256, 256))

    assert set(np.unique(painted)) == {3, NOT_PAINTED}
    np.testing.assert_array_equal(painted == 3, stroke)


def test_canvas_stroke_at_half_resolution(case_path):
    rgba = tifffile.imread(case_path("C14_canvas_rgba_stroke.tif"))

    painted = canvas_to_mask(rgba, {ORANGE: 1}, (128, 128))

    expected = rgba[1::2, 1::2, 3] > 0
    np.testing.assert_array_equal(painted == 1, expected)


def test_canvas_colour_not_in_table_paints_nothing(case_path):
    rgba = tifffile.imread(case_path("C14_canvas_rgba_stroke.tif"))

    painted = canvas_to_mask(rgba, {(0, 0, 255): 1}, (256, 256))

    assert (painted == NOT_PAINTED).all()


def test_canvas_stroke_applied_to_existing_mask(case_path):
    rgba = tifffile.imread(case_path("C14_canvas_rgba_stroke.tif"))
    existing = np.full((256, 256), 255, np.uint8)
    existing[:10] = 0

    mask = apply_strokes(existing, canvas_to_mask(rgba, {ORANGE: 2}, (256, 256)))

    stroke = rgba[..., 3] > 0
    assert (mask[stroke] == 2).all()
    np.testing.assert_array_equal(mask[~stroke], existing[~stroke])
