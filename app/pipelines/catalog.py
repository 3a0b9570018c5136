"""catalog-discovery: new artists similar to the household library, and their albums.

1. Library: artists and albums from the Subsonic server, saved as the
   snapshot in ``catalog_artists.json`` (which every pipeline's "already
   owned" check reads). Server unreachable: the run is skipped.
2. Last.fm: ``artist.getSimilar`` for at most ``catalog.artists_per_run``
   library artists, those never asked (or asked longest ago) first; an artist
   asked within ``catalog.refresh_days`` is not asked again. Every answer is
   kept in the snapshot, so a large library is covered over several runs and
   each run ranks over all answers gathered so far.
3. Ranking: candidates are ranked by the sum of their Last.fm matches over
   the library artists they are similar to (matches below
   ``catalog.min_similarity`` left out), so an artist similar to several of
   yours ranks above one similar to a single artist. Each match is weighed
   by how the earlier suggestions through that library artist were decided
   (``learn_from_decisions``). The queue score is
   ``100 × (1 - e^-sum)``: 0-100, in the same order, comparable across runs.
   Candidates in the library, blocked, or already discovered are dropped.
4. Albums: for the best candidates, release groups of primary type Album with
   an official release, from MusicBrainz (1 request/s); secondary types
   (live, compilation…) only when ``catalog.include_secondary_types`` names
   them; the earliest ``catalog.albums_per_artist`` not already owned or seen.
5. ``discovery.publish`` writes them (pending queue or wishlist); only then is
   the artist recorded in ``catalog_discovered.json``.

A failure part-way loses nothing: every answer, album and artist written
stays written, and whatever was not reached comes back next run. Transient
failures are retried by the clients; a Last.fm question that still fails is
skipped for this run and the other artists are asked (Last.fm is given up on
for the run only after ``LASTFM_FAILURES_IN_A_ROW`` failures in a row, or when
it rate-limits). Such a run ends partial, saying what is left; it fails only
when it got nothing done.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from app.clients.http import (
    AuthError,
    NotFound,
    RateLimited,
    RetryPolicy,
    Unavailable,
    UpstreamError,
    safe_url,
)
from app.clients.http import stats as http_stats
from app.learning import Tally, similar_tallies, weigh
from app.library import Library
from app.matching import artist_key, title_key
from app.pipelines import JobContext, RunResult, upstream
from app.pipelines.discovery import PublishReport, Suggestion, publish
from app.records import utc_now_iso
from app.text import count_of

log = logging.getLogger("resonance.catalog")

SOURCE = "catalog"
OFFICIAL = "website-default"  # release-group browse: groups with at least one official release
LASTFM_FAILURES_IN_A_ROW = 3  # Last.fm is down, not failing one question: the rest waits for the next run
SAVE_ANSWERS_EVERY = 25  # Last.fm answers written in batches: a crash loses at most this many
CANDIDATE_TRIES_PER_SLOT = 3  # candidates looked up on MusicBrainz per new artist wanted, at most
VARIOUS_ARTISTS_MBID = "89ad4ac3-39f7-470e-963a-56509c546377"
# A home server that refuses connections is down, not busy: a few quick retries (a reply
# cut short or a reset is worth one), at most 3.5 s, then the run is skipped
# (architecture: "Navidrome unreachable: catalog discovery skips run").
SUBSONIC_RETRY = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=2.0, max_total_wait=5.0)
# Library "artists" that are not artists: nothing useful is similar to them.
PLACEHOLDER_ARTISTS = frozenset(artist_key(name) for name in (
    "Various Artists", "Various", "VA", "V.A.", "Unknown Artist", "[Unknown Artist]", "[unknown]", "Soundtrack",
))


# --- 1. the library ------------------------------------------------------------------


def library_snapshot(artists: Iterable[Any], albums: Iterable[Any], server: str, taken_at: str) -> dict:
    """The snapshot kept in catalog_artists.json, from the Subsonic client's records."""
    return {
        "taken_at": taken_at,
        "server": server,
        "artists": [
            {"id": a.id, "name": a.name, "mbid": a.musicbrainz_id or "", "album_count": a.album_count or 0}
            for a in artists if a.name
        ],
        "albums": [
            {"id": a.id, "artist": a.artist or "", "name": a.name, "year": a.year, "mbid": a.musicbrainz_id or ""}
            for a in albums if a.name
        ],
    }


def is_placeholder(name: str, mbid: str | None = None) -> bool:
    return mbid == VARIOUS_ARTISTS_MBID or artist_key(name) in PLACEHOLDER_ARTISTS


# --- 2. who to ask Last.fm about ---------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def artists_to_ask(
    artists: Iterable[Mapping[str, Any]],
    answers: Mapping[str, Mapping[str, Any]],
    *,
    now: datetime,
    refresh_days: int,
    limit: int,
) -> list[Mapping[str, Any]]:
    """Library artists due for a Last.fm question, at most ``limit``.

    Never asked first (those with more albums in the library before the
    others), then the longest ago; an artist asked within ``refresh_days``
    is not due. One entry per normalised name (the library may list "Björk"
    and "Bjork").
    """
    cutoff = now - timedelta(days=refresh_days)
    due: dict[str, tuple[tuple, Mapping[str, Any]]] = {}
    for artist in artists:
        name = artist.get("name") or ""
        key = artist_key(name)
        if not name or is_placeholder(name, artist.get("mbid")):
            continue
        asked = parse_time((answers.get(key) or {}).get("asked_at"))
        if asked is not None and asked > cutoff:
            continue
        order = (asked is not None, asked or now, -(artist.get("album_count") or 0), key)
        if key not in due or order < due[key][0]:
            due[key] = (order, artist)
    return [artist for _, artist in sorted(due.values(), key=lambda pair: pair[0])][:limit]


def answer_record(library_name: str, asked_at: str, similar: Iterable[Any] = (), *,
                  corrected_name: str | None = None, unknown: bool = False) -> dict:
    """What catalog_artists.json keeps of one Last.fm answer (under the library artist's key)."""
    record: dict[str, Any] = {
        "artist": library_name,
        "asked_at": asked_at,
        "similar": [{"name": s.name, "mbid": s.mbid or "", "match": round(s.match, 4)} for s in similar],
    }
    if corrected_name and artist_key(corrected_name) != artist_key(library_name):
        record["lastfm_name"] = corrected_name
    if unknown:
        record["unknown"] = True
    return record


# --- 3. ranking ----------------------------------------------------------------------------


@dataclass
class Candidate:
    """An artist similar to one or more library artists."""

    key: str
    name: str
    mbid: str | None
    total: float  # sum of the matches (weighed by past decisions, see learn_from_decisions): the ranking
    best: float = 0.0  # the strongest single match
    similar_to: list[str] = field(default_factory=list)  # library artists, strongest match first
    sources: list[tuple[str, float]] = field(default_factory=list)  # (library artist, match), strongest first
    ranking_note: str | None = None  # how past decisions moved it, in words for the card

    @property
    def score(self) -> float:
        """The queue item's score, 0-100."""
        return similarity_score(self.total)


def similarity_score(total: float) -> float:
    """``100 × (1 - e^-total)`` for a sum of matches, rounded to 0.1.

    Last.fm gives each library artist's most similar artist a match of 1, so
    a single top match scores 63; 0.5 scores 39; three matches of 0.8 score
    91. The score grows with every further source, never passes 100, keeps
    the order of the sums, and does not depend on the rest of the batch, so
    scores compare across runs.
    """
    return round(100.0 * (1.0 - math.exp(-max(total, 0.0))), 1)


def rank_candidates(answers: Mapping[str, Mapping[str, Any]], min_similarity: float) -> list[Candidate]:
    """Every artist found in the Last.fm answers, highest sum of matches first.

    Names are merged by their normalised key (Last.fm lists "Bjork" and
    "Björk" as two artists). A similarity below ``min_similarity`` does not
    count. The display name and MBID come from the strongest similarity that
    carries them; a library artist counts once per candidate (its best match).
    """
    edges: dict[str, dict[str, tuple[float, str, str]]] = {}  # candidate -> library key -> (match, name, mbid)
    library_names: dict[str, str] = {}
    for library_key, answer in answers.items():
        library_names[library_key] = answer.get("artist") or library_key
        for row in answer.get("similar") or ():
            name, match = row.get("name") or "", float(row.get("match") or 0.0)
            if not name or match < min_similarity or match <= 0:
                continue
            key = artist_key(name)
            best = edges.setdefault(key, {}).get(library_key)
            if best is None or match > best[0]:
                edges[key][library_key] = (match, name, row.get("mbid") or "")
    candidates = []
    for key, by_library in edges.items():
        ordered = sorted(by_library.items(), key=lambda pair: (-pair[1][0], library_names[pair[0]].casefold()))
        matches = [match for _, (match, _, _) in ordered]
        name = ordered[0][1][1]
        mbid = next((mbid for _, (_, _, mbid) in ordered if mbid), None)
        candidates.append(Candidate(
            key=key, name=name, mbid=mbid, total=round(sum(matches), 6), best=matches[0],
            similar_to=list(dict.fromkeys(library_names[library_key] for library_key, _ in ordered)),
            sources=[(library_names[library_key], match) for library_key, (match, _, _) in ordered],
        ))
    return _in_rank_order(candidates)


def _in_rank_order(candidates: list[Candidate]) -> list[Candidate]:
    # Equal sums: more sources first (broader support), then the stronger single match.
    candidates.sort(key=lambda c: (-c.total, -len(c.similar_to), -c.best, c.key))
    return candidates


def learn_from_decisions(candidates: list[Candidate], tallies: Mapping[str, Tally]) -> list[Candidate]:
    """The candidates with each match weighed by how the suggestions of its library artist were decided
    (``app.learning.weigh``: ``Σ match × 2(approved + 2)/(decided + 4)``), in their new order; each moved
    one carries its note ("ranked lower: 3 of 4 albums similar to Muse were rejected")."""
    if not tallies:
        return candidates
    for candidate in candidates:
        if not candidate.sources:
            continue
        weighed = weigh(candidate.sources, tallies)
        candidate.total, candidate.ranking_note = weighed.total, weighed.note
    return _in_rank_order(candidates)


@dataclass
class Discovered:
    """Artists already turned into suggestions (catalog_discovered.json), by MBID and by name."""

    mbids: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)

    @classmethod
    def from_entries(cls, entries: Iterable[Any]) -> "Discovered":
        found = cls()
        for entry in entries:
            if isinstance(entry, str):  # the architecture's plain list of identifiers
                (found.mbids if _looks_like_mbid(entry) else found.keys).add(
                    entry.lower() if _looks_like_mbid(entry) else artist_key(entry))
            elif isinstance(entry, dict):
                if entry.get("mbid"):
                    found.mbids.add(entry["mbid"].lower())
                if entry.get("name"):
                    found.keys.add(artist_key(entry["name"]))
        return found

    def __contains__(self, candidate: Candidate) -> bool:
        return bool(candidate.mbid and candidate.mbid.lower() in self.mbids) or candidate.key in self.keys

    def add(self, name: str, mbid: str | None) -> None:
        self.keys.add(artist_key(name))
        if mbid:
            self.mbids.add(mbid.lower())


def _looks_like_mbid(text: str) -> bool:
    return len(text) == 36 and text.count("-") == 4


@dataclass
class Filtered:
    kept: list[Candidate]
    owned: int = 0
    discovered: int = 0
    blocked: int = 0


def filter_candidates(candidates: Iterable[Candidate], library: Library, discovered: Discovered,
                      blocked: Iterable[str] = ()) -> Filtered:
    """Drop candidates in the library (by MBID, else name), already discovered, or blocked."""
    blocked_keys = {artist_key(name) for name in blocked}
    result = Filtered(kept=[])
    for candidate in candidates:
        if library.has_artist(candidate.name, candidate.mbid):
            result.owned += 1
        elif candidate in discovered:
            result.discovered += 1
        elif candidate.key in blocked_keys or is_placeholder(candidate.name, candidate.mbid):
            result.blocked += 1
        else:
            result.kept.append(candidate)
    return result


# --- 4. albums -----------------------------------------------------------------------------


def exact_artist(matches: Iterable[Any], name: str) -> Any | None:
    """The MusicBrainz search hit that is this artist: score 100 and the same normalised name."""
    key = artist_key(name)
    return next((m for m in matches if m.score >= 100 and artist_key(m.name) == key), None)


def pick_albums(
    groups: Iterable[Any],
    *,
    count: int,
    include_secondary_types: Iterable[str] = (),
    skip: Callable[[Any], bool] = lambda group: False,
) -> list[Any]:
    """The artist's first ``count`` albums in release order.

    Primary type Album only; a group with secondary types (Live,
    Compilation…) only when every one of them is included. Undated groups
    come last; a title already taken (a reissue filed as its own group) is
    not taken twice; ``skip`` leaves out what is owned or was suggested before.
    """
    wanted_secondary = {t.casefold() for t in include_secondary_types}
    eligible = [
        g for g in groups
        if (g.primary_type or "").casefold() == "album"
        and all(t.casefold() in wanted_secondary for t in g.secondary_types)
    ]
    eligible.sort(key=lambda g: (not g.first_release_date, g.first_release_date or "", g.title.casefold(), g.mbid))
    picked, titles = [], set()
    for group in eligible:
        key = title_key(group.title)
        if key in titles:
            continue
        titles.add(key)
        if skip(group):
            continue
        picked.append(group)
        if len(picked) >= count:
            break
    return picked


# --- the run ------------------------------------------------------------------------------


class LastFmKeyRejected(Exception):
    """Last.fm refused the API key: nothing more can be asked this run."""


class _StopAsking(Exception):
    """Last.fm is rate-limiting or down: the artists left wait for the next run."""


@dataclass
class Found:
    """What MusicBrainz gave for a candidate: its name and MBID (None when no exact match), albums to suggest."""

    name: str
    mbid: str | None
    suggestions: list[Suggestion] = field(default_factory=list)


@dataclass
class Outcome:
    """What a run did, for its one-line summary."""

    library_artists: int = 0
    asked: int = 0
    due: int = 0
    new_artists: list[str] = field(default_factory=list)
    nothing_to_add: int = 0
    report: PublishReport = field(default_factory=PublishReport)
    errors: list[str] = field(default_factory=list)
    stopped: bool = False
    lastfm_failed: int = 0  # questions Last.fm could not answer this run
    lastfm_gave_up: bool = False
    candidates_left: int = 0  # candidates MusicBrainz could not be asked about
    to_ask: int = 0  # Last.fm questions planned this run

    def left(self) -> list[str]:
        """What the next run has to do again."""
        left = []
        not_asked = self.to_ask - self.asked if self.lastfm_failed or self.lastfm_gave_up else 0
        if not_asked > 0:
            left.append(f"{count_of(not_asked, 'Last.fm question')}")
        if self.candidates_left:
            left.append(f"{count_of(self.candidates_left, 'candidate artist')} to look up on MusicBrainz")
        return left

    def summary(self) -> str:
        report = self.report
        where = "the pending queue" if report.mode == "manual" else "the wishlist"
        albums = len(report.written)
        artists = len(self.new_artists)
        text = f"{count_of(albums, 'album')} by {count_of(artists, 'new artist')} added to {where}"
        skipped = [f"{n} {why}" for n, why in ((report.seen, "seen before"), (report.owned, "already owned"),
                                               (report.blocked, "by blocked artists"), (report.invalid, "invalid"))
                   if n]
        if skipped:
            text += f" ({', '.join(skipped)} skipped)"
        if self.nothing_to_add:
            text += f"; {self.nothing_to_add} more with nothing to add"
        text += f"; asked Last.fm about {self.asked} of {count_of(self.library_artists, 'library artist')}"
        if self.due > self.asked:
            text += f" ({self.due - self.asked} more due)"
        if self.stopped:
            text += "; stopped on request"
        return text


class CatalogRun:
    """One run of catalog-discovery; each step a method, the clients replaceable in tests."""

    def __init__(self, ctx: JobContext, subsonic=None, lastfm=None, mb=None):
        self.ctx = ctx
        self.settings = ctx.settings
        self.catalog = ctx.settings.catalog
        self.repository = ctx.repository
        if subsonic is None:
            subsonic = upstream.subsonic(ctx.settings)
            subsonic.http.retry = SUBSONIC_RETRY
        self.subsonic = subsonic
        self.lastfm = lastfm or upstream.lastfm(ctx.settings)
        self.mb = mb or upstream.musicbrainz(ctx.settings, ctx.repository)
        self.outcome = Outcome()
        self._failures_in_a_row = 0

    # 1. library -----------------------------------------------------------------------------

    def refresh_library(self) -> dict:
        """Read the whole library from the Subsonic server and save the snapshot."""
        info = self.subsonic.ping()
        artists = self.subsonic.artists()
        albums = self.subsonic.albums()
        snapshot = library_snapshot(artists, albums, safe_url(self.subsonic.base_url), utc_now_iso())
        self.repository.save_library_snapshot(snapshot)
        self.outcome.library_artists = len(snapshot["artists"])
        log.info("library: %d artists, %d albums on %s %s", len(snapshot["artists"]), len(snapshot["albums"]),
                 info.type or "Subsonic server", info.server_version or info.api_version or "")
        return snapshot

    # 2. Last.fm -------------------------------------------------------------------------------

    def ask_lastfm(self, snapshot: dict) -> None:
        """Ask Last.fm about the artists due; every answer is saved, in batches."""
        all_due = artists_to_ask(snapshot["artists"], self.repository.similar_answers(),
                                 now=datetime.now(timezone.utc), refresh_days=self.catalog.refresh_days,
                                 limit=len(snapshot["artists"]))
        due = all_due[: self.catalog.artists_per_run]
        self.outcome.due = len(all_due)
        self.outcome.to_ask = len(due)
        log.info("asking Last.fm about %d of %d library artists (%d due)", len(due), len(snapshot["artists"]),
                 len(all_due))
        batch: dict[str, dict] = {}
        try:
            for artist in due:
                if self.ctx.stop_requested():
                    self.outcome.stopped = True
                    break
                answer = self._ask(artist)
                if answer is None:
                    continue
                batch[artist_key(artist["name"])] = answer
                self.outcome.asked += 1
                if len(batch) >= SAVE_ANSWERS_EVERY:
                    self.repository.record_similar_answers(batch)
                    batch = {}
        finally:
            self.repository.record_similar_answers(batch)

    def _ask(self, artist: Mapping[str, Any]) -> dict | None:
        name, mbid = artist["name"], artist.get("mbid") or None
        try:
            result = self.lastfm.similar_artists(name=name, mbid=mbid, limit=self.catalog.similar_limit)
        except AuthError as exc:
            raise LastFmKeyRejected(exc.message) from None
        except NotFound:
            log.info("Last.fm does not know %s; skipped until the next refresh", name)
            return answer_record(name, utc_now_iso(), unknown=True)
        except UpstreamError as exc:
            # Already retried with backoff. Not recorded: this artist is asked again next run.
            self.outcome.errors.append(f"Last.fm: {exc.message}")
            self.outcome.lastfm_failed += 1
            self._failures_in_a_row += 1
            log.warning("Last.fm could not answer for %s: %s", name, exc)
            if isinstance(exc, RateLimited) or self._failures_in_a_row >= LASTFM_FAILURES_IN_A_ROW:
                # Rate-limited, or down rather than failing one question: asking the rest now would only make it worse.
                self.outcome.lastfm_gave_up = True
                raise _StopAsking() from None
            return None
        self._failures_in_a_row = 0
        return answer_record(name, utc_now_iso(), result.artists, corrected_name=result.corrected_name)

    # 3. ranking ---------------------------------------------------------------------------------

    def candidates(self, library: Library) -> list[Candidate]:
        ranked = rank_candidates(self.repository.similar_answers(), self.catalog.min_similarity)
        ranked = learn_from_decisions(ranked, similar_tallies(self.repository.decision_records()))
        filtered = filter_candidates(ranked, library, Discovered.from_entries(self.repository.catalog_discovered()),
                                     self.repository.blocked_artists())
        log.info("%d candidate artists (%d already in the library, %d discovered before, %d blocked)",
                 len(filtered.kept), filtered.owned, filtered.discovered, filtered.blocked)
        return filtered.kept

    # 4-5. albums, written artist by artist ---------------------------------------------------------

    def discover(self, candidates: list[Candidate], library: Library) -> None:
        wanted = self.catalog.max_artists_per_run
        tries = wanted * CANDIDATE_TRIES_PER_SLOT
        discovered = Discovered.from_entries(self.repository.catalog_discovered())
        report = self.outcome.report
        report.mode = self.settings.general.approval_mode
        for candidate in candidates:
            if len(self.outcome.new_artists) >= wanted or tries <= 0:
                break
            if self.ctx.stop_requested():
                self.outcome.stopped = True
                break
            tries -= 1
            try:
                found = self._albums_of(candidate, library, discovered)
            except UpstreamError as exc:
                # Not recorded as discovered: the candidate comes back next run.
                self.outcome.errors.append(f"MusicBrainz: {exc.message}")
                self.outcome.candidates_left += 1
                log.warning("could not look up %s on MusicBrainz: %s", candidate.name, exc)
                if exc.retryable:
                    break  # already retried with backoff: the service is struggling; the rest waits for the next run
                continue
            if found is None:
                continue
            # Written first, recorded after: a crash in between brings the artist back, never loses it.
            written = self._publish(found.suggestions, library)
            self.repository.mark_catalog_discovered([{
                "name": found.name, "mbid": found.mbid or "", "discovered_at": utc_now_iso(),
                "score": candidate.score, "similar_to": candidate.similar_to,
                "albums": [s.mbid for s in written],
            }])
            discovered.add(candidate.name, found.mbid)
            if written:
                self.outcome.new_artists.append(found.name)
                log.info("%s (score %.1f, similar to %s): %s", found.name, candidate.score,
                         ", ".join(candidate.similar_to[:3]), count_of(len(written), "album"))
            else:
                self.outcome.nothing_to_add += 1

    def _publish(self, suggestions: list[Suggestion], library: Library) -> list[Suggestion]:
        if not suggestions:
            return []
        part = publish(self.ctx, suggestions, library)
        total = self.outcome.report
        total.written.extend(part.written)
        total.seen += part.seen
        total.owned += part.owned
        total.blocked += part.blocked
        total.invalid += part.invalid
        return part.written

    def _albums_of(self, candidate: Candidate, library: Library, discovered: Discovered) -> Found | None:
        """The candidate's albums to suggest; None when MusicBrainz shows it is not new after all.

        An artist with no exact MusicBrainz match, or no album left to suggest,
        gives an empty ``Found``: it is recorded so that it does not take a
        slot again every run.
        """
        name, mbid, groups = candidate.name, None, None
        if candidate.mbid:
            try:
                mbid, groups = candidate.mbid, self._release_groups(candidate.mbid)
            except NotFound:
                log.info("Last.fm's MBID for %s is unknown to MusicBrainz; searching by name", candidate.name)
        if groups is None:
            match = exact_artist(self.mb.search_artist(candidate.name), candidate.name)
            if match is None:
                log.info("no MusicBrainz artist named exactly %s; left out", candidate.name)
                return Found(candidate.name, None)
            name, mbid, groups = match.name, match.mbid, None
        if library.has_artist(candidate.name, mbid) or (mbid and mbid.lower() in discovered.mbids):
            log.info("%s is already in the library or discovered (same MusicBrainz artist)", candidate.name)
            return None
        if groups is None:
            groups = self._release_groups(mbid)
        # MusicBrainz's spelling over Last.fm's ("Mum" → "Múm"), when a group credits the artist alone.
        name = next((g.artist_credit_name for g in groups if g.artist_mbid == mbid and g.artist_credit_name
                     and artist_key(g.artist_credit_name) == candidate.key), name)
        seen = self.repository.seen_mbids()
        albums = pick_albums(
            groups, count=self.catalog.albums_per_artist,
            include_secondary_types=self.catalog.include_secondary_types,
            skip=lambda g: g.mbid in seen or library.has_album(g.artist_credit_name or name, g.title, g.mbid),
        )
        return Found(name, mbid, [
            Suggestion(
                artist=group.artist_credit_name or name, album=group.title, mbid=group.mbid,
                score=candidate.score, source=SOURCE, year=group.year,
                cover_url=upstream.cover_url(self.settings, group.mbid),
                similar_to=candidate.similar_to, artist_mbid=mbid, ranking=candidate.ranking_note,
            )
            for group in albums
        ])

    def _release_groups(self, artist_mbid: str) -> list[Any]:
        return self.mb.release_groups_by_artist(artist_mbid, "album", release_group_status=OFFICIAL,
                                                artist_credits=True)


def run_once(ctx: JobContext) -> RunResult:
    settings = ctx.settings
    if not settings.subsonic.base_url:
        return RunResult("set subsonic.base_url to read your library", skipped=True)
    if not settings.lastfm.api_key:
        return RunResult("set lastfm.api_key to find similar artists", skipped=True)
    run = CatalogRun(ctx)
    outcome = run.outcome
    try:
        snapshot = run.refresh_library()
    except Unavailable as exc:
        reason = f"Subsonic server unreachable: {exc.message}"
        log.warning("%s; run skipped", reason)
        return RunResult(reason, skipped=True)
    except UpstreamError as exc:
        reason = exc.message if "subsonic" in exc.message.casefold() else f"Subsonic server: {exc.message}"
        log.error("%s", reason)
        return RunResult("library not read", error=reason)
    if not snapshot["artists"]:
        return RunResult("the library has no artists yet", skipped=True)
    library = Library.from_snapshot(snapshot)
    try:
        run.ask_lastfm(snapshot)
    except _StopAsking:
        pass
    except LastFmKeyRejected as exc:
        log.error("%s; fix lastfm.api_key", exc)
        return RunResult(outcome.summary(), error=f"{exc}; check lastfm.api_key")
    if not outcome.stopped:
        run.discover(run.candidates(library), library)
    log.info("upstream requests: %s", http_stats.describe())
    problems = "; ".join(dict.fromkeys(outcome.errors))
    if not problems:
        return RunResult(outcome.summary())
    if not (outcome.asked or outcome.report.written or outcome.new_artists or outcome.nothing_to_add):
        return RunResult(outcome.summary(), error=problems)  # nothing useful was done
    left = outcome.left()
    return RunResult(outcome.summary(), left=f"{', '.join(left) or 'what failed'} ({problems})")
