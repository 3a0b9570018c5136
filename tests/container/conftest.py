"""Fixtures for the container tests: the services under real s6, and the outside world."""

from __future__ import annotations

import shutil

import pytest
from container.harness import VENV_BIN, ServiceTree, base_env, free_port

from app.sandbox import Sandbox, SandboxSettings


@pytest.fixture
def upstream():
    """The outside services: app.sandbox's fakes (fast settings), as environment variables."""
    with Sandbox(settings=SandboxSettings.fast()) as sandbox:
        yield sandbox.resonance_environment()


@pytest.fixture
def s6_tools():
    missing = [tool for tool in ("s6-svscan", "s6-svstat", "s6-svscanctl", "s6-setuidgid") if not shutil.which(tool)]
    assert not missing, f"{', '.join(missing)} missing: install Debian's s6 (scripts/install-system-deps)"
    assert (VENV_BIN / "resonance").exists(), f"no resonance command in {VENV_BIN}: run the tests from the venv"


@pytest.fixture
def service_env(tmp_path, upstream):
    return base_env(tmp_path, free_port(), upstream)


@pytest.fixture
def service_tree(tmp_path, service_env, s6_tools):
    """The five services under s6-svscan, stopped (and every process gone) after the test."""
    tree = ServiceTree(tmp_path, service_env)
    try:
        yield tree
    finally:
        tree.stop()
