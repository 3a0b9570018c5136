"""The one made-up music world every fake service answers from.

``Catalogue.load()`` reads ``data/catalogue.json`` (the small, hand-written
world); ``Catalogue.generate(artists=…, albums=…)`` builds a big seeded one for
benchmarks (see ``generate.py``). Both go through ``Catalogue.from_dict`` so
the data format described there is the only one.

Data format (all IDs are fixed strings in the data):
- ``artists``: id, name, sort_name, type, country, begin, end, gender,
  disambiguation, aliases, tags.
- ``release_groups``: id, title, credit, primary_type, secondary_types, cover
  (has front art), releases[] → id, title?, status, date (or ``released_days_ago``:
  the date that many days before today, negative for an announced release, so
  that new releases stay new), country, barcode,
  packaging, cover?, media[] → format, title, tracks[] → id, recording, title,
  length (ms or null), number?, credit?.
  A credit is a list of artist ids or ``{"artist", "name", "join"}`` objects.
- ``recordings``: extra recordings (standalone ones) and per-recording extras
  (isrcs, credit, disambiguation).
- ``redirects``: merged MBID → surviving MBID (MusicBrainz lookups follow them).
- ``listenbrainz``: listeners (user_name, token, recommendations, playlists,
  fresh_releases: release ids by artists they listen to), release_group_listens
  (release group id → listen count; others get a stable made-up count),
  uncached_recordings (absent from bulk metadata), chosen_releases.
- ``lastfm``: api_keys, suspended_api_keys, artists (Last.fm's own view:
  name, mbid, corrections, similar[{name, match}]).
- ``subsonic``: users, albums (release id + Navidrome-style overrides).
- ``slskd``: api_keys, username, users (behaviour, slots, speed, shares).
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from app.gcpause import gc_paused

# --------------------------------------------------------------------------- text helpers


def fold(text: str) -> str:
    """Case- and accent-insensitive form used for every name comparison."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", stripped).casefold()


_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Folded words, punctuation dropped: ``"AC/DC – Back in Black"`` → ac, dc, back, in, black."""
    return _WORD.findall(fold(text))


def stable_int(*parts: object, modulo: int = 2**31) -> int:
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % modulo


def stable_fraction(*parts: object) -> float:
    return stable_int(*parts, modulo=1_000_000) / 1_000_000


def credit_text(credit: Iterable["Credit"]) -> str:
    return "".join(c.name + c.join for c in credit)


# --------------------------------------------------------------------------- music model


@dataclass(eq=False)
class Credit:
    artist_id: str
    name: str
    join: str = ""


@dataclass(eq=False)
class Artist:
    id: str
    name: str
    sort_name: str
    type: str | None = None
    country: str | None = None
    begin: str | None = None
    end: str | None = None
    gender: str | None = None
    disambiguation: str = ""
    aliases: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Track:
    id: str
    position: int
    number: str
    title: str
    length: int | None
    recording_id: str
    credit: list[Credit]


@dataclass(eq=False)
class Medium:
    position: int
    format: str | None
    title: str
    tracks: list[Track]


@dataclass(eq=False)
class Release:
    id: str
    release_group_id: str
    title: str
    status: str | None
    date: str
    country: str | None
    barcode: str | None
    disambiguation: str
    packaging: str | None
    cover: bool
    credit: list[Credit]
    media: list[Medium]

    @property
    def track_count(self) -> int:
        return sum(len(m.tracks) for m in self.media)

    def tracks(self) -> list[tuple[Medium, Track]]:
        return [(m, t) for m in self.media for t in m.tracks]


@dataclass(eq=False)
class ReleaseGroup:
    id: str
    title: str
    credit: list[Credit]
    primary_type: str | None
    secondary_types: list[str]
    disambiguation: str
    cover: bool
    release_ids: list[str]
    first_release_date: str = ""


@dataclass(eq=False)
class Recording:
    id: str
    title: str
    length: int | None
    credit: list[Credit]
    isrcs: list[str] = field(default_factory=list)
    disambiguation: str = ""


# --------------------------------------------------------------------------- service-specific views


@dataclass(eq=False)
class Recommendation:
    recording_mbid: str
    score: float
    latest_listened_at: str | None = None


@dataclass(eq=False)
class Playlist:
    id: str
    title: str
    date: str
    source_patch: str
    tracks: list[str]
    annotation: str = ""
    expires_at: str | None = None
    created_for: str = ""


@dataclass(eq=False)
class Listener:
    user_name: str
    token: str
    recommendations: list[Recommendation]
    playlists: list[Playlist]
    model_id: str | None = None
    model_url: str | None = None
    last_updated: int = 0
    fresh_releases: list[str] = field(default_factory=list)  # release ids


@dataclass(eq=False)
class LastfmArtist:
    name: str
    mbid: str
    artist_id: str | None
    corrections: list[str]
    similar: list[tuple[str, float, str]]  # name, match 0–1, Last.fm's MBID for it ("" unknown)
    tags: list[str]
    listeners: int
    playcount: int


@dataclass(eq=False)
class SubsonicUser:
    username: str
    password: str
    admin: bool = False
    api_key: str | None = None


@dataclass(eq=False)
class LibraryAlbum:
    """A Navidrome album: one release on disk. ``musicbrainz_id`` is the
    release MBID ("" when untagged); ``artist_musicbrainz_id`` None = the
    catalogue artist MBID, "" = unknown (as Navidrome shows it)."""

    release_id: str
    name: str
    musicbrainz_id: str
    artist_musicbrainz_id: str | None
    genre: str
    created: str
    play_count: int = 0
    starred: bool = False


@dataclass(eq=False)
class SharedFile:
    filename: str
    size: int
    extension: str
    length: int | None = None
    bit_rate: int | None = None
    bit_depth: int | None = None
    sample_rate: int | None = None
    vbr: bool | None = None
    locked: bool = False
    _words: frozenset[str] | None = None

    @property
    def words(self) -> frozenset[str]:
        if self._words is None:
            self._words = frozenset(words(self.filename))
        return self._words


@dataclass(eq=False)
class SoulseekUser:
    username: str
    behaviour: str
    has_free_upload_slot: bool
    upload_speed: int
    queue_length: int
    files: list[SharedFile]


BEHAVIOURS = ("normal", "slow", "stalls", "rejects", "errors", "remote_queue", "offline")

# bytes per second of audio and the attributes a peer reports for each quality
QUALITIES: dict[str, dict[str, Any]] = {
    "flac16": {"ext": "flac", "bytes_per_second": 110_000, "bit_depth": 16, "sample_rate": 44100},
    "flac24": {"ext": "flac", "bytes_per_second": 330_000, "bit_depth": 24, "sample_rate": 96000},
    "flac24-48": {"ext": "flac", "bytes_per_second": 170_000, "bit_depth": 24, "sample_rate": 48000},
    "flac24-192": {"ext": "flac", "bytes_per_second": 640_000, "bit_depth": 24, "sample_rate": 192000},
    "mp3-320": {"ext": "mp3", "bytes_per_second": 40_000, "bit_rate": 320, "vbr": False},
    "mp3-v0": {"ext": "mp3", "bytes_per_second": 30_600, "bit_rate": 245, "vbr": True},
    "mp3-v2": {"ext": "mp3", "bytes_per_second": 23_700, "bit_rate": 190, "vbr": True},
    "mp3-128": {"ext": "mp3", "bytes_per_second": 16_000, "bit_rate": 128, "vbr": False},
}
EXTRA_SIZES = {"jpg": 812_345, "png": 1_204_551, "cue": 1_530, "log": 6_120, "nfo": 940, "m3u": 410, "txt": 300}
_UNSAFE_IN_FILENAMES = {"/": "-", "\\": "-", ":": "-", "*": "", "?": "", '"': "'", "<": "", ">": "", "|": "-"}


def safe_filename(text: str) -> str:
    """What a ripper would have written on Windows: no ``\\/:*?"<>|``."""
    return "".join(_UNSAFE_IN_FILENAMES.get(ch, ch) for ch in text).strip().rstrip(".")


# --------------------------------------------------------------------------- the catalogue


class Catalogue:
    """All sandbox data, indexed for the fakes. Mutable at run time (tests may
    empty a listener's recommendations, change a Soulseek user's behaviour …)."""

    def __init__(self) -> None:
        self.description = ""
        self.artists: dict[str, Artist] = {}
        self.release_groups: dict[str, ReleaseGroup] = {}
        self.releases: dict[str, Release] = {}
        self.recordings: dict[str, Recording] = {}
        self.redirects: dict[str, str] = {}
        self.listeners: dict[str, Listener] = {}
        self.uncached_recordings: set[str] = set()
        self.chosen_releases: dict[str, str] = {}
        self.release_group_listens: dict[str, int] = {}
        self.lastfm_api_keys: list[str] = []
        self.lastfm_suspended_keys: list[str] = []
        self.lastfm_artists: list[LastfmArtist] = []
        self.subsonic_users: dict[str, SubsonicUser] = {}
        self.library: list[LibraryAlbum] = []
        self.slskd_api_keys: list[str] = []
        self.slskd_username = "resonance_bot"
        self.soulseek_users: dict[str, SoulseekUser] = {}
        # indexes
        self.artist_release_groups: dict[str, list[str]] = {}
        self.recording_tracks: dict[str, list[tuple[Release, Medium, Track]]] = {}

    # ------------------------------------------------------------------ construction

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Catalogue":
        """The small hand-written catalogue (or another JSON file in the same format)."""
        text = Path(path).read_text(encoding="utf-8") if path else _bundled_catalogue_text()
        return cls.from_dict(json.loads(text))

    @classmethod
    def generate(cls, artists: int = 1000, albums: int = 10000, seed: int = 1) -> "Catalogue":
        """A deterministic benchmark-size world: ``artists`` library artists and
        ``albums`` candidate albums by other artists (see ``generate.py``)."""
        from app.sandbox.generate import generate_catalogue_data

        with gc_paused():
            return cls.from_dict(generate_catalogue_data(artists=artists, albums=albums, seed=seed))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Catalogue":
        with gc_paused():
            return cls._from_dict(data)

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> "Catalogue":
        cat = cls()
        cat.description = data.get("description", "")
        for raw in data.get("artists", []):
            artist = Artist(
                id=raw["id"], name=raw["name"], sort_name=raw.get("sort_name") or raw["name"],
                type=raw.get("type"), country=raw.get("country"), begin=raw.get("begin"), end=raw.get("end"),
                gender=raw.get("gender"), disambiguation=raw.get("disambiguation", ""),
                aliases=list(raw.get("aliases", [])), tags=list(raw.get("tags", [])),
            )
            cat.artists[artist.id] = artist
        recording_extras = {r["id"]: r for r in data.get("recordings", [])}
        for raw_group in data.get("release_groups", []):
            cat._add_release_group(raw_group, recording_extras)
        for rec_id, raw in recording_extras.items():
            if rec_id not in cat.recordings:  # standalone recording, on no release
                cat.recordings[rec_id] = Recording(
                    id=rec_id, title=raw["title"], length=raw.get("length"),
                    credit=cat._credit(raw.get("credit", [])), isrcs=list(raw.get("isrcs", [])),
                    disambiguation=raw.get("disambiguation", ""),
                )
        cat.redirects = dict(data.get("redirects", {}))
        cat._load_listenbrainz(data.get("listenbrainz", {}))
        cat._load_lastfm(data.get("lastfm", {}))
        subsonic = data.get("subsonic", {})
        for raw in subsonic.get("users", []):
            user = SubsonicUser(raw["username"], raw["password"], bool(raw.get("admin")), raw.get("api_key"))
            cat.subsonic_users[user.username] = user
        for raw in subsonic.get("albums", []):
            cat.add_library_album(raw)
        slskd = data.get("slskd", {})
        cat.slskd_api_keys = list(slskd.get("api_keys", []))
        cat.slskd_username = slskd.get("username", cat.slskd_username)
        for raw in slskd.get("users", []):
            cat.add_soulseek_user(raw)
        return cat

    def _credit(self, raw: list[Any]) -> list[Credit]:
        credit = []
        for entry in raw:
            if isinstance(entry, str):
                entry = {"artist": entry}
            artist = self.artists[entry["artist"]]
            credit.append(Credit(artist.id, entry.get("name") or artist.name, entry.get("join", "")))
        return credit

    def _add_release_group(self, raw: dict[str, Any], recording_extras: dict[str, Any]) -> None:
        credit = self._credit(raw["credit"])
        group = ReleaseGroup(
            id=raw["id"], title=raw["title"], credit=credit, primary_type=raw.get("primary_type"),
            secondary_types=list(raw.get("secondary_types", [])), disambiguation=raw.get("disambiguation", ""),
            cover=bool(raw.get("cover", True)), release_ids=[],
        )
        self.release_groups[group.id] = group
        for c in credit:
            self.artist_release_groups.setdefault(c.artist_id, []).append(group.id)
        for raw_release in raw.get("releases", []):
            release = Release(
                id=raw_release["id"], release_group_id=group.id, title=raw_release.get("title") or group.title,
                status=raw_release.get("status", "Official"), date=_release_date(raw_release),
                country=raw_release.get("country"), barcode=raw_release.get("barcode"),
                disambiguation=raw_release.get("disambiguation", ""), packaging=raw_release.get("packaging"),
                cover=bool(raw_release.get("cover", group.cover)), credit=credit, media=[],
            )
            for medium_position, raw_medium in enumerate(raw_release.get("media", []), start=1):
                medium = Medium(medium_position, raw_medium.get("format"), raw_medium.get("title", ""), [])
                for position, raw_track in enumerate(raw_medium.get("tracks", []), start=1):
                    track_credit = self._credit(raw_track["credit"]) if raw_track.get("credit") else credit
                    track = Track(
                        id=raw_track["id"], position=position, number=str(raw_track.get("number", position)),
                        title=raw_track["title"], length=raw_track.get("length"),
                        recording_id=raw_track["recording"], credit=track_credit,
                    )
                    medium.tracks.append(track)
                    if track.recording_id not in self.recordings:
                        extra = recording_extras.get(track.recording_id, {})
                        self.recordings[track.recording_id] = Recording(
                            id=track.recording_id, title=extra.get("title", track.title),
                            length=extra.get("length", track.length),
                            credit=self._credit(extra["credit"]) if extra.get("credit") else track_credit,
                            isrcs=list(extra.get("isrcs", [])), disambiguation=extra.get("disambiguation", ""),
                        )
                    self.recording_tracks.setdefault(track.recording_id, []).append((release, medium, track))
                release.media.append(medium)
            self.releases[release.id] = release
            group.release_ids.append(release.id)
        dates = [self.releases[r].date for r in group.release_ids if self.releases[r].date]
        group.first_release_date = min(dates) if dates else ""

    def _load_listenbrainz(self, raw: dict[str, Any]) -> None:
        self.uncached_recordings = set(raw.get("uncached_recordings", []))
        self.chosen_releases = dict(raw.get("chosen_releases", {}))
        self.release_group_listens = {mbid: int(n) for mbid, n in raw.get("release_group_listens", {}).items()}
        for raw_listener in raw.get("listeners", []):
            self.add_listener(raw_listener)

    def _load_lastfm(self, raw: dict[str, Any]) -> None:
        self.lastfm_api_keys = list(raw.get("api_keys", []))
        self.lastfm_suspended_keys = list(raw.get("suspended_api_keys", []))
        for entry in raw.get("artists", []):
            artist = self.artists.get(entry.get("artist") or "")
            name = entry.get("name") or (artist.name if artist else "")
            self.lastfm_artists.append(LastfmArtist(
                name=name,
                mbid=entry["mbid"] if "mbid" in entry else (artist.id if artist else ""),
                artist_id=artist.id if artist else None,
                corrections=list(entry.get("corrections", [])),
                similar=[(s["name"], float(s["match"]), s.get("mbid", "")) for s in entry.get("similar", [])],
                tags=list(entry.get("tags", artist.tags if artist else [])),
                listeners=int(entry.get("listeners", 1000 + stable_int("listeners", name, modulo=2_000_000))),
                playcount=int(entry.get("playcount", 50_000 + stable_int("plays", name, modulo=90_000_000))),
            ))

    # ------------------------------------------------------------------ run-time additions

    def add_listener(self, raw: dict[str, Any]) -> Listener:
        listener = Listener(
            user_name=raw["user_name"], token=raw["token"],
            recommendations=[Recommendation(r["recording_mbid"], float(r["score"]), r.get("latest_listened_at"))
                             for r in raw.get("recommendations", [])],
            playlists=[Playlist(p["id"], p["title"], p["date"], p.get("source_patch", "weekly-exploration"),
                                list(p.get("tracks", [])), p.get("annotation", ""), p.get("expires_at"),
                                p.get("created_for", raw["user_name"]))
                       for p in raw.get("playlists", [])],
            model_id=raw.get("model_id"), model_url=raw.get("model_url"), last_updated=int(raw.get("last_updated", 0)),
            fresh_releases=list(raw.get("fresh_releases", [])),
        )
        self.listeners[listener.user_name.casefold()] = listener
        return listener

    def add_library_album(self, raw: dict[str, Any]) -> LibraryAlbum:
        release = self.releases[raw["release"]]
        group = self.release_groups[release.release_group_id]
        album = LibraryAlbum(
            release_id=release.id, name=raw.get("name") or group.title,
            musicbrainz_id=raw.get("musicbrainz_id", release.id),
            artist_musicbrainz_id=raw.get("artist_musicbrainz_id"),
            genre=raw.get("genre", ""), created=raw.get("created", "2024-01-01T00:00:00Z"),
            play_count=int(raw.get("play_count", 0)), starred=bool(raw.get("starred", False)),
        )
        self.library.append(album)
        return album

    def add_soulseek_user(self, raw: dict[str, Any]) -> SoulseekUser:
        behaviour = raw.get("behaviour", "normal")
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown transfer behaviour {behaviour!r}; one of {', '.join(BEHAVIOURS)}")
        files: list[SharedFile] = []
        for share in raw.get("shares", []):
            files.extend(self.share_files(share))
        for extra in raw.get("files", []):  # explicit files, e.g. added by a test
            files.append(SharedFile(extra["filename"], int(extra["size"]), extra.get("extension", ""),
                                    locked=bool(extra.get("locked", False))))
        user = SoulseekUser(
            username=raw["username"], behaviour=behaviour,
            has_free_upload_slot=bool(raw.get("has_free_upload_slot", True)),
            upload_speed=int(raw.get("upload_speed", 1_000_000)), queue_length=int(raw.get("queue_length", 0)),
            files=files,
        )
        self.soulseek_users[user.username] = user
        return user

    def share_files(self, share: dict[str, Any]) -> list[SharedFile]:
        """The files of one shared album folder, named and sized like a real rip."""
        release = self.releases[share["release"]]
        group = self.release_groups[release.release_group_id]
        quality = QUALITIES[share.get("quality", "flac16")]
        pattern = share.get("pattern", "{n:02} - {title}")
        disc_folder = share.get("discs")  # e.g. "CD{disc}" for multi-disc albums
        with_attributes = share.get("attributes", True)
        with_extension = share.get("extension", True)
        missing = set(share.get("missing", []))
        locked = share.get("locked", [])
        folder = share["folder"]
        fields = {"artist": safe_filename(credit_text(release.credit)), "album": safe_filename(group.title),
                  "year": (group.first_release_date or "0000")[:4]}
        files = []
        index = 0
        for medium, track in release.tracks():
            index += 1
            if index in missing:
                continue
            name = pattern.format(n=track.position, disc=medium.position, title=safe_filename(track.title), **fields)
            directory = folder
            if disc_folder and len(release.media) > 1:
                directory = folder + "\\" + disc_folder.format(disc=medium.position)
            filename = f"{directory}\\{name}.{quality['ext']}"
            seconds = round(track.length / 1000) if track.length else None
            jitter = 0.92 + 0.16 * stable_fraction(filename)
            size = int(quality["bytes_per_second"] * (seconds or 240) * jitter) + 4096
            file = SharedFile(filename, size, quality["ext"] if with_extension else "",
                              locked=(locked == "all" or index in locked))
            if with_attributes:
                file.length = seconds
                if "bit_depth" in quality:
                    file.bit_depth, file.sample_rate = quality["bit_depth"], quality["sample_rate"]
                else:
                    bit_rate = quality["bit_rate"]
                    if quality["vbr"]:
                        bit_rate += int(30 * stable_fraction("vbr", filename)) - 15
                    file.bit_rate, file.vbr = bit_rate, quality["vbr"]
            files.append(file)
        for extra in share.get("extras", []):
            name = extra.format(**fields)
            extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            size = int(EXTRA_SIZES.get(extension, 2_000) * (0.8 + 0.4 * stable_fraction(folder, name)))
            files.append(SharedFile(f"{folder}\\{name}", size, extension if with_extension else "",
                                    locked=(locked == "all")))
        return files

    # ------------------------------------------------------------------ lookups

    def resolve(self, mbid: str) -> str:
        """Follow merge redirects (MusicBrainz answers with the surviving entity)."""
        return self.redirects.get(mbid, mbid)

    def listener(self, user_name: str) -> Listener | None:
        return self.listeners.get(user_name.casefold())

    def listener_by_token(self, token: str) -> Listener | None:
        return next((l for l in self.listeners.values() if l.token == token), None)

    def release_group_of(self, release: Release) -> ReleaseGroup:
        return self.release_groups[release.release_group_id]

    def releases_of(self, group: ReleaseGroup) -> list[Release]:
        return [self.releases[r] for r in group.release_ids]

    def releases_of_recording(self, recording_id: str) -> list[Release]:
        seen: dict[str, Release] = {}
        for release, _medium, _track in self.recording_tracks.get(recording_id, []):
            seen.setdefault(release.id, release)
        return list(seen.values())

    def first_release_date(self, recording_id: str) -> str:
        dates = [r.date for r in self.releases_of_recording(recording_id) if r.date]
        return min(dates) if dates else ""

    def chosen_release(self, recording_id: str) -> Release | None:
        """The single release ListenBrainz's metadata cache shows for a recording:
        the earliest official one, so a single can win over the album."""
        if recording_id in self.chosen_releases:
            return self.releases[self.chosen_releases[recording_id]]
        releases = self.releases_of_recording(recording_id)
        if not releases:
            return None
        official = [r for r in releases if r.status == "Official"] or releases
        return min(official, key=lambda r: (r.date or "9999", r.id))

    def front_release(self, group: ReleaseGroup) -> Release | None:
        """The release whose front image the Cover Art Archive shows for a group."""
        with_art = [r for r in self.releases_of(group) if r.cover]
        return min(with_art, key=lambda r: (r.date or "9999", r.id)) if with_art else None

    def listen_count(self, group: ReleaseGroup) -> int:
        """ListenBrainz's listen count of a release group: the data's, else a stable made-up one."""
        if group.id in self.release_group_listens:
            return self.release_group_listens[group.id]
        return 100 + stable_int("listens", group.id, modulo=50_000)

    def caa_image_id(self, release: Release) -> int:
        return 1_000_000_000 + stable_int("caa", release.id, modulo=9_000_000_000)

    def lastfm_by_name(self, name: str, autocorrect: bool) -> LastfmArtist | None:
        wanted = name.strip().casefold()
        for artist in self.lastfm_artists:
            if artist.name.casefold() == wanted:
                return artist
        if not autocorrect:
            return None
        folded = fold(name.strip())
        for artist in self.lastfm_artists:
            if fold(artist.name) == folded or folded in (fold(c) for c in artist.corrections):
                return artist
        return None

    def lastfm_by_mbid(self, mbid: str) -> LastfmArtist | None:
        mbid = mbid.strip().lower()
        return next((a for a in self.lastfm_artists if a.mbid and a.mbid == mbid), None) if mbid else None

    def library_artist_mbid(self, album: LibraryAlbum) -> str:
        release = self.releases[album.release_id]
        if album.artist_musicbrainz_id is not None:
            return album.artist_musicbrainz_id
        return release.credit[0].artist_id

    def summary(self) -> dict[str, int]:
        return {
            "artists": len(self.artists), "release_groups": len(self.release_groups),
            "releases": len(self.releases), "recordings": len(self.recordings),
            "listeners": len(self.listeners), "library_albums": len(self.library),
            "lastfm_artists": len(self.lastfm_artists), "soulseek_users": len(self.soulseek_users),
            "shared_files": sum(len(u.files) for u in self.soulseek_users.values()),
        }

    def copy(self) -> "Catalogue":
        return copy.deepcopy(self)


def _release_date(raw: dict[str, Any]) -> str:
    """A release's date; ``released_days_ago`` counts from today (UTC), so a new release stays new."""
    if "released_days_ago" in raw:
        today = datetime.datetime.now(datetime.timezone.utc).date()
        return (today - datetime.timedelta(days=int(raw["released_days_ago"]))).isoformat()
    return raw.get("date", "")


@lru_cache(maxsize=1)
def _bundled_catalogue_text() -> str:
    return (resources.files("app.sandbox") / "data" / "catalogue.json").read_text(encoding="utf-8")
