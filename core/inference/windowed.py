"""Prediction over large rasters, window by window, with bounded memory.

Each window is read, standardised, passed through the backbone and head like
a whole tile, and only its core (the window minus half the overlap on each
inner side) is written to the output. Window origins lie on multiples of the
backbone's coarsest stride (32), so feature grids line up across windows and
every output pixel keeps at least `overlap / 2` pixels of context.

NOTE: the "fpn" head and the raw-band branch use GroupNorm, whose statistics
come from the whole input. Their output therefore depends slightly on the
window size, and a windowed prediction can differ from a whole-tile
prediction near class boundaries. The "linear" head without the raw-band
branch is local, and with it the windowed result equals the whole-tile one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import nn

from core.inference.predict import predict_sample
from core.labels.files import UNLABELED
from core.models.head import SegmentationHead
from core.raster.stats import normalize
from core.raster.validity import valid_mask
from core.raster.window import count_windows, iter_windows
from core.raster.window_read import WindowReader
from core.raster.window_write import WindowedGeoTiffWriter
from core.training.data import build_sample
from core.training.features import PAD_MULTIPLE, extract_features

logger = logging.getLogger(__name__)

# Called after each window with (windows done, windows in total).
WindowProgress = Callable[[int, int], None]


@dataclass
class WindowedPrediction:
    """Files and summary of one windowed prediction.

    Attributes:
        class_path: (H, W) uint8 GeoTIFF of class indices, 255 on invalid
            pixels, GDAL_NODATA 255.
        confidence_path: (H, W) float32 GeoTIFF of the top softmax
            probability in [0, 1], 0 on invalid pixels.
        height: raster rows.
        width: raster columns.
        windows: number of windows predicted.
        class_counts: pixel count per class index, invalid pixels left out.
        georeferenced: whether the outputs carry the source georeference.
    """

    class_path: Path
    confidence_path: Path
    height: int
    width: int
    windows: int
    class_counts: dict[int, int] = field(default_factory=dict)
    georeferenced: bool = False


def confidence_path_for(class_path: Path) -> Path:
    """Return the confidence GeoTIFF path written next to a class map path."""
    return class_path.with_name(f"{class_path.stem}_confidence.tif")


def predict_raster(
    backbone: nn.Module,
    head: SegmentationHead,
    raster_path: Path,
    normalization: Mapping[str, Sequence[float]],
    band_names: Sequence[str],
    out_path: Path,
    window: int = 512,
    overlap: int = 64,
    on_progress: WindowProgress | None = None,
) -> WindowedPrediction:
    """Predict a raster of any size window by window and write GeoTIFF outputs.

    Peak memory grows with `window` squared (input window, features, logits),
    not with the raster size: the input is read per window and both outputs
    are written per window into uncompressed GeoTIFFs that carry the source
    georeference. Outputs appear atomically when the whole raster is done.

    Args:
        backbone: frozen backbone in eval mode, returning feature maps at
            strides up to 32.
        head: trained head for the backbone's feature channels and bands.
        raster_path: TIFF/GeoTIFF (read in windows), PNG or JPEG (read whole).
        normalization: band name -> [mean, std], the one used for training.
        band_names: names of the raster's bands in file order.
        out_path: class map GeoTIFF to write; the confidence map goes to
            `confidence_path_for(out_path)`. The folder must exist.
        window: window side in pixels, a multiple of 32.
        overlap: pixels shared by neighbouring windows, a multiple of 32
            below `window`. Each output pixel has at least `overlap / 2`
            pixels of context on every side that has neighbours.
        on_progress: called after each window with (done, total).

    Returns:
        The output paths and per-class pixel counts.

    Raises:
        FileNotFoundError: if `raster_path` does not exist.
        TileReadError: if the raster cannot be read.
        ValueError: if the window settings are invalid or the raster's band
            count differs from `band_names`.
    """
    _check_window(window, overlap)
    raster_path = Path(raster_path)
    out_path = Path(out_path)
    pairs = {band: (float(values[0]), float(values[1])) for band, values in normalization.items()}
    head.eval()

    with WindowReader(raster_path) as reader:
        header = reader.header
        if header.bands != len(band_names):
            raise ValueError(
                f"{raster_path} has {header.bands} bands but the model expects "
                f"{len(band_names)} ({', '.join(band_names)}); predict rasters with the "
                "project's band layout."
            )
        total = count_windows(header.height, header.width, window, overlap)
        logger.info(
            "Predicting %s (%d x %d px, %d bands) in %d windows of %d px with %d px overlap",
            raster_path, header.height, header.width, header.bands, total, window, overlap,
        )
        counts = np.zeros(256, dtype=np.int64)
        class_writer = WindowedGeoTiffWriter(
            out_path, header.height, header.width, np.uint8, header.georef, nodata=UNLABELED
        )
        confidence_writer = WindowedGeoTiffWriter(
            confidence_path_for(out_path), header.height, header.width, np.float32, header.georef
        )
        try:
            windows = iter_windows(header.height, header.width, window, overlap)
            for done, current in enumerate(windows, start=1):
                data = reader.read(current)
                valid = valid_mask(data, header.nodata)
                image = normalize(data, valid, list(band_names), pairs)
                sample = build_sample(0, image, valid, extract_features(backbone, image))
                class_map, confidence = predict_sample(head, sample)

                rows, cols = current.core_in_window
                core_classes = class_map[rows, cols]
                class_writer.write(current.core_row, current.core_col, core_classes)
                confidence_writer.write(current.core_row, current.core_col, confidence[rows, cols])
                counts += np.bincount(core_classes.ravel(), minlength=256)
                if on_progress is not None:
                    on_progress(done, total)
        except BaseException:
            class_writer.discard()
            confidence_writer.discard()
            raise
        class_writer.commit()
        confidence_writer.commit()

    class_counts = {index: int(n) for index, n in enumerate(counts) if n and index != UNLABELED}
    logger.info("Wrote %s and its confidence map", out_path)
    return WindowedPrediction(
        class_path=out_path,
        confidence_path=confidence_path_for(out_path),
        height=header.height,
        width=header.width,
        windows=total,
        class_counts=class_counts,
        georeferenced=header.georef is not None,
    )


def _check_window(window: int, overlap: int) -> None:
    if window < PAD_MULTIPLE or window % PAD_MULTIPLE:
        raise ValueError(
            f"Invalid window size {window}: use a positive multiple of {PAD_MULTIPLE} px "
            "(the backbone's coarsest stride), e.g. 512."
        )
    if overlap < 0 or overlap % PAD_MULTIPLE or overlap >= window:
        raise ValueError(
            f"Invalid window overlap {overlap}: use a multiple of {PAD_MULTIPLE} px that is "
            f"smaller than the window size {window}, e.g. 64."
        )
