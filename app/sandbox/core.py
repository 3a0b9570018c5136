"""Pieces every fake service shares: settings, clock, request log, faults,
rate limiters and the threaded HTTP server that hosts one Flask app.

Each service module (``listenbrainz.py`` …) builds its Flask app once per
process (``SharedApp``) and binds it to one sandbox's state object; the
Sandbox wraps that in ``ServiceMiddleware`` (request log + fault injection)
and serves it with ``ServiceServer`` on its own port.
"""

from __future__ import annotations

import io
import json
import random
import socket
import threading
import time
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qs

from flask import request as flask_request
from werkzeug.local import LocalProxy
from werkzeug.serving import WSGIRequestHandler, make_server

# --------------------------------------------------------------------------- settings


@dataclass
class SandboxSettings:
    """Knobs for the fake services. Read live, so changing an attribute on a
    running sandbox (``sb.settings.musicbrainz_rate = 0``) takes effect at once,
    except the two path prefixes, which are fixed when the Sandbox is built.
    A rate (or LB limit) of 0 disables that limiter."""

    # ListenBrainz: fixed window per client IP, like flask-ratelimit in LB.
    listenbrainz_rate_limit: int = 30
    listenbrainz_rate_window: float = 10.0
    # MusicBrainz: 1 request/s per IP on average; ``burst`` is the tolerance
    # (how many requests may arrive back to back before 503s start).
    musicbrainz_rate: float = 1.0
    musicbrainz_burst: int = 2
    musicbrainz_retry_after: int | None = 1
    # Last.fm: error 29 above ~5 requests/s per IP.
    lastfm_rate: float = 5.0
    lastfm_burst: int = 5
    # Subsonic: optional path prefix (Navidrome behind /music → "/music").
    subsonic_prefix: str = ""
    subsonic_scan_seconds: float = 1.0
    # slskd: optional URL base (web.url_base) and simulated durations.
    slskd_url_base: str = ""
    slskd_search_seconds: float = 5.0
    slskd_max_concurrent_searches: int = 2
    slskd_search_start_seconds: float = 0.05
    slskd_enqueue_seconds: float = 0.05
    slskd_queue_seconds: float = 1.0
    slskd_transfer_seconds: float = 2.0
    slskd_slow_factor: float = 5.0
    # slskd: the window over which the sandbox counts search starts (its figures
    # only; the fake does not ban), as Resonance's governor does by default.
    slskd_search_window: float = 220.0
    # Folders shared with an importing Resonance: where the fake slskd writes each
    # file whose transfer succeeds (real audio, see app/sandbox/audio.py), and the
    # library the fake Subsonic server scans ("" = no files written or scanned).
    slskd_downloads_dir: str = ""
    subsonic_library_dir: str = ""
    # Faults: how long a ``timeout`` fault holds a request (longer than any
    # sane client read timeout; released early by ``clear()`` or ``stop()``).
    hang_seconds: float = 120.0

    @classmethod
    def fast(cls, **overrides: Any) -> "SandboxSettings":
        """Short durations and no rate limits: what most tests want."""
        values: dict[str, Any] = dict(
            listenbrainz_rate_limit=0,
            musicbrainz_rate=0,
            lastfm_rate=0,
            subsonic_scan_seconds=0.3,
            slskd_search_seconds=0.6,
            slskd_search_start_seconds=0.0,
            slskd_enqueue_seconds=0.0,
            slskd_queue_seconds=0.1,
            slskd_transfer_seconds=0.1,
            slskd_slow_factor=3.0,
            hang_seconds=10.0,
        )
        values.update(overrides)
        return cls(**values)

    def update(self, **overrides: Any) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown sandbox setting(s): {', '.join(sorted(unknown))}")
        for name, value in overrides.items():
            setattr(self, name, value)


# --------------------------------------------------------------------------- clock


class SystemClock:
    """Wall-clock seconds that never jump backwards (epoch at start + monotonic)."""

    def __init__(self) -> None:
        self._epoch = time.time()
        self._origin = time.monotonic()

    def time(self) -> float:
        return self._epoch + (time.monotonic() - self._origin)


class ManualClock:
    """A clock tests move by hand: ``clock.advance(2.5)``."""

    def __init__(self, start: float = 1_763_640_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def iso_utc(epoch: float, digits: int = 3) -> str:
    """``2025-11-20T18:03:01.512Z`` (digits=3) or ``…:01.512436+00:00`` (digits=6, LB style)."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    if digits == 6:
        return moment.isoformat(timespec="microseconds")
    if digits == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --------------------------------------------------------------------------- request log

LOGGED_HEADERS = ("User-Agent", "Authorization", "X-API-Key", "Content-Type", "Accept")


@dataclass
class RecordedRequest:
    """One request as a service saw it. ``status`` is None while in flight or
    when the connection was dropped by a fault."""

    service: str
    method: str
    path: str
    query: dict[str, str]
    query_all: dict[str, list[str]]
    headers: dict[str, str]
    body: str
    client: str
    time: float
    status: int | None = None
    duration: float | None = None
    fault: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class RequestLog:
    def __init__(self) -> None:
        self._records: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def add(self, record: RecordedRequest) -> None:
        with self._lock:
            self._records.append(record)

    def list(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


# --------------------------------------------------------------------------- faults

_FAULT_NAMES = ("latency", "error", "timeout", "malformed", "refuse", "reset", "reply_lost")

#: Kinds of random fault (``--fault-kinds``), each as a misbehaving upstream shows it:
#: ``500``: HTTP 500 with a proxy's HTML page, nothing done;
#: ``timeout``: the request is held ``hang_seconds``, then the connection closes, nothing done;
#: ``truncated``: the request is done and answered with its status, the body cut in half;
#: ``unreadable201``: a write (POST/PUT/DELETE) is done, the reply is cut off mid-body and the
#: connection closed (the client cannot tell whether it happened); GETs are spared this one;
#: ``reset``: the connection is closed before the request is read any further, nothing done.
FAULT_KINDS = ("500", "timeout", "truncated", "unreadable201", "reset")
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


@dataclass(frozen=True)
class FaultPlan:
    """What to do to one request. ``error`` is an HTTP status; ``error_body``
    overrides the default proxy-style HTML page. ``reset`` closes the connection
    before the app runs; ``reply_lost`` runs the app, then cuts its reply off
    mid-body and closes the connection."""

    latency: float = 0.0
    error: int | None = None
    error_body: str | None = None
    timeout: bool = False
    malformed: bool = False
    refuse: bool = False
    reset: bool = False
    reply_lost: bool = False

    def describe(self) -> str:
        parts = []
        if self.latency:
            parts.append(f"latency={self.latency}")
        if self.error:
            parts.append(f"error={self.error}")
        for flag in ("timeout", "malformed", "refuse", "reset", "reply_lost"):
            if getattr(self, flag):
                parts.append(flag)
        return ",".join(parts)


def plan_for_kind(kind: str) -> FaultPlan:
    """The plan of one random fault kind (see ``FAULT_KINDS``)."""
    plans = {"500": FaultPlan(error=500), "timeout": FaultPlan(timeout=True, reset=True),
             "truncated": FaultPlan(malformed=True), "unreadable201": FaultPlan(reply_lost=True),
             "reset": FaultPlan(reset=True)}
    try:
        return plans[kind]
    except KeyError:
        raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}") from None


def parse_fault_kinds(text: str | None) -> tuple[str, ...]:
    """``"500,timeout"`` → ``("500", "timeout")``; empty or "all" → every kind."""
    if not text or text.strip().lower() == "all":
        return FAULT_KINDS
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in text.split(",") if k.strip()))
    for kind in kinds:
        plan_for_kind(kind)  # raises on an unknown kind
    return kinds


class RandomFaults:
    """A share ``rate`` of requests gets one of ``kinds``, drawn from a seeded RNG
    (the same seed and request order give the same faults)."""

    def __init__(self, rate: float, kinds: tuple[str, ...] = FAULT_KINDS, seed: int | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the fault rate is a share of requests, between 0 and 1")
        for kind in kinds:
            plan_for_kind(kind)
        self.rate, self.kinds = rate, tuple(kinds)
        self._rng = random.Random(seed)

    def draw(self, method: str) -> FaultPlan | None:
        kinds = [k for k in self.kinds if k != "unreadable201" or method in WRITE_METHODS]
        if not kinds or self.rate <= 0:
            return None
        if self._rng.random() >= self.rate:
            return None
        return plan_for_kind(self._rng.choice(kinds))


@dataclass
class _Planned:
    plan: FaultPlan
    remaining: int | None
    method: str | None
    path: str | None
    when: Callable[["RecordedRequest"], bool] | None

    def matches(self, record: "RecordedRequest", path: str) -> bool:
        if self.method is not None and self.method != record.method:
            return False
        if self.path is not None and not (path == self.path or path.startswith(self.path.rstrip("/") + "/")):
            return False
        return self.when is None or bool(self.when(record))


class Faults:
    """Run-time fault switch of one service.

    ``set()`` replaces the current faults, ``add()`` adds one more (the first
    that matches a request applies). ``count=N`` limits a fault to the next N
    requests it matches (refuse ignores it); ``method``, ``path`` (the request
    path or a prefix of it, URL base included) and ``when`` (a test on the
    ``RecordedRequest``, e.g. on its body) limit it to the requests that match.
    ``random()`` gives a share of all requests a random fault (see
    ``FAULT_KINDS``); a planned fault that matches wins over it. ``clear()``
    removes everything and releases requests held by a ``timeout`` fault."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._planned: list[_Planned] = []
        self._random: RandomFaults | None = None
        self._released = threading.Event()
        self._listeners: list[Callable[[bool], None]] = []
        self.injected = 0  # faults applied so far (planned and random)

    def set(self, **kwargs: Any) -> "Faults":
        """Replace the planned faults by this one (see ``add`` for the arguments)."""
        return self._plan(kwargs, replace=True)

    def add(
        self,
        *,
        latency: float = 0.0,
        error: int | None = None,
        error_body: str | None = None,
        timeout: bool = False,
        malformed: bool = False,
        refuse: bool = False,
        reset: bool = False,
        reply_lost: bool = False,
        count: int | None = None,
        method: str | None = None,
        path: str | None = None,
        when: Callable[["RecordedRequest"], bool] | None = None,
    ) -> "Faults":
        """Add a fault to the planned ones."""
        return self._plan(dict(latency=latency, error=error, error_body=error_body, timeout=timeout,
                               malformed=malformed, refuse=refuse, reset=reset, reply_lost=reply_lost, count=count,
                               method=method, path=path, when=when), replace=False)

    def _plan(self, kwargs: dict[str, Any], replace: bool) -> "Faults":
        count, method, path, when = (kwargs.pop(k, None) for k in ("count", "method", "path", "when"))
        plan = FaultPlan(**kwargs)
        with self._lock:
            was_refusing = self._refusing()
            if replace:
                self._planned = []
                self._released.set()  # requests held by the previous faults go on
                self._released = threading.Event()
            if plan.describe():
                self._planned.append(_Planned(plan, count, method.upper() if method else None, path, when))
            refusing = self._refusing()
        if was_refusing != refusing:
            self._notify(refusing)
        return self

    def _refusing(self) -> bool:
        return any(p.plan.refuse for p in self._planned)

    def random(self, rate: float, kinds: tuple[str, ...] | str | None = None, seed: int | None = None) -> "Faults":
        """Give a share ``rate`` (0..1) of the requests a random fault of ``kinds``; rate 0 switches it off."""
        kinds = parse_fault_kinds(kinds) if kinds is None or isinstance(kinds, str) else tuple(kinds)
        with self._lock:
            self._random = RandomFaults(rate, kinds, seed) if rate > 0 else None
        return self

    def clear(self) -> None:
        with self._lock:
            was_refusing = self._refusing()
            self._planned = []
            self._random = None
            self._released.set()
        if was_refusing:
            self._notify(False)

    def applied(self, **kwargs: Any) -> "_AppliedFaults":
        """``with sb.faults("lastfm").applied(error=500): …`` — cleared on exit."""
        return _AppliedFaults(self, kwargs)

    @property
    def active(self) -> FaultPlan | None:
        with self._lock:
            return self._planned[0].plan if self._planned else None

    def take(self, record: "RecordedRequest", path: str = "") -> tuple[FaultPlan | None, threading.Event]:
        """The plan for the request arriving now (counting it against its fault's ``count``)."""
        with self._lock:
            released = self._released
            plan = None
            for planned in self._planned:
                if not planned.matches(record, path or record.path):
                    continue
                plan = planned.plan
                if planned.remaining is not None:
                    planned.remaining -= 1
                    if planned.remaining <= 0:
                        self._planned.remove(planned)
                break
            if plan is None and self._random is not None:
                plan = self._random.draw(record.method)
            if plan is not None:
                self.injected += 1
        return plan, released

    def on_refuse_change(self, listener: Callable[[bool], None]) -> None:
        self._listeners.append(listener)

    def _notify(self, refusing: bool) -> None:
        for listener in self._listeners:
            listener(refusing)


class _AppliedFaults:
    def __init__(self, faults: Faults, kwargs: dict[str, Any]) -> None:
        self._faults, self._kwargs = faults, kwargs

    def __enter__(self) -> Faults:
        return self._faults.set(**self._kwargs)

    def __exit__(self, *exc: object) -> None:
        self._faults.clear()


# --------------------------------------------------------------------------- rate limiters


class LeakyBucket:
    """Per-key GCRA limiter: ``rate`` requests/s on average, at most ``burst``
    back to back. Refused requests do not count (like nginx limit_req)."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._next_free: dict[str, float] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, rate: float, burst: int) -> bool:
        if rate <= 0:
            return True
        interval = 1.0 / rate
        tolerance = max(burst - 1, 0) * interval
        now = self._clock.time()
        with self._lock:
            theoretical = max(self._next_free.get(key, now), now)
            if theoretical - now > tolerance + 1e-5:  # slack for float error at epoch scale
                return False
            self._next_free[key] = theoretical + interval
            return True


@dataclass
class WindowVerdict:
    allowed: bool
    limit: int
    remaining: int
    reset_in: int
    reset_at: int


class FixedWindow:
    """Per-key counter in fixed windows aligned to the epoch, as ListenBrainz does."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: float) -> WindowVerdict:
        now = self._clock.time()
        window_index = int(now // window)
        reset_at = (window_index + 1) * window
        with self._lock:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window_index}
            used = self._counts.get((key, window_index), 0)
            allowed = used < limit
            if allowed:
                used += 1
                self._counts[(key, window_index)] = used
        return WindowVerdict(allowed, limit, max(limit - used, 0), max(int(reset_at - now + 0.999), 1), int(reset_at))


# --------------------------------------------------------------------------- WSGI wrapper

_PROXY_PAGE = (
    "<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n"
    "<center><h1>{status}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
            504: "Gateway Time-out", 429: "Too Many Requests", 403: "Forbidden", 404: "Not Found"}


class ServiceMiddleware:
    """Records every request and applies the service's faults around the app."""

    def __init__(self, name: str, app: Callable, log: RequestLog, faults: Faults,
                 clock: Any, settings: SandboxSettings, stopping: threading.Event) -> None:
        self.name, self.app, self.log, self.faults = name, app, log, faults
        self.clock, self.settings, self.stopping = clock, settings, stopping

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        record = self._begin(environ)
        started = time.monotonic()
        plan, released = self.faults.take(record)
        try:
            if plan is not None:
                record.fault = plan.describe()
                if plan.refuse:
                    # A keep-alive connection opened before the refusal: drop it.
                    _drop_connection(environ)
                    start_response("503 Service Unavailable", [("Content-Length", "0")])
                    return []
                if plan.latency:
                    self.stopping.wait(plan.latency)
                if plan.timeout:
                    _wait_any(released, self.stopping, self.settings.hang_seconds)
                if plan.reset:
                    # Nothing done, no answer: the client sees the connection close.
                    _drop_connection(environ)
                    start_response("500 Internal Server Error", [("Content-Length", "0")])
                    return []
                if plan.error:
                    status, headers, body = _error_response(plan)
                    record.status = plan.error
                    start_response(status, headers)
                    return [body]
            status, headers, body = _run_app(self.app, environ)
            if plan is not None and plan.malformed and body:
                body = body[: max(len(body) // 2, 1)]
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(body))))
            record.status = int(status.split(" ", 1)[0])
            if plan is not None and plan.reply_lost:
                # Done, but the reply stops mid-body: the announced length never arrives.
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(body) + 64)))
                start_response(status, headers)
                return _cut_off(body[: len(body) // 2], environ)
            start_response(status, headers)
            return [body]
        finally:
            record.duration = time.monotonic() - started

    def _begin(self, environ: dict) -> RecordedRequest:
        body = b""
        length = environ.get("CONTENT_LENGTH")
        if length and length.isdigit() and int(length) > 0:
            body = environ["wsgi.input"].read(int(length))
            environ["wsgi.input"] = io.BytesIO(body)
        query_all = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        headers = {}
        for name in LOGGED_HEADERS:
            value = environ.get("HTTP_" + name.upper().replace("-", "_"))
            if name == "Content-Type":
                value = environ.get("CONTENT_TYPE") or None
            if value is not None:
                headers[name] = value
        record = RecordedRequest(
            service=self.name,
            method=environ.get("REQUEST_METHOD", "GET"),
            path=_decoded_path(environ),
            query={k: v[0] for k, v in query_all.items()},
            query_all=query_all,
            headers=headers,
            body=body.decode("utf-8", "replace"),
            client=environ.get("REMOTE_ADDR", ""),
            time=self.clock.time(),
        )
        self.log.add(record)
        return record


def _decoded_path(environ: dict) -> str:
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    # PEP 3333 hands PATH_INFO over as latin-1 decoded bytes.
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw


def _cut_off(part: bytes, environ: dict) -> Any:
    """Yield ``part``, then close the connection under the client's feet."""
    if part:
        yield part
    _drop_connection(environ)


def _run_app(app: Callable, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
        captured["status"], captured["headers"] = status, list(headers)
        return lambda data: None

    chunks = app(environ, capture)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return captured["status"], captured["headers"], body


def _error_response(plan: FaultPlan) -> tuple[str, list[tuple[str, str]], bytes]:
    code = int(plan.error or 500)
    reason = _REASONS.get(code, "Error")
    if plan.error_body is not None:
        body = plan.error_body.encode("utf-8")
        looks_like_json = plan.error_body.lstrip().startswith(("{", "[", '"'))
        content_type = "application/json" if looks_like_json else "text/plain; charset=utf-8"
    else:
        body = _PROXY_PAGE.format(status=f"{code} {reason}").encode("ascii")
        content_type = "text/html"
    return f"{code} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body)))], body


def _wait_any(first: threading.Event, second: threading.Event, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not first.is_set() and not second.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        first.wait(min(remaining, 0.05))


def _drop_connection(environ: dict) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


# --------------------------------------------------------------------------- server


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr; remembers its connection so the server can cut it."""

    def setup(self) -> None:
        super().setup()
        self.server.open_connections_add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.open_connections_discard(self.connection)

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_error(self, *args: Any) -> None:
        pass

    def log_message(self, *args: Any) -> None:
        pass


class ServiceServer:
    """One fake service on one port, served by werkzeug on a background thread.

    ``refuse()`` closes the listening socket and every open connection (clients
    then get "connection refused"); ``resume()`` listens on the same port again."""

    def __init__(self, name: str, wsgi_app: Callable, host: str, port: int) -> None:
        self.name = name
        self.host = host
        self.port = port
        self._app = wsgi_app
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            server = make_server(self.host, self.port, self._app, threaded=True, request_handler=_QuietHandler)
            _track_connections(server)
            self.port = server.server_port
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"sandbox-{self.name}", daemon=True)
            thread.start()
            self._server, self._thread = server, thread

    def stop(self) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_open_connections()
        if thread is not None:
            thread.join(timeout=5)
        server.wait_for_connections(timeout=5)

    refuse = stop
    resume = start


def _track_connections(server: Any) -> None:
    lock = threading.Lock()
    open_connections: set[socket.socket] = set()
    drained = threading.Condition(lock)

    def add(conn: socket.socket) -> None:
        with lock:
            open_connections.add(conn)

    def discard(conn: socket.socket) -> None:
        with lock:
            open_connections.discard(conn)
            drained.notify_all()

    def close_all() -> None:
        with lock:
            connections = list(open_connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def wait(timeout: float) -> None:
        with lock:
            drained.wait_for(lambda: not open_connections, timeout=timeout)

    server.open_connections_add = add
    server.open_connections_discard = discard
    server.close_open_connections = close_all
    server.wait_for_connections = wait


# --------------------------------------------------------------------------- shared Flask apps

STATE_KEY = "sandbox.state"


class SharedApp:
    """One Flask app per service per process, bound to each sandbox's state per request.

    Building the apps is the slow part of starting a sandbox (werkzeug compiles
    every route), and tests start one sandbox per test."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._app: Any = None
        self._lock = threading.Lock()

    def bind(self, state: Any) -> Callable:
        with self._lock:
            if self._app is None:
                self._app = self._build()
        app = self._app

        def bound(environ: dict, start_response: Callable) -> Any:
            environ[STATE_KEY] = state
            return app(environ, start_response)

        return bound


def current_state() -> Any:
    """The state of the sandbox serving the current request."""
    return flask_request.environ[STATE_KEY]


def state_proxy() -> Any:
    return LocalProxy(current_state)


def catalogue_proxy() -> Any:
    return LocalProxy(lambda: current_state().catalogue)


class PathPrefix:
    """Serves an app under a URL prefix (Navidrome at /music, slskd's url_base)."""

    def __init__(self, app: Callable, prefix: str) -> None:
        self.app, self.prefix = app, prefix.rstrip("/")

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if not self.prefix:
            return self.app(environ, start_response)
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
            environ["PATH_INFO"] = path[len(self.prefix):]
            return self.app(environ, start_response)
        body = b"404 page not found\n"
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]


# --------------------------------------------------------------------------- small helpers


def json_body(data: Any) -> bytes:
    """Compact UTF-8 JSON as the real services send it (no ASCII escaping)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def client_ip(request: Any) -> str:
    return request.remote_addr or "unknown"
