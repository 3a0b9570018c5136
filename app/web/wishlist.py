"""The wishlist: entries with their download state, add by hand, remove."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from app.download_actions import search_soon
from app.downloads import STATE_LABELS, Download
from app.library import load_library
from app.text import count_of
from app.web.api.schemas import WishlistEntryInSchema
from app.web.context import is_htmx, render, repository, see_other, settings
from app.web.errors import Problem
from app.web.forms import FormInvalid, form_values
from app.wishlist import ALBUM, TRACK, WishlistEntry, match_key

bp = Blueprint("wishlist", __name__)
FIELD_NAMES = {"artist": "Artist", "title": "Album or track", "kind": "Kind"}




def download_state(entry: WishlistEntry, downloaded: set[str], records: dict) -> dict:
    """What the downloader did with an entry, from its record in download_history.json."""
    record = records.get(entry.text) if isinstance(records, dict) else None
    if isinstance(record, Download) and record.state in STATE_LABELS:
        state = record.state
        attempts = record.attempt_count
        label = STATE_LABELS[state] + (f" · {count_of(attempts, 'search', 'searches')}"
                                       if state in ("no_result", "failed") and attempts else "")
        reason = record.reason if state != "quarantined" else record.import_reason
        return {"state": state, "label": label, "detail": str(reason)[:200] if reason else None}
    if match_key(entry.text) in downloaded:
        return {"state": "sent", "label": "Sent to slskd", "detail": None}
    return {"state": "wanted", "label": "Waiting", "detail": None}


def wishlist_rows() -> tuple[list[dict], list[dict]]:
    """(entries with their state, lines that did not parse)."""
    repo = repository()
    downloaded = {match_key(text) for text in repo.downloaded() if isinstance(text, str)}
    records = repo.downloads_by_key()
    rows, malformed = [], []
    for number, line in enumerate(repo.wishlist(), 1):
        if line.entry:
            rows.append({"entry": line.entry, **download_state(line.entry, downloaded, records)})
        elif line.error:
            malformed.append({"line": number, "text": line.raw, "error": line.error})
    return rows, malformed


def entry_from(values) -> WishlistEntry:
    """An entry from form or JSON fields; raises Problem(400) naming what is missing."""
    kind = values.get("kind") or ALBUM
    if kind not in (ALBUM, TRACK):
        raise Problem(400, "kind must be album or track.", details={"kind": ["Must be one of: album, track."]})
    try:
        return WishlistEntry.create(str(values.get("artist") or ""), str(values.get("title") or ""), kind)
    except ValueError as exc:
        field = "artist" if "artist" in str(exc) else "title"
        raise Problem(400, f"The {field} is empty.", details={field: ["Missing data for required field."]}) from None


def owned(entry: WishlistEntry) -> bool | None:
    """Whether the library snapshot has this album (None: no snapshot to check against)."""
    library = load_library(repository())
    if not library:
        return None
    return entry.kind == ALBUM and library.has_album(entry.artist, entry.title)


def _page(status: int = 200, **context):
    rows, malformed = wishlist_rows()
    return render("pages/wishlist.html", "partials/wishlist.html", status=status, rows=rows, malformed=malformed,
                  entry_count=len(rows), form=context.pop("form", {}), **context)


@bp.get("/wishlist")
def index():
    return _page(message=request.args.get("done"))


@bp.post("/wishlist/add")
def add():
    form = {"artist": request.form.get("artist", ""), "title": request.form.get("title", ""),
            "kind": request.form.get("kind", ALBUM)}
    try:
        entry = entry_from(form_values(WishlistEntryInSchema(), FIELD_NAMES))
    except FormInvalid as invalid:
        return _page(422, form=form, errors=invalid.errors, error=invalid.message)
    except Problem as problem:
        return _page(422, form=form, errors=problem.details, error=problem.message)
    in_library = owned(entry)
    if in_library and request.form.get("force") != "1":
        return _page(409, form=form, owned=True,
                     error=f"{entry.text} is already in your library. Tick “add anyway” to add it.")
    if not repository().add_to_wishlist([entry]):
        return _page(409, form=form, error=f"{entry.text} is already on the wishlist.")
    search_soon(repository(), settings())
    message = f"Added {entry.text}." + (" (The library has not been read yet, so it was not checked.)"
                                         if in_library is None else "")
    if is_htmx():
        return _page(message=message)
    return see_other("/wishlist", done=message)


@bp.post("/wishlist/remove")
def remove():
    entry = entry_from(request.form)  # any entry can come off, even one an older version let in
    if not repository().remove_from_wishlist([entry]):
        raise Problem(404, f"{entry.text} is not on the wishlist.")
    if is_htmx():
        # the row's outerHTML swap with nothing removes it; the count is swapped out of band
        return render_template("partials/wishlist_count.html", oob=True, entry_count=len(wishlist_rows()[0]))
    return see_other("/wishlist", done=f"Removed {entry.text}.")
