"""The `python -m core export` and `python -m core predict` subcommands."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_WINDOW = 512
DEFAULT_OVERLAP = 64


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `export` and `predict` subcommands, dispatched through `args.handler`."""
    from core.inference.export import EXPORT_FORMATS, EXPORT_ITEMS

    parser = subparsers.add_parser(
        "export",
        help="export a run's predictions, confidence maps and labels as PNG and GeoTIFF",
        description="Write every tile's prediction, confidence map and newest label of a run's "
        "project to a folder. GeoTIFFs carry the source tile's georeference.",
    )
    parser.add_argument("--run", type=int, required=True, help="id of a head training run")
    parser.add_argument("--output", type=Path, required=True, help="folder to write; created if missing")
    parser.add_argument(
        "--bundle", type=Path, default=None,
        help="also write a model bundle (backbone + head + bands + normalization + classes) to this file",
    )
    parser.add_argument(
        "--formats", default="geotiff,png",
        help=f"comma-separated file formats from {', '.join(EXPORT_FORMATS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--include", default="predictions,confidence,masks",
        help=f"comma-separated items from {', '.join(EXPORT_ITEMS)} (default: %(default)s)",
    )
    parser.set_defaults(handler=cmd_export)

    parser = subparsers.add_parser(
        "predict",
        help="predict rasters of any size with a run's trained head",
        description="Predict GeoTIFF rasters (orthomosaics of any size) window by window with "
        "the head and backbone of a run, writing a class map and a confidence map per raster.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=int, help="id of a succeeded head training run in the workspace")
    source.add_argument("--model", type=Path, help="model bundle file written by `export --bundle`; needs no workspace")
    parser.add_argument(
        "--input", type=Path, required=True,
        help="a raster file, or a folder whose .tif/.tiff/.png/.jpg files are predicted (subfolders are not read)",
    )
    parser.add_argument("--output", type=Path, required=True, help="folder to write; created if missing")
    parser.add_argument(
        "--window", type=int, default=DEFAULT_WINDOW,
        help="window side in pixels, a multiple of 32 (default: %(default)s)",
    )
    parser.add_argument(
        "--overlap", type=int, default=DEFAULT_OVERLAP,
        help="pixels shared by neighbouring windows, a multiple of 32 (default: %(default)s)",
    )
    parser.set_defaults(handler=cmd_predict)


def _open_workspace(args: argparse.Namespace) -> Any:
    from core.store.engine import upgrade_database
    from core.store.workspace import Workspace

    workspace = Workspace(Path(args.workspace).expanduser().resolve()).create()
    upgrade_database(workspace.database_url)
    return workspace


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def cmd_export(args: argparse.Namespace) -> int:
    """Run `export`; return 0 when every item was exported, else 1."""
    from core.inference.export import export_run
    from core.store.engine import session_scope

    workspace = _open_workspace(args)
    with session_scope(workspace.database_url) as session:
        report = export_run(
            session, workspace, args.run, args.output, _split(args.formats), _split(args.include)  # type: ignore[arg-type]
        )
    logger.info("Wrote %d files for %d tiles to %s", len(report.files), report.tiles_exported, report.out_dir)
    if report.tiles_without_georef:
        logger.warning(
            "%d tiles have no georeference, so their GeoTIFFs have none either: %s",
            len(report.tiles_without_georef), ", ".join(report.tiles_without_georef),
        )
    for problem in report.problems:
        logger.error("%s", problem)
    if args.bundle is not None:
        from core.inference.bundle import export_bundle

        with session_scope(workspace.database_url) as session:
            bundle_path = export_bundle(session, args.run, args.bundle)
        logger.info("Wrote model bundle %s", bundle_path)
    return 1 if report.problems else 0


@dataclass
class RunModels:
    """Everything needed to predict with a run: models, bands and normalization."""

    backbone: Any
    head: Any
    band_names: list[str]
    normalization: dict[str, list[float]]


def load_run_models(workspace: Any, run_id: int) -> RunModels:
    """Load the frozen backbone and trained head of a run.

    Raises:
        LookupError: if the run, its backbone or its checkpoint does not exist.
        ValueError: if the head checkpoint was trained on another backbone.
    """

    from core.models.head import head_from_checkpoint, read_head_checkpoint
    from core.projects.backbones import load_frozen
    from core.store.engine import session_scope
    from core.store.models import Backbone, Project, Run

    with session_scope(workspace.database_url) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise LookupError(f"Run {run_id} not found; list runs with `python -m core runs`.")
        if run.kind != "train" or not run.checkpoint_path:
            raise LookupError(
                f"Run {run_id} ({run.kind}, {run.status}) has no trained head; pick a succeeded "
                "head training run."
            )
        backbone_row = session.get(Backbone, run.backbone_id) if run.backbone_id else None
        project = session.get(Project, run.project_id)
        if backbone_row is None or project is None:
            raise LookupError(f"Run {run_id} has no backbone or project in the database.")
        session.expunge_all()

    checkpoint = read_head_checkpoint(Path(run.checkpoint_path), backbone_row.sha256, run_id)
    head = head_from_checkpoint(checkpoint)
    return RunModels(
        backbone=load_frozen(backbone_row),
        head=head,
        band_names=list(checkpoint.get("band_names") or project.band_names),
        normalization=dict(backbone_row.normalization),
    )


def input_rasters(path: Path) -> list[Path]:
    """Return `path` itself, or the raster files directly inside the folder `path`.

    Raises:
        FileNotFoundError: if `path` does not exist or the folder has no rasters.
    """
    from core.raster.header import IMAGE_SUFFIXES

    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"Input not found: {path}; pass a raster file or a folder of rasters.")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(
            f"No raster files ({', '.join(IMAGE_SUFFIXES)}) in {path}; subfolders are not read."
        )
    return files


def cmd_predict(args: argparse.Namespace) -> int:
    """Run `predict`; return 0 when every raster was predicted, else 1."""
    from core.inference.export import safe_file_stem
    from core.inference.windowed import predict_raster
    from core.raster.errors import TileReadError

    rasters = input_rasters(Path(args.input))
    if args.model is not None:
        from core.inference.bundle import load_bundle

        bundle = load_bundle(args.model)
        models = RunModels(bundle.backbone, bundle.head, bundle.band_names, bundle.normalization)
    else:
        models = load_run_models(_open_workspace(args), args.run)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)

    failed = 0
    for position, raster in enumerate(rasters, start=1):
        target = output / f"{safe_file_stem(raster.name, f'raster_{position}')}_classes.tif"

        def report_progress(done: int, total: int, name: str = raster.name) -> None:
            logger.info("%s: window %d of %d", name, done, total)

        try:
            result = predict_raster(
                models.backbone, models.head, raster, models.normalization, models.band_names,
                target, window=args.window, overlap=args.overlap, on_progress=report_progress,
            )
        except (TileReadError, ValueError, OSError) as error:
            failed += 1
            logger.error("Raster %d of %d (%s) not predicted: %s", position, len(rasters), raster, error)
            continue
        if not result.georeferenced:
            logger.warning("%s has no georeference, so its outputs have none either", raster.name)
        logger.info("Raster %d of %d: wrote %s", position, len(rasters), result.class_path)
    return 1 if failed else 0
