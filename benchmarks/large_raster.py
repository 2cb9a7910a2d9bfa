"""Peak memory and time of windowed prediction versus reading a whole large raster.

Synthetic 4-band uint16 GeoTIFFs whose headers declare about 1, 4 and 16 GB
are created as sparse files (uncompressed, pixel data never written), so they
take almost no disk space and read as zeros. Each measurement runs in its own
child process, and its peak resident memory is the child's `ru_maxrss`.

- `windowed`: ResNet18 (random weights) and an "fpn" head predict the first
  `--windows` windows through `WindowReader`, the backbone, the head and
  `WindowedGeoTiffWriter`, exactly as `predict_raster` does per window. The
  time per window and the number of windows give the time for the whole
  raster as an estimate.
- `whole`: `read_tile` loads the whole raster, the naive approach. It is run
  only when its estimated memory (`estimate_bytes`) is below half of the
  available memory; larger sizes are reported as skipped.

Usage:
    python benchmarks/large_raster.py [--sizes-gb 1 4 16] [--windows 6]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

logger = logging.getLogger(__name__)

BANDS = ("blue", "green", "red", "nir")
BYTES_PER_PIXEL = len(BANDS) * 2
WINDOW = 512
OVERLAP = 64


def create_sparse_raster(path: Path, size_gb: float) -> tuple[int, int]:
    """Create a sparse 4-band uint16 band-separate TIFF declaring `size_gb` GB of pixels."""
    side = int((size_gb * 1e9 / BYTES_PER_PIXEL) ** 0.5)
    tifffile.imwrite(
        path, shape=(len(BANDS), side, side), dtype=np.uint16, photometric="minisblack",
        planarconfig="separate", bigtiff=True, metadata=None,
    )
    return side, side


def measure_windowed(path: Path, windows: int) -> dict[str, float]:
    """Predict the first `windows` windows and return seconds per window."""
    import itertools

    import torch

    from core.inference.predict import predict_sample
    from core.models.backbone import build_backbone, freeze
    from core.models.head import SegmentationHead
    from core.raster.stats import normalize
    from core.raster.validity import valid_mask
    from core.raster.window import count_windows, iter_windows
    from core.raster.window_read import WindowReader
    from core.raster.window_write import WindowedGeoTiffWriter
    from core.training.data import build_sample
    from core.training.features import extract_features

    torch.manual_seed(0)
    backbone = freeze(build_backbone("resnet18", len(BANDS)))
    head = SegmentationHead(backbone.out_channels, len(BANDS), 3).eval()
    pairs = {band: (1000.0, 500.0) for band in BANDS}
    with WindowReader(path) as reader, tempfile.TemporaryDirectory(dir=path.parent) as folder:
        header = reader.header
        writer = WindowedGeoTiffWriter(Path(folder) / "classes.tif", header.height, header.width, np.uint8, None)
        start = time.perf_counter()
        for window in itertools.islice(iter_windows(header.height, header.width, WINDOW, OVERLAP), windows):
            data = reader.read(window)
            valid = valid_mask(data, header.nodata)
            # Sparse files read as zeros; add values so the network does real work.
            data = data + np.uint16(1000)
            image = normalize(data, valid, list(BANDS), pairs)
            sample = build_sample(0, image, valid, extract_features(backbone, image))
            class_map, _ = predict_sample(head, sample)
            rows, cols = window.core_in_window
            writer.write(window.core_row, window.core_col, class_map[rows, cols])
        seconds = (time.perf_counter() - start) / windows
        writer.discard()
        total = count_windows(header.height, header.width, WINDOW, OVERLAP)
    return {"seconds_per_window": seconds, "windows_total": total}


def measure_whole(path: Path) -> dict[str, float]:
    """Read the whole raster with `read_tile` and return the seconds taken."""
    from core.raster.read import read_tile

    start = time.perf_counter()
    raster = read_tile(path)
    seconds = time.perf_counter() - start
    del raster
    return {"seconds": seconds}


def run_child(mode: str, path: Path, windows: int) -> dict[str, float]:
    """Run one measurement in a child process and add its peak memory in MiB."""
    command = [sys.executable, __file__, "--child", mode, str(path), "--windows", str(windows)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        last_line = completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else ""
        return {"error": f"failed: {last_line or f'exit status {completed.returncode}'}"}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def child_main(mode: str, path: Path, windows: int) -> None:
    result = measure_windowed(path, windows) if mode == "windowed" else measure_whole(path)
    # Linux reports ru_maxrss in KiB.
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(json.dumps(result) + "\n")


def _number_or_note(result: dict, key: str, digits: int) -> str:
    if key in result:
        return f"{result[key]:.{digits}f}"
    return str(result.get("error", "-"))


def available_bytes() -> int:
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-gb", type=float, nargs="+", default=[1.0, 4.0, 16.0],
                        help="declared pixel data sizes in GB (10^9 bytes)")
    parser.add_argument("--windows", type=int, default=6, help="windows predicted per raster")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], Path(args.child[1]), args.windows)
        return 0

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from core.raster.header import read_header
    from core.raster.window import estimate_bytes

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size_gb in args.sizes_gb:
            path = Path(folder) / f"sparse_{size_gb:g}gb.tif"
            height, width = create_sparse_raster(path, size_gb)
            estimate = estimate_bytes(read_header(path))
            disk_mib = os.stat(path).st_blocks * 512 / 2**20
            windowed = run_child("windowed", path, args.windows)
            if estimate < available_bytes() / 2:
                whole = run_child("whole", path, args.windows)
            else:
                whole = {"error": f"skipped: needs about {estimate / 2**30:.1f} GiB"}
            rows.append((size_gb, height, width, estimate, disk_mib, windowed, whole))
            path.unlink()

    sys.stdout.write(
        "| declared GB | pixels | read_tile estimate GiB | disk MiB | windowed peak MiB "
        "| s/window | windows | windowed total (est.) min | whole read peak MiB | whole read s |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    for size_gb, height, width, estimate, disk_mib, windowed, whole in rows:
        per_window = windowed.get("seconds_per_window")
        total_windows = windowed.get("windows_total")
        sys.stdout.write(
            f"| {size_gb:g} | {height} x {width} | {estimate / 2**30:.2f} | {disk_mib:.2f} "
            f"| {windowed.get('peak_rss_mib', float('nan')):.0f} "
            f"| {per_window if per_window is None else round(per_window, 2)} | {total_windows} "
            f"| {'-' if per_window is None else round(per_window * total_windows / 60, 1)} "
            f"| {_number_or_note(whole, 'peak_rss_mib', 0)} | {_number_or_note(whole, 'seconds', 1)} |\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
