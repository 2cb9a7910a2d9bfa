"""SQLAlchemy models of the workspace database: projects, tiles, classes, labels, runs.

Large arrays never live in the database: masks, predictions, features and
checkpoints are files under the workspace, and rows keep their path and hash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table in the workspace database."""


class Project(Base):
    """A set of tiles with one band layout, one class list, its labels and runs."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    source_folder: Mapped[str] = mapped_column(Text)
    band_names: Mapped[list[str]] = mapped_column(JSON)
    dtype: Mapped[str] = mapped_column(String(20))
    value_scale: Mapped[str] = mapped_column(String(40))
    # Per-band statistics keyed by band name: {"nir": {"low": ..., "high": ..., ...}}.
    band_stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    tiles: Mapped[list[Tile]] = relationship(back_populates="project", cascade="all, delete-orphan")
    classes: Mapped[list[LabelClass]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="LabelClass.index"
    )


class Tile(Base):
    """One image file (or per-band file group) of a project, read in place."""

    __tablename__ = "tiles"
    __table_args__ = (UniqueConstraint("project_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(400))
    bands: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    dtype: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    nodata_share: Mapped[float] = mapped_column(Float, default=0.0)
    nodata_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    georef: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    thumbnail_path: Mapped[str | None] = mapped_column(Text, nullable=True)

    project: Mapped[Project] = relationship(back_populates="tiles")


class LabelClass(Base):
    """A label category: index into masks, display name and colour."""

    __tablename__ = "label_classes"
    __table_args__ = (UniqueConstraint("project_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    color: Mapped[str] = mapped_column(String(9))

    project: Mapped[Project] = relationship(back_populates="classes")


class Label(Base):
    """One saved version of a tile's mask (a PNG file under the workspace)."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("tile_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tile_id: Mapped[int] = mapped_column(ForeignKey("tiles.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    labeled_pixels: Mapped[int] = mapped_column(Integer)
    # Pixel count per class index, as {"0": 1200, "1": 35}.
    class_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(40), default="canvas")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class LabelCheck(Base):
    """A problem the integrity check found with one label version's file."""

    __tablename__ = "label_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), index=True)
    # "missing", "unreadable" or "hash_mismatch".
    problem: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class Backbone(Base):
    """A frozen feature extractor checkpoint usable for head training."""

    __tablename__ = "backbones"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    arch: Mapped[str] = mapped_column(String(40))
    # "fastsiam", "random" (an explicitly named baseline) or "imported".
    method: Mapped[str] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    band_names: Mapped[list[str]] = mapped_column(JSON)
    normalization: Mapped[dict[str, Any]] = mapped_column(JSON)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The pretraining run that produced it; a plain id because runs also reference backbones.
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class Run(Base):
    """One training job (pretraining or head training), queued in the database."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    # queued -> running -> succeeded | failed | cancelled
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    backbone_id: Mapped[int | None] = mapped_column(ForeignKey("backbones.id"), nullable=True)
    # Label versions the run trained on: {"<tile_id>": <label_id>}.
    label_snapshot: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    request_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(60), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    checkpoint_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    log_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RunMetric(Base):
    """One scalar a run logged at one step (loss, IoU, embedding std...)."""

    __tablename__ = "run_metrics"
    __table_args__ = (Index("ix_run_metrics_run_id_name", "run_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    epoch: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(60))
    value: Mapped[float] = mapped_column(Float)


class Prediction(Base):
    """A run's class map and confidence map for one tile (PNG files)."""

    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("run_id", "tile_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    tile_id: Mapped[int] = mapped_column(ForeignKey("tiles.id", ondelete="CASCADE"), index=True)
    class_path: Mapped[str] = mapped_column(Text)
    confidence_path: Mapped[str] = mapped_column(Text)
    mean_confidence: Mapped[float] = mapped_column(Float)
    # Class index -> pixel count, as {"0": 1200}.
    class_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
