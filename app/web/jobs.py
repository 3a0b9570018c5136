"""The pipelines: state, last run, next run, "Run now", recent log lines; where notifications went.

The page polls itself every few seconds while a job runs or a run is asked
for; once nothing is going on, the poll is answered 286 with the final state,
which tells htmx to stop. app.js skips polls while the tab is hidden.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, request

from app import pipelines
from app.records import utc_now_iso
from app.web.context import is_htmx, render, repository, see_other, settings
from app.web.errors import Problem
from app.web.present import parse_time

bp = Blueprint("jobs", __name__)

JOBS = {
    "lb-fetch": ("ListenBrainz recommendations", "schedule.lb_fetch"),
    "catalog-discovery": ("Artists similar to your library", "schedule.catalog_discovery"),
    "library-discovery": ("New and missing albums of your artists", "schedule.library_discovery"),
    "slskd-downloader": ("Downloads from Soulseek", "schedule.slskd_downloader"),
}
LOG_LINES = 40
NOTIFICATIONS_SHOWN = 10
STOP_POLLING = 286  # htmx: swap this answer, then stop polling
REQUEST_PATIENCE = 120  # seconds a "Run now" waits for a runner before the page stops polling for it


def job_names() -> list[str]:
    return list(JOBS) + sorted(set(pipelines.PIPELINES) - set(JOBS))


def job_view(name: str, statuses: dict, requests: dict, current) -> dict:
    status = statuses.get(name) or {}
    run_state = repository().job_run_state(name)
    running = run_state == "running"
    if run_state:
        state = run_state  # "interrupted": the status says running, but no process holds the run
    elif status.get("state") == "stopped":
        state = "stopped"
    elif status.get("runner_started_at") or status.get("last_run"):
        state = "idle"
    else:
        state = "never"
    title, interval_setting = JOBS.get(name, (name, None))
    asked, now = requests.get(name), utc_now_iso()
    return {
        "name": name,
        "title": title,
        "state": state,
        "running": running,
        "started_at": status.get("started_at") if run_state else None,
        # a run asked for now ("Run now"), and one asked for later (after an approval)
        "requested_at": asked if asked and asked <= now else None,
        "due_at": asked if asked and asked > now else None,
        "last_run": status.get("last_run") or None,
        "next_run": status.get("next_run") if state in ("idle", "running", "interrupted") else None,
        "interval": current.get(interval_setting) if interval_setting else None,
    }


def job_views(current) -> list[dict]:
    statuses, requests = repository().job_statuses(), repository().run_requests()
    return [job_view(name, statuses, requests, current) for name in job_names()]


def waiting_for_runner(job: dict) -> bool:
    asked = parse_time(job["requested_at"])
    return asked is not None and (datetime.now(timezone.utc) - asked).total_seconds() < REQUEST_PATIENCE


@bp.get("/jobs")
def index():
    jobs = job_views(settings())
    active = any(job["running"] or waiting_for_runner(job) for job in jobs)
    logs = {job["name"]: repository().job_log(job["name"])[-LOG_LINES:] for job in jobs}
    polled = is_htmx() and request.headers.get("HX-Trigger") == "jobs"
    status = STOP_POLLING if polled and not active else 200
    return render("pages/jobs.html", "partials/jobs.html", status=status, jobs=jobs, logs=logs, active=active,
                  notifications=notifications_view())


def notifications_view() -> dict:
    """The Notifications box: the last deliveries (newest first), the last failure, what is held."""
    state = repository().notification_state()
    deliveries = list(reversed(state.get("deliveries", [])))
    latest: dict[str, dict] = {}  # each URL's newest delivery: a failure since made good is not news
    for record in deliveries:
        latest.setdefault(record.get("url") or record.get("target", ""), record)
    return {"deliveries": deliveries[:NOTIFICATIONS_SHOWN],
            "last_failure": next((d for d in latest.values() if not d.get("ok")), None),
            "held": len(state.get("held", []))}


@bp.post("/jobs/<job>/run")
def run(job: str):
    if job not in job_names():
        raise Problem(404, f"There is no job called {job}.")
    if repository().job_running(job):
        raise Problem(409, f"{job} is running now; ask again when it has finished.", code="already_running")
    repository().request_run(job)
    if is_htmx():
        return index()
    return see_other("/jobs")
