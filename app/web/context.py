"""What every handler uses: the repository, this request's settings, page-or-partial rendering."""

from __future__ import annotations

import re
import secrets
import threading
import time
from urllib.parse import unquote, urlencode

from flask import Flask, abort, current_app, g, redirect, render_template, request

from app import __version__, household
from app.config import ConfigError, Settings, load_settings
from app.fields import NAME_MAX_LENGTH
from app.repository import Repository
from app.text import CONTROL_CHARACTERS

# Endpoints served to anyone: liveness and the static files (CSS, JS, icons, manifest).
PUBLIC_ENDPOINTS = frozenset({"health", "static", "manifest", "api.health"})


class SettingsCache:
    """Settings shared by the requests of one process.

    Rebuilt when settings.json changes (the repository's read is a stat when it
    has not), and at least every ``ttl`` seconds for the config file and the
    environment. Several gunicorn workers each keep their own copy; a save in
    one is seen by the others on their next request.
    """

    def __init__(self, repository: Repository, ttl: float):
        self.repository = repository
        self.ttl = ttl
        self._lock = threading.Lock()
        self._saved: dict | None = None
        self._settings: Settings | None = None
        self._secret_key: str | None = None
        self._expires = 0.0

    def get(self) -> tuple[Settings, str]:
        """(settings, secret key); raises ConfigError when the settings are wrong."""
        saved = self.repository.saved_settings()
        with self._lock:
            if self._settings is not None and time.monotonic() < self._expires and saved == self._saved:
                return self._settings, self._secret_key
        settings = load_settings(saved)
        # A generated key is saved once for every worker: CSRF tokens must verify in any of them.
        key = settings.web.secret_key or self.repository.saved_setting_once(
            "web", "secret_key", lambda: secrets.token_urlsafe(32)
        )
        with self._lock:
            self._saved, self._settings, self._secret_key = saved, settings, key
            self._expires = time.monotonic() + self.ttl
        return settings, key

    def forget(self) -> None:
        with self._lock:
            self._settings = None


def repository() -> Repository:
    return current_app.extensions["repository"]


def settings() -> Settings:
    return g.settings


def start_timer():
    g.started = time.perf_counter()


def add_server_timing(response):
    """Server-Timing: how long the app took (browser dev tools and bench/bench_web.py read it)."""
    started = g.get("started")
    if started is not None:
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def load_request_settings():
    """before_request: this request's settings (a 503 page when they are wrong)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    try:
        g.settings, g.secret_key = current_app.extensions["settings_cache"].get()
    except ConfigError as exc:
        # Details stay in the server's log and `resonance check-config`: this page is not signed in.
        current_app.logger.error("the settings are wrong: %s", exc)
        abort(503, "The settings are wrong. Run `resonance check-config` on the server to see what to fix.")
    return None


def is_htmx() -> bool:
    """An htmx request wants the partial; a history restore wants the whole page."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def is_api() -> bool:
    return request.path.startswith("/api/")


def render(page: str, partial: str | None = None, status: int = 200, **context):
    """The whole page on a normal request, only the partial on an htmx request."""
    template = partial if partial and is_htmx() else page
    return render_template(template, **context), status


# Control characters (browsers drop tabs and newlines from a URL) and backslashes
# (browsers read them as slashes): "/\t/evil.example" and "/\\evil.example" both lead off-site.
_UNSAFE_IN_TARGET = re.compile(f"[{CONTROL_CHARACTERS}\\\\]")
MAX_TARGET_LENGTH = 2000


def safe_next(value: str | None, default: str = "/") -> str:
    """A path on this site to go to after a form POST, or ``default``: the one gate for every
    redirect to a target a request supplied (a form's ``next``, a page to come back to).

    Only a path that starts with exactly one slash passes, with no control character or
    backslash in it, nor in its percent-decoded path (``/%09/evil``): never another host,
    a scheme (``https:``, ``javascript:``) or anything a browser would read differently.
    """
    if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_TARGET_LENGTH:
        return default
    decoded_path = unquote(value.split("?", 1)[0].split("#", 1)[0])
    for text in (value, decoded_path):
        if text.startswith("//") or _UNSAFE_IN_TARGET.search(text):
            return default
    return value


def see_other(url: str, **params) -> tuple:
    """303 to a same-site path, with notice parameters added to its query string."""
    url = safe_next(url)
    extra = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
    if extra:
        url += ("&" if "?" in url else "?") + extra
    return redirect(url, 303)


def int_arg(source, name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(source.get(name, default))
    except (TypeError, ValueError):
        return default
    return max(low, min(high, value))


AUTH_OFF_COOKIE = "auth_off_seen"


def remember_banner_seen(response):
    """The "sign-in is off" banner opens on the first page of a browser session only:
    a session cookie says it was seen."""
    settings_ = g.get("settings")
    if (settings_ is not None and settings_.web.auth == "none" and not is_htmx()
            and response.mimetype == "text/html" and AUTH_OFF_COOKIE not in request.cookies):
        response.set_cookie(AUTH_OFF_COOKIE, "1", httponly=True, samesite="Lax")
    return response


def init_app(app: Flask) -> None:
    app.extensions["settings_cache"] = SettingsCache(app.extensions["repository"], app.config["SETTINGS_TTL"])
    # Registered first, so it runs last among the after_request functions (compression included).
    app.after_request(add_server_timing)
    app.after_request(remember_banner_seen)

    @app.context_processor
    def page_context():
        settings_ = g.get("settings")
        signed_in = g.get("user") is not None
        return {
            "auth_off": bool(settings_ and settings_.web.auth == "none"),
            "auth_off_cookie": AUTH_OFF_COOKIE,
            "signed_in": signed_in,
            "user": g.get("user"),
            "current_member": g.get("member"),
            # More than one person: the queue offers "for me" and cards say whom an album is for.
            "household_shared": bool(settings_ and len(household.members(settings_)) > 1),
            "auth_method": g.get("auth_method"),
            "version": __version__,
            "name_max_length": NAME_MAX_LENGTH,
            "pending_total": repository().pending_count() if signed_in else None,
            "quarantined": [p.name for p in repository().quarantined_files()] if signed_in else [],
            # The sign-in pages say it too: a damaged settings.json may be why nobody is signed in.
            "settings_moved_aside": [p.name for p in repository().settings_moved_aside()],
        }
