"""The block list: artists neither pipeline may suggest."""

from __future__ import annotations

from flask import Blueprint, request

from app.web.context import is_htmx, render, repository, see_other
from app.web.errors import Problem

bp = Blueprint("blocklist", __name__)


def _page(status: int = 200, **context):
    return render("pages/blocklist.html", "partials/blocklist.html", status=status,
                  artists=sorted(repository().blocked_artists(), key=str.casefold), **context)


@bp.get("/blocklist")
def index():
    return _page(done=request.args.get("done"))


@bp.post("/blocklist/add")
def add():
    artist = request.form.get("artist", "")
    try:
        rejected = repository().block_artist(artist)
    except ValueError:
        if is_htmx():
            return _page(422, error="Type the artist's name.")
        raise Problem(400, "Type the artist's name.") from None
    message = f"Blocked {artist.strip()}" + (f"; {len(rejected)} pending album(s) rejected." if rejected else ".")
    if is_htmx():
        return _page(message=message)
    return see_other("/blocklist", done=message)


@bp.post("/blocklist/remove")
def remove():
    artist = request.form.get("artist", "")
    if not repository().unblock_artist(artist):
        raise Problem(404, "That artist is not on the block list.")
    message = f"{artist.strip()} may be suggested again."
    if is_htmx():
        return _page(message=message)
    return see_other("/blocklist", done=message)

