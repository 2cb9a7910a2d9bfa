"""Ground area of one pixel, from a tile's georeference."""

from __future__ import annotations

import math

from core.raster.georef import GeoReference

# GeoKey ids (GeoTIFF 1.1, OGC 19-008r4).
_MODEL_TYPE_KEY = 1024
_PROJECTED_CRS_KEY = 3072
_PROJ_LINEAR_UNITS_KEY = 3076
_MODEL_TYPE_PROJECTED = 1
_LINEAR_UNIT_METRE = 9001
# Web Mercator codes: EPSG:3857 and its older aliases.
_WEB_MERCATOR_CODES = {3857, 3785, 900913, 102100, 102113}
_WEB_MERCATOR_RADIUS_M = 6378137.0


def pixel_area_m2(georef: GeoReference | None, height: int, width: int) -> float | None:
    """Estimate the ground area of one pixel in square metres.

    The area is the product of the pixel width and height in CRS units, so it
    is given only for projected CRSs in metres. Web Mercator (EPSG:3857)
    inflates lengths by 1 / cos(latitude), so its pixel area is scaled by
    cos(latitude)^2 at the tile centre, which is accurate to well under 1 %
    across a drone or satellite tile.

    Args:
        georef: the tile's georeference, or None.
        height: tile rows, used to find the tile centre.
        width: tile columns.

    Returns:
        Square metres per pixel, or None when the tile has no georeference, its
        CRS is geographic (degrees) or its linear unit is not the metre.
    """
    if georef is None:
        return None
    size = georef.pixel_size
    if size is None:
        return None
    keys = _inline_geo_keys(georef.geo_key_directory)
    projected = (
        keys.get(_MODEL_TYPE_KEY) == _MODEL_TYPE_PROJECTED or _PROJECTED_CRS_KEY in keys
    )
    if not projected:
        return None
    if keys.get(_PROJ_LINEAR_UNITS_KEY, _LINEAR_UNIT_METRE) != _LINEAR_UNIT_METRE:
        return None
    area = size[0] * size[1]
    if georef.epsg in _WEB_MERCATOR_CODES:
        northing = _centre_northing(georef, height, width)
        if northing is None:
            return None
        latitude = 2.0 * math.atan(math.exp(northing / _WEB_MERCATOR_RADIUS_M)) - math.pi / 2.0
        area *= math.cos(latitude) ** 2
    return area


def _centre_northing(georef: GeoReference, height: int, width: int) -> float | None:
    """Return the CRS y coordinate of the tile centre, or None without a usable transform."""
    if georef.model_transformation and len(georef.model_transformation) == 16:
        matrix = georef.model_transformation
        return matrix[4] * width / 2 + matrix[5] * height / 2 + matrix[7]
    if georef.model_tiepoint and len(georef.model_tiepoint) >= 6 and georef.model_pixel_scale:
        j, y = georef.model_tiepoint[1], georef.model_tiepoint[4]
        return y - (height / 2 - j) * georef.model_pixel_scale[1]
    return None


def _inline_geo_keys(directory: tuple[int, ...]) -> dict[int, int]:
    """Map GeoKey id to its SHORT value for keys stored in the directory itself."""
    keys: dict[int, int] = {}
    if len(directory) < 4:
        return keys
    for index in range(directory[3]):
        entry = directory[4 + 4 * index : 8 + 4 * index]
        if len(entry) < 4:
            break
        key_id, location, _count, value = entry
        if location == 0:
            keys[key_id] = value
    return keys
