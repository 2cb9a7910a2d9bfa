"""Windowed prediction of large rasters against whole-tile prediction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from core.inference.predict import predict_sample
from core.inference.windowed import confidence_path_for, predict_raster
from core.raster.read import read_tile
from core.raster.stats import normalize
from core.training.data import build_sample
from core.training.features import extract_features


def _whole_tile_prediction(backbone, head, path, band_names, normalization):  # type: ignore[no-untyped-def]
    raster = read_tile(path)
    pairs = {band: tuple(values) for band, values in normalization.items()}
    image = normalize(raster.data, raster.valid, list(band_names), pairs)
    sample = build_sample(0, image, raster.valid, extract_features(backbone, image))
    return predict_sample(head, sample)


def test_windowed_equals_whole_tile(
    tmp_path: Path, tiny_models, write_raster, band_names, normalization
) -> None:
    backbone, head = tiny_models
    source = tmp_path / "scene.tif"
    data = write_raster(tmp_path / "unused.tif", 200, 232)
    data[:, 10:20, 30:50] = 0
    tifffile.imwrite(
        source, data, photometric="minisblack", planarconfig="separate", compression="zlib",
        rowsperstrip=24, extratags=[(42113, "s", 0, "0", True)],
    )
    out = tmp_path / "scene_classes.tif"
    progress: list[tuple[int, int]] = []

    result = predict_raster(
        backbone, head, source, normalization, band_names, out, window=128, overlap=64,
        on_progress=lambda done, total: progress.append((done, total)),
    )

    expected_classes, expected_confidence = _whole_tile_prediction(
        backbone, head, source, band_names, normalization
    )
    classes = tifffile.imread(result.class_path)
    confidence = tifffile.imread(result.confidence_path)
    assert result.windows == 9
    assert progress[-1] == (9, 9)
    assert classes.shape == (200, 232)
    assert classes.dtype == np.uint8
    assert confidence.dtype == np.float32
    assert np.array_equal(classes, expected_classes)
    np.testing.assert_allclose(confidence, expected_confidence, atol=1e-5)
    assert (classes[10:20, 30:50] == 255).all()
    assert sum(result.class_counts.values()) == int((classes != 255).sum())


def test_windowed_output_keeps_georeference(
    tmp_path: Path, tiny_models, c09_path, band_names, normalization
) -> None:
    backbone, head = tiny_models
    out = tmp_path / "georef_classes.tif"

    result = predict_raster(backbone, head, c09_path, normalization, band_names, out, window=64, overlap=32)

    with tifffile.TiffFile(c09_path) as original, tifffile.TiffFile(out) as written:
        for code in (33550, 33922, 34735):
            assert written.pages.first.tags[code].value == original.pages.first.tags[code].value
        assert written.pages.first.tags[42113].value == "255"
    assert result.georeferenced
    assert tifffile.imread(confidence_path_for(out)).shape == (128, 128)


@pytest.mark.parametrize(("window", "overlap"), [(100, 32), (128, 48), (64, 64), (0, 0)])
def test_windowed_rejects_unaligned_settings(
    tmp_path: Path, tiny_models, write_raster, band_names, normalization, window, overlap
) -> None:
    backbone, head = tiny_models
    source = tmp_path / "small.tif"
    write_raster(source, 40, 40)

    with pytest.raises(ValueError, match="multiple of 32"):
        predict_raster(backbone, head, source, normalization, band_names, tmp_path / "o.tif", window, overlap)


def test_windowed_rejects_band_mismatch(
    tmp_path: Path, tiny_models, write_raster, band_names, normalization
) -> None:
    backbone, head = tiny_models
    source = tmp_path / "small.tif"
    write_raster(source, 40, 40)

    with pytest.raises(ValueError, match="has 4 bands but the model expects 3"):
        predict_raster(backbone, head, source, normalization, band_names[:3], tmp_path / "o.tif", 64, 32)
    assert list(tmp_path.iterdir()) == [source]
