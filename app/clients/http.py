"""The one place outbound HTTP goes through.

``HttpClient`` wraps a ``requests.Session`` with a Resonance User-Agent,
explicit (connect, read) timeouts, optional pacing (``RateLimiter``, or
``SharedRateLimiter`` for a spacing kept by every process at once) and a
bounded retry loop with exponential backoff + jitter.

What is retried: connection failures (refused, reset), timeouts, HTTP
429/500/502/503/504 and, for a request that expects JSON, a body that starts
as JSON but does not parse (a reply cut short). ``Retry-After`` (or a
service-specific header) is honoured. GET, HEAD, PUT, DELETE and OPTIONS are
retried on all of these, since repeating them does no harm. A POST is retried
only when it surely did nothing: it never reached the server (connection
refused, connect timeout) or the server refused it with 429; unless the caller
says repeating it is safe (``retry_unsafe=True``, e.g. a POST that only reads).
A POST whose reply was lost or unreadable raises with ``maybe_done = True``, so
the caller checks before acting again (a 503 answer sets it False: refused).

Every attempt and every retry is counted per service in ``stats``. Every
failure surfaces as an ``UpstreamError`` subclass whose message never contains
query strings, credentials or other configured secrets.
"""

from __future__ import annotations

import atexit
import email.utils
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3

from app import __version__
from app.masking import mask_secrets

log = logging.getLogger(__name__)

#: HTTP statuses that are retried inside ``HttpClient.request``.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Statuses saying the server refused the request before acting on it (a POST answered so was not done).
REFUSED_STATUSES = frozenset({429, 503})
#: Methods that may be sent twice without doing anything twice.
REPEATABLE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)


# --------------------------------------------------------------------------- errors


class UpstreamError(Exception):
    """A call to an outside service failed.

    ``retryable`` tells the caller whether trying again later can help;
    ``retry_after`` (seconds) is the server's hint when it gave one and
    ``code`` a service-level error code (Last.fm, Subsonic) when known.
    ``maybe_done`` is True when a POST reached the server but its reply was
    lost or unreadable: the server may have acted, so look before repeating it.
    """

    default_retryable = False

    def __init__(
        self,
        service: str,
        message: str,
        status: int | None = None,
        retryable: bool | None = None,
        *,
        retry_after: float | None = None,
        code: int | None = None,
        maybe_done: bool = False,
    ) -> None:
        self.service = service
        self.message = message
        self.status = status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.code = code
        self.maybe_done = maybe_done
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.service}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(service={self.service!r}, message={self.message!r}, "
            f"status={self.status!r}, retryable={self.retryable!r})"
        )


class AuthError(UpstreamError):
    """Credentials or API key rejected: permanent until the user fixes the settings."""


#: Told of every AuthError a service answers with: a pipeline run listens (app.notifications) to tell
#: the household that a service rejects Resonance's credentials; the web UI's own checks do not.
credentials_rejected_listeners: list[Callable[[AuthError], None]] = []


class NotFound(UpstreamError):
    """The requested resource does not exist upstream."""


class BadRequest(UpstreamError):
    """The service refused the request as malformed (programming or input error)."""


class RateLimited(UpstreamError):
    """Too many requests; wait ``retry_after`` seconds (when known) and try again."""

    default_retryable = True


class Unavailable(UpstreamError):
    """Connection failure, timeout or 5xx: the service may work again later."""

    default_retryable = True


class BadResponse(UpstreamError):
    """The service answered, but not with the JSON shape we expected."""


# --------------------------------------------------------------------------- secrets


_QUERY_RE = re.compile(r"\?[^\s'\"<>)]*")


def safe_url(url: str) -> str:
    """``url`` without userinfo, query string or fragment (safe to log)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


# What requests' long error texts boil down to, in words a person can act on.
_TRANSPORT_FAILURES = (
    ("Connection refused", "connection refused"),
    ("Name or service not known", "unknown host name"),
    ("Temporary failure in name resolution", "the host name could not be resolved"),
    ("No route to host", "no route to host"),
    ("Network is unreachable", "network unreachable"),
    ("Connection reset", "the connection was reset"),
    ("RemoteDisconnected", "the server closed the connection without answering"),
)


def never_sent(exc: requests.exceptions.RequestException) -> bool:
    """True when the request surely did not reach the server: the connection itself failed.

    A refused connection or a connect timeout leaves nothing on the server; a
    reset, a read timeout or a broken body may come after the server acted.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError) or isinstance(
            exc, requests.exceptions.ChunkedEncodingError):
        return False
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    # urllib3's NewConnectionError (refused, unknown host) subclasses ConnectTimeoutError.
    return isinstance(reason, urllib3.exceptions.ConnectTimeoutError)


def transport_failure(exc: requests.exceptions.RequestException) -> str:
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer in time"
    text = str(exc)
    return next((reason for marker, reason in _TRANSPORT_FAILURES if marker in text), type(exc).__name__)


def server_of(url: str) -> str:
    """host:port of a URL, without credentials (safe to show)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def safe_path(url: str) -> str:
    """Only the path of ``url`` (no host, query or fragment)."""
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return "<invalid url>"


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove query strings and every form of every secret from ``text`` (app.masking)."""
    return _QUERY_RE.sub("?…", mask_secrets(text, secrets))


# --------------------------------------------------------------------------- pacing


class RateLimiter:
    """Minimum spacing between requests, shared by all threads holding it.

    ``wait()`` blocks until ``min_interval`` seconds have passed since the
    previous slot; ``defer(seconds)`` pushes the next slot back (used when a
    server says its window is exhausted).
    """

    def __init__(
        self,
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must be >= 0")
        self.min_interval = float(min_interval)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = float("-inf")

    @classmethod
    def per_second(cls, rate: float, **kwargs: Any) -> RateLimiter:
        """A limiter allowing at most ``rate`` requests per second."""
        if rate <= 0:
            raise ValueError("rate must be > 0")
        return cls(1.0 / rate, **kwargs)

    def wait(self) -> float:
        """Block until the next slot is free; returns the time slept."""
        with self._lock:
            now = self._clock()
            delay = self._next - now
            if delay > 0:
                self._sleep(delay)
                now = self._clock()
                # A fake or coarse clock may not have advanced as much as asked.
                now = max(now, self._next)
            else:
                delay = 0.0
            self._next = now + self.min_interval
            return delay

    def defer(self, seconds: float) -> None:
        """Make the next ``wait()`` last until at least ``seconds`` from now."""
        with self._lock:
            self._next = max(self._next, self._clock() + max(0.0, seconds))


_shared_limiters: dict[tuple[str, str, float], RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(service: str, base_url: str, min_interval: float) -> RateLimiter:
    """The process-wide limiter for ``service`` at ``base_url``'s host."""
    parts = urlsplit(base_url)
    key = (service, (parts.hostname or "").lower() + f":{parts.port or ''}", float(min_interval))
    with _shared_lock:
        limiter = _shared_limiters.get(key)
        if limiter is None:
            limiter = _shared_limiters[key] = RateLimiter(min_interval)
        return limiter


class SharedRateLimiter:
    """Minimum spacing kept by every process on this machine at once (``RateLimiter``'s interface).

    ``reserve(now, interval, hold)`` is the shared book of slots (the
    repository's ``reserve_slot``, under a lock every process takes): it
    returns the slot this request may go at and moves the next free slot
    ``interval`` later, or with ``hold`` only pushes the next free slot to at
    least ``now + hold``. Times are ``time.monotonic()``, which on Linux is
    CLOCK_MONOTONIC, the same clock in every process. When the book cannot be
    used (a read-only data dir), spacing falls back to this process only.
    """

    def __init__(
        self,
        reserve: Callable[[float, float, float], float],
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.min_interval = float(min_interval)
        self._reserve = reserve
        self._clock = clock
        self._sleep = sleep
        self._local = RateLimiter(min_interval, clock=clock, sleep=sleep)
        self._book_failed = False

    def _book(self, interval: float, hold: float) -> float | None:
        if self._book_failed:
            return None
        try:
            return self._reserve(self._clock(), interval, hold)
        except Exception as exc:  # noqa: BLE001 - the book lives elsewhere (the data dir); any failure falls back
            self._book_failed = True
            log.warning("request spacing shared between processes is off (%s); spacing this process only", exc)
            return None

    def wait(self) -> float:
        """Block until this request's reserved slot; returns the time slept."""
        slot = self._book(self.min_interval, 0.0)
        if slot is None:
            return self._local.wait()
        delay = slot - self._clock()
        if delay > 0:
            self._sleep(delay)
            return delay
        return 0.0

    def defer(self, seconds: float) -> None:
        """No process sends before ``seconds`` from now."""
        if self._book(0.0, max(0.0, seconds)) is None:
            self._local.defer(seconds)


# --------------------------------------------------------------------------- counting


class RequestStats:
    """Requests sent and retries made, per service, in this process (for run summaries and benchmarks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}

    def count(self, service: str, what: str) -> None:
        with self._lock:
            counts = self._counts.setdefault(service, {"requests": 0, "retries": 0})
            counts[what] = counts.get(what, 0) + 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        """``{service: {"requests": n, "retries": n, "status_503": n, ...}}``."""
        with self._lock:
            return {service: dict(counts) for service, counts in self._counts.items()}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def describe(self) -> str:
        """One line: ``musicbrainz 12 requests (2 retries), listenbrainz 3 requests``."""
        parts = []
        for service, counts in sorted(self.snapshot().items()):
            text = f"{service} {counts.get('requests', 0)} requests"
            if counts.get("retries"):
                text += f" ({counts['retries']} retries)"
            parts.append(text)
        return ", ".join(parts) or "no requests"


#: The process's counts, read by the pipelines' logs and the benchmarks.
stats = RequestStats()

#: When set, the process writes its counts there as JSON when it exits (benchmarks running jobs as commands).
STATS_FILE_ENV = "RESONANCE_HTTP_STATS_FILE"


def _write_stats_file() -> None:
    path = os.environ.get(STATS_FILE_ENV)
    if path:
        try:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(stats.snapshot(), handle)
        except OSError as exc:
            log.warning("could not write request counts to %s: %s", path, exc)


atexit.register(_write_stats_file)


# --------------------------------------------------------------------------- session


def user_agent(contact: str | None = None) -> str:
    """``Resonance/<version> ( <contact> )`` — the contact part only when given."""
    agent = f"Resonance/{__version__}"
    return f"{agent} ( {contact} )" if contact else agent


def build_session(contact: str | None = None) -> requests.Session:
    """A ``requests.Session`` carrying the Resonance User-Agent."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent(contact)
    session.headers["Accept"] = "application/json"
    return session


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts, how long to wait between them, and the total budget."""

    # Five attempts: with a fifth of all requests failing, one in 600 requests still fails (0.2^4 = 1/625).
    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_total_wait: float = 60.0
    jitter: float = 0.25

    def backoff(self, attempt: int, rand: float) -> float:
        """Delay after failed ``attempt`` (1-based): doubling, capped, plus up to ``jitter``×."""
        delay = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return delay + delay * self.jitter * rand


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, *, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds from a ``Retry-After``-style header (delta seconds or HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now() if now else datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


# --------------------------------------------------------------------------- parsing helpers


def body_json(response: requests.Response) -> Any:
    """The decoded JSON body, ``None`` for an empty body; raises ``ValueError`` otherwise."""
    content = response.content
    if not content or not content.strip():
        return None
    return json.loads(content)  # bytes: UTF-8/16/32 and a UTF-8 BOM are detected


def body_json_or_none(response: requests.Response) -> Any:
    """``body_json``, or ``None`` when the body is not JSON (a service's own error check looks at it first)."""
    try:
        return body_json(response)
    except ValueError:
        return None


def error_detail(response: requests.Response) -> str | None:
    """A short human text from an error body: JSON ``error``/``message`` or a JSON string."""
    try:
        data = body_json(response)
    except (ValueError, UnicodeDecodeError):
        ctype = response.headers.get("Content-Type", "")
        if "html" in ctype.lower() or response.content.lstrip()[:1] == b"<":
            return "non-JSON (HTML) body"
        text = response.text.strip()
        return text[:200] if text else None
    if isinstance(data, str):
        return data[:500] or None
    if isinstance(data, dict):
        for key in ("error", "message", "detail", "title"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:500]
    return None


def parse_datetime(value: Any) -> datetime | None:
    """ISO-8601 timestamp (with or without ``Z``/offset, up to 7 fraction digits) → aware UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python < 3.11 and .NET emit up to 7 fractional digits; trim to 6.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def as_int(value: Any) -> int | None:
    """``int`` from an int, float or numeric string; ``None`` otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float | None:
    """``float`` from a number or numeric string; ``None`` otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_str(value: Any) -> str | None:
    """A non-empty string or ``None``."""
    return value if isinstance(value, str) and value else None


# --------------------------------------------------------------------------- client


Check = Callable[[requests.Response], "UpstreamError | None"]


class HttpClient:
    """Session + timeouts + retries + pacing + error mapping for one service."""

    def __init__(
        self,
        service: str,
        *,
        session: requests.Session | None = None,
        contact: str | None = None,
        timeout: tuple[float, float] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        rate_limiter: RateLimiter | None = None,
        verify: bool = True,
        secrets: Iterable[str] = (),
        retry_after_headers: tuple[str, ...] = ("Retry-After",),
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.service = service
        self.session = session if session is not None else build_session(contact)
        agent = self.session.headers.get("User-Agent") or ""
        if not agent or agent.startswith("python-requests"):
            self.session.headers["User-Agent"] = user_agent(contact)
        self.timeout = timeout or DEFAULT_TIMEOUT
        self.retry = retry or RetryPolicy()
        self.sleep = sleep or time.sleep
        self.rate_limiter = rate_limiter
        self.verify = verify
        self.secrets = [s for s in secrets if s]
        self.retry_after_headers = retry_after_headers
        self.rand = rand

    # -- helpers -------------------------------------------------------------

    def add_secret(self, secret: str | None) -> None:
        """Register a value that must be scrubbed from every message."""
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def retry_after(self, response: requests.Response) -> float | None:
        """Server wait hint from the configured headers, in seconds."""
        for name in self.retry_after_headers:
            seconds = parse_retry_after(response.headers.get(name))
            if seconds is not None:
                return seconds
        return None

    def describe(self, response: requests.Response) -> str:
        method = response.request.method if response.request is not None else "GET"
        return f"{method} {self.scrub(safe_path(response.url or ''))}"

    def status_error(
        self,
        response: requests.Response,
        detail: str | None = None,
        *,
        message: str | None = None,
    ) -> UpstreamError:
        """The error class matching ``response.status_code``."""
        status = response.status_code
        if message is None:
            message = f"{self.describe(response)} failed with HTTP {status}"
            if detail:
                message += f": {self.scrub(detail)}"
        else:
            message = self.scrub(message)
        kwargs: dict[str, Any] = {"status": status}
        if status in (401, 403):
            return AuthError(self.service, message, **kwargs)
        if status in (404, 410):
            return NotFound(self.service, message, **kwargs)
        if status == 429:
            return RateLimited(self.service, message, retry_after=self.retry_after(response), **kwargs)
        if status >= 500:
            return Unavailable(self.service, message, retry_after=self.retry_after(response), **kwargs)
        if status in (400, 422):
            return BadRequest(self.service, message, **kwargs)
        return UpstreamError(self.service, message, **kwargs)

    def default_check(self, response: requests.Response) -> UpstreamError | None:
        """``None`` for < 400, otherwise the mapped error with the body's detail."""
        if response.status_code < 400:
            return None
        return self.status_error(response, error_detail(response))

    def json(self, response: requests.Response, *, allow_empty: bool = False) -> Any:
        """Decode the body as JSON or raise ``BadResponse`` (empty → ``None`` if allowed)."""
        try:
            data = body_json(response)
        except (ValueError, UnicodeDecodeError):
            ctype = response.headers.get("Content-Type", "unknown type") or "unknown type"
            raise BadResponse(
                self.service,
                f"{self.describe(response)} returned a non-JSON body ({self.scrub(ctype)}, "
                f"HTTP {response.status_code})",
                status=response.status_code,
            ) from None
        if data is None and not allow_empty:
            raise BadResponse(
                self.service,
                f"{self.describe(response)} returned an empty body (HTTP {response.status_code})",
                status=response.status_code,
            )
        return data

    def bad_shape(self, response: requests.Response, what: str) -> BadResponse:
        """A ``BadResponse`` for a JSON body that lacks the expected structure."""
        return BadResponse(
            self.service,
            f"{self.describe(response)} returned an unexpected JSON shape: {what}",
            status=response.status_code,
        )

    # -- the request loop ------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        check: Check | None = None,
        timeout: tuple[float, float] | None = None,
        expect_json: bool = False,
        retry_unsafe: bool = False,
    ) -> requests.Response:
        """Send a request, retrying transient failures; return the accepted response.

        ``check(response)`` returns ``None`` to accept the response or an
        ``UpstreamError`` to fail. Transient failures (see the module's
        docstring) are retried while the policy allows; a reply that should be
        JSON (``expect_json``, or a JSON content type) but is cut short counts
        as one. ``retry_unsafe`` lets a POST be repeated like a GET (for a POST
        that changes nothing on the server).
        """
        check = check or self.default_check
        policy = self.retry
        repeatable = retry_unsafe or method.upper() in REPEATABLE_METHODS
        waited = 0.0
        attempt = 0
        where = f"{method} {self.scrub(safe_path(url))}"
        while True:
            attempt += 1
            if self.rate_limiter is not None:
                self.rate_limiter.wait()
            stats.count(self.service, "requests")
            error: UpstreamError
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers=dict(headers) if headers else None,
                    timeout=timeout or self.timeout,
                    verify=self.verify,
                )
            except requests.exceptions.SSLError as exc:
                raise UpstreamError(
                    self.service,
                    f"{where}: TLS error ({self.scrub(str(exc))[:300]}); "
                    "for a self-signed certificate turn TLS verification off",
                    retryable=False,
                ) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                sent = not never_sent(exc)
                error = Unavailable(self.service, f"{where} failed: {transport_failure(exc)} ({server_of(url)})",
                                    maybe_done=sent and not repeatable)
                may_repeat = repeatable or not sent
            except requests.exceptions.RequestException as exc:
                raise UpstreamError(
                    self.service, f"{where} could not be sent ({type(exc).__name__}: {self.scrub(str(exc))[:300]})"
                ) from None
            else:
                if response.status_code >= 429:
                    stats.count(self.service, f"status_{response.status_code}")
                found = self._cut_short(response, expect_json) or check(response)
                if found is None:
                    return response
                error = found
                if isinstance(found, AuthError):
                    for listener in list(credentials_rejected_listeners):
                        listener(found)
                if not (response.status_code in RETRY_STATUSES or isinstance(found, _CutShort)):
                    raise error
                refused = response.status_code in REFUSED_STATUSES
                error.maybe_done = not (repeatable or refused)
                # A 429 says the server did nothing, so even a POST may go again.
                may_repeat = repeatable or response.status_code == 429

            if not (error.retryable and may_repeat) or attempt >= policy.max_attempts:
                if error.retryable and may_repeat and attempt > 1:
                    error.message += f" (gave up after {attempt} attempts)"
                raise error
            hint = error.retry_after
            delay = hint if hint is not None else policy.backoff(attempt, self.rand())
            if waited + delay > policy.max_total_wait:
                error.message += f" (retry budget of {policy.max_total_wait:g} s exhausted)"
                raise error
            log.warning(
                "%s: %s, retrying in %.1f s (attempt %d/%d)",
                self.service, error.message, delay, attempt, policy.max_attempts,
            )
            stats.count(self.service, "retries")
            self.sleep(delay)
            waited += delay

    def _cut_short(self, response: requests.Response, expect_json: bool) -> UpstreamError | None:
        """A successful reply that should be JSON but was cut short: worth asking again.

        An HTML page is a wrong server or a proxy's page, not a cut reply: it
        is left to ``check`` and ``json`` to explain.
        """
        if not 200 <= response.status_code < 300:
            return None
        content_type = response.headers.get("Content-Type", "").lower()
        if not (expect_json or "json" in content_type):
            return None
        content = response.content.strip()
        if not content or content[:1] == b"<":
            return None
        try:
            body_json(response)
        except (ValueError, UnicodeDecodeError):
            return _CutShort(
                self.service,
                f"{self.describe(response)} returned an unreadable JSON body (cut short?) "
                f"(HTTP {response.status_code})",
                status=response.status_code,
            )
        return None


class _CutShort(BadResponse):
    """A JSON body that does not parse: usually a reply cut short, so trying again can help."""

    default_retryable = True
