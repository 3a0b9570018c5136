"""Approved and rejected albums, newest first, with "un-reject"."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from app.matching import artist_key
from app.web.context import int_arg, is_htmx, render, repository, safe_next, see_other
from app.web.errors import Problem

bp = Blueprint("history", __name__)

PAGE_SIZE = 50


@bp.get("/history/<any(approved, rejected):kind>")
def index(kind: str):
    offset = int_arg(request.args, "offset", 0, 0, 10_000_000)
    q = (request.args.get("q") or "").strip()[:200]
    lister = repository().approved_page if kind == "approved" else repository().rejected_page
    items, total = lister(offset=offset, limit=PAGE_SIZE, text=q or None)
    return render("pages/history.html", "partials/history_list.html", kind=kind, items=items, total=total,
                  offset=offset, q=q, page_size=PAGE_SIZE, done=request.args.get("done"),
                  blocked_artist=request.args.get("artist", "")[:300],
                  damaged=repository().damaged_history_lines())


def _blocked_artist(mbid: str) -> str | None:
    """The blocked artist of a rejected album, or None: un-rejecting it would only put back an album
    neither source suggests any more, and the block list would hide why."""
    found, _ = repository().history.find("reject", {mbid})
    artist = ((found.get(mbid) or {}).get("item") or {}).get("artist")
    if not artist:
        return None
    key = artist_key(artist)
    return next((name for name in repository().blocked_artists() if artist_key(name) == key), None)


@bp.post("/history/unreject")
def unreject():
    mbid = request.form.get("mbid", "")
    if not mbid:
        raise Problem(400, "Which album?")
    blocked = _blocked_artist(mbid)
    if blocked and not is_htmx():
        return see_other(safe_next(request.form.get("next"), "/history/rejected"), done="blocked", artist=blocked)
    if blocked:
        raise Problem(409, f"{blocked} is blocked: unblock them on the Blocked page first, then un-reject the album.",
                      code="artist_blocked")
    restored = repository().unreject([mbid])
    if is_htmx():
        q = (request.form.get("q") or "").strip()[:200]
        _, total = repository().rejected_page(offset=0, limit=1, text=q or None)
        return render_template("partials/history_unrejected.html", item=restored[0] if restored else {"mbid": mbid},
                               kind="rejected", total=total, q=q)
    return see_other(safe_next(request.form.get("next"), "/history/rejected"), done="unrejected")
