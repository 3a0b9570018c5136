"""The pending queue, its history (approved, rejected) and the artist block list."""

from __future__ import annotations

from typing import Any, Callable

from app.matching import artist_key
from app.records import utc_now_iso
from app.repository.store import BLOCKED_ARTISTS, PENDING_QUEUE, PROCESSED
from app.wishlist import ALBUM, WishlistEntry, normalise_name


class QueueRecords:
    # queue ----------------------------------------------------------------

    def queue(self) -> dict:
        return self.store.read(PENDING_QUEUE)

    def seen_mbids(self) -> set[str]:
        """Every album id a discovery source must not suggest again."""
        queue = self.queue()
        seen = {item["mbid"] for item in queue["pending"]}
        seen.update(item["mbid"] for item in queue["approved"] if isinstance(item, dict))
        seen.update(entry for entry in queue["approved"] if isinstance(entry, str))
        seen.update(queue["rejected"])
        seen.update(self.store.read(PROCESSED))
        return seen

    def add_pending(self, items: list[dict]) -> list[dict]:
        """Append validated items whose mbid is not pending, approved or rejected yet."""
        with self.store.transaction(PENDING_QUEUE) as queue:
            known = {item["mbid"] for item in queue["pending"]}
            known.update(_approved_mbid(entry) for entry in queue["approved"])
            known.update(queue["rejected"])
            added = []
            for item in items:
                if item["mbid"] not in known:
                    known.add(item["mbid"])
                    queue["pending"].append(item)
                    added.append(item)
        return added

    def pending_page(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        sort: str = "date",
        descending: bool = True,
        source: str | None = None,
        text: str | None = None,
    ) -> tuple[list[dict], int]:
        """One page of pending items after filtering and sorting, and the filtered total."""
        items = self.queue()["pending"]
        if source:
            items = [item for item in items if item.get("source") == source]
        if text:
            needle = text.casefold()
            items = [
                item
                for item in items
                if needle in item.get("artist", "").casefold() or needle in item.get("album", "").casefold()
            ]
        ordered = sorted(items, key=_SORT_KEYS[sort], reverse=descending)
        return ordered[offset : offset + limit], len(ordered)

    def approve(self, mbids: list[str]) -> list[dict]:
        """Move pending items to approved and put them on the wishlist.

        The wishlist is written inside the queue transaction (lock order:
        pending_queue, then wishlist). If the queue write then fails, the item
        stays pending and already wished for; approving it again is harmless.
        """
        wanted = set(mbids)
        now = utc_now_iso()
        with self.store.transaction(PENDING_QUEUE) as queue:
            moved, kept = _split_by_mbid(queue["pending"], wanted)
            self.add_to_wishlist([_wishlist_entry_for(item) for item in moved])
            queue["pending"] = kept
            queue["approved"].extend({**item, "approved_at": now} for item in moved)
        return moved

    def reject(self, mbids: list[str]) -> list[dict]:
        """Move pending items to rejected; their mbids are never suggested again."""
        wanted = set(mbids)
        now = utc_now_iso()
        with self.store.transaction(PENDING_QUEUE) as queue:
            moved, kept = _split_by_mbid(queue["pending"], wanted)
            queue["pending"] = kept
            rejected = set(queue["rejected"])
            for item in moved:
                if item["mbid"] not in rejected:
                    queue["rejected"].append(item["mbid"])
                queue["rejected_info"][item["mbid"]] = {**item, "rejected_at": now}
        return moved

    def find_pending(self, mbid: str) -> dict | None:
        return next((item for item in self.queue()["pending"] if item["mbid"] == mbid), None)

    def pending_count(self) -> int:
        return len(self.queue()["pending"])

    def pending_sources(self) -> list[str]:
        """The sources present in the pending queue (for the queue page's filter)."""
        return sorted({item.get("source") or "manual" for item in self.queue()["pending"]})

    def matching_pending(self, *, source: str | None = None, text: str | None = None) -> list[dict]:
        """Every pending item a queue filter matches."""
        everything = len(self.queue()["pending"])
        return self.pending_page(limit=everything, source=source, text=text)[0]

    def approve_matching(self, *, source: str | None = None, text: str | None = None) -> list[dict]:
        """Approve every pending item the filter matches now ("approve all" on the queue page)."""
        return self.approve([item["mbid"] for item in self.matching_pending(source=source, text=text)])

    def reject_matching(self, *, source: str | None = None, text: str | None = None) -> list[dict]:
        return self.reject([item["mbid"] for item in self.matching_pending(source=source, text=text)])

    def remove_pending(self, mbids: list[str]) -> list[dict]:
        """Drop pending items without rejecting them: a source may suggest them again."""
        wanted = set(mbids)
        with self.store.transaction(PENDING_QUEUE) as queue:
            removed, queue["pending"] = _split_by_mbid(queue["pending"], wanted)
        return removed

    def undo_approve(self, mbids: list[str], keep_wishlist: bool = False) -> list[dict]:
        """Put approved items back in the pending queue and take their wishlist entries off.

        An entry stays on the wishlist while another approved item still wants
        it, or with ``keep_wishlist`` (it was there before the approval). Lock
        order as in ``approve``: pending_queue, then wishlist.
        """
        wanted = set(mbids)
        with self.store.transaction(PENDING_QUEUE) as queue:
            back, kept = [], []
            for entry in queue["approved"]:
                (back if isinstance(entry, dict) and entry["mbid"] in wanted else kept).append(entry)
            pending = {item["mbid"] for item in queue["pending"]}
            restored = [_without(item, "approved_at") for item in back if item["mbid"] not in pending]
            still_wanted = {_wishlist_entry_for(entry).key for entry in kept if isinstance(entry, dict)}
            unwanted = [e for e in map(_wishlist_entry_for, back) if e.key not in still_wanted]
            if unwanted and not keep_wishlist:
                self.remove_from_wishlist(unwanted)
            queue["approved"] = kept
            queue["pending"].extend(restored)
        return restored

    def unreject(self, mbids: list[str]) -> list[dict]:
        """Take MBIDs off the rejected list (undo of a reject, or "un-reject" from the history).

        Items whose details were kept go back to the pending queue and are
        returned; a bare MBID from an older file is only forgotten.
        """
        wanted = list(dict.fromkeys(mbids))
        with self.store.transaction(PENDING_QUEUE) as queue:
            drop = set(wanted)
            queue["rejected"] = [mbid for mbid in queue["rejected"] if mbid not in drop]
            pending = {item["mbid"] for item in queue["pending"]}
            restored = []
            for mbid in wanted:
                info = queue["rejected_info"].pop(mbid, None)
                if isinstance(info, dict) and mbid not in pending:
                    item = _without(info, "rejected_at")
                    queue["pending"].append(item)
                    restored.append(item)
        return restored

    def approved_page(self, *, offset: int = 0, limit: int = 50, text: str | None = None) -> tuple[list[dict], int]:
        """Approved items, newest first, and their total (older files may hold bare MBIDs)."""
        items = [entry if isinstance(entry, dict) else {"mbid": entry} for entry in reversed(self.queue()["approved"])]
        return _page(_with_text(items, text), offset, limit)

    def rejected_page(self, *, offset: int = 0, limit: int = 50, text: str | None = None) -> tuple[list[dict], int]:
        """Rejected items, newest first, with their details where they were kept."""
        queue = self.queue()
        info = queue["rejected_info"]
        items = [info.get(mbid) or {"mbid": mbid} for mbid in reversed(queue["rejected"])]
        return _page(_with_text(items, text), offset, limit)

    # block list ------------------------------------------------------------------

    def blocked_artists(self) -> list[str]:
        return self.store.read(BLOCKED_ARTISTS)

    def block_artist(self, name: str) -> list[dict]:
        """Put an artist on the block list and reject their pending albums, in one step.

        Names compare as the pipelines compare them (app.matching.artist_key).
        Lock order: pending_queue, then blocked_artists. Returns the rejected items.
        """
        name = normalise_name(name)
        if not name:
            raise ValueError("artist is empty")
        key = artist_key(name)
        with self.store.transaction(PENDING_QUEUE) as queue:
            moved, kept = [], []
            for item in queue["pending"]:
                (moved if artist_key(item.get("artist") or "") == key else kept).append(item)
            with self.store.transaction(BLOCKED_ARTISTS) as blocked:
                if key not in {artist_key(other) for other in blocked}:
                    blocked.append(name)
            queue["pending"] = kept
            _record_rejected(queue, moved, utc_now_iso())
        return moved

    def unblock_artist(self, name: str) -> bool:
        """Take an artist off the block list; False when they were not on it."""
        key = artist_key(name)
        with self.store.transaction(BLOCKED_ARTISTS) as blocked:
            before = len(blocked)
            blocked[:] = [other for other in blocked if artist_key(other) != key]
            return len(blocked) != before



_SORT_KEYS: dict[str, Callable[[dict], Any]] = {
    "date": lambda item: item.get("added_at") or "",
    "score": lambda item: item.get("score") or 0,
    "artist": lambda item: ((item.get("artist") or "").casefold(), (item.get("album") or "").casefold()),
    "year": lambda item: item.get("year") or 0,
}
SORTS = tuple(_SORT_KEYS)

def _approved_mbid(entry: dict | str) -> str:
    return entry["mbid"] if isinstance(entry, dict) else entry


def _wishlist_entry_for(item: dict) -> WishlistEntry:
    kind = ALBUM if item.get("type", "album") == "album" else "track"
    return WishlistEntry.create(item["artist"], item["album"], kind)


def _split_by_mbid(items: list[dict], wanted: set[str]) -> tuple[list[dict], list[dict]]:
    chosen, rest = [], []
    for item in items:
        (chosen if item["mbid"] in wanted else rest).append(item)
    return chosen, rest


def _without(item: dict, key: str) -> dict:
    return {k: v for k, v in item.items() if k != key}


def _record_rejected(queue: dict, items: list[dict], now: str) -> None:
    rejected = set(queue["rejected"])
    for item in items:
        if item["mbid"] not in rejected:
            rejected.add(item["mbid"])
            queue["rejected"].append(item["mbid"])
        queue["rejected_info"][item["mbid"]] = {**item, "rejected_at": now}


def _with_text(items: list[dict], text: str | None) -> list[dict]:
    if not text:
        return items
    needle = text.casefold()
    return [item for item in items
            if needle in (item.get("artist") or "").casefold() or needle in (item.get("album") or "").casefold()]


def _page(items: list[dict], offset: int, limit: int) -> tuple[list[dict], int]:
    return items[offset : offset + limit], len(items)

