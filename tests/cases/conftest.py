"""Paths to the shared problem inputs and real imagery, which live next to the repository."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared"
CASES = SHARED / "cases"
DATA = SHARED / "data"


@pytest.fixture
def case_path():
    """Return a function giving the path of a shared case file, skipping if it is absent."""

    def find(name: str) -> Path:
        path = CASES / name
        if not path.exists():
            pytest.skip(f"shared case file {path} is not present next to the repository")
        return path

    return find


@pytest.fixture
def data_path():
    """Return a function giving the path of a shared data set file, skipping if it is absent."""

    def find(relative: str) -> Path:
        path = DATA / relative
        if not path.exists():
            pytest.skip(f"shared data {path} is not present next to the repository")
        return path

    return find
