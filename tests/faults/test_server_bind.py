"""run_app.py binds to 127.0.0.1 by default and logs a warning for any other --host."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_run_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_app_under_test", REPO_ROOT / "run_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_host_is_loopback():
    run_app = load_run_app()
    assert run_app.parse_args([]).host == "127.0.0.1"


def test_default_host_logs_no_warning(caplog):
    run_app = load_run_app()
    with caplog.at_level(logging.WARNING, logger="run_app"):
        assert run_app.warn_if_exposed("127.0.0.1") is False
    assert caplog.records == []


def test_other_host_logs_warning(caplog):
    run_app = load_run_app()
    host = run_app.parse_args(["--host", "0.0.0.0"]).host
    with caplog.at_level(logging.WARNING, logger="run_app"):
        assert run_app.warn_if_exposed(host) is True
    assert len(caplog.records) == 1
    assert "0.0.0.0" in caplog.records[0].getMessage()
    assert "read and change your labels" in caplog.records[0].getMessage()
