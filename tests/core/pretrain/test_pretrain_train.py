"""End-to-end tests of pretrain_backbone on tiny tiles."""

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.models.backbone import build_backbone
from core.models.checkpoint import file_sha256, load_backbone
from core.pretrain.train import PretrainConfig, pretrain_backbone

BANDS = ["blue", "green", "red", "red_edge", "nir"]
NORMALIZATION = {band: (0.1 * i, 1.0 + i) for i, band in enumerate(BANDS)}
REPOSITORY = Path(__file__).resolve().parents[3]


def make_tiles(count: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((5, 36 + i, 40)).astype(np.float32) for i in range(count)]


def tiny_config(**overrides) -> PretrainConfig:
    settings = dict(
        epochs=2, batch_size=2, views=4, crop_size=32, max_steps_per_epoch=2,
        accelerator="cpu", devices=1,
    )
    settings.update(overrides)
    return PretrainConfig(**settings)


def test_pretrain_writes_loadable_backbone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    events: list[dict] = []
    output_path = tmp_path / "runs" / "backbone.pt"
    original = {band: tuple(values) for band, values in NORMALIZATION.items()}

    result = pretrain_backbone(
        make_tiles(), BANDS, NORMALIZATION, tiny_config(), output_path, on_progress=events.append
    )
    backbone, metadata = load_backbone(output_path)

    assert result.checkpoint_path == output_path
    assert result.sha256 == file_sha256(output_path)
    assert result.epochs_completed == 2
    assert not result.stopped_early
    assert [entry["epoch"] for entry in result.history] == [0, 1]
    assert all(np.isfinite(entry["loss"]) for entry in result.history)
    assert backbone.in_channels == 5
    assert metadata["method"] == "fastsiam"
    assert metadata["band_names"] == BANDS
    assert metadata["normalization"]["nir"] == list(original["nir"])
    assert metadata["config"]["crop_size"] == 32
    assert len(events) == 4
    assert set(events[0]) == {"epoch", "step", "loss", "embedding_std", "progress"}
    assert events[-1]["progress"] == 1.0
    assert [event["step"] for event in events] == [1, 2, 3, 4]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["runs"]
    assert sorted(path.name for path in output_path.parent.iterdir()) == ["backbone.pt"]


def test_pretrain_changes_weights(tmp_path: Path) -> None:
    output_path = tmp_path / "backbone.pt"
    config = tiny_config(epochs=1, max_steps_per_epoch=1, precision="32-true")

    pretrain_backbone(make_tiles(), BANDS, NORMALIZATION, config, output_path)
    trained, _ = load_backbone(output_path)

    # pretrain_backbone seeds torch before building the backbone, so this is its start.
    torch.manual_seed(config.seed)
    initial = build_backbone("resnet18", 5)
    assert not torch.equal(trained.conv1.weight, initial.conv1.weight)
    assert not torch.equal(trained.layer4[1].conv2.weight, initial.layer4[1].conv2.weight)


def test_should_stop_ends_run_early(tmp_path: Path) -> None:
    calls: list[int] = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) >= 1

    result = pretrain_backbone(
        make_tiles(), BANDS, NORMALIZATION, tiny_config(epochs=5), tmp_path / "b.pt",
        should_stop=should_stop,
    )

    assert result.stopped_early
    assert result.epochs_completed == 0
    assert len(calls) == 1
    assert result.history[0]["completed"] is False
    assert (tmp_path / "b.pt").is_file()


def test_small_tiles_and_fp32(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    tiles = [rng.standard_normal((5, 9, 12)).astype(np.float32) for _ in range(3)]

    result = pretrain_backbone(
        tiles, BANDS, NORMALIZATION,
        tiny_config(epochs=1, precision="32-true", optimizer="adamw"), tmp_path / "b.pt",
    )

    assert result.epochs_completed == 1


def test_pretrain_swin_backbone(tmp_path: Path) -> None:
    result = pretrain_backbone(
        make_tiles(2), BANDS, NORMALIZATION,
        tiny_config(arch="swin_t", epochs=1, max_steps_per_epoch=1, views=2), tmp_path / "b.pt",
    )
    backbone, metadata = load_backbone(result.checkpoint_path)

    assert backbone.arch == "swin_t"
    assert metadata["arch"] == "swin_t"


def test_lightning_checkpoint_imports(tmp_path: Path) -> None:
    import pytorch_lightning as pl

    from core.models.checkpoint import import_backbone
    from core.pretrain.data import TileViewDataModule, TileViewDataset
    from core.pretrain.module import FastSiam

    module = FastSiam(in_channels=5, views=2)
    trainer = pl.Trainer(
        max_steps=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )
    dataset = TileViewDataset(make_tiles(2), crop_size=32, views=2)
    trainer.fit(module, datamodule=TileViewDataModule(dataset, batch_size=2))
    path = tmp_path / "fastsiam.ckpt"
    trainer.save_checkpoint(path)

    backbone = import_backbone(path, "resnet18", 5)

    assert torch.equal(backbone.conv1.weight, module.backbone.conv1.weight)
    with pytest.raises(ValueError, match="5 bands.*4 bands"):
        import_backbone(path, "resnet18", 4)


def test_raw_values_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tiles = [tile * 1000 + 3000 for tile in make_tiles(2)]

    with caplog.at_level(logging.WARNING, logger="core.pretrain.train"):
        pretrain_backbone(
            tiles, BANDS, NORMALIZATION, tiny_config(epochs=1, max_steps_per_epoch=1),
            tmp_path / "b.pt",
        )

    messages = [record.getMessage() for record in caplog.records]
    assert any("do not look standardised" in message for message in messages)


def test_standardized_tiles_do_not_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="core.pretrain.train"):
        pretrain_backbone(
            make_tiles(2), BANDS, NORMALIZATION, tiny_config(epochs=1, max_steps_per_epoch=1),
            tmp_path / "b.pt",
        )

    assert caplog.records == []


def test_band_count_mismatch_raises(tmp_path: Path) -> None:
    tiles = [np.zeros((4, 32, 32), np.float32)]

    with pytest.raises(ValueError, match=r"Tile 0 has shape \(4, 32, 32\)"):
        pretrain_backbone(tiles, BANDS, NORMALIZATION, tiny_config(), tmp_path / "b.pt")


def test_missing_normalization_raises(tmp_path: Path) -> None:
    normalization = dict(NORMALIZATION)
    del normalization["nir"]

    with pytest.raises(ValueError, match="nir"):
        pretrain_backbone(make_tiles(), BANDS, normalization, tiny_config(), tmp_path / "b.pt")


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path: Path) -> None:
    output_path = tmp_path / "ddp.pt"
    script = Path(__file__).with_name("ddp_pretrain_script.py")

    completed = subprocess.run(
        [sys.executable, str(script), str(output_path)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPOSITORY), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "distributed_backend=gloo" in completed.stdout + completed.stderr
    assert output_path.is_file()
    backbone, metadata = load_backbone(output_path)
    assert metadata["config"]["strategy"] == "ddp"
    assert backbone.in_channels == 4
    # Both processes stop after step 3 of 4: epoch 0 complete, epoch 1 cut short.
    assert [entry["completed"] for entry in metadata["history"]] == [True, False]
    assert completed.stderr.count("stopped_early=True") + completed.stdout.count(
        "stopped_early=True"
    ) == 2
