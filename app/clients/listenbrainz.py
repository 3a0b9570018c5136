"""ListenBrainz API client: CF recommendations, created-for playlists, bulk metadata,
a user's fresh releases and release groups' listen counts.

Everything Resonance reads is public, so the user token is sent nowhere by
default: only ``validate_token()`` (the settings page's connection check) and
a playlist fetch asked for with ``with_token=True`` (a private playlist) send
it, the latter only once ``validate_token()`` has confirmed it (an invalid
token turns public playlists into 401s). Rate limiting follows the
``X-RateLimit-*`` headers: 429 waits ``X-RateLimit-Reset-In`` (ListenBrainz
sends no ``Retry-After``) and an exhausted window delays the next request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import requests

from app.clients.http import (
    AuthError,
    HttpClient,
    RateLimiter,
    RetryPolicy,
    Unavailable,
    as_float,
    as_int,
    as_str,
    parse_datetime,
    parse_retry_after,
)

log = logging.getLogger(__name__)

SERVICE = "listenbrainz"
DEFAULT_BASE_URL = "https://api.listenbrainz.org"
MAX_PAGE = 1000  # CF recommendations, POST bulk metadata and popularity cap
MAX_FRESH_RELEASE_DAYS = 90  # fresh_releases refuses more (400)
GET_BATCH = 100  # longer MBID lists go by POST
WEEKLY_EXPLORATION = "weekly-exploration"
JSPF_PLAYLIST_EXT = "https://musicbrainz.org/doc/jspf#playlist"
JSPF_TRACK_EXT = "https://musicbrainz.org/doc/jspf#track"

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_mbid(value: Any) -> bool:
    """True for a UUID-shaped string."""
    return isinstance(value, str) and bool(_UUID_RE.match(value.strip()))


def mbid_from_url(value: Any) -> str | None:
    """The MBID in the last path segment of a MusicBrainz/ListenBrainz URL (or a bare MBID)."""
    if not isinstance(value, str) or not value.strip():
        return None
    tail = value.strip().rstrip("/").rsplit("/", 1)[-1]
    return tail.lower() if is_mbid(tail) else None


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One CF recommendation: recording MBID and its (unbounded) score."""

    recording_mbid: str
    score: float
    latest_listened_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Recommendations:
    """A CF recommendation fetch; ``available`` is False when LB has none yet (204)."""

    items: tuple[Recommendation, ...]
    available: bool
    total: int | None = None
    last_updated: datetime | None = None
    model_id: str | None = None


@dataclass(frozen=True, slots=True)
class PlaylistInfo:
    """Metadata of a JSPF playlist (no tracks)."""

    mbid: str
    title: str | None
    creator: str | None
    date: datetime | None
    source_patch: str | None
    created_for: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlaylistTrack:
    """A JSPF track; only ``recording_mbid`` is guaranteed."""

    recording_mbid: str
    title: str | None = None
    creator: str | None = None
    album: str | None = None
    duration_ms: int | None = None
    artist_mbids: tuple[str, ...] = ()
    caa_id: int | None = None
    caa_release_mbid: str | None = None


@dataclass(frozen=True, slots=True)
class CreditedArtist:
    """One artist of a (possibly multi-artist) credit."""

    name: str
    mbid: str | None
    join_phrase: str = ""


@dataclass(frozen=True, slots=True)
class RecordingMetadata:
    """Bulk-metadata view of a recording (release may be missing or a single/compilation)."""

    recording_mbid: str
    recording_name: str | None
    artist_credit_name: str | None
    artist_mbid: str | None
    artists: tuple[CreditedArtist, ...] = ()
    release_mbid: str | None = None
    release_group_mbid: str | None = None
    release_name: str | None = None
    album_artist_name: str | None = None  # the release's credit ("Beyoncé"), not the recording's
    year: int | None = None
    caa_id: int | None = None
    caa_release_mbid: str | None = None
    length_ms: int | None = None
    first_release_date: str | None = None


@dataclass(frozen=True, slots=True)
class FreshRelease:
    """A release ListenBrainz lists among a user's fresh releases (past or announced)."""

    release_group_mbid: str
    release_name: str
    artist_credit_name: str
    artist_mbids: tuple[str, ...]
    release_date: str  # YYYY-MM-DD
    primary_type: str | None = None
    secondary_type: str | None = None
    release_mbid: str | None = None


@dataclass(frozen=True, slots=True)
class Popularity:
    """Listen and listener counts of one entity over all of ListenBrainz; None when it has no data."""

    listens: int | None
    users: int | None


@dataclass(frozen=True, slots=True)
class TokenStatus:
    """Result of ``validate_token``."""

    valid: bool
    user_name: str | None = None


# --------------------------------------------------------------------------- client


class ListenBrainzClient:
    """Client for ``api.listenbrainz.org`` (``/1/`` endpoints)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        *,
        http: HttpClient | None = None,
        session: requests.Session | None = None,
        contact: str | None = None,
        timeout: tuple[float, float] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        window: RateLimiter | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token or None
        self.http = http or HttpClient(
            SERVICE,
            session=session,
            contact=contact,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            retry_after_headers=("X-RateLimit-Reset-In", "Retry-After"),
        )
        self.http.retry_after_headers = ("X-RateLimit-Reset-In", "Retry-After")
        self.http.add_secret(self.token)
        # Delays the next request when the server says the window is used up.
        self.window = window or RateLimiter(0.0, sleep=self.http.sleep)
        self._token_valid: bool | None = None

    # -- plumbing -------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/1/{path.lstrip('/')}"

    def _check(self, response: requests.Response):
        # A used-up window delays our next request; a 429 itself is waited out by the retry loop.
        remaining = response.headers.get("X-RateLimit-Remaining")
        if response.status_code < 400 and remaining is not None and remaining.strip() == "0":
            reset_in = parse_retry_after(response.headers.get("X-RateLimit-Reset-In"))
            if reset_in:
                self.window.defer(reset_in)
        error = self.http.default_check(response)
        if error is not None and response.status_code == 500 and "/playlist/" in (response.url or "") \
                and "metadata" in error.message:
            # "Failed to fetch metadata for a playlist": asked again without metadata at once, not retried.
            error.retryable = False
        return error

    def _call(self, method: str, path: str, *, auth: bool = False, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Token {self.token}"} if auth and self.token else None
        self.window.wait()
        return self.http.request(method, self._url(path), headers=headers, check=self._check, expect_json=True,
                                 **kwargs)

    # -- token -----------------------------------------------------------------

    def validate_token(self) -> TokenStatus:
        """Ask LB whether the configured token is valid (200 with ``valid`` either way)."""
        if not self.token:
            self._token_valid = False
            return TokenStatus(False)
        try:
            response = self._call("GET", "validate-token", auth=True)
        except AuthError:
            self._token_valid = False
            return TokenStatus(False)
        data = self.http.json(response)
        if not isinstance(data, dict):
            raise self.http.bad_shape(response, "validate-token body is not an object")
        valid = data.get("valid") is True
        self._token_valid = valid
        return TokenStatus(valid, as_str(data.get("user_name")) if valid else None)

    def _send_token(self) -> bool:
        if not self.token:
            return False
        if self._token_valid is None:
            self.validate_token()
        return bool(self._token_valid)

    # -- recommendation feedback ---------------------------------------------------

    def submit_recommendation_feedback(self, recording_mbid: str, rating: str, *, token: str | None = None) -> None:
        """``POST /1/recommendation/feedback/submit`` ``{"recording_mbid", "rating"}`` for the user of ``token``
        (this client's own by default). ``rating``: love, like, dislike, hate or bad_recommendation.

        ListenBrainz keeps one rating per user and recording (a second submit replaces it), so sending
        it again after a reply was lost changes nothing: it is retried like a read. A 400 (a rating or
        MBID it refuses) raises BadRequest, a missing or wrong token AuthError: neither is retried.
        """
        token = token or self.token
        if not token:
            raise AuthError(SERVICE, "no ListenBrainz token to send feedback with", retryable=False)
        self.http.add_secret(token)
        self.window.wait()
        response = self.http.request(
            "POST", self._url("recommendation/feedback/submit"), headers={"Authorization": f"Token {token}"},
            json={"recording_mbid": recording_mbid, "rating": rating}, check=self._check, expect_json=True,
            retry_unsafe=True,
        )
        data = self.http.json(response)
        if not isinstance(data, dict) or data.get("status") != "ok":
            raise self.http.bad_shape(response, "feedback answer is not {\"status\": \"ok\"}")

    # -- CF recommendations ------------------------------------------------------

    def recommendations(self, user: str, count: int = 100, offset: int = 0) -> Recommendations:
        """Up to ``count`` CF recommendations from ``offset``, paging by ≤ 1000."""
        if count < 0 or offset < 0:
            raise ValueError("count and offset must be non-negative")
        items: list[Recommendation] = []
        total: int | None = None
        last_updated: datetime | None = None
        model_id: str | None = None
        available = True
        path = f"cf/recommendation/user/{quote(user, safe='')}/recording"
        position = offset
        while len(items) < count:
            page_size = min(MAX_PAGE, count - len(items))
            response = self._call("GET", path, params={"count": page_size, "offset": position})
            if response.status_code == 204 or not response.content.strip():
                available = bool(items) or position > offset
                break
            data = self.http.json(response)
            payload = data.get("payload") if isinstance(data, dict) else None
            if not isinstance(payload, dict):
                raise self.http.bad_shape(response, "no 'payload' object")
            rows = payload.get("mbids") or []
            if not isinstance(rows, list):
                raise self.http.bad_shape(response, "'payload.mbids' is not a list")
            total = as_int(payload.get("total_mbid_count"))
            last_updated = last_updated or _epoch(payload.get("last_updated"))
            model_id = model_id or as_str(payload.get("model_id"))
            for row in rows:
                if not isinstance(row, dict) or not is_mbid(row.get("recording_mbid")):
                    continue
                items.append(
                    Recommendation(
                        recording_mbid=row["recording_mbid"].strip().lower(),
                        score=as_float(row.get("score")) or 0.0,
                        latest_listened_at=parse_datetime(row.get("latest_listened_at")),
                    )
                )
            position += len(rows)
            if len(rows) < page_size or (total is not None and position >= total):
                break
        return Recommendations(tuple(items[:count]), available, total, last_updated, model_id)

    def cf_recommendations(self, user: str, count: int = 100, offset: int = 0) -> list[Recommendation]:
        """The recommendation list only; ``[]`` when LB has none yet (use ``recommendations`` to tell)."""
        return list(self.recommendations(user, count, offset).items)

    # -- playlists -----------------------------------------------------------------

    def created_for_playlists(self, user: str, page_size: int = 100) -> list[PlaylistInfo]:
        """All playlists LB generated for ``user`` (newest first, as LB sends them)."""
        playlists: list[PlaylistInfo] = []
        offset = 0
        path = f"user/{quote(user, safe='')}/playlists/createdfor"
        while True:
            response = self._call("GET", path, params={"count": page_size, "offset": offset})
            data = self.http.json(response)
            if not isinstance(data, dict) or not isinstance(data.get("playlists", []), list):
                raise self.http.bad_shape(response, "no 'playlists' list")
            rows = data.get("playlists") or []
            for row in rows:
                info = _playlist_info(row.get("playlist") if isinstance(row, dict) else None)
                if info is not None:
                    playlists.append(info)
            offset += len(rows)
            total = as_int(data.get("playlist_count"))
            if not rows or len(rows) < page_size or (total is not None and offset >= total):
                return playlists

    def weekly_exploration_playlist(self, user: str) -> PlaylistInfo | None:
        """The newest (by ``date``) weekly-exploration playlist, or ``None`` if there is none."""
        candidates = [p for p in self.created_for_playlists(user) if p.source_patch == WEEKLY_EXPLORATION]
        if not candidates:
            return None
        return max(candidates, key=lambda p: (p.date is not None, p.date or datetime.min))

    def playlist_tracks(self, playlist_mbid: str, *, with_token: bool = False) -> list[PlaylistTrack]:
        """The tracks of a playlist; tracks without a recording MBID are skipped.

        Generated playlists (Weekly Exploration…) are public: no token, and so
        no token check, is needed. ``with_token`` sends it (for a private playlist).
        """
        mbid = mbid_from_url(playlist_mbid) or playlist_mbid
        path = f"playlist/{quote(mbid, safe='')}"
        auth = with_token and self._send_token()
        params: dict[str, str] = {}
        try:
            response = self._call("GET", path, auth=auth)
        except AuthError:
            if not auth:
                raise
            log.warning("listenbrainz: token rejected on playlist fetch; retrying without it")
            self._token_valid = False
            response = self._call("GET", path)
        except Unavailable as exc:
            if exc.status != 500:
                raise
            # "Failed to fetch metadata for a playlist": MBIDs are still available without it.
            params["fetch_metadata"] = "false"
            response = self._call("GET", path, auth=auth, params=params)
        data = self.http.json(response)
        playlist = data.get("playlist") if isinstance(data, dict) else None
        if not isinstance(playlist, dict):
            raise self.http.bad_shape(response, "no 'playlist' object")
        tracks = playlist.get("track") or []
        if not isinstance(tracks, list):
            raise self.http.bad_shape(response, "'playlist.track' is not a list")
        return [t for t in (_playlist_track(row) for row in tracks) if t is not None]

    # -- fresh releases and popularity -------------------------------------------------

    def fresh_releases(self, user: str, days: int = MAX_FRESH_RELEASE_DAYS, *, past: bool = True,
                       future: bool = True) -> list[FreshRelease] | None:
        """Releases by the artists ``user`` listens to, ``days`` either side of today (1-90), in one request.

        ``None`` when ListenBrainz has none computed for the user (204).
        """
        days = max(1, min(days, MAX_FRESH_RELEASE_DAYS))
        params = {"days": days, "past": str(past).lower(), "future": str(future).lower()}
        response = self._call("GET", f"user/{quote(user, safe='')}/fresh_releases", params=params)
        if response.status_code == 204 or not response.content.strip():
            return None
        data = self.http.json(response)
        payload = data.get("payload") if isinstance(data, dict) else None
        rows = payload.get("releases") if isinstance(payload, dict) else None
        if not isinstance(rows, list):
            raise self.http.bad_shape(response, "no 'payload.releases' list")
        return [release for release in map(_fresh_release, rows) if release is not None]

    def release_group_popularity(self, mbids: Iterable[str]) -> dict[str, Popularity]:
        """Listen counts of release groups (POST, up to 1000 a request; no token needed), keyed by MBID."""
        wanted = list(dict.fromkeys(m.strip().lower() for m in mbids if is_mbid(m)))
        result: dict[str, Popularity] = {}
        for start in range(0, len(wanted), MAX_PAGE):
            batch = wanted[start : start + MAX_PAGE]
            # A POST that only reads: safe to send again.
            response = self._call("POST", "popularity/release-group", json={"release_group_mbids": batch},
                                  retry_unsafe=True)
            rows = self.http.json(response)
            if not isinstance(rows, list):
                raise self.http.bad_shape(response, "popularity body is not a list")
            for row in rows:
                if isinstance(row, dict) and is_mbid(row.get("release_group_mbid")):
                    result[row["release_group_mbid"].lower()] = Popularity(as_int(row.get("total_listen_count")),
                                                                          as_int(row.get("total_user_count")))
        return result

    # -- bulk metadata ---------------------------------------------------------------

    def recording_metadata(self, mbids: Iterable[str]) -> dict[str, RecordingMetadata]:
        """Bulk metadata keyed by (lower-case) recording MBID; unknown MBIDs are absent."""
        result: dict[str, RecordingMetadata] = {}
        for key, block in self._bulk_metadata("recording", mbids, "artist release"):
            record = _recording_metadata(key, block)
            if record is not None:
                result[record.recording_mbid] = record
        return result

    def release_group_types(self, mbids: Iterable[str]) -> dict[str, str | None]:
        """Primary type ("Album", "Single", ...) of each release group LB knows; unknown MBIDs are absent.

        Bulk recording metadata names one release per recording, which may be a
        single; this tells such cases apart in one call.
        """
        result: dict[str, str | None] = {}
        for key, block in self._bulk_metadata("release_group", mbids, "release_group"):
            group = block.get("release_group") if isinstance(block, dict) else None
            if isinstance(group, dict):
                result[key.lower()] = as_str(group.get("type"))
        return result

    def _bulk_metadata(self, entity: str, mbids: Iterable[str], inc: str) -> Iterator[tuple[str, Any]]:
        """(mbid, block) pairs from /1/metadata/<entity>/, GET for short batches, POST for long ones."""
        wanted: list[str] = []
        seen: set[str] = set()
        for mbid in mbids:
            if not is_mbid(mbid):
                log.warning("listenbrainz: skipping malformed %s MBID %r", entity, mbid)
                continue
            key = mbid.strip().lower()
            if key not in seen:
                seen.add(key)
                wanted.append(key)
        name = f"{entity}_mbids"
        for start in range(0, len(wanted), MAX_PAGE):
            batch = wanted[start : start + MAX_PAGE]
            if len(batch) <= GET_BATCH:
                response = self._call("GET", f"metadata/{entity}/", params={name: ",".join(batch), "inc": inc})
            else:  # a POST that only reads: safe to send again
                response = self._call("POST", f"metadata/{entity}/", json={name: batch, "inc": inc},
                                      retry_unsafe=True)
            data = self.http.json(response, allow_empty=True) or {}
            if not isinstance(data, dict):
                raise self.http.bad_shape(response, "metadata body is not an object")
            yield from data.items()


# --------------------------------------------------------------------------- parsing


def _epoch(value: Any) -> datetime | None:
    seconds = as_float(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _playlist_info(playlist: Any) -> PlaylistInfo | None:
    if not isinstance(playlist, dict):
        return None
    mbid = mbid_from_url(playlist.get("identifier"))
    if mbid is None:
        return None
    ext = playlist.get("extension") or {}
    ext = ext.get(JSPF_PLAYLIST_EXT) if isinstance(ext, dict) else None
    ext = ext if isinstance(ext, dict) else {}
    extra = ext.get("additional_metadata") if isinstance(ext.get("additional_metadata"), dict) else {}
    algo = extra.get("algorithm_metadata") if isinstance(extra.get("algorithm_metadata"), dict) else {}
    return PlaylistInfo(
        mbid=mbid,
        title=as_str(playlist.get("title")),
        creator=as_str(playlist.get("creator")),
        date=parse_datetime(playlist.get("date")),
        source_patch=as_str(algo.get("source_patch")),
        created_for=as_str(ext.get("created_for")),
        expires_at=parse_datetime(extra.get("expires_at")),
    )


def _playlist_track(track: Any) -> PlaylistTrack | None:
    if not isinstance(track, dict):
        return None
    identifier = track.get("identifier")
    candidates = identifier if isinstance(identifier, list) else [identifier]
    recording = next((m for m in (mbid_from_url(c) for c in candidates) if m), None)
    if recording is None:
        return None
    ext = track.get("extension") or {}
    ext = ext.get(JSPF_TRACK_EXT) if isinstance(ext, dict) else None
    ext = ext if isinstance(ext, dict) else {}
    extra = ext.get("additional_metadata") if isinstance(ext.get("additional_metadata"), dict) else {}
    artist_ids = ext.get("artist_identifiers") if isinstance(ext.get("artist_identifiers"), list) else []
    return PlaylistTrack(
        recording_mbid=recording,
        title=as_str(track.get("title")),
        creator=as_str(track.get("creator")),
        album=as_str(track.get("album")),
        duration_ms=as_int(track.get("duration")),
        artist_mbids=tuple(m for m in (mbid_from_url(a) for a in artist_ids) if m),
        caa_id=as_int(extra.get("caa_id")),
        caa_release_mbid=mbid_from_url(extra.get("caa_release_mbid")),
    )


def _fresh_release(row: Any) -> FreshRelease | None:
    if not isinstance(row, dict) or not is_mbid(row.get("release_group_mbid")):
        return None
    date = as_str(row.get("release_date"))
    if not date:
        return None
    artists = row.get("artist_mbids") if isinstance(row.get("artist_mbids"), list) else []
    return FreshRelease(
        release_group_mbid=row["release_group_mbid"].strip().lower(),
        release_name=as_str(row.get("release_name")) or "",
        artist_credit_name=as_str(row.get("artist_credit_name")) or "",
        artist_mbids=tuple(m.lower() for m in artists if is_mbid(m)),
        release_date=date,
        primary_type=as_str(row.get("release_group_primary_type")),
        secondary_type=as_str(row.get("release_group_secondary_type")),
        release_mbid=mbid_from_url(row.get("release_mbid")),
    )


def _recording_metadata(key: Any, block: Any) -> RecordingMetadata | None:
    if not is_mbid(key) or not isinstance(block, dict):
        return None
    recording = block.get("recording") if isinstance(block.get("recording"), dict) else {}
    artist = block.get("artist") if isinstance(block.get("artist"), dict) else {}
    release = block.get("release") if isinstance(block.get("release"), dict) else {}
    artists: list[CreditedArtist] = []
    for row in artist.get("artists") or []:
        if isinstance(row, dict):
            artists.append(
                CreditedArtist(
                    name=as_str(row.get("name")) or "",
                    mbid=mbid_from_url(row.get("artist_mbid")),
                    join_phrase=row.get("join_phrase") if isinstance(row.get("join_phrase"), str) else "",
                )
            )
    credit = as_str(artist.get("name"))
    if credit is None and artists:
        credit = "".join(a.name + a.join_phrase for a in artists) or None
    return RecordingMetadata(
        recording_mbid=key.strip().lower(),
        recording_name=as_str(recording.get("name")),
        artist_credit_name=credit,
        artist_mbid=next((a.mbid for a in artists if a.mbid), None),
        artists=tuple(artists),
        release_mbid=mbid_from_url(release.get("mbid")),
        release_group_mbid=mbid_from_url(release.get("release_group_mbid")),
        release_name=as_str(release.get("name")),
        album_artist_name=as_str(release.get("album_artist_name")),
        year=as_int(release.get("year")),
        caa_id=as_int(release.get("caa_id")),
        caa_release_mbid=mbid_from_url(release.get("caa_release_mbid")),
        length_ms=as_int(recording.get("length")),
        first_release_date=as_str(recording.get("first_release_date")),
    )
