"""Recommendation feedback for ListenBrainz (``lb_feedback.json``), and the dismissed block offers.

A decision on a ListenBrainz suggestion queues the rating it sends back for
the recommended recording (``app.learning.feedback_rating``), in the same
transaction as the decision (lock order: pending_queue, then lb_feedback).
lb-fetch sends what is queued at its next run (``app/pipelines/feedback.py``)
and records each one sent, so nothing is sent twice. A newer decision on the
same album replaces what is still unsent; an undo takes it back.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from app.learning import feedback_rating
from app.matching import artist_key
from app.records import utc_now_iso
from app.repository.store import BLOCK_OFFERS_DISMISSED, LB_FEEDBACK

#: Sent (or refused) entries kept, newest last: enough to never send a decision twice, and a bounded file.
SENT_KEPT = 2000
#: ListenBrainz suggestions are the only ones with a recording behind them.
FEEDBACK_SOURCE = "listenbrainz"


class FeedbackRecords:
    # lb_feedback.json -----------------------------------------------------------------------

    def _queue_feedback(self, decisions: Iterable[tuple[str, Mapping, str | None]], at: str,
                        decided_by: str | None = None) -> None:
        """(action, item, reason) of decisions just made: their ratings queued (in the decision's transaction)."""
        wanted = [(action, item, reason) for action, item, reason in decisions
                  if item.get("source") == FEEDBACK_SOURCE and item.get("source_recording")]
        if not wanted:
            return
        with self.store.transaction(LB_FEEDBACK) as entries:
            for action, item, reason in wanted:
                _queue_one(entries, item, feedback_rating(action, reason), at, decided_by)
            _forget_old_sent(entries)

    def _unqueue_feedback(self, mbids: Iterable[str]) -> None:
        """An undo: the unsent ratings of those albums taken back (what was sent stays sent)."""
        albums = set(mbids)
        if not albums or not self.store.path(LB_FEEDBACK).exists():
            return
        with self.store.transaction(LB_FEEDBACK) as entries:
            entries[:] = [e for e in entries if not (e["album"] in albums and _unsent(e))]

    def unsent_feedback(self) -> list[dict]:
        """The queued ratings not sent yet, oldest first."""
        return [dict(entry) for entry in self.store.read(LB_FEEDBACK) if _unsent(entry)]

    def sent_feedback(self) -> list[dict]:
        return [dict(entry) for entry in self.store.read(LB_FEEDBACK) if entry.get("sent_at")]

    def mark_feedback(self, entry: Mapping, *, sent_at: str | None = None, failed: str | None = None) -> None:
        """One queued rating sent (``sent_at``), refused for good (``failed``), or tried once more (neither)."""
        with self.store.transaction(LB_FEEDBACK) as entries:
            for stored in entries:
                if _same(stored, entry) and _unsent(stored):
                    stored["attempts"] = int(stored.get("attempts") or 0) + 1
                    if sent_at:
                        stored["sent_at"] = sent_at
                    if failed:
                        stored["failed"] = failed
            _forget_old_sent(entries)

    # block_offers_dismissed.json ----------------------------------------------------------------

    def dismissed_block_offers(self) -> list[str]:
        return self.store.read(BLOCK_OFFERS_DISMISSED)

    def dismiss_block_offer(self, artist: str) -> None:
        """"Not now" on a block offer: that artist is not offered again."""
        key = artist_key(artist)
        with self.store.transaction(BLOCK_OFFERS_DISMISSED) as dismissed:
            if key and key not in {artist_key(name) for name in dismissed}:
                dismissed.append(artist.strip())


def _unsent(entry: Mapping) -> bool:
    return not entry.get("sent_at") and not entry.get("failed")


def _same(a: Mapping, b: Mapping) -> bool:
    return all(a.get(key) == b.get(key) for key in ("album", "recording_mbid", "rating", "decided_by", "queued_at"))


def _queue_one(entries: list[dict], item: Mapping, rating: str | None, at: str, decided_by: str | None) -> None:
    album, recording = item["mbid"], item["source_recording"]
    mine = [e for e in entries if e["album"] == album and e.get("decided_by") == decided_by]
    replaced = {id(e) for e in mine if _unsent(e)}  # a newer decision replaces what is still unsent
    entries[:] = [e for e in entries if id(e) not in replaced]
    if rating is None:
        return
    sent = [e for e in mine if e.get("sent_at")]
    if sent and sent[-1]["rating"] == rating and sent[-1]["recording_mbid"] == recording:
        return  # ListenBrainz has this very rating already: never sent twice
    entry = {"album": album, "recording_mbid": recording, "rating": rating, "queued_at": at or utc_now_iso()}
    if decided_by:
        entry["decided_by"] = decided_by
    entries.append(entry)


def _forget_old_sent(entries: list[dict]) -> None:
    done = [i for i, e in enumerate(entries) if not _unsent(e)]
    if len(done) > SENT_KEPT:
        drop = set(done[: len(done) - SENT_KEPT])
        entries[:] = [e for i, e in enumerate(entries) if i not in drop]
