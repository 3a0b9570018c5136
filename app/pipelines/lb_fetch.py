"""lb-fetch: ListenBrainz recommendations resolved to albums.

1. Recommendations: collaborative-filtering recordings (``cf``), the Weekly
   Exploration playlist (``weekly``), or both.
2. Resolution: one bulk-metadata call to ListenBrainz resolves most recordings
   to their release group (filed under the release's album-artist credit,
   "Beyoncé", not the recording's "Beyoncé feat. JAY-Z"), and a second one
   tells which of those groups, when not seen before, are singles or EPs rather
   than albums; only the rest go to MusicBrainz, one request per second.
   (Looking every recording up on MusicBrainz would take 100 s for 100.)
3. Aggregation: an album reached through several recordings appears once.
   Its score is the best recording's score (0-100, relative to the run's top
   recommendation) plus 5 points per further recording, capped at 100.

Household: recommendations are fetched for every member with a ListenBrainz
user (``app.household``), with the same requests per member as for one user;
the bulk metadata calls are made once for all members' recordings. An album
recommended to several members is one queue item ``for_members: [Alice, Bob]``
whose score is the best member's score plus 10 points per further member.
4. ``discovery.publish`` filters what was seen, owned or blocked and writes
   the queue or the wishlist.

A failure part-way loses nothing: what was resolved is written, and the run
ends partial, saying what is left (unresolved recordings come back next run);
one source failing (the Weekly Exploration playlist) does not discard the
other's recommendations. The run fails only when it got nothing done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from app.clients.http import NotFound, UpstreamError
from app.clients.http import stats as http_stats
from app.clients.musicbrainz import best_album_release_group
from app.household import listening_members
from app.pipelines import JobContext, RunResult, feedback, upstream
from app.pipelines.discovery import Suggestion, publish
from app.text import count_of

log = logging.getLogger("resonance.lb-fetch")

SOURCE = "listenbrainz"
EXTRA_RECORDING_POINTS = 5.0
EXTRA_MEMBER_POINTS = 10.0


@dataclass
class Recommended:
    """A recommended recording and its score on a 0-100 scale (the best of the members it is for)."""

    recording_mbid: str
    score: float
    title: str | None = None
    #: member name -> that member's score for it
    by_member: dict[str, float] = field(default_factory=dict)


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
    secondary_types: tuple[str, ...] | None = None  # None: not known yet (bulk metadata has no types)


@dataclass
class FetchOutcome:
    resolved: list[Resolved] = field(default_factory=list)
    unresolved: int = 0  # failed this time: retried next run
    on_no_album: list[str] = field(default_factory=list)  # recordings MusicBrainz files under no album
    errors: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # what the next run has to do again
    no_recommendations: bool = False
    unchecked: int = 0  # albums whose type could not be checked: suggested next run


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
        """Every listening member's recommendations, one entry per recording."""
        wanted = self.settings.listenbrainz.source
        count = self.settings.listenbrainz.fetch_count
        listeners = listening_members(self.settings)
        found: dict[str, Recommended] = {}
        parts = [part for part in (("cf", "CF recommendations", self._cf),
                                   ("weekly", "the Weekly Exploration playlist", self._weekly))
                 if wanted in (part[0], "both")]
        failed: list[UpstreamError] = []
        for member in listeners:
            user = member.listenbrainz_user
            for _, what, fetch in parts:
                try:
                    recs = fetch(user, count, outcome)
                except UpstreamError as exc:
                    # The other source's (and members') recommendations are kept; this one is asked again next run.
                    failed.append(exc)
                    outcome.errors.append(str(exc))
                    outcome.left.append(what if len(listeners) == 1 else f"{what} of {member.name}")
                    log.warning("could not fetch %s of %s: %s", what, user, exc)
                    continue
                for rec in recs:
                    known = found.setdefault(rec.recording_mbid, Recommended(rec.recording_mbid, rec.score, rec.title))
                    known.score = max(known.score, rec.score)
                    known.title = known.title or rec.title
                    known.by_member[member.name] = max(known.by_member.get(member.name, 0.0), rec.score)
        if failed and len(failed) == len(parts) * len(listeners):
            raise failed[0]  # nothing fetched at all
        return list(found.values())

    def _cf(self, user: str, count: int, outcome: FetchOutcome) -> list[Recommended]:
        page = self.lb.recommendations(user, count=count)
        if not page.available:
            outcome.no_recommendations = True
            log.info("ListenBrainz has no recommendations for %s yet (it needs more listening history)", user)
        return _scaled([(r.recording_mbid, r.score, None) for r in page.items])

    def _weekly(self, user: str, count: int, outcome: FetchOutcome) -> list[Recommended]:
        playlist = self.lb.weekly_exploration_playlist(user)
        if playlist is None:
            log.info("no Weekly Exploration playlist for %s yet", user)
            return []
        # Generated playlists are public: no token, so no token check, is needed.
        tracks = self.lb.playlist_tracks(playlist.mbid)[:count]
        # Playlist order is the ranking: first track 100, last close to 0.
        return [Recommended(track.recording_mbid, round(100.0 * (len(tracks) - n) / len(tracks), 1), track.title)
                for n, track in enumerate(tracks)]

    # 2. resolution ----------------------------------------------------------------

    def resolve(self, recommended: list[Recommended], outcome: FetchOutcome) -> None:
        track_mode = self.settings.listenbrainz.mode == "track"
        try:
            metadata = self.lb.recording_metadata([r.recording_mbid for r in recommended])
        except UpstreamError as exc:
            # Not a loss by itself: what MusicBrainz cannot resolve below is what is left.
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
                # The album goes under its own credit ("Beyoncé"), not the track's ("Beyoncé feat. JAY-Z").
                outcome.resolved.append(Resolved(rec, meta.release_group_mbid, meta.album_artist_name or artist,
                                                 meta.release_name, meta.year, meta.artist_mbid, meta.recording_name))
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
                outcome.errors.append(str(exc))
                log.warning("could not resolve %s on MusicBrainz: %s", rec.recording_mbid, exc)
                if exc.retryable:  # already retried with backoff:
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
        """Release groups of the bulk answer that are singles, EPs...: their recordings go to MusicBrainz.

        Groups seen before (suggested, decided, processed) are not asked about: they were albums
        then, and ``publish`` leaves them out anyway, so their type would change nothing.
        """
        seen = self.ctx.repository.seen_mbids()
        groups = {meta.release_group_mbid for meta in metadata.values()
                  if meta.release_group_mbid and meta.release_group_mbid not in seen}
        if not groups:
            return set()
        try:
            types = self.lb.release_group_types(groups)
        except UpstreamError as exc:
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
        # The lookup names the group's types: no second question about them.
        return Resolved(rec, group.mbid, group.artist_credit_name or artist, group.title, group.year,
                        recording.artist_mbid, recording.title, group.secondary_types)

    # 3. aggregation ------------------------------------------------------------------

    def suggestions(self, resolved: list[Resolved]) -> list[Suggestion]:
        by_mbid: dict[str, list[Resolved]] = {}
        for item in resolved:
            by_mbid.setdefault(item.mbid, []).append(item)
        track_mode = self.settings.listenbrainz.mode == "track"
        order = [m.name for m in listening_members(self.settings)]
        suggestions = []
        for mbid, items in by_mbid.items():
            items.sort(key=lambda i: i.recording.score, reverse=True)
            best = items[0]
            scores = _member_scores(items)
            if scores:
                score = max(scores.values()) + EXTRA_MEMBER_POINTS * (len(scores) - 1)
            else:  # a recording handed in without members (one user, as before households)
                score = best.recording.score + EXTRA_RECORDING_POINTS * (len(items) - 1)
            suggestions.append(Suggestion(
                artist=best.artist, album=best.title, mbid=mbid, type="track" if track_mode else "album",
                score=round(min(100.0, score), 1), source=SOURCE, year=best.year,
                cover_url=None if track_mode else upstream.cover_url(self.settings, mbid),
                source_track=best.recording_title or best.recording.title, artist_mbid=best.artist_mbid,
                source_recording=best.recording.recording_mbid,
                for_members=sorted(scores, key=lambda name: order.index(name) if name in order else len(order)),
            ))
        suggestions.sort(key=lambda s: s.score or 0, reverse=True)
        return suggestions

    def drop_secondary_types(self, suggestions: list[Suggestion], outcome: FetchOutcome) -> list[Suggestion]:
        """Leave out live albums, compilations... when the setting asks (bulk metadata has no types)."""
        unwanted = {t.casefold() for t in self.settings.listenbrainz.skip_secondary_types}
        if not unwanted or self.settings.listenbrainz.mode == "track":
            return suggestions
        seen = self.ctx.repository.seen_mbids()
        known = {item.mbid: item.secondary_types for item in outcome.resolved if item.secondary_types is not None}
        kept = []
        struggling = False  # MusicBrainz failed even after retries: the rest is not asked this run
        for suggestion in suggestions:
            if suggestion.mbid in seen:
                kept.append(suggestion)  # publish drops it anyway; no need to ask MusicBrainz
                continue
            types = known.get(suggestion.mbid)
            if types is None:
                if struggling:
                    outcome.unchecked += 1
                    continue
                try:
                    types = self.mb.release_group(suggestion.mbid).secondary_types
                except UpstreamError as exc:
                    # Unknown type: not written, so it comes back next run.
                    outcome.errors.append(str(exc))
                    outcome.unchecked += 1
                    struggling = exc.retryable
                    continue
            if unwanted & {t.casefold() for t in types}:
                log.info("left out %s - %s (%s)", suggestion.artist, suggestion.album, ", ".join(types))
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


def _member_scores(items: list[Resolved]) -> dict[str, float]:
    """Member -> their score for one album: their best recording's score plus 5 per further recording."""
    per_member: dict[str, list[float]] = {}
    for item in items:
        for name, score in item.recording.by_member.items():
            per_member.setdefault(name, []).append(score)
    return {name: max(scores) + EXTRA_RECORDING_POINTS * (len(scores) - 1) for name, scores in per_member.items()}


def _widen_pending(ctx: JobContext, suggestions: list[Suggestion]) -> int:
    """An album still pending from an earlier run, now recommended to another member too: one item for
    them all (publish leaves it out as seen), ranked higher as if they had come in one run."""
    pending = {item["mbid"]: item for item in ctx.repository.queue()["pending"]}
    wanted = {}
    for suggestion in suggestions:
        item = pending.get(suggestion.mbid)
        if item is None or item.get("source") != SOURCE:
            continue
        known = {name.casefold() for name in item.get("for_members") or []}
        if known and any(name.casefold() not in known for name in suggestion.for_members):
            wanted[suggestion.mbid] = suggestion.for_members
    return ctx.repository.add_pending_members(wanted, EXTRA_MEMBER_POINTS) if wanted else 0


def run_once(ctx: JobContext, source: ListenBrainzSource | None = None) -> RunResult:
    settings = ctx.settings
    feedback.send_queued(ctx)  # the ratings decisions queued since the last run (app/pipelines/feedback.py)
    if not listening_members(settings):
        return RunResult("set listenbrainz.username (or a member's listenbrainz_user) to fetch recommendations",
                         skipped=True)
    source = source or ListenBrainzSource(ctx)
    outcome = FetchOutcome()
    try:
        suggestions = source.fetch(outcome)
    except UpstreamError as exc:
        # Nothing was resolved yet, so nothing is lost: the next run starts over.
        return RunResult("no recommendations fetched", error=str(exc))
    finally:
        log.info("upstream requests: %s", http_stats.describe())
    if outcome.no_recommendations and not suggestions and not outcome.errors:
        return RunResult("ListenBrainz has no recommendations for this user yet", skipped=True)
    widened = _widen_pending(ctx, suggestions)
    report = publish(ctx, suggestions)
    ctx.repository.mark_processed(outcome.on_no_album)
    summary = report.summary()
    if widened:
        summary += f"; {count_of(widened, 'pending album')} now for more members"
    left = list(outcome.left)
    if outcome.unresolved:
        left.append(count_of(outcome.unresolved, "recording"))
    if outcome.unchecked:
        left.append(f"{count_of(outcome.unchecked, 'album')} whose type could not be checked")
    if left:
        summary += f"; {', '.join(left)} left for the next run"
    problems = "; ".join(dict.fromkeys(outcome.errors))
    if not problems:
        return RunResult(summary)
    if not (outcome.resolved or outcome.on_no_album):
        return RunResult(summary, error=problems)  # nothing useful was done
    return RunResult(summary, left=f"{', '.join(left) or 'some recordings'} ({problems})")
