"""Secrets: constant-time comparison, password hashes, and which credentials are set."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time

from flask import current_app
from werkzeug.security import check_password_hash

MIN_PASSWORD = 8
#: The settings of web that sign a person in; setup is offered only while none is set.
CREDENTIAL_KEYS = ("username", "password", "password_hash", "api_key")

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
            current_app.logger.error("a password hash (web.password_hash, or a member's password_hash) "
                                     "is not a werkzeug hash")
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


def any_credential_set(web) -> bool:
    """Any part of a sign-in is configured: a username, a password or its hash, an API key."""
    return any(getattr(web, key) for key in CREDENTIAL_KEYS)
