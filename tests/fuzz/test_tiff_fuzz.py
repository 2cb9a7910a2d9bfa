"""Fuzzing the TIFF readers with random and mutated bytes.

Every input must end in a correct read or a clean TileReadError, ValueError or
OSError. Any other exception fails the test, and so does an example that runs
past its time limit.
"""

from __future__ import annotations

import io
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.raster.header import read_header
from core.raster.read import read_tile

# Seconds one example may take before it counts as a hang.
EXAMPLE_TIME_LIMIT_S = 5
# read_tile runs only when the header declares at most this many decoded bytes:
# the import scan rejects absurd sizes from the header, and the test machine is shared.
MAX_DECODED_BYTES = 16 * 1024**2
CLEAN_ERRORS = (ValueError, OSError)


def seed_tiff(shape: tuple[int, ...], dtype: str, **options: object) -> bytes:
    rng = np.random.default_rng(len(shape))
    data = rng.integers(0, 200, shape).astype(dtype)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, data, **options)
    return buffer.getvalue()


SEEDS = [
    seed_tiff((3, 16, 20), "uint16", photometric="minisblack", planarconfig="separate"),
    seed_tiff((16, 20, 3), "uint8", photometric="rgb"),
    seed_tiff((4, 32, 32), "float32", photometric="minisblack", planarconfig="separate", compression="zlib"),
    seed_tiff((32, 32), "uint16", tile=(16, 16)),
]


@pytest.fixture(autouse=True, scope="module")
def quiet_tifffile() -> Iterator[None]:
    """Silence tifffile's error log, which reports every malformed tag of every example."""
    tifffile_logger = logging.getLogger("tifffile")
    level = tifffile_logger.level
    tifffile_logger.setLevel(logging.CRITICAL)
    yield
    tifffile_logger.setLevel(level)


class ExampleTimeout(Exception):
    """One fuzz example ran past EXAMPLE_TIME_LIMIT_S."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expire(_signum: int, _frame: object) -> None:
        raise ExampleTimeout(f"example ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def mutated_tiffs(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "overwrite", "truncate", "insert", "header_word"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        match kind:
            case "flip":
                data[position] ^= 1 << draw(st.integers(0, 7))
            case "overwrite":
                data[position : position + 4] = draw(st.binary(min_size=1, max_size=4))
            case "truncate":
                del data[position:]
            case "insert":
                data[position:position] = draw(st.binary(min_size=1, max_size=16))
            case "header_word":
                # Words in the first IFD: tag codes, counts, offsets and dimensions.
                offset = draw(st.integers(8, min(200, max(8, len(data) - 4))))
                data[offset : offset + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x00\x01\x00", b"\xff\xff\x00\x00"]))
        if not data:
            break
    return bytes(data)


def check_file(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    with time_limit(EXAMPLE_TIME_LIMIT_S):
        try:
            header = read_header(path)
        except CLEAN_ERRORS:
            return
        assert header.bands >= 1
        assert header.height >= 1
        assert header.width >= 1
        if header.bands * header.height * header.width * np.dtype(header.dtype).itemsize > MAX_DECODED_BYTES:
            return
        try:
            raster = read_tile(path)
        except CLEAN_ERRORS:
            return
    assert raster.data.shape == header.shape
    assert raster.valid.shape == (header.height, header.width)


FUZZ_SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ_SETTINGS
@given(data=mutated_tiffs())
def test_mutated_tiff_reads_cleanly(tmp_path, data):
    check_file(tmp_path / "fuzz.tif", data)


@FUZZ_SETTINGS
@given(data=st.one_of(st.binary(max_size=512), st.binary(max_size=256).map(lambda rest: b"II*\x00" + rest)))
def test_random_bytes_read_cleanly(tmp_path, data):
    check_file(tmp_path / "fuzz.tif", data)


@pytest.mark.parametrize("index", range(len(SEEDS)))
def test_seed_tiffs_read_correctly(tmp_path, index):
    path = tmp_path / "seed.tif"
    path.write_bytes(SEEDS[index])
    raster = read_tile(path)
    assert raster.data.size > 0


# Inputs the fuzzer found that once escaped read_header with another exception type.
FOUND_INPUTS = {
    "signature only (struct.error)": b"II*\x00",
    "signature and short offset (struct.error)": b"II*\x00\x08\x00",
}


@pytest.mark.parametrize("name", sorted(FOUND_INPUTS))
def test_found_inputs_fail_cleanly(tmp_path, name):
    path = tmp_path / "found.tif"
    path.write_bytes(FOUND_INPUTS[name])
    with pytest.raises(CLEAN_ERRORS):
        read_header(path)
