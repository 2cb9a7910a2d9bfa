from pathlib import Path

import cv2
import numpy as np
import pytest

from core.raster.align import BandAlignmentError, group_band_files, read_band_group


def textured_scene(height: int = 240, width: int = 320) -> np.ndarray:
    """Return a smooth random uint16 scene with edges at many scales."""
    rng = np.random.default_rng(0)
    noise = rng.random((height // 8, width // 8)).astype(np.float32)
    scene = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    return (np.clip(scene, 0, 1) * 40000 + 1000).astype(np.uint16)


def shifted(scene: np.ndarray, dx: float, dy: float) -> np.ndarray:
    matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    return cv2.warpAffine(
        scene, matrix, scene.shape[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def test_group_band_files_by_capture():
    names = [
        "IMG_0002_2.tif",
        "IMG_0001_10.tif",
        "IMG_0001_2.tif",
        "IMG_0001_1.tif",
        "other.tif",
        "IMG_0003_1.tif",
    ]

    groups = group_band_files([Path(name) for name in names])

    assert list(groups) == ["IMG_0001"]
    assert [p.name for p in groups["IMG_0001"]] == [
        "IMG_0001_1.tif",
        "IMG_0001_2.tif",
        "IMG_0001_10.tif",
    ]


def test_known_shift_recovered(write_tile):
    scene = textured_scene()
    paths = [
        write_tile("cap_1.tif", array=scene),
        write_tile("cap_2.tif", array=shifted(scene, 6.0, -4.0)),
    ]

    raster, alignments = read_band_group(paths, reference=0)

    assert raster.data.shape == (2, 240, 320)
    assert raster.data.dtype == np.uint16
    assert raster.header.band_files == tuple(paths)
    # The band content moved by (+6, -4), so band pixel = reference pixel + (6, -4).
    assert alignments[1].warp[0, 2] == pytest.approx(6.0, abs=0.3)
    assert alignments[1].warp[1, 2] == pytest.approx(-4.0, abs=0.3)
    assert alignments[1].residual_shift < 0.5
    interior = (slice(20, -20), slice(20, -20))
    difference = np.abs(raster.data[1][interior].astype(float) - scene[interior].astype(float))
    assert np.median(difference) < 200


def test_uncovered_border_is_invalid(write_tile):
    scene = textured_scene()
    paths = [
        write_tile("cap_1.tif", array=scene),
        write_tile("cap_2.tif", array=shifted(scene, 8.0, 0.0)),
    ]

    raster, _ = read_band_group(paths, reference=0)

    assert not raster.valid[:, -3:].any()
    assert raster.valid[:, :200].all()


def test_featureless_band_rejected(write_tile):
    scene = textured_scene()
    rng = np.random.default_rng(5)
    unrelated = rng.integers(0, 60000, scene.shape).astype(np.uint16)
    paths = [write_tile("cap_1.tif", array=scene), write_tile("cap_2.tif", array=unrelated)]

    with pytest.raises(BandAlignmentError, match="cap_2.tif"):
        read_band_group(paths, reference=0)


def test_size_mismatch_rejected(write_tile):
    paths = [
        write_tile("cap_1.tif", bands=1, height=20, width=20),
        write_tile("cap_2.tif", bands=1, height=20, width=21),
    ]

    with pytest.raises(BandAlignmentError, match="size and dtype"):
        read_band_group(paths)


def test_sequoia_suffixes_group_in_band_order(tmp_path):
    names = ["IMG_0007_NIR.TIF", "IMG_0007_GRE.TIF", "IMG_0007_REG.TIF", "IMG_0007_RED.TIF", "IMG_0008_RGB.JPG"]
    groups = group_band_files([tmp_path / name for name in names])
    assert list(groups) == ["IMG_0007"]
    assert [path.name for path in groups["IMG_0007"]] == [
        "IMG_0007_GRE.TIF",
        "IMG_0007_RED.TIF",
        "IMG_0007_REG.TIF",
        "IMG_0007_NIR.TIF",
    ]
