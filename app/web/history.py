"""Approved and rejected albums, newest first, with "un-reject"."""

from __future__ import annotations

from flask import Blueprint, render_template, request

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
                  damaged=repository().damaged_history_lines())


@bp.post("/history/unreject")
def unreject():
    mbid = request.form.get("mbid", "")
    if not mbid:
        raise Problem(400, "Which album?")
    restored = repository().unreject([mbid])
    if is_htmx():
        return render_template("partials/history_unrejected.html", item=restored[0] if restored else {"mbid": mbid})
    return see_other(safe_next(request.form.get("next"), "/history/rejected"), done="unrejected")
