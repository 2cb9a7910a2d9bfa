"""Bad files in an import folder: each is left out with a reason, the rest import."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile

from core.projects.importer import create_project
from core.raster.header import read_header
from core.raster.scan import MAX_TILE_SIDE, scan_folder
from core.store.engine import session_scope


def absurd_tiff_bytes(side: int) -> bytes:
    """Return a valid little-endian TIFF whose header declares ``side`` x ``side`` 8-bit pixels.

    The pixel data is a few deflate-compressed bytes, so the file is tiny and
    only a reader that allocates from the header would notice the size.
    """
    data = zlib.compress(b"\x00" * 64)
    entries = [
        (256, 4, side), (257, 4, side), (258, 3, 8), (259, 3, 8), (262, 3, 1),
        (273, 4, 0), (277, 3, 1), (278, 4, side), (279, 4, len(data)),
    ]
    ifd_offset = 8
    data_offset = ifd_offset + 2 + 12 * len(entries) + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_offset) + struct.pack("<H", len(entries)))
    for tag, field_type, value in entries:
        value = data_offset if tag == 273 else value
        if field_type == 3:
            out += struct.pack("<HHIHH", tag, field_type, 1, value, 0)
        else:
            out += struct.pack("<HHII", tag, field_type, 1, value)
    out += struct.pack("<I", 0) + data
    return bytes(out)


def write_good_tile(path: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    tifffile.imwrite(path, rng.integers(0, 4000, (3, 32, 40), dtype=np.uint16), photometric="minisblack", planarconfig="separate")


@pytest.fixture
def messy_folder(tmp_path: Path) -> Path:
    """A folder with two good tiles and one file of each bad kind."""
    folder = tmp_path / "messy"
    folder.mkdir()
    write_good_tile(folder / "good_a.tif", 0)
    write_good_tile(folder / "good_b.tif", 1)
    (folder / "empty.tif").write_bytes(b"")
    good_bytes = (folder / "good_a.tif").read_bytes()
    (folder / "truncated.tif").write_bytes(good_bytes[: len(good_bytes) // 2])
    (folder / "notes.png").write_text("this is not an image")
    (folder / "huge.tif").write_bytes(absurd_tiff_bytes(1_000_000))
    outside = tmp_path / "outside"
    outside.mkdir()
    write_good_tile(outside / "elsewhere.tif", 2)
    (folder / "link_out.tif").symlink_to(outside / "elsewhere.tif")
    (folder / "link_in.tif").symlink_to(folder / "good_b.tif")
    (folder / "dangling.tif").symlink_to(tmp_path / "gone.tif")
    return folder


def reasons_by_name(folder: Path) -> dict[str, str | None]:
    report = scan_folder(folder)
    return {entry.path.name: entry.reason for entry in report.entries}


def test_scan_gives_reason_per_bad_file(messy_folder):
    reasons = reasons_by_name(messy_folder)

    assert reasons["good_a.tif"] is None
    assert reasons["good_b.tif"] is None
    assert "link to good_b.tif" in reasons["link_in.tif"]
    assert "empty (0 bytes)" in reasons["empty.tif"]
    assert "truncated" in reasons["truncated.tif"]
    assert "not a TIFF, PNG or JPEG" in reasons["notes.png"]
    assert "1000000 x 1000000" in reasons["huge.tif"]
    assert "cut it into tiles" in reasons["huge.tif"]
    assert "outside the chosen folder" in reasons["link_out.tif"]
    assert "broken symbolic link" in reasons["dangling.tif"]


def test_absurd_header_rejected_before_pixels(tmp_path):
    path = tmp_path / "huge.tif"
    path.write_bytes(absurd_tiff_bytes(1_000_000))
    assert read_header(path).width == 1_000_000
    assert path.stat().st_size < 1024

    reasons = reasons_by_name(tmp_path)
    assert f"more than {MAX_TILE_SIDE} on a side" in reasons["huge.tif"]


def test_unreadable_file_left_out(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permission bits")
    write_good_tile(tmp_path / "good.tif")
    locked = tmp_path / "locked.tif"
    write_good_tile(locked, 1)
    locked.chmod(0)
    try:
        reasons = reasons_by_name(tmp_path)
    finally:
        locked.chmod(0o644)
    assert "permission denied" in reasons["locked.tif"]
    assert reasons["good.tif"] is None


def test_import_keeps_good_tiles(workspace, messy_folder):
    with session_scope(workspace.database_url) as session:
        result = create_project(session, messy_folder, "messy", ["red", "green", "blue"], ["soil", "crop"])

    assert result.tile_count == 2
    skipped = dict(result.skipped)
    assert set(skipped) == {"link_in.tif", "empty.tif", "truncated.tif", "notes.png", "huge.tif", "link_out.tif", "dangling.tif"}
    assert all(reason for reason in skipped.values())
