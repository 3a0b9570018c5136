"""What the household already owns: the snapshot of the Subsonic library.

One shared check keeps an owned album out of the queue and the wishlist,
used by lb-fetch, catalog-discovery and manual wishlist additions. An album
matches by MusicBrainz id (release group, or the release id Navidrome keeps)
or by normalised artist + title (see app.matching).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.matching import artist_key, title_keys


@dataclass
class Library:
    taken_at: str | None = None
    artist_keys: set[str] = field(default_factory=set)
    artist_mbids: set[str] = field(default_factory=set)
    album_mbids: set[str] = field(default_factory=set)
    album_keys: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def from_snapshot(cls, snapshot: dict) -> "Library":
        """Build from catalog_artists.json: {"taken_at", "artists": [{name, mbid}], "albums": [{artist, name, mbid}]}."""
        library = cls(taken_at=snapshot.get("taken_at"))
        for artist in snapshot.get("artists", []):
            library.artist_keys.add(artist_key(artist["name"]))
            if artist.get("mbid"):
                library.artist_mbids.add(artist["mbid"])
        for album in snapshot.get("albums", []):
            for mbid_field in ("mbid", "release_group_mbid"):
                if album.get(mbid_field):
                    library.album_mbids.add(album[mbid_field])
            key = artist_key(album.get("artist") or "")
            library.album_keys.update((key, title) for title in title_keys(album["name"]))
        return library

    def __bool__(self) -> bool:
        return bool(self.artist_keys or self.album_keys)

    def has_artist(self, name: str, mbid: str | None = None) -> bool:
        return bool(mbid and mbid in self.artist_mbids) or artist_key(name) in self.artist_keys

    def has_album(self, artist: str, title: str, mbid: str | None = None) -> bool:
        if mbid and mbid in self.album_mbids:
            return True
        key = artist_key(artist)
        return any((key, title) in self.album_keys for title in title_keys(title))


def load_library(repository) -> Library:
    return Library.from_snapshot(repository.library_snapshot())
