"""Fixtures shared by every test: a fresh data dir and a clean environment."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from app.repository import Repository

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No RESONANCE_* or architecture variables leak in from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith("RESONANCE_") or name in ("LB_FETCH_INTERVAL", "CATALOG_INTERVAL", "SLSKD_INTERVAL", "LOG_LEVEL"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RESONANCE_CONFIG", str(tmp_path / "config.yaml"))
    monkeypatch.setenv("RESONANCE_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def repository(data_dir) -> Repository:
    return Repository(data_dir)


@pytest.fixture
def subprocess_env(tmp_path):
    """Environment for child processes: the package and tests/ importable, same data dir."""
    env = {k: v for k, v in os.environ.items()}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")])
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture
def time_zone(monkeypatch):
    """``time_zone("Europe/Berlin")``: the process runs in that zone (TZ) until the test ends."""
    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()
