import numpy as np
import pytest

from core.display.overlay import blend_classes, confidence_image, hex_to_rgb, thumbnail

PALETTE = {0: (0, 0, 0), 1: (0, 255, 0), 2: (255, 0, 0)}


def test_blend_weights_class_colour():
    rgb = np.full((1, 4, 3), 100, np.uint8)
    classes = np.array([[1, 2, 255, 7]], np.uint8)

    out = blend_classes(rgb, classes, PALETTE, opacity=0.5)

    np.testing.assert_array_equal(out[0, 0], [50, 178, 50])
    np.testing.assert_array_equal(out[0, 1], [178, 50, 50])
    np.testing.assert_array_equal(out[0, 2], [100, 100, 100])
    np.testing.assert_array_equal(out[0, 3], [100, 100, 100])


def test_hidden_classes_unblended():
    rgb = np.full((1, 2, 4), 100, np.uint8)
    classes = np.array([[1, 2]], np.uint8)

    out = blend_classes(rgb, classes, PALETTE, opacity=1.0, visible={2})

    assert out.shape == (1, 2, 3)
    np.testing.assert_array_equal(out[0, 0], [100, 100, 100])
    np.testing.assert_array_equal(out[0, 1], [255, 0, 0])


def test_blend_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="differs"):
        blend_classes(np.zeros((2, 2, 3), np.uint8), np.zeros((3, 2), np.uint8), PALETTE, 0.5)


def test_blend_rejects_opacity_outside_range():
    with pytest.raises(ValueError, match="opacity"):
        blend_classes(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8), PALETTE, 1.5)


def test_confidence_colours_are_ordered():
    confidence = np.array([[0.0, 0.5, 1.0, np.nan]])

    out = confidence_image(confidence)

    assert out.shape == (1, 4, 3)
    assert out.dtype == np.uint8
    luminance = out.astype(float) @ np.array([0.299, 0.587, 0.114])
    assert luminance[0, 0] < luminance[0, 1] < luminance[0, 2]
    np.testing.assert_array_equal(out[0, 3], out[0, 0])


@pytest.mark.parametrize("channels", [1, 3, 4, 6, 13])
def test_thumbnail_any_channel_count(channels):
    image = np.random.default_rng(0).integers(0, 255, (400, 300, channels), dtype=np.uint8)

    small = thumbnail(image, max_side=160)

    assert small.shape == (160, 120, channels)
    assert small.dtype == np.uint8


def test_thumbnail_keeps_small_images():
    image = np.zeros((10, 20, 4), np.uint8)

    assert thumbnail(image).shape == (10, 20, 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("#ff8800", (255, 136, 0)), ("00FF00", (0, 255, 0)), ("#f80", (255, 136, 0))],
)
def test_hex_to_rgb(text, expected):
    assert hex_to_rgb(text) == expected


def test_hex_to_rgb_rejects_names():
    with pytest.raises(ValueError, match="orange"):
        hex_to_rgb("orange")
