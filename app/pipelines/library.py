"""library-discovery: new albums of the library's artists, and the studio albums missing from it.

One job runs two discovery sources, because both read the same thing: each
library artist's discography on MusicBrainz.

1. Library: the Subsonic snapshot, read again when ``subsonic.base_url`` is
   set (else the one catalog-discovery saved). Artists without a MusicBrainz
   id are left out: browsing needs the id.
2. Discographies (``library_sources.json``): one MusicBrainz browse per
   artist (``release-group?artist=MBID&type=album``, 100 groups a page), at
   most ``library_discovery.artists_per_run`` artists a run, never asked first, then
   those read longest ago; an artist read within ``library_discovery.refresh_days`` is
   not asked again. The requests go through the shared MusicBrainz pacing, so
   no run (nor every process together) passes 1 request/s. A library of
   1,000 artists is read over ten runs at the default; after that a run asks
   only about artists new to the library and those due for a refresh.
3. **new release** (``NewReleasesSource``): studio albums (primary type
   Album, no secondary types) first released within ``new_releases.window``
   days, or announced with a date at most that far ahead, from the stored
   discographies and, in one request per run, from ListenBrainz's fresh
   releases of the ListenBrainz user (the artists they listen to; at most 90
   days either side). An artist ListenBrainz names with an album its stored
   discography lacks is read again first.
4. **missing** (``LibraryGapsSource``): for artists the household owns some
   studio albums of, the ones it lacks, ranked by ListenBrainz's listen count
   (one POST for up to 1,000 release groups, kept in ``library_sources.json``;
   no token needed), at most ``library_gaps.per_artist`` per artist and
   ``library_gaps.per_run`` per run.
5. ``discovery.publish`` writes both (owned, processed, pending, decided or
   blocked are never suggested again).

A failure part-way loses nothing: every discography read is kept, and what
was not reached is asked next run; the run ends partial, saying what is left.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from app.clients.http import NotFound, Unavailable, UpstreamError, safe_url
from app.clients.http import stats as http_stats
from app.household import listening_members
from app.library import Library
from app.matching import artist_key, title_key
from app.pipelines import JobContext, RunResult, upstream
from app.pipelines.catalog import OFFICIAL, SUBSONIC_RETRY, is_placeholder, library_snapshot, parse_time
from app.pipelines.discovery import PublishReport, Suggestion, publish
from app.records import utc_now_iso
from app.text import count_of

log = logging.getLogger("resonance.library")

JOB = "library-discovery"
NEW_RELEASE = "new release"
MISSING = "missing"
SAVE_EVERY = 10  # discographies written in batches: a crash loses at most this many requests
UNKNOWN_LISTENS_SCORE = 50.0  # a missing album ListenBrainz has no listen count for


# --- the library and who to ask ---------------------------------------------------------


@dataclass(frozen=True)
class LibraryArtist:
    mbid: str
    name: str


def listenbrainz_users(settings: Any) -> list[str]:
    """The household's ListenBrainz users whose fresh releases are read: every member's (app.household;
    listenbrainz.username alone for a single-user install), each once."""
    return [member.listenbrainz_user for member in listening_members(settings)]


def library_artists(snapshot: Mapping[str, Any]) -> list[LibraryArtist]:
    """The snapshot's artists that have a MusicBrainz id, once each (placeholders like Various Artists left out)."""
    found: dict[str, LibraryArtist] = {}
    for artist in snapshot.get("artists", []):
        mbid = (artist.get("mbid") or "").strip().lower()
        name = artist.get("name") or ""
        if mbid and name and not is_placeholder(name, mbid):
            found.setdefault(mbid, LibraryArtist(mbid, name))
    return list(found.values())


def artists_due(artists: Iterable[LibraryArtist], discographies: Mapping[str, Mapping[str, Any]], *,
                now: datetime, refresh_days: int, first: Iterable[str] = ()) -> list[LibraryArtist]:
    """Artists whose discography is to be read, in order: those in ``first`` (ListenBrainz named an
    album their stored discography lacks), never read, then read longest ago; read within
    ``refresh_days``: not due (unless in ``first``)."""
    cutoff = now - timedelta(days=refresh_days)
    urgent = set(first)
    due = []
    for artist in artists:
        asked = parse_time((discographies.get(artist.mbid) or {}).get("asked_at"))
        if artist.mbid in urgent or asked is None or asked <= cutoff:
            due.append(((artist.mbid not in urgent, asked is not None, asked or now, artist.mbid), artist))
    return [artist for _, artist in sorted(due, key=lambda pair: pair[0])]


def stored_group(group: Any) -> dict:
    """What library_sources.json keeps of a MusicBrainz release group."""
    return {"mbid": group.mbid, "title": group.title, "primary_type": group.primary_type,
            "secondary_types": list(group.secondary_types), "date": group.first_release_date or "",
            "credit": group.artist_credit_name}


def is_studio_album(group: Mapping[str, Any]) -> bool:
    return (group.get("primary_type") or "").casefold() == "album" and not group.get("secondary_types")


def is_fresh_album(release: Any) -> bool:
    """A ListenBrainz fresh release that is a studio album."""
    return (release.primary_type or "").casefold() == "album" and not release.secondary_type


def full_date(text: Any) -> date | None:
    """A YYYY-MM-DD date; None for partial dates ("2026", "2026-11"), too vague to call new."""
    try:
        return date.fromisoformat(text) if isinstance(text, str) and len(text) == 10 else None
    except ValueError:
        return None


def within_window(released: date | None, today: date, window: int) -> bool:
    return released is not None and abs((released - today).days) <= window


def new_release_score(released: date, today: date, window: int) -> float:
    """100 for an announced album, falling to 60 for one released ``window`` days ago: newest first."""
    age = max((today - released).days, 0)
    return round(100.0 - 40.0 * age / max(window, 1), 1)


# --- the run's shared part: library and discographies ----------------------------------------


@dataclass
class Outcome:
    library_artists: int = 0
    without_mbid: int = 0
    asked: int = 0
    due: int = 0
    to_ask: int = 0
    fresh_releases: int = 0  # library artists' albums ListenBrainz's fresh releases named
    popularity_asked: int = 0
    gaps_left: int = 0  # artists whose missing albums wait for their listen counts
    reports: dict[str, PublishReport] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    stopped: bool = False

    def summary(self) -> str:
        parts = []
        for source, report in self.reports.items():
            text = f"{source}: {count_of(len(report.written), 'album')}"
            skipped = [f"{n} {why}" for n, why in ((report.seen, "seen before"), (report.owned, "already owned"),
                                                   (report.blocked, "by blocked artists")) if n]
            parts.append(text + (f" ({', '.join(skipped)} skipped)" if skipped else ""))
        where = next(iter(self.reports.values())).mode if self.reports else "manual"
        text = "; ".join(parts) or "nothing to add"
        text += f" added to {'the pending queue' if where == 'manual' else 'the wishlist'}"
        text += f"; read the discographies of {self.asked} of {count_of(self.library_artists, 'library artist')}"
        if self.due > self.asked:
            text += f" ({self.due - self.asked} more due)"
        if self.stopped:
            text += "; stopped on request"
        return text


class LibraryRun:
    """What both sources share in one run: the library, the clients, the discographies."""

    def __init__(self, ctx: JobContext, subsonic=None, lb=None, mb=None):
        self.ctx = ctx
        self.settings = ctx.settings
        self.repository = ctx.repository
        self._subsonic = subsonic
        self.lb = lb or upstream.listenbrainz(ctx.settings)
        self.mb = mb or upstream.musicbrainz(ctx.settings, ctx.repository)
        self.outcome = Outcome()
        self.today = datetime.now(timezone.utc).date()
        self.artists: list[LibraryArtist] = []
        self.library = Library()
        self.fresh: list[Any] = []  # ListenBrainz's fresh releases of library artists

    # 1. the library -----------------------------------------------------------------------------

    def read_library(self) -> dict:
        """The snapshot: read from the Subsonic server when one is set (kept for the other pipelines too)."""
        snapshot = self.repository.library_snapshot()
        if self.settings.subsonic.base_url:
            subsonic = self._subsonic
            if subsonic is None:
                subsonic = upstream.subsonic(self.settings)
                subsonic.http.retry = SUBSONIC_RETRY
            try:
                subsonic.ping()
                snapshot = library_snapshot(subsonic.artists(), subsonic.albums(), safe_url(subsonic.base_url),
                                            utc_now_iso())
                self.repository.save_library_snapshot(snapshot)
            except UpstreamError as exc:
                if not snapshot.get("artists"):
                    raise
                log.warning("Subsonic server: %s; using the library as read on %s", exc.message,
                            snapshot.get("taken_at"))
        self.library = Library.from_snapshot(snapshot)
        self.artists = library_artists(snapshot)
        self.outcome.library_artists = len(self.artists)
        self.outcome.without_mbid = sum(1 for a in snapshot.get("artists", []) if not a.get("mbid"))
        return snapshot

    # 2. ListenBrainz's fresh releases -------------------------------------------------------------

    def read_fresh_releases(self) -> None:
        """One request per ListenBrainz user of the household; a user that fails does not cost the others."""
        if not self.settings.new_releases.enabled:
            return
        mbids = {artist.mbid for artist in self.artists}
        found: dict[str, Any] = {}
        for user in listenbrainz_users(self.settings):
            try:
                releases = self.lb.fresh_releases(user, self.settings.new_releases.window) or []
            except UpstreamError as exc:
                # The discographies still find new albums; ListenBrainz is asked again next run.
                self.outcome.errors.append(f"ListenBrainz fresh releases: {exc.message}")
                self.outcome.left.append(f"ListenBrainz's fresh releases for {user}")
                log.warning("could not read ListenBrainz's fresh releases for %s: %s", user, exc)
                continue
            mine = [r for r in releases if (mbids & set(r.artist_mbids))
                    or (not r.artist_mbids and self.library.has_artist(r.artist_credit_name))]
            found.update((r.release_group_mbid, r) for r in mine)
            log.info("ListenBrainz: %d fresh releases for %s, %d by library artists", len(releases), user, len(mine))
        self.fresh = list(found.values())
        self.outcome.fresh_releases = len(self.fresh)

    # 3. discographies ---------------------------------------------------------------------------------

    def read_discographies(self) -> None:
        """Browse MusicBrainz for the artists due, at most ``library_discovery.artists_per_run``; saved in batches."""
        stored = self.repository.library_discographies()
        self.repository.forget_discographies({artist.mbid for artist in self.artists})
        known_groups = {g["mbid"] for entry in stored.values() for g in entry.get("groups") or ()}
        # An album the stored discography lacks (the browse lists albums only: a single is no news). Read
        # today already: not again, as MusicBrainz may not list what ListenBrainz calls an album.
        today = self.today.isoformat()
        changed = [mbid for r in self.fresh if is_fresh_album(r) and r.release_group_mbid not in known_groups
                   for mbid in r.artist_mbids if mbid in stored and (stored[mbid].get("asked_at") or "") < today]
        due = artists_due(self.artists, stored, now=datetime.now(timezone.utc),
                          refresh_days=self.settings.library_discovery.refresh_days, first=changed)
        batch = due[: self.settings.library_discovery.artists_per_run]
        self.outcome.due, self.outcome.to_ask = len(due), len(batch)
        log.info("reading the discographies of %d of %d library artists (%d due)", len(batch), len(self.artists),
                 len(due))
        found: dict[str, dict] = {}
        try:
            for artist in batch:
                if self.ctx.stop_requested():
                    self.outcome.stopped = True
                    break
                try:
                    groups = self.mb.release_groups_by_artist(artist.mbid, "album", release_group_status=OFFICIAL,
                                                              artist_credits=True)
                    found[artist.mbid] = {"name": artist.name, "asked_at": utc_now_iso(),
                                          "groups": [stored_group(g) for g in groups]}
                except NotFound:
                    log.info("MusicBrainz does not know %s's id %s; asked again after the refresh", artist.name,
                             artist.mbid)
                    found[artist.mbid] = {"name": artist.name, "asked_at": utc_now_iso(), "unknown": True}
                except UpstreamError as exc:
                    # Not recorded: this artist is asked again next run.
                    self.outcome.errors.append(f"MusicBrainz: {exc.message}")
                    log.warning("could not read %s's discography: %s", artist.name, exc)
                    if exc.retryable:  # already retried with backoff: the rest waits for the next run
                        break
                    continue
                self.outcome.asked += 1
                if len(found) >= SAVE_EVERY:
                    self.repository.record_discographies(found)
                    found = {}
        finally:
            self.repository.record_discographies(found)
        not_read = self.outcome.to_ask - self.outcome.asked
        if not_read > 0 and not self.outcome.stopped:
            self.outcome.left.append(f"{count_of(not_read, 'discography', 'discographies')} to read")

    def discographies(self) -> list[tuple[LibraryArtist, list[dict]]]:
        stored = self.repository.library_discographies()
        return [(artist, list(stored[artist.mbid].get("groups") or ())) for artist in self.artists
                if artist.mbid in stored and not stored[artist.mbid].get("unknown")]

    def cover_url(self, mbid: str) -> str:
        return upstream.cover_url(self.settings, mbid)


# --- the two sources --------------------------------------------------------------------------


class NewReleasesSource:
    """Library artists' studio albums first released within the window, announced ones included."""

    name = NEW_RELEASE

    def __init__(self, run: LibraryRun):
        self.run = run

    def fetch(self, ctx: JobContext) -> list[Suggestion]:
        run, window = self.run, ctx.settings.new_releases.window
        found: dict[str, Suggestion] = {}
        for artist, groups in run.discographies():
            for group in groups:
                released = full_date(group.get("date"))
                if is_studio_album(group) and within_window(released, run.today, window):
                    found.setdefault(group["mbid"], self._suggestion(
                        group["mbid"], group.get("credit") or artist.name, group.get("title") or "", released,
                        artist.mbid))
        for release in run.fresh:
            released = full_date(release.release_date)
            if is_fresh_album(release) and within_window(released, run.today, window):
                found.setdefault(release.release_group_mbid, self._suggestion(
                    release.release_group_mbid, release.artist_credit_name, release.release_name, released,
                    next(iter(release.artist_mbids), None)))
        return sorted(found.values(), key=lambda s: (-(s.score or 0), s.artist.casefold(), s.album.casefold()))

    def _suggestion(self, mbid: str, artist: str, title: str, released: date, artist_mbid: str | None) -> Suggestion:
        window = self.run.settings.new_releases.window
        return Suggestion(artist=artist, album=title, mbid=mbid, score=new_release_score(released, self.run.today, window),
                          source=NEW_RELEASE, year=released.year, cover_url=self.run.cover_url(mbid),
                          artist_mbid=artist_mbid, release_date=released.isoformat())


@dataclass
class Gap:
    """A library artist's studio albums, and which of them the household owns."""

    artist: LibraryArtist
    albums: list[dict]  # released studio albums, one per title
    owned: list[dict]

    @property
    def missing(self) -> list[dict]:
        owned = {g["mbid"] for g in self.owned}
        return [g for g in self.albums if g["mbid"] not in owned]


class LibraryGapsSource:
    """The studio albums missing from artists the household owns some albums of, most listened first."""

    name = MISSING

    def __init__(self, run: LibraryRun):
        self.run = run

    def gaps(self) -> list[Gap]:
        run = self.run
        gaps = []
        for artist, groups in run.discographies():
            albums, titles = [], set()
            for group in sorted(groups, key=lambda g: (g.get("date") or "9999", g["mbid"])):
                released = group.get("date") or ""
                key = title_key(group.get("title") or "")
                # Released ones only (an announced album is a new release, not a gap); a reissue filed
                # as its own group counts once.
                if is_studio_album(group) and released and released[:10] <= run.today.isoformat() and key not in titles:
                    titles.add(key)
                    albums.append(group)
            owned = [g for g in albums
                     if run.library.has_album(g.get("credit") or artist.name, g.get("title") or "", g["mbid"])
                     or run.library.has_album(artist.name, g.get("title") or "", g["mbid"])]
            if owned and len(owned) < len(albums):
                gaps.append(Gap(artist, albums, owned))
        return gaps

    def listen_counts(self, gaps: list[Gap]) -> dict[str, dict]:
        """Listen counts of every studio album of these artists, asking ListenBrainz only about new ones."""
        run = self.run
        known = run.repository.release_group_popularity()
        wanted = [g["mbid"] for gap in gaps for g in gap.albums if g["mbid"] not in known]
        if wanted:
            try:
                counts = run.lb.release_group_popularity(wanted)
            except UpstreamError as exc:
                run.outcome.errors.append(f"ListenBrainz popularity: {exc.message}")
                log.warning("could not read listen counts from ListenBrainz: %s", exc)
                return known
            now = utc_now_iso()
            fresh = {mbid: {"listens": counts[mbid].listens if mbid in counts else None,
                            "users": counts[mbid].users if mbid in counts else None, "asked_at": now}
                     for mbid in wanted}
            run.repository.record_release_group_popularity(fresh)
            run.outcome.popularity_asked += len(wanted)
            known = {**known, **fresh}
        return known

    def fetch(self, ctx: JobContext) -> list[Suggestion]:
        run, settings = self.run, ctx.settings.library_gaps
        seen = run.repository.seen_mbids()
        blocked = {artist_key(name) for name in run.repository.blocked_artists()}
        gaps = [gap for gap in self.gaps()
                if artist_key(gap.artist.name) not in blocked and any(g["mbid"] not in seen for g in gap.missing)]
        counts = self.listen_counts(gaps)
        suggestions = []
        for gap in gaps:
            if any(g["mbid"] not in counts for g in gap.albums):
                run.outcome.gaps_left += 1  # ranked once ListenBrainz answers: next run
                continue
            listens = {g["mbid"]: counts[g["mbid"]].get("listens") for g in gap.albums}
            ranked = sorted((g for g in gap.albums if listens[g["mbid"]] is not None),
                            key=lambda g: (-listens[g["mbid"]], g.get("date") or "", g["mbid"]))
            rank = {g["mbid"]: n for n, g in enumerate(ranked, start=1)}
            top = max((n for n in listens.values() if n), default=0)
            # Suggested before, decided or blocked: not taking a place (publish would drop them anyway).
            missing = [g for g in gap.missing if g["mbid"] not in seen]
            missing.sort(key=lambda g: (rank.get(g["mbid"], len(gap.albums) + 1), g.get("date") or "", g["mbid"]))
            for group in missing[: settings.per_artist]:
                count = listens[group["mbid"]]
                score = round(100.0 * count / top, 1) if count is not None and top else UNKNOWN_LISTENS_SCORE
                suggestions.append(Suggestion(
                    artist=group.get("credit") or gap.artist.name, album=group.get("title") or "", mbid=group["mbid"],
                    score=score, source=MISSING, year=_year(group.get("date")), cover_url=run.cover_url(group["mbid"]),
                    artist_mbid=gap.artist.mbid,
                    library_gap={"owned": len(gap.owned), "total": len(gap.albums), "rank": rank.get(group["mbid"])},
                ))
        suggestions.sort(key=lambda s: (-(s.score or 0), s.artist.casefold(), s.album.casefold()))
        if run.outcome.gaps_left:
            run.outcome.left.append(f"missing albums of {count_of(run.outcome.gaps_left, 'artist')} "
                                    "(their listen counts)")
        return suggestions[: settings.per_run]


def _year(text: Any) -> int | None:
    try:
        return int(text[:4]) if isinstance(text, str) and len(text) >= 4 else None
    except ValueError:
        return None


# --- the run ----------------------------------------------------------------------------------


def run_once(ctx: JobContext, run: LibraryRun | None = None) -> RunResult:
    settings = ctx.settings
    if not (settings.new_releases.enabled or settings.library_gaps.enabled):
        return RunResult("new_releases and library_gaps are both turned off", skipped=True)
    run = run or LibraryRun(ctx)
    outcome = run.outcome
    try:
        run.read_library()
    except Unavailable as exc:
        return RunResult(f"Subsonic server unreachable: {exc.message}", skipped=True)
    except UpstreamError as exc:
        return RunResult("library not read", error=f"Subsonic server: {exc.message}")
    if not run.artists:
        return RunResult("no library artists with a MusicBrainz id yet (set subsonic.base_url)", skipped=True)
    run.read_fresh_releases()
    run.read_discographies()
    sources = ([NewReleasesSource(run)] if settings.new_releases.enabled else []) + \
              ([LibraryGapsSource(run)] if settings.library_gaps.enabled else [])
    for source in sources:
        suggestions = source.fetch(ctx)
        outcome.reports[source.name] = publish(ctx, suggestions, run.library)
    log.info("%d library artists without a MusicBrainz id left out; ListenBrainz named %d fresh releases of "
             "library artists; listen counts asked for %d albums", outcome.without_mbid, outcome.fresh_releases,
             outcome.popularity_asked)
    log.info("upstream requests: %s", http_stats.describe())
    summary = outcome.summary()
    if outcome.left:
        summary += f"; {', '.join(outcome.left)} left for the next run"
    problems = "; ".join(dict.fromkeys(outcome.errors))
    if not problems:
        return RunResult(summary)
    if not (outcome.asked or any(r.written for r in outcome.reports.values())):
        return RunResult(summary, error=problems)  # nothing useful was done
    return RunResult(summary, left=f"{', '.join(outcome.left) or 'what failed'} ({problems})")
