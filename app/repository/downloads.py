"""download_history.json: one record per wishlist entry, the uploaders' record, recent search starts."""

from __future__ import annotations

from typing import Any, Callable

import orjson

from app.records import utc_now_iso
from app.repository.store import DOWNLOAD_HISTORY, DOWNLOADED
from app.wishlist import WishlistEntry, normalise_name


class DownloadRecords:
    def download_history(self) -> dict:
        return self.store.read(DOWNLOAD_HISTORY)

    # downloads ------------------------------------------------------------------
    # download_history.json: one record per wishlist entry (keyed by its text,
    # "Artist - Album"), the uploaders' record with us, and recent search starts.
    # docs/data-files.md describes every field. Records are replaced, never
    # edited in place: the cached document shares them.

    def download_records(self, states: list[str] | tuple[str, ...] | None = None) -> list[dict]:
        """Records (each with its ``key``), most recently updated first; removed ones left out."""
        entries = self.download_history().get("entries", {})
        wanted = set(states) if states else None
        records = [
            {**record, "key": key}
            for key, record in entries.items()
            if record.get("state") != "removed" and (wanted is None or record.get("state") in wanted)
        ]
        records.sort(key=lambda record: record.get("updated_at") or "", reverse=True)
        return records

    def downloads_to_follow(self) -> bool:
        """Whether any download needs its transfers followed (cheap: no request, a cached read)."""
        entries = self.download_history().get("entries", {})
        return any(needs_following(record) for record in entries.values())

    def download_record(self, key: str) -> dict | None:
        record = self.download_history().get("entries", {}).get(key)
        return {**record, "key": key} if record is not None else None

    def download_counts(self) -> dict[str, int]:
        """Records per state (every state present, zero included)."""
        counts = dict.fromkeys(DOWNLOAD_STATES, 0)
        for record in self.download_history().get("entries", {}).values():
            state = record.get("state")
            if state in counts:
                counts[state] += 1
        return counts

    def download_users(self) -> dict[str, dict]:
        """Uploaders' record with us: failures, successes, recent_failures, last reason."""
        return self.download_history().get("users", {})

    def search_starts(self) -> list[float]:
        """Epoch seconds of the recent Soulseek search starts (the governor's shared window)."""
        meta = self.download_history().get("meta") or {}
        return list(meta.get("search_starts") or [])

    def update_download_record(
        self,
        key: str,
        change: Callable[[dict], Any],
        *,
        entry: WishlistEntry | None = None,
        now: str | None = None,
    ) -> dict | None:
        """Apply ``change(record)`` to a private copy of the record and save it, in one transaction.

        A missing record is created from ``entry`` first (without ``entry`` the
        change is skipped). ``change`` returning False leaves the file as it
        was. Returns the record as saved (with ``key``), or None.
        """
        now = now or utc_now_iso()
        try:
            with self.store.transaction(DOWNLOAD_HISTORY) as history:
                entries = history.setdefault("entries", {})
                current = entries.get(key)
                if current is None:
                    if entry is None:
                        raise _Unchanged(None)
                    record = new_download_record(entry, now)
                else:
                    record = _deep_copy(current)
                if change(record) is False:
                    raise _Unchanged({**current, "key": key} if current is not None else None)
                _trim_download_record(record)
                record["updated_at"] = now
                entries[key] = record
        except _Unchanged as unchanged:
            return unchanged.record
        return {**record, "key": key}

    def note_download_user(self, user: str, *, ok: bool, reason: str | None = None, now: str | None = None) -> dict:
        """Count a completed (``ok``) or failed download from ``user``."""
        now = now or utc_now_iso()
        with self.store.transaction(DOWNLOAD_HISTORY) as history:
            users = history.setdefault("users", {})
            record = dict(users.get(user) or {})
            if ok:
                record["successes"] = int(record.get("successes") or 0) + 1
                record["recent_failures"] = 0
                record["last_success_at"] = now
            else:
                record["failures"] = int(record.get("failures") or 0) + 1
                record["recent_failures"] = int(record.get("recent_failures") or 0) + 1
                record["last_failure_at"] = now
                record["last_reason"] = reason
            users[user] = record
        return record

    def reserve_search_slot(self, now: float, per_window: int, window: float) -> float:
        """Record a search start at ``now`` (epoch seconds) and return 0, or return the seconds to wait.

        The window is shared by every process using this data dir, and survives restarts.
        """
        def wait_for(starts: list[float]) -> float:
            return max(0.01, starts[len(starts) - per_window] + window - now) if len(starts) >= per_window else 0.0

        def recent(values: Any) -> list[float]:
            return sorted(t for t in values or [] if t > now - window)

        wait = wait_for(recent(self.search_starts()))
        if wait:
            return wait  # a full window is seen without taking the lock or writing
        with self.store.transaction(DOWNLOAD_HISTORY) as history:
            meta = history.setdefault("meta", {})
            starts = recent(meta.get("search_starts"))
            wait = wait_for(starts)
            meta["search_starts"] = starts if wait else [*starts, now]
            return wait

    def retry_download(self, key: str, now: str | None = None) -> dict | None:
        """"Retry" on the Downloads page.

        Failed, no_result or waiting entries are searched again at the next run
        with a fresh attempt budget; an active download gives up its current
        folder and moves on to the next candidate (``failover_requested``).
        A completed entry is left alone. Returns the record, None if unknown.
        """
        now = now or utc_now_iso()

        def change(record: dict) -> Any:
            state = record.get("state")
            if state in ("completed", "removed"):
                return False
            if state in ACTIVE_DOWNLOAD_STATES:
                record["failover_requested"] = True
                add_download_event(record, "retry asked: the current folder is given up for the next candidate", now)
                return None
            record["attempt_count"] = 0
            record["next_retry_at"] = None
            set_download_state(record, "wanted", now, "retry asked: searched again at the next run")
            return None

        return self.update_download_record(key, change, now=now)

    def search_download_again(
        self, key: str, query: str, *, entry: WishlistEntry | None = None, now: str | None = None
    ) -> dict | None:
        """"Search again" with an edited query: cancels an active download, forgets the
        candidates and searches ``query`` (instead of the built queries) at the next run."""
        query = normalise_name(query)
        if not query:
            raise ValueError("the query is empty")
        now = now or utc_now_iso()

        def change(record: dict) -> None:
            cancel_current_download(record, now, "replaced by a new search")
            record.update(query=query, fallbacks=[], attempt_count=0, next_retry_at=None, failover_requested=False)
            set_download_state(record, "wanted", now, f'search again asked with the query "{query}"')

        return self.update_download_record(key, change, entry=entry, now=now)

    def remove_download(self, key: str, *, keep_wishlist: bool = False, now: str | None = None) -> bool:
        """"Remove" on the Downloads page; False when there is no such record.

        A completed entry only leaves the history. Otherwise its transfers are
        cancelled in slskd at the next transfer check (the record waits as
        "removed" until then) and, unless ``keep_wishlist``, the entry leaves
        the wishlist and downloaded.json so it is not searched again. The three
        files change together or not at all (nested transactions; lock order:
        download_history, then wishlist, then downloaded).
        """
        now = now or utc_now_iso()
        if self.download_record(key) is None:
            return False  # without taking a lock or writing
        with self.store.transaction(DOWNLOAD_HISTORY) as history:
            entries = history.setdefault("entries", {})
            current = entries.get(key)
            if current is None:
                return False
            if current.get("state") != "completed" and not keep_wishlist:
                self.remove_from_wishlist([e for e in self.wishlist_entries() if e.text.casefold() == key.casefold()])
                self.unmark_downloaded([key])
            changed = _deep_copy(current)
            cancel_current_download(changed, now, "removed")
            if changed.get("cancel"):
                set_download_state(changed, "removed", now, "removed; its transfers are cancelled at the next check")
                changed["updated_at"] = now
                entries[key] = changed
            else:
                del entries[key]
        return True

    def forget_download(self, key: str) -> None:
        """Drop a record (a removed one once its transfers are cancelled)."""
        with self.store.transaction(DOWNLOAD_HISTORY) as history:
            history.setdefault("entries", {}).pop(key, None)

    def unmark_downloaded(self, ids: list[str]) -> None:
        """Take entries off downloaded.json (compared case-insensitively)."""
        drop = {value.casefold() for value in ids}
        if not drop or not any(value.casefold() in drop for value in self.downloaded()):
            return
        with self.store.transaction(DOWNLOADED) as known:
            known[:] = [value for value in known if value.casefold() not in drop]




# --- download history records (see Repository "downloads") -------------------

DOWNLOAD_STATES = ("wanted", "searching", "queued", "downloading", "completed", "failed", "no_result")
ACTIVE_DOWNLOAD_STATES = ("queued", "downloading")
#: How the Downloads page can group the states (``download_records(DOWNLOAD_GROUPS["active"])``).
DOWNLOAD_GROUPS = {
    "active": ("searching", "queued", "downloading"),
    "waiting": ("wanted", "no_result"),
    "completed": ("completed",),
    "failed": ("failed",),
}
DOWNLOAD_EVENTS_KEPT = 60
DOWNLOAD_ATTEMPTS_KEPT = 10
DOWNLOADS_KEPT = 10


class _Unchanged(Exception):
    def __init__(self, record: dict | None):
        self.record = record


def needs_following(record: dict) -> bool:
    """A download whose transfers slskd must be asked about: active, or waiting to be cancelled."""
    return (record.get("state") in ACTIVE_DOWNLOAD_STATES or record.get("state") == "removed"
            or bool(record.get("cancel")) or bool(record.get("failover_requested")))


def _deep_copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def new_download_record(entry: WishlistEntry, now: str) -> dict:
    return {
        "artist": entry.artist, "title": entry.title, "kind": entry.kind,
        "state": "wanted", "state_since": now, "created_at": now, "updated_at": now,
        "query": None, "attempt_count": 0, "next_retry_at": None, "reason": None,
        "album": None, "attempts": [], "fallbacks": [], "downloads": [], "cancel": [], "events": [],
    }


def add_download_event(record: dict, text: str, now: str) -> None:
    record.setdefault("events", []).append({"time": now, "text": text})


def set_download_state(record: dict, state: str, now: str, text: str | None = None) -> None:
    if record.get("state") != state:
        record["state"] = state
        record["state_since"] = now
    if text:
        add_download_event(record, f"{state}: {text}", now)


def cancel_current_download(record: dict, now: str, reason: str) -> None:
    """Mark the active download cancelled; its unfinished transfers go to ``record["cancel"]``."""
    downloads = record.get("downloads") or []
    if not downloads or downloads[-1].get("state") not in ACTIVE_DOWNLOAD_STATES:
        return
    current = downloads[-1]
    cancel = record.setdefault("cancel", [])
    for file in current.get("files") or []:
        if not str(file.get("state") or "").startswith("Completed"):
            cancel.append({"user": current.get("user"), "filename": file.get("filename"), "id": file.get("id")})
    current.update(state="cancelled", ended_at=now, reason=reason)
    add_download_event(record, f"cancelled the download from {current.get('user')}: {reason}", now)


def _trim_download_record(record: dict) -> None:
    """Keep a record small (the file is rewritten at every step): bounded lists; full detail
    (every candidate's reasons, every file's state) only for the latest attempt and downloads."""
    for name, keep in (("events", DOWNLOAD_EVENTS_KEPT), ("attempts", DOWNLOAD_ATTEMPTS_KEPT),
                       ("downloads", DOWNLOADS_KEPT)):
        items = record.get(name)
        if isinstance(items, list) and len(items) > keep:
            del items[: len(items) - keep]
    for attempt in (record.get("attempts") or [])[:-1]:
        if attempt.get("candidates") and "reasons" in attempt["candidates"][0]:
            attempt["candidates"] = [
                {k: v for k, v in candidate.items() if k not in ("reasons", "factors")}
                for candidate in attempt["candidates"][:5]
            ]
    for download in (record.get("downloads") or [])[:-2]:
        download.pop("files", None)

