"""The first run: a step per service (ListenBrainz, Last.fm, Subsonic, slskd), each with
"Test connection" and each skippable, then "Find albums now", which asks the discovery
jobs to run (the Jobs page's "Run now": run_requests.json through the repository) and
shows their progress until the first cards arrive.

What is missing (a service not set up, a job that has not run or failed) is worked out
once here, ``readiness``, for these pages and for the empty queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template, request, url_for

from app.config import Settings
from app.web.auth import admin_only
from app.web.context import is_htmx, render, repository, see_other, settings
from app.web.errors import Problem
from app.web.jobs import STOP_POLLING, job_views, waiting_for_runner
from app.web.settings import apply_changes, changes_from_form, check_connection, first_error, section_view

bp = Blueprint("welcome", __name__)


@dataclass(frozen=True)
class Step:
    service: str
    title: str
    why: str  # what the service gives, in a person's words
    where: str  # where to find what the step asks for


STEPS = (
    Step("listenbrainz", "ListenBrainz",
         "Albums recommended from what you listen to (the lb-fetch job).",
         "Your user name is the one in your profile's address, listenbrainz.org/user/NAME. The token "
         "(listenbrainz.org/settings) is optional."),
    Step("lastfm", "Last.fm",
         "Artists similar to the ones in your library (the catalog-discovery job, with your Navidrome library).",
         "An API key from last.fm/api/account/create: any application name will do."),
    Step("subsonic", "Navidrome (Subsonic)",
         "Your library, so Resonance suggests what you do not own yet (Navidrome or any Subsonic server).",
         "The address you open Navidrome at, e.g. http://navidrome:4533, and your user name and password there."),
    Step("slskd", "slskd",
         "Downloads of the albums you approve, from Soulseek.",
         "slskd's address, e.g. http://slskd:5030, and an API key from its settings (web.authentication.api_keys)."),
)
STEP_BY_SERVICE = {step.service: step for step in STEPS}
#: The discovery jobs and the services each needs before it can run.
DISCOVERY = {"lb-fetch": ("listenbrainz",), "catalog-discovery": ("lastfm", "subsonic")}
POLL_SECONDS = 2


def service_ready(current: Settings, service: str) -> bool:
    """Whether the step's service has what its job needs (a connection test says whether it works)."""
    if service == "listenbrainz":
        return bool(current.listenbrainz.username)
    if service == "lastfm":
        return bool(current.lastfm.api_key)
    if service == "subsonic":
        return bool(current.subsonic.base_url and current.subsonic.username)
    if service == "slskd":
        return bool(current.slskd.base_url and current.slskd.api_key)
    raise ValueError(service)


def readiness(current: Settings) -> dict:
    """What stands between this install and its first suggestions, for a person to act on."""
    ready = {step.service: service_ready(current, step.service) for step in STEPS}
    jobs = {job["name"]: job for job in job_views(current) if job["name"] in DISCOVERY}
    runnable = [name for name, needs in DISCOVERY.items() if all(ready[s] for s in needs)]
    failed = [job for name, job in jobs.items()
              if job["last_run"] and job["last_run"].get("outcome") == "failed"]
    never_run = [job for name, job in jobs.items() if name in runnable and not job["last_run"]]
    # A run with nothing to do says why (no recommendations yet, an empty library); one that a
    # missing service skipped is said by its step already.
    skipped = [job for name, job in jobs.items()
               if name in runnable and job["last_run"] and job["last_run"].get("outcome") == "skipped"]
    return {
        "steps": [{"step": step, "ready": ready[step.service]} for step in STEPS],
        "missing": [step for step in STEPS if not ready[step.service]],
        "runnable": runnable,
        "jobs": jobs,
        "failed": failed,
        "never_run": never_run,
        "skipped": skipped,
        "blocked": {name: [STEP_BY_SERVICE[s] for s in needs if not ready[s]]
                    for name, needs in DISCOVERY.items() if name not in runnable},
    }


def _step(service: str) -> Step:
    step = STEP_BY_SERVICE.get(service)
    if step is None:
        raise Problem(404, f"There is no set-up step for {service}.")
    return step


def _next_url(service: str) -> str:
    index = [step.service for step in STEPS].index(service)
    return url_for("welcome.step", service=STEPS[index + 1].service) if index + 1 < len(STEPS) \
        else url_for("welcome.find")


def _step_page(step: Step, status: int = 200, raw: dict | None = None, errors: dict | None = None,
               tested: dict | None = None):
    section = section_view(step.service, settings(), raw, errors)
    number = [s.service for s in STEPS].index(step.service) + 1
    return render_template("pages/welcome_step.html", step=step, number=number, steps=STEPS, section=section,
                           first_error=first_error([section]), errors=errors or {}, tested=tested,
                           next_url=_next_url(step.service)), status


@bp.get("/welcome")
def index():
    return render_template("pages/welcome.html", steps=STEPS, ready=readiness(settings()))


@bp.get("/welcome/<service>")
def step(service: str):
    return _step_page(_step(service))


@bp.post("/welcome/<service>")
@admin_only
def save_step(service: str):
    step_ = _step(service)
    current = settings()
    raw_changes = changes_from_form(request.form, current, (service,))
    _, errors = apply_changes(raw_changes, current)
    if errors:
        flat = {f"{section}.{key}": value for section, values in raw_changes.items() for key, value in values.items()}
        return _step_page(step_, 422, raw=flat, errors=errors)
    return see_other(_next_url(service))


@bp.post("/welcome/<service>/test")
@admin_only
def test_step(service: str):
    step_ = _step(service)
    ok, message = check_connection(service, request.form)
    if is_htmx():
        return render_template("partials/connection_result.html", service=service, ok=ok, message=message)
    raw = {name: value for name, value in request.form.items() if name.startswith(f"{service}.")}
    return _step_page(step_, raw=raw, tested={"service": service, "ok": ok, "message": message})


@bp.get("/welcome/find")
def find():
    return render_template("pages/welcome_find.html", steps=STEPS, ready=readiness(settings()))


@bp.post("/welcome/find")
def find_now():
    """Ask every discovery job that can run for a run now, as the Jobs page's "Run now" does."""
    ready = readiness(settings())
    if not ready["runnable"]:
        raise Problem(409, "No discovery job can run yet: set up ListenBrainz, or Last.fm with Navidrome (Subsonic).",
                      code="nothing_to_run")
    for job in ready["runnable"]:
        if not repository().job_running(job):
            repository().request_run(job)
    return see_other(url_for("welcome.progress"))


def progress_view(current: Settings) -> dict:
    ready = readiness(current)
    jobs = [ready["jobs"][name] for name in DISCOVERY]
    active = [job for job in jobs if job["running"] or waiting_for_runner(job)]
    pending = repository().pending_count()
    return {"ready": ready, "jobs": jobs, "pending": pending, "active": bool(active) and not pending,
            "still_looking": bool(active),
            "stalled": [job for job in jobs if job["requested_at"] and not job["running"]
                        and not waiting_for_runner(job)]}


@bp.get("/welcome/progress")
def progress():
    view = progress_view(settings())
    polled = is_htmx() and request.headers.get("HX-Trigger") == "welcome-progress"
    status = STOP_POLLING if polled and not view["active"] else 200
    return render("pages/welcome_progress.html", "partials/welcome_progress.html", status=status,
                  poll_seconds=POLL_SECONDS, **view)
