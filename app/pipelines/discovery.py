"""What every discovery source shares: filter, write, mark processed.

A source (lb-fetch, catalog-discovery, any later one) only finds suggestions.
``publish`` then drops what must not come back (already processed, pending,
approved or rejected; owned; by a blocked artist; repeated within the batch),
writes the rest to the pending queue (manual mode) or the wishlist (auto
mode), and marks as processed only what was written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from marshmallow import ValidationError

from app import notifications
from app.download_actions import search_soon
from app.library import Library, load_library
from app.matching import artist_key
from app.pipelines import JobContext
from app.records import load_queue_items
from app.text import count_of
from app.wishlist import WishlistEntry, normalise_name

log = logging.getLogger("resonance.discovery")


@dataclass
class Suggestion:
    """An album (or track) a source found, before filtering."""

    artist: str
    album: str
    mbid: str  # release group for albums, recording for tracks
    type: str = "album"
    score: float | None = None
    source: str = "manual"
    year: int | None = None
    cover_url: str | None = None
    similar_to: list[str] = field(default_factory=list)
    source_track: str | None = None
    artist_mbid: str | None = None
    source_recording: str | None = None  # the ListenBrainz recording behind it (feedback goes there)
    ranking: str | None = None  # how past decisions moved it ("ranked lower: …"), shown on the card
    release_date: str | None = None  # new releases: when it came or comes out
    library_gap: dict | None = None  # missing albums: {"owned", "total", "rank"}
    for_members: list[str] = field(default_factory=list)  # the household members it was recommended to

    def as_record(self) -> dict:
        """The queue record, names normalised as the wishlist writes them (a name of control characters is empty)."""
        record = {
            "artist": normalise_name(self.artist), "album": normalise_name(self.album), "mbid": self.mbid, "type": self.type,
            "score": self.score, "source": self.source, "year": self.year, "cover_url": self.cover_url,
            "similar_to": self.similar_to, "source_track": self.source_track,
            "source_recording": self.source_recording, "ranking": self.ranking,
            "release_date": self.release_date, "library_gap": self.library_gap,
            "for_members": self.for_members or None,
        }
        return {k: v for k, v in record.items() if v is not None}


class DiscoverySource(Protocol):
    """The plug-in protocol of architecture.md: a source fetches suggestions."""

    name: str  # the queue's `source` value

    def fetch(self, ctx: JobContext) -> list[Suggestion]: ...


@dataclass
class PublishReport:
    written: list[Suggestion] = field(default_factory=list)
    seen: int = 0
    owned: int = 0
    blocked: int = 0
    invalid: int = 0
    mode: str = "manual"

    def summary(self) -> str:
        where = "the pending queue" if self.mode == "manual" else "the wishlist"
        skipped = [f"{n} {why}" for n, why in ((self.seen, "seen before"), (self.owned, "already owned"),
                                               (self.blocked, "by blocked artists"), (self.invalid, "invalid"))
                   if n]
        return f"{count_of(len(self.written), 'album')} added to {where}" + (f" ({', '.join(skipped)} skipped)" if skipped else "")


def publish(ctx: JobContext, suggestions: list[Suggestion], library: Library | None = None) -> PublishReport:
    """Filter and write suggestions per the approval mode; mark processed only what was written."""
    repository = ctx.repository
    mode = ctx.settings.general.approval_mode
    library = library if library is not None else load_library(repository)
    blocked = {artist_key(name) for name in repository.blocked_artists()}
    seen = repository.seen_mbids()
    report = PublishReport(mode=mode)
    fresh: list[Suggestion] = []
    for suggestion in suggestions:
        if suggestion.mbid in seen:
            report.seen += 1
        elif artist_key(suggestion.artist) in blocked:
            report.blocked += 1
        elif library.has_album(suggestion.artist, suggestion.album, suggestion.mbid):
            report.owned += 1
        else:
            seen.add(suggestion.mbid)
            fresh.append(suggestion)
    valid, records = [], []
    for suggestion in fresh:
        try:
            records.append(load_queue_items([suggestion.as_record()])[0])
            valid.append(suggestion)
        except ValidationError as exc:
            report.invalid += 1
            log.warning("left out %s - %s: %s", suggestion.artist, suggestion.album, exc.messages)
    if mode == "manual":
        repository.add_pending(records)
        notifications.suggestions_waiting(ctx, records)
    elif repository.add_to_wishlist([WishlistEntry.create(s.artist, s.album, s.type) for s in valid]):
        search_soon(repository, ctx.settings)  # auto mode: the downloader need not wait for its hour
    repository.mark_processed([s.mbid for s in valid])
    report.written = valid
    return report
