"""The pending queue, its history (approved, rejected), the undo of bulk decisions and the artist block list.

``pending_queue.json`` holds the pending albums only, so that rewriting it
at each decision costs the same after years of them. The decided albums are in
``history/`` (see ``history.py``), which a decision appends to: their MBIDs in
``decided.txt`` (what every decision checks), their records in month segments.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from app.learning import REJECT_REASONS
from app.matching import artist_key
from app.records import utc_iso, utc_now_iso
from app.repository.history import DECIDED, History, history_line
from app.repository.store import BLOCKED_ARTISTS, PENDING_QUEUE, PROCESSED, QUEUE_UNDO, StorageError
from app.wishlist import WishlistEntry, entry_for_item, normalise_name

log = logging.getLogger("resonance.repository")

#: How long a bulk approve or reject can be undone. The page shows its Undo for a few
#: seconds, but a page without JavaScript keeps it on screen: the server allows longer.
UNDO_SECONDS = 600
#: Undoable actions remembered at most; older ones are forgotten (as if expired).
UNDO_KEPT = 10
DECISIONS = ("approve", "reject")
#: Decisions appended after the queue file was last written, at most; the next one rewrites it.
#: Each costs a set lookup per pending album on a page; a rewrite costs a few ms at 10,000 pending.
REWRITE_AFTER = 500
#: Reject lines the block offers look at, newest first (docs/discovery.md): a page load reads only these.
RECENT_REJECTIONS = 1000
#: Marks a queue given by ``_decision_transaction`` that is not written back.
APPENDED_ONLY = "appended only"


class NothingToUndo(Exception):
    """An undo that cannot happen; nothing was changed.

    ``reason``: ``unknown`` (no such action: already undone, or forgotten),
    ``expired``, or ``moved_on`` (none of its albums is where it left them).
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class QueueRecords:
    history: History

    # queue ----------------------------------------------------------------

    def queue(self) -> dict:
        """The queue as it stands: the file's pending albums less those decided since it was written
        (see history.py). Shared and read-only, like the store's."""
        return self._view(self._queue_file())

    def _queue_file(self) -> dict:
        """pending_queue.json as it is on disk (its pending list may hold albums decided since: see queue())."""
        self.move_history_out()
        return self.store.read(PENDING_QUEUE)

    def _view(self, content: dict) -> dict:
        removed = self.history.removed(content)
        if not removed:
            return content
        kept = getattr(self, "_kept_view", None)
        if kept is None or kept[0] is not content or kept[1] is not removed:
            view = {**content, "pending": [item for item in content["pending"] if item["mbid"] not in removed]}
            kept = self._kept_view = (content, removed, view)
        return kept[2]

    @contextlib.contextmanager
    def _queue_transaction(self) -> Iterator[dict]:
        """A change that rewrites the queue file; the decisions appended since it was last written are folded in."""
        self.move_history_out()
        with self.store.transaction(PENDING_QUEUE) as queue:
            self.history.settle(queue)
            yield queue

    @contextlib.contextmanager
    def _decision_transaction(self) -> Iterator[dict]:
        """An approve or reject: the queue file locked, read and left as it is; the decision is appended to
        history/ (see history.py). Every ``REWRITE_AFTER`` such decisions, one rewrites it instead."""
        if len(self.history.removed(self._queue_file())) >= REWRITE_AFTER:
            with self._queue_transaction() as queue:
                yield queue
            return
        with self.store.transaction(PENDING_QUEUE, write=False) as content:
            self.history.repair(content)
            # The file's list as it is (not copied: _take_pending only picks from it), and what is no longer pending.
            yield {**content, APPENDED_ONLY: self.history.removed(content)}

    def move_history_out(self) -> None:
        """Move the decided albums' records of a queue file from before history/ there: once, all or nothing.

        Such a file holds approved albums as whole records and the rejected
        ones' in ``rejected_info``. Under the queue's lock: the file is first
        copied to ``pending_queue.json.before-history`` (kept), then every
        segment and decided.txt are written whole (temp file, rename), then the
        queue, with the pending albums only and the history's lengths, replaces
        the old one: that rename is the commit. A crash before it leaves the old file, and the next start
        writes the same segments again. Checked once per process.
        """
        if getattr(self, "_history_moved", False) or time.monotonic() < getattr(self, "_history_retry", 0):
            return
        if _from_before_history(self.store.read(PENDING_QUEUE)):
            try:
                with self.store.transaction(PENDING_QUEUE) as queue:
                    if _from_before_history(queue):
                        self.history.move_in(queue, self.store.path(PENDING_QUEUE))
            except StorageError as exc:
                # A read-only or full data dir: the old file still reads (its records as bare
                # MBIDs on the History page); try again in a minute, not at every read.
                log.warning("pending_queue.json: the decided albums cannot be moved to history/ yet: %s", exc)
                self._history_retry = time.monotonic() + 60
                return
        self._history_moved = True

    def seen_mbids(self) -> set[str]:
        """Every album id a discovery source must not suggest again."""
        queue = self.queue()
        seen = {item["mbid"] for item in queue["pending"]}
        for decided in self._decided(queue):
            seen.update(decided)
        seen.update(self.store.read(PROCESSED))
        return seen

    def add_pending(self, items: list[dict]) -> list[dict]:
        """Append validated items whose mbid is not pending, approved or rejected yet."""
        with self._queue_transaction() as queue:
            known = {item["mbid"] for item in queue["pending"]}
            for decided in self._decided(queue):
                known.update(decided)
            added = []
            for item in items:
                if item["mbid"] not in known:
                    known.add(item["mbid"])
                    queue["pending"].append(item)
                    added.append(item)
        return added

    def add_pending_members(self, members_by_mbid: dict[str, list[str]], points_per_member: float = 0.0) -> int:
        """Add household members to pending items' ``for_members`` (an album recommended again, now to
        someone else too), raising the score by ``points_per_member`` for each one added (at most 100).
        Returns how many items changed."""
        changed = 0
        with self._queue_transaction() as queue:
            pending = []
            for item in queue["pending"]:
                have = list(item.get("for_members") or [])
                known = {name.casefold() for name in have}
                added = [name for name in members_by_mbid.get(item["mbid"], []) if name.casefold() not in known]
                if added:
                    # A new record, not a change to the one read: readers may hold the file as it was.
                    item = {**item, "for_members": have + added}
                    if points_per_member and item.get("score") is not None:
                        item["score"] = round(min(100.0, item["score"] + points_per_member * len(added)), 1)
                    changed += 1
                pending.append(item)
            queue["pending"] = pending
        return changed

    def pending_page(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        sort: str = "date",
        descending: bool = True,
        source: str | None = None,
        text: str | None = None,
        member: str | None = None,
    ) -> tuple[list[dict], int]:
        """One page of pending items after filtering and sorting, and the filtered total.

        ``member``: only items recommended to that household member (their ``for_members``)."""
        self.move_history_out()
        # Sorted once per version of the file; filtering the sorted list keeps its order.
        items = self.store.derived(PENDING_QUEUE, ("sorted", sort, descending),
                                   lambda queue: sorted(queue["pending"], key=_SORT_KEYS[sort], reverse=descending))
        removed = self.history.removed(self.store.read(PENDING_QUEUE))
        if removed:  # decided since the file was written
            items = [item for item in items if item["mbid"] not in removed]
        if source:
            items = [item for item in items if item.get("source") == source]
        if member:
            wanted = member.casefold()
            items = [item for item in items if any(name.casefold() == wanted for name in item.get("for_members") or ())]
        if text:
            needle = text.casefold()
            items = [
                item
                for item in items
                if needle in item.get("artist", "").casefold() or needle in item.get("album", "").casefold()
            ]
        return items[offset : offset + limit], len(items)

    def approve(self, mbids: list[str], decided_by: str | None = None, *, feedback: bool = False) -> list[dict]:
        """Move pending items to approved and put them on the wishlist.

        The wishlist transaction is nested in the queue's (lock order:
        pending_queue, then wishlist), so both files are written together or
        neither is: a failed write leaves the item pending and off the wishlist.
        ``feedback``: queue ListenBrainz feedback for them (feedback.py).
        """
        now = utc_now_iso()
        with self._decision_transaction() as queue:
            moved = _take_pending(queue, set(mbids))
            self.add_to_wishlist([_wishlist_entry_for(item) for item in moved])
            self._record_decided(queue, "approve", moved, now, decided_by, feedback=feedback)
        return moved

    def reject(self, mbids: list[str], decided_by: str | None = None, *, reason: str | None = None,
               feedback: bool = False) -> list[dict]:
        """Move pending items to rejected; their mbids are never suggested again.

        ``reason``: one of ``app.learning.REJECT_REASONS``, kept in the decision's record.
        """
        _check_reason(reason)
        now = utc_now_iso()
        with self._decision_transaction() as queue:
            moved = _take_pending(queue, set(mbids))
            self._record_decided(queue, "reject", moved, now, decided_by, reason=reason, feedback=feedback)
        return moved

    def give_reason(self, mbid: str, reason: str, *, feedback: bool = False) -> dict | None:
        """The reason of a reject already made, added to its record; the record, or None when the album
        is not rejected now (undone, or never).

        The history is never rewritten: the decision's line is appended again, the
        same but for its reason and ``noted_at`` (its ``at`` unchanged, so an undo still finds it);
        every reader takes an album's newest line. Under the queue's lock.
        """
        _check_reason(reason)
        with self._decision_transaction() as queue:
            if mbid not in self._decided(queue)[1]:
                return None
            found, _ = self.history.find("reject", {mbid})
            line = found.get(mbid)
            if line is None:
                return None
            if line.get("reason") == reason:
                return line
            line = {**line, "reason": reason, "noted_at": utc_now_iso()}
            self.history.append(queue, [line], [], rewritten=APPENDED_ONLY not in queue)
            if feedback:
                self._queue_feedback([("reject", line["item"], reason)], line.get("at") or utc_now_iso(),
                                     line.get("decided_by"))
        return line

    def decision_records(self) -> list[dict]:
        """The newest history line of every album decided now, newest first: what decisions teach
        (app/learning.py). The lines of albums undone since are left out. Reads the whole history once per
        change of it (kept per process: the queue page asks at every load). Shared and read-only."""
        queue = self.queue()
        version = self._history_version()
        kept = getattr(self, "_kept_records", None)
        if kept is not None and kept[0] is queue and kept[1] == version:
            return kept[2]
        records = self._read_decision_records(queue)
        self._kept_records = (queue, version, records)
        return records

    def recent_rejections(self) -> list[dict]:
        """The newest line of each album among the ``RECENT_REJECTIONS`` newest reject lines, newest first:
        what the queue page's block offers count. Reads only that much of the history's end, once per
        change of it (kept per process), and not decided.txt: some may have been undone since (see
        ``rejected_now``). Shared and read-only."""
        version = self._history_version()
        kept = getattr(self, "_kept_rejections", None)
        if kept is not None and kept[0] == version:
            return kept[1]
        seen: set[str] = set()
        records = []
        for line in itertools.islice(self.history.lines(action="reject"), RECENT_REJECTIONS):
            if line["item"]["mbid"] not in seen:
                seen.add(line["item"]["mbid"])
                records.append(line)
        self._kept_rejections = (version, records)
        return records

    def rejected_now(self, mbids: set[str]) -> set[str]:
        """Those of ``mbids`` rejected now (decided.txt replayed whole: read it only when it matters)."""
        return mbids & self._decided(self.queue())[1].keys()

    def _history_version(self) -> tuple:
        """Changes whenever a decision, an undo or a reason is written (decided.txt, the newest segment)."""
        return (_stat_key(self.history.folder / DECIDED),
                *(_stat_key(self.history.folder / name) for name in self.history.segments()[:1]))

    def _read_decision_records(self, queue: dict) -> list[dict]:
        approved, rejected = self._decided(queue)
        seen: set[str] = set()
        records = []
        for line in self.history.lines():
            mbid = line["item"]["mbid"]
            if mbid in seen:
                continue
            seen.add(mbid)
            if mbid in (approved if line["action"] == "approve" else rejected):
                records.append(line)
        return records

    def decide_many(self, action: str, mbids: list[str], *, now: datetime | None = None,
                    decided_by: str | None = None, feedback: bool = False) -> tuple[list[dict], str | None]:
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
        with self._decision_transaction() as queue:
            moved = _take_pending(queue, set(mbids))
            if not moved:
                return [], None
            with self.store.transaction(QUEUE_UNDO) as undoable:
                kept_on_wishlist = []
                if action == "approve":
                    added = {entry.key for entry in self.add_to_wishlist([_wishlist_entry_for(i) for i in moved])}
                    kept_on_wishlist = [i["mbid"] for i in moved if _wishlist_entry_for(i).key not in added]
                self._record_decided(queue, action, moved, at, decided_by, feedback=feedback)
                _forget_old_undos(undoable, at, room=1)
                undo_id = os.urandom(8).hex()  # not secrets.token_hex: it drags OpenSSL into every runner (+2.5 MB)
                undoable[undo_id] = {
                    "action": action, "at": at, "expires_at": utc_iso(moment + timedelta(seconds=UNDO_SECONDS)),
                    "mbids": [item["mbid"] for item in moved], "kept_on_wishlist": kept_on_wishlist,
                }
        return moved, undo_id

    def decide_matching(self, action: str, *, source: str | None = None, text: str | None = None,
                        member: str | None = None, now: datetime | None = None,
                        decided_by: str | None = None, feedback: bool = False) -> tuple[list[dict], str | None]:
        """``decide_many`` for every pending item the filter matches now ("approve all" on the queue page)."""
        mbids = [item["mbid"] for item in self.matching_pending(source=source, text=text, member=member)]
        return self.decide_many(action, mbids, now=now, decided_by=decided_by, feedback=feedback)

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
        with self._queue_transaction() as queue:
            with self.store.transaction(QUEUE_UNDO) as undoable:
                record = undoable.get(undo_id) if isinstance(undo_id, str) else None
                if record is None:
                    raise NothingToUndo("unknown")
                if record["expires_at"] <= at:
                    raise NothingToUndo("expired")
                wanted = set(record["mbids"])
                if record["action"] == "approve":
                    restored, unwanted = self._restore_approved(
                        queue, wanted, approved_at=record["at"], kept_on_wishlist=set(record.get("kept_on_wishlist", [])))
                else:
                    restored, unwanted = self._restore_rejected(queue, record["mbids"], rejected_at=record["at"]), []
                if not restored:
                    raise NothingToUndo("moved_on")
                del undoable[undo_id]
                _forget_old_undos(undoable, at)
                if unwanted:
                    self.remove_from_wishlist(unwanted)
                self._unqueue_feedback(item["mbid"] for item in restored)
        return record["action"], restored

    def find_pending(self, mbid: str) -> dict | None:
        content = self._queue_file()
        if mbid in self.history.removed(content):
            return None
        return next((item for item in content["pending"] if item["mbid"] == mbid), None)

    def pending_count(self) -> int:
        content = self._queue_file()
        # Each album decided since the file was written is one of its pending ones (history.py).
        return len(content["pending"]) - len(self.history.removed(content))

    def pending_sources(self) -> list[str]:
        """The sources present in the pending queue (for the queue page's filter)."""
        content = self._queue_file()
        if self.history.removed(content):  # a source's last album may have been decided since
            return _sources(self._view(content)["pending"])
        return self.store.derived(PENDING_QUEUE, "sources", lambda queue: _sources(queue["pending"]))

    def matching_pending(self, *, source: str | None = None, text: str | None = None,
                         member: str | None = None) -> list[dict]:
        """Every pending item a queue filter matches."""
        everything = len(self.queue()["pending"])
        return self.pending_page(limit=everything, source=source, text=text, member=member)[0]

    def remove_pending(self, mbids: list[str]) -> list[dict]:
        """Drop pending items without rejecting them: a source may suggest them again."""
        wanted = set(mbids)
        with self._queue_transaction() as queue:
            removed, queue["pending"] = _split_by_mbid(queue["pending"], wanted)
        return removed

    def undo_approve(self, mbids: list[str], keep_wishlist: bool = False) -> list[dict]:
        """Put approved items back in the pending queue and take their wishlist entries off.

        An entry stays on the wishlist while another approved item still wants
        it, or with ``keep_wishlist`` (it was there before the approval). Lock
        order as in ``approve``: pending_queue, then wishlist.
        """
        wanted = set(mbids)
        with self._queue_transaction() as queue:
            restored, unwanted = self._restore_approved(queue, wanted,
                                                        kept_on_wishlist=wanted if keep_wishlist else set())
            if unwanted:
                self.remove_from_wishlist(unwanted)
            self._unqueue_feedback(item["mbid"] for item in restored)
        return restored

    def unreject(self, mbids: list[str]) -> list[dict]:
        """Take MBIDs off the rejected list (undo of a reject, or "un-reject" from the history).

        Items whose record the history kept go back to the pending queue and
        are returned; a bare MBID from an older file is only forgotten.
        """
        with self._queue_transaction() as queue:
            restored = self._restore_rejected(queue, mbids)
            self._unqueue_feedback(item["mbid"] for item in restored)
            return restored

    def approved_page(self, *, offset: int = 0, limit: int = 50, text: str | None = None) -> tuple[list[dict], int]:
        """Approved items, newest first, and their total (older files may hold bare MBIDs)."""
        return self._decided_page("approve", offset, limit, text)

    def rejected_page(self, *, offset: int = 0, limit: int = 50, text: str | None = None) -> tuple[list[dict], int]:
        """Rejected items, newest first, with their details where they were kept."""
        return self._decided_page("reject", offset, limit, text)

    def approved_items(self) -> Iterator[dict]:
        """The records of the albums approved now, newest first (read from the history)."""
        queue = self.queue()
        approved, _ = self._decided(queue)
        seen: set[str] = set()
        for line in self.history.lines(action="approve"):
            mbid = line["item"]["mbid"]
            if mbid in approved and mbid not in seen:
                seen.add(mbid)
                yield {**line["item"], "approved_at": line.get("at"), **_decided_by(line)}

    def damaged_history_lines(self) -> list[str]:
        """History lines skipped because they could not be read, "history/2026-12.jsonl at byte N: reason"."""
        return self.history.damaged_lines()

    def _decided_page(self, action: str, offset: int, limit: int, text: str | None) -> tuple[list[dict], int]:
        """One page of the albums decided ``action`` and still so, newest first: the History page.

        Reads the history from its end, only as far as the page needs when
        there is no search text (the total is the size of the compact list);
        bare MBIDs without a record (older files) come last.
        """
        queue = self.queue()
        key = "approved" if action == "approve" else "rejected"
        decided = self._decided(queue)[0 if action == "approve" else 1]
        needle = text.casefold() if text else None
        page: list[dict] = []
        seen: set[str] = set()
        matched = 0
        for line in self.history.lines(action=action):
            mbid = line["item"]["mbid"]
            if mbid not in decided or mbid in seen:
                continue
            seen.add(mbid)
            item = line["item"]
            if needle and needle not in (item.get("artist") or "").casefold() \
                    and needle not in (item.get("album") or "").casefold():
                continue
            if offset <= matched < offset + limit:
                page.append({**item, f"{key}_at": line.get("at"), **_decided_by(line),
                             **({"reason": line["reason"]} if line.get("reason") else {})})
            matched += 1
            if needle is None and matched >= offset + limit:
                return page, len(decided)
        if needle is None:
            for mbid in reversed(decided):
                if mbid not in seen:
                    if offset <= matched < offset + limit:
                        page.append({"mbid": mbid})
                    matched += 1
        return page, matched

    def approved_mbids(self) -> list[str]:
        """The MBIDs approved now, oldest first."""
        return list(self._decided(self.queue())[0])

    def rejected_mbids(self) -> list[str]:
        """The MBIDs rejected now (never suggested again), oldest first."""
        return list(self._decided(self.queue())[1])

    def _decided(self, queue: dict) -> tuple[dict[str, None], dict[str, None]]:
        """(approved, rejected) MBIDs as ordered sets: history/decided.txt, and any bare MBIDs the
        queue file itself lists (a hand-made or older file)."""
        approved, rejected = self.history.decided(queue)
        if queue["approved"] or queue["rejected"]:
            approved = {**dict.fromkeys(map(_approved_mbid, queue["approved"])), **approved}
            rejected = {**dict.fromkeys(queue["rejected"]), **rejected}
        return approved, rejected

    def _record_decided(self, queue: dict, action: str, items: list[dict], at: str,
                        decided_by: str | None = None, *, reason: str | None = None, feedback: bool = False) -> None:
        """In a queue transaction: the records (who decided, a reject's reason) to their segment, the MBIDs to
        decided.txt (appended), and with ``feedback`` the ListenBrainz ratings they send queued (lock order:
        pending_queue, lb_feedback)."""
        self.history.append(queue, [history_line(action, at, item, decided_by, reason) for item in items],
                            [f"{action} {item['mbid']}" for item in items], rewritten=APPENDED_ONLY not in queue)
        if feedback:
            self._queue_feedback([(action, item, reason) for item in items], at, decided_by)

    def _record_undone(self, queue: dict, verb: str, mbids: list[str]) -> None:
        self.history.append(queue, [], [f"{verb} {mbid}" for mbid in mbids], rewritten=True)

    def _restore_approved(self, queue: dict, wanted: set[str], *, approved_at: str | None = None,
                          kept_on_wishlist: set[str]) -> tuple[list[dict], list[WishlistEntry]]:
        """Move approved items back to pending (in a queue transaction): (restored, wishlist entries to take off).

        With ``approved_at``, only items approved at that moment (by that decision)
        move. An entry stays on the wishlist when its album is in ``kept_on_wishlist``
        (it was there before the approval) or another album approved since still
        wants it (one approved before found it on the wishlist: ``kept_on_wishlist``).
        Reads the history back to the decision only.
        """
        approved = self._decided(queue)[0]
        found, since = self.history.find("approve", wanted & approved.keys(), at=approved_at)
        back = [found[mbid]["item"] for mbid in approved if mbid in found]
        if queue["approved"]:
            queue["approved"] = [entry for entry in queue["approved"] if _approved_mbid(entry) not in found]
        self._record_undone(queue, "undo-approve", [item["mbid"] for item in back])
        pending = {item["mbid"] for item in queue["pending"]}
        restored = [item for item in back if item["mbid"] not in pending]
        queue["pending"].extend(restored)
        still_approved = approved.keys() - found.keys()
        still_wanted = {_wishlist_entry_for(line["item"]).key for line in since
                        if line["item"]["mbid"] in still_approved}
        unwanted = [_wishlist_entry_for(item) for item in back if item["mbid"] not in kept_on_wishlist]
        return restored, [entry for entry in unwanted if entry.key not in still_wanted]

    def _restore_rejected(self, queue: dict, mbids: list[str], *, rejected_at: str | None = None) -> list[dict]:
        """Take MBIDs off the rejected list (in a queue transaction); items the history kept go back to pending.

        With ``rejected_at``, only items rejected at that moment (by that decision) are touched.
        """
        wanted = list(dict.fromkeys(mbids))
        rejected = self._decided(queue)[1]
        found, _ = self.history.find("reject", rejected.keys() & set(wanted), at=rejected_at)
        drop = found.keys() if rejected_at is not None else rejected.keys() & set(wanted)
        if queue["rejected"]:
            queue["rejected"] = [mbid for mbid in queue["rejected"] if mbid not in drop]
        self._record_undone(queue, "undo-reject", [mbid for mbid in wanted if mbid in drop])
        pending = {item["mbid"] for item in queue["pending"]}
        restored = []
        for mbid in wanted:
            item = found[mbid]["item"] if mbid in found else None
            if item is not None and mbid not in pending:
                queue["pending"].append(item)
                restored.append(item)
        return restored

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
        with self._queue_transaction() as queue:
            moved, kept = [], []
            for item in queue["pending"]:
                (moved if artist_key(item.get("artist") or "") == key else kept).append(item)
            with self.store.transaction(BLOCKED_ARTISTS) as blocked:
                if key not in {artist_key(other) for other in blocked}:
                    blocked.append(name)
            queue["pending"] = kept
            self._record_decided(queue, "reject", moved, utc_now_iso())
        return moved

    def unblock_artist(self, name: str) -> bool:
        """Take an artist off the block list; False when they were not on it."""
        key = artist_key(name)
        with self.store.transaction(BLOCKED_ARTISTS) as blocked:
            before = len(blocked)
            blocked[:] = [other for other in blocked if artist_key(other) != key]
            return len(blocked) != before



def _added_then_out(item: dict) -> tuple[str, bool]:
    """Newest first; among cards added together, those out when added lead an announced album's
    (which waits for its day once approved), so the first cards can all be had today."""
    added = item.get("added_at") or ""
    return added, (item.get("release_date") or "") <= added[:10]


_SORT_KEYS: dict[str, Callable[[dict], Any]] = {
    "date": _added_then_out,
    "score": lambda item: item.get("score") or 0,
    "artist": lambda item: ((item.get("artist") or "").casefold(), (item.get("album") or "").casefold()),
    "year": lambda item: item.get("year") or 0,
}
SORTS = tuple(_SORT_KEYS)


def _stat_key(path) -> tuple | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _check_reason(reason: str | None) -> None:
    if reason is not None and reason not in REJECT_REASONS:
        raise ValueError(f"unknown reject reason {reason!r}")


def _sources(items: list[dict]) -> list[str]:
    return sorted({item.get("source") or "manual" for item in items})


def _from_before_history(queue: dict) -> bool:
    """A queue file from before history/: records in ``approved``, or ``rejected_info``."""
    return "rejected_info" in queue or any(isinstance(entry, dict) for entry in queue["approved"])


def _approved_mbid(entry: dict | str) -> str:
    return entry["mbid"] if isinstance(entry, dict) else entry


def _wishlist_entry_for(item: dict) -> WishlistEntry:
    return entry_for_item(item)


def _take_pending(queue: dict, wanted: set[str]) -> list[dict]:
    if APPENDED_ONLY in queue:  # the file stays as it is: pick the items, leave the list
        wanted = wanted - queue[APPENDED_ONLY]
        return [item for item in queue["pending"] if item["mbid"] in wanted]
    moved, queue["pending"] = _split_by_mbid(queue["pending"], wanted)
    return moved






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


def _decided_by(line: dict) -> dict:
    """``{"decided_by": name}`` for a history line that names who decided (older lines do not)."""
    return {"decided_by": line["decided_by"]} if line.get("decided_by") else {}
