"""Downloads: a place in the navigation until the downloader issue fills it."""

from __future__ import annotations

from flask import Blueprint

from app.web.context import render

bp = Blueprint("downloads", __name__)


@bp.get("/downloads")
def index():
    return render("pages/downloads.html")
