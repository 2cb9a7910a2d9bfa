"""Class overlays, confidence images, thumbnails and colour parsing."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

import cv2
import numpy as np

from core.display.colormaps import CONFIDENCE_ANCHORS, apply_lookup, lookup_table

UNLABELED = 255
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
# OpenCV's INTER_AREA cannot shrink arrays with more than 4 channels.
_MAX_CV_CHANNELS = 4


def blend_classes(
    rgb: np.ndarray,
    class_map: np.ndarray,
    palette: Mapping[int, tuple[int, int, int]],
    opacity: float,
    visible: Collection[int] | None = None,
) -> np.ndarray:
    """Blend class colours over a composite.

    Args:
        rgb: (H, W, 3) or (H, W, 4) uint8 composite; alpha is dropped.
        class_map: (H, W) uint8 class indices; 255 is unlabeled.
        palette: class index -> (r, g, b).
        opacity: weight of the class colour in [0, 1].
        visible: classes to draw, None for all classes in `palette`.

    Returns:
        (H, W, 3) uint8. Unlabeled pixels, hidden classes and classes missing
        from `palette` keep the composite's colour.

    Raises:
        ValueError: if the shapes differ or opacity is outside [0, 1].
    """
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise ValueError(f"Expected an (H, W, 3|4) composite, got shape {rgb.shape}.")
    if class_map.shape != rgb.shape[:2]:
        raise ValueError(
            f"Class map shape {class_map.shape} differs from composite shape {rgb.shape[:2]}."
        )
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}.")

    colours = np.zeros((256, 3), dtype=np.float32)
    drawn = np.zeros(256, dtype=bool)
    for index, colour in palette.items():
        if index == UNLABELED or not 0 <= index < 256:
            continue
        if visible is None or index in visible:
            colours[index] = colour
            drawn[index] = True

    base = rgb[..., :3].astype(np.float32)
    classes = class_map.astype(np.intp)
    weight = np.where(drawn[classes], np.float32(opacity), np.float32(0.0))[..., None]
    blended = base * (1.0 - weight) + colours[classes] * weight
    return np.round(blended).astype(np.uint8)


def confidence_image(confidence: np.ndarray) -> np.ndarray:
    """Colour a confidence map with a viridis-like perceptual colour map.

    Args:
        confidence: (H, W) float in [0, 1] (values outside are clipped, NaN
            gets the colour of 0).

    Returns:
        (H, W, 3) uint8, dark purple at 0 and yellow at 1.
    """
    return apply_lookup(confidence, lookup_table(CONFIDENCE_ANCHORS), 0.0, 1.0)


def thumbnail(rgba: np.ndarray, max_side: int = 160) -> np.ndarray:
    """Shrink an image so that its longer side is at most `max_side` pixels.

    Uses area averaging, per channel when there are more than 4 channels.
    Images already small enough are returned as a copy.

    Args:
        rgba: (H, W) or (H, W, C) array of a dtype OpenCV resizes (uint8, uint16, float32).
        max_side: maximum output height and width, >= 1.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}.")
    height, width = rgba.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return rgba.copy()
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if rgba.ndim == 3 and rgba.shape[2] > _MAX_CV_CHANNELS:
        channels = [
            cv2.resize(rgba[..., c], size, interpolation=cv2.INTER_AREA)
            for c in range(rgba.shape[2])
        ]
        return np.stack(channels, axis=-1)
    resized = cv2.resize(rgba, size, interpolation=cv2.INTER_AREA)
    if rgba.ndim == 3 and resized.ndim == 2:
        resized = resized[..., np.newaxis]
    return resized


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """Parse "#rrggbb", "rrggbb" or "#rgb" into (r, g, b) in 0-255.

    Raises:
        ValueError: for any other string.
    """
    match = _HEX_COLOUR.fullmatch(color.strip())
    if match is None:
        raise ValueError(f"Invalid colour {color!r}; use a hex colour such as '#ff8800'.")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
