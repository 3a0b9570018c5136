"""The job runner shared by the pipelines.

A runner is a small driver around ``run_once``: the ``schedule`` library says
when the next run is due, the web UI can ask for a run through the
repository, and a stop request (SIGTERM) lets the current run finish its item
and ends the loop. At most one run of a job happens at a time across every
process, guarded by a lock in the data dir.

With ``isolate`` (what ``resonance job`` and ``resonance run`` use) each run
happens in a child process (``resonance job NAME --once``): the pipeline, its
HTTP clients and their memory come and go with the run, so an idle runner
stays small. A stop request is passed on to the child, which finishes its
current item.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Callable

import schedule

from app import notifications, pipelines
from app.config import ConfigError, Settings, load_settings
from app.logs import JobLogHandler, current_job
from app.masking import mask_secrets
from app.notifications.delivery import release_held
from app.pipelines import JobContext, RunResult
from app.paths import file_version
from app.records import utc_now_iso
from app.repository import RUN_REQUESTS, AlreadyLocked, Repository, StorageError
from app.text import every_text

log = logging.getLogger("resonance.runner")

INTERVAL_SETTING = {
    "lb-fetch": "schedule.lb_fetch",
    "catalog-discovery": "schedule.catalog_discovery",
    "library-discovery": "schedule.library_discovery",
    "slskd-downloader": "schedule.slskd_downloader",
}
DEFAULT_INTERVAL_SETTING = "schedule.lb_fetch"
POLL_SECONDS = 2.0  # how soon a "Run now" from the web UI is picked up
#: Under jobs.standby: quiet for this long after starting or a run, the runner stands by...
#: (RESONANCE_STANDBY_AFTER: the tests shorten it)
STANDBY_AFTER = float(os.environ.get("RESONANCE_STANDBY_AFTER") or 10.0)
#: ...unless the next run is due sooner than this.
STANDBY_MIN_SLEEP = 60.0
NOT_WRITABLE = "the data folder cannot be written"


def interval_for(job: str, settings: Settings) -> int:
    return settings.get(INTERVAL_SETTING.get(job, DEFAULT_INTERVAL_SETTING))


class JobRunner:
    def __init__(
        self,
        job: str,
        repository: Repository,
        run_once: Callable[[JobContext], RunResult] | None = None,
        stop_event: threading.Event | None = None,
        poll_seconds: float = POLL_SECONDS,
        isolate: bool = False,
        child_command: list[str] | None = None,
    ):
        if run_once is None and job not in pipelines.PIPELINES:
            pipelines.load(job)  # raises LookupError naming the known jobs
        self.job = job
        self.repository = repository
        self._run_once = run_once
        self.stop_event = stop_event or threading.Event()
        self.poll_seconds = poll_seconds
        self.isolate = isolate
        self.child_command = child_command or [sys.executable, "-m", "jobs"]
        self.between_runs = pipelines.BETWEEN_RUNS.get(job)
        self._last_between = time.monotonic()
        self.scheduler = schedule.Scheduler()
        self.interval: int | None = None
        self.log_handler: JobLogHandler | None = None
        self._last_request_error: str | None = None
        self._last_release_error: str | None = None
        self._requests_seen: tuple | None = None
        # Files the store moved aside before this runner existed are not its runs' doing.
        self._moved_aside_reported = len(repository.store.moved_aside)

    # settings are read again before every run: the web UI may have changed them
    def load_settings(self) -> Settings:
        return load_settings(self.repository.saved_settings())

    def run(self, trigger: str = "manual") -> RunResult | None:
        """One run under the job lock; None when another process is running it."""
        token = current_job.set(self.job)
        try:
            with self.repository.job_lock(self.job):
                return self._run_locked(trigger)
        except AlreadyLocked:
            log.warning("%s is already running elsewhere; this run is skipped", self.job)
            return None
        except StorageError as exc:  # the job lock is a file in the data dir
            log.error("%s not run: %s", self.job, exc)
            return RunResult(NOT_WRITABLE, error=str(exc))
        finally:
            if self.log_handler:
                self.log_handler.flush()
            current_job.reset(token)

    def _run_locked(self, trigger: str) -> RunResult:
        previous = self.repository.job_statuses().get(self.job, {})
        if previous.get("state") == "running":  # this process holds the lock now: that run was killed
            log.warning("%s: the run started at %s was interrupted before it finished", self.job,
                        previous.get("started_at") or "an unknown time")
        started = utc_now_iso()
        clock = time.monotonic()
        secrets: list[str] = []
        context: JobContext | None = None
        try:
            # A run that could not record its start could not record what it did either.
            self.repository.update_job_status(self.job, state="running", started_at=started, trigger=trigger)
            # This run does what a run asked for later (after an approval) would: it reads the wishlist now.
            self.repository.cancel_run_request(self.job)
            log.info("%s run started (%s)", self.job, trigger)
            settings = self.load_settings()
            secrets = settings.secret_values()
            context = JobContext(self.job, settings, self.repository, self.stop_event.is_set,
                                 logging.getLogger(f"resonance.{self.job}"))
            run_once = self._run_once or pipelines.load(self.job)  # imported on first use only
            with notifications.listening_for_rejected_credentials(context):
                result = run_once(context)
        except ConfigError as exc:
            result = RunResult("not run: the settings are wrong", error=str(exc))
        except StorageError as exc:  # what is wrong is the disk, not the code: no traceback
            result = RunResult(NOT_WRITABLE, error=str(exc))
        except Exception as exc:  # a failed run is reported, and the runner lives on
            log.exception("%s run crashed", self.job)
            result = RunResult("run crashed", error=f"{type(exc).__name__}: {exc}")
        # The status is shown on pages, in the API and by `resonance job`: no secret in any form gets there.
        result = replace(result, summary=mask_secrets(result.summary, secrets),
                                     error=mask_secrets(result.error, secrets) if result.error else result.error,
                                     left=mask_secrets(result.left, secrets) if result.left else result.left)
        seconds = time.monotonic() - clock
        result = self._with_files_moved_aside(result)
        level = logging.ERROR if result.error else logging.WARNING if result.moved_aside or result.left else logging.INFO
        log.log(level, "%s run %s in %.1f s: %s%s%s", self.job, result.outcome, seconds, result.summary,
                f" (error: {result.error})" if result.error else "",
                f"; left for the next run: {result.left}" if result.left else "")
        failed_in_a_row = (previous.get("failed_in_a_row") or 0) + 1 if result.error else 0
        self._record_status(
            state="idle",
            failed_in_a_row=failed_in_a_row,
            last_run={
                "started_at": started,
                "finished_at": utc_now_iso(),
                "seconds": round(seconds, 2),
                "trigger": trigger,
                "outcome": result.outcome,
                "summary": result.summary,
                "error": result.error,
                "left": result.left,
            },
        )
        if context is not None:  # after the status: a slow delivery does not hold up what the page shows
            notifications.send_run_notices(context, failed_in_a_row=failed_in_a_row, error=result.error)
        return result

    def _record_status(self, **changes) -> None:
        """Update this job's status; when the data dir refuses, say so in the log and carry on."""
        try:
            self.repository.update_job_status(self.job, **changes)
        except StorageError as exc:
            log.error("could not record the status of %s: %s", self.job, exc)

    def _with_files_moved_aside(self, result: RunResult) -> RunResult:
        """The result, with the data files moved aside by this process since the last run reported
        (or since the runner was made: ``resonance job`` makes it before reading the settings)."""
        moved = self.repository.store.moved_aside[self._moved_aside_reported:]
        self._moved_aside_reported += len(moved)
        if not moved:
            return result
        return replace(result, moved_aside=moved,
                       summary=f"{result.summary}; damaged data: {'; '.join(moved)}")

    def _schedule(self, settings: Settings) -> None:
        interval = interval_for(self.job, settings)
        if interval != self.interval:
            self.scheduler.clear()
            self.scheduler.every(interval).seconds.do(self.run_now, trigger="schedule")
            self.interval = interval
            log.info("%s runs %s", self.job, every_text(interval))

    def run_now(self, trigger: str) -> None:
        """A run for the serve loop: in a child process with ``isolate``, else here."""
        if self.isolate:
            self._run_in_child(["--once", "--trigger", trigger])
        else:
            self.run(trigger)

    def check_between_runs(self) -> RunResult:
        """The job's light check between runs (outside the job lock: it has its own)."""
        token = current_job.set(self.job)
        try:
            context = JobContext(self.job, self.load_settings(), self.repository, self.stop_event.is_set,
                                 logging.getLogger(f"resonance.{self.job}"))
            with notifications.listening_for_rejected_credentials(context):
                result = pipelines.load(self.job, between_runs=True)(context)
            notifications.send_run_notices(context)
        except StorageError as exc:
            log.error("%s check between runs failed: %s", self.job, exc)
            result = RunResult("check failed", error=str(exc))
        except Exception as exc:  # a failed check waits for the next one
            log.exception("%s check between runs failed", self.job)
            result = RunResult("check failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            current_job.reset(token)
        if not result.skipped:
            log.info("%s check: %s", self.job, result.summary)
        return result

    def _maybe_check_between_runs(self) -> None:
        check = self.between_runs
        if check is None or time.monotonic() - self._last_between < check.every:
            return
        self._last_between = time.monotonic()
        if not check.needed(self.repository):
            return  # the common case: nothing to look at, and nothing imported
        if self.isolate:
            self._run_in_child(["--between"])
        else:
            self.check_between_runs()

    def _run_in_child(self, arguments: list[str]) -> None:
        # The child records its own status and log; its exit code is only echoed.
        child = subprocess.Popen([*self.child_command, self.job, *arguments])
        stop_sent = False
        while child.poll() is None:
            if self.stop_event.wait(0.2) and not stop_sent:
                child.send_signal(signal.SIGTERM)  # finish the current item, then stop
                stop_sent = True
        if child.returncode not in (0, 1):
            log.warning("%s run process ended with status %s", self.job, child.returncode)

    @contextlib.contextmanager
    def keeping_log(self, settings: Settings):
        """Keep this job's log events in the data dir for the web UI while the block runs."""
        self.log_handler = JobLogHandler(self.repository, self.job, settings.schedule.log_lines,
                                         settings.secret_values())
        logging.getLogger().addHandler(self.log_handler)
        try:
            yield
        finally:
            self.log_handler.flush()
            logging.getLogger().removeHandler(self.log_handler)

    def _publish_next_run(self) -> None:
        seconds = self.scheduler.idle_seconds or 0
        next_run = datetime.now(timezone.utc) + timedelta(seconds=max(0.0, seconds))
        self._record_status(next_run=next_run.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def serve(self, run_on_start: bool | None = None, *, until_idle: bool = False, resume: bool = False) -> None:
        """Run on schedule and on request until the stop event is set.

        ``until_idle`` (under jobs.standby): return instead once nothing is due
        for a while, having told the standby when to start the runner again.
        ``resume``: started again by the standby: the schedule goes on from the
        next run recorded, and nothing runs for the start.
        """
        token = current_job.set(self.job)
        settings = self.load_settings()
        try:
            with self.keeping_log(settings):
                self._serve(settings, False if resume else run_on_start, until_idle, resume)
        finally:
            current_job.reset(token)

    def _serve(self, settings: Settings, run_on_start: bool | None, until_idle: bool = False,
               resume: bool = False) -> None:
        self._schedule(settings)
        if resume:
            self._resume_schedule()
            self._update_runner_state("idle")
        else:
            self._update_runner_state("idle", runner_started_at=utc_now_iso())
        if settings.schedule.run_on_start if run_on_start is None else run_on_start:
            self.run_now(trigger="start")
        self._publish_next_run()
        quiet_since = time.monotonic()
        while not self.stop_event.is_set():
            if self._take_run_request():
                self.run_now(trigger="manual")
                self._publish_next_run()
                quiet_since = time.monotonic()
            if self.scheduler.idle_seconds is not None and self.scheduler.idle_seconds <= 0:
                self.scheduler.run_pending()
                self._reschedule_from_settings()
                self._publish_next_run()
                quiet_since = time.monotonic()
            self._maybe_check_between_runs()
            self._release_held_notifications()
            if until_idle and time.monotonic() - quiet_since >= STANDBY_AFTER and self._stand_by():
                return
            self.stop_event.wait(self.poll_seconds)
        log.info("%s runner stopped", self.job)
        self._update_runner_state("stopped", next_run=None)

    def _release_held_notifications(self) -> None:
        """Messages held through the quiet hours go out once they end, even with no run due."""
        try:
            release_held(self.repository, self.load_settings)
            self._last_release_error = None
        except Exception as exc:  # noqa: BLE001  (tried again at the next poll; said once)
            if str(exc) != self._last_release_error:
                log.error("held notifications not sent: %s", exc)
            self._last_release_error = str(exc)

    def _stand_by(self) -> bool:
        """Hand over to the standby when nothing is due soon and no download is followed: True when done."""
        from jobs.standby import say_when_to_wake

        idle = self.scheduler.idle_seconds
        asked_in = self.repository.run_due_in(self.job)  # a run asked for later (after an approval)
        if asked_in is not None:
            idle = asked_in if idle is None else min(idle, asked_in)
        if idle is None or idle < STANDBY_MIN_SLEEP:
            return False
        if self.between_runs is not None and self.between_runs.needed(self.repository):
            return False
        if not say_when_to_wake(idle, self._requests_seen):
            return False
        log.debug("%s runner stands by until the next run, in %.0f s", self.job, idle)
        return True

    def _resume_schedule(self) -> None:
        """The next run as the runner before this one recorded it (a past one runs now)."""
        recorded = self.repository.job_statuses().get(self.job, {}).get("next_run")
        try:
            moment = datetime.fromisoformat(recorded.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            return  # none recorded: the interval counts from now
        for job in self.scheduler.jobs:  # schedule keeps local naive times
            job.next_run = moment.astimezone().replace(tzinfo=None)

    def record_stopped(self) -> None:
        """For the standby of a stopped service: the runner is stopped, no run is next."""
        self._update_runner_state("stopped", next_run=None)

    def _update_runner_state(self, state: str, **changes) -> None:
        """The runner's own state, unless the status says a run is on: a run of another
        process, or one that was killed, which the web UI shows as interrupted until the next run."""
        if self.repository.job_statuses().get(self.job, {}).get("state") != "running":
            changes["state"] = state
        self._record_status(**changes)

    def _take_run_request(self) -> bool:
        # Seen before it is read: a request written in between shows to the standby as a change.
        self._requests_seen = file_version(self.repository.store.path(RUN_REQUESTS))
        try:
            return bool(self.repository.take_run_request(self.job))
        except StorageError as exc:  # asked again at the next poll; said once
            if str(exc) != self._last_request_error:
                log.error("could not take the run request of %s: %s", self.job, exc)
            self._last_request_error = str(exc)
            return False

    def _reschedule_from_settings(self) -> None:
        try:
            self._schedule(self.load_settings())
        except ConfigError as exc:
            log.error("keeping the current schedule: %s", exc)
