"""GeoTIFF georeferencing tags: read, serialise and write them back unchanged."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# GeoTIFF tag codes (GeoTIFF 1.1, OGC 19-008r4).
MODEL_PIXEL_SCALE = 33550
MODEL_TIEPOINT = 33922
MODEL_TRANSFORMATION = 34264
GEO_KEY_DIRECTORY = 34735
GEO_DOUBLE_PARAMS = 34736
GEO_ASCII_PARAMS = 34737
GEO_TAG_CODES = (
    MODEL_PIXEL_SCALE,
    MODEL_TIEPOINT,
    MODEL_TRANSFORMATION,
    GEO_KEY_DIRECTORY,
    GEO_DOUBLE_PARAMS,
    GEO_ASCII_PARAMS,
)

# GeoKey ids that carry an EPSG code.
_PROJECTED_CRS_KEY = 3072
_GEOGRAPHIC_CRS_KEY = 2048
_USER_DEFINED = 32767

# TIFF field types used by tifffile's `extratags`: 's' ASCII, 'H' SHORT, 'd' DOUBLE.
_ExtraTag = tuple[int, str, int, Any, bool]


@dataclass(frozen=True)
class GeoReference:
    """GeoTIFF tags needed to reproduce a tile's georeferencing.

    Attributes:
        model_pixel_scale: ModelPixelScaleTag (sx, sy, sz) in CRS units per pixel.
        model_tiepoint: ModelTiepointTag, one or more (i, j, k, x, y, z) sextuples.
        model_transformation: ModelTransformationTag, 16 doubles of a 4x4 matrix.
        geo_key_directory: GeoKeyDirectoryTag as unsigned shorts.
        geo_double_params: GeoDoubleParamsTag.
        geo_ascii_params: GeoAsciiParamsTag.
    """

    model_pixel_scale: tuple[float, ...] | None = None
    model_tiepoint: tuple[float, ...] | None = None
    model_transformation: tuple[float, ...] | None = None
    geo_key_directory: tuple[int, ...] = ()
    geo_double_params: tuple[float, ...] | None = None
    geo_ascii_params: str | None = None

    @classmethod
    def from_tags(cls, tags: dict[int, Any]) -> GeoReference | None:
        """Build a georeference from raw tag values keyed by tag code.

        Returns:
            None when the tags hold neither a transform nor a GeoKey directory.
        """
        if not any(code in tags for code in GEO_TAG_CODES):
            return None
        return cls(
            model_pixel_scale=_float_tuple(tags.get(MODEL_PIXEL_SCALE)),
            model_tiepoint=_float_tuple(tags.get(MODEL_TIEPOINT)),
            model_transformation=_float_tuple(tags.get(MODEL_TRANSFORMATION)),
            geo_key_directory=tuple(int(v) for v in tags.get(GEO_KEY_DIRECTORY, ())),
            geo_double_params=_float_tuple(tags.get(GEO_DOUBLE_PARAMS)),
            geo_ascii_params=tags.get(GEO_ASCII_PARAMS),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (tuples become lists)."""
        return {
            "model_pixel_scale": _list_or_none(self.model_pixel_scale),
            "model_tiepoint": _list_or_none(self.model_tiepoint),
            "model_transformation": _list_or_none(self.model_transformation),
            "geo_key_directory": list(self.geo_key_directory),
            "geo_double_params": _list_or_none(self.geo_double_params),
            "geo_ascii_params": self.geo_ascii_params,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeoReference:
        """Rebuild a georeference from the output of `to_dict`."""
        return cls(
            model_pixel_scale=_float_tuple(data.get("model_pixel_scale")),
            model_tiepoint=_float_tuple(data.get("model_tiepoint")),
            model_transformation=_float_tuple(data.get("model_transformation")),
            geo_key_directory=tuple(int(v) for v in data.get("geo_key_directory") or ()),
            geo_double_params=_float_tuple(data.get("geo_double_params")),
            geo_ascii_params=data.get("geo_ascii_params"),
        )

    def extratags(self) -> list[_ExtraTag]:
        """Return the tags in the form `tifffile.imwrite(extratags=...)` expects."""
        tags: list[_ExtraTag] = []
        doubles = (
            (MODEL_PIXEL_SCALE, self.model_pixel_scale),
            (MODEL_TIEPOINT, self.model_tiepoint),
            (MODEL_TRANSFORMATION, self.model_transformation),
        )
        for code, values in doubles:
            if values:
                tags.append((code, "d", len(values), values, True))
        if self.geo_key_directory:
            keys = self.geo_key_directory
            tags.append((GEO_KEY_DIRECTORY, "H", len(keys), keys, True))
        if self.geo_double_params:
            params = self.geo_double_params
            tags.append((GEO_DOUBLE_PARAMS, "d", len(params), params, True))
        if self.geo_ascii_params:
            tags.append((GEO_ASCII_PARAMS, "s", 0, self.geo_ascii_params, True))
        return tags

    @property
    def epsg(self) -> int | None:
        """EPSG code of the projected CRS, else of the geographic CRS, else None."""
        keys = _geo_keys(self.geo_key_directory)
        for key_id in (_PROJECTED_CRS_KEY, _GEOGRAPHIC_CRS_KEY):
            code = keys.get(key_id)
            if code is not None and 0 < code < _USER_DEFINED:
                return code
        return None

    @property
    def pixel_size(self) -> tuple[float, float] | None:
        """Pixel width and height in CRS units (metres for projected CRSs), or None."""
        if self.model_pixel_scale and len(self.model_pixel_scale) >= 2:
            sx, sy = self.model_pixel_scale[0], self.model_pixel_scale[1]
            if sx > 0 and sy > 0:
                return abs(sx), abs(sy)
        matrix = self.model_transformation
        if matrix and len(matrix) == 16:
            # Columns of the 2x2 linear part are the pixel x and y steps in CRS units.
            width = math.hypot(matrix[0], matrix[4])
            height = math.hypot(matrix[1], matrix[5])
            if width > 0 and height > 0:
                return width, height
        return None


def _float_tuple(values: Any) -> tuple[float, ...] | None:
    if values is None:
        return None
    if isinstance(values, int | float):
        return (float(values),)
    return tuple(float(v) for v in values)


def _list_or_none(values: tuple[float, ...] | None) -> list[float] | None:
    return None if values is None else list(values)


def _geo_keys(directory: tuple[int, ...]) -> dict[int, int]:
    """Map GeoKey id to its inline SHORT value (keys stored in other tags are skipped)."""
    keys: dict[int, int] = {}
    if len(directory) < 4:
        return keys
    key_count = directory[3]
    for index in range(key_count):
        start = 4 + 4 * index
        entry = directory[start : start + 4]
        if len(entry) < 4:
            break
        key_id, location, _count, value = entry
        if location == 0:
            keys[key_id] = value
    return keys
