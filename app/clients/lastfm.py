"""Last.fm API 2.0 client (``artist.getSimilar``).

Last.fm reports errors in the JSON body whatever the HTTP status (error 6
arrives with HTTP 200), so the body's ``error`` field is checked before
anything else. Requests are spaced ≥ 0.22 s apart per process (< 5 req/s).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from app.clients.http import (
    AuthError,
    BadRequest,
    HttpClient,
    NotFound,
    RateLimited,
    RateLimiter,
    RetryPolicy,
    Unavailable,
    UpstreamError,
    as_float,
    as_int,
    as_str,
    body_json_or_none,
    shared_limiter,
)

SERVICE = "lastfm"
DEFAULT_BASE_URL = "https://ws.audioscrobbler.com/2.0/"
MIN_INTERVAL = 0.22  # seconds between requests: ~4.5 req/s

_AUTH_CODES = {10: "Last.fm rejected the API key", 26: "Last.fm suspended the API key"}
_RETRYABLE_CODES = {8, 11, 16}


@dataclass(frozen=True, slots=True)
class SimilarArtist:
    """A similar artist; ``match`` in 0–1, ``mbid`` None when Last.fm has none."""

    name: str
    mbid: str | None
    match: float


@dataclass(frozen=True, slots=True)
class SimilarArtists:
    """``artist.getSimilar`` result; ``corrected_name`` is Last.fm's (autocorrected) name for the query."""

    artists: tuple[SimilarArtist, ...]
    corrected_name: str | None
    by_mbid: bool = False


class LastFmClient:
    """Client for the Last.fm read API (api key only, no signature)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str = "",
        *,
        http: HttpClient | None = None,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        contact: str | None = None,
        timeout: tuple[float, float] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("a Last.fm API key is required")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.api_key = api_key
        self.http = http or HttpClient(SERVICE, session=session, contact=contact, timeout=timeout, retry=retry, sleep=sleep)
        self.http.add_secret(api_key)
        self.http.rate_limiter = limiter or shared_limiter(SERVICE, self.base_url, MIN_INTERVAL)

    def _check(self, response: requests.Response) -> UpstreamError | None:
        data = body_json_or_none(response)
        if isinstance(data, dict) and "error" in data:
            code = as_int(data.get("error"))
            text = as_str(data.get("message")) or "no message"
            return self._api_error(response, code, text)
        if response.status_code >= 400:
            return self.http.default_check(response)
        return None

    def _api_error(self, response: requests.Response, code: int | None, text: str) -> UpstreamError:
        where = self.http.describe(response)
        status = response.status_code
        detail = self.http.scrub(f"{where}: error {code}: {text}")
        if code in _AUTH_CODES:
            return AuthError(SERVICE, f"{_AUTH_CODES[code]} (error {code}: {self.http.scrub(text)})", status=status, code=code)
        if code == 6:
            return NotFound(SERVICE, detail, status=status, code=code)
        if code == 29:
            return RateLimited(SERVICE, detail, status=status, code=code, retry_after=self.http.retry_after(response))
        if code in _RETRYABLE_CODES:
            return Unavailable(SERVICE, detail, status=status, code=code, retry_after=self.http.retry_after(response))
        return BadRequest(SERVICE, detail, status=status, code=code)

    def _call(self, params: dict[str, Any]) -> tuple[Any, requests.Response]:
        query = {**params, "api_key": self.api_key, "format": "json"}
        response = self.http.request("GET", self.base_url, params=query, check=self._check, expect_json=True)
        data = self.http.json(response)
        return data, response

    def similar_artists(self, name: str | None = None, mbid: str | None = None, limit: int = 50) -> SimilarArtists:
        """Similar artists, by MBID when known; on error 6 falls back to the name with autocorrect.

        Raises ``NotFound`` (skip this artist), ``AuthError`` (fatal: bad or
        suspended key), ``RateLimited`` or ``Unavailable`` (try later).
        """
        if not name and not mbid:
            raise ValueError("name or mbid is required")
        if mbid:
            try:
                return self._similar({"mbid": mbid}, limit, by_mbid=True)
            except NotFound:
                if not name:
                    raise
        return self._similar({"artist": name, "autocorrect": 1}, limit, by_mbid=False)

    def _similar(self, params: dict[str, Any], limit: int, *, by_mbid: bool) -> SimilarArtists:
        data, response = self._call({"method": "artist.getsimilar", "limit": limit, **params})
        block = data.get("similarartists") if isinstance(data, dict) else None
        if not isinstance(block, dict):
            raise self.http.bad_shape(response, "no 'similarartists' object")
        rows = block.get("artist")
        if isinstance(rows, dict):  # XML→JSON quirk: a single result as an object
            rows = [rows]
        elif not isinstance(rows, list):
            rows = []
        artists = []
        for row in rows:
            if not isinstance(row, dict):
                continue
            artist_name = as_str(row.get("name"))
            if artist_name is None:
                continue
            mbid = row.get("mbid")
            artists.append(
                SimilarArtist(
                    name=artist_name,
                    mbid=mbid.strip() if isinstance(mbid, str) and mbid.strip() else None,
                    match=max(0.0, min(1.0, as_float(row.get("match")) or 0.0)),
                )
            )
        attr = block.get("@attr") if isinstance(block.get("@attr"), dict) else {}
        return SimilarArtists(tuple(artists), as_str(attr.get("artist")), by_mbid)
