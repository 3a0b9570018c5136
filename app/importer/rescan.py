"""Tell the Subsonic server (Navidrome) to rescan, wait for it, and find the album there.

``startScan`` then ``getScanStatus`` every few seconds until it reports not
scanning, bounded by ``library.scan_timeout``; then ``search3`` for the album,
accepted by its release MBID (Navidrome keeps the release id as the album's
``musicBrainzId``) or by its name and artist. The link is Navidrome's own web
page for the album.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from app.clients.subsonic import LibraryAlbum, SubsonicClient
from app.matching import artist_key, title_keys

POLL_SECONDS = 2.0


@dataclass(frozen=True)
class RescanResult:
    album: LibraryAlbum | None
    note: str


def navidrome_link(base_url: str, album_id: str) -> str:
    return f"{base_url.rstrip('/')}/app/#/album/{album_id}"


def rescan_and_find(client: SubsonicClient, *, release_mbid: str, album: str, artist: str, timeout: float,
                    sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                    poll: float = POLL_SECONDS) -> RescanResult:
    started = clock()
    status = client.start_scan()
    while status.scanning:
        if clock() - started > timeout:
            return RescanResult(None, f"the server's scan did not finish within {timeout:.0f} s")
        sleep(poll)
        status = client.scan_status()
    found = find_album(client, release_mbid=release_mbid, album=album, artist=artist)
    if found is None:
        return RescanResult(None, "the server finished its scan but does not show the album")
    return RescanResult(found, "visible on the Subsonic server")


def find_album(client: SubsonicClient, *, release_mbid: str, album: str, artist: str) -> LibraryAlbum | None:
    result = client.search3(album, artist_count=0, album_count=50, song_count=0)
    for candidate in result.albums:
        if candidate.musicbrainz_id and candidate.musicbrainz_id == release_mbid:
            return candidate
    wanted_titles = set(title_keys(album))
    for candidate in result.albums:
        if artist_key(candidate.artist or "") == artist_key(artist) and wanted_titles & set(title_keys(candidate.name)):
            return candidate
    return None
