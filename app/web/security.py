"""Cross-site request refusal, CSRF tokens and the security headers.

Three layers keep another site from changing anything with the browser's
credentials (Basic, the proxy's cookie, or none at all):

1. A state-changing request a browser marks as cross-site (``Sec-Fetch-Site``)
   or whose ``Origin`` is not this host is refused before anything else.
2. Page forms and htmx requests carry a CSRF token (form field ``csrf_token``
   or header ``X-CSRF-Token``): an HMAC of the signed-in user and the time,
   keyed by ``web.secret_key``, valid for a week. No cookie or session needed,
   so it works the same in every gunicorn worker.
3. The JSON API accepts a state-changing request only as JSON (or with no
   body): a browser cannot send JSON to another site without a CORS preflight,
   which Resonance never grants. Requests signed in with the API key need no
   token (a browser never adds that header by itself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, abort, g, request

from app.web.context import is_api

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_MAX_AGE = 7 * 86400
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


# --- cross-site refusal --------------------------------------------------------


def _split_host(value: str) -> tuple[str, int | None]:
    parts = urlsplit(f"//{value}")
    try:
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "", None


def same_origin(origin: str, host: str) -> bool:
    """Whether an Origin header names this host (and its port, when the Host header has one).

    Schemes are not compared: behind a TLS-terminating proxy the browser says
    https (port 443) while the request reaches us over http with a port-less Host.
    """
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    try:
        origin_port = parts.port
    except ValueError:
        return False
    host_name, host_port = _split_host(host)
    if parts.hostname.lower() != host_name:
        return False
    if host_port is None:  # default port on our side: the browser's must be a default one too
        return origin_port in (None, 80, 443)
    return host_port == (origin_port or (443 if parts.scheme == "https" else 80))


def refuse_cross_site():
    """before_request: state-changing requests from another site are refused, whoever signs them."""
    if request.method not in UNSAFE_METHODS:
        return None
    if request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
        abort(403, "Cross-site request refused.")
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(origin, request.host):
        abort(403, "Cross-origin request refused.")
    return None


# --- CSRF tokens -----------------------------------------------------------------


def _signature(key: str, user: str, issued: int) -> str:
    digest = hmac.new(key.encode(), f"csrf|{user}|{issued}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def make_csrf_token(key: str, user: str, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    return f"{issued}.{_signature(key, user, issued)}"


def valid_csrf_token(token: str | None, key: str, user: str, now: float | None = None) -> bool:
    if not token or "." not in token:
        return False
    issued_text, _, signature = token.partition(".")
    if not issued_text.isdigit():
        return False
    issued = int(issued_text)
    now = now if now is not None else time.time()
    if not (now - CSRF_MAX_AGE <= issued <= now + 60):
        return False
    return hmac.compare_digest(signature, _signature(key, user, issued))


def csrf_user() -> str:
    """Who a token belongs to: the signed-in user, or the first-run setup form."""
    return g.get("user") or "-setup-"


def csrf_token() -> str:
    """The token for forms and the page's <meta name="csrf-token">."""
    token = g.get("_csrf_token")
    if token is None and g.get("secret_key"):
        token = g._csrf_token = make_csrf_token(g.secret_key, csrf_user())
    return token or ""


def check_csrf():
    """before_request (after authentication): the CSRF rule for state-changing requests."""
    if request.method not in UNSAFE_METHODS or request.endpoint in ("health", "static", "api.health"):
        return None
    if g.get("auth_method") == "api_key":
        return None
    if is_api():
        has_body = bool(request.content_length) or bool(request.headers.get("Transfer-Encoding"))
        if request.mimetype == "application/json" or (not has_body and not request.mimetype):
            return None
        abort(415, "Send JSON: Content-Type: application/json.")
    token = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not valid_csrf_token(token, g.get("secret_key") or "", csrf_user()):
        abort(403, "The form expired or did not come from this site. Reload the page and try again.")
    return None


# --- headers ---------------------------------------------------------------------------


@lru_cache(maxsize=8)
def content_security_policy(coverart_base_url: str) -> str:
    # Cover images are the only third-party requests: the Cover Art Archive and
    # the archive.org hosts it redirects to.
    parts = urlsplit(coverart_base_url)
    covers = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: {covers} https://archive.org https://*.archive.org".replace("  ", " "),
            "connect-src 'self'",
            "media-src 'self'",  # previews: streamed by Resonance itself (app/web/previews.py)
            "manifest-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def add_security_headers(response):
    settings = g.get("settings")
    coverart = settings.coverart.base_url if settings else ""
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(coverart)
    headers["X-Content-Type-Options"] = "nosniff"
    # same-origin: form POSTs keep their Origin header (no-referrer would make it "null"),
    # and cover image requests carry no Referer.
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    if request.endpoint != "static" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store" if request.endpoint not in ("health", "api.health") else "no-cache"
    if response.mimetype == "text/html":
        response.vary.add("HX-Request")
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
