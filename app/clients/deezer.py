"""Deezer's public API: 30-second previews of an album's tracks (no account, no key).

Two reads: ``GET /search/album?q=artist:"…" album:"…"`` finds the album,
``GET /album/{id}/tracks`` lists its tracks, each with a ``preview`` URL of a
30-second MP3 ("" when Deezer has none for that track). Deezer reports errors
in the JSON body with HTTP 200 (``{"error": {"type", "message", "code"}}``):
code 4 is its quota (50 requests per 5 s), 700 "service busy", 800 "no data".
Requests are spaced 0.11 s apart per process, under that quota.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from app.clients.http import (
    BadRequest,
    HttpClient,
    NotFound,
    RateLimited,
    RateLimiter,
    RetryPolicy,
    Unavailable,
    UpstreamError,
    as_int,
    as_str,
    body_json_or_none,
    shared_limiter,
)
from app.matching import artist_key, title_keys

SERVICE = "deezer"
DEFAULT_BASE_URL = "https://api.deezer.com"
MIN_INTERVAL = 0.11  # seconds between requests: under Deezer's 50 requests per 5 s
# A 30-second preview at 128 kbps is about 480 KB; anything far larger is not a preview.
MAX_PREVIEW_BYTES = 2 * 1024 * 1024
SEARCH_LIMIT = 10


@dataclass(frozen=True, slots=True)
class PreviewTrack:
    """One track of a Deezer album; ``preview_url`` is "" when it has no preview."""

    position: int
    title: str
    duration: int | None
    preview_url: str


@dataclass(frozen=True, slots=True)
class DeezerAlbum:
    id: int
    title: str
    artist: str


class DeezerClient:
    """Finds an album on Deezer and fetches its tracks' previews."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        http: HttpClient | None = None,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        contact: str | None = None,
        timeout: tuple[float, float] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or HttpClient(SERVICE, session=session, contact=contact, timeout=timeout, retry=retry,
                                       sleep=sleep)
        self.http.rate_limiter = limiter or shared_limiter(SERVICE, self.base_url, MIN_INTERVAL)

    # ------------------------------------------------------------------ errors in the body

    def _check(self, response: requests.Response) -> UpstreamError | None:
        data = body_json_or_none(response)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            code = as_int(error.get("code"))
            detail = self.http.scrub(f"{self.http.describe(response)}: error {code}: "
                                     f"{as_str(error.get('message')) or 'no message'}")
            status = response.status_code
            if code == 4:
                return RateLimited(SERVICE, detail, status=status, code=code, retry_after=5.0)
            if code == 700:
                return Unavailable(SERVICE, detail, status=status, code=code)
            if code == 800:
                return NotFound(SERVICE, detail, status=status, code=code)
            return BadRequest(SERVICE, detail, status=status, code=code)
        if response.status_code >= 400:
            return self.http.default_check(response)
        return None

    def _get(self, path: str, params: dict[str, Any]) -> tuple[Any, requests.Response]:
        response = self.http.request("GET", self.base_url + path, params=params, check=self._check,
                                     expect_json=True)
        return self.http.json(response), response

    # ------------------------------------------------------------------ reads

    def find_album(self, artist: str, title: str) -> DeezerAlbum | None:
        """The Deezer album for ``artist`` and ``title``, or None when Deezer has none that matches.

        Of the search's results, the first whose artist and title match wins
        (case, accents, punctuation and an edition suffix like "(Deluxe Edition)"
        aside): a preview of another album would mislead.
        """
        query = f'artist:"{_quoted(artist)}" album:"{_quoted(title)}"'
        data, response = self._get("/search/album", {"q": query, "limit": SEARCH_LIMIT})
        rows = data.get("data") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise self.http.bad_shape(response, "no 'data' list")
        albums = [album for album in map(_album, rows) if album is not None]
        wanted = title_keys(title)
        same_artist = [album for album in albums if artist_key(album.artist) == artist_key(artist)]
        return next((album for album in same_artist if title_keys(album.title) & wanted), None)

    def album_tracks(self, album_id: int) -> list[PreviewTrack]:
        """The album's tracks in order, with their preview URLs ("" where there is none)."""
        data, response = self._get(f"/album/{int(album_id)}/tracks", {"limit": 100})
        rows = data.get("data") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise self.http.bad_shape(response, "no 'data' list")
        tracks = []
        for index, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                continue
            preview = as_str(row.get("preview")) or ""
            readable = row.get("readable", True) is not False
            tracks.append(PreviewTrack(
                position=as_int(row.get("track_position")) or index,
                title=as_str(row.get("title")) or f"Track {index}",
                duration=as_int(row.get("duration")),
                preview_url=preview if readable and preview.startswith(("http://", "https://")) else "",
            ))
        return tracks

    def album_previews(self, artist: str, title: str) -> list[PreviewTrack]:
        """The tracks of the album that have a preview; [] when Deezer has no such album."""
        album = self.find_album(artist, title)
        if album is None:
            return []
        try:
            tracks = self.album_tracks(album.id)
        except NotFound:
            return []
        return [track for track in tracks if track.preview_url]

    def preview_audio(self, url: str) -> bytes:
        """The MP3 of one preview (whole: previews are small)."""
        response = self.http.request("GET", url, check=self._check_audio)
        body = response.content
        if len(body) > MAX_PREVIEW_BYTES:
            raise self.http.bad_shape(response, f"a preview of {len(body)} bytes, more than {MAX_PREVIEW_BYTES}")
        return body

    def _check_audio(self, response: requests.Response) -> UpstreamError | None:
        if response.status_code >= 400:
            return self.http.default_check(response)
        kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind not in ("audio/mpeg", "audio/mp3", "application/octet-stream", ""):
            return self.http.bad_shape(response, f"a {kind} body instead of audio")
        return None


def _quoted(text: str) -> str:
    # A double quote would end Deezer's quoted term early.
    return " ".join(text.replace('"', " ").split())


def _album(row: Any) -> DeezerAlbum | None:
    if not isinstance(row, dict):
        return None
    album_id = as_int(row.get("id"))
    title = as_str(row.get("title"))
    artist = row.get("artist")
    artist_name = as_str(artist.get("name")) if isinstance(artist, dict) else None
    if album_id is None or not title or not artist_name:
        return None
    return DeezerAlbum(album_id, title, artist_name)
