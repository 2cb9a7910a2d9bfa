import numpy as np
import pytest

from core.display.composite import (
    CompositeSpec,
    custom_composite,
    index_colormap,
    list_composites,
    render_composite,
)
from core.raster.stats import BandStats, compute_band_stats


def test_composites_for_five_band_uav():
    composites = list_composites(["blue", "green", "red", "nir", "red_edge"])

    assert list(composites) == ["True colour", "CIR", "NDVI", "NDRE", "GNDVI", "Bands 1-2-3"]
    assert composites["CIR"].bands == ("nir", "red", "green")
    assert composites["NDRE"] == CompositeSpec("NDRE", "index", ("nir", "red_edge"))


def test_composites_for_sentinel2_red_edge_names():
    names = ["coastal", "blue", "green", "red", "red_edge1", "red_edge2", "nir"]

    composites = list_composites(names)

    assert composites["NDRE"].bands == ("nir", "red_edge1")
    assert composites["Bands 1-2-3"].bands == ("coastal", "blue", "green")


def test_composites_for_unknown_names():
    assert list(list_composites(["b1", "b2", "b3", "b4"])) == ["Bands 1-2-3"]


def test_single_band_fallback_is_grey():
    assert list_composites(["thermal"])["Bands 1-2-3"].bands == ("thermal",) * 3


def test_custom_composite():
    spec = custom_composite(("swir1", "nir", "red"))

    assert spec.kind == "rgb"
    assert spec.bands == ("swir1", "nir", "red")


def test_rgb_stretch_uses_percentiles(make_raster):
    data = np.array([[[100, 200, 300, 400]]], dtype=np.uint16).repeat(3, axis=0)
    stats = {
        name: BandStats(low=200, high=300, mean=0, std=1, minimum=0, maximum=0) for name in "rgb"
    }
    spec = CompositeSpec("x", "rgb", ("r", "g", "b"))

    rgba = render_composite(make_raster(data), ["r", "g", "b"], stats, spec)

    assert rgba.shape == (1, 4, 4)
    assert rgba.dtype == np.uint8
    np.testing.assert_array_equal(rgba[0, :, 0], [0, 0, 255, 255])
    assert (rgba[..., 3] == 255).all()


def test_gamma_above_one_brightens(make_raster):
    data = np.full((3, 2, 2), 0.25, np.float32)
    stats = {name: BandStats(low=0, high=1, mean=0, std=1, minimum=0, maximum=1) for name in "rgb"}
    spec = CompositeSpec("x", "rgb", ("r", "g", "b"))

    plain = render_composite(make_raster(data), ["r", "g", "b"], stats, spec)
    bright = render_composite(make_raster(data), ["r", "g", "b"], stats, spec, gamma=2.0)

    assert plain[0, 0, 0] == 64
    assert bright[0, 0, 0] == 128


def test_invalid_pixels_transparent(make_raster):
    data = np.random.default_rng(0).random((3, 4, 4)).astype(np.float32)
    data[:, 0, 0] = np.nan
    valid = np.isfinite(data).all(axis=0)
    raster = make_raster(data, valid)
    names = ["red", "green", "blue"]
    stats = compute_band_stats([raster], names)

    rgba = render_composite(raster, names, stats, list_composites(names)["True colour"])

    assert rgba[0, 0, 3] == 0
    assert (rgba[0, 0, :3] == 0).all()
    assert rgba[valid, 3].min() == 255


def test_ndvi_colours_and_zero_denominator(make_raster):
    nir = np.array([[0.5, 0.1, 0.0]], np.float32)
    red = np.array([[0.1, 0.5, 0.0]], np.float32)
    raster = make_raster(np.stack([red, nir]))
    spec = list_composites(["red", "nir"])["NDVI"]

    rgba = render_composite(raster, ["red", "nir"], {}, spec)

    vegetation, bare, undefined = rgba[0]
    assert vegetation[1] > vegetation[0]  # green dominates on positive NDVI
    assert bare[0] > bare[1]  # brown/red dominates on negative NDVI
    assert undefined[3] == 0
    assert vegetation[3] == 255


def test_index_on_signed_integer_values(make_raster):
    # int16 reflectance x 10000 may hold slightly negative values.
    data = np.array([[[-5, 300]], [[3000, 300]]], dtype=np.int16)
    spec = CompositeSpec("NDVI", "index", ("nir", "red"))

    rgba = render_composite(make_raster(data), ["red", "nir"], {}, spec)

    assert rgba.shape == (1, 2, 4)
    assert rgba[0, 1, 3] == 255


def test_missing_band_named(make_raster):
    spec = CompositeSpec("NDRE", "index", ("nir", "red_edge"))

    with pytest.raises(ValueError, match="red_edge"):
        render_composite(make_raster(np.ones((2, 2, 2), np.float32)), ["red", "nir"], {}, spec)


def test_index_colormap_for_plotly():
    colorscale, vmin, vmax = index_colormap("NDVI")

    assert (vmin, vmax) == (-1.0, 1.0)
    assert colorscale[0][0] == 0.0
    assert colorscale[-1][0] == 1.0
    assert all(colour.startswith("rgb(") for _, colour in colorscale)


def test_missing_statistics_named(make_raster):
    spec = CompositeSpec("x", "rgb", ("r", "g", "b"))

    with pytest.raises(ValueError, match="No statistics"):
        render_composite(make_raster(np.ones((3, 2, 2), np.float32)), ["r", "g", "b"], {}, spec)
