"""The data dir's machinery: files, codecs, locks, atomic writes, quarantine, cache.

Every file is changed by a read-modify-write transaction under an exclusive
lock (portalocker, one lock file per data file), and replaced atomically:
temp file in the same folder, fsync, rename, fsync of the folder. Readers
never lock: a rename is atomic, so they always see a whole file.

A file that cannot be parsed, or whose content is not the shape
``shapes.py`` says, is never overwritten or reset: it is moved aside as
``NAME.corrupt-TIMESTAMP``, logged as an error, and the app carries on as if
the file were absent (settings.json keeps the settings that could be read).
``Repository.quarantined_files()`` lists them so the web UI can warn.

Parsed JSON is cached per process, keyed by the file's inode, mtime and size
(every write is a new inode), so a page load of a large queue costs a stat,
not a parse. Cached objects are shared: callers must treat what ``read``
returns as read-only and change data only inside ``transaction``.
"""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson
import portalocker

from app.gcpause import gc_paused
from app.repository import shapes
from app.wishlist import WishlistLine, format_wishlist, parse_wishlist

log = logging.getLogger("resonance.repository")

DATA_DIR_ENV = "RESONANCE_DATA_DIR"
DEFAULT_DATA_DIR = "./data"
LOCK_DIR = ".locks"


class CorruptFileError(Exception):
    """Raised by a codec for content it cannot accept.

    ``salvaged``: the part of the content that is sound, when the codec can
    tell (settings.json); the store writes it back in place of the original.
    """

    def __init__(self, reason: str, salvaged: Any = None):
        super().__init__(reason)
        self.salvaged = salvaged


class AlreadyLocked(Exception):
    """A non-blocking lock is held by another process or thread."""


# --- codecs -----------------------------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """A file in the data dir: its name, how to parse and write it, its empty value."""

    filename: str
    default: Callable[[], Any]
    decode: Callable[[bytes], Any]
    encode: Callable[[Any], bytes]


def _json_decoder(shape: shapes.Shape, fill: Callable[[Any], Any] | None = None):
    def decode(raw: bytes):
        try:
            with gc_paused():
                value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise CorruptFileError(f"not valid JSON: {exc}") from None
        try:
            shapes.check(shape, value)
        except shapes.ShapeError as exc:
            raise CorruptFileError(f"wrong shape: {exc}") from None
        return fill(value) if fill else value

    return decode


def _json_encode(value: Any) -> bytes:
    # Indented so a person can read and hand-fix a file; orjson keeps that cheap.
    return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"


def _fill_queue(doc: dict) -> dict:
    for key in ("pending", "approved", "rejected"):
        doc.setdefault(key, [])
    doc.setdefault("rejected_info", {})
    return doc


def _empty_queue() -> dict:
    return {"pending": [], "approved": [], "rejected": [], "rejected_info": {}}


def _decode_settings(raw: bytes) -> dict:
    """settings.json: its sections, then every key checked by its setting's own field.

    Keys that are wrong (or unknown to this version) do not cost the others:
    the error carries the rest as ``salvaged``, which the store writes back
    after moving the whole original aside (sign-in and the session key live here).
    """
    saved = _json_decoder(shapes.SETTINGS)(raw)
    # Imported here: the rest of the repository has no use for the settings table.
    from marshmallow import ValidationError

    from app.config import SETTINGS_BY_NAME

    kept: dict[str, dict] = {}
    dropped: list[str] = []
    for section, values in saved.items():
        if not isinstance(values, dict):
            dropped.append(f"{section}: expected an object of settings, found {shapes.describe(values)}")
            continue
        for key, value in values.items():
            setting = SETTINGS_BY_NAME.get(f"{section}.{key}")
            if setting is None:
                dropped.append(f"{section}.{key}: not a setting of this version")
                continue
            try:
                setting.field.deserialize(value)
            except ValidationError as exc:
                shown = "" if setting.secret else f" (found {value!r})"
                dropped.append(f"{section}.{key}: {_messages(exc)}{shown}")
                continue
            kept.setdefault(section, {})[key] = value
    if dropped:
        raise CorruptFileError("settings left out: " + "; ".join(dropped), salvaged=kept)
    return saved


def _messages(error) -> str:
    messages = error.messages if isinstance(error.messages, list) else [error.messages]
    return " ".join(map(str, messages))


def _decode_text(raw: bytes) -> list[WishlistLine]:
    try:
        return parse_wishlist(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"not UTF-8 text: {exc}") from None


def _json_file(filename: str, shape: shapes.Shape, default: Callable[[], Any], fill=None) -> DataFile:
    return DataFile(filename, default, _json_decoder(shape, fill), _json_encode)


PENDING_QUEUE = _json_file("pending_queue.json", shapes.PENDING_QUEUE, _empty_queue, _fill_queue)
WISHLIST = DataFile("wishlist.txt", list, _decode_text, lambda lines: format_wishlist(lines).encode("utf-8"))
PROCESSED = _json_file("processed.json", shapes.LIST_OF_TEXT, list)
DOWNLOADED = _json_file("downloaded.json", shapes.LIST_OF_TEXT, list)
CATALOG_ARTISTS = _json_file("catalog_artists.json", shapes.CATALOG_ARTISTS, dict)
CATALOG_DISCOVERED = _json_file("catalog_discovered.json", shapes.CATALOG_DISCOVERED, list)
BLOCKED_ARTISTS = _json_file("blocked_artists.json", shapes.LIST_OF_TEXT, list)
JOB_STATUS = _json_file("job_status.json", shapes.JOB_STATUS, dict)
RUN_REQUESTS = _json_file("run_requests.json", shapes.RUN_REQUESTS, dict)
SETTINGS = DataFile("settings.json", dict, _decode_settings, _json_encode)
DOWNLOAD_HISTORY = _json_file("download_history.json", shapes.DOWNLOAD_HISTORY, dict)
QUEUE_UNDO = _json_file("queue_undo.json", shapes.QUEUE_UNDO, dict)


def job_log_file(job: str) -> DataFile:
    return _json_file(f"job_log.{job}.json", shapes.JOB_LOG, list)


# --- the store: locking, atomic replace, quarantine, cache -------------------


def _version(stat: os.stat_result) -> tuple[int, int, int]:
    """What tells one version of a file from the next: a rename changes the inode."""
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class Store:
    """Locked, atomic, quarantining access to the files of one data dir."""

    def __init__(self, data_dir: str | os.PathLike):
        self.data_dir = Path(data_dir).absolute()
        self._cache: dict[str, tuple[tuple[int, int, int], Any]] = {}
        self._ready = False
        #: What this Store moved aside, "NAME (reason)", oldest first: a job run reports its share.
        self.moved_aside: list[str] = []

    def path(self, file: DataFile) -> Path:
        return self.data_dir / file.filename

    def ensure_dir(self) -> None:
        if not self._ready:
            (self.data_dir / LOCK_DIR).mkdir(parents=True, exist_ok=True)
            self._ready = True

    @contextlib.contextmanager
    def lock(self, name: str, blocking: bool = True) -> Iterator[None]:
        """Exclusive lock shared by every process and thread using this data dir.

        flock locks belong to an open file description, so two threads of one
        process exclude each other too, and a killed process releases its locks.
        """
        self.ensure_dir()
        flags = portalocker.LockFlags.EXCLUSIVE
        if not blocking:
            flags |= portalocker.LockFlags.NON_BLOCKING
        with open(self.data_dir / LOCK_DIR / f"{name}.lock", "a") as handle:
            try:
                portalocker.lock(handle, flags)
            except portalocker.exceptions.LockException:
                raise AlreadyLocked(name) from None
            try:
                yield
            finally:
                portalocker.unlock(handle)

    def read(self, file: DataFile) -> Any:
        """The file's current content (shared and read-only), or its default when absent."""
        path = self.path(file)
        try:
            raw, key = self._read_bytes(path)
        except FileNotFoundError:
            return file.default()
        cached = self._cache.get(file.filename)
        if cached and cached[0] == key:
            return cached[1]
        try:
            value = file.decode(raw)
        except CorruptFileError:
            # Re-check under the lock: the file may have been replaced meanwhile.
            with self.lock(file.filename):
                return self._load_locked(file)
        self._cache[file.filename] = (key, value)
        return value

    def refresh(self, file: DataFile) -> bool:
        """Parse the file now if it changed since it was cached: True when it was parsed.

        For a long-lived reader (a web worker) to take the cost of a file another
        process rewrote off its next request. One stat when nothing changed.
        """
        try:
            stat = self.path(file).stat()
        except FileNotFoundError:
            return False
        cached = self._cache.get(file.filename)
        if cached and cached[0] == _version(stat):
            return False
        self.read(file)
        return True

    @contextlib.contextmanager
    def transaction(self, file: DataFile) -> Iterator[Any]:
        """Yield the content to change; write it back atomically if the block succeeds.

        The containers yielded are copies, but records inside them (the queue's
        item dicts) are shared with the cache: replace a record, don't edit it
        in place. If the block fails, the cache entry is dropped anyway.
        """
        with self.lock(file.filename):
            self._remove_stale_temp_files(file)
            value = _copy_containers(self._load_locked(file))
            try:
                yield value
            except BaseException:
                self._cache.pop(file.filename, None)
                raise
            self._write_locked(file, value)

    def _load_locked(self, file: DataFile) -> Any:
        path = self.path(file)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return file.default()
        cached = self._cache.get(file.filename)
        if cached and cached[0] == _version(stat):
            return cached[1]  # nobody can replace the file while we hold its lock
        try:
            raw, key = self._read_bytes(path)
        except FileNotFoundError:
            return file.default()
        try:
            value = file.decode(raw)
        except CorruptFileError as exc:
            moved = self._quarantine(path, str(exc))
            if exc.salvaged is None:
                return file.default()
            try:
                self._write_locked(file, exc.salvaged)
            except BaseException:
                os.replace(moved, path)  # the original back in place: the next read tries again
                raise
            log.warning("%s written again with the parts that could be read", path)
            return exc.salvaged
        self._cache[file.filename] = (key, value)
        return value

    def _write_locked(self, file: DataFile, value: Any) -> None:
        self.ensure_dir()
        data = file.encode(value)
        path = self.path(file)
        fd, tmp = tempfile.mkstemp(prefix=f".{file.filename}.", suffix=".tmp", dir=self.data_dir)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o644)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._fsync_dir()
        stat = path.stat()
        self._cache[file.filename] = (_version(stat), value)

    def _fsync_dir(self) -> None:
        fd = os.open(self.data_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def _read_bytes(path: Path) -> tuple[bytes, tuple[int, int, int]]:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            key = _version(stat)
            return handle.read(), key

    def _remove_stale_temp_files(self, file: DataFile) -> None:
        # Writers hold the lock while a temp file exists; under the lock any
        # leftover belongs to a writer that died mid-write.
        if not self.data_dir.is_dir():
            return
        for leftover in self.data_dir.glob(f".{file.filename}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()

    def _quarantine(self, path: Path, reason: str) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        os.replace(path, target)
        self._fsync_dir()
        self._cache.pop(path.name, None)
        self.moved_aside.append(f"{path.name} moved aside as {target.name} ({reason})")
        log.error("%s could not be read (%s); moved aside to %s", path, reason, target)
        return target

    def quarantined_files(self) -> list[Path]:
        if not self.data_dir.is_dir():
            return []
        return sorted(self.data_dir.glob("*.corrupt-*"))


def _copy_containers(value: Any) -> Any:
    """Copy a document two levels deep: its top container and the lists/dicts in it."""
    if isinstance(value, dict):
        return {k: v.copy() if isinstance(v, (list, dict)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [v.copy() if isinstance(v, (list, dict)) else v for v in value]
    return value

