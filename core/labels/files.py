"""Mask files: lossless PNG written atomically, hashed, and verified on read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from core.raster.atomic import write_bytes_atomic

UNLABELED = 255


class MaskFileError(ValueError):
    """A mask file is missing, unreadable or does not match its stored hash."""


class LabelWriteError(OSError):
    """A mask file could not be written (read-only folder, full disk...)."""


def sha256_bytes(data: bytes) -> str:
    """Return the hex SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def encode_png(array: np.ndarray) -> bytes:
    """Encode an (H, W) uint8/uint16 or (H, W, 3) uint8 RGB array as PNG bytes."""
    image = array
    if array.ndim == 3:
        image = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, buffer = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"PNG encoding failed for an array of shape {array.shape} and dtype {array.dtype}")
    return buffer.tobytes()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating the folder first.

    A crash leaves either the old file or the new one, never a torn file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data)


def write_mask_png(path: Path, mask: np.ndarray) -> str:
    """Write an (H, W) uint8 mask as PNG atomically and return the file's SHA-256.

    Raises:
        LabelWriteError: the folder cannot be created or written; the message names it.
    """
    data = encode_png(mask)
    try:
        write_atomic(path, data)
    except OSError as error:
        reason = error.strerror or str(error)
        raise LabelWriteError(
            error.errno,
            f"Cannot write the mask file {path.name} in folder {path.parent}: {reason}. "
            "Make the workspace's labels folder writable and free some disk space, then save again.",
        ) from error
    return sha256_bytes(data)


def read_mask_png(path: Path, expected_sha256: str | None = None) -> np.ndarray:
    """Read an (H, W) uint8 mask PNG, checking its hash when one is given.

    Raises:
        MaskFileError: the file is missing, unreadable, not single-channel
            uint8, or its content differs from ``expected_sha256``.
    """
    if not path.is_file():
        raise MaskFileError(f"Mask file not found: {path}. Restore it from a backup or relabel the tile.")
    data = path.read_bytes()
    if expected_sha256 is not None and sha256_bytes(data) != expected_sha256:
        raise MaskFileError(
            f"Mask file {path} does not match its stored hash; it was changed or corrupted "
            "outside the app. Restore an earlier label version from the tile's history."
        )
    mask = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if mask is None or mask.ndim != 2 or mask.dtype != np.uint8:
        raise MaskFileError(f"Mask file {path} is not a single-channel 8-bit PNG.")
    return mask
