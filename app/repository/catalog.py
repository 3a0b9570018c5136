"""The library snapshot and what catalog-discovery asked and found."""

from __future__ import annotations

from app.matching import artist_key
from app.repository.store import CATALOG_ARTISTS, CATALOG_DISCOVERED


class CatalogRecords:
    def library_snapshot(self) -> dict:
        return self.store.read(CATALOG_ARTISTS)

    # catalog ------------------------------------------------------------------

    def save_library_snapshot(self, snapshot: dict) -> None:
        """Replace the library in catalog_artists.json, keeping the Last.fm answers
        (``similar``) of the artists still in it."""
        keys = {artist_key(artist.get("name") or "") for artist in snapshot.get("artists", [])}
        with self.store.transaction(CATALOG_ARTISTS) as doc:
            answers = doc.get("similar", {})
            doc.clear()
            doc.update(snapshot)
            doc["similar"] = {key: answer for key, answer in answers.items() if key in keys}

    def add_library_album(self, *, artist: str, artist_mbid: str | None, album: str, release_mbid: str,
                          release_group_mbid: str) -> None:
        """An album just imported joins the library snapshot at once, so discovery never suggests it again
        (the next full snapshot from the Subsonic server replaces this entry with the server's own)."""
        with self.store.transaction(CATALOG_ARTISTS) as doc:
            albums = doc.setdefault("albums", [])
            if any(a.get("mbid") == release_mbid or a.get("release_group_mbid") == release_group_mbid
                   for a in albums):
                return
            albums.append({"artist": artist, "name": album, "mbid": release_mbid,
                           "release_group_mbid": release_group_mbid})
            artists = doc.setdefault("artists", [])
            if not any(artist_key(a.get("name") or "") == artist_key(artist) for a in artists):
                artists.append({"name": artist, "mbid": artist_mbid})

    def similar_answers(self) -> dict[str, dict]:
        """Last.fm's similar artists per library artist (by artist_key), as catalog-discovery saved them."""
        return self.library_snapshot().get("similar", {})

    def record_similar_answers(self, answers: dict[str, dict]) -> None:
        """Add or replace Last.fm answers, keyed by the library artist's artist_key."""
        if not answers:
            return
        with self.store.transaction(CATALOG_ARTISTS) as doc:
            similar = doc.get("similar", {})
            similar.update(answers)
            doc["similar"] = similar

    def catalog_discovered(self) -> list:
        """Artists catalog-discovery has turned into suggestions (objects; plain strings from older files)."""
        return self.store.read(CATALOG_DISCOVERED)

    def mark_catalog_discovered(self, artists: list[dict]) -> None:
        """Record artists as discovered: one entry per MBID, or per name when there is none."""
        if not artists:
            return
        with self.store.transaction(CATALOG_DISCOVERED) as entries:
            known = {self._discovered_id(entry) for entry in entries}
            for artist in artists:
                identity = self._discovered_id(artist)
                if identity not in known:
                    known.add(identity)
                    entries.append(artist)

    @staticmethod
    def _discovered_id(entry: dict | str) -> str:
        if isinstance(entry, str):
            return entry.lower()
        return (entry.get("mbid") or "").lower() or artist_key(entry.get("name") or "")

