"""Header parsing for PNG and JPEG files without decoding any pixel."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from core.raster.errors import TileReadError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"

# PNG colour type -> bands as cv2.imread(IMREAD_UNCHANGED) returns them.
# Palette images decode to 3 bands (4 with a tRNS chunk); grey+alpha decodes to 4.
_PNG_BANDS = {0: 1, 2: 3, 3: 3, 4: 4, 6: 4}
# JPEG start-of-frame markers (baseline, extended, progressive, lossless).
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True)
class ImageHeader:
    """Size, band count and numpy dtype name of a PNG or JPEG image."""

    bands: int
    height: int
    width: int
    dtype: str


def read_png_header(path: Path, head: bytes, tail: bytes) -> ImageHeader:
    """Parse the IHDR chunk and check that the file ends with an IEND chunk.

    Args:
        path: file path, for messages.
        head: the first bytes of the file (64 KiB is enough to reach IDAT).
        tail: the last 12 bytes of the file.
    """
    content = head
    if len(content) < 33 or content[12:16] != b"IHDR":
        raise TileReadError(
            f"{path}: the PNG header is missing or damaged; export the image again."
        )
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", content[16:26])
    if colour_type not in _PNG_BANDS:
        raise TileReadError(
            f"{path}: PNG colour type {colour_type} is invalid; export the image again."
        )
    if b"IEND" not in tail:
        raise TileReadError(
            f"{path}: the PNG file is truncated (no IEND chunk at the end); copy it again from the source."
        )
    bands = _PNG_BANDS[colour_type]
    if colour_type == 3 and b"tRNS" in content.split(b"IDAT", 1)[0]:
        bands = 4
    dtype = "uint16" if bit_depth == 16 else "uint8"
    return ImageHeader(bands=bands, height=height, width=width, dtype=dtype)


def read_jpeg_header(path: Path, content: bytes) -> ImageHeader:
    """Walk the JPEG markers to the start-of-frame segment."""
    position = 2
    while position + 4 <= len(content):
        if content[position] != 0xFF:
            break
        marker = content[position + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", content[position + 2 : position + 4])
        if marker in _JPEG_SOF and position + 10 <= len(content):
            precision, height, width, components = struct.unpack(
                ">BHHB", content[position + 4 : position + 10]
            )
            dtype = "uint16" if precision > 8 else "uint8"
            return ImageHeader(bands=components, height=height, width=width, dtype=dtype)
        position += 2 + length
    raise TileReadError(
        f"{path}: no JPEG frame header found (truncated or damaged file); export the image again."
    )
