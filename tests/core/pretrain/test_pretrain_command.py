"""Tests for the ``pretrain`` subcommand on a folder of tiny GeoTIFF-like tiles."""

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from core.models.checkpoint import load_backbone
from core.pretrain.command import parse_band_names, parse_devices, register

BANDS = "blue,green,red,nir"


def write_tiles(folder: Path, count: int = 3, bands: int = 4) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        data = rng.integers(100, 4000, size=(bands, 40 + index, 44), dtype=np.uint16)
        tifffile.imwrite(folder / f"tile_{index}.tif", data, photometric="minisblack",
                         planarconfig="separate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_pretrain_command_writes_backbone(tmp_path: Path) -> None:
    write_tiles(tmp_path / "tiles")
    output_path = tmp_path / "backbone.pt"
    args = build_parser().parse_args([
        "pretrain", "--input-dir", str(tmp_path / "tiles"), "--bands", BANDS,
        "--epochs", "1", "--batch-size", "2", "--views", "2", "--crop-size", "32",
        "--max-steps-per-epoch", "1", "--precision", "32-true", "--accelerator", "cpu",
        "--devices", "1", "--output", str(output_path),
    ])

    exit_code = args.handler(args)
    backbone, metadata = load_backbone(output_path)

    assert exit_code == 0
    assert backbone.in_channels == 4
    assert metadata["band_names"] == ["blue", "green", "red", "nir"]
    assert metadata["config"]["views"] == 2
    mean, std = metadata["normalization"]["nir"]
    assert 100 <= mean <= 4000
    assert std > 0


def test_pretrain_command_wrong_band_count(tmp_path: Path) -> None:
    write_tiles(tmp_path / "tiles", bands=4)
    args = build_parser().parse_args([
        "pretrain", "--input-dir", str(tmp_path / "tiles"), "--bands", "blue,green,red",
        "--output", str(tmp_path / "b.pt"),
    ])

    with pytest.raises(ValueError, match="3 bands"):
        args.handler(args)


def test_parse_band_names() -> None:
    assert parse_band_names(" blue, nir ,") == ["blue", "nir"]
    with pytest.raises(ValueError, match="no band name"):
        parse_band_names(" , ")
    with pytest.raises(ValueError, match="repeats"):
        parse_band_names("red,red")


def test_parse_devices() -> None:
    assert parse_devices("auto") == "auto"
    assert parse_devices("2") == 2
    assert parse_devices("0,1") == [0, 1]
    with pytest.raises(ValueError, match="--devices"):
        parse_devices("many")


def test_register_does_not_import_torch() -> None:
    code = (
        "import argparse, sys\n"
        "from core.pretrain.command import register\n"
        "register(argparse.ArgumentParser().add_subparsers())\n"
        "sys.stdout.write(str('torch' in sys.modules))\n"
    )
    repository = Path(__file__).resolve().parents[3]

    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=repository, capture_output=True, text=True, timeout=60
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "False"
