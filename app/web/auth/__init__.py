"""Who is asking: web.auth = basic, api_key, proxy or none. The one place that decides it is
``authenticate`` below: it sets ``g.member`` (an ``app.household.Member``: name and role; see
``current_member()``) and ``g.user`` (the member's name). Its rooms: ``passwords`` (comparing
secrets, password hashes), ``members`` (which member a credential is; the admin-only rule),
``addresses`` (proxies and address trust), ``limiter`` (failed sign-ins), ``setup`` (a fresh
install), ``remembered`` (the browser that used the setup form stays signed in).

- basic: HTTP Basic: each member of household.members with a password_hash signs in with
  their name; web.username with web.password (or web.password_hash, which wins when both
  are set) is the single-user admin. API keys are accepted too.
- api_key: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``: a member's api_key, or
  web.api_key (the admin); Basic is accepted too.
- proxy: the user named by the web.proxy_user_header header (Remote-User), believed only
  from an address in web.trusted_proxies; from anywhere else the request is refused. The
  user is the member whose proxy_user (or name) it is, else a member of that name; an admin
  when web.proxy_groups_header (Remote-Groups) names one of web.proxy_admin_groups. API keys
  work here too, for scripts.
- none: everyone is let in as the household's admin, and every page says so. On a loopback address
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
)
from app.web.auth.members import (
    admin_only,
    any_api_key,
    any_password_account,
    current_member,
    header_groups,
    member_for_api_key,
    member_for_password,
    member_for_proxy,
    no_sign_in_member,
)
from app.web.auth.remembered import remembered_user
from app.web.auth.setup import bp, setup_allowed, setup_possible
from app.web.context import PUBLIC_ENDPOINTS, is_api
from app.web.errors import error_response

__all__ = ["CREDENTIAL_KEYS", "HashCheckCache", "SignInLimiter", "admin_only", "any_api_key", "any_password_account",
           "authenticate", "basic_configured", "bp", "current_member", "forwarded_client_address",
           "from_trusted_proxy", "init_app"]

REALM = "Resonance"

basic = HTTPBasicAuth(realm=REALM)
bearer = HTTPTokenAuth(scheme="Bearer", realm=REALM)
key_header = HTTPTokenAuth(scheme="ApiKey", realm=REALM, header="X-API-Key")
multi = MultiAuth(basic, bearer, key_header)


@basic.verify_password
def verify_password(username: str, password: str):
    if g.settings.web.auth not in ("basic", "api_key"):
        return None
    member = member_for_password(g.settings, username, password)
    if member is None:
        return None
    g.member, g.user, g.auth_method = member, member.name, "basic"
    return member.name


@bearer.verify_token
@key_header.verify_token
def verify_api_key(token: str):
    if g.settings.web.auth == "none":
        return None
    member = member_for_api_key(g.settings, token or "")
    if member is None:
        return None
    g.member, g.user, g.auth_method = member, member.name, "api_key"
    return member.name


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
        g.member = no_sign_in_member(g.settings)
        g.user, g.auth_method = "anonymous", "none"  # nobody signed in: the household's admin acts
        return None
    if request.endpoint in ("auth.setup", "auth.setup_save"):
        g.user = None
        return None
    if _api_key_presented() and any_api_key(g.settings):
        return check_credentials(web)
    if web.auth == "proxy":
        if not from_trusted_proxy(web):
            return error_response(403, "forbidden", "Requests must come through the trusted reverse proxy.")
        user = request.headers.get(web.proxy_user_header, "").strip()
        if not user:
            return error_response(401, "unauthorized", "The reverse proxy did not say who is signed in.")
        groups = header_groups(request.headers.get(web.proxy_groups_header, ""))
        g.member = member_for_proxy(g.settings, user, groups)
        g.user, g.auth_method = g.member.name, "proxy"
        return None
    if not any_password_account(g.settings) and (web.auth == "basic" or not any_api_key(g.settings)):
        return first_run(web)
    if basic_configured(web) and not request.headers.get("Authorization", "").strip():
        user = remembered_user(web, g.secret_key)  # the browser that just used the setup form
        if user is not None:
            g.user, g.auth_method = user, "basic"
            return None
    return check_credentials(web)


def first_run(web):
    if is_api():
        if any_api_key(g.settings):  # scripts have a way in: this is a missing key, not a fresh install
            return auth_failed(401)
        return error_response(403, "setup_required", "Resonance has no credentials yet; see docs/configuration.md.")
    if setup_allowed(web) and request.method == "GET":
        return redirect(url_for("auth.setup"), 303)
    return render_template("pages/first_run.html", web=web, config_path=g.settings.config_path,
                           setup_possible=setup_possible(web)), 403


def init_app(app: Flask) -> None:
    app.extensions["sign_in_limiter"] = SignInLimiter()
