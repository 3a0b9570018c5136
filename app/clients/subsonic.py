"""Subsonic / OpenSubsonic client (Navidrome, gonic, Airsonic…).

Requests go to ``{base}/rest/{method}.view`` (the base may carry a path
prefix). Auth is token auth with a fresh random salt per request, or legacy
``p=enc:<hex>`` when enabled. Errors arrive with HTTP 200 and
``status: "failed"``; they are mapped to clear exceptions. Credentials never
appear in messages.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from app.clients.http import (
    AuthError,
    BadRequest,
    BadResponse,
    HttpClient,
    NotFound,
    RetryPolicy,
    UpstreamError,
    as_int,
    as_str,
    body_json,
    body_json_or_none,
    parse_datetime,
    safe_url,
)

SERVICE = "subsonic"
PAGE_SIZE = 500  # getAlbumList2 maximum
DEFAULT_TIMEOUT = (5.0, 120.0)  # getArtists on a big library is one large response


class IncompatibleServer(UpstreamError):
    """The server and client disagree on the Subsonic protocol version (codes 20/30)."""


def token_for(password: str, salt: str) -> str:
    """Subsonic token: lowercase hex ``md5(password + salt)`` over UTF-8."""
    return hashlib.md5((password + salt).encode("utf-8")).hexdigest()


def legacy_password(password: str) -> str:
    """Legacy ``p`` value: ``enc:`` + hex of the UTF-8 password."""
    return "enc:" + password.encode("utf-8").hex()


def new_salt() -> str:
    """A fresh random salt (12 hex characters)."""
    return secrets.token_hex(6)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What ``ping`` tells about the server."""

    api_version: str | None
    type: str | None = None
    server_version: str | None = None
    open_subsonic: bool = False


@dataclass(frozen=True, slots=True)
class LibraryArtist:
    """An artist of the library; ``musicbrainz_id`` is an artist MBID when tagged."""

    id: str
    name: str
    album_count: int | None = None
    musicbrainz_id: str | None = None
    sort_name: str | None = None


@dataclass(frozen=True, slots=True)
class LibraryAlbum:
    """An album of the library; ``musicbrainz_id`` is a *release* MBID on Navidrome."""

    id: str
    name: str
    artist: str | None
    artist_id: str | None = None
    year: int | None = None
    song_count: int | None = None
    musicbrainz_id: str | None = None
    created: datetime | None = None


@dataclass(frozen=True, slots=True)
class LibrarySong:
    """A song from ``search3``."""

    id: str
    title: str
    artist: str | None = None
    album: str | None = None
    album_id: str | None = None
    track: int | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """``search3`` result; each list may be empty."""

    artists: tuple[LibraryArtist, ...] = ()
    albums: tuple[LibraryAlbum, ...] = ()
    songs: tuple[LibrarySong, ...] = ()


@dataclass(frozen=True, slots=True)
class ScanStatus:
    """Library scan state; poll until ``scanning`` is False."""

    scanning: bool
    count: int | None = None
    last_scan: datetime | None = None


# --------------------------------------------------------------------------- client


class SubsonicClient:
    """Client for one Subsonic-compatible server."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        legacy_auth: bool = False,
        verify_tls: bool = True,
        client_name: str = "resonance",
        api_version: str = "1.16.1",
        *,
        http: HttpClient | None = None,
        session: requests.Session | None = None,
        contact: str | None = None,
        timeout: tuple[float, float] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        salt_factory: Callable[[], str] = new_salt,
    ) -> None:
        base = base_url.strip().rstrip("/")
        if base.endswith("/rest"):
            base = base[: -len("/rest")]
        self.base_url = base
        self.username = username
        self.legacy_auth = legacy_auth
        self.client_name = client_name
        self.api_version = api_version
        self._password = password
        self._salt_factory = salt_factory
        self.http = http or HttpClient(
            SERVICE,
            session=session,
            contact=contact,
            timeout=timeout or DEFAULT_TIMEOUT,
            retry=retry,
            sleep=sleep,
            verify=verify_tls,
        )
        self.http.verify = verify_tls
        self.http.add_secret(password)
        self.http.add_secret(legacy_password(password)[4:] if password else "")

    def __repr__(self) -> str:
        return f"SubsonicClient({safe_url(self.base_url)!r}, username={self.username!r})"

    # -- plumbing ---------------------------------------------------------------------

    def url(self, method: str) -> str:
        """Endpoint URL for ``method`` (portable ``.view`` form)."""
        return f"{self.base_url}/rest/{method}.view"

    def auth_params(self) -> dict[str, str]:
        """``u``/``v``/``c``/``f`` plus token (fresh salt) or legacy ``p=enc:`` auth."""
        params = {"u": self.username, "v": self.api_version, "c": self.client_name, "f": "json"}
        if self.legacy_auth:
            params["p"] = legacy_password(self._password)
        else:
            salt = self._salt_factory()
            params["s"] = salt
            params["t"] = token_for(self._password, salt)
        return params

    def _not_subsonic(self, response: requests.Response) -> BadResponse:
        return BadResponse(
            SERVICE,
            f"not a Subsonic server at {self.http.scrub(safe_url(self.base_url))} "
            f"({self.http.describe(response)} gave HTTP {response.status_code} without a Subsonic envelope)",
            status=response.status_code,
        )

    def _check(self, response: requests.Response) -> UpstreamError | None:
        data = body_json_or_none(response)
        envelope = data.get("subsonic-response") if isinstance(data, dict) else None
        if not isinstance(envelope, dict):
            if response.status_code >= 400 and response.status_code not in (404,):
                return self.http.default_check(response)
            return self._not_subsonic(response)
        if envelope.get("status") == "failed":
            return self._failure(response, envelope)
        if response.status_code >= 400:
            return self.http.default_check(response)
        return None

    def _failure(self, response: requests.Response, envelope: dict[str, Any]) -> UpstreamError:
        error = envelope.get("error") if isinstance(envelope.get("error"), dict) else {}
        code = as_int(error.get("code"))
        text = self.http.scrub(as_str(error.get("message")) or "no message")
        where = self.http.describe(response)
        status = response.status_code
        server_version = as_str(envelope.get("version")) or "unknown"
        if code == 40:
            return AuthError(SERVICE, "Subsonic server rejected the username or password", status=status, code=code)
        if code == 41:
            return AuthError(
                SERVICE,
                "Subsonic server does not support token authentication (e.g. LDAP users); "
                "enable the Subsonic legacy-auth setting to send the password instead",
                status=status,
                code=code,
            )
        if code in (42, 43, 44):
            return AuthError(SERVICE, f"Subsonic server refused the authentication method (error {code}: {text})",
                             status=status, code=code)
        if code == 50:
            return AuthError(SERVICE, f"{where}: user is not authorized for this operation (error 50: {text})",
                             status=status, code=code)
        if code == 20:
            return IncompatibleServer(
                SERVICE,
                f"Subsonic server requires a newer protocol than {self.api_version} (server speaks {server_version}): {text}",
                status=status, code=code,
            )
        if code == 30:
            return IncompatibleServer(
                SERVICE,
                f"Subsonic server is too old for protocol {self.api_version} (server speaks {server_version}); "
                f"lower the client API version: {text}",
                status=status, code=code,
            )
        if code == 70:
            return NotFound(SERVICE, f"{where}: not found ({text})", status=status, code=code)
        if code == 10:
            return BadRequest(SERVICE, f"{where}: missing parameter ({text})", status=status, code=code)
        return UpstreamError(SERVICE, f"{where} failed: error {code}: {text}", status=status, code=code)

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        query = {**params, **self.auth_params()}
        response = self.http.request("GET", self.url(method), params=query, check=self._check, expect_json=True)
        return body_json(response)["subsonic-response"]

    # -- endpoints ---------------------------------------------------------------------

    def ping(self) -> ServerInfo:
        """Check URL and credentials."""
        env = self._call("ping")
        return ServerInfo(
            api_version=as_str(env.get("version")),
            type=as_str(env.get("type")),
            server_version=as_str(env.get("serverVersion")),
            open_subsonic=env.get("openSubsonic") is True,
        )

    def artists(self) -> list[LibraryArtist]:
        """Every artist across all indexes."""
        env = self._call("getArtists")
        block = env.get("artists") if isinstance(env.get("artists"), dict) else {}
        indexes = _as_list(block.get("index"))
        result = []
        for index in indexes:
            if not isinstance(index, dict):
                continue
            for row in _as_list(index.get("artist")):
                artist = _artist(row)
                if artist is not None:
                    result.append(artist)
        return result

    def albums(self, page_size: int = PAGE_SIZE) -> list[LibraryAlbum]:
        """Every album, paging ``getAlbumList2`` alphabetically until a short page (deduped by id)."""
        seen: set[str] = set()
        result: list[LibraryAlbum] = []
        offset = 0
        while True:
            env = self._call("getAlbumList2", type="alphabeticalByName", size=page_size, offset=offset)
            block = env.get("albumList2") if isinstance(env.get("albumList2"), dict) else {}
            rows = _as_list(block.get("album"))
            for row in rows:
                album = _album(row)
                if album is not None and album.id not in seen:
                    seen.add(album.id)
                    result.append(album)
            if len(rows) < page_size:
                return result
            offset += len(rows)

    def search3(self, query: str, artist_count: int = 20, album_count: int = 20, song_count: int = 0) -> SearchResult:
        """Server-side search (matching rules vary per server: not for exact-name checks)."""
        env = self._call(
            "search3",
            query=query,
            artistCount=artist_count,
            artistOffset=0,
            albumCount=album_count,
            albumOffset=0,
            songCount=song_count,
            songOffset=0,
        )
        block = env.get("searchResult3") if isinstance(env.get("searchResult3"), dict) else {}
        return SearchResult(
            artists=tuple(a for a in map(_artist, _as_list(block.get("artist"))) if a),
            albums=tuple(a for a in map(_album, _as_list(block.get("album"))) if a),
            songs=tuple(s for s in map(_song, _as_list(block.get("song"))) if s),
        )

    def start_scan(self, full: bool = False) -> ScanStatus:
        """Ask the server to rescan its library (admin users only on Navidrome)."""
        env = self._call("startScan", **({"fullScan": "true"} if full else {}))
        return _scan_status(env)

    def scan_status(self) -> ScanStatus:
        """Current scan state."""
        return _scan_status(self._call("getScanStatus"))


# --------------------------------------------------------------------------- parsing


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):  # single item serialised as an object
        return [value]
    return []


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)):
        text = str(value).strip()
        return text or None
    return None


def _artist(row: Any) -> LibraryArtist | None:
    if not isinstance(row, dict) or _id(row.get("id")) is None:
        return None
    mbid = row.get("musicBrainzId")
    return LibraryArtist(
        id=_id(row["id"]),
        name=str(row.get("name") or ""),
        album_count=as_int(row.get("albumCount")),
        musicbrainz_id=mbid.strip() if isinstance(mbid, str) and mbid.strip() else None,
        sort_name=as_str(row.get("sortName")),
    )


def _album(row: Any) -> LibraryAlbum | None:
    if not isinstance(row, dict) or _id(row.get("id")) is None:
        return None
    mbid = row.get("musicBrainzId")
    return LibraryAlbum(
        id=_id(row["id"]),
        name=str(row.get("name") or row.get("title") or ""),
        artist=as_str(row.get("artist")),
        artist_id=_id(row.get("artistId")),
        year=as_int(row.get("year")) or None,
        song_count=as_int(row.get("songCount")),
        musicbrainz_id=mbid.strip() if isinstance(mbid, str) and mbid.strip() else None,
        created=parse_datetime(row.get("created")),
    )


def _song(row: Any) -> LibrarySong | None:
    if not isinstance(row, dict) or _id(row.get("id")) is None:
        return None
    return LibrarySong(
        id=_id(row["id"]),
        title=str(row.get("title") or ""),
        artist=as_str(row.get("artist")),
        album=as_str(row.get("album")),
        album_id=_id(row.get("albumId")),
        track=as_int(row.get("track")),
    )


def _scan_status(env: dict[str, Any]) -> ScanStatus:
    block = env.get("scanStatus") if isinstance(env.get("scanStatus"), dict) else {}
    scanning = block.get("scanning")
    if isinstance(scanning, str):
        scanning = scanning.strip().lower() == "true"
    return ScanStatus(
        scanning=bool(scanning),
        count=as_int(block.get("count")),
        last_scan=parse_datetime(block.get("lastScan")),
    )
