import json

import pytest

from core.raster.georef import GeoReference

KEYS_4326 = (1, 1, 0, 2, 1024, 0, 1, 2, 2048, 0, 1, 4326)


def test_dict_round_trip_through_json():
    georef = GeoReference(
        model_pixel_scale=(0.1, 0.1, 0.0),
        model_tiepoint=(0.0, 0.0, 0.0, 10.0, 20.0, 0.0),
        geo_key_directory=KEYS_4326,
        geo_double_params=(6378137.0,),
        geo_ascii_params="WGS 84|",
    )

    restored = GeoReference.from_dict(json.loads(json.dumps(georef.to_dict())))

    assert restored == georef


def test_geographic_epsg():
    assert GeoReference(geo_key_directory=KEYS_4326).epsg == 4326


def test_user_defined_crs_has_no_epsg():
    keys = (1, 1, 0, 1, 3072, 0, 1, 32767)

    assert GeoReference(geo_key_directory=keys).epsg is None


def test_pixel_size_from_scale():
    assert GeoReference(model_pixel_scale=(0.05, 0.04, 0.0)).pixel_size == (0.05, 0.04)


def test_pixel_size_from_rotated_transformation():
    # 2 m pixels rotated by 90 degrees.
    matrix = (0.0, 2.0, 0.0, 100.0, -2.0, 0.0, 0.0, 200.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)

    assert GeoReference(model_transformation=matrix).pixel_size == pytest.approx((2.0, 2.0))


def test_without_transform_no_pixel_size():
    assert GeoReference(geo_key_directory=KEYS_4326).pixel_size is None


def test_extratags_skip_empty_tags():
    codes = [tag[0] for tag in GeoReference(geo_key_directory=KEYS_4326).extratags()]

    assert codes == [34735]


def test_from_tags_without_geotiff_tags():
    assert GeoReference.from_tags({}) is None
