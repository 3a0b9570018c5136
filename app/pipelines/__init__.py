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
    "library-discovery": "app.pipelines.library:run_once",
    "slskd-downloader": "app.pipelines.downloader:run_once",
}


@dataclass(frozen=True)
class BetweenRuns:
    """A light check a runner makes between scheduled runs, when ``needed`` says so.

    ``needed`` runs in the runner itself, so it may only read the repository;
    the check (``target``, "module:function" taking a JobContext) is imported
    only when it runs.
    """

    target: str
    needed: Callable[[Repository], bool]
    every: float = 30.0  # seconds


BETWEEN_RUNS: dict[str, BetweenRuns] = {
    # Transfer progress, stalls and fail-over between the hourly downloader runs.
    "slskd-downloader": BetweenRuns("app.pipelines.transfers:check_transfers", Repository.downloads_to_follow),
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
    """A run's one-line summary.

    ``error`` set when the run failed (it did not do its work); ``left`` when it did part of its work and
    says what is left for the next run (an upstream failed for some of it); ``skipped`` when it had nothing
    to do; ``moved_aside`` the damaged data files the run had to move aside (the runner fills it in).
    """

    summary: str
    error: str | None = None
    skipped: bool = False
    left: str | None = None
    moved_aside: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if self.error:
            return "failed"
        if self.left:
            return "partial"
        if self.moved_aside:
            return "warning"  # it ran, but without the data of a damaged file
        return "skipped" if self.skipped else "ok"


def register(name: str, target: str) -> None:
    """Register a pipeline as "package.module:function"."""
    PIPELINES[name] = target


def load(name: str, between_runs: bool = False) -> Callable[[JobContext], RunResult]:
    """The job's run_once, or with ``between_runs`` its between-runs check."""
    try:
        target = BETWEEN_RUNS[name].target if between_runs else PIPELINES[name]
    except KeyError:
        known = ", ".join(sorted(BETWEEN_RUNS if between_runs else PIPELINES)) or "none"
        raise LookupError(f"unknown job {name!r} (known: {known})") from None
    module_name, _, function = target.partition(":")
    return getattr(importlib.import_module(module_name), function)
