"""Who is asking: web.auth = basic, api_key, proxy or none. The one place that decides it is
``authenticate`` below; its rooms: ``passwords`` (comparing secrets, password hashes),
``addresses`` (proxies and address trust), ``limiter`` (failed sign-ins), ``setup`` (a fresh
install), ``remembered`` (the browser that used the setup form stays signed in).

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
(the browser and the server both on loopback), and only while no credential
of any kind is set (no username, password, hash or API key), it offers a
one-time setup form.

Failed sign-ins (a wrong Basic password or API key) are counted per client
address: web.login_attempts of them within web.login_window, and that address
is answered 429 for web.login_window without its credentials being checked.
The proxy's user header and auth none are not counted: no secret is checked.
"""

from __future__ import annotations

from flask import Flask, current_app, g, redirect, render_template, request, url_for
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth, MultiAuth

from app.web.auth.addresses import (
    addressed_to_loopback,
    forwarded_client_address,
    from_trusted_proxy,
    host_without_port,
    is_loopback_name,
)
from app.web.auth.limiter import SignInLimiter, limiter_key, sign_in_limiter, too_many_failures
from app.web.auth.passwords import (
    CREDENTIAL_KEYS,
    HashCheckCache,
    basic_configured,
    password_matches,
    secret_equals,
)
from app.web.auth.remembered import remembered_user
from app.web.auth.setup import bp, setup_allowed, setup_possible
from app.web.context import PUBLIC_ENDPOINTS, is_api
from app.web.errors import error_response

__all__ = ["CREDENTIAL_KEYS", "HashCheckCache", "SignInLimiter", "authenticate", "basic_configured", "bp",
           "forwarded_client_address", "from_trusted_proxy", "init_app"]

REALM = "Resonance"

basic = HTTPBasicAuth(realm=REALM)
bearer = HTTPTokenAuth(scheme="Bearer", realm=REALM)
key_header = HTTPTokenAuth(scheme="ApiKey", realm=REALM, header="X-API-Key")
multi = MultiAuth(basic, bearer, key_header)


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


def _credentials_presented() -> bool:
    # The browser's first request carries none, and must not count against anyone.
    return bool(request.headers.get("Authorization", "").strip() or request.headers.get("X-API-Key", "").strip())


def check_credentials(web):
    """Basic or the API key, unless this address used up its failed attempts."""
    limiter = sign_in_limiter()
    address = limiter_key(web)
    # Refused before the check: a right password must not get through either, or guessing goes on.
    wait = limiter.retry_after(address)
    if wait > 0:
        return too_many_failures(wait)
    refusal = multi.login_required(_let_in)()
    if refusal is None:
        if g.get("user") is not None:
            limiter.succeeded(address)
    elif _credentials_presented():
        count = limiter.failed(address, web.login_attempts, web.login_window)
        if count:
            current_app.logger.warning("%d failed sign-ins from %s: refusing it for %ss", count, address,
                                       web.login_window)
    return refusal


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
        return check_credentials(web)
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
    if basic_configured(web) and not request.headers.get("Authorization", "").strip():
        user = remembered_user(web, g.secret_key)  # the browser that just used the setup form
        if user is not None:
            g.user, g.auth_method = user, "basic"
            return None
    return check_credentials(web)


def first_run(web):
    if is_api():
        if web.api_key:  # scripts have a way in: this is a missing key, not a fresh install
            return auth_failed(401)
        return error_response(403, "setup_required", "Resonance has no credentials yet; see docs/configuration.md.")
    if setup_allowed(web) and request.method == "GET":
        return redirect(url_for("auth.setup"), 303)
    return render_template("pages/first_run.html", web=web, config_path=g.settings.config_path,
                           setup_possible=setup_possible(web)), 403


def init_app(app: Flask) -> None:
    app.extensions["sign_in_limiter"] = SignInLimiter()
