"""lb-fetch: ListenBrainz recommendations resolved to albums.

1. Recommendations: collaborative-filtering recordings (``cf``), the Weekly
   Exploration playlist (``weekly``), or both.
2. Resolution: one bulk-metadata call to ListenBrainz resolves most recordings
   to their release group, and a second one tells which of those groups are
   singles or EPs rather than albums; only the rest go to MusicBrainz, one
   request per second. (Looking every recording up on MusicBrainz would take
   100 s for 100.)
3. Aggregation: an album reached through several recordings appears once.
   Its score is the best recording's score (0-100, relative to the run's top
   recommendation) plus 5 points per further recording, capped at 100.
4. ``discovery.publish`` filters what was seen, owned or blocked and writes
   the queue or the wishlist.

A failure part-way loses nothing: what was resolved is written, the error
goes in the run's status, and unresolved recordings come back next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from app.clients.http import NotFound, UpstreamError
from app.clients.musicbrainz import best_album_release_group
from app.pipelines import JobContext, RunResult, upstream
from app.pipelines.discovery import Suggestion, publish
from app.text import count_of

log = logging.getLogger("resonance.lb-fetch")

SOURCE = "listenbrainz"
EXTRA_RECORDING_POINTS = 5.0


@dataclass
class Recommended:
    """A recommended recording and its score on a 0-100 scale."""

    recording_mbid: str
    score: float
    title: str | None = None


@dataclass
class Resolved:
    """A recording filed under its album (or kept as a track)."""

    recording: Recommended
    mbid: str
    artist: str
    title: str
    year: int | None = None
    artist_mbid: str | None = None
    recording_title: str | None = None


@dataclass
class FetchOutcome:
    resolved: list[Resolved] = field(default_factory=list)
    unresolved: int = 0  # failed this time: retried next run
    on_no_album: list[str] = field(default_factory=list)  # recordings MusicBrainz files under no album
    errors: list[str] = field(default_factory=list)
    no_recommendations: bool = False


def _scaled(pairs: list[tuple[str, float, str | None]]) -> list[Recommended]:
    """Scores relative to the best of the batch, 0-100 (CF scores are unbounded floats)."""
    top = max((score for _, score, _ in pairs), default=0) or 1.0
    return [Recommended(mbid, round(100.0 * max(score, 0) / top, 1), title) for mbid, score, title in pairs]


class ListenBrainzSource:
    """The discovery source: recommendations in, album suggestions out."""

    name = SOURCE

    def __init__(self, ctx: JobContext, lb=None, mb=None):
        self.ctx = ctx
        self.settings = ctx.settings
        self.lb = lb or upstream.listenbrainz(ctx.settings)
        self.mb = mb or upstream.musicbrainz(ctx.settings, ctx.repository)

    # 1. recommendations ---------------------------------------------------------

    def recommendations(self, outcome: FetchOutcome) -> list[Recommended]:
        user, wanted = self.settings.listenbrainz.username, self.settings.listenbrainz.source
        count = self.settings.listenbrainz.fetch_count
        found: dict[str, Recommended] = {}
        if wanted in ("cf", "both"):
            page = self.lb.recommendations(user, count=count)
            if not page.available:
                outcome.no_recommendations = True
                log.info("ListenBrainz has no recommendations for %s yet (it needs more listening history)", user)
            for rec in _scaled([(r.recording_mbid, r.score, None) for r in page.items]):
                found[rec.recording_mbid] = rec
        if wanted in ("weekly", "both"):
            playlist = self.lb.weekly_exploration_playlist(user)
            if playlist is None:
                log.info("no Weekly Exploration playlist for %s yet", user)
            else:
                tracks = self.lb.playlist_tracks(playlist.mbid)[:count]
                # Playlist order is the ranking: first track 100, last close to 0.
                for n, track in enumerate(tracks):
                    score = round(100.0 * (len(tracks) - n) / len(tracks), 1)
                    if track.recording_mbid not in found or found[track.recording_mbid].score < score:
                        found[track.recording_mbid] = Recommended(track.recording_mbid, score, track.title)
        return list(found.values())

    # 2. resolution ----------------------------------------------------------------

    def resolve(self, recommended: list[Recommended], outcome: FetchOutcome) -> None:
        track_mode = self.settings.listenbrainz.mode == "track"
        try:
            metadata = self.lb.recording_metadata([r.recording_mbid for r in recommended])
        except UpstreamError as exc:
            outcome.errors.append(f"bulk metadata: {exc}")
            log.warning("ListenBrainz bulk metadata failed (%s); falling back to MusicBrainz", exc)
            metadata = {}
        not_albums = set() if track_mode else self._non_album_groups(metadata, outcome)
        fallback = []
        for rec in recommended:
            meta = metadata.get(rec.recording_mbid)
            artist = meta.artist_credit_name if meta else None
            if meta and artist and track_mode and meta.recording_name:
                outcome.resolved.append(Resolved(rec, rec.recording_mbid, artist, meta.recording_name,
                                                 meta.year, meta.artist_mbid, meta.recording_name))
            elif (meta and artist and not track_mode and meta.release_group_mbid and meta.release_name
                  and meta.release_group_mbid not in not_albums):
                outcome.resolved.append(Resolved(rec, meta.release_group_mbid, artist, meta.release_name,
                                                 meta.year, meta.artist_mbid, meta.recording_name))
            else:
                fallback.append(rec)
        if fallback:
            log.info("%d of %d recordings need MusicBrainz (1 request/s)", len(fallback), len(recommended))
        for rec in fallback:
            if self.ctx.stop_requested():
                outcome.unresolved += 1
                continue
            try:
                resolved = self._resolve_on_musicbrainz(rec, track_mode)
            except NotFound:
                outcome.unresolved += 1
                log.info("recording %s is unknown to MusicBrainz", rec.recording_mbid)
                continue
            except UpstreamError as exc:
                outcome.unresolved += 1
                outcome.errors.append(f"MusicBrainz: {exc}")
                log.warning("could not resolve %s on MusicBrainz: %s", rec.recording_mbid, exc)
                if exc.retryable:
                    # The service is struggling; the rest waits for the next run.
                    outcome.unresolved += len(fallback) - fallback.index(rec) - 1
                    break
                continue
            if resolved:
                outcome.resolved.append(resolved)
            else:
                outcome.on_no_album.append(rec.recording_mbid)
                log.info("recording %s is on no album", rec.recording_mbid)

    def _non_album_groups(self, metadata: dict, outcome: FetchOutcome) -> set[str]:
        """Release groups of the bulk answer that are singles, EPs...: their recordings go to MusicBrainz."""
        groups = {meta.release_group_mbid for meta in metadata.values() if meta.release_group_mbid}
        if not groups:
            return set()
        try:
            types = self.lb.release_group_types(groups)
        except UpstreamError as exc:
            outcome.errors.append(f"release group types: {exc}")
            log.warning("could not read release group types (%s); keeping the releases ListenBrainz named", exc)
            return set()
        return {mbid for mbid, kind in types.items() if kind and kind.lower() != "album"}

    def _resolve_on_musicbrainz(self, rec: Recommended, track_mode: bool) -> Resolved | None:
        recording = self.mb.recording(rec.recording_mbid)
        artist = recording.artist_credit_name
        if not artist:
            return None
        if track_mode:
            return Resolved(rec, recording.mbid, artist, recording.title, None, recording.artist_mbid, recording.title)
        group = best_album_release_group(recording)
        if group is None:
            return None
        return Resolved(rec, group.mbid, group.artist_credit_name or artist, group.title, group.year,
                        recording.artist_mbid, recording.title)

    # 3. aggregation ------------------------------------------------------------------

    def suggestions(self, resolved: list[Resolved]) -> list[Suggestion]:
        by_mbid: dict[str, list[Resolved]] = {}
        for item in resolved:
            by_mbid.setdefault(item.mbid, []).append(item)
        track_mode = self.settings.listenbrainz.mode == "track"
        suggestions = []
        for mbid, items in by_mbid.items():
            items.sort(key=lambda i: i.recording.score, reverse=True)
            best = items[0]
            score = min(100.0, best.recording.score + EXTRA_RECORDING_POINTS * (len(items) - 1))
            suggestions.append(Suggestion(
                artist=best.artist, album=best.title, mbid=mbid, type="track" if track_mode else "album",
                score=round(score, 1), source=SOURCE, year=best.year,
                cover_url=None if track_mode else upstream.cover_url(self.settings, mbid),
                source_track=best.recording_title or best.recording.title, artist_mbid=best.artist_mbid,
            ))
        suggestions.sort(key=lambda s: s.score or 0, reverse=True)
        return suggestions

    def drop_secondary_types(self, suggestions: list[Suggestion], outcome: FetchOutcome) -> list[Suggestion]:
        """Leave out live albums, compilations... when the setting asks (bulk metadata has no types)."""
        unwanted = {t.casefold() for t in self.settings.listenbrainz.skip_secondary_types}
        if not unwanted or self.settings.listenbrainz.mode == "track":
            return suggestions
        seen = self.ctx.repository.seen_mbids()
        kept = []
        for suggestion in suggestions:
            if suggestion.mbid in seen:
                kept.append(suggestion)  # publish drops it anyway; no need to ask MusicBrainz
                continue
            try:
                group = self.mb.release_group(suggestion.mbid)
            except UpstreamError as exc:
                outcome.errors.append(f"MusicBrainz: {exc}")
                continue  # unknown type: not written, so it comes back next run
            if unwanted & {t.casefold() for t in group.secondary_types}:
                log.info("left out %s - %s (%s)", suggestion.artist, suggestion.album, ", ".join(group.secondary_types))
                self.ctx.repository.mark_processed([suggestion.mbid])
            else:
                kept.append(suggestion)
        return kept

    def fetch(self, outcome: FetchOutcome) -> list[Suggestion]:
        # Recordings handled before (on no album) are not looked up again.
        handled = set(self.ctx.repository.processed())
        recommended = [r for r in self.recommendations(outcome) if r.recording_mbid not in handled]
        self.resolve(recommended, outcome)
        return self.drop_secondary_types(self.suggestions(outcome.resolved), outcome)


def run_once(ctx: JobContext, source: ListenBrainzSource | None = None) -> RunResult:
    settings = ctx.settings
    if not settings.listenbrainz.username:
        return RunResult("set listenbrainz.username to fetch recommendations", skipped=True)
    source = source or ListenBrainzSource(ctx)
    outcome = FetchOutcome()
    try:
        suggestions = source.fetch(outcome)
    except UpstreamError as exc:
        # Nothing was resolved yet, so nothing is lost: the next run starts over.
        return RunResult("no recommendations fetched", error=str(exc))
    if outcome.no_recommendations and not suggestions:
        return RunResult("ListenBrainz has no recommendations for this user yet", skipped=True)
    report = publish(ctx, suggestions)
    ctx.repository.mark_processed(outcome.on_no_album)
    summary = report.summary()
    if outcome.unresolved:
        summary += f"; {count_of(outcome.unresolved, 'recording')} left for the next run"
    error = "; ".join(dict.fromkeys(outcome.errors)) or None
    return RunResult(summary, error=error)
