"""Command line: ``python -m core <command>`` for import, pretrain, train, worker and runs."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from core.store.workspace import Workspace, default_workspace_root

logger = logging.getLogger(__name__)


def _workspace(args: argparse.Namespace) -> Workspace:
    from core.store.engine import upgrade_database

    workspace = Workspace(Path(args.workspace).expanduser().resolve()).create()
    upgrade_database(workspace.database_url)
    return workspace


def _split(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def cmd_import(args: argparse.Namespace) -> int:
    from core.projects.importer import create_project
    from core.store.engine import session_scope

    workspace = _workspace(args)
    with session_scope(workspace.database_url) as session:
        result = create_project(
            session,
            Path(args.folder),
            args.name or Path(args.folder).stem,
            _split(args.bands),
            _split(args.classes),
            workspace,
            tile_size=args.tile_size,
            overlap=args.overlap,
        )
    logger.info("Project %d: %d tiles imported", result.project_id, result.tile_count)
    for name, reason in result.skipped:
        logger.warning("Left out %s: %s", name, reason)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from core.jobs.worker import run_worker

    run_worker(_workspace(args), once=args.once, max_idle=args.max_idle)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from core.jobs.queue import enqueue_run
    from core.jobs.worker import run_worker
    from core.projects.backbones import create_random_baseline, list_backbones
    from core.store.engine import session_scope
    from core.store.models import Project, Run
    from core.training.trainer import HeadConfig

    workspace = _workspace(args)
    with session_scope(workspace.database_url) as session:
        project = session.get(Project, args.project)
        if project is None:
            raise LookupError(f"Project {args.project} not found; list projects with `python -m core runs`.")
        if args.backbone == "random":
            backbone = create_random_baseline(session, workspace, project)
        else:
            candidates = [b for b in list_backbones(session, project.id) if args.backbone in (None, str(b.id))]
            candidates = [b for b in candidates if b.method != "random"] or candidates
            if not candidates:
                raise LookupError("No backbone for this project: pretrain one (`python -m core pretrain`) or pass --backbone random.")
            backbone = candidates[0]
        config = HeadConfig(head=args.head, semi_supervised=not args.supervised_only, steps=args.steps)
        run = enqueue_run(session, project.id, "train", config.to_dict(), backbone_id=backbone.id)
        run_id = run.id
    if args.wait:
        run_worker(workspace, once=True)
        with session_scope(workspace.database_url) as session:
            finished = session.get(Run, run_id)
            assert finished is not None
            logger.info("Run %d %s: %s", run_id, finished.status, finished.message)
            return 0 if finished.status == "succeeded" else 1
    return 0


def cmd_import_backbone(args: argparse.Namespace) -> int:
    from core.projects.backbones import describe, import_backbone_file
    from core.projects.queries import get_project
    from core.store.engine import session_scope

    workspace = _workspace(args)
    with session_scope(workspace.database_url) as session:
        project = get_project(session, args.project)
        backbone = import_backbone_file(session, workspace, project, Path(args.file), args.arch, args.name)
        logger.info("Registered backbone %d: %s", backbone.id, describe(backbone))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from core.store.engine import session_scope
    from core.store.models import Project, Run

    workspace = _workspace(args)
    with session_scope(workspace.database_url) as session:
        for project in session.scalars(select(Project)):
            sys.stdout.write(f"project {project.id} {project.name!r}: {len(project.tiles)} tiles, bands {project.band_names}\n")
        for run in session.scalars(select(Run).order_by(Run.id)):
            sys.stdout.write(f"run {run.id} [{run.kind}] {run.status} {run.progress:.0%} {run.message}\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m core", description="MultiSSL Studio command line.")
    parser.add_argument("--workspace", default=str(default_workspace_root()), help="workspace folder (database, labels, caches, checkpoints)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="create a project from a folder of tiles, or from one orthomosaic cut into tiles")
    p.add_argument("folder", help="folder with TIFF/GeoTIFF/PNG tiles (or an images/ subfolder), or one large raster file")
    p.add_argument("--tile-size", type=int, default=512, help="tile side in pixels when cutting a single raster (default: 512)")
    p.add_argument("--overlap", type=int, default=0, help="pixels shared by neighbouring tiles when cutting (default: 0)")
    p.add_argument("--name", help="project name (default: the folder name)")
    p.add_argument("--bands", help="comma-separated band names in file order, e.g. blue,green,red,red_edge,nir")
    p.add_argument("--classes", help="comma-separated class names (default: classes.json beside the tiles)")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("worker", help="execute queued runs")
    p.add_argument("--once", action="store_true", help="execute the runs queued now, then exit")
    p.add_argument("--max-idle", type=float, default=None, help="exit after this many idle seconds")
    p.set_defaults(handler=cmd_worker)

    p = sub.add_parser("train", help="queue a head training run on a project")
    p.add_argument("--project", type=int, required=True, help="project id")
    p.add_argument("--backbone", default=None, help="backbone id, or 'random' for the random-init baseline (default: newest pretrained)")
    p.add_argument("--head", default="fpn", choices=["fpn", "linear"])
    p.add_argument("--steps", type=int, default=300, help="optimiser steps")
    p.add_argument("--supervised-only", action="store_true", help="disable the mean-teacher loss on unlabeled pixels")
    p.add_argument("--wait", action="store_true", help="run the worker in this process until the run ends")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser(
        "import-backbone",
        help="register a backbone file for a project (from `pretrain`, a Lightning checkpoint or a torchvision state dict)",
    )
    p.add_argument("--project", type=int, required=True, help="project id")
    p.add_argument("--file", required=True, help="checkpoint file (.pt, .pth, .ckpt), loaded with weights_only=True")
    p.add_argument("--arch", default="resnet18", choices=["resnet18", "resnet50", "swin_t"], help="architecture of the weights")
    p.add_argument("--name", help="display name (default: derived from the file name)")
    p.set_defaults(handler=cmd_import_backbone)

    p = sub.add_parser("runs", help="list projects and runs")
    p.set_defaults(handler=cmd_runs)

    from core.inference.command import register as register_inference
    from core.pretrain.command import register as register_pretrain

    register_pretrain(sub)
    register_inference(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the command and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except (ValueError, LookupError, FileNotFoundError, PermissionError) as error:
        logger.error("%s", error)
        return 2
