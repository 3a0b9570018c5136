"""The preview cache: audio previews fetched from Deezer, kept briefly under ``cache/previews/``.

Not a data file: nothing in it matters, every file can be fetched again.
Each preview is one file, written atomically (temp file, rename), so a reader
sees a whole preview or none. After each write the cache is trimmed to its
size bound, oldest first, under the ``previews`` lock; a file older than the
age bound counts as absent and goes at the next trim.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from pathlib import Path

from app.repository.store import Store, storage_errors

PREVIEW_DIR = Path("cache") / "previews"
_NAME = re.compile(r"^([0-9a-f-]{36}|wishlist-[0-9a-f]{20})-[0-9]{1,3}\.mp3$")


def preview_name(album: str, number: int) -> str:
    """``{mbid}-{n}.mp3`` (or ``wishlist-{key}-{n}.mp3``); raises ValueError for anything else."""
    name = f"{album.lower()}-{int(number)}.mp3"
    if not _NAME.match(name):
        raise ValueError(f"not a preview name: {name!r}")
    return name


class PreviewCache:
    """Bounded on-disk cache of preview MP3s in one data dir."""

    def __init__(self, store: Store):
        self.store = store
        self.folder = store.data_dir / PREVIEW_DIR

    def fresh(self, name: str, max_age: float) -> bytes | None:
        """The cached preview ``name`` if it is younger than ``max_age`` seconds, else None."""
        try:
            with open(self.folder / name, "rb") as handle:
                if time.time() - os.fstat(handle.fileno()).st_mtime >= max_age:
                    return None
                return handle.read()
        except OSError:  # not cached, or trimmed away just now
            return None

    def put(self, name: str, audio: bytes, *, max_bytes: int, max_age: float) -> Path:
        """Store ``audio`` as ``name`` and trim the cache to ``max_bytes``; the file's path."""
        path = self.folder / name
        with storage_errors(self.store.data_dir, path):
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    os.fchmod(handle.fileno(), 0o644)
                    handle.write(audio)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        self.trim(max_bytes=max_bytes, max_age=max_age, keep=name)
        return path

    def trim(self, *, max_bytes: int, max_age: float, keep: str | None = None) -> list[str]:
        """Remove expired previews, then the oldest until the rest fit in ``max_bytes``; their names.

        ``keep`` (the file just written) goes last, and only when it alone is over the bound.
        """
        removed: list[str] = []
        with self.store.lock("previews"):
            entries = []
            with contextlib.suppress(FileNotFoundError):
                for entry in os.scandir(self.folder):
                    if not _NAME.match(entry.name):
                        continue
                    with contextlib.suppress(FileNotFoundError):
                        stat = entry.stat()
                        entries.append((stat.st_mtime, entry.name, stat.st_size))
            now = time.time()
            # Oldest first; the file just written after every other.
            entries.sort(key=lambda e: (e[1] == keep, e[0]))
            total = sum(size for _, _, size in entries)
            for mtime, name, size in entries:
                if total <= max_bytes and now - mtime < max_age:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.folder / name)
                total -= size
                removed.append(name)
        return removed

    def size(self) -> int:
        """Bytes of previews on disk now."""
        with contextlib.suppress(FileNotFoundError):
            return sum(entry.stat().st_size for entry in os.scandir(self.folder) if _NAME.match(entry.name))
        return 0


class PreviewRecords:
    """The Repository's part for previews: the cache, and which album an MBID names."""

    store: Store

    @property
    def preview_cache(self) -> PreviewCache:
        cache = self.__dict__.get("_preview_cache")
        if cache is None:
            cache = self.__dict__["_preview_cache"] = PreviewCache(self.store)
        return cache

    def album_of(self, mbid: str) -> dict | None:
        """The pending item, or failing that the newest history record, for ``mbid``; None if neither."""
        item = self.find_pending(mbid)  # type: ignore[attr-defined]
        if item is not None:
            return item
        for line in self.history.lines():  # type: ignore[attr-defined]  (newest first)
            if line["item"].get("mbid") == mbid and line["item"].get("artist"):
                return line["item"]
        return None
