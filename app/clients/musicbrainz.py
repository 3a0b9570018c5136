"""MusicBrainz Web Service v2 (JSON) client.

Every request goes through one ``RateLimiter`` per host (default 1
request/s; raise ``rate`` for a private mirror), spaced with a margin
(``PACING_MARGIN``): requests sent exactly 1.000 s apart can arrive 0.999 s
apart and count as two in one second. The pipelines pass a
``SharedRateLimiter`` so that every process asking MusicBrainz at once keeps
to the one rate together. A 503 pushes every process's next request back
(``Retry-After`` when present) and is retried with doubling backoff from 1 s;
400/404 are never retried.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from app.clients.http import (
    HttpClient,
    RateLimiter,
    RetryPolicy,
    as_int,
    as_str,
    shared_limiter,
)

SERVICE = "musicbrainz"
#: Requests are spaced 10% more than the rate asks: 1.1 s at 1 request/s.
PACING_MARGIN = 1.1
DEFAULT_BASE_URL = "https://musicbrainz.org"
BROWSE_LIMIT = 100

_YEAR_RE = re.compile(r"^\s*(\d{4})")
_LUCENE_SPECIAL = set('+-&|!(){}[]^"~*?:\\/')


def pacing_interval(rate: float) -> float:
    """Seconds between two requests at ``rate`` requests/s, with the margin."""
    return PACING_MARGIN / rate


def parse_year(date: Any) -> int | None:
    """Year of a partial MB date (``"1994"``, ``"1994-08"``, ``"1994-08-22"``); ``None`` for ``""``."""
    if isinstance(date, int) and not isinstance(date, bool):
        return date if date > 0 else None
    if not isinstance(date, str):
        return None
    match = _YEAR_RE.match(date)
    if not match:
        return None
    year = int(match.group(1))
    return year if year > 0 else None


def lucene_escape(text: str) -> str:
    """Backslash-escape Lucene special characters in user text."""
    return "".join("\\" + ch if ch in _LUCENE_SPECIAL else ch for ch in text)


def lucene_phrase(text: str) -> str:
    """``text`` as an escaped, quoted Lucene phrase."""
    return f'"{lucene_escape(text)}"'


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class ArtistCredit:
    """One entry of an artist credit (``name`` is the credited name)."""

    name: str
    mbid: str | None
    join_phrase: str = ""
    artist_name: str | None = None


@dataclass(frozen=True, slots=True)
class ReleaseGroup:
    """A release group (album, single, …)."""

    mbid: str
    title: str
    primary_type: str | None
    secondary_types: tuple[str, ...] = ()
    first_release_date: str | None = None
    year: int | None = None
    artist_credit_name: str | None = None
    artist_mbid: str | None = None
    disambiguation: str | None = None
    score: int | None = None  # search results only

    @property
    def is_plain_album(self) -> bool:
        """Primary type Album with no secondary types (no live, compilation, …)."""
        return (self.primary_type or "").lower() == "album" and not self.secondary_types


@dataclass(frozen=True, slots=True)
class RecordingRelease:
    """A release a recording appears on, with its release group when included."""

    mbid: str
    title: str
    status: str | None
    date: str | None
    year: int | None
    country: str | None
    release_group: ReleaseGroup | None


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording lookup with its releases (at most 25)."""

    mbid: str
    title: str
    length_ms: int | None
    first_release_date: str | None
    artist_credit: tuple[ArtistCredit, ...]
    artist_credit_name: str
    releases: tuple[RecordingRelease, ...]

    @property
    def artist_mbid(self) -> str | None:
        """MBID of the first credited artist."""
        return next((c.mbid for c in self.artist_credit if c.mbid), None)


@dataclass(frozen=True, slots=True)
class Release:
    """A release from a release-group browse (with media → track count)."""

    mbid: str
    title: str
    status: str | None
    date: str | None
    year: int | None
    country: str | None
    track_count: int
    formats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Track:
    """A track of a release tracklist; ``length_s`` in seconds."""

    disc: int
    position: int
    number: str
    title: str
    length_s: int | None
    recording_mbid: str | None


@dataclass(frozen=True, slots=True)
class EditionTrack:
    """A track of one edition, with what tagging needs; ``length_s`` in seconds."""

    disc: int
    position: int
    title: str
    length_s: float | None
    recording_mbid: str | None
    track_mbid: str | None
    artist: str
    artist_mbids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Edition:
    """One release of a release group with its full tracklist (``release?release-group=…&inc=recordings…``)."""

    mbid: str
    title: str
    status: str | None
    date: str | None
    country: str | None
    artist: str
    artist_mbids: tuple[str, ...]
    release_group_mbid: str
    release_group_title: str
    year: int | None  # of the release group's first release: the album's year
    disc_count: int
    tracks: tuple[EditionTrack, ...]


@dataclass(frozen=True, slots=True)
class ArtistMatch:
    """An artist search hit; ``score`` is 0–100."""

    mbid: str
    name: str
    score: int
    sort_name: str | None = None
    type: str | None = None
    country: str | None = None
    disambiguation: str | None = None


# --------------------------------------------------------------------------- client


class MusicBrainzClient:
    """Client for ``/ws/2/`` of musicbrainz.org or a mirror."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        rate: float = 1.0,
        *,
        http: HttpClient | None = None,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        contact: str | None = None,
        timeout: tuple[float, float] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        if base.endswith("/ws/2"):
            base = base[: -len("/ws/2")]
        self.base_url = base
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.limiter = limiter or shared_limiter(SERVICE, base, pacing_interval(rate))
        self.http = http or HttpClient(
            SERVICE,
            session=session,
            contact=contact,
            timeout=timeout,
            retry=retry or RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=30.0, max_total_wait=90.0),
            sleep=sleep,
        )
        self.http.rate_limiter = self.limiter

    def _check(self, response: requests.Response):
        if response.status_code == 503:
            # Over the rate (or overloaded): nobody sharing the limiter asks before the server's wait is over.
            self.limiter.defer(self.http.retry_after(response) or 1.0)
        return self.http.default_check(response)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> tuple[dict[str, Any], requests.Response]:
        query = dict(params or {})
        query["fmt"] = "json"
        response = self.http.request("GET", f"{self.base_url}/ws/2/{path}", params=query, check=self._check,
                                     expect_json=True)
        data = self.http.json(response)
        if not isinstance(data, dict):
            raise self.http.bad_shape(response, "body is not an object")
        return data, response

    # -- lookups ---------------------------------------------------------------------

    def recording(self, mbid: str) -> Recording:
        """Recording with releases, their release groups and artist credits."""
        data, response = self._get(
            f"recording/{quote(mbid, safe='')}", {"inc": "releases release-groups artist-credits"}
        )
        if not as_str(data.get("id")):
            raise self.http.bad_shape(response, "recording without 'id'")
        credit = _artist_credit(data.get("artist-credit"))
        releases = []
        for row in data.get("releases") or []:
            if isinstance(row, dict) and as_str(row.get("id")):
                date = as_str(row.get("date"))
                releases.append(
                    RecordingRelease(
                        mbid=row["id"],
                        title=as_str(row.get("title")) or "",
                        status=as_str(row.get("status")),
                        date=date,
                        year=parse_year(date),
                        country=as_str(row.get("country")),
                        release_group=_release_group(row.get("release-group")),
                    )
                )
        return Recording(
            mbid=data["id"],
            title=as_str(data.get("title")) or "",
            length_ms=as_int(data.get("length")),
            first_release_date=as_str(data.get("first-release-date")),
            artist_credit=credit,
            artist_credit_name=_credit_name(credit),
            releases=tuple(releases),
        )

    def release_group(self, mbid: str) -> ReleaseGroup:
        """One release group with its artist credit."""
        data, response = self._get(f"release-group/{quote(mbid, safe='')}", {"inc": "artist-credits"})
        group = _release_group(data)
        if group is None:
            raise self.http.bad_shape(response, "release group without 'id'")
        return group

    # -- browse ------------------------------------------------------------------------

    def release_groups_by_artist(
        self,
        artist_mbid: str,
        primary_type: str | None = "album",
        *,
        release_group_status: str | None = None,
        artist_credits: bool = False,
    ) -> list[ReleaseGroup]:
        """All release groups credited to the artist (paged by 100); filter secondary types yourself.

        ``release_group_status="website-default"`` keeps only groups with an
        official release (browse refuses ``status=``); ``artist_credits`` adds
        each group's credit (``artist_credit_name``).
        """
        params: dict[str, Any] = {"artist": artist_mbid}
        if primary_type:
            params["type"] = primary_type
        if release_group_status:
            params["release-group-status"] = release_group_status
        if artist_credits:
            params["inc"] = "artist-credits"
        return self._browse("release-group", params, _release_group)

    def releases_of_group(self, rg_mbid: str, *, official_only: bool = True, max_releases: int = 300) -> list[Release]:
        """Releases of a release group with track counts (``inc=media``)."""
        params: dict[str, Any] = {"release-group": rg_mbid, "inc": "media"}
        if official_only:
            params["status"] = "official"
        return self._browse("release", params, _release, max_items=max_releases)

    def _browse(self, entity: str, params: dict[str, Any], parse: Callable[[Any], Any],
                max_items: int | None = None) -> list[Any]:
        """Every page of a browse (100 a page), until ``<entity>-count`` is reached."""
        found: list[Any] = []
        offset = 0
        while max_items is None or len(found) < max_items:
            data, response = self._get(entity, {**params, "limit": BROWSE_LIMIT, "offset": offset})
            rows = data.get(f"{entity}s")
            if not isinstance(rows, list):
                raise self.http.bad_shape(response, f"no '{entity}s' list")
            found.extend(item for item in map(parse, rows) if item is not None)
            offset += len(rows)
            total = as_int(data.get(f"{entity}-count"))
            if not rows or total is None or offset >= total:
                break
        return found

    def typical_release(self, rg_mbid: str) -> Release | None:
        """The most typical official release: modal track count (ties → nearest the median), earliest."""
        releases = [r for r in self.releases_of_group(rg_mbid) if r.track_count > 0]
        if not releases:
            releases = [r for r in self.releases_of_group(rg_mbid, official_only=False) if r.track_count > 0]
        return pick_typical_release(releases)

    def album_track_count(self, rg_mbid: str) -> int | None:
        """Track count of the typical release, ``None`` when MB has no media data."""
        release = self.typical_release(rg_mbid)
        return release.track_count if release else None

    def editions(self, rg_mbid: str, *, max_releases: int = 100) -> list[Edition]:
        """Every release of a release group with its tracklist, to choose the one a folder holds."""
        group = self.release_group(rg_mbid)
        params = {"release-group": rg_mbid, "inc": "recordings media artist-credits"}
        return self._browse("release", params, lambda row: _edition(row, group), max_items=max_releases)

    def release_tracklist(self, release_mbid: str) -> list[Track]:
        """Tracks of a release in disc/position order."""
        data, _ = self._get(f"release/{quote(release_mbid, safe='')}", {"inc": "recordings"})
        tracks: list[Track] = []
        for disc_index, medium in enumerate(data.get("media") or [], start=1):
            if not isinstance(medium, dict):
                continue
            disc = as_int(medium.get("position")) or disc_index
            for index, row in enumerate(medium.get("tracks") or [], start=1):
                if not isinstance(row, dict):
                    continue
                recording = row.get("recording") if isinstance(row.get("recording"), dict) else {}
                length = as_int(row.get("length"))
                if length is None:
                    length = as_int(recording.get("length"))
                tracks.append(
                    Track(
                        disc=disc,
                        position=as_int(row.get("position")) or index,
                        number=str(row.get("number") or index),
                        title=as_str(row.get("title")) or as_str(recording.get("title")) or "",
                        length_s=round(length / 1000) if length is not None else None,
                        recording_mbid=as_str(recording.get("id")),
                    )
                )
        return tracks

    # -- search ----------------------------------------------------------------------------

    def search_artist(self, name: str, limit: int = 10) -> list[ArtistMatch]:
        """Artists matching ``name``, best score first."""
        data, response = self._get("artist", {"query": f"artist:{lucene_phrase(name)}", "limit": limit})
        rows = data.get("artists")
        if not isinstance(rows, list):
            raise self.http.bad_shape(response, "no 'artists' list")
        matches = []
        for row in rows:
            if isinstance(row, dict) and as_str(row.get("id")):
                matches.append(
                    ArtistMatch(
                        mbid=row["id"],
                        name=as_str(row.get("name")) or "",
                        score=as_int(row.get("score")) or 0,
                        sort_name=as_str(row.get("sort-name")),
                        type=as_str(row.get("type")),
                        country=as_str(row.get("country")),
                        disambiguation=as_str(row.get("disambiguation")),
                    )
                )
        return sorted(matches, key=lambda m: -m.score)

    def search_release_group(
        self, artist: str, title: str, limit: int = 10, primary_type: str | None = None
    ) -> list[ReleaseGroup]:
        """Release groups matching artist + title (``score`` set), best first."""
        query = f"releasegroup:{lucene_phrase(title)} AND artist:{lucene_phrase(artist)}"
        if primary_type:
            query += f" AND primarytype:{lucene_escape(primary_type.lower())}"
        data, response = self._get("release-group", {"query": query, "limit": limit})
        rows = data.get("release-groups")
        if not isinstance(rows, list):
            raise self.http.bad_shape(response, "no 'release-groups' list")
        groups = [g for g in (_release_group(row) for row in rows) if g is not None]
        return sorted(groups, key=lambda g: -(g.score or 0))


# --------------------------------------------------------------------------- helpers


def best_album_release_group(recording: Recording, *, albums_only: bool = True) -> ReleaseGroup | None:
    """The release group to file a recording under.

    Preference: primary type Album, no secondary types, an Official release,
    earliest first-release date. With ``albums_only`` a recording found only
    on singles/EPs gives ``None``.
    """
    best: tuple[tuple[Any, ...], ReleaseGroup] | None = None
    for release in recording.releases:
        group = release.release_group
        if group is None:
            continue
        is_album = (group.primary_type or "").lower() == "album"
        if albums_only and not is_album:
            continue
        date = group.first_release_date or release.date or ""
        rank = (
            not is_album,
            bool(group.secondary_types),
            (release.status or "").lower() != "official",
            date == "",
            date,
            group.mbid,
        )
        if best is None or rank < best[0]:
            best = (rank, group)
    return best[1] if best else None


def pick_typical_release(releases: Iterable[Release]) -> Release | None:
    """The release whose track count is the mode (ties: nearest the median, then smaller), earliest date."""
    candidates = [r for r in releases if r.track_count > 0]
    if not candidates:
        return None
    counts = Counter(r.track_count for r in candidates)
    median = statistics.median(r.track_count for r in candidates)
    top = max(counts.values())
    chosen = min((c for c, n in counts.items() if n == top), key=lambda c: (abs(c - median), c))
    same = [r for r in candidates if r.track_count == chosen]
    return min(same, key=lambda r: (not r.date, r.date or "", (r.status or "").lower() != "official", r.mbid))


def _artist_credit(value: Any) -> tuple[ArtistCredit, ...]:
    credits = []
    for row in value if isinstance(value, list) else []:
        if not isinstance(row, dict):
            continue
        artist = row.get("artist") if isinstance(row.get("artist"), dict) else {}
        name = as_str(row.get("name")) or as_str(artist.get("name")) or ""
        join = row.get("joinphrase")
        credits.append(
            ArtistCredit(
                name=name,
                mbid=as_str(artist.get("id")),
                join_phrase=join if isinstance(join, str) else "",
                artist_name=as_str(artist.get("name")),
            )
        )
    return tuple(credits)


def _credit_name(credits: Iterable[ArtistCredit]) -> str:
    return "".join(c.name + c.join_phrase for c in credits)


def _release_group(row: Any) -> ReleaseGroup | None:
    if not isinstance(row, dict) or not as_str(row.get("id")):
        return None
    credit = _artist_credit(row.get("artist-credit"))
    secondary = row.get("secondary-types")
    date = as_str(row.get("first-release-date"))
    return ReleaseGroup(
        mbid=row["id"],
        title=as_str(row.get("title")) or "",
        primary_type=as_str(row.get("primary-type")),
        secondary_types=tuple(s for s in secondary if isinstance(s, str)) if isinstance(secondary, list) else (),
        first_release_date=date,
        year=parse_year(date),
        artist_credit_name=_credit_name(credit) or None,
        artist_mbid=next((c.mbid for c in credit if c.mbid), None),
        disambiguation=as_str(row.get("disambiguation")),
        score=as_int(row.get("score")),
    )


def _release(row: Any) -> Release | None:
    if not isinstance(row, dict) or not as_str(row.get("id")):
        return None
    media = [m for m in row.get("media") or [] if isinstance(m, dict)]
    date = as_str(row.get("date"))
    return Release(
        mbid=row["id"],
        title=as_str(row.get("title")) or "",
        status=as_str(row.get("status")),
        date=date,
        year=parse_year(date),
        country=as_str(row.get("country")),
        track_count=sum(as_int(m.get("track-count")) or 0 for m in media),
        formats=tuple(as_str(m.get("format")) or "" for m in media),
    )


def _edition(row: Any, group: ReleaseGroup) -> Edition | None:
    if not isinstance(row, dict) or not as_str(row.get("id")):
        return None
    credit = _artist_credit(row.get("artist-credit"))
    tracks: list[EditionTrack] = []
    media = [m for m in row.get("media") or [] if isinstance(m, dict)]
    for disc_index, medium in enumerate(media, start=1):
        disc = as_int(medium.get("position")) or disc_index
        for index, track in enumerate(medium.get("tracks") or [], start=1):
            if not isinstance(track, dict):
                continue
            recording = track.get("recording") if isinstance(track.get("recording"), dict) else {}
            track_credit = _artist_credit(track.get("artist-credit") or recording.get("artist-credit")) or credit
            length = as_int(track.get("length"))
            if length is None:
                length = as_int(recording.get("length"))
            tracks.append(EditionTrack(
                disc=disc, position=as_int(track.get("position")) or index,
                title=as_str(track.get("title")) or as_str(recording.get("title")) or "",
                length_s=length / 1000 if length is not None else None,
                recording_mbid=as_str(recording.get("id")), track_mbid=as_str(track.get("id")),
                artist=_credit_name(track_credit), artist_mbids=tuple(c.mbid for c in track_credit if c.mbid),
            ))
    return Edition(
        mbid=row["id"], title=as_str(row.get("title")) or group.title, status=as_str(row.get("status")),
        date=as_str(row.get("date")), country=as_str(row.get("country")),
        artist=_credit_name(credit) or group.artist_credit_name or "",
        artist_mbids=tuple(c.mbid for c in credit if c.mbid) or ((group.artist_mbid,) if group.artist_mbid else ()),
        release_group_mbid=group.mbid, release_group_title=group.title,
        year=group.year or parse_year(row.get("date")), disc_count=len(media), tracks=tuple(tracks),
    )
