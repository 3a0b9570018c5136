"""Pipelines: each one a ``run_once(ctx) -> RunResult`` function.

The registry maps a job name to "module:function" and imports lazily, so a
runner loads only its own pipeline (and no web code).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Callable

from app.config import Settings
from app.repository import Repository

PIPELINES: dict[str, str] = {
    "lb-fetch": "app.pipelines.lb_fetch:run_once",
    "catalog-discovery": "app.pipelines.catalog:run_once",
}


@dataclass
class JobContext:
    """What a pipeline run gets: settings as of this run, the repository, a stop flag."""

    job: str
    settings: Settings
    repository: Repository
    stop_requested: Callable[[], bool] = lambda: False
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("resonance.pipeline"))


@dataclass
class RunResult:
    """A run's one-line summary; ``error`` set when part of it failed; ``skipped`` when it had nothing to do."""

    summary: str
    error: str | None = None
    skipped: bool = False

    @property
    def outcome(self) -> str:
        return "failed" if self.error else "skipped" if self.skipped else "ok"


def register(name: str, target: str) -> None:
    """Register a pipeline as "package.module:function"."""
    PIPELINES[name] = target


def load(name: str) -> Callable[[JobContext], RunResult]:
    try:
        target = PIPELINES[name]
    except KeyError:
        known = ", ".join(sorted(PIPELINES)) or "none"
        raise LookupError(f"unknown job {name!r} (known: {known})") from None
    module_name, _, function = target.partition(":")
    return getattr(importlib.import_module(module_name), function)
