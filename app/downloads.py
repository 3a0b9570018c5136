"""A download: one record per wishlist entry, its states and the rules for changing them.

The record lives in download_history.json (``entries``, keyed by the entry's text,
"Artist - Album"). ``app.repository`` parses it here once (``Download.from_dict``)
and writes it back (``Download.to_dict``); everything else works on ``Download``.
docs/data-files.md describes every field, docs/downloading.md the states.

States, in the order a download goes through them::

    wanted → searching → queued → downloading → completed            (the downloader)
    searching → no_result (searched again later) | failed (gave up)
    completed → verifying → importing → in_library                    (the import stage)
    verifying | importing → quarantined (the reason, the failed track, what was tried next)
    any → removed (waits for its transfers to be cancelled, then leaves the history)

Retry and Search again send a record back to ``wanted``; Retry on an active
download asks for the next folder instead (``failover_requested``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import orjson

STATES = ("wanted", "searching", "queued", "downloading", "completed", "failed", "no_result",
          "verifying", "importing", "in_library", "quarantined", "removed")
ACTIVE_STATES = ("queued", "downloading")
#: States the import stage moves a completed download through.
IMPORT_STATES = ("verifying", "importing", "in_library", "quarantined")
#: Downloaded: nothing left to retry (the files are in slskd's folder, or in the library).
DONE_STATES = ("completed", "verifying", "importing", "in_library")
#: How the Downloads page and the API group the states (``removed`` is never shown).
GROUPS = {
    "active": ("searching", "queued", "downloading"),
    "waiting": ("wanted", "no_result"),
    "completed": ("completed", "verifying", "importing", "in_library"),
    "failed": ("failed", "quarantined"),
}
#: The import stage's moves: a state may only be entered from these.
IMPORT_TRANSITIONS = {
    "verifying": ("completed",),
    "importing": ("verifying",),
    "in_library": ("importing",),
    "quarantined": ("verifying", "importing"),
}
#: How the states read on the page and in the wishlist.
STATE_LABELS = {
    "wanted": "Waiting", "searching": "Searching", "queued": "Queued in slskd", "downloading": "Downloading",
    "completed": "Downloaded", "failed": "Failed", "no_result": "Not found yet",
    "verifying": "Verifying", "importing": "Importing", "in_library": "In library", "quarantined": "Quarantined",
}

EVENTS_KEPT = 60
ATTEMPTS_KEPT = 10
DOWNLOADS_KEPT = 10


class DownloadError(Exception):
    """An action refused; the web and the API say so (``app.web.downloads.as_problem``)."""

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.message, self.details = message, details or None


class NotFound(DownloadError):
    """No such download (or one already removed)."""


class NotAllowedInState(DownloadError):
    """The action does not apply to the download's state (e.g. Retry on a completed one)."""

    def __init__(self, message: str, state: str, code: str = "conflict"):
        super().__init__(message)
        self.state, self.code = state, code


class InvalidInput(DownloadError):
    """A key or a query that cannot be used; ``details`` says which field and why."""


@dataclass
class Download:
    """One wishlist entry's download record. Lists hold the JSON shapes of docs/data-files.md."""

    key: str
    artist: str = ""
    title: str = ""
    kind: str = "album"
    state: str = "wanted"
    state_since: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    query: str | None = None  # the query typed in "Search again"
    attempt_count: int = 0  # searches since the last Retry
    next_retry_at: str | None = None
    reason: str | None = None  # why it failed or found nothing
    album: dict | None = None  # MusicBrainz facts about the album (year, tracks)
    attempts: list[dict] = field(default_factory=list)  # searches, the latest with every candidate's reasons
    fallbacks: list[dict] = field(default_factory=list)  # the other acceptable folders of the last search
    downloads: list[dict] = field(default_factory=list)  # folders queued, the latest with its files
    cancel: list[dict] = field(default_factory=list)  # transfers to cancel in slskd at the next check
    events: list[dict] = field(default_factory=list)  # {"time", "text"}
    failover_requested: bool | None = None
    unconfirmed_enqueue: dict | None = None  # a folder whose enqueue got no answer: looked up before anything else
    # What the import stage reports (None until it does).
    import_reason: str | None = None  # why it was quarantined
    import_failed_track: str | None = None  # the track that failed verification or import
    import_note: str | None = None  # what was tried next
    library_path: str | None = None  # where the album is in the library
    library_url: str | None = None  # the album in Navidrome
    extra: dict = field(default_factory=dict)  # fields this version does not know: written back as they were

    # -- parse / serialise (the repository's boundary) ------------------------------------------

    @classmethod
    def from_dict(cls, key: str, data: dict) -> Download:
        data = data if isinstance(data, dict) else {}
        values: dict[str, Any] = {"key": key}
        for name in RECORD_FIELDS:
            if name in data:
                values[name] = _parse(name, data[name])
        # A private copy: the repository's cached document must not change with the record.
        values["extra"] = _copy({k: v for k, v in data.items() if k not in RECORD_FIELDS and k != "key"})
        return cls(**values)

    def to_dict(self) -> dict:
        """The record as stored (no ``key``: it is the entry's name in the file); unset optional fields left out."""
        data = {name: _copy(getattr(self, name)) for name in RECORD_FIELDS
                if name in ALWAYS_WRITTEN or getattr(self, name) is not None}
        data.update(_copy(self.extra))
        return data

    # -- what it is ------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def current_download(self) -> dict | None:
        return self.downloads[-1] if self.downloads else None

    @property
    def needs_following(self) -> bool:
        """slskd must be asked about its transfers: active, or waiting for a cancel or a failover."""
        return self.active or self.state == "removed" or bool(self.cancel) or bool(self.failover_requested)


#: The stored fields, in the order they are written (``key`` and ``extra`` are not fields of the file).
RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(Download) if f.name not in ("key", "extra"))
#: Written even when empty (a new record has them all).
ALWAYS_WRITTEN = frozenset(("artist", "title", "kind", "state", "state_since", "created_at", "updated_at", "query",
                            "attempt_count", "next_retry_at", "reason", "album", "attempts", "fallbacks",
                            "downloads", "cancel", "events"))
_LISTS = ("attempts", "fallbacks", "downloads", "cancel", "events")


def _copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value)) if isinstance(value, (dict, list)) else value


def _parse(name: str, value: Any) -> Any:
    if name in _LISTS:
        return _copy(value) if isinstance(value, list) else []
    if name == "attempt_count":
        try:
            return int(value or 0)
        except (TypeError, ValueError):
            return 0
    return _copy(value)


# --- state changes ------------------------------------------------------------------------------


def new_download(key: str, artist: str, title: str, kind: str, now: str) -> Download:
    return Download(key=key, artist=artist, title=title, kind=kind, state="wanted", state_since=now,
                    created_at=now, updated_at=now)


def add_event(record: Download, text: str, now: str) -> None:
    record.events.append({"time": now, "text": text})


def set_state(record: Download, state: str, now: str, text: str | None = None) -> None:
    """Move to ``state`` (``state_since`` changes only when the state does), with an event saying why."""
    if state not in STATES:
        raise ValueError(f"unknown download state {state!r}")
    if record.state != state:
        record.state = state
        record.state_since = now
    if text:
        add_event(record, f"{state}: {text}", now)


def cancel_current(record: Download, now: str, reason: str) -> None:
    """Mark the active download cancelled; its unfinished transfers go to ``record.cancel``."""
    current = record.current_download
    if current is None or current.get("state") not in ACTIVE_STATES:
        return
    for file in current.get("files") or []:
        if not str(file.get("state") or "").startswith("Completed"):
            record.cancel.append({"user": current.get("user"), "filename": file.get("filename"), "id": file.get("id")})
    current.update(state="cancelled", ended_at=now, reason=reason)
    add_event(record, f"cancelled the download from {current.get('user')}: {reason}", now)


def ask_retry(record: Download, now: str) -> None:
    """Retry: an active download gives up its folder for the next candidate; others are searched again
    at the next run with a fresh attempt budget. Refused for a downloaded (or removed) one."""
    if record.state in DONE_STATES or record.state == "removed":
        raise NotAllowedInState(f"{record.key} is already downloaded: nothing to retry.", record.state,
                                code="already_downloaded")
    if record.active:
        record.failover_requested = True
        add_event(record, "retry asked: the current folder is given up for the next candidate", now)
        return
    record.attempt_count = 0
    record.next_retry_at = None
    set_state(record, "wanted", now, "retry asked: searched again at the next run")


def ask_search_again(record: Download, query: str, now: str) -> None:
    """Search again with ``query``: cancels an active download, forgets the candidates."""
    cancel_current(record, now, "replaced by a new search")
    record.query, record.fallbacks, record.attempt_count = query, [], 0
    record.next_retry_at, record.failover_requested = None, False
    set_state(record, "wanted", now, f'search again asked with the query "{query}"')


def _import_move(record: Download, state: str, now: str, text: str) -> None:
    if record.state not in IMPORT_TRANSITIONS[state]:
        raise NotAllowedInState(f"{record.key} is {record.state}: it cannot become {state}.", record.state)
    set_state(record, state, now, text)


def start_verifying(record: Download, now: str, text: str = "checking the downloaded files") -> None:
    """completed → verifying."""
    _import_move(record, "verifying", now, text)


def start_importing(record: Download, now: str, text: str = "moving the files into the library") -> None:
    """verifying → importing."""
    _import_move(record, "importing", now, text)


def into_library(record: Download, now: str, library_path: str, library_url: str | None = None,
                 note: str | None = None) -> None:
    """importing → in_library, with where the album is (and its page in Navidrome)."""
    _import_move(record, "in_library", now, f"in the library at {library_path}")
    record.library_path, record.library_url, record.import_note = library_path, library_url, note
    record.import_reason = record.import_failed_track = None


def quarantine(record: Download, now: str, reason: str, failed_track: str | None = None,
               note: str | None = None) -> None:
    """verifying | importing → quarantined: why, the track that failed, what was tried next."""
    _import_move(record, "quarantined", now, reason + (f" ({failed_track})" if failed_track else ""))
    record.import_reason, record.import_failed_track, record.import_note = reason, failed_track, note


def trim(record: Download) -> None:
    """Keep a record small (the file is rewritten at every step): bounded lists; full detail
    (every candidate's reasons, every file's state) only for the latest attempt and downloads."""
    for name, keep in (("events", EVENTS_KEPT), ("attempts", ATTEMPTS_KEPT), ("downloads", DOWNLOADS_KEPT)):
        items = getattr(record, name)
        if len(items) > keep:
            del items[: len(items) - keep]
    for attempt in record.attempts[:-1]:
        if attempt.get("candidates") and "reasons" in attempt["candidates"][0]:
            attempt["candidates"] = [
                {k: v for k, v in candidate.items() if k not in ("reasons", "factors")}
                for candidate in attempt["candidates"][:5]
            ]
    for download in record.downloads[:-2]:
        download.pop("files", None)
