"""slskd REST API (v0) client: searches, enqueueing downloads, transfer states.

Error bodies are JSON strings; 401 (empty body) means a wrong API key. Flag
enums arrive as comma-separated names (``"Completed, Succeeded"``);
``searchTimeout`` is in **milliseconds**. Search responses exist only once a
search is complete: poll ``search(id)`` (or ``wait_for_search``) first.

The two requests that act (starting a search, enqueueing files) are sent
once, never retried here: a reply that was lost does not mean slskd did
nothing, and a second search or enqueue is what the limits and the peers
punish. Their errors carry ``maybe_done``: True when slskd may have done it
(the reply was lost or unreadable), so the caller looks (``search(id)``,
``user_downloads``) before doing anything again.
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from app.clients.http import (
    NO_RETRY,
    AuthError,
    BadResponse,
    HttpClient,
    NotFound,
    RateLimited,
    RetryPolicy,
    Unavailable,
    UpstreamError,
    as_float,
    as_int,
    as_str,
    error_detail,
    parse_datetime,
)

SERVICE = "slskd"
DEFAULT_BASE_URL = "http://localhost:5030"
DEFAULT_TIMEOUT = (5.0, 300.0)  # enqueue waits for the peer, sometimes minutes


class PeerOffline(UpstreamError):
    """The Soulseek peer is offline or unreachable: try another candidate."""


class NotConnected(UpstreamError):
    """slskd is not connected/logged in to the Soulseek server (409)."""

    default_retryable = True


# --------------------------------------------------------------------------- parsing helpers

_TIMESPAN_RE = re.compile(r"^(-)?(?:(\d+)\.)?(\d+):(\d{2}):(\d{2})(?:\.(\d+))?$")


def parse_timespan(value: Any) -> timedelta | None:
    """.NET ``TimeSpan`` (``"hh:mm:ss.fffffff"``, ``"d.hh:mm:ss"``) → ``timedelta``."""
    if not isinstance(value, str):
        return None
    match = _TIMESPAN_RE.match(value.strip())
    if not match:
        return None
    sign, days, hours, minutes, seconds, fraction = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    delta = timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=int(seconds),
                      microseconds=micro)
    return -delta if sign else delta


def parse_flags(value: Any) -> frozenset[str]:
    """Flag-enum string ``"Completed, Succeeded"`` → ``{"Completed", "Succeeded"}``."""
    if not isinstance(value, str):
        return frozenset()
    return frozenset(part.strip() for part in value.split(",") if part.strip())


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class ServerState:
    """Soulseek server connection as slskd sees it; ``ready`` ⇔ connected and logged in."""

    state: str | None
    is_connected: bool
    is_logged_in: bool
    address: str | None = None

    @property
    def ready(self) -> bool:
        return self.is_connected and self.is_logged_in


@dataclass(frozen=True, slots=True)
class ApplicationState:
    """The parts of ``GET /application`` Resonance uses."""

    version: str | None
    server: ServerState
    username: str | None = None
    shares_ready: bool | None = None


@dataclass(frozen=True, slots=True)
class SearchState:
    """A search without its responses."""

    id: str
    search_text: str | None
    state: str | None
    is_complete: bool
    response_count: int = 0
    file_count: int = 0
    locked_file_count: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def flags(self) -> frozenset[str]:
        return parse_flags(self.state)


@dataclass(frozen=True, slots=True)
class SearchFile:
    """A file in a search response; ``filename`` is the peer's exact path (send it back unchanged)."""

    filename: str
    size: int
    extension: str | None = None
    bit_rate: int | None = None
    bit_depth: int | None = None
    sample_rate: int | None = None
    length: int | None = None
    is_variable_bit_rate: bool | None = None
    locked: bool = False

    @property
    def directory(self) -> str:
        """Everything before the last backslash."""
        return self.filename.rsplit("\\", 1)[0] if "\\" in self.filename else ""

    @property
    def basename(self) -> str:
        return self.filename.rsplit("\\", 1)[-1]


@dataclass(frozen=True, slots=True)
class SearchResponse:
    """One peer's answer to a search; ``locked_files`` are not downloadable without privileges."""

    username: str
    has_free_upload_slot: bool
    upload_speed: int
    queue_length: int
    files: tuple[SearchFile, ...]
    locked_files: tuple[SearchFile, ...] = ()


@dataclass(frozen=True, slots=True)
class Transfer:
    """A download; ``is_complete``/``succeeded``/``failed`` derived from the flag-enum ``state``."""

    id: str
    username: str
    filename: str
    size: int
    state: str
    direction: str | None = None
    bytes_transferred: int = 0
    bytes_remaining: int | None = None
    percent_complete: float = 0.0
    average_speed: float = 0.0
    requested_at: datetime | None = None
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    elapsed: timedelta | None = None
    remaining: timedelta | None = None
    place_in_queue: int | None = None
    exception: str | None = None
    is_complete: bool = field(init=False)
    succeeded: bool = field(init=False)
    failed: bool = field(init=False)

    def __post_init__(self) -> None:
        flags = parse_flags(self.state)
        complete = "Completed" in flags
        object.__setattr__(self, "is_complete", complete)
        object.__setattr__(self, "succeeded", complete and "Succeeded" in flags)
        object.__setattr__(self, "failed", complete and "Succeeded" not in flags)

    @property
    def flags(self) -> frozenset[str]:
        return parse_flags(self.state)


@dataclass(frozen=True, slots=True)
class EnqueueFailure:
    """A file slskd did not queue (often: already queued)."""

    filename: str
    message: str | None = None


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    """Enqueue outcome; ``detailed`` is False for slskd ≤ 0.23 (empty 201: all accepted)."""

    enqueued: tuple[Transfer, ...] = ()
    failed: tuple[EnqueueFailure, ...] = ()
    detailed: bool = False


# --------------------------------------------------------------------------- client


class SlskdClient:
    """Client for one slskd instance."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        url_base: str = "/",
        *,
        http: HttpClient | None = None,
        session: requests.Session | None = None,
        contact: str | None = None,
        timeout: tuple[float, float] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        prefix = (url_base or "/").strip().strip("/")
        self.base_url = base_url.strip().rstrip("/")
        self.api_root = f"{self.base_url}/{prefix}/api/v0" if prefix else f"{self.base_url}/api/v0"
        self.http = http or HttpClient(
            SERVICE, session=session, contact=contact, timeout=timeout or DEFAULT_TIMEOUT, retry=retry, sleep=sleep
        )
        self.http.add_secret(api_key)
        self._headers = {"X-API-Key": api_key} if api_key else {}
        # Same session, timeouts and secrets; a single attempt (see the module's docstring).
        self.http_once = copy.copy(self.http)
        self.http_once.retry = NO_RETRY

    def __repr__(self) -> str:
        return f"SlskdClient({self.api_root!r})"

    # -- plumbing ---------------------------------------------------------------------

    def _check(self, response: requests.Response) -> UpstreamError | None:
        status = response.status_code
        if status < 400:
            return None
        detail = error_detail(response)
        where = self.http.describe(response)
        if status == 401:
            return AuthError(SERVICE, "slskd rejected the API key", status=status)
        if status == 403:
            return AuthError(SERVICE, f"slskd refused access ({where}): {detail or 'forbidden'}", status=status)
        if status == 404:
            return NotFound(SERVICE, f"{where}: not found" + (f" ({self.http.scrub(detail)})" if detail else ""),
                            status=status)
        if status == 409:
            return NotConnected(
                SERVICE,
                "Soulseek not connected: slskd must be connected and logged in to the Soulseek server"
                + (f" ({self.http.scrub(detail)})" if detail else ""),
                status=status,
            )
        if status == 429:
            return RateLimited(SERVICE, f"{where}: too many concurrent requests" +
                               (f" ({self.http.scrub(detail)})" if detail else ""),
                               status=status, retry_after=self.http.retry_after(response))
        if status == 500 and detail and ("appears to be offline" in detail
                                         or "Failed to retrieve endpoint" in detail):
            return PeerOffline(SERVICE, f"{where}: {self.http.scrub(detail)}", status=status)
        if status == 500 and detail and "before it is complete" in detail:
            # An answer about the transfer's state (older slskd), not a fault: asking again at once changes nothing.
            return Unavailable(SERVICE, f"{where} failed with HTTP 500: {self.http.scrub(detail)}", status=status,
                               retryable=False)
        if status >= 500:
            return Unavailable(SERVICE, f"{where} failed with HTTP {status}" +
                               (f": {self.http.scrub(detail)}" if detail else ""),
                               status=status, retry_after=self.http.retry_after(response))
        return self.http.status_error(response, detail)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.api_root}/{path.lstrip('/')}", headers=self._headers,
                                 check=self._check, **kwargs)

    def _json(self, method: str, path: str, **kwargs: Any) -> tuple[Any, requests.Response]:
        response = self._request(method, path, **kwargs)
        return self.http.json(response), response

    def _act(self, path: str, body: Any) -> requests.Response:
        """POST an action; an error says whether slskd may have done it (``maybe_done``).

        Sent again only when slskd surely did nothing: its 429 ("one concurrent
        operation") or a connection that never opened, with the client's backoff."""
        policy, waited, attempt = self.http.retry, 0.0, 0
        while True:
            attempt += 1
            try:
                return self.http_once.request("POST", f"{self.api_root}/{path.lstrip('/')}", headers=self._headers,
                                              check=self._check, json=body)
            except UpstreamError as exc:
                mark_maybe_done(exc)
                surely_not_done = isinstance(exc, RateLimited) or (exc.status is None and not exc.maybe_done)
                if not surely_not_done or attempt >= policy.max_attempts:
                    raise
                delay = exc.retry_after if exc.retry_after is not None else policy.backoff(attempt, self.http.rand())
                if waited + delay > policy.max_total_wait:
                    raise
                self.http.sleep(delay)
                waited += delay

    # -- health -----------------------------------------------------------------------

    def application(self) -> ApplicationState:
        """Version, Soulseek connection and share state."""
        data, response = self._json("GET", "application")
        if not isinstance(data, dict):
            raise self.http.bad_shape(response, "application is not an object")
        version = data.get("version") if isinstance(data.get("version"), dict) else {}
        user = data.get("user") if isinstance(data.get("user"), dict) else {}
        shares = data.get("shares") if isinstance(data.get("shares"), dict) else {}
        return ApplicationState(
            version=as_str(version.get("current")) or as_str(version.get("full")),
            server=_server_state(data.get("server")),
            username=as_str(user.get("username")),
            shares_ready=shares.get("ready") if isinstance(shares.get("ready"), bool) else None,
        )

    def server_state(self) -> ServerState:
        """Soulseek server connection (``.ready`` = isConnected and isLoggedIn)."""
        data, response = self._json("GET", "server")
        if not isinstance(data, dict):
            raise self.http.bad_shape(response, "server is not an object")
        return _server_state(data)

    def soulseek_ready(self) -> bool:
        """True when slskd is connected and logged in to Soulseek."""
        return self.server_state().ready

    def version(self) -> str:
        """slskd version string, e.g. ``"0.24.1"``."""
        data, response = self._json("GET", "application/version")
        if isinstance(data, str):
            return data
        if isinstance(data, dict) and as_str(data.get("current")):
            return data["current"]
        raise self.http.bad_shape(response, "version is not a string")

    def check_session(self) -> bool:
        """True when the API key is accepted; raises ``AuthError`` otherwise."""
        self._request("GET", "session")
        return True

    # -- searches -----------------------------------------------------------------------

    def start_search(
        self,
        text: str,
        search_timeout_ms: int = 15000,
        response_limit: int = 100,
        file_limit: int = 10000,
        id: str | None = None,
        **options: Any,
    ) -> SearchState:
        """Start a search. ``search_timeout_ms`` is milliseconds of inactivity (do not pass seconds).

        Extra camelCase ``options`` (``filterResponses``, ``minimumResponseFileCount``…) are sent as is.
        Raises ``NotConnected`` on 409 and ``RateLimited`` when another start is in flight.
        """
        search_id = id or str(uuid.uuid4())
        body = {
            "id": search_id,
            "searchText": text,
            "searchTimeout": int(search_timeout_ms),
            "responseLimit": int(response_limit),
            "fileLimit": int(file_limit),
            **options,
        }
        response = self._act("searches", body)
        try:
            state = _search_state(self.http.json(response))
            if state is None:
                raise self.http.bad_shape(response, "search without 'id'")
        except UpstreamError as exc:
            exc.maybe_done = True  # slskd answered 2xx: the search runs, whatever the body says
            raise
        return state

    def search(self, id: str) -> SearchState:
        """Current state of a search (``NotFound`` if unknown)."""
        data, response = self._json("GET", f"searches/{quote(id, safe='')}")
        state = _search_state(data)
        if state is None:
            raise self.http.bad_shape(response, "search without 'id'")
        return state

    def wait_for_search(
        self,
        id: str,
        poll_interval: float = 2.0,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> SearchState:
        """Poll until ``isComplete``; after ``max_wait`` seconds returns the last (incomplete) state."""
        sleep = sleep or self.http.sleep
        start = clock()
        waited = 0.0
        while True:
            state = self.search(id)
            if state.is_complete:
                return state
            elapsed = max(clock() - start, waited)
            if elapsed >= max_wait:
                return state
            pause = min(poll_interval, max_wait - elapsed)
            sleep(pause)
            waited += pause

    def search_responses(self, id: str) -> list[SearchResponse]:
        """Responses of a **completed** search (slskd returns ``[]`` until then)."""
        data, response = self._json("GET", f"searches/{quote(id, safe='')}/responses")
        if not isinstance(data, list):
            raise self.http.bad_shape(response, "responses is not a list")
        return [r for r in map(_search_response, data) if r is not None]

    def cancel_search(self, id: str) -> None:
        """Stop a running search (it ends as ``Completed, Cancelled``)."""
        self._request("PUT", f"searches/{quote(id, safe='')}")

    def delete_search(self, id: str) -> bool:
        """Delete a search; False if it was already gone."""
        try:
            self._request("DELETE", f"searches/{quote(id, safe='')}")
        except NotFound:
            return False
        return True

    # -- downloads -------------------------------------------------------------------------

    def enqueue(self, username: str, files: Iterable[SearchFile | Mapping[str, Any] | tuple[str, int]]) -> EnqueueResult:
        """Queue files from ``username``; filenames are sent back byte-for-byte.

        Raises ``PeerOffline`` when the peer left, ``RateLimited`` when two
        enqueues are already in flight.
        """
        body = [_file_ref(f) for f in files]
        if not body:
            raise ValueError("at least one file is required")
        response = self._act(f"transfers/downloads/{quote(username, safe='')}", body)
        try:
            data = self.http.json(response, allow_empty=True)
            if data is not None and not isinstance(data, dict):
                raise self.http.bad_shape(response, "enqueue result is not an object")
        except UpstreamError as exc:
            exc.maybe_done = True  # slskd answered 2xx: the files are queued, whatever the body says
            raise
        if data is None:
            return EnqueueResult(detailed=False)
        enqueued = tuple(t for t in map(_transfer, _list(data.get("enqueued"))) if t is not None)
        failed = []
        for item in _list(data.get("failed")):
            if isinstance(item, str):
                failed.append(EnqueueFailure(item))
            elif isinstance(item, dict):
                name = as_str(item.get("filename")) or as_str(item.get("file")) or as_str(item.get("name")) or ""
                message = as_str(item.get("message")) or as_str(item.get("reason")) or as_str(item.get("error"))
                failed.append(EnqueueFailure(name, message))
        return EnqueueResult(enqueued, tuple(failed), detailed=True)

    def downloads(self, include_removed: bool = False) -> list[Transfer]:
        """All downloads of all users as a flat list."""
        params = {"includeRemoved": "true"} if include_removed else None
        data, response = self._json("GET", "transfers/downloads", params=params)
        if not isinstance(data, list):
            raise self.http.bad_shape(response, "downloads is not a list")
        return [t for user in data for t in _user_transfers(user)]

    def user_downloads(self, username: str) -> list[Transfer]:
        """Downloads from one user; ``[]`` when slskd has none (404)."""
        try:
            data, _ = self._json("GET", f"transfers/downloads/{quote(username, safe='')}")
        except NotFound:
            return []
        return _user_transfers(data)

    def cancel_download(self, username: str, id: str) -> None:
        """Cancel a transfer (it later shows ``Completed, Cancelled``); unknown ids are ignored."""
        try:
            self._request("DELETE", f"transfers/downloads/{quote(username, safe='')}/{quote(id, safe='')}")
        except NotFound:
            pass

    def remove_download(self, username: str, id: str) -> None:
        """Remove a *completed* transfer's record (cancel and wait for ``Completed`` first)."""
        try:
            self._request("DELETE", f"transfers/downloads/{quote(username, safe='')}/{quote(id, safe='')}",
                          params={"remove": "true"})
        except NotFound:
            pass


# --------------------------------------------------------------------------- lost replies


_NEVER_SENT = ("connection refused", "unknown host name", "could not be resolved", "no route to host",
               "network unreachable")


def mark_maybe_done(exc: UpstreamError) -> UpstreamError:
    """Set ``exc.maybe_done`` unless the HTTP layer did: whether the failed action may have happened.

    A refusal (4xx, an offline peer) or a connection that never opened means
    "not done"; a lost, cut or unreadable reply, a 5xx (from slskd or a proxy in
    front of it) or a timeout means "maybe"."""
    if isinstance(exc, PeerOffline):
        exc.maybe_done = False  # slskd's own answer: the peer refused, nothing was queued
        return exc
    if getattr(exc, "maybe_done", None) is not None:
        return exc
    if isinstance(exc, BadResponse):
        maybe = True
    elif exc.status is None:
        maybe = not any(marker in exc.message for marker in _NEVER_SENT)
    else:
        maybe = exc.status >= 500 and not isinstance(exc, PeerOffline)
    exc.maybe_done = maybe
    return exc


# --------------------------------------------------------------------------- parsing


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _server_state(data: Any) -> ServerState:
    data = data if isinstance(data, dict) else {}
    flags = parse_flags(data.get("state"))
    connected = data.get("isConnected")
    logged_in = data.get("isLoggedIn")
    return ServerState(
        state=as_str(data.get("state")),
        is_connected=_bool(connected) if connected is not None else "Connected" in flags,
        is_logged_in=_bool(logged_in) if logged_in is not None else "LoggedIn" in flags,
        address=as_str(data.get("address")),
    )


def _search_state(data: Any) -> SearchState | None:
    if not isinstance(data, dict) or not as_str(data.get("id")):
        return None
    state = as_str(data.get("state"))
    complete = data.get("isComplete")
    return SearchState(
        id=data["id"],
        search_text=as_str(data.get("searchText")),
        state=state,
        is_complete=_bool(complete) if complete is not None else "Completed" in parse_flags(state),
        response_count=as_int(data.get("responseCount")) or 0,
        file_count=as_int(data.get("fileCount")) or 0,
        locked_file_count=as_int(data.get("lockedFileCount")) or 0,
        started_at=parse_datetime(data.get("startedAt")),
        ended_at=parse_datetime(data.get("endedAt")),
    )


def _search_file(row: Any, locked: bool) -> SearchFile | None:
    if not isinstance(row, dict) or not isinstance(row.get("filename"), str) or not row["filename"]:
        return None
    vbr = row.get("isVariableBitRate")
    return SearchFile(
        filename=row["filename"],
        size=as_int(row.get("size")) or 0,
        extension=as_str(row.get("extension")),
        bit_rate=as_int(row.get("bitRate")),
        bit_depth=as_int(row.get("bitDepth")),
        sample_rate=as_int(row.get("sampleRate")),
        length=as_int(row.get("length")),
        is_variable_bit_rate=vbr if isinstance(vbr, bool) else None,
        locked=locked,
    )


def _search_response(row: Any) -> SearchResponse | None:
    if not isinstance(row, dict) or not as_str(row.get("username")):
        return None
    return SearchResponse(
        username=row["username"],
        has_free_upload_slot=_bool(row.get("hasFreeUploadSlot")),
        upload_speed=as_int(row.get("uploadSpeed")) or 0,
        queue_length=as_int(row.get("queueLength")) or 0,
        files=tuple(f for f in (_search_file(r, False) for r in _list(row.get("files"))) if f),
        locked_files=tuple(f for f in (_search_file(r, True) for r in _list(row.get("lockedFiles"))) if f),
    )


def _transfer(row: Any) -> Transfer | None:
    if not isinstance(row, dict) or not as_str(row.get("id")) or not isinstance(row.get("filename"), str):
        return None
    return Transfer(
        id=row["id"],
        username=as_str(row.get("username")) or "",
        filename=row["filename"],
        size=as_int(row.get("size")) or 0,
        state=as_str(row.get("state")) or "",
        direction=as_str(row.get("direction")),
        bytes_transferred=as_int(row.get("bytesTransferred")) or 0,
        bytes_remaining=as_int(row.get("bytesRemaining")),
        percent_complete=as_float(row.get("percentComplete")) or 0.0,
        average_speed=as_float(row.get("averageSpeed")) or 0.0,
        requested_at=parse_datetime(row.get("requestedAt")),
        enqueued_at=parse_datetime(row.get("enqueuedAt")),
        started_at=parse_datetime(row.get("startedAt")),
        ended_at=parse_datetime(row.get("endedAt")),
        elapsed=parse_timespan(row.get("elapsedTime")),
        remaining=parse_timespan(row.get("remainingTime")),
        place_in_queue=as_int(row.get("placeInQueue")),
        exception=as_str(row.get("exception")),
    )


def _user_transfers(user: Any) -> list[Transfer]:
    if not isinstance(user, dict):
        return []
    username = as_str(user.get("username")) or ""
    result = []
    for directory in _list(user.get("directories")):
        if not isinstance(directory, dict):
            continue
        for row in _list(directory.get("files")):
            transfer = _transfer(row)
            if transfer is not None:
                if not transfer.username and username:
                    transfer = _with_username(transfer, username)
                result.append(transfer)
    return result


def _with_username(transfer: Transfer, username: str) -> Transfer:
    return replace(transfer, username=username)


def _file_ref(item: SearchFile | Mapping[str, Any] | tuple[str, int]) -> dict[str, Any]:
    if isinstance(item, SearchFile):
        return {"filename": item.filename, "size": item.size}
    if isinstance(item, Mapping):
        return {"filename": item["filename"], "size": int(item.get("size") or 0)}
    filename, size = item
    return {"filename": filename, "size": int(size)}
