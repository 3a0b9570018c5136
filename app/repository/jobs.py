"""Job status, run requests, job locks and logs, and the settings saved from the web UI."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from app.records import utc_iso, utc_now_iso
from app.repository.store import (
    JOB_STATUS,
    RUN_REQUESTS,
    SETTINGS,
    AlreadyLocked,
    job_log_file,
)

log = logging.getLogger("resonance.repository")

#: A run asked for later is pushed back only when that moves it by more than this many seconds.
PUSH_BACK_SLACK = 10


class JobRecords:
    # jobs ---------------------------------------------------------------------

    def job_statuses(self) -> dict[str, dict]:
        return self.store.read(JOB_STATUS)

    def update_job_status(self, job: str, **changes: Any) -> dict:
        with self.store.transaction(JOB_STATUS) as statuses:
            status = {**statuses.get(job, {}), **changes}
            statuses[job] = status
        return status

    def request_run(self, job: str, after_seconds: float = 0) -> None:
        """Ask the job's runner for a run: now ("Run now"), or ``after_seconds`` from now.

        A request is the time the run is due. One asked for now is never put off; a later one
        is pushed back by the next such ask, so a person approving card after card gets one run,
        once they pause."""
        now = datetime.now(timezone.utc)
        if _next_due(self.store.read(RUN_REQUESTS).get(job), now, after_seconds) is None:
            return  # nothing to change: an approval a second costs a read, not a write
        with self.store.transaction(RUN_REQUESTS) as requests:
            due = _next_due(requests.get(job), now, after_seconds)
            if due is not None:
                requests[job] = due

    def take_run_request(self, job: str) -> str | None:
        """The time a due run was asked for, clearing the request; None when none is due."""
        asked = self.store.read(RUN_REQUESTS).get(job)
        if asked is None or asked > utc_now_iso():
            return None  # cheap check first: runners poll this every few seconds
        with self.store.transaction(RUN_REQUESTS) as requests:
            asked = requests.get(job)
            if asked is None or asked > utc_now_iso():
                return None
            return requests.pop(job)

    def cancel_run_request(self, job: str) -> None:
        """A run starts: any run asked for so far, due or not, is answered by it."""
        if job in self.store.read(RUN_REQUESTS):
            with self.store.transaction(RUN_REQUESTS) as requests:
                requests.pop(job, None)

    def run_due_in(self, job: str) -> float | None:
        """Seconds until the job's requested run is due (0 when it is); None when none is asked for."""
        asked = self.store.read(RUN_REQUESTS).get(job)
        if asked is None:
            return None
        try:
            due = datetime.fromisoformat(asked.replace("Z", "+00:00"))
        except ValueError:
            return 0.0
        return max(0.0, (due - datetime.now(timezone.utc)).total_seconds())

    def run_requests(self) -> dict[str, str]:
        return self.store.read(RUN_REQUESTS)

    @contextlib.contextmanager
    def job_lock(self, job: str) -> Iterator[None]:
        """At most one run of a job at a time across all processes; raises AlreadyLocked."""
        with self.store.lock(f"job-{job}", blocking=False):
            yield

    def job_running(self, job: str) -> bool:
        """Whether a run of the job holds its lock right now."""
        return self.job_run_state(job) == "running"

    def job_run_state(self, job: str) -> str | None:
        """"running" while a run holds the job's lock; "interrupted" when the status
        still says running but no run holds the lock (its process was killed); else None.

        The lock is probed only while the status says "running": a probe holds
        the lock for an instant, and a runner starting in that instant would
        skip its run.
        """
        status = self.job_statuses().get(job, {})
        if status.get("state") != "running":
            return None
        try:
            with self.store.lock(f"job-{job}", blocking=False):
                pass
        except AlreadyLocked:
            return "running"
        # A run writes its final state before it lets the lock go, and a new run
        # writes a new start time: read again to tell them from a killed run.
        now = self.job_statuses().get(job, {})
        if now.get("state") != "running":
            return None
        return "interrupted" if now.get("started_at") == status.get("started_at") else "running"

    def job_log(self, job: str) -> list[dict]:
        return self.store.read(job_log_file(job))

    def append_job_log(self, job: str, events: list[dict], keep: int) -> None:
        # Alone: a line logged in the middle of another transaction is kept even if that one fails.
        with self.store.transaction(job_log_file(job), alone=True) as lines:
            lines.extend(events)
            del lines[: max(0, len(lines) - keep)]

    # settings saved from the web UI -------------------------------------------

    def saved_settings(self) -> dict:
        return self.store.read(SETTINGS)

    def save_settings(self, changes: dict[str, dict]) -> dict:
        """Merge section -> {key: value} into the saved settings; None removes a key."""
        with self.store.transaction(SETTINGS) as saved:
            for section, values in changes.items():
                target = saved.setdefault(section, {})
                for key, value in values.items():
                    if value is None:
                        target.pop(key, None)
                    else:
                        target[key] = value
                if not target:
                    saved.pop(section)
        return saved

    def save_settings_unless_set(self, section: str, values: dict[str, Any], guard: tuple[str, ...]) -> bool:
        """Save ``values`` into the section, all in one transaction, unless one of the ``guard``
        keys is saved there already (two first-run setups at once: only the first wins)."""
        with self.store.transaction(SETTINGS) as saved:
            target = saved.setdefault(section, {})
            if any(target.get(key) for key in guard):
                return False
            target.update(values)
        return True

    def saved_setting_once(self, section: str, key: str, make: Callable[[], Any]) -> Any:
        """The saved setting, first saved as ``make()`` if absent (a generated secret key
        must be the same in every worker process)."""
        value = self.saved_settings().get(section, {}).get(key)
        if value:
            return value
        with self.store.transaction(SETTINGS) as saved:
            values = saved.setdefault(section, {})
            if not values.get(key):
                values[key] = make()
                for moved in self.settings_moved_aside():  # the old value may be in there: say so
                    log.warning("%s.%s was not in settings.json, so a new one was made; settings.json was "
                                "moved aside as %s, and the old value may be there", section, key, moved)
            return values[key]


def _next_due(asked: str | None, now: datetime, after_seconds: float) -> str | None:
    """A request's new due time when a run is asked for ``after_seconds`` from ``now``; None to leave
    it as it is: due already (never put off), or due within ``PUSH_BACK_SLACK`` of the new time."""
    due = utc_iso(now + timedelta(seconds=after_seconds))
    if asked is None:
        return due
    if asked <= utc_iso(now):
        return None
    if after_seconds <= 0:
        return due  # "Run now" brings a later request forward
    return due if asked < utc_iso(now + timedelta(seconds=after_seconds - PUSH_BACK_SLACK)) else None
