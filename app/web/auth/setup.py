"""A fresh install: the first-run page, and the one-time setup form on this machine's loopback."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from werkzeug.security import generate_password_hash

from app.web.auth.addresses import (
    FORWARDING_HEADERS,
    addressed_to_loopback,
    client_address,
    host_without_port,
    is_loopback_name,
)
from app.web.auth.passwords import CREDENTIAL_KEYS, MIN_PASSWORD, any_credential_set
from app.web.auth.remembered import remember
from app.web.context import repository

bp = Blueprint("auth", __name__)


def setup_possible(web) -> bool:
    """Basic sign-in and no credential of any kind: with an API key set, a form that
    adds a Basic login would let any local process give itself one."""
    return web.auth == "basic" and not any_credential_set(web) and not g.settings.get("household.members")


def setup_allowed(web) -> bool:
    """The one-time setup form: a fresh install (setup_possible), everything on this machine's loopback.

    A reverse proxy on the same machine would make outside requests look local;
    it adds forwarding headers, and its Host is usually not "localhost".
    """
    address = client_address()
    return (
        setup_possible(web)
        and is_loopback_name(host_without_port(web.host))
        and address is not None
        and address.is_loopback
        and addressed_to_loopback()
        and not any(name in request.headers for name in FORWARDING_HEADERS)
    )


@bp.get("/setup")
def setup():
    web = g.settings.web
    if not setup_allowed(web):
        abort(404)
    return render_template("pages/setup.html", errors={}, username=""), 200


@bp.post("/setup")
def setup_save():
    web = g.settings.web
    if not setup_allowed(web):
        abort(404)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    errors = {}
    if not username or len(username) > 200 or ":" in username:
        errors["username"] = "A name of 1 to 200 characters, without a colon."
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"At least {MIN_PASSWORD} characters."
    elif password != request.form.get("confirm", ""):
        errors["confirm"] = "The two passwords differ."
    if errors:
        return render_template("pages/setup.html", errors=errors, username=username), 422
    login = {"username": username, "password_hash": generate_password_hash(password)}
    if not repository().save_settings_unless_set("web", login, CREDENTIAL_KEYS):
        abort(404)  # another setup (or a settings save) got there first
    current_app.extensions["settings_cache"].forget()
    # Signed in at once: the browser has no Basic credentials of its own, and would ask for them again.
    return remember(redirect(url_for("welcome.index"), 303), username, login["password_hash"], g.secret_key)
