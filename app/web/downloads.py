"""Downloads: what slskd-downloader is fetching, has fetched, and could not find.

The page has four sections, each a partial it includes:

- **active** (searching, queued, downloading): progress bar, files done of
  total, speed, the Soulseek user. It polls itself (``/downloads/active``,
  every 3 s) while an album is active, a "Run now" waits for the runner or a
  run is going on; once none is, the poll is answered 286 with the final
  state, which stops htmx. app.js skips polls while the tab is hidden or a
  field has the focus. A poll sends the signature of the states it shows
  (``seen``); when a record changed state since, the answer carries the
  other sections too, swapped out of band, so an album that finished moves
  to "Completed" without a reload.
- **failed or not found** (failed, no_result): the reason, the candidates the
  last search considered with each factor's reason, each with "Download this
  one"; Retry, Search again with an edited query, Remove.
- **waiting** (wanted): searched at the next run; with them, the wishlist
  entries the downloader has no record of yet (an album approved a moment
  ago shows here at once). While one waits the page polls too, every
  ``WAITING_POLL_SECONDS``, so its search shows up without a reload.
- **completed**: the most recent ones.

Live progress: the records in download_history.json are brought up to date by
the downloader's runs and by ``check_transfers``, which the runner calls
between runs. While someone watches the page, the page calls
``check_transfers`` too (``LiveTransfers``): on a helper thread, at most once
every ``LIVE_CHECK_EVERY`` seconds per process, and not while an active record
was updated more recently than that (by any process). A request waits for
the check at most ``LIVE_CHECK_WAIT`` seconds, then shows what the history
says. A thread, because a check may fail over to the next folder and
enqueueing waits for the peer, which a request must never do. slskd is
probed first with short timeouts and no retry, so when it is down the section
says "slskd unreachable" at once; ``check_transfers`` holds the
"slskd-transfers" lock without waiting for it, so a check already running in
another process (the runner, another worker) is skipped, never waited for.

Every action works as a plain form POST (303 back here with a notice) and
as htmx (the downloads area re-rendered with the notice). After each one the
downloader's runner is asked for a run, so it acts within seconds. The JSON
API (``app.web.api.downloads``) calls the same functions.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from contextlib import contextmanager

from flask import Blueprint, current_app, render_template, request

from app import download_actions as actions
from app.downloads import (
    ACTIVE_STATES,
    DONE_STATES,
    GROUPS,
    STATE_LABELS,
    Download,
    DownloadError,
    NotAllowedInState,
    NotFound,
    candidate_folder,
    candidate_id,
)
from app.pipelines import JobContext
from app.repository import Repository, StorageError
from app.web.context import is_htmx, render, repository, see_other, settings
from app.web.errors import Problem
from app.web.jobs import STOP_POLLING, job_view, waiting_for_runner
from app.web.present import parse_time

log = logging.getLogger("resonance.web")

bp = Blueprint("downloads", __name__)

JOB = actions.JOB
ACTIVE_ID = "downloads-active"  # the polled section's id: htmx sends it as HX-Trigger
POLL_SECONDS = 3
WAITING_POLL_SECONDS = 10  # while albums only wait for the downloader's next run
LIVE_CHECK_EVERY = 2.5  # seconds between the page's own transfer checks (per process)
LIVE_CHECK_WAIT = 1.0  # seconds a request waits for a check before it shows what the history says
SLOW_CHECK = 10.0  # a check still running after this long is mentioned on the page
COMPLETED_SHOWN = 25
EVENTS_SHOWN = 8
IMPORTING = ("verifying", "importing")  # the import stage is at work: the page keeps refreshing itself


# --- the page's own transfer check -------------------------------------------------


class LiveTransfers:
    """One per process: ``check_transfers`` on a helper thread while the page is watched, throttled."""

    def __init__(self, every: float = LIVE_CHECK_EVERY, wait: float = LIVE_CHECK_WAIT):
        self.every, self.wait = every, wait
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._started = float("-inf")  # time.monotonic() of the last start
        self._problem: str | None = None
        self._checked_at: float | None = None  # time.time() when the last check ended

    def refresh(self, repo: Repository, current) -> None:
        """Start a check when one is due, then give the one in flight a moment to finish."""
        with self._lock:
            thread = self._thread if self._thread is not None and self._thread.is_alive() else None
            if thread is None and time.monotonic() - self._started >= self.every:
                ctx = JobContext(job=JOB, settings=current, repository=repo)
                if self._due(ctx):
                    thread = threading.Thread(target=self._check, args=(ctx,), name="downloads-live-check",
                                              daemon=True)
                    self._thread, self._started = thread, time.monotonic()
                    thread.start()
        if thread is not None:
            thread.join(self.wait)

    def _due(self, ctx: JobContext) -> bool:
        if not ctx.settings.slskd.base_url or not ctx.repository.downloads_to_follow():
            return False
        # Someone (the runner, another worker) brought an active record up to date just now.
        updated = [parse_time(r.updated_at) for r in ctx.repository.download_records(ACTIVE_STATES)]
        stamps = [when.timestamp() for when in updated if when is not None]
        return not stamps or time.time() - max(stamps) >= self.every

    def _check(self, ctx: JobContext) -> None:
        # The HTTP stack is loaded the first time someone watches a download, not in every worker.
        from app.clients.http import AuthError, UpstreamError
        from app.pipelines import upstream
        from app.pipelines.transfers import check_transfers

        problem = None
        try:
            probe = upstream.slskd(ctx.settings, upstream.SLSKD_PAGE_PROBE)
            server = probe.server_state()
            if not server.ready:
                problem = f"Soulseek not connected (slskd reports {server.state or 'Disconnected'})"
            else:
                result = check_transfers(ctx)
                if result.error:
                    log.warning("downloads page transfer check: %s", result.error)
        except AuthError:
            problem = "slskd refused the API key"
        except UpstreamError as exc:
            problem = f"slskd unreachable: {exc.message.split(' (', 1)[0][:200]}"
        except StorageError as exc:
            log.error("the downloads page's transfer check failed: %s", exc)
            problem = str(exc)
        except Exception:  # a helper thread must not die with a traceback nobody reads
            log.exception("the downloads page's transfer check failed")
            problem = "the transfer check failed; the server log says why"
        with self._lock:
            self._problem, self._checked_at = problem, time.time()

    def status(self) -> dict:
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            waited = time.monotonic() - self._started if running else 0.0
            return {"problem": self._problem, "checked_at": self._checked_at,
                    "waiting": int(waited) if waited >= SLOW_CHECK else None}


def live_transfers() -> LiveTransfers | None:
    """This app's LiveTransfers (None when DOWNLOADS_LIVE_CHECK is off)."""
    app = current_app
    if not app.config.get("DOWNLOADS_LIVE_CHECK", True):
        return None
    live = app.extensions.get("downloads_live")
    if live is None:
        live = app.extensions.setdefault("downloads_live", LiveTransfers(
            every=app.config.get("DOWNLOADS_LIVE_CHECK_EVERY", LIVE_CHECK_EVERY),
            wait=app.config.get("DOWNLOADS_LIVE_CHECK_WAIT", LIVE_CHECK_WAIT)))
    return live


# --- how a record reads ---------------------------------------------------------------


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _float(value) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _text(value) -> str | None:
    return str(value) if value not in (None, "") else None


def _dicts(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _due_now(value) -> bool:
    when = parse_time(value)
    return when is None or when.timestamp() <= time.time()


def anchor(key: str) -> str:
    """A stable element id for a record (keys hold any character)."""
    return "dl-" + hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def file_name(path) -> str:
    """The file's name without its folders (Soulseek paths use backslashes)."""
    return str(path or "").replace("/", "\\").rsplit("\\", 1)[-1]


def progress_view(progress) -> dict:
    progress = progress if isinstance(progress, dict) else {}
    return {
        "files_done": _int(progress.get("files_done")), "files_total": _int(progress.get("files_total")),
        "bytes_done": _int(progress.get("bytes_done")), "bytes_total": _int(progress.get("bytes_total")),
        "speed": max(0.0, _float(progress.get("speed"))),
        "percent": min(100.0, max(0.0, _float(progress.get("percent")))),
    }


def transfer_view(download: dict) -> dict:
    files = []
    for file in _dicts(download.get("files")):
        size, done = _int(file.get("size")), _int(file.get("bytes"))
        files.append({"filename": str(file.get("filename") or ""), "name": file_name(file.get("filename")),
                      "state": _text(file.get("state")), "size": size, "bytes": done,
                      "audio": bool(file.get("audio", True)),
                      "percent": round(100.0 * min(done, size) / size, 1) if size else 0.0})
    return {
        "id": candidate_id(download),  # the candidate it was (for "Downloading this one")
        "user": str(download.get("user") or ""), "folder": str(download.get("folder") or ""),
        "format": _text(download.get("format")), "score": download.get("score"),
        "state": _text(download.get("state")), "queued_at": _text(download.get("queued_at")),
        "ended_at": _text(download.get("ended_at")), "reason": _text(download.get("reason")),
        "remote_queued_since": _text(download.get("remote_queued_since")),
        "last_progress_at": _text(download.get("last_progress_at")),
        "progress": progress_view(download.get("progress")), "files": files,
    }


def candidate_view(candidate: dict) -> dict:
    factors = candidate.get("factors") if isinstance(candidate.get("factors"), dict) else {}
    return {
        "id": candidate_id(candidate), "pickable": candidate_folder(candidate) is not None,
        "user": str(candidate.get("user") or ""), "folder": str(candidate.get("folder") or ""),
        "format": _text(candidate.get("format")), "files": _int(candidate.get("files")),
        "extras": _int(candidate.get("extras")), "size": _int(candidate.get("size")),
        "score": _float(candidate.get("score")), "accepted": candidate.get("accepted"),
        "free_slot": candidate.get("free_slot"), "speed": candidate.get("speed"), "queue": candidate.get("queue"),
        "factors": {str(k): _float(v) for k, v in factors.items()},
        "reasons": [str(r) for r in candidate.get("reasons") or [] if r],
    }


def attempt_view(attempt: dict) -> dict:
    chosen = attempt.get("chosen")
    return {
        "number": _int(attempt.get("number")), "started_at": _text(attempt.get("started_at")),
        "finished_at": _text(attempt.get("finished_at")), "outcome": _text(attempt.get("outcome")),
        "reason": _text(attempt.get("reason")),
        "queries": [{"text": str(q.get("text") or ""), "state": _text(q.get("state")),
                     "responses": _int(q.get("responses")), "files": _int(q.get("files"))}
                    for q in _dicts(attempt.get("queries"))],
        "candidates": [candidate_view(c) for c in _dicts(attempt.get("candidates"))],
        "considered": _int(attempt.get("considered")), "best_score": attempt.get("best_score"),
        "chosen": candidate_view(chosen) if isinstance(chosen, dict) else None,
    }


def decisive_reason(attempt: dict | None) -> dict | None:
    """Why the last search found nothing acceptable, decisive reason first: the best folder's weakest factor
    (a 128 kbps folder is turned down by its quality, whatever its good track count says)."""
    if not attempt or not attempt["candidates"] or any(c["accepted"] for c in attempt["candidates"]):
        return None
    best = attempt["candidates"][0]
    if not best["factors"]:
        return None
    weakest = min(best["factors"], key=best["factors"].get)
    reason = next((r for r in best["reasons"] if r.startswith(f"{weakest}: ")), None)
    return {"factor": weakest, "text": reason[len(weakest) + 2:]} if reason else None


def download_view(record: Download, detail: bool = False) -> dict:
    """A record as the page and the API show it; ``detail`` adds every attempt, download and event."""
    key = record.key
    state = str(record.state or "wanted")
    artist, title = str(record.artist or ""), str(record.title or "")
    downloads, attempts = _dicts(record.downloads), _dicts(record.attempts)
    events = [{"time": _text(e.get("time")), "text": str(e.get("text") or "")} for e in _dicts(record.events)]
    view = {
        "key": key, "anchor": anchor(key), "artist": artist, "title": title, "kind": record.kind or "album",
        "state": state, "label": STATE_LABELS.get(state, state.replace("_", " ").capitalize()),
        "state_since": _text(record.state_since), "updated_at": _text(record.updated_at),
        "reason": _text(record.reason), "next_retry_at": _text(record.next_retry_at),
        "attempt_count": _int(record.attempt_count), "query": _text(record.query),
        "retry_due": _due_now(record.next_retry_at),
        "search_text": _text(record.query) or " ".join(part for part in (artist, title) if part) or key,
        "failover_requested": bool(record.failover_requested),
        "picked": _picked_view(record.picked),
        # "Download this one" applies (the candidates' own ``pickable`` says whose files are known).
        "can_pick": state not in DONE_STATES and state not in ("searching", "removed")
        and not record.unconfirmed_enqueue,
        "download": transfer_view(downloads[-1]) if downloads else None,
        "attempt": attempt_view(attempts[-1]) if attempts else None,
        "events": events[-EVENTS_SHOWN:][::-1],
        "import_reason": _text(record.import_reason), "import_failed_track": _text(record.import_failed_track),
        "import_note": _text(record.import_note), "library_path": _text(record.library_path),
        "library_url": _link(record.library_url),
    }
    view["decisive"] = decisive_reason(view["attempt"]) if state in ("no_result", "failed") else None
    if detail:
        view.update(events=events[::-1], attempts=[attempt_view(a) for a in attempts],
                    downloads=[transfer_view(d) for d in downloads])
    return view


def _picked_view(picked) -> dict | None:
    if not isinstance(picked, dict):
        return None
    return {"id": candidate_id(picked), "user": str(picked.get("user") or ""),
            "folder": str(picked.get("folder") or ""), "format": _text(picked.get("format"))}


def _link(value) -> str | None:
    """Only an http(s) address becomes a link (the record is written by another process)."""
    text = _text(value)
    return text if text and text.lower().startswith(("http://", "https://")) else None


def grouped(records: list[Download]) -> dict[str, list[Download]]:
    """Records by app.downloads.GROUPS (active, waiting, completed, failed), each most recently updated first."""
    groups: dict[str, list[Download]] = {name: [] for name in GROUPS}
    for record in records:
        for name, states in GROUPS.items():
            if record.state in states:
                groups[name].append(record)
                break
    return groups


def signature(states: list[tuple[str, str]]) -> str:
    """Which records are in which state (``(key, state)`` pairs): a poll that saw another signature gets
    every section."""
    text = "\n".join(sorted(f"{key}\t{state}" for key, state in states))
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def downloader_job() -> dict:
    repo = repository()
    return job_view(JOB, repo.job_statuses(), repo.run_requests(), settings())


def downloads_data(limits: dict[str, int] | None = None) -> dict:
    """Records by group (the first ``limits[group]`` of each), after the page's own transfer check when one is due."""
    repo, live, limits = repository(), live_transfers(), limits or {}
    if live is not None:
        live.refresh(repo, settings())
    records = repo.download_records()
    groups = grouped(records)
    return {
        "records": records,
        "groups": {name: [download_view(r) for r in items[:limits.get(name)]] for name, items in groups.items()},
        "counts": {name: len(items) for name, items in groups.items()},
        "live": live.status() if live is not None else {"problem": None, "checked_at": None, "waiting": None},
    }


def unsearched_records() -> list[Download]:
    """Wishlist entries the downloader has no record of yet (approved a moment ago), as "wanted" records:
    the page shows them at once, waiting for their search, as the downloader's next run will find them
    (``due_entries``: no record, not sent to slskd by an older version)."""
    repo = repository()
    history = repo.download_keys()
    sent = {value.casefold() for value in repo.downloaded() if isinstance(value, str)}
    return [Download(key=entry.text, artist=entry.artist, title=entry.title, kind=entry.kind, state="wanted")
            for entry in repo.wishlist_entries() if entry.text not in history and entry.text.casefold() not in sent]


def page_context(message: str | None = None) -> dict:
    data = downloads_data({"completed": COMPLETED_SHOWN})
    groups = data["groups"]
    job = downloader_job()
    attention = sorted([d for d in groups["waiting"] if d["state"] == "no_result"] + groups["failed"],
                       key=lambda d: d["updated_at"] or "", reverse=True)
    unsearched = unsearched_records()
    waiting = [download_view(r) | {"unsearched": True} for r in unsearched] + \
        [d for d in groups["waiting"] if d["state"] != "no_result"]
    moving = bool(groups["active"]) or job["running"] or waiting_for_runner(job) or bool(job["due_at"])
    return {
        "message": message,
        "active_items": groups["active"],
        "attention": attention,
        "waiting": waiting,
        "completed": groups["completed"],
        "completed_total": data["counts"]["completed"],
        "job": job,
        # The page refreshes itself while anything moves, and while an album waits for its first search
        # (slower then: the search comes with the downloader's next run, or "Run now"), and while the
        # import stage verifies or imports one.
        "active": moving or any(d["state"] == "wanted" for d in waiting)
        or any(d["state"] in IMPORTING for d in groups["completed"]),
        "signature": signature([(r.key, r.state) for r in data["records"]]
                               + [(r.key, "unsearched") for r in unsearched]),
        "live": data["live"],
        "poll_seconds": POLL_SECONDS if moving else WAITING_POLL_SECONDS,
        "refresh_others": False,
    }


# --- what the actions do (the page and the API): app.download_actions ---------------------------


def as_problem(exc: DownloadError) -> Problem:
    """A refused download action as the page's and the API's answer (the one place they are mapped)."""
    if isinstance(exc, NotFound):
        return Problem(404, exc.message, details=exc.details)
    if isinstance(exc, NotAllowedInState):
        return Problem(409, exc.message, code=exc.code)
    return Problem(400, exc.message, details=exc.details)


@contextmanager
def _refusals():
    try:
        yield
    except DownloadError as exc:
        raise as_problem(exc) from None


def find_record(key) -> Download:
    with _refusals():
        return actions.find(repository(), key)


def retry(key) -> tuple[str, Download]:
    with _refusals():
        return actions.retry(repository(), key)


def search_again(key, query) -> tuple[str, Download]:
    with _refusals():
        return actions.search_again(repository(), key, query)


def pick(key, candidate) -> tuple[str, Download]:
    with _refusals():
        return actions.pick(repository(), key, candidate)


def remove(key, keep_wishlist: bool = False) -> str:
    with _refusals():
        return actions.remove(repository(), key, keep_wishlist=keep_wishlist)


def run_now() -> str:
    with _refusals():
        return actions.run_now(repository())


# --- pages ------------------------------------------------------------------------------------


@bp.app_template_filter("size")
def size_text(value) -> str:
    """Bytes as "850 kB", "190 MB", "1.2 GB" (decimal units, as slskd shows them)."""
    number = _float(value)
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if number >= scale:
            shown = number / scale
            return f"{shown:.1f} {unit}" if shown < 10 else f"{shown:.0f} {unit}"
    return f"{int(number)} B"


@bp.app_template_filter("speed")
def speed_text(value) -> str:
    return f"{size_text(value)}/s" if _float(value) > 0 else "—"


@bp.get("/downloads")
def index():
    message = request.args.get("done", "")[:500] or None
    return render("pages/downloads.html", "partials/downloads.html", **page_context(message))


@bp.get("/downloads/active")
def active():
    """The active section: polled by itself; 286 (stop polling) once nothing is active."""
    context = page_context()
    polled = is_htmx() and request.headers.get("HX-Trigger") == ACTIVE_ID
    context["refresh_others"] = polled and request.args.get("seen") != context["signature"]
    status = STOP_POLLING if polled and not context["active"] else 200
    return render("pages/downloads.html", "partials/downloads_active.html", status=status, **context)


def _done(message: str):
    if is_htmx():
        return render_template("partials/downloads.html", **page_context(message))
    return see_other("/downloads", done=message)


@bp.post("/downloads/retry")
def retry_action():
    return _done(retry(request.form.get("key"))[0])


@bp.post("/downloads/search-again")
def search_again_action():
    return _done(search_again(request.form.get("key"), request.form.get("query"))[0])


@bp.post("/downloads/pick")
def pick_action():
    return _done(pick(request.form.get("key"), request.form.get("candidate"))[0])


@bp.post("/downloads/remove")
def remove_action():
    keep = request.form.get("keep_wishlist") in ("1", "on", "true")
    return _done(remove(request.form.get("key"), keep_wishlist=keep))


@bp.post("/downloads/run")
def run_action():
    return _done(run_now())
