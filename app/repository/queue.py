"""The pending queue, its history (approved, rejected), the undo of bulk decisions and the artist block list."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from app.matching import artist_key
from app.records import utc_iso, utc_now_iso
from app.repository.store import BLOCKED_ARTISTS, PENDING_QUEUE, PROCESSED, QUEUE_UNDO
from app.wishlist import WishlistEntry, entry_for_item, normalise_name

#: How long a bulk approve or reject can be undone. The page shows its Undo for a few
#: seconds, but a page without JavaScript keeps it on screen: the server allows longer.
UNDO_SECONDS = 600
#: Undoable actions remembered at most; older ones are forgotten (as if expired).
UNDO_KEPT = 10
DECISIONS = ("approve", "reject")


class NothingToUndo(Exception):
    """An undo that cannot happen; nothing was changed.

    ``reason``: ``unknown`` (no such action: already undone, or forgotten),
    ``expired``, or ``moved_on`` (none of its albums is where it left them).
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


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

        The wishlist transaction is nested in the queue's (lock order:
        pending_queue, then wishlist), so both files are written together or
        neither is: a failed write leaves the item pending and off the wishlist.
        """
        now = utc_now_iso()
        with self.store.transaction(PENDING_QUEUE) as queue:
            moved = _take_pending(queue, set(mbids))
            self.add_to_wishlist([_wishlist_entry_for(item) for item in moved])
            queue["approved"].extend({**item, "approved_at": now} for item in moved)
        return moved

    def reject(self, mbids: list[str]) -> list[dict]:
        """Move pending items to rejected; their mbids are never suggested again."""
        now = utc_now_iso()
        with self.store.transaction(PENDING_QUEUE) as queue:
            moved = _take_pending(queue, set(mbids))
            _record_rejected(queue, moved, now)
        return moved

    def decide_many(self, action: str, mbids: list[str], *,
                    now: datetime | None = None) -> tuple[list[dict], str | None]:
        """Approve or reject pending items as ``approve``/``reject`` do, and remember how to undo it.

        Returns the items moved and the id ``undo_decision`` takes (None when
        nothing moved). The undo record keeps the MBIDs, not the items, so even
        10,000 of them stay a small record; for an approval it also lists the
        albums whose wishlist entry was there before, which its undo leaves on.
        One step under the queue's lock; lock order: pending_queue, queue_undo,
        wishlist.
        """
        if action not in DECISIONS:
            raise ValueError(f"unknown decision {action!r}")
        moment = now or datetime.now(timezone.utc)
        at = utc_iso(moment)
        with self.store.transaction(PENDING_QUEUE) as queue:
            moved = _take_pending(queue, set(mbids))
            if not moved:
                return [], None
            with self.store.transaction(QUEUE_UNDO) as undoable:
                kept_on_wishlist = []
                if action == "approve":
                    added = {entry.key for entry in self.add_to_wishlist([_wishlist_entry_for(i) for i in moved])}
                    kept_on_wishlist = [i["mbid"] for i in moved if _wishlist_entry_for(i).key not in added]
                    queue["approved"].extend({**item, "approved_at": at} for item in moved)
                else:
                    _record_rejected(queue, moved, at)
                _forget_old_undos(undoable, at, room=1)
                undo_id = os.urandom(8).hex()  # not secrets.token_hex: it drags OpenSSL into every runner (+2.5 MB)
                undoable[undo_id] = {
                    "action": action, "at": at, "expires_at": utc_iso(moment + timedelta(seconds=UNDO_SECONDS)),
                    "mbids": [item["mbid"] for item in moved], "kept_on_wishlist": kept_on_wishlist,
                }
        return moved, undo_id

    def decide_matching(self, action: str, *, source: str | None = None, text: str | None = None,
                        now: datetime | None = None) -> tuple[list[dict], str | None]:
        """``decide_many`` for every pending item the filter matches now ("approve all" on the queue page)."""
        mbids = [item["mbid"] for item in self.matching_pending(source=source, text=text)]
        return self.decide_many(action, mbids, now=now)

    def undo_decision(self, undo_id: str, *, now: datetime | None = None) -> tuple[str, list[dict]]:
        """Undo a ``decide_many``: (``approve`` or ``reject``, the items back in the pending queue).

        Only albums still where that decision left them come back (one put
        back and decided again since stays as it is). Undoing an approval
        takes off the wishlist entries it added, except those another approved
        album still wants. The undo is used up. Raises NothingToUndo, changing
        nothing, when it is unknown, expired, or has nothing left to put back.
        One step under the queue's lock; lock order: pending_queue, queue_undo,
        wishlist.
        """
        at = utc_iso(now or datetime.now(timezone.utc))
        with self.store.transaction(PENDING_QUEUE) as queue:
            with self.store.transaction(QUEUE_UNDO) as undoable:
                record = undoable.get(undo_id) if isinstance(undo_id, str) else None
                if record is None:
                    raise NothingToUndo("unknown")
                if record["expires_at"] <= at:
                    raise NothingToUndo("expired")
                wanted = set(record["mbids"])
                if record["action"] == "approve":
                    restored, unwanted = _restore_approved(queue, wanted, approved_at=record["at"],
                                                           kept_on_wishlist=set(record.get("kept_on_wishlist", [])))
                else:
                    restored, unwanted = _restore_rejected(queue, record["mbids"], rejected_at=record["at"]), []
                if not restored:
                    raise NothingToUndo("moved_on")
                del undoable[undo_id]
                _forget_old_undos(undoable, at)
                if unwanted:
                    self.remove_from_wishlist(unwanted)
        return record["action"], restored

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
            restored, unwanted = _restore_approved(queue, wanted, kept_on_wishlist=wanted if keep_wishlist else set())
            if unwanted:
                self.remove_from_wishlist(unwanted)
        return restored

    def unreject(self, mbids: list[str]) -> list[dict]:
        """Take MBIDs off the rejected list (undo of a reject, or "un-reject" from the history).

        Items whose details were kept go back to the pending queue and are
        returned; a bare MBID from an older file is only forgotten.
        """
        with self.store.transaction(PENDING_QUEUE) as queue:
            return _restore_rejected(queue, mbids)

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
    return entry_for_item(item)


def _take_pending(queue: dict, wanted: set[str]) -> list[dict]:
    moved, queue["pending"] = _split_by_mbid(queue["pending"], wanted)
    return moved


def _restore_approved(queue: dict, wanted: set[str], *, approved_at: str | None = None,
                      kept_on_wishlist: set[str]) -> tuple[list[dict], list[WishlistEntry]]:
    """Move approved items back to pending (in a queue transaction): (restored, wishlist entries to take off).

    With ``approved_at``, only items approved at that moment (by that decision)
    move. An entry stays on the wishlist when its album is in ``kept_on_wishlist``
    (it was there before the approval) or another approved item still wants it.
    """
    back, kept = [], []
    for entry in queue["approved"]:
        ours = isinstance(entry, dict) and entry["mbid"] in wanted
        if ours and approved_at is not None:
            ours = entry.get("approved_at") == approved_at
        (back if ours else kept).append(entry)
    pending = {item["mbid"] for item in queue["pending"]}
    restored = [_without(item, "approved_at") for item in back if item["mbid"] not in pending]
    still_wanted = {_wishlist_entry_for(entry).key for entry in kept if isinstance(entry, dict)}
    unwanted = [_wishlist_entry_for(item) for item in back if item["mbid"] not in kept_on_wishlist]
    queue["approved"] = kept
    queue["pending"].extend(restored)
    return restored, [entry for entry in unwanted if entry.key not in still_wanted]


def _restore_rejected(queue: dict, mbids: list[str], *, rejected_at: str | None = None) -> list[dict]:
    """Take MBIDs off the rejected list (in a queue transaction); items with kept details go back to pending.

    With ``rejected_at``, only items rejected at that moment (by that decision) are touched.
    """
    wanted = list(dict.fromkeys(mbids))
    if rejected_at is not None:
        info = queue["rejected_info"]
        wanted = [mbid for mbid in wanted
                  if isinstance(info.get(mbid), dict) and info[mbid].get("rejected_at") == rejected_at]
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


def _forget_old_undos(undoable: dict, now: str, room: int = 0) -> None:
    """Drop expired undo records, and the oldest beyond ``UNDO_KEPT`` (less ``room`` for new ones)."""
    live = sorted(((undo_id, record) for undo_id, record in undoable.items() if record["expires_at"] > now),
                  key=lambda pair: pair[1]["at"])
    undoable.clear()
    undoable.update(live[max(0, len(live) - (UNDO_KEPT - room)):])


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

