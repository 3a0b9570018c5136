"""Who is asking: web.auth = basic, api_key, proxy or none.

- basic: HTTP Basic with web.username and web.password (or web.password_hash,
  which wins when both are set); the API key is accepted too when one is set.
- api_key: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; Basic is
  accepted too when a username and password are set.
- proxy: the user named by the web.proxy_user_header header, believed only
  from an address in web.trusted_proxies; from anywhere else the request is
  refused. The API key works here too, for scripts.
- none: everyone is let in, and every page says so. On a loopback address
  only requests addressed to localhost are answered (a guard against DNS
  rebinding: another site's name pointed at 127.0.0.1).

Every comparison of a secret is constant-time. A fresh install (basic, no
credentials) shows a page that says how to set them; on this machine only
(the browser and the server both on loopback) it offers a one-time setup form.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import threading
import time
from functools import lru_cache

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth, MultiAuth
from werkzeug.security import check_password_hash, generate_password_hash

from app.web.context import PUBLIC_ENDPOINTS, is_api, repository
from app.web.errors import error_response

REALM = "Resonance"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP")
MIN_PASSWORD = 8

basic = HTTPBasicAuth(realm=REALM)
bearer = HTTPTokenAuth(scheme="Bearer", realm=REALM)
key_header = HTTPTokenAuth(scheme="ApiKey", realm=REALM, header="X-API-Key")
multi = MultiAuth(basic, bearer, key_header)

bp = Blueprint("auth", __name__)


# --- comparing secrets --------------------------------------------------------------

_PROCESS_KEY = os.urandom(32)


def _digest(value: str) -> bytes:
    # Equal-length digests: compare_digest then takes the same time whatever the lengths.
    return hmac.new(_PROCESS_KEY, value.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


def secret_equals(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(_digest(given), _digest(expected))


class HashCheckCache:
    """Remembers passwords that matched a hash for a while: a hash check takes
    tens of milliseconds on purpose, and Basic sends the password on every request."""

    def __init__(self, seconds: float = 600, size: int = 64):
        self.seconds, self.size = seconds, size
        self._ok: dict[tuple[str, bytes], float] = {}
        self._lock = threading.Lock()

    def check(self, stored_hash: str, password: str) -> bool:
        key = (stored_hash, _digest(password))
        now = time.monotonic()
        with self._lock:
            if self._ok.get(key, 0) > now:
                return True
        try:
            ok = check_password_hash(stored_hash, password)
        except (ValueError, TypeError):
            current_app.logger.error("web.password_hash is not a werkzeug password hash")
            ok = False
        if ok:
            with self._lock:
                if len(self._ok) >= self.size:
                    self._ok.clear()
                self._ok[key] = now + self.seconds
        return ok


hash_checks = HashCheckCache()


def basic_configured(web) -> bool:
    return bool(web.username and (web.password or web.password_hash))


def password_matches(web, password: str) -> bool:
    if web.password_hash:
        return hash_checks.check(web.password_hash, password)
    return secret_equals(password, web.password)


@basic.verify_password
def verify_password(username: str, password: str):
    web = g.settings.web
    if web.auth not in ("basic", "api_key") or not basic_configured(web):
        return None
    # Both checks run every time: which one failed must not show in the timing.
    user_ok = secret_equals(username, web.username)
    password_ok = password_matches(web, password)
    if user_ok and password_ok:
        g.user, g.auth_method = username, "basic"
        return username
    return None


@bearer.verify_token
@key_header.verify_token
def verify_api_key(token: str):
    web = g.settings.web
    if web.auth != "none" and secret_equals(token or "", web.api_key):
        g.user, g.auth_method = "api-key", "api_key"
        return "api-key"
    return None


def auth_failed(status: int):
    if status == 401:
        return error_response(401, "unauthorized", "Sign in to use Resonance.")
    return error_response(403, "forbidden", "You may not do this.")


# Each scheme wraps the handler itself: it adds its own WWW-Authenticate header.
for _scheme in (basic, bearer, key_header):
    _scheme.error_handler(auth_failed)


# --- addresses ---------------------------------------------------------------------------


def client_address() -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The TCP peer (never X-Forwarded-For: anyone can write that header)."""
    try:
        address = ipaddress.ip_address((request.remote_addr or "").split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=16)
def parse_networks(entries: tuple[str, ...]) -> tuple[tuple, tuple[str, ...]]:
    networks, bad = [], []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            bad.append(entry)
    return tuple(networks), tuple(bad)


def from_trusted_proxy(web) -> bool:
    networks, bad = parse_networks(tuple(web.trusted_proxies))
    if bad:
        current_app.logger.error("web.trusted_proxies: not an address or CIDR: %s", ", ".join(bad))
    address = client_address()
    return address is not None and any(address.version == n.version and address in n for n in networks)


def is_loopback_name(host: str) -> bool:
    return host.strip().lower() in LOOPBACK_NAMES


def host_without_port(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def addressed_to_loopback() -> bool:
    """The Host header names this machine's loopback (DNS rebinding sends another name)."""
    return is_loopback_name(host_without_port(request.host))


def setup_allowed(web) -> bool:
    """The one-time setup form: fresh install, everything on this machine's loopback.

    A reverse proxy on the same machine would make outside requests look local;
    it adds forwarding headers, and its Host is usually not "localhost".
    """
    address = client_address()
    return (
        web.auth == "basic"
        and not basic_configured(web)
        and is_loopback_name(host_without_port(web.host))
        and address is not None
        and address.is_loopback
        and addressed_to_loopback()
        and not any(name in request.headers for name in FORWARDING_HEADERS)
    )


# --- the before_request step ----------------------------------------------------------------


def _let_in():
    return None


def _api_key_presented() -> bool:
    scheme = request.headers.get("Authorization", "").split(" ", 1)[0].lower()
    return scheme == "bearer" or "X-API-Key" in request.headers


def authenticate():
    """before_request: sets g.user and g.auth_method, or answers 401/403 (or the first-run page)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    web = g.settings.web
    if web.auth == "none":
        if is_loopback_name(host_without_port(web.host)) and not addressed_to_loopback():
            return error_response(403, "forbidden", "This Resonance answers only requests addressed to localhost.")
        g.user, g.auth_method = "anonymous", "none"
        return None
    if request.endpoint in ("auth.setup", "auth.setup_save"):
        g.user = None
        return None
    if _api_key_presented() and web.api_key:
        return multi.login_required(_let_in)()
    if web.auth == "proxy":
        if not from_trusted_proxy(web):
            return error_response(403, "forbidden", "Requests must come through the trusted reverse proxy.")
        user = request.headers.get(web.proxy_user_header, "").strip()
        if not user:
            return error_response(401, "unauthorized", "The reverse proxy did not say who is signed in.")
        g.user, g.auth_method = user, "proxy"
        return None
    if not basic_configured(web) and (web.auth == "basic" or not web.api_key):
        return first_run(web)
    return multi.login_required(_let_in)()


def first_run(web):
    if is_api():
        return error_response(403, "setup_required", "Resonance has no credentials yet; see docs/configuration.md.")
    if setup_allowed(web) and request.method == "GET":
        return redirect(url_for("auth.setup"), 303)
    return render_template("pages/first_run.html", web=web, config_path=g.settings.config_path), 403


# --- one-time setup form ------------------------------------------------------------------


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
    repository().save_settings({"web": {"username": username, "password_hash": generate_password_hash(password)}})
    current_app.extensions["settings_cache"].forget()
    return redirect(url_for("queue.index"), 303)

