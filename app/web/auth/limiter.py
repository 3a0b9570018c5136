"""Failed sign-ins counted per client address: too many, and that address waits."""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from flask import current_app, make_response, request

from app.text import count_of
from app.web.auth.addresses import forwarded_client_address
from app.web.errors import error_response

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


def _wait_text(seconds: int) -> str:
    return count_of(seconds, "second") if seconds < 90 else count_of(math.ceil(seconds / 60), "minute")


def too_many_failures(seconds: float):
    wait = max(1, math.ceil(seconds))
    response = make_response(error_response(
        429, "too_many_requests", f"Too many failed sign-ins from your address. Try again in {_wait_text(wait)}."))
    response.headers["Retry-After"] = str(wait)
    return response
