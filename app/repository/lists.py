"""The wishlist and the simple id lists (processed.json, downloaded.json)."""

from __future__ import annotations

from app.repository.store import DOWNLOADED, PROCESSED, WISHLIST, DataFile
from app.wishlist import WishlistEntry, WishlistLine


class ListRecords:
    # wishlist ---------------------------------------------------------------

    def wishlist(self) -> list[WishlistLine]:
        return self.store.read(WISHLIST)

    def wishlist_entries(self) -> list[WishlistEntry]:
        return [line.entry for line in self.wishlist() if line.entry]

    def malformed_wishlist_lines(self) -> list[tuple[int, WishlistLine]]:
        return [(n, line) for n, line in enumerate(self.wishlist(), 1) if line.error]

    def add_to_wishlist(self, entries: list[WishlistEntry]) -> list[WishlistEntry]:
        """Append entries not already on the wishlist (compared case- and space-insensitively)."""
        if not entries:
            return []
        with self.store.transaction(WISHLIST) as lines:
            present = {line.entry.key for line in lines if line.entry}
            added = []
            for entry in entries:
                if entry.key not in present:
                    present.add(entry.key)
                    lines.append(WishlistLine.for_entry(entry))
                    added.append(entry)
        return added

    def remove_from_wishlist(self, entries: list[WishlistEntry]) -> int:
        keys = {entry.key for entry in entries}
        with self.store.transaction(WISHLIST) as lines:
            before = len(lines)
            lines[:] = [line for line in lines if not (line.entry and line.entry.key in keys)]
            return before - len(lines)

    # simple id lists ----------------------------------------------------------

    def processed(self) -> list[str]:
        return self.store.read(PROCESSED)

    def mark_processed(self, ids: list[str]) -> None:
        self._append_ids(PROCESSED, ids)

    def downloaded(self) -> list[str]:
        return self.store.read(DOWNLOADED)

    def mark_downloaded(self, ids: list[str]) -> None:
        self._append_ids(DOWNLOADED, ids)

    def _append_ids(self, file: DataFile, ids: list[str]) -> None:
        if not ids:
            return
        with self.store.transaction(file) as known_ids:
            present = set(known_ids)
            for value in ids:
                if value not in present:
                    present.add(value)
                    known_ids.append(value)

