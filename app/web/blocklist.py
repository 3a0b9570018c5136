"""The block list: artists neither pipeline may suggest."""

from __future__ import annotations

from flask import Blueprint, request

from app.text import count_of
from app.web.api.schemas import ArtistSchema
from app.web.context import is_htmx, render, repository, see_other
from app.web.errors import Problem
from app.web.forms import form_values

bp = Blueprint("blocklist", __name__)
FIELD_NAMES = {"artist": "Artist"}


def form_artist() -> str:
    """The artist a form names, under the API's rules (FormInvalid, a 400, with the reason)."""
    return form_values(ArtistSchema(), FIELD_NAMES)["artist"]


def _page(status: int = 200, **context):
    return render("pages/blocklist.html", "partials/blocklist.html", status=status,
                  artists=sorted(repository().blocked_artists(), key=str.casefold), **context)


@bp.get("/blocklist")
def index():
    return _page(done=request.args.get("done"))


@bp.post("/blocklist/add")
def add():
    try:
        artist = form_artist()
        rejected = repository().block_artist(artist)
    except (Problem, ValueError) as refused:
        message = refused.message if isinstance(refused, Problem) else "Type the artist's name."
        if is_htmx():
            return _page(422, error=message)
        raise Problem(400, message) from None
    message = f"Blocked {artist.strip()}" + (f"; {count_of(len(rejected), 'pending album')} rejected."
                                             if rejected else ".")
    if is_htmx():
        return _page(message=message)
    return see_other("/blocklist", done=message)


@bp.post("/blocklist/remove")
def remove():
    artist = request.form.get("artist", "")  # any name on the list can come off, even one an older version let in
    if not repository().unblock_artist(artist):
        raise Problem(404, "That artist is not on the block list.")
    message = f"{artist.strip()} may be suggested again."
    if is_htmx():
        return _page(message=message)
    return see_other("/blocklist", done=message)

