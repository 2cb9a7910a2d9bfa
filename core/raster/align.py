"""Per-band file groups (one file per band, e.g. MicaSense captures) and band alignment.

Multi-lens cameras store each band in its own file, taken through its own lens,
so the bands are offset by several pixels and slightly rotated and scaled.
`read_band_group` stacks such files into one tile after aligning each band to
a reference band with OpenCV's ECC maximisation (`cv2.findTransformECC`,
affine motion) on gradient magnitude images, which look alike across bands
even where the raw brightness does not.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from core.raster.read import Raster, read_tile

logger = logging.getLogger(__name__)

_BAND_FILE = re.compile(r"(?P<capture>.+)_(?P<band>\d+)\.(?:tif|tiff)", re.IGNORECASE)
# Parrot Sequoia names each band file by a suffix; the order is the camera's band order.
_SEQUOIA_FILE = re.compile(r"(?P<capture>.+)_(?P<band>GRE|RED|REG|NIR)\.(?:tif|tiff)", re.IGNORECASE)
SEQUOIA_BAND_ORDER = ("GRE", "RED", "REG", "NIR")
# The affine estimate runs at half resolution, on 4x fewer pixels. The phase
# correlation start keeps shifts of tens of pixels within reach of ECC.
_ESTIMATE_SCALE = 0.5
_ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)


class BandAlignmentError(ValueError):
    """Bands of a per-band file group that could not be aligned."""


@dataclass(frozen=True)
class BandAlignment:
    """Alignment of one band onto the reference band.

    Attributes:
        path: the band's file.
        warp: 2x3 affine matrix mapping reference pixel coordinates to band
            pixel coordinates (full resolution).
        correlation: ECC correlation coefficient in [-1, 1] after alignment.
        residual_shift: remaining translation in pixels (phase correlation of
            the aligned gradients), an estimate of the alignment error.
    """

    path: Path
    warp: np.ndarray
    correlation: float
    residual_shift: float


def group_band_files(paths: Sequence[Path]) -> dict[str, tuple[Path, ...]]:
    """Group per-band files of one capture into per-band file groups.

    Recognised names: `<capture>_<band number>.tif` (MicaSense, sorted by band
    number) and `<capture>_GRE|RED|REG|NIR.tif` (Parrot Sequoia, in that order).

    Returns:
        Capture name -> files in band order, for captures with at least 2
        files. Other files are left out.
    """
    groups: dict[str, list[tuple[int, Path]]] = {}
    for path in paths:
        name = Path(path).name
        if match := _BAND_FILE.fullmatch(name):
            groups.setdefault(match["capture"], []).append((int(match["band"]), Path(path)))
        elif match := _SEQUOIA_FILE.fullmatch(name):
            order = SEQUOIA_BAND_ORDER.index(match["band"].upper())
            groups.setdefault(match["capture"], []).append((order, Path(path)))
    return {
        capture: tuple(path for _, path in sorted(members))
        for capture, members in sorted(groups.items())
        if len(members) >= 2
    }


def read_band_group(
    paths: Sequence[Path],
    reference: int = 1,
    min_correlation: float = 0.5,
) -> tuple[Raster, list[BandAlignment]]:
    """Read single-band files as one tile, aligned to the reference band.

    Aligned bands are resampled with bilinear interpolation and keep their
    dtype. Pixels that any band does not cover after alignment are invalid.

    NOTE: cv2.warpAffine accepts uint8, uint16, int16 and float bands only;
    other dtypes fail with a cv2.error.

    Args:
        paths: one single-band file per band, in band order.
        reference: index in `paths` of the band the others are aligned to
            (default 1, green in MicaSense captures).
        min_correlation: lowest accepted ECC correlation in [0, 1].

    Returns:
        The stacked (bands, H, W) raster, whose header lists `band_files`, and
        one alignment record per band (identity for the reference band).

    Raises:
        TileReadError: if a file cannot be read.
        BandAlignmentError: if the files differ in band count, size or dtype,
            or a band cannot be aligned.
    """
    rasters = [read_tile(Path(path)) for path in paths]
    _check_group(rasters)
    reference_raster = rasters[reference]
    height, width = reference_raster.valid.shape
    reference_gradient = _gradient(reference_raster.data[0])

    bands: list[np.ndarray] = []
    valid = reference_raster.valid.copy()
    alignments: list[BandAlignment] = []
    for index, raster in enumerate(rasters):
        if index == reference:
            warp = np.eye(2, 3, dtype=np.float32)
            alignment = BandAlignment(raster.header.path, warp, 1.0, 0.0)
        else:
            alignment = _align_band(raster, reference_gradient, min_correlation)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        band = raster.data[0]
        bands.append(cv2.warpAffine(band, alignment.warp, (width, height), flags=flags))
        coverage = cv2.warpAffine(
            raster.valid.astype(np.uint8),
            alignment.warp,
            (width, height),
            flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        )
        valid &= coverage.astype(bool)
        alignments.append(alignment)
        logger.info(
            "Aligned %s: correlation %.3f, residual shift %.2f px",
            alignment.path.name,
            alignment.correlation,
            alignment.residual_shift,
        )

    header = replace(
        reference_raster.header,
        path=Path(paths[0]),
        bands=len(rasters),
        band_files=tuple(Path(path) for path in paths),
    )
    return Raster(data=np.stack(bands), valid=valid, header=header), alignments


def _check_group(rasters: Sequence[Raster]) -> None:
    first = rasters[0]
    for raster in rasters:
        found = (raster.data.shape, raster.data.dtype.name)
        expected = ((1, *first.valid.shape), first.data.dtype.name)
        if found != expected:
            raise BandAlignmentError(
                f"{raster.header.path}: shape and dtype {found} differ from {expected} of "
                f"{first.header.path}; a per-band file group needs single-band files of one "
                "size and dtype from one capture."
            )


def _gradient(band: np.ndarray) -> np.ndarray:
    """Return the Sobel gradient magnitude of a standardised, half-resolution band."""
    full = band.astype(np.float32)
    image = cv2.resize(
        full, None, fx=_ESTIMATE_SCALE, fy=_ESTIMATE_SCALE, interpolation=cv2.INTER_AREA
    )
    image = (image - image.mean()) / (image.std() + 1e-6)
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def _align_band(
    raster: Raster, reference_gradient: np.ndarray, min_correlation: float
) -> BandAlignment:
    path = raster.header.path
    gradient = _gradient(raster.data[0])

    # Phase correlation gives the translation, which starts ECC close to the optimum.
    (dx, dy), _response = cv2.phaseCorrelate(reference_gradient, gradient)
    start = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
    try:
        correlation, estimate = cv2.findTransformECC(
            reference_gradient, gradient, start, cv2.MOTION_AFFINE, _ECC_CRITERIA, None
        )
    except cv2.error as error:
        raise BandAlignmentError(
            f"{path}: band alignment failed (ECC did not converge: {error.err}); check that the "
            "files come from one capture and the image has texture, or align them in the camera software."
        ) from error
    if correlation < min_correlation:
        raise BandAlignmentError(
            f"{path}: band alignment is unreliable (correlation {correlation:.2f} is below "
            f"{min_correlation}); check that the files come from one capture."
        )

    warp = np.asarray(estimate, dtype=np.float32)
    aligned = cv2.warpAffine(
        gradient, warp, gradient.shape[::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    )
    (rx, ry), _response = cv2.phaseCorrelate(reference_gradient, aligned)
    full_warp = warp.copy()
    full_warp[:, 2] /= _ESTIMATE_SCALE
    residual = float(np.hypot(rx, ry)) / _ESTIMATE_SCALE
    return BandAlignment(
        path=path, warp=full_warp, correlation=float(correlation), residual_shift=residual
    )
