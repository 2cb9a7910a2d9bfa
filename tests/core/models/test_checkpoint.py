"""Tests for saving, loading and importing backbone files."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from core.models.backbone import build_backbone
from core.models.checkpoint import (
    file_sha256,
    import_backbone,
    load_backbone,
    save_backbone,
)

BANDS = ["blue", "green", "red", "nir"]


def make_metadata(arch: str = "resnet18", bands: list[str] = BANDS) -> dict:
    return {
        "arch": arch,
        "in_channels": len(bands),
        "band_names": bands,
        "normalization": {band: (float(i), np.float32(2.0)) for i, band in enumerate(bands)},
        "method": "fastsiam",
        "config": {"epochs": 2, "output": Path("/tmp/x.pt")},
    }


def assert_same_weights(first: torch.nn.Module, second: torch.nn.Module) -> None:
    second_state = second.state_dict()
    for key, value in first.state_dict().items():
        assert torch.equal(value, second_state[key]), key


def test_save_load_roundtrip(tmp_path: Path) -> None:
    backbone = build_backbone("resnet18", 4)
    path = tmp_path / "nested" / "backbone.pt"

    sha256 = save_backbone(path, backbone, make_metadata())
    loaded, metadata = load_backbone(path)

    assert sha256 == file_sha256(path)
    assert len(sha256) == 64
    assert loaded.arch == "resnet18"
    assert loaded.in_channels == 4
    assert metadata["band_names"] == BANDS
    assert metadata["normalization"]["green"] == [1.0, 2.0]
    assert metadata["config"]["output"] == "/tmp/x.pt"
    assert not loaded.training
    assert_same_weights(backbone, loaded)
    assert list(tmp_path.glob("nested/.*tmp")) == []


def test_save_swin_roundtrip(tmp_path: Path) -> None:
    backbone = build_backbone("swin_t", 5)
    path = tmp_path / "swin.pt"

    save_backbone(path, backbone, make_metadata("swin_t", ["b1", "b2", "b3", "b4", "b5"]))
    loaded, _ = load_backbone(path)

    assert_same_weights(backbone, loaded)


def test_save_rejects_missing_metadata(tmp_path: Path) -> None:
    metadata = make_metadata()
    del metadata["normalization"]

    with pytest.raises(ValueError, match="normalization"):
        save_backbone(tmp_path / "b.pt", build_backbone("resnet18", 4), metadata)


def test_save_rejects_band_mismatch(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="in_channels"):
        save_backbone(tmp_path / "b.pt", build_backbone("resnet18", 3), make_metadata())


def test_load_missing_file_names_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.pt"

    with pytest.raises(FileNotFoundError, match="absent.pt"):
        load_backbone(path)


def test_load_damaged_file_names_path(tmp_path: Path) -> None:
    path = tmp_path / "damaged.pt"
    path.write_bytes(b"not a checkpoint")

    with pytest.raises(ValueError, match="damaged.pt"):
        load_backbone(path)


def test_load_plain_state_dict_raises(tmp_path: Path) -> None:
    path = tmp_path / "plain.pt"
    torch.save(build_backbone("resnet18", 4).state_dict(), path)

    with pytest.raises(ValueError, match="import_backbone"):
        load_backbone(path)


def test_import_torchvision_state_dict(tmp_path: Path) -> None:
    model = torchvision.models.resnet18(weights=None)
    path = tmp_path / "torchvision.pt"
    torch.save(model.state_dict(), path)

    backbone = import_backbone(path, "resnet18", 3)

    assert torch.equal(backbone.conv1.weight, model.conv1.weight)
    assert torch.equal(backbone.layer4[1].bn2.running_var, model.layer4[1].bn2.running_var)


def test_import_swin_state_dict(tmp_path: Path) -> None:
    model = torchvision.models.swin_t(weights=None)
    path = tmp_path / "swin.pt"
    torch.save(model.state_dict(), path)

    backbone = import_backbone(path, "swin_t", 3)

    assert torch.equal(backbone.features[0][0].weight, model.features[0][0].weight)


def test_import_lightning_checkpoint_prefix(tmp_path: Path) -> None:
    source = build_backbone("resnet18", 5)
    state_dict = {f"backbone.{key}": value for key, value in source.state_dict().items()}
    state_dict["projection_head.layers.0.weight"] = torch.zeros(4, 4)
    path = tmp_path / "lightning.ckpt"
    torch.save({"epoch": 3, "state_dict": state_dict}, path)

    backbone = import_backbone(path, "resnet18", 5)

    assert_same_weights(source, backbone)


def test_import_band_count_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "rgb.pt"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)

    with pytest.raises(ValueError, match="3 bands.*5 bands"):
        import_backbone(path, "resnet18", 5)


def test_import_wrong_arch(tmp_path: Path) -> None:
    path = tmp_path / "r18.pt"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)

    with pytest.raises(ValueError, match="resnet50"):
        import_backbone(path, "resnet50", 3)


def test_import_unrelated_keys(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(3)}, path)

    with pytest.raises(ValueError, match="no resnet18 backbone weights"):
        import_backbone(path, "resnet18", 3)


def test_import_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        import_backbone(tmp_path / "missing.pt", "resnet18", 3)


def test_import_saved_backbone_file(tmp_path: Path) -> None:
    source = build_backbone("resnet18", 4)
    path = tmp_path / "saved.pt"
    save_backbone(path, source, make_metadata())

    backbone = import_backbone(path, "resnet18", 4)

    assert_same_weights(source, backbone)
