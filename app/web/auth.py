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
(the browser and the server both on loopback), and only while no credential
of any kind is set (no username, password, hash or API key), it offers a
one-time setup form.

Failed sign-ins (a wrong Basic password or API key) are counted per client
address: web.login_attempts of them within web.login_window, and that address
is answered 429 for web.login_window without its credentials being checked.
The proxy's user header and auth none are not counted: no secret is checked.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth, MultiAuth
from werkzeug.security import check_password_hash, generate_password_hash

from app.text import count_of
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


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip().split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address() -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The TCP peer (never X-Forwarded-For: anyone can write that header)."""
    return parse_address(request.remote_addr or "")


@lru_cache(maxsize=16)
def parse_networks(entries: tuple[str, ...]) -> tuple[tuple, tuple[str, ...]]:
    networks, bad = [], []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            bad.append(entry)
    return tuple(networks), tuple(bad)


def trusted_networks(web) -> tuple:
    networks, bad = parse_networks(tuple(web.trusted_proxies))
    if bad:
        current_app.logger.error("web.trusted_proxies: not an address or CIDR: %s", ", ".join(bad))
    return networks


def in_networks(address, networks) -> bool:
    return address is not None and any(address.version == n.version and address in n for n in networks)


def from_trusted_proxy(web) -> bool:
    return in_networks(client_address(), trusted_networks(web))


def forwarded_client_address(web) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client as the trusted proxies report it, for counting failed sign-ins only.

    X-Forwarded-For is read only when the TCP peer is a trusted proxy, and from
    the right: each trusted hop vouches for the one to its left, and the first
    untrusted one is the client. Anything further left the client wrote itself.
    """
    networks = trusted_networks(web)
    address = client_address()
    if not in_networks(address, networks):
        return address
    hops = [hop for value in request.headers.getlist("X-Forwarded-For") for hop in value.split(",")]
    for hop in reversed(hops):
        hop_address = parse_address(host_without_port(hop).strip("[]"))
        if hop_address is None:
            break  # a trusted proxy would not write this: keep the last hop we can vouch for
        address = hop_address
        if not in_networks(address, networks):
            break
    return address


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


CREDENTIAL_KEYS = ("username", "password", "password_hash", "api_key")


def any_credential_set(web) -> bool:
    """Any part of a sign-in is configured: a username, a password or its hash, an API key."""
    return any(getattr(web, key) for key in CREDENTIAL_KEYS)


def setup_possible(web) -> bool:
    """Basic sign-in and no credential of any kind: with an API key set, a form that
    adds a Basic login would let any local process give itself one."""
    return web.auth == "basic" and not any_credential_set(web)


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


# --- failed sign-ins ---------------------------------------------------------------------

MAX_TRACKED_ADDRESSES = 10_000


class _Failures:
    __slots__ = ("count", "expires", "locked_until")

    def __init__(self, expires: float):
        self.count, self.expires, self.locked_until = 0, expires, 0.0


class SignInLimiter:
    """Failed sign-ins per client address, in this process.

    ``attempts`` failures within ``window`` seconds of the first one lock the
    address out for ``window`` seconds; then it starts again from zero. With
    several gunicorn workers each one counts on its own. At most
    ``max_addresses`` are tracked: expired entries go first, then the ones
    nearest their end.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_addresses: int = MAX_TRACKED_ADDRESSES):
        self.clock, self.max_addresses = clock, max_addresses
        # In the order they expire (one window for all): expired entries are found
        # at the front, and over the cap the one nearest its end goes first.
        self._entries: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def retry_after(self, address: str) -> float:
        """Seconds until the address may try again; 0 when it may now."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(address)
            return max(0.0, entry.locked_until - now) if entry else 0.0

    def failed(self, address: str, attempts: int, window: float) -> int:
        """Count a failure; the count when it starts a lockout, else 0."""
        now = self.clock()
        with self._lock:
            self._drop_expired(now)
            entry = self._entries.get(address)
            if entry is None or entry.expires <= now:
                self._entries.pop(address, None)
                entry = self._track(address, now + window)
            entry.count += 1
            if entry.count < attempts:
                return 0
            started, entry.count = entry.count, 0
            entry.locked_until = entry.expires = now + window
            self._entries.move_to_end(address)
            return started

    def _track(self, address: str, expires: float) -> _Failures:
        while len(self._entries) >= self.max_addresses:
            self._entries.popitem(last=False)
        entry = self._entries[address] = _Failures(expires)
        return entry

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._entries.pop(address, None)

    def _drop_expired(self, now: float) -> None:
        # Stops at the first live entry: after web.login_window changes a few
        # expired ones may wait behind it, and the cap still bounds them.
        while self._entries:
            first = next(iter(self._entries.values()))
            if first.expires > now:
                return
            self._entries.popitem(last=False)


def sign_in_limiter() -> SignInLimiter:
    return current_app.extensions["sign_in_limiter"]


def limiter_key(web) -> str:
    """Whose failures these are. IPv6 by /64: one household or one attacker gets a whole /64."""
    address = forwarded_client_address(web)
    if address is None:
        return request.remote_addr or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _credentials_presented() -> bool:
    # The browser's first request carries none, and must not count against anyone.
    return bool(request.headers.get("Authorization", "").strip() or request.headers.get("X-API-Key", "").strip())


def _wait_text(seconds: int) -> str:
    return count_of(seconds, "second") if seconds < 90 else count_of(math.ceil(seconds / 60), "minute")


def too_many_failures(seconds: float):
    wait = max(1, math.ceil(seconds))
    response = make_response(error_response(
        429, "too_many_requests", f"Too many failed sign-ins from your address. Try again in {_wait_text(wait)}."))
    response.headers["Retry-After"] = str(wait)
    return response


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
    login = {"username": username, "password_hash": generate_password_hash(password)}
    if not repository().save_settings_unless_set("web", login, CREDENTIAL_KEYS):
        abort(404)  # another setup (or a settings save) got there first
    current_app.extensions["settings_cache"].forget()
    return redirect(url_for("queue.index"), 303)

