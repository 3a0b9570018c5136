"""What library-discovery keeps between runs (library_sources.json).

``artists``: per library artist MBID, the release groups MusicBrainz listed
for it and when they were read (``asked_at``), so that an artist is asked
again only once its discography is older than ``library_discovery.refresh_days``.
``popularity``: ListenBrainz's listen count per release group, asked once.
"""

from __future__ import annotations

from app.repository.store import LIBRARY_SOURCES


class LibrarySourceRecords:
    def library_discographies(self) -> dict[str, dict]:
        """Artist MBID -> {"name", "asked_at", "groups": [...]} (or "unknown": MusicBrainz has no such artist)."""
        return self.store.read(LIBRARY_SOURCES).get("artists", {})

    def record_discographies(self, artists: dict[str, dict]) -> None:
        """Add or replace discographies, keyed by artist MBID."""
        if not artists:
            return
        with self.store.transaction(LIBRARY_SOURCES) as doc:
            known = doc.get("artists", {})
            known.update(artists)
            doc["artists"] = known

    def forget_discographies(self, keep: set[str]) -> None:
        """Drop the discographies of artists no longer in the library (``keep``: the MBIDs still there)."""
        if not set(self.library_discographies()) - keep:
            return
        with self.store.transaction(LIBRARY_SOURCES) as doc:
            doc["artists"] = {mbid: entry for mbid, entry in doc.get("artists", {}).items() if mbid in keep}

    def release_group_popularity(self) -> dict[str, dict]:
        """Release group MBID -> {"listens", "users", "asked_at"} (None counts: ListenBrainz has no data)."""
        return self.store.read(LIBRARY_SOURCES).get("popularity", {})

    def record_release_group_popularity(self, counts: dict[str, dict]) -> None:
        if not counts:
            return
        with self.store.transaction(LIBRARY_SOURCES) as doc:
            known = doc.get("popularity", {})
            known.update(counts)
            doc["popularity"] = known
