"""The workspace: one folder holding the database, label files, caches and checkpoints."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WORKSPACE_ENV = "MULTISSL_WORKSPACE"
DATABASE_URL_ENV = "MULTISSL_DATABASE_URL"


def default_workspace_root() -> Path:
    """Return the workspace folder from $MULTISSL_WORKSPACE, else ~/.multissl-studio."""
    configured = os.environ.get(WORKSPACE_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".multissl-studio"


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace; every file the app writes lives below ``root``."""

    root: Path

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL: $MULTISSL_DATABASE_URL if set, else SQLite inside the workspace."""
        return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{self.root / 'studio.db'}"

    @property
    def labels_dir(self) -> Path:
        return self.root / "labels"

    @property
    def predictions_dir(self) -> Path:
        return self.root / "predictions"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def thumbnails_dir(self) -> Path:
        return self.root / "thumbnails"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    def create(self) -> Workspace:
        """Create the workspace folders if missing and return self."""
        for folder in (
            self.root,
            self.labels_dir,
            self.predictions_dir,
            self.cache_dir,
            self.checkpoints_dir,
            self.thumbnails_dir,
            self.logs_dir,
            self.exports_dir,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        return self
