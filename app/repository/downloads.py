"""download_history.json: one record per wishlist entry, the uploaders' record, recent search starts."""

from __future__ import annotations

from typing import Any, Callable

from app.downloads import (
    ACTIVE_STATES,
    ATTEMPTS_KEPT,
    DONE_STATES,
    EVENTS_KEPT,
    GROUPS,
    STATES,
    Download,
    NotAllowedInState,
    NotFound,
    add_event,
    ask_retry,
    ask_search_again,
    cancel_current,
    new_download,
    set_state,
    trim,
)
from app.records import utc_now_iso
from app.repository.store import DOWNLOAD_HISTORY, DOWNLOADED
from app.wishlist import WishlistEntry, normalise_name


class DownloadRecords:
    def download_history(self) -> dict:
        return self.store.read(DOWNLOAD_HISTORY)

    # downloads ------------------------------------------------------------------
    # download_history.json: one record per wishlist entry (keyed by its text,
    # "Artist - Album"), the uploaders' record with us, and recent search starts.
    # docs/data-files.md describes every field. A record is parsed into an
    # app.downloads.Download here and only here, and written back with to_dict.

    def download_records(self, states: list[str] | tuple[str, ...] | None = None) -> list[Download]:
        """Records, most recently updated first; removed ones left out."""
        entries = self.download_history().get("entries", {})
        wanted = set(states) if states else None
        records = [
            Download.from_dict(key, record)
            for key, record in entries.items()
            if record.get("state") != "removed" and (wanted is None or record.get("state") in wanted)
        ]
        records.sort(key=lambda record: record.updated_at or "", reverse=True)
        return records

    def downloads_to_follow(self) -> bool:
        """Whether any download needs its transfers followed (cheap: no request, a cached read)."""
        entries = self.download_history().get("entries", {})
        return any(Download.from_dict(key, record).needs_following for key, record in entries.items())

    def downloads_following(self) -> list[Download]:
        """Every download whose transfers slskd must be asked about (removed ones included)."""
        entries = self.download_history().get("entries", {})
        records = [Download.from_dict(key, record) for key, record in entries.items()]
        return [record for record in records if record.needs_following]

    def download_keys(self) -> set[str]:
        """The keys of every record, removed ones included."""
        return set(self.download_history().get("entries", {}))

    def downloads_by_key(self) -> dict[str, Download]:
        """Every record by its key, removed ones included."""
        entries = self.download_history().get("entries", {})
        return {key: Download.from_dict(key, record) for key, record in entries.items()}

    def download_record(self, key: str) -> Download | None:
        record = self.download_history().get("entries", {}).get(key)
        return Download.from_dict(key, record) if record is not None else None

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
        change: Callable[[Download], Any],
        *,
        entry: WishlistEntry | None = None,
        now: str | None = None,
    ) -> Download | None:
        """Apply ``change(record)`` to a private copy of the record and save it, in one transaction.

        A missing record is created from ``entry`` first (without ``entry`` the
        change is skipped). ``change`` returning False leaves the file as it
        was. Returns the record as saved, or None.
        """
        now = now or utc_now_iso()
        try:
            with self.store.transaction(DOWNLOAD_HISTORY) as history:
                entries = history.setdefault("entries", {})
                current = entries.get(key)
                if current is None:
                    if entry is None:
                        raise _Unchanged(None)
                    record = new_download_record(entry, now, key)
                else:
                    record = Download.from_dict(key, current)
                if change(record) is False:
                    raise _Unchanged(Download.from_dict(key, current) if current is not None else None)
                trim_download(record)
                record.updated_at = now
                entries[key] = record.to_dict()
        except _Unchanged as unchanged:
            return unchanged.record
        return record

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

    def change_download(self, key: str, change: Callable[[Download], Any], now: str | None = None) -> Download:
        """Apply a state change of ``app.downloads`` to a record; ``NotFound`` when there is none (or it
        was removed), and whatever the change raises (``NotAllowedInState``) leaves the file as it was."""
        def guarded(record: Download) -> Any:
            if record.state == "removed":
                raise NotFound(f"There is no download for {key[:200]}.")
            return change(record)

        updated = self.update_download_record(key, guarded, now=now)
        if updated is None:
            raise NotFound(f"There is no download for {key[:200]}.")
        return updated

    def retry_download(self, key: str, now: str | None = None) -> Download | None:
        """"Retry" (``app.downloads.ask_retry``); a downloaded one is left as it is. None if unknown."""
        def change(record: Download) -> Any:
            try:
                ask_retry(record, now)
            except NotAllowedInState:
                return False
            return None

        now = now or utc_now_iso()
        return self.update_download_record(key, change, now=now)

    def search_download_again(
        self, key: str, query: str, *, entry: WishlistEntry | None = None, now: str | None = None
    ) -> Download | None:
        """"Search again" with an edited query (``app.downloads.ask_search_again``): searched at the next run."""
        query = normalise_name(query)
        if not query:
            raise ValueError("the query is empty")
        now = now or utc_now_iso()
        return self.update_download_record(key, lambda record: ask_search_again(record, query, now), entry=entry,
                                           now=now)

    def remove_download(self, key: str, *, keep_wishlist: bool = False, now: str | None = None) -> bool:
        """"Remove" on the Downloads page; False when there is no such record.

        A downloaded entry only leaves the history. Otherwise its transfers are
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
            if current.get("state") not in DONE_STATES and not keep_wishlist:
                self.remove_from_wishlist([e for e in self.wishlist_entries() if e.text.casefold() == key.casefold()])
                self.unmark_downloaded([key])
            changed = Download.from_dict(key, current)
            cancel_current_download(changed, now, "removed")
            if changed.cancel:
                set_download_state(changed, "removed", now, "removed; its transfers are cancelled at the next check")
                changed.updated_at = now
                entries[key] = changed.to_dict()
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




# --- download history records: the model is app.downloads ---------------------------------------

DOWNLOAD_STATES = STATES
ACTIVE_DOWNLOAD_STATES = ACTIVE_STATES
#: How the Downloads page can group the states (``download_records(DOWNLOAD_GROUPS["active"])``).
DOWNLOAD_GROUPS = GROUPS
DOWNLOAD_EVENTS_KEPT = EVENTS_KEPT
DOWNLOAD_ATTEMPTS_KEPT = ATTEMPTS_KEPT
add_download_event = add_event
set_download_state = set_state
cancel_current_download = cancel_current
trim_download = trim


class _Unchanged(Exception):
    def __init__(self, record: Download | None):
        self.record = record


def needs_following(record: Download) -> bool:
    """A download whose transfers slskd must be asked about: active, or waiting to be cancelled."""
    return record.needs_following


def new_download_record(entry: WishlistEntry, now: str, key: str | None = None) -> Download:
    return new_download(key if key is not None else entry.text, entry.artist, entry.title, entry.kind, now)
