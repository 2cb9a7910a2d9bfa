"""File names of prediction outputs (no torch import, so pages can use them cheaply)."""

from __future__ import annotations

from pathlib import Path


def entropy_path_for(confidence_path: str | Path) -> Path:
    """Return where a prediction's entropy map is stored, next to its confidence map."""
    path = Path(confidence_path)
    return path.with_name(path.name.replace("_confidence", "_entropy"))
