"""Handlers of the JSON API (registered on app.web.api.bp)."""

from __future__ import annotations

from flask import g
from marshmallow import ValidationError

from app.download_actions import search_soon
from app.web.api import answer, bp, doc, load_body, load_json_object, load_query
from app.web.api import schemas as s
from app.web.auth import admin_only, current_member
from app.web.context import load_request_settings, repository, settings
from app.web.errors import Problem
from app.web.jobs import LOG_LINES, job_names, job_views
from app.web.queue import DEFAULT_ORDER
from app.web.settings import apply_changes
from app.web.wishlist import entry_from, owned, wishlist_rows
from app.wishlist import why_not_approvable

INVALID = {400: s.ErrorSchema}
MISSING = {404: s.ErrorSchema}

# --- queue -----------------------------------------------------------------------------------


@bp.get("/queue")
@doc("Pending albums, filtered, sorted and paged", tag="queue", query=s.QueueQuerySchema,
     responses={200: s.QueuePageSchema, **INVALID},
     links={f"{action.capitalize()}First": {"operationId": f"queue_{action}",
                                            "requestBody": {"mbids": ["$response.body#/items/0/mbid"]}}
            for action in ("approve", "reject", "remove")})
def queue_list():
    query = load_query(s.QueueQuerySchema())
    order = query["order"] or DEFAULT_ORDER[query["sort"]]
    items, total = repository().pending_page(
        offset=query["offset"], limit=query["limit"], sort=query["sort"], descending=order == "desc",
        source=query["source"], text=query["q"], member=_for_member(query["for_"]),
    )
    return answer(s.QueuePageSchema(), {"items": items, "total": total, "offset": query["offset"],
                                        "limit": query["limit"]})


def _decide(action: str):
    selection = load_body(s.RejectSelectionSchema() if action == "reject" else s.SelectionSchema())
    repo = repository()
    if selection["all"]:
        kwargs = {"source": selection["source"], "text": selection["q"], "member": _for_member(selection["for_"])}
        matching = [item["mbid"] for item in repo.matching_pending(**kwargs)]
        requested = matching
    else:
        requested = list(dict.fromkeys(selection["mbids"]))
    refused = _not_approvable(requested) if action == "approve" else {}
    chosen = [mbid for mbid in requested if mbid not in refused]
    feedback = settings().listenbrainz.send_feedback
    if action == "remove":
        moved = repo.remove_pending(chosen)
    elif action == "approve":
        moved = repo.approve(chosen, decided_by=current_member().name, feedback=feedback)
        if moved:
            search_soon(repo, settings())
    else:
        moved = repo.reject(chosen, decided_by=current_member().name, reason=selection.get("reason"),
                            feedback=feedback)
    done = {item["mbid"] for item in moved}
    not_pending = [mbid for mbid in requested if mbid not in done and mbid not in refused]
    refusals = [{"mbid": mbid, "reason": reason} for mbid, reason in refused.items()]
    if requested and not moved and not selection["all"]:
        if refused:
            raise Problem(422, "None of these albums can be approved.", code="not_approvable",
                          details={"refused": refusals, "not_pending": not_pending})
        raise Problem(404, "None of these MBIDs is pending.", details={"not_pending": not_pending})
    return answer(s.DecisionSchema(), {"count": len(moved), "items": moved, "not_pending": not_pending,
                                       "refused": refusals})


def _for_member(value: str | None) -> str | None:
    """``for=me``: the signed-in member's name."""
    return current_member().name if value == "me" else None


def _not_approvable(mbids: list[str]) -> dict[str, str]:
    """MBID -> why, for the requested pending albums that cannot go on the wishlist (they stay pending)."""
    wanted = set(mbids)
    return {item["mbid"]: reason for item in repository().queue()["pending"]
            if item["mbid"] in wanted and (reason := why_not_approvable(item))}


@bp.post("/queue/approve")
@doc("Approve pending albums (they go on the wishlist)", tag="queue", body=s.SelectionSchema,
     responses={200: s.DecisionSchema, **INVALID, **MISSING, 422: s.ErrorSchema})
def queue_approve():
    return _decide("approve")


@bp.post("/queue/reject")
@doc("Reject pending albums (never suggested again), optionally saying why", tag="queue",
     body=s.RejectSelectionSchema,
     responses={200: s.DecisionSchema, **INVALID, **MISSING})
def queue_reject():
    return _decide("reject")


@bp.post("/queue/remove")
@doc("Remove pending albums without rejecting them", tag="queue", body=s.SelectionSchema,
     responses={200: s.DecisionSchema, **INVALID, **MISSING})
def queue_remove():
    return _decide("remove")


# --- wishlist ---------------------------------------------------------------------------------


def _row(row: dict) -> dict:
    entry = row["entry"]
    return {"artist": entry.artist, "title": entry.title, "kind": entry.kind, "text": entry.text,
            "state": row["state"], "label": row["label"], "detail": row["detail"]}


@bp.get("/wishlist")
@doc("Wishlist entries with their download state", tag="wishlist", responses={200: s.WishlistSchema})
def wishlist_list():
    rows, malformed = wishlist_rows()
    return answer(s.WishlistSchema(), {"entries": [_row(row) for row in rows], "malformed": malformed})


@bp.post("/wishlist")
@doc("Add an entry by hand (refused with 409 when owned, unless force)", tag="wishlist",
     body=s.WishlistEntryInSchema, responses={201: s.WishlistRowSchema, **INVALID, 409: s.ErrorSchema})
def wishlist_add():
    data = load_body(s.WishlistEntryInSchema())
    entry = entry_from(data)
    if owned(entry) and not data["force"]:
        raise Problem(409, f"{entry.text} is already in your library.", code="owned")
    if not repository().add_to_wishlist([entry]):
        raise Problem(409, f"{entry.text} is already on the wishlist.", code="already_on_wishlist")
    search_soon(repository(), settings())
    row = {"entry": entry, "state": "wanted", "label": "Waiting", "detail": None}
    return answer(s.WishlistRowSchema(), _row(row), 201)


@bp.post("/wishlist/remove")
@doc("Remove an entry", tag="wishlist", body=s.WishlistEntryInSchema,
     responses={200: s.RemovedSchema, **INVALID, **MISSING})
def wishlist_remove():
    entry = entry_from(load_body(s.WishlistEntryInSchema()))
    removed = repository().remove_from_wishlist([entry])
    if not removed:
        raise Problem(404, f"{entry.text} is not on the wishlist.")
    return answer(s.RemovedSchema(), {"removed": removed})


# --- jobs -----------------------------------------------------------------------------------------


@bp.get("/jobs")
@doc("Every job: state, last run, next run", tag="jobs", responses={200: s.JobsSchema},
     links={"LogOfFirst": {"operationId": "job_log", "parameters": {"job": "$response.body#/jobs/0/name"}},
            "RunFirst": {"operationId": "job_run", "parameters": {"job": "$response.body#/jobs/0/name"}}})
def jobs_list():
    return answer(s.JobsSchema(), {"jobs": job_views(settings())})


def _known_job(job: str) -> str:
    if job not in job_names():
        raise Problem(404, f"There is no job called {job}.")
    return job


@bp.get("/jobs/<job>/log")
@doc("A job's recent log lines, oldest first", tag="jobs", responses={200: s.JobLogSchema, **MISSING})
def job_log(job: str):
    lines = repository().job_log(_known_job(job))[-LOG_LINES * 5:]
    return answer(s.JobLogSchema(), {"job": job, "lines": lines})


@bp.post("/jobs/<job>/run")
@doc("Ask the job's runner for a run now (taken within seconds)", tag="jobs",
     responses={202: s.RunRequestedSchema, **MISSING, 409: s.ErrorSchema})
def job_run(job: str):
    repo = repository()
    if repo.job_running(_known_job(job)):
        raise Problem(409, f"{job} is running now.", code="already_running")
    repo.request_run(job)
    return answer(s.RunRequestedSchema(), {"job": job, "requested_at": repo.run_requests().get(job)}, 202)


# --- who is asking -------------------------------------------------------------------------------


@bp.get("/me")
@doc("Who the request signed in as: the member's name and role", tag="household", responses={200: s.MeSchema})
def me():
    member = current_member()
    return answer(s.MeSchema(), {"name": member.name, "role": member.role, "admin": member.is_admin,
                                 "auth_method": g.auth_method, "listenbrainz_user": member.listenbrainz_user})


# --- settings -------------------------------------------------------------------------------------


def _settings_answer(current, changed=()):
    return answer(s.SettingsSchema(), {"settings": current.redacted(), "sources": dict(current.sources),
                                       "changed": list(changed)})


@bp.get("/settings")
@doc("Every setting (secrets masked) and where each value comes from", tag="settings",
     responses={200: s.SettingsSchema})
def settings_read():
    current = settings()
    return _settings_answer(current)


@bp.patch("/settings")
@doc("Change settings: {section: {key: value}}; a blank secret keeps its value (admins only)", tag="settings",
     body=s.SettingsChangesSchema, responses={200: s.SettingsSchema, **INVALID, 403: s.ErrorSchema,
                                              409: s.ErrorSchema},
     description="400 when a value is wrong (details: 'section.key' -> messages); 403 (code `admin_only`) when "
                 "the caller is a member, not an admin; 409 (code `not_changeable`) "
                 "when every value is right but a setting is fixed by the environment, or the change would "
                 "shut out the person making it. Nothing is saved in any of these cases. household.members is "
                 "set in the config file only.")
@admin_only
def settings_update():
    try:
        changes = s.SettingsChangesSchema().load(load_json_object())
    except ValidationError as exc:
        raise Problem(400, "Invalid settings.", details=_by_setting(exc.messages)) from None
    # Each value passed its setting's own field above: what apply_changes refuses now is
    # this server's state (the environment, how the request signed in), not the input.
    changes, refusals = apply_changes(changes, settings())
    if refusals:
        raise Problem(409, "These settings cannot be changed here.", code="not_changeable", details=refusals)
    load_request_settings()  # answer with what was just saved
    return _settings_answer(settings(), sorted(f"{sec}.{key}" for sec, values in changes.items() for key in values))


def _by_setting(messages: dict) -> dict:
    """{"schedule": {"lb_fetch": [...]}} -> {"schedule.lb_fetch": [...]}, as the settings page names them."""
    flat = {}
    for section, inner in messages.items():
        if isinstance(inner, dict):  # a section that is not an object has its message under "_schema"
            flat.update({section if key == "_schema" else f"{section}.{key}": value for key, value in inner.items()})
        else:
            flat[section] = inner
    return flat


# --- block list --------------------------------------------------------------------------------------


@bp.get("/blocklist")
@doc("Artists neither pipeline may suggest", tag="blocklist", responses={200: s.BlocklistSchema})
def blocklist_list():
    return answer(s.BlocklistSchema(), {"artists": repository().blocked_artists()})


@bp.post("/blocklist")
@doc("Block an artist: their pending albums are rejected", tag="blocklist", body=s.ArtistSchema,
     responses={201: s.BlockedSchema, **INVALID})
def blocklist_add():
    artist = load_body(s.ArtistSchema())["artist"]
    try:
        rejected = repository().block_artist(artist)
    except ValueError:
        raise Problem(400, "Invalid input.", details={"artist": ["The name is empty."]}) from None
    return answer(s.BlockedSchema(), {"artist": artist.strip(), "rejected": len(rejected)}, 201)


@bp.post("/blocklist/remove")
@doc("Unblock an artist", tag="blocklist", body=s.ArtistSchema,
     responses={200: s.RemovedSchema, **INVALID, **MISSING})
def blocklist_remove():
    artist = load_body(s.ArtistSchema())["artist"]
    if not repository().unblock_artist(artist):
        raise Problem(404, "That artist is not on the block list.")
    return answer(s.RemovedSchema(), {"removed": 1})
