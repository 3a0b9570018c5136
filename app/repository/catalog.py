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

