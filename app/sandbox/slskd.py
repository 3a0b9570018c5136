"""Fake slskd (REST API v0, shaped like slskd 0.25) over a made-up Soulseek network.

Searches run in simulated time: responses arrive while the search is
``InProgress`` and are readable once it reaches ``Completed, TimedOut``.
Downloads queue remotely, then each peer uploads its files one at a time
(one upload slot per peer, as most Soulseek clients give), with a
per-user behaviour from the catalogue: normal, slow, stalls, rejects,
errors, remote_queue (never leaves the peer's queue) or offline (enqueue
fails). State is advanced lazily on every request from the injected clock.

JSON follows ASP.NET conventions: camelCase, null properties omitted,
flag enums as ``"Completed, Succeeded"``, error bodies as JSON strings."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from flask import Flask, Response, request

from app.sandbox.audio import write_track
from app.sandbox.catalogue import (
    BEHAVIOURS,
    Catalogue,
    SharedFile,
    SoulseekUser,
    stable_fraction,
    words,
)
from app.sandbox.core import (
    SandboxSettings,
    SharedApp,
    catalogue_proxy,
    iso_utc,
    json_body,
    state_proxy,
)

VERSION = "0.25.1"
SEARCH_START_BUSY = "Only one concurrent operation is permitted. Wait until the previous request completes"
NOT_CONNECTED = "The server connection must be connected and logged in to perform a search (currently: {state})"
NO_TERMS = "Search query must contain at least one non-exclusion term with length greater than 1"
BLANK_TEXT = "The field SearchText can not be null, empty, or consist of only whitespace"
CANCELLED_TEXT = "The operation was canceled."
REJECTED_TEXT = "Transfer rejected: File not shared."
ERRORED_TEXT = "Remote connection closed"
MAX_CONCURRENT_ENQUEUES = 2
STALL_FRACTION = 0.12  # a stalling peer sends this much of the file, then nothing
ERROR_FRACTION = 0.4  # an erroring peer drops the connection here


# --------------------------------------------------------------------------- searches


@dataclass(eq=False)
class PlannedResponse:
    offset: float  # seconds after the search started
    body: dict[str, Any]


@dataclass(eq=False)
class Search:
    id: str
    text: str
    token: int
    created_at: float
    duration: float
    planned: list[PlannedResponse]
    response_limit: int
    file_limit: int
    started_at: float | None = None
    ended_at: float | None = None
    end_state: str = "Completed, TimedOut"
    planned_end: float | None = None
    state: str = "Queued"

    @property
    def is_complete(self) -> bool:
        return self.state.startswith("Completed")

    def arrived(self, now: float) -> list[PlannedResponse]:
        if self.started_at is None:
            return []
        horizon = min(now, self.ended_at) if self.ended_at is not None else now
        return [p for p in self.planned if self.started_at + p.offset <= horizon]

    def start(self, at: float) -> None:
        """Fix when and how the search will end (limits can end it early)."""
        self.started_at, self.state = at, "InProgress"
        self.planned_end, self.end_state = at + self.duration, "Completed, TimedOut"
        responses = files = 0
        for p in sorted(self.planned, key=lambda p: p.offset):
            responses += 1
            files += p.body["fileCount"] + p.body["lockedFileCount"]
            if responses >= self.response_limit:
                self.planned_end, self.end_state = at + p.offset, "Completed, ResponseLimitReached"
                break
            if files >= self.file_limit:
                self.planned_end, self.end_state = at + p.offset, "Completed, FileLimitReached"
                break


# --------------------------------------------------------------------------- transfers


@dataclass(eq=False)
class Transfer:
    id: str
    username: str
    filename: str
    size: int
    requested_at: float
    sequence: int
    state: str = "Queued, Remotely"
    started_at: float | None = None
    ended_at: float | None = None
    duration: float = 0.0
    cap: float = 1.0  # share of the file that will ever arrive
    final_state: str = "Completed, Succeeded"
    final_exception: str | None = None
    exception: str | None = None
    bytes_done: int = 0  # frozen byte count once completed
    removed: bool = False

    @property
    def is_complete(self) -> bool:
        return self.state.startswith("Completed")

    @property
    def finishes_at(self) -> float | None:
        if self.started_at is None or self.final_state == "InProgress":
            return None  # not started, or a stall that never ends
        return self.started_at + self.duration * self.cap

    def bytes_at(self, now: float) -> int:
        if self.is_complete:
            return self.bytes_done
        if self.started_at is None:
            return 0
        fraction = (now - self.started_at) / self.duration if self.duration > 0 else 1.0
        return int(self.size * max(0.0, min(fraction, self.cap)))


@dataclass
class Peer:
    """Per-user upload slot: when it is free for the next file."""

    free_at: float = 0.0
    queue: list[Transfer] = field(default_factory=list)


class SlskdState:
    def __init__(self, catalogue: Catalogue, settings: SandboxSettings, clock: Any) -> None:
        self.catalogue = catalogue
        self.settings = settings
        self.clock = clock
        self.connected = True
        self.lock = threading.RLock()
        self.searches: dict[str, Search] = {}
        self.transfers: dict[str, Transfer] = {}
        self._peers: dict[str, Peer] = {}
        self._next_token = 518273
        self._sequence = 0
        self.search_start_lock = threading.Lock()  # one POST /searches at a time
        self.enqueue_slots = threading.BoundedSemaphore(MAX_CONCURRENT_ENQUEUES)
        # Figures for benchmarks and tests (see ``figures``).
        self.search_starts: list[float] = []
        self.peak_searches_in_flight = 0
        self.searches_deleted = 0
        self.duplicate_enqueues = 0  # enqueue requests asking again for a file already queued or downloaded
        self.enqueue_requests = 0

    def figures(self) -> dict[str, Any]:
        """Searches started, the most unfinished at once, the most started in any
        ``slskd_search_window`` seconds, those never deleted, and duplicate enqueues."""
        with self.lock:
            self.advance()
            starts = sorted(self.search_starts)
            window = self.settings.slskd_search_window
            most, first = 0, 0
            for last, at in enumerate(starts):
                while starts[first] <= at - window:
                    first += 1
                most = max(most, last - first + 1)
            return {
                "searches_started": len(starts),
                "peak_searches_in_flight": self.peak_searches_in_flight,
                "most_searches_in_window": most,
                "searches_not_deleted": len(self.searches),
                "searches_running": sum(1 for s in self.searches.values() if not s.is_complete),
                "enqueue_requests": self.enqueue_requests,
                "duplicate_enqueues": self.duplicate_enqueues,
            }

    # -- run-time switches for tests

    def set_behaviour(self, username: str, behaviour: str) -> None:
        """Change how a peer treats downloads that have not started yet."""
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}; one of {', '.join(BEHAVIOURS)}")
        with self.lock:
            self.advance()  # settle what already happened under the old behaviour
            self.catalogue.soulseek_users[username].behaviour = behaviour

    def add_user(self, raw: dict[str, Any]) -> SoulseekUser:
        """Add a peer in the catalogue format (``{"username", "behaviour", "shares": [...]}``)."""
        with self.lock:
            return self.catalogue.add_soulseek_user(raw)

    # -- searches

    def create_search(self, search_id: str, text: str, options: dict[str, Any]) -> Search:
        terms, exclusions = search_terms(text)
        with self.lock:
            self.advance()
            now = self.clock.time()
            token, self._next_token = self._next_token, self._next_token + 1
            search = Search(
                id=search_id, text=text, token=token, created_at=now,
                duration=max(self.settings.slskd_search_seconds, 0.0),
                planned=self._plan_responses(text, terms, exclusions, options, token),
                response_limit=int(options.get("responseLimit") or 100),
                file_limit=int(options.get("fileLimit") or 10_000),
            )
            running = sum(1 for s in self.searches.values() if s.state == "InProgress")
            if running < self.settings.slskd_max_concurrent_searches:
                search.start(now)
            self.searches[search.id] = search
            self.search_starts.append(now)
            unfinished = sum(1 for s in self.searches.values() if not s.is_complete)
            self.peak_searches_in_flight = max(self.peak_searches_in_flight, unfinished)
        return search

    def _plan_responses(self, text: str, terms: list[str], exclusions: list[str],
                        options: dict[str, Any], token: int) -> list[PlannedResponse]:
        filtering = options.get("filterResponses", True) is not False
        min_files = int(options.get("minimumResponseFileCount") or 1)
        max_queue = int(options.get("maximumPeerQueueLength") or 1_000_000)
        min_speed = int(options.get("minimumPeerUploadSpeed") or 0)
        bodies = []
        for user in self.catalogue.soulseek_users.values():
            hits = [f for f in user.files if f.words.issuperset(terms) and not f.words.intersection(exclusions)]
            if not hits:
                continue
            body = response_json(user, hits, token)
            if filtering and (body["fileCount"] + body["lockedFileCount"] < min_files
                              or user.queue_length > max_queue or user.upload_speed < min_speed):
                continue
            bodies.append(body)
        # Peers answer in a stable but mixed order, spread over the first 80 % of the search.
        bodies.sort(key=lambda b: stable_fraction("arrival", text, b["username"]))
        duration = max(self.settings.slskd_search_seconds, 0.0)
        return [PlannedResponse(duration * 0.8 * (i + 1) / (len(bodies) + 1), b) for i, b in enumerate(bodies)]

    def cancel_search(self, search: Search) -> None:
        with self.lock:
            self.advance()
            if search.is_complete:
                return
            now = self.clock.time()
            if search.started_at is None:
                search.started_at = now
            search.state, search.ended_at = "Completed, Cancelled", now
            self._start_queued_searches(now)

    def delete_search(self, search: Search) -> None:
        with self.lock:
            self.cancel_search(search)
            if self.searches.pop(search.id, None) is not None:
                self.searches_deleted += 1

    def _start_queued_searches(self, at: float) -> None:
        for search in self.searches.values():
            running = sum(1 for s in self.searches.values() if s.state == "InProgress")
            if running >= self.settings.slskd_max_concurrent_searches:
                return
            if search.state == "Queued":
                search.start(max(at, search.created_at))

    def _advance_searches(self, now: float) -> None:
        while True:
            due = [s for s in self.searches.values()
                   if s.state == "InProgress" and s.planned_end is not None and s.planned_end <= now]
            if not due:
                return
            search = min(due, key=lambda s: s.planned_end or 0.0)
            search.state, search.ended_at = search.end_state, search.planned_end
            self._start_queued_searches(search.ended_at or now)

    # -- transfers

    def enqueue(self, username: str, files: list[dict[str, Any]]) -> tuple[list[Transfer], list[str]]:
        enqueued: list[Transfer] = []
        failed: list[str] = []
        with self.lock:
            self.advance()
            now = self.clock.time()
            peer = self._peers.setdefault(username, Peer())
            self.enqueue_requests += 1
            names = {item["filename"] for item in files}
            if any(t.username == username and t.filename in names
                   and (not t.is_complete or t.state == "Completed, Succeeded") for t in self.transfers.values()):
                self.duplicate_enqueues += 1  # asked again for a file it has, or is getting
            for item in files:
                filename, size = item["filename"], int(item.get("size") or 0)
                previous = [t for t in self.transfers.values()
                            if t.username == username and t.filename == filename and not t.removed]
                if any(not t.is_complete for t in previous):
                    failed.append(filename)  # already queued or in progress: not queued again
                    continue
                for old in previous:
                    old.removed = True  # a new enqueue of the same file supersedes the old record
                self._sequence += 1
                transfer = Transfer(str(uuid.uuid4()), username, filename, size, now, self._sequence)
                self.transfers[transfer.id] = transfer
                peer.queue.append(transfer)
                enqueued.append(transfer)
        return enqueued, failed

    def cancel_transfer(self, transfer: Transfer) -> None:
        with self.lock:
            self.advance()
            if transfer.is_complete:
                return
            now = self.clock.time()
            was_running = transfer.state == "InProgress"
            transfer.bytes_done = transfer.bytes_at(now)
            transfer.state, transfer.ended_at, transfer.exception = "Completed, Cancelled", now, CANCELLED_TEXT
            peer = self._peers.get(transfer.username)
            if peer is not None:
                if transfer in peer.queue:
                    peer.queue.remove(transfer)
                if was_running:
                    peer.free_at = now
            self.advance()

    def _advance_transfers(self, now: float) -> None:
        for username, peer in self._peers.items():
            user = self.catalogue.soulseek_users.get(username)
            while peer.queue:
                transfer = peer.queue[0]
                if transfer.state == "InProgress":
                    end = transfer.finishes_at
                    if end is None or end > now:
                        break  # uploading (or stalled): the slot stays busy
                    self._finish(transfer, end)
                    peer.free_at = end
                    peer.queue.pop(0)
                    continue
                behaviour = user.behaviour if user else "offline"
                if behaviour == "remote_queue":
                    break
                start = max(transfer.requested_at + self.settings.slskd_queue_seconds, peer.free_at)
                if start > now:
                    break
                refusal = _refusal(user, behaviour, transfer)
                if refusal is not None:
                    transfer.state, transfer.exception = refusal
                    transfer.ended_at = peer.free_at = start
                    peer.queue.pop(0)
                    continue
                self._begin(transfer, behaviour, start)

    def _begin(self, transfer: Transfer, behaviour: str, start: float) -> None:
        factor = self.settings.slskd_slow_factor if behaviour == "slow" else 1.0
        transfer.state, transfer.started_at = "InProgress", start
        transfer.duration = max(self.settings.slskd_transfer_seconds * factor, 1e-3)
        if behaviour == "stalls":
            transfer.cap, transfer.final_state = STALL_FRACTION, "InProgress"
        elif behaviour == "errors":
            transfer.cap, transfer.final_state = ERROR_FRACTION, "Completed, Errored"
            transfer.final_exception = ERRORED_TEXT

    def _finish(self, transfer: Transfer, at: float) -> None:
        succeeded = transfer.final_state == "Completed, Succeeded"
        transfer.bytes_done = transfer.size if succeeded else int(transfer.size * transfer.cap)
        transfer.state, transfer.ended_at, transfer.exception = transfer.final_state, at, transfer.final_exception
        if succeeded and self.settings.slskd_downloads_dir:
            self._write_file(transfer, at)

    def _write_file(self, transfer: Transfer, at: float) -> None:
        """Put the finished file where slskd does: <downloads>/<last remote folder>/<name>, renamed
        ``<stem>_<ticks><ext>`` when that name is taken (slskd's default ``exists: rename``)."""
        user = self.catalogue.soulseek_users.get(transfer.username)
        shared = next((f for f in user.files if f.filename == transfer.filename), None) if user else None
        parts = transfer.filename.replace("/", "\\").split("\\")
        folder = Path(self.settings.slskd_downloads_dir) / parts[-2] if len(parts) > 1 else \
            Path(self.settings.slskd_downloads_dir)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / parts[-1]
        if target.exists():
            ticks = int(at * 10_000_000) + 621_355_968_000_000_000  # .NET ticks: 100 ns since year 1
            while target.exists():
                target = folder / f"{Path(parts[-1]).stem}_{ticks}{Path(parts[-1]).suffix}"
                ticks += 1
        if shared is not None and shared.write_seconds is not None and target.suffix.lower() in (".flac", ".mp3"):
            write_track(target, shared.write_seconds, shared.defect)
        else:  # covers, cue sheets, logs: bytes of the advertised size matter to nobody
            target.write_bytes(b"resonance sandbox extra file\n")

    def advance(self) -> None:
        with self.lock:
            now = self.clock.time()
            self._advance_searches(now)
            self._advance_transfers(now)

    def place_in_queue(self, transfer: Transfer) -> int:
        peer = self._peers.get(transfer.username)
        user = self.catalogue.soulseek_users.get(transfer.username)
        ahead = user.queue_length if user and user.behaviour == "remote_queue" else 0
        position = peer.queue.index(transfer) if peer and transfer in peer.queue else 0
        return ahead + position + 1


def _refusal(user: SoulseekUser | None, behaviour: str, transfer: Transfer) -> tuple[str, str] | None:
    """Why the peer will not send this file (final state, exception), or None."""
    if user is None or behaviour == "offline":  # the peer left after we queued
        return "Completed, Errored", f"User {transfer.username} appears to be offline"
    if behaviour == "rejects" or not _is_shared(user, transfer.filename):
        return "Completed, Rejected", REJECTED_TEXT
    return None


def _is_shared(user: SoulseekUser, filename: str) -> bool:
    # Locked files are visible only to privileged users; ours is not, so they are refused.
    return any(f.filename == filename and not f.locked for f in user.files)


def search_terms(text: str) -> tuple[list[str], list[str]]:
    """Soulseek-style terms: one-character words dropped, ``-word`` excludes."""
    include: list[str] = []
    exclude: list[str] = []
    for raw in text.split():
        target = exclude if raw.startswith("-") and len(raw) > 1 else include
        raw = raw[1:] if target is exclude else raw
        if len(raw) < 2:
            continue
        for word in words(raw):
            if len(word) >= 2 and word not in target:
                target.append(word)
    return include, exclude


# --------------------------------------------------------------------------- JSON shapes


def file_json(f: SharedFile) -> dict[str, Any]:
    data: dict[str, Any] = {"filename": f.filename, "size": f.size, "code": 1, "extension": f.extension}
    if f.bit_rate is not None:
        data["bitRate"] = f.bit_rate
    if f.bit_depth is not None:
        data["bitDepth"] = f.bit_depth
    if f.sample_rate is not None:
        data["sampleRate"] = f.sample_rate
    if f.length is not None:
        data["length"] = f.length
    if f.vbr is not None:
        data["isVariableBitRate"] = f.vbr
    data["isLocked"] = False  # slskd never fills it: the list a file is in tells
    return data


def response_json(user: SoulseekUser, hits: list[SharedFile], token: int) -> dict[str, Any]:
    files = [file_json(f) for f in hits if not f.locked]
    locked = [file_json(f) for f in hits if f.locked]
    return {"username": user.username, "token": token, "fileCount": len(files), "lockedFileCount": len(locked),
            "hasFreeUploadSlot": user.has_free_upload_slot, "uploadSpeed": user.upload_speed,
            "queueLength": user.queue_length, "files": files, "lockedFiles": locked}


def search_json(search: Search, now: float, include_responses: bool = False) -> dict[str, Any]:
    arrived = search.arrived(now)
    data: dict[str, Any] = {}
    if search.ended_at is not None:
        data["endedAt"] = iso_utc(search.ended_at)
    data.update({
        "fileCount": sum(p.body["fileCount"] for p in arrived),
        "id": search.id,
        "isComplete": search.is_complete,
        "lockedFileCount": sum(p.body["lockedFileCount"] for p in arrived),
        "responseCount": len(arrived),
        # Responses are stored only when the search finishes.
        "responses": [p.body for p in arrived] if include_responses and search.is_complete else [],
        "searchText": search.text,
        "startedAt": iso_utc(search.started_at if search.started_at is not None else search.created_at),
        "state": search.state,
        "token": search.token,
    })
    return data


def timespan(seconds: float) -> str:
    """.NET TimeSpan text: ``00:00:20.0012345`` (``1.02:03:04.0000000`` past a day)."""
    ticks = int(round(max(seconds, 0.0) * 10_000_000))
    total_seconds, fraction = divmod(ticks, 10_000_000)
    days, rest = divmod(total_seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}.{fraction:07d}"
    return f"{days}.{text}" if days else text


def transfer_json(state: SlskdState, t: Transfer, now: float) -> dict[str, Any]:
    done = t.bytes_at(now)
    data: dict[str, Any] = {
        "id": t.id, "username": t.username, "direction": "Download", "filename": t.filename, "size": t.size,
        "startOffset": 0, "state": t.state, "stateDescription": t.state,
        "requestedAt": iso_utc(t.requested_at), "enqueuedAt": iso_utc(t.requested_at + 0.01),
    }
    if t.started_at is not None:
        data["startedAt"] = iso_utc(t.started_at)
    if t.ended_at is not None:
        data["endedAt"] = iso_utc(t.ended_at)
    elapsed = ((t.ended_at if t.ended_at is not None else now) - t.started_at) if t.started_at is not None else 0.0
    speed = done / elapsed if elapsed > 0 else 0.0
    data.update({"bytesTransferred": done, "averageSpeed": round(speed, 4), "bytesRemaining": t.size - done})
    if t.started_at is not None:
        data["elapsedTime"] = timespan(elapsed)
    data["percentComplete"] = round(100.0 * done / t.size, 6) if t.size else 0.0
    if t.state == "InProgress" and speed > 0:
        data["remainingTime"] = timespan((t.size - done) / speed)
    if t.state == "Queued, Remotely":
        data["placeInQueue"] = state.place_in_queue(t)
    if t.exception:
        data["exception"] = t.exception
    return data


def user_transfers_json(state: SlskdState, username: str, transfers: list[Transfer], now: float) -> dict[str, Any]:
    directories: dict[str, list[Transfer]] = {}
    for t in transfers:
        directories.setdefault(t.filename.rsplit("\\", 1)[0], []).append(t)
    return {"username": username, "directories": [
        {"directory": name, "fileCount": len(files), "files": [transfer_json(state, t, now) for t in files]}
        for name, files in directories.items()]}


# --------------------------------------------------------------------------- app


def create_app(state: SlskdState) -> Callable:
    """The WSGI app of this service, answering from ``state``."""
    return _APP.bind(state)


def _build_app() -> Flask:
    app = Flask(__name__)
    state: SlskdState = state_proxy()  # the serving sandbox's state, looked up per request
    base = "/api/v0"  # under web.url_base, if any (see PathPrefix)
    cat: Catalogue = catalogue_proxy()

    def reply(data: Any, status: int = 200) -> Response:
        return Response(json_body(data), status=status, mimetype="application/json")

    def empty(status: int) -> Response:
        return Response(b"", status=status)

    def problem(status: int, title: str, errors: dict[str, list[str]] | None = None) -> Response:
        body: dict[str, Any] = {"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1"
                                if status == 400 else "https://tools.ietf.org/html/rfc9110#section-15.5.16",
                                "title": title, "status": status}
        if errors:
            body["errors"] = errors
        body["traceId"] = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"
        return Response(json_body(body), status=status, mimetype="application/problem+json")

    @app.errorhandler(404)
    def not_found(_error: Any) -> Response:
        return empty(404)

    @app.errorhandler(405)
    def bad_method(_error: Any) -> Response:
        return empty(405)

    @app.before_request
    def authenticate() -> Response | None:
        if request.path == f"{base}/session/enabled":
            return None
        key = request.headers.get("X-API-Key", "")
        authorization = request.headers.get("Authorization", "")
        if not key and authorization.lower().startswith("bearer "):
            key = authorization[7:].strip()
        if key not in cat.slskd_api_keys:
            return empty(401)
        state.advance()
        return None

    # ------------------------------------------------------------------ searches

    @app.post(f"{base}/searches")
    def start_search() -> Response:
        if not request.is_json:
            return problem(415, "Unsupported Media Type")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return problem(400, "One or more validation errors occurred.", {"$": ["The JSON value is not valid."]})
        text = body.get("searchText")
        if not isinstance(text, str) or not text.strip():
            return problem(400, "One or more validation errors occurred.", {"SearchText": [BLANK_TEXT]})
        timeout = body.get("searchTimeout")
        if timeout is not None and (not isinstance(timeout, int) or timeout < 5):
            return problem(400, "One or more validation errors occurred.",
                           {"SearchTimeout": ["The field SearchTimeout must be between 5 and 2147483647."]})
        search_id = str(body.get("id") or uuid.uuid4()).lower()
        if not _is_guid(search_id):
            return problem(400, "One or more validation errors occurred.", {"Id": ["The value is not a valid GUID."]})
        if not state.connected:
            return reply(NOT_CONNECTED.format(state="Disconnected"), 409)
        include, _exclude = search_terms(text)
        if not include:
            return reply(NO_TERMS, 400)
        if not state.search_start_lock.acquire(blocking=False):
            return reply(SEARCH_START_BUSY, 429)
        try:
            time.sleep(state.settings.slskd_search_start_seconds)  # slskd talks to the server meanwhile
            with state.lock:
                if search_id in state.searches:
                    return reply(f"A search with ID {search_id} already exists", 500)
                search = state.create_search(search_id, text, body)
        finally:
            state.search_start_lock.release()
        return reply(search_json(search, state.clock.time()))

    @app.get(f"{base}/searches")
    def list_searches() -> Response:
        now = state.clock.time()
        with state.lock:
            return reply([search_json(s, now) for s in state.searches.values()])

    @app.get(f"{base}/searches/<search_id>")
    def get_search(search_id: str) -> Response:
        search = state.searches.get(search_id.lower())
        if search is None:
            return empty(404)
        include = request.args.get("includeResponses", "false").lower() == "true"
        return reply(search_json(search, state.clock.time(), include_responses=include))

    @app.get(f"{base}/searches/<search_id>/responses")
    def get_responses(search_id: str) -> Response:
        search = state.searches.get(search_id.lower())
        if search is None:
            return empty(404)
        now = state.clock.time()
        return reply([p.body for p in search.arrived(now)] if search.is_complete else [])

    @app.put(f"{base}/searches/<search_id>")
    def cancel_search(search_id: str) -> Response:
        search = state.searches.get(search_id.lower())
        if search is None:
            return empty(404)
        state.cancel_search(search)
        return empty(200)

    @app.delete(f"{base}/searches/<search_id>")
    def delete_search(search_id: str) -> Response:
        search = state.searches.get(search_id.lower())
        if search is None:
            return empty(404)
        state.delete_search(search)
        return empty(204)

    # ------------------------------------------------------------------ downloads

    @app.post(f"{base}/transfers/downloads/<username>")
    def enqueue(username: str) -> Response:
        if not request.is_json:
            return problem(415, "Unsupported Media Type")
        files = request.get_json(silent=True)
        if not isinstance(files, list) or not files:
            return reply("At least one file is required", 400)
        if any(f is None for f in files):
            return reply("One or more files in the request are null", 400)
        if any(not isinstance(f, dict) or not isinstance(f.get("filename"), str) or not f["filename"] for f in files):
            return problem(400, "One or more validation errors occurred.",
                           {"Filename": ["The Filename field is required."]})
        if not state.connected:
            return reply(NOT_CONNECTED.format(state="Disconnected"), 409)
        if not state.enqueue_slots.acquire(blocking=False):
            return reply(SEARCH_START_BUSY, 429)
        try:
            time.sleep(state.settings.slskd_enqueue_seconds)  # slskd contacts the peer before answering
            user = cat.soulseek_users.get(username)
            if user is None or user.behaviour == "offline":
                return reply(f"User {username} appears to be offline", 500)
            enqueued, failed = state.enqueue(username, files)
        finally:
            state.enqueue_slots.release()
        now = state.clock.time()
        return reply({"enqueued": [transfer_json(state, t, now) for t in enqueued], "failed": failed}, 201)

    @app.get(f"{base}/transfers/downloads")
    def list_downloads() -> Response:
        include_removed = request.args.get("includeRemoved", "false").lower() == "true"
        now = state.clock.time()
        with state.lock:
            by_user: dict[str, list[Transfer]] = {}
            for t in state.transfers.values():
                if include_removed or not t.removed:
                    by_user.setdefault(t.username, []).append(t)
            return reply([user_transfers_json(state, name, ts, now) for name, ts in by_user.items()])

    @app.delete(f"{base}/transfers/downloads/all/completed")
    def remove_all_completed() -> Response:
        with state.lock:
            for t in state.transfers.values():
                if t.is_complete:
                    t.removed = True
        return empty(204)

    @app.get(f"{base}/transfers/downloads/<username>")
    def user_downloads(username: str) -> Response:
        now = state.clock.time()
        with state.lock:
            transfers = [t for t in state.transfers.values() if t.username == username and not t.removed]
            if not transfers:
                return empty(404)
            return reply(user_transfers_json(state, username, transfers, now))

    @app.get(f"{base}/transfers/downloads/<username>/<transfer_id>")
    def one_download(username: str, transfer_id: str) -> Response:
        if not _is_guid(transfer_id):
            return empty(400)
        with state.lock:
            transfer = state.transfers.get(transfer_id.lower())
            if transfer is None or transfer.username != username:
                return empty(404)
            return reply(transfer_json(state, transfer, state.clock.time()))

    @app.delete(f"{base}/transfers/downloads/<username>/<transfer_id>")
    def cancel_or_remove(username: str, transfer_id: str) -> Response:
        if not _is_guid(transfer_id):
            return empty(400)
        remove = request.args.get("remove", "false").lower() == "true"
        with state.lock:
            transfer = state.transfers.get(transfer_id.lower())
            if transfer is None or transfer.username != username:
                return empty(204)  # 0.25+: unknown ids are not an error
            if remove:
                if transfer.is_complete:  # 0.25+: removing an unfinished transfer is a silent no-op
                    transfer.removed = True
            else:
                state.cancel_transfer(transfer)
        return empty(204)

    # ------------------------------------------------------------------ health

    def server_json() -> dict[str, Any]:
        on = state.connected
        return {"address": "vps.slsknet.org:2271", "ipEndPoint": "208.76.170.59:2271",
                "state": "Connected, LoggedIn" if on else "Disconnected", "isConnected": on, "isConnecting": False,
                "isLoggedIn": on, "isLoggingIn": False, "isTransitioning": False}

    @app.get(f"{base}/application")
    def application() -> Response:
        return reply({
            "version": {"full": f"{VERSION} ({VERSION}+sandbox)", "current": VERSION, "latest": VERSION,
                        "isUpdateAvailable": False, "isCanary": False, "isDevelopment": False},
            "pendingReconnect": False, "pendingRestart": False,
            "server": server_json(),
            "connectionWatchdog": {"isEnabled": True, "isAttemptingConnection": False, "isAwaitingVpn": False},
            "user": {"username": cat.slskd_username,
                     "privileges": {"isPrivileged": False, "privilegesRemaining": 0},
                     "statistics": {"averageSpeed": 0, "directoryCount": 0, "fileCount": 0, "uploadCount": 0}},
            "shares": {"ready": True, "scanning": False, "faulted": False, "directories": 0, "files": 0},
            "rooms": [], "users": [],
            "distributedNetwork": {"canAcceptChildren": False, "childLimit": 0, "children": [], "hasParent": False,
                                   "isBranchRoot": False, "branchLevel": 0, "branchRoot": ""},
        })

    @app.get(f"{base}/application/version")
    def version() -> Response:
        return reply(VERSION)

    @app.get(f"{base}/server")
    def server() -> Response:
        return reply(server_json())

    @app.put(f"{base}/server")
    def reconnect() -> Response:
        state.connected = True
        return empty(200)

    @app.delete(f"{base}/server")
    def disconnect() -> Response:
        state.connected = False
        return empty(204)

    @app.get(f"{base}/session")
    def session() -> Response:
        return empty(200)

    @app.get(f"{base}/session/enabled")
    def session_enabled() -> Response:
        return reply(True)

    return app


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


_APP = SharedApp(_build_app)
