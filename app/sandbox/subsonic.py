"""Fake Subsonic/OpenSubsonic server shaped like Navidrome.

``{prefix}/rest/{method}`` and ``{method}.view`` for ping, getLicense,
getMusicFolders, getArtists, getArtist, getAlbum, getAlbumList2, search3,
startScan and getScanStatus. Token auth (``t = md5(password + s)``), legacy
``p`` / ``p=enc:HEX`` and OpenSubsonic ``apiKey``. Every error is HTTP 200
with ``status: "failed"``. ``f=json`` gives JSON, anything else XML."""

from __future__ import annotations

import hashlib
import html
import random
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from flask import Flask, Response, request

from app.sandbox.catalogue import (
    Catalogue,
    LibraryAlbum,
    Release,
    ReleaseGroup,
    SubsonicUser,
    credit_text,
    fold,
    words,
)
from app.sandbox.core import (
    SandboxSettings,
    SharedApp,
    current_state,
    iso_utc,
    json_body,
)

API_VERSION = "1.16.1"
SERVER_VERSION = "0.58.0 (sandbox)"
AUDIO_SUFFIXES = (".flac", ".mp3", ".m4a", ".ogg", ".opus", ".wav")
IGNORED_ARTICLES = "The El La Los Las Le Les Os As O A"
MAX_LIST_SIZE = 500
ALBUM_LIST_TYPES = ("random", "newest", "highest", "frequent", "recent", "alphabeticalByName",
                    "alphabeticalByArtist", "starred", "byYear", "byGenre")


class SubsonicError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


# --------------------------------------------------------------------------- library view


@dataclass(eq=False)
class Song:
    id: str
    track: Any
    disc: int
    recording_id: str


@dataclass(eq=False)
class AlbumView:
    id: str
    album: LibraryAlbum
    release: Release
    group: ReleaseGroup
    artist: "ArtistView"
    songs: list[Song]

    @property
    def year(self) -> int | None:
        return int(self.group.first_release_date[:4]) if self.group.first_release_date else None

    @property
    def duration(self) -> int:
        return sum(round((s.track.length or 0) / 1000) for s in self.songs)


@dataclass(eq=False)
class ArtistView:
    id: str
    name: str
    musicbrainz_id: str
    sort_name: str
    albums: list[AlbumView] = field(default_factory=list)


def _hex_id(*parts: str) -> str:
    return hashlib.md5(":".join(parts).encode("utf-8")).hexdigest()


def _without_article(name: str) -> str:
    for article in IGNORED_ARTICLES.split():
        if name.lower().startswith(article.lower() + " "):
            return name[len(article) + 1:]
    return name


class SubsonicState:
    """The household library as Navidrome serves it, plus the scanner."""

    def __init__(self, catalogue: Catalogue, settings: SandboxSettings, clock: Any) -> None:
        self.catalogue = catalogue
        self.settings = settings
        self.clock = clock
        self.lock = threading.RLock()
        self.pending_albums: list[dict[str, Any]] = []
        self.scan_started_at: float | None = None
        self.scan_type = "quick"
        self.last_scan = clock.time() - 3600
        self.last_scan_seconds = 41
        self._view_key: tuple[int, int] | None = None
        self._artists: dict[str, ArtistView] = {}
        self._albums: dict[str, AlbumView] = {}

    # -- run-time changes

    def add_album(self, release_id: str, **overrides: Any) -> None:
        """Put a release in the library now (as if it had been scanned already)."""
        with self.lock:
            self.catalogue.add_library_album({"release": release_id, **overrides})

    def add_album_on_next_scan(self, release_id: str, **overrides: Any) -> None:
        """The album lands on disk; it shows up once a scan (startScan) finishes."""
        with self.lock:
            self.pending_albums.append({"release": release_id, **overrides})

    # -- scanner

    def advance(self) -> None:
        with self.lock:
            if self.scan_started_at is None:
                return
            now = self.clock.time()
            if now - self.scan_started_at >= self.settings.subsonic_scan_seconds:
                for raw in self.pending_albums:
                    self.catalogue.add_library_album(raw)
                self.pending_albums.clear()
                self._scan_library_dir()
                self.last_scan_seconds = max(int(now - self.scan_started_at), 0)
                self.last_scan = now
                self.scan_started_at = None

    def _scan_library_dir(self) -> None:
        """Albums whose files sit in the library folder join the library, found by the release MBID in
        their tags (as Navidrome groups an album); releases the catalogue does not know are left out."""
        folder = self.settings.subsonic_library_dir
        if not folder:
            return
        from mediafile import FileTypeError, MediaFile, UnreadableFileError

        present = {album.release_id for album in self.catalogue.library}
        for path in sorted(Path(folder).rglob("*")):
            if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file():
                continue
            try:
                release_id = MediaFile(path).mb_albumid
            except (FileTypeError, UnreadableFileError, OSError):
                continue
            if release_id and release_id in self.catalogue.releases and release_id not in present:
                self.catalogue.add_library_album({"release": release_id})
                present.add(release_id)

    def start_scan(self, full: bool) -> None:
        with self.lock:
            self.advance()
            if self.scan_started_at is None:
                self.scan_started_at = self.clock.time()
                self.scan_type = "full" if full else "quick"

    def scan_status(self) -> dict[str, Any]:
        with self.lock:
            self.advance()
            total = sum(len(a.songs) for a in self.albums().values())
            scanning = self.scan_started_at is not None
            if scanning:
                fraction = (self.clock.time() - self.scan_started_at) / max(self.settings.subsonic_scan_seconds, 1e-6)
                count = int(total * min(fraction, 0.99))
                elapsed = int(self.clock.time() - self.scan_started_at)
            else:
                count, elapsed = total, self.last_scan_seconds
            return {"scanning": scanning, "count": count, "folderCount": len(self.albums()) + len(self.artists()),
                    "lastScan": iso_utc(self.last_scan, digits=0), "scanType": self.scan_type, "elapsedTime": elapsed}

    # -- library view, rebuilt when the library list changes

    def artists(self) -> dict[str, ArtistView]:
        self._refresh()
        return self._artists

    def albums(self) -> dict[str, AlbumView]:
        self._refresh()
        return self._albums

    def _refresh(self) -> None:
        with self.lock:
            key = (id(self.catalogue.library), len(self.catalogue.library))
            if key == self._view_key:
                return
            cat = self.catalogue
            artists: dict[str, ArtistView] = {}
            albums: dict[str, AlbumView] = {}
            for album in cat.library:
                release = cat.releases[album.release_id]
                group = cat.release_group_of(release)
                name = credit_text(release.credit)
                mbid = cat.library_artist_mbid(album) if len(release.credit) == 1 else ""
                artist_key = mbid or fold(name)
                artist_id = _hex_id("artist", artist_key)
                artist = artists.get(artist_id)
                if artist is None:
                    sort_name = fold(_without_article(name)) if mbid else ""
                    artist = artists[artist_id] = ArtistView(artist_id, name, mbid, sort_name)
                album_id = _hex_id("album", album.release_id, album.name)  # one folder on disk
                songs = [Song(_hex_id("song", track.id), track, medium.position, track.recording_id)
                         for medium, track in release.tracks()]
                view = AlbumView(album_id, album, release, group, artist, songs)
                artist.albums.append(view)
                albums[album_id] = view
            self._artists, self._albums, self._view_key = artists, albums, key


# --------------------------------------------------------------------------- app


def create_app(state: SubsonicState) -> Callable:
    """The WSGI app of this service, answering from ``state``."""
    return _APP.bind(state)


def _build_app() -> Flask:
    app = Flask(__name__)

    @app.errorhandler(SubsonicError)
    def failed(error: SubsonicError) -> Response:
        return _respond({"error": {"code": error.code, "message": error.message}}, status="failed")

    @app.route("/rest/<method>", methods=["GET", "POST"])  # under the prefix, if any (see PathPrefix)
    def rest(method: str) -> Response:
        name = method.removesuffix(".view")
        handler = HANDLERS.get(name)
        if handler is None:
            return Response("404 page not found\n", status=404, mimetype="text/plain")
        state: SubsonicState = current_state()
        user = _authenticate(state.catalogue)
        state.advance()
        payload, headers = handler(state, user)
        response = _respond(payload)
        response.headers.update(headers)
        return response

    @app.get("/app/")
    def web_ui() -> Response:
        """A stand-in for Navidrome's web app, so the demo's "In library" links lead somewhere: every album,
        the one named in ``#/album/<id>`` picked out (Navidrome routes in the fragment too)."""
        state: SubsonicState = current_state()
        state.advance()
        rows = "".join(f'<li id="album/{html.escape(view.id)}">{html.escape(view.artist.name)} — '
                       f"{html.escape(view.album.name)} ({len(view.songs)} tracks)</li>"
                       for view in sorted(state.albums().values(), key=lambda v: (v.artist.name, v.album.name)))
        page = ("<!doctype html><meta charset=utf-8><title>Navidrome (sandbox)</title>"
                "<style>:target,li.shown{font-weight:bold;background:#ffd}</style>"
                f"<h1>Navidrome (sandbox)</h1><ul>{rows}</ul>"
                "<script>var m=location.hash.match(/^#\\/(album\\/.+)$/);"
                "var e=m&&document.getElementById(m[1]);if(e){e.className='shown';e.scrollIntoView();}</script>")
        return Response(page, mimetype="text/html")

    return app


def _authenticate(cat: Catalogue) -> SubsonicUser:
    args = request.values
    api_key = args.get("apiKey")
    for required in ("v", "c") if api_key else ("u", "v", "c"):
        if not args.get(required):
            raise SubsonicError(10, f"missing parameter: '{required}'")
    if api_key:
        if any(args.get(k) for k in ("u", "p", "t", "s")):
            raise SubsonicError(43, "Multiple conflicting authentication mechanisms provided")
        user = next((u for u in cat.subsonic_users.values() if u.api_key and u.api_key == api_key), None)
        if user is None:
            raise SubsonicError(44, "Invalid API key")
        return user
    password, token, salt = args.get("p"), args.get("t"), args.get("s")
    if password and (token or salt):
        raise SubsonicError(43, "Multiple conflicting authentication mechanisms provided")
    if not password and not (token and salt):
        raise SubsonicError(10, "missing parameter: 'p' (or 't' and 's')")
    user = cat.subsonic_users.get(args["u"])
    if user is None:
        raise SubsonicError(40, "Wrong username or password")
    if password:
        if password.startswith("enc:"):
            try:
                password = bytes.fromhex(password[4:]).decode("utf-8")
            except ValueError:
                raise SubsonicError(40, "Wrong username or password") from None
        ok = password == user.password
    else:
        ok = token.lower() == hashlib.md5((user.password + salt).encode("utf-8")).hexdigest()
    if not ok:
        raise SubsonicError(40, "Wrong username or password")
    return user


def _respond(payload: dict[str, Any], status: str = "ok") -> Response:
    body = {"status": status, "version": API_VERSION, "type": "navidrome", "serverVersion": SERVER_VERSION,
            "openSubsonic": True}
    body.update(payload)
    fmt = request.values.get("f", "xml")
    if fmt == "json":
        return Response(json_body({"subsonic-response": body}), mimetype="application/json")
    if fmt == "jsonp" and request.values.get("callback"):
        text = request.values["callback"] + "(" + json_body({"subsonic-response": body}).decode("utf-8") + ");"
        return Response(text, mimetype="application/javascript")
    root = ET.Element("subsonic-response", xmlns="http://subsonic.org/restapi")
    _fill_xml(root, body)
    return Response(b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8"),
                    mimetype="application/xml")


def _fill_xml(element: ET.Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            _fill_xml(ET.SubElement(element, key), value)
        elif isinstance(value, list):
            for item in value:
                child = ET.SubElement(element, key)
                if isinstance(item, dict):
                    _fill_xml(child, item)
                else:
                    child.text = _xml_scalar(item)
        elif value is not None:
            element.set(key, _xml_scalar(value))


def _xml_scalar(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


# --------------------------------------------------------------------------- shapes


def _album_json(view: AlbumView) -> dict[str, Any]:
    album, group = view.album, view.group
    data: dict[str, Any] = {
        "id": view.id, "name": album.name, "artist": view.artist.name, "artistId": view.artist.id,
        "coverArt": f"al-{view.id}_0", "songCount": len(view.songs), "duration": view.duration,
        "playCount": album.play_count, "created": album.created,
    }
    if view.year:
        data["year"] = view.year
    if album.genre:
        data["genre"] = album.genre
    if album.starred:
        data["starred"] = album.created
    if album.play_count:
        data["played"] = _played_at(view)
    date = group.first_release_date
    data.update({
        "userRating": 0,
        "genres": [{"name": album.genre}] if album.genre else [],
        "musicBrainzId": album.musicbrainz_id,
        "isCompilation": "Compilation" in group.secondary_types,
        "sortName": fold(album.name),
        "discTitles": [{"disc": m.position, "title": m.title} for m in view.release.media if m.title],
        "originalReleaseDate": _date_parts(date),
        "releaseDate": _date_parts(view.release.date) if view.release.date != date else {},
        "releaseTypes": [t for t in [group.primary_type, *group.secondary_types] if t],
        "recordLabels": [], "moods": [],
        "artists": [{"id": view.artist.id, "name": view.artist.name}],
        "displayArtist": view.artist.name, "explicitStatus": "", "version": "",
    })
    return data


def _song_json(view: AlbumView, song: Song) -> dict[str, Any]:
    track = song.track
    seconds = round((track.length or 0) / 1000)
    title_for_path = track.title.replace("/", "-")
    data: dict[str, Any] = {
        "id": song.id, "parent": view.id, "isDir": False, "title": track.title, "album": view.album.name,
        "artist": credit_text(track.credit), "track": track.position,
    }
    if view.year:
        data["year"] = view.year
    if view.album.genre:
        data["genre"] = view.album.genre
    data.update({
        "coverArt": f"mf-{song.id}_0", "size": seconds * 110_000 + 40_960, "contentType": "audio/flac",
        "suffix": "flac", "duration": seconds, "bitRate": 880 + len(track.title) % 200,
        "path": f"{view.artist.name}/{view.album.name}/{song.disc:01d}-{track.position:02d} - {title_for_path}.flac",
        "discNumber": song.disc, "created": view.album.created, "albumId": view.id, "artistId": view.artist.id,
        "type": "music", "isVideo": False, "musicBrainzId": song.recording_id, "bitDepth": 16,
        "samplingRate": 44100, "channelCount": 2, "mediaType": "song", "displayArtist": credit_text(track.credit),
        "displayAlbumArtist": view.artist.name,
    })
    return data


def _artist_json(artist: ArtistView) -> dict[str, Any]:
    return {"id": artist.id, "name": artist.name, "albumCount": len(artist.albums), "coverArt": f"ar-{artist.id}_0",
            "artistImageUrl": f"https://sandbox.invalid/artist/{artist.id}.jpg",
            "musicBrainzId": artist.musicbrainz_id, "sortName": artist.sort_name, "roles": ["albumartist", "artist"]}


def _date_parts(date: str) -> dict[str, int]:
    parts = [int(p) for p in date.split("-") if p] if date else []
    return dict(zip(("year", "month", "day"), parts))


def _played_at(view: AlbumView) -> str:
    created = datetime.fromisoformat(view.album.created.replace("Z", "+00:00"))
    offset = 86400 * (1 + int(hashlib.md5(view.id.encode()).hexdigest()[:4], 16) % 300)
    return datetime.fromtimestamp(created.timestamp() + offset, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- handlers

Result = tuple[dict[str, Any], dict[str, str]]


def ping(state: SubsonicState, user: SubsonicUser) -> Result:
    return {}, {}


def get_license(state: SubsonicState, user: SubsonicUser) -> Result:
    return {"license": {"valid": True}}, {}


def get_music_folders(state: SubsonicState, user: SubsonicUser) -> Result:
    return {"musicFolders": {"musicFolder": [{"id": 1, "name": "Music Library"}]}}, {}


def get_artists(state: SubsonicState, user: SubsonicUser) -> Result:
    groups: dict[str, list[ArtistView]] = {}
    for artist in state.artists().values():
        first = fold(_without_article(artist.name))[:1].upper()
        groups.setdefault(first if "A" <= first <= "Z" else "#", []).append(artist)
    index = [{"name": letter,
              "artist": [_artist_json(a) for a in sorted(members, key=lambda a: fold(_without_article(a.name)))]}
             for letter, members in sorted(groups.items())]
    last_modified = max((a.album.created for a in state.albums().values()), default="2020-01-01T00:00:00Z")
    millis = int(datetime.fromisoformat(last_modified.replace("Z", "+00:00")).timestamp() * 1000)
    return {"artists": {"ignoredArticles": IGNORED_ARTICLES, "lastModified": millis, "index": index}}, {}


def get_artist(state: SubsonicState, user: SubsonicUser) -> Result:
    artist = state.artists().get(_required("id"))
    if artist is None:
        raise SubsonicError(70, "data not found")
    data = _artist_json(artist)
    data["album"] = [_album_json(a) for a in sorted(artist.albums, key=lambda a: (a.year or 0, fold(a.album.name)))]
    return {"artist": data}, {}


def get_album(state: SubsonicState, user: SubsonicUser) -> Result:
    view = state.albums().get(_required("id"))
    if view is None:
        raise SubsonicError(70, "data not found")
    data = _album_json(view)
    data["song"] = [_song_json(view, s) for s in view.songs]
    return {"album": data}, {}


def get_album_list2(state: SubsonicState, user: SubsonicUser) -> Result:
    list_type = _required("type")
    if list_type not in ALBUM_LIST_TYPES:
        raise SubsonicError(0, f"type '{list_type}' not implemented")
    size = min(_int_arg("size", 10), MAX_LIST_SIZE)
    offset = _int_arg("offset", 0)
    albums = list(state.albums().values())
    if list_type == "random":
        random.shuffle(albums)
    elif list_type == "newest":
        albums.sort(key=lambda a: a.album.created, reverse=True)
    elif list_type == "highest":
        albums.sort(key=lambda a: fold(a.album.name))
    elif list_type == "frequent":
        albums = sorted((a for a in albums if a.album.play_count), key=lambda a: -a.album.play_count)
    elif list_type == "recent":
        albums = sorted((a for a in albums if a.album.play_count), key=_played_at, reverse=True)
    elif list_type == "alphabeticalByName":
        albums.sort(key=lambda a: (fold(a.album.name), a.id))
    elif list_type == "alphabeticalByArtist":
        albums.sort(key=lambda a: (fold(_without_article(a.artist.name)), a.year or 0, fold(a.album.name)))
    elif list_type == "starred":
        albums = sorted((a for a in albums if a.album.starred), key=lambda a: fold(a.album.name))
    elif list_type == "byYear":
        from_year, to_year = _year("fromYear"), _year("toYear")
        low, high = min(from_year, to_year), max(from_year, to_year)
        albums = sorted((a for a in albums if a.year and low <= a.year <= high),
                        key=lambda a: (a.year, fold(a.album.name)), reverse=from_year > to_year)
    elif list_type == "byGenre":
        genre = fold(_required("genre"))
        albums = sorted((a for a in albums if fold(a.album.genre) == genre), key=lambda a: fold(a.album.name))
    page = albums[offset:offset + size]
    body: dict[str, Any] = {"album": [_album_json(a) for a in page]} if page else {}
    return {"albumList2": body}, {"x-total-count": str(len(albums))}


def search3(state: SubsonicState, user: SubsonicUser) -> Result:
    if "query" not in request.values:
        raise SubsonicError(10, "missing parameter: 'query'")
    query = request.values["query"].strip()
    terms = [] if query in ("", '""') else words(query.replace("*", ""))

    def matches(*texts: str) -> bool:
        have = [w for text in texts for w in words(text)]
        return all(any(h.startswith(t) for h in have) for t in terms)

    artists = [a for a in state.artists().values() if matches(a.name)]
    albums = [a for a in state.albums().values() if matches(a.album.name, a.artist.name)]
    songs = [(a, s) for a in state.albums().values() for s in a.songs
             if matches(s.track.title, a.artist.name, a.album.name)]
    artists.sort(key=lambda a: fold(a.name))
    albums.sort(key=lambda a: fold(a.album.name))
    result: dict[str, Any] = {}
    artist_page = _page(artists, "artistCount", "artistOffset")
    album_page = _page(albums, "albumCount", "albumOffset")
    song_page = _page(songs, "songCount", "songOffset")
    if artist_page:
        result["artist"] = [_artist_json(a) for a in artist_page]
    if album_page:
        result["album"] = [_album_json(a) for a in album_page]
    if song_page:
        result["song"] = [_song_json(a, s) for a, s in song_page]
    return {"searchResult3": result}, {}


def start_scan(state: SubsonicState, user: SubsonicUser) -> Result:
    if not user.admin:
        raise SubsonicError(50, "User is not authorized for the given operation")
    state.start_scan(full=request.values.get("fullScan", "false").lower() == "true")
    return {"scanStatus": state.scan_status()}, {}


def get_scan_status(state: SubsonicState, user: SubsonicUser) -> Result:
    return {"scanStatus": state.scan_status()}, {}


HANDLERS = {
    "ping": ping, "getLicense": get_license, "getMusicFolders": get_music_folders, "getArtists": get_artists,
    "getArtist": get_artist, "getAlbum": get_album, "getAlbumList2": get_album_list2, "search3": search3,
    "startScan": start_scan, "getScanStatus": get_scan_status,
}


def _required(name: str) -> str:
    value = request.values.get(name)
    if value is None or value == "":
        raise SubsonicError(10, f"missing parameter: '{name}'")
    return value


def _year(name: str) -> int:
    value = _required(name)
    if not value.lstrip("-").isdigit():
        raise SubsonicError(0, f"invalid value for '{name}': {value}")
    return int(value)


def _int_arg(name: str, default: int) -> int:
    raw = request.values.get(name, "")
    return int(raw) if raw.lstrip("-").isdigit() and int(raw) >= 0 else default


def _page(items: list[Any], count_name: str, offset_name: str) -> list[Any]:
    return items[_int_arg(offset_name, 0):][:_int_arg(count_name, 20)]


_APP = SharedApp(_build_app)
