"""The only code that reads or writes the data dir.

Every file is changed by a read-modify-write transaction under an exclusive
lock (portalocker, one lock file per data file), and replaced atomically:
temp file in the same folder, fsync, rename, fsync of the folder. Readers
never lock: a rename is atomic, so they always see a whole file.

A file that cannot be parsed is never overwritten or reset: it is moved aside
as ``NAME.corrupt-TIMESTAMP``, logged as an error, and the app carries on as
if the file were absent. ``Repository.quarantined_files()`` lists them so the
web UI can warn.

Parsed JSON is cached per process, keyed by the file's inode, mtime and size
(every write is a new inode), so a page load of a large queue costs a stat,
not a parse. Cached objects are shared: callers must treat what ``read``
returns as read-only and change data only inside ``transaction``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson
import portalocker

from app.matching import artist_key
from app.records import utc_now_iso
from app.wishlist import ALBUM, WishlistEntry, WishlistLine, format_wishlist, normalise_name, parse_wishlist

log = logging.getLogger("resonance.repository")

DATA_DIR_ENV = "RESONANCE_DATA_DIR"
DEFAULT_DATA_DIR = "./data"
LOCK_DIR = ".locks"


class CorruptFileError(Exception):
    """Raised by a codec for content it cannot accept."""


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


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    # Parsing a large file creates many dicts at once; the cyclic GC would
    # scan them again and again for no gain (no cycles in parsed JSON).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _json_decoder(expected_type: type, fill: Callable[[Any], Any] | None = None):
    def decode(raw: bytes):
        try:
            with _gc_paused():
                value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise CorruptFileError(f"not valid JSON: {exc}") from None
        if not isinstance(value, expected_type):
            raise CorruptFileError(f"expected a JSON {expected_type.__name__}, found {type(value).__name__}")
        return fill(value) if fill else value

    return decode


def _json_encode(value: Any) -> bytes:
    # Indented so a person can read and hand-fix a file; orjson keeps that cheap.
    return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"


def _fill_queue(doc: dict) -> dict:
    for key in ("pending", "approved", "rejected"):
        if not isinstance(doc.setdefault(key, []), list):
            raise CorruptFileError(f"'{key}' must be a list")
    if not isinstance(doc.setdefault("rejected_info", {}), dict):
        raise CorruptFileError("'rejected_info' must be an object")
    return doc


def _empty_queue() -> dict:
    return {"pending": [], "approved": [], "rejected": [], "rejected_info": {}}


def _decode_text(raw: bytes) -> list[WishlistLine]:
    try:
        return parse_wishlist(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"not UTF-8 text: {exc}") from None


def _json_file(filename: str, kind: type, fill=None, default=None) -> DataFile:
    return DataFile(filename, default or kind, _json_decoder(kind, fill), _json_encode)


PENDING_QUEUE = _json_file("pending_queue.json", dict, _fill_queue, _empty_queue)
WISHLIST = DataFile("wishlist.txt", list, _decode_text, lambda lines: format_wishlist(lines).encode("utf-8"))
PROCESSED = _json_file("processed.json", list)
DOWNLOADED = _json_file("downloaded.json", list)
CATALOG_ARTISTS = _json_file("catalog_artists.json", dict)
CATALOG_DISCOVERED = _json_file("catalog_discovered.json", list)
BLOCKED_ARTISTS = _json_file("blocked_artists.json", list)
JOB_STATUS = _json_file("job_status.json", dict)
RUN_REQUESTS = _json_file("run_requests.json", dict)
SETTINGS = _json_file("settings.json", dict)
DOWNLOAD_HISTORY = _json_file("download_history.json", dict)


def job_log_file(job: str) -> DataFile:
    return _json_file(f"job_log.{job}.json", list)


# --- the store: locking, atomic replace, quarantine, cache -------------------


class Store:
    """Locked, atomic, quarantining access to the files of one data dir."""

    def __init__(self, data_dir: str | os.PathLike):
        self.data_dir = Path(data_dir).absolute()
        self._cache: dict[str, tuple[tuple[int, int, int], Any]] = {}
        self._ready = False

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
        if cached and cached[0] == (stat.st_ino, stat.st_mtime_ns, stat.st_size):
            return cached[1]  # nobody can replace the file while we hold its lock
        try:
            raw, key = self._read_bytes(path)
        except FileNotFoundError:
            return file.default()
        try:
            value = file.decode(raw)
        except CorruptFileError as exc:
            self._quarantine(path, str(exc))
            return file.default()
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
        self._cache[file.filename] = ((stat.st_ino, stat.st_mtime_ns, stat.st_size), value)

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
            key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
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
        log.error("%s could not be read (%s); moved aside to %s", path, reason, target)
        return target

    def quarantined_files(self) -> list[Path]:
        if not self.data_dir.is_dir():
            return []
        return sorted(self.data_dir.glob("*.corrupt-*"))


# --- the repository: what the app does with those files ----------------------


def data_dir_from_env() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


_SORT_KEYS: dict[str, Callable[[dict], Any]] = {
    "date": lambda item: item.get("added_at") or "",
    "score": lambda item: item.get("score") or 0,
    "artist": lambda item: ((item.get("artist") or "").casefold(), (item.get("album") or "").casefold()),
    "year": lambda item: item.get("year") or 0,
}
SORTS = tuple(_SORT_KEYS)


class Repository:
    """Domain operations on the data dir, each one transaction (or a fixed order of them)."""

    def __init__(self, data_dir: str | os.PathLike | None = None):
        self.store = Store(data_dir if data_dir is not None else data_dir_from_env())

    @property
    def data_dir(self) -> Path:
        return self.store.data_dir

    def quarantined_files(self) -> list[Path]:
        return self.store.quarantined_files()

    # queue ----------------------------------------------------------------

    def queue(self) -> dict:
        return self.store.read(PENDING_QUEUE)

    def seen_mbids(self) -> set[str]:
        """Every album id a discovery source must not suggest again."""
        queue = self.queue()
        seen = {item["mbid"] for item in queue["pending"]}
        seen.update(item["mbid"] for item in queue["approved"] if isinstance(item, dict))
        seen.update(entry for entry in queue["approved"] if isinstance(entry, str))
        seen.update(queue["rejected"])
        seen.update(self.store.read(PROCESSED))
        return seen

    def add_pending(self, items: list[dict]) -> list[dict]:
        """Append validated items whose mbid is not pending, approved or rejected yet."""
        with self.store.transaction(PENDING_QUEUE) as queue:
            known = {item["mbid"] for item in queue["pending"]}
            known.update(_approved_mbid(entry) for entry in queue["approved"])
            known.update(queue["rejected"])
            added = []
            for item in items:
                if item["mbid"] not in known:
                    known.add(item["mbid"])
                    queue["pending"].append(item)
                    added.append(item)
        return added

    def pending_page(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        sort: str = "date",
        descending: bool = True,
        source: str | None = None,
        text: str | None = None,
    ) -> tuple[list[dict], int]:
        """One page of pending items after filtering and sorting, and the filtered total."""
        items = self.queue()["pending"]
        if source:
            items = [item for item in items if item.get("source") == source]
        if text:
            needle = text.casefold()
            items = [
                item
                for item in items
                if needle in item.get("artist", "").casefold() or needle in item.get("album", "").casefold()
            ]
        ordered = sorted(items, key=_SORT_KEYS[sort], reverse=descending)
        return ordered[offset : offset + limit], len(ordered)

    def approve(self, mbids: list[str]) -> list[dict]:
        """Move pending items to approved and put them on the wishlist.

        The wishlist is written inside the queue transaction (lock order:
        pending_queue, then wishlist). If the queue write then fails, the item
        stays pending and already wished for; approving it again is harmless.
        """
        wanted = set(mbids)
        now = utc_now_iso()
        with self.store.transaction(PENDING_QUEUE) as queue:
            moved, kept = _split_by_mbid(queue["pending"], wanted)
            self.add_to_wishlist([_wishlist_entry_for(item) for item in moved])
            queue["pending"] = kept
            queue["approved"].extend({**item, "approved_at": now} for item in moved)
        return moved

    def reject(self, mbids: list[str]) -> list[dict]:
        """Move pending items to rejected; their mbids are never suggested again."""
        wanted = set(mbids)
        now = utc_now_iso()
        with self.store.transaction(PENDING_QUEUE) as queue:
            moved, kept = _split_by_mbid(queue["pending"], wanted)
            queue["pending"] = kept
            rejected = set(queue["rejected"])
            for item in moved:
                if item["mbid"] not in rejected:
                    queue["rejected"].append(item["mbid"])
                queue["rejected_info"][item["mbid"]] = {**item, "rejected_at": now}
        return moved

    def find_pending(self, mbid: str) -> dict | None:
        return next((item for item in self.queue()["pending"] if item["mbid"] == mbid), None)

    def pending_count(self) -> int:
        return len(self.queue()["pending"])

    def pending_sources(self) -> list[str]:
        """The sources present in the pending queue (for the queue page's filter)."""
        return sorted({item.get("source") or "manual" for item in self.queue()["pending"]})

    def matching_pending(self, *, source: str | None = None, text: str | None = None) -> list[dict]:
        """Every pending item a queue filter matches."""
        everything = len(self.queue()["pending"])
        return self.pending_page(limit=everything, source=source, text=text)[0]

    def approve_matching(self, *, source: str | None = None, text: str | None = None) -> list[dict]:
        """Approve every pending item the filter matches now ("approve all" on the queue page)."""
        return self.approve([item["mbid"] for item in self.matching_pending(source=source, text=text)])

    def reject_matching(self, *, source: str | None = None, text: str | None = None) -> list[dict]:
        return self.reject([item["mbid"] for item in self.matching_pending(source=source, text=text)])

    def remove_pending(self, mbids: list[str]) -> list[dict]:
        """Drop pending items without rejecting them: a source may suggest them again."""
        wanted = set(mbids)
        with self.store.transaction(PENDING_QUEUE) as queue:
            removed, queue["pending"] = _split_by_mbid(queue["pending"], wanted)
        return removed

    def undo_approve(self, mbids: list[str], keep_wishlist: bool = False) -> list[dict]:
        """Put approved items back in the pending queue and take their wishlist entries off.

        An entry stays on the wishlist while another approved item still wants
        it, or with ``keep_wishlist`` (it was there before the approval). Lock
        order as in ``approve``: pending_queue, then wishlist.
        """
        wanted = set(mbids)
        with self.store.transaction(PENDING_QUEUE) as queue:
            back, kept = [], []
            for entry in queue["approved"]:
                (back if isinstance(entry, dict) and entry["mbid"] in wanted else kept).append(entry)
            pending = {item["mbid"] for item in queue["pending"]}
            restored = [_without(item, "approved_at") for item in back if item["mbid"] not in pending]
            still_wanted = {_wishlist_entry_for(entry).key for entry in kept if isinstance(entry, dict)}
            unwanted = [e for e in map(_wishlist_entry_for, back) if e.key not in still_wanted]
            if unwanted and not keep_wishlist:
                self.remove_from_wishlist(unwanted)
            queue["approved"] = kept
            queue["pending"].extend(restored)
        return restored

    def unreject(self, mbids: list[str]) -> list[dict]:
        """Take MBIDs off the rejected list (undo of a reject, or "un-reject" from the history).

        Items whose details were kept go back to the pending queue and are
        returned; a bare MBID from an older file is only forgotten.
        """
        wanted = list(dict.fromkeys(mbids))
        with self.store.transaction(PENDING_QUEUE) as queue:
            drop = set(wanted)
            queue["rejected"] = [mbid for mbid in queue["rejected"] if mbid not in drop]
            pending = {item["mbid"] for item in queue["pending"]}
            restored = []
            for mbid in wanted:
                info = queue["rejected_info"].pop(mbid, None)
                if isinstance(info, dict) and mbid not in pending:
                    item = _without(info, "rejected_at")
                    queue["pending"].append(item)
                    restored.append(item)
        return restored

    def approved_page(self, *, offset: int = 0, limit: int = 50, text: str | None = None) -> tuple[list[dict], int]:
        """Approved items, newest first, and their total (older files may hold bare MBIDs)."""
        items = [entry if isinstance(entry, dict) else {"mbid": entry} for entry in reversed(self.queue()["approved"])]
        return _page(_with_text(items, text), offset, limit)

    def rejected_page(self, *, offset: int = 0, limit: int = 50, text: str | None = None) -> tuple[list[dict], int]:
        """Rejected items, newest first, with their details where they were kept."""
        queue = self.queue()
        info = queue["rejected_info"]
        items = [info.get(mbid) or {"mbid": mbid} for mbid in reversed(queue["rejected"])]
        return _page(_with_text(items, text), offset, limit)

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

    # jobs ---------------------------------------------------------------------

    def job_statuses(self) -> dict[str, dict]:
        return self.store.read(JOB_STATUS)

    def update_job_status(self, job: str, **changes: Any) -> dict:
        with self.store.transaction(JOB_STATUS) as statuses:
            status = {**statuses.get(job, {}), **changes}
            statuses[job] = status
        return status

    def request_run(self, job: str) -> None:
        with self.store.transaction(RUN_REQUESTS) as requests:
            requests.setdefault(job, utc_now_iso())

    def take_run_request(self, job: str) -> str | None:
        """The time a run was asked for, clearing the request; None when nobody asked."""
        if job not in self.store.read(RUN_REQUESTS):
            return None  # cheap check first: runners poll this every few seconds
        with self.store.transaction(RUN_REQUESTS) as requests:
            return requests.pop(job, None)

    def run_requests(self) -> dict[str, str]:
        return self.store.read(RUN_REQUESTS)

    @contextlib.contextmanager
    def job_lock(self, job: str) -> Iterator[None]:
        """At most one run of a job at a time across all processes; raises AlreadyLocked."""
        with self.store.lock(f"job-{job}", blocking=False):
            yield

    def job_running(self, job: str) -> bool:
        """Whether a run of the job holds its lock right now.

        The lock is probed only while the status says "running": a probe holds
        the lock for an instant, and a runner starting in that instant would
        skip its run. A status left at "running" by a killed runner reads False.
        """
        if self.job_statuses().get(job, {}).get("state") != "running":
            return False
        try:
            with self.store.lock(f"job-{job}", blocking=False):
                return False
        except AlreadyLocked:
            return True

    def job_log(self, job: str) -> list[dict]:
        return self.store.read(job_log_file(job))

    def append_job_log(self, job: str, events: list[dict], keep: int) -> None:
        with self.store.transaction(job_log_file(job)) as lines:
            lines.extend(events)
            del lines[: max(0, len(lines) - keep)]

    # library and block list ----------------------------------------------------

    def library_snapshot(self) -> dict:
        return self.store.read(CATALOG_ARTISTS)

    def blocked_artists(self) -> list[str]:
        return self.store.read(BLOCKED_ARTISTS)

    def block_artist(self, name: str) -> list[dict]:
        """Put an artist on the block list and reject their pending albums, in one step.

        Names compare as the pipelines compare them (app.matching.artist_key).
        Lock order: pending_queue, then blocked_artists. Returns the rejected items.
        """
        name = normalise_name(name)
        if not name:
            raise ValueError("artist is empty")
        key = artist_key(name)
        with self.store.transaction(PENDING_QUEUE) as queue:
            moved, kept = [], []
            for item in queue["pending"]:
                (moved if artist_key(item.get("artist") or "") == key else kept).append(item)
            with self.store.transaction(BLOCKED_ARTISTS) as blocked:
                if key not in {artist_key(other) for other in blocked}:
                    blocked.append(name)
            queue["pending"] = kept
            _record_rejected(queue, moved, utc_now_iso())
        return moved

    def unblock_artist(self, name: str) -> bool:
        """Take an artist off the block list; False when they were not on it."""
        key = artist_key(name)
        with self.store.transaction(BLOCKED_ARTISTS) as blocked:
            before = len(blocked)
            blocked[:] = [other for other in blocked if artist_key(other) != key]
            return len(blocked) != before

    # catalog ------------------------------------------------------------------

    def save_library_snapshot(self, snapshot: dict) -> None:
        """Replace the library in catalog_artists.json, keeping the Last.fm answers
        (``similar``) of the artists still in it."""
        keys = {artist_key(artist.get("name") or "") for artist in snapshot.get("artists", [])}
        with self.store.transaction(CATALOG_ARTISTS) as doc:
            answers = doc.get("similar") if isinstance(doc.get("similar"), dict) else {}
            doc.clear()
            doc.update(snapshot)
            doc["similar"] = {key: answer for key, answer in answers.items() if key in keys}

    def similar_answers(self) -> dict[str, dict]:
        """Last.fm's similar artists per library artist (by artist_key), as catalog-discovery saved them."""
        answers = self.library_snapshot().get("similar")
        return answers if isinstance(answers, dict) else {}

    def record_similar_answers(self, answers: dict[str, dict]) -> None:
        """Add or replace Last.fm answers, keyed by the library artist's artist_key."""
        if not answers:
            return
        with self.store.transaction(CATALOG_ARTISTS) as doc:
            similar = doc.get("similar") if isinstance(doc.get("similar"), dict) else {}
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

    # settings saved from the web UI -------------------------------------------

    def saved_settings(self) -> dict:
        return self.store.read(SETTINGS)

    def save_settings(self, changes: dict[str, dict]) -> dict:
        """Merge section -> {key: value} into the saved settings; None removes a key."""
        with self.store.transaction(SETTINGS) as saved:
            for section, values in changes.items():
                target = saved.setdefault(section, {})
                for key, value in values.items():
                    if value is None:
                        target.pop(key, None)
                    else:
                        target[key] = value
                if not target:
                    saved.pop(section)
        return saved

    def saved_setting_once(self, section: str, key: str, make: Callable[[], Any]) -> Any:
        """The saved setting, first saved as ``make()`` if absent (a generated secret key
        must be the same in every worker process)."""
        value = self.saved_settings().get(section, {}).get(key)
        if value:
            return value
        with self.store.transaction(SETTINGS) as saved:
            values = saved.setdefault(section, {})
            if not values.get(key):
                values[key] = make()
            return values[key]

    def download_history(self) -> dict:
        return self.store.read(DOWNLOAD_HISTORY)

    # downloads ------------------------------------------------------------------
    # download_history.json: one record per wishlist entry (keyed by its text,
    # "Artist - Album"), the uploaders' record with us, and recent search starts.
    # docs/data-files.md describes every field. Records are replaced, never
    # edited in place: the cached document shares them.

    def download_records(self, states: list[str] | tuple[str, ...] | None = None) -> list[dict]:
        """Records (each with its ``key``), most recently updated first; removed ones left out."""
        entries = self.download_history().get("entries") or {}
        wanted = set(states) if states else None
        records = [
            {**record, "key": key}
            for key, record in entries.items()
            if isinstance(record, dict) and record.get("state") != "removed"
            and (wanted is None or record.get("state") in wanted)
        ]
        records.sort(key=lambda record: record.get("updated_at") or "", reverse=True)
        return records

    def downloads_to_follow(self) -> bool:
        """Whether any download needs its transfers followed (cheap: no request, a cached read)."""
        entries = self.download_history().get("entries") or {}
        return any(isinstance(record, dict) and needs_following(record) for record in entries.values())

    def download_record(self, key: str) -> dict | None:
        record = (self.download_history().get("entries") or {}).get(key)
        return {**record, "key": key} if isinstance(record, dict) else None

    def download_counts(self) -> dict[str, int]:
        """Records per state (every state present, zero included)."""
        counts = dict.fromkeys(DOWNLOAD_STATES, 0)
        for record in (self.download_history().get("entries") or {}).values():
            state = record.get("state") if isinstance(record, dict) else None
            if state in counts:
                counts[state] += 1
        return counts

    def download_users(self) -> dict[str, dict]:
        """Uploaders' record with us: failures, successes, recent_failures, last reason."""
        users = self.download_history().get("users")
        return users if isinstance(users, dict) else {}

    def search_starts(self) -> list[float]:
        """Epoch seconds of the recent Soulseek search starts (the governor's shared window)."""
        meta = self.download_history().get("meta") or {}
        return list(meta.get("search_starts") or [])

    def update_download_record(
        self,
        key: str,
        change: Callable[[dict], Any],
        *,
        entry: WishlistEntry | None = None,
        now: str | None = None,
    ) -> dict | None:
        """Apply ``change(record)`` to a private copy of the record and save it, in one transaction.

        A missing record is created from ``entry`` first (without ``entry`` the
        change is skipped). ``change`` returning False leaves the file as it
        was. Returns the record as saved (with ``key``), or None.
        """
        now = now or utc_now_iso()
        try:
            with self.store.transaction(DOWNLOAD_HISTORY) as history:
                entries = history.setdefault("entries", {})
                current = entries.get(key)
                if not isinstance(current, dict):
                    if entry is None:
                        raise _Unchanged(None)
                    record = new_download_record(entry, now)
                else:
                    record = _deep_copy(current)
                if change(record) is False:
                    raise _Unchanged({**current, "key": key} if isinstance(current, dict) else None)
                _trim_download_record(record)
                record["updated_at"] = now
                entries[key] = record
        except _Unchanged as unchanged:
            return unchanged.record
        return {**record, "key": key}

    def note_download_user(self, user: str, *, ok: bool, reason: str | None = None, now: str | None = None) -> dict:
        """Count a completed (``ok``) or failed download from ``user``."""
        now = now or utc_now_iso()
        with self.store.transaction(DOWNLOAD_HISTORY) as history:
            users = history.setdefault("users", {})
            record = dict(users.get(user) or {})
            if ok:
                record["successes"] = int(record.get("successes") or 0) + 1
                record["recent_failures"] = 0
                record["last_success_at"] = now
            else:
                record["failures"] = int(record.get("failures") or 0) + 1
                record["recent_failures"] = int(record.get("recent_failures") or 0) + 1
                record["last_failure_at"] = now
                record["last_reason"] = reason
            users[user] = record
        return record

    def reserve_search_slot(self, now: float, per_window: int, window: float) -> float:
        """Record a search start at ``now`` (epoch seconds) and return 0, or return the seconds to wait.

        The window is shared by every process using this data dir, and survives restarts.
        """
        def wait_for(starts: list[float]) -> float:
            return max(0.01, starts[len(starts) - per_window] + window - now) if len(starts) >= per_window else 0.0

        def recent(values: Any) -> list[float]:
            return sorted(t for t in values or [] if isinstance(t, (int, float)) and t > now - window)

        wait = wait_for(recent(self.search_starts()))
        if wait:
            return wait  # a full window is seen without taking the lock or writing
        with self.store.transaction(DOWNLOAD_HISTORY) as history:
            meta = history.setdefault("meta", {})
            starts = recent(meta.get("search_starts"))
            wait = wait_for(starts)
            meta["search_starts"] = starts if wait else [*starts, now]
            return wait

    def retry_download(self, key: str, now: str | None = None) -> dict | None:
        """"Retry" on the Downloads page.

        Failed, no_result or waiting entries are searched again at the next run
        with a fresh attempt budget; an active download gives up its current
        folder and moves on to the next candidate (``failover_requested``).
        A completed entry is left alone. Returns the record, None if unknown.
        """
        now = now or utc_now_iso()

        def change(record: dict) -> Any:
            state = record.get("state")
            if state in ("completed", "removed"):
                return False
            if state in ACTIVE_DOWNLOAD_STATES:
                record["failover_requested"] = True
                add_download_event(record, "retry asked: the current folder is given up for the next candidate", now)
                return None
            record["attempt_count"] = 0
            record["next_retry_at"] = None
            set_download_state(record, "wanted", now, "retry asked: searched again at the next run")
            return None

        return self.update_download_record(key, change, now=now)

    def search_download_again(
        self, key: str, query: str, *, entry: WishlistEntry | None = None, now: str | None = None
    ) -> dict | None:
        """"Search again" with an edited query: cancels an active download, forgets the
        candidates and searches ``query`` (instead of the built queries) at the next run."""
        query = normalise_name(query)
        if not query:
            raise ValueError("the query is empty")
        now = now or utc_now_iso()

        def change(record: dict) -> None:
            cancel_current_download(record, now, "replaced by a new search")
            record.update(query=query, fallbacks=[], attempt_count=0, next_retry_at=None, failover_requested=False)
            set_download_state(record, "wanted", now, f'search again asked with the query "{query}"')

        return self.update_download_record(key, change, entry=entry, now=now)

    def remove_download(self, key: str, *, keep_wishlist: bool = False, now: str | None = None) -> bool:
        """"Remove" on the Downloads page; False when there is no such record.

        A completed entry only leaves the history. Otherwise its transfers are
        cancelled in slskd at the next transfer check (the record waits as
        "removed" until then) and, unless ``keep_wishlist``, the entry leaves
        the wishlist and downloaded.json so it is not searched again. Files are
        taken off in this order (wishlist, downloaded, history) so a crash
        half-way leaves the record to remove again.
        """
        now = now or utc_now_iso()
        record = self.download_record(key)
        if record is None:
            return False
        if record.get("state") != "completed" and not keep_wishlist:
            self.remove_from_wishlist([e for e in self.wishlist_entries() if e.text.casefold() == key.casefold()])
            self.unmark_downloaded([key])
        with self.store.transaction(DOWNLOAD_HISTORY) as history:
            entries = history.setdefault("entries", {})
            current = entries.get(key)
            if not isinstance(current, dict):
                return False
            changed = _deep_copy(current)
            cancel_current_download(changed, now, "removed")
            if changed.get("cancel"):
                set_download_state(changed, "removed", now, "removed; its transfers are cancelled at the next check")
                changed["updated_at"] = now
                entries[key] = changed
            else:
                del entries[key]
        return True

    def forget_download(self, key: str) -> None:
        """Drop a record (a removed one once its transfers are cancelled)."""
        with self.store.transaction(DOWNLOAD_HISTORY) as history:
            history.setdefault("entries", {}).pop(key, None)

    def unmark_downloaded(self, ids: list[str]) -> None:
        """Take entries off downloaded.json (compared case-insensitively)."""
        drop = {value.casefold() for value in ids}
        if not drop or not any(isinstance(v, str) and v.casefold() in drop for v in self.downloaded()):
            return
        with self.store.transaction(DOWNLOADED) as known:
            known[:] = [value for value in known if not (isinstance(value, str) and value.casefold() in drop)]


def _copy_containers(value: Any) -> Any:
    """Copy a document two levels deep: its top container and the lists/dicts in it."""
    if isinstance(value, dict):
        return {k: v.copy() if isinstance(v, (list, dict)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [v.copy() if isinstance(v, (list, dict)) else v for v in value]
    return value


def _approved_mbid(entry: dict | str) -> str:
    return entry["mbid"] if isinstance(entry, dict) else entry


def _wishlist_entry_for(item: dict) -> WishlistEntry:
    kind = ALBUM if item.get("type", "album") == "album" else "track"
    return WishlistEntry.create(item["artist"], item["album"], kind)


def _split_by_mbid(items: list[dict], wanted: set[str]) -> tuple[list[dict], list[dict]]:
    chosen, rest = [], []
    for item in items:
        (chosen if item["mbid"] in wanted else rest).append(item)
    return chosen, rest


def _without(item: dict, key: str) -> dict:
    return {k: v for k, v in item.items() if k != key}


def _record_rejected(queue: dict, items: list[dict], now: str) -> None:
    rejected = set(queue["rejected"])
    for item in items:
        if item["mbid"] not in rejected:
            rejected.add(item["mbid"])
            queue["rejected"].append(item["mbid"])
        queue["rejected_info"][item["mbid"]] = {**item, "rejected_at": now}


def _with_text(items: list[dict], text: str | None) -> list[dict]:
    if not text:
        return items
    needle = text.casefold()
    return [item for item in items
            if needle in (item.get("artist") or "").casefold() or needle in (item.get("album") or "").casefold()]


def _page(items: list[dict], offset: int, limit: int) -> tuple[list[dict], int]:
    return items[offset : offset + limit], len(items)


# --- download history records (see Repository "downloads") -------------------

DOWNLOAD_STATES = ("wanted", "searching", "queued", "downloading", "completed", "failed", "no_result")
ACTIVE_DOWNLOAD_STATES = ("queued", "downloading")
#: How the Downloads page can group the states (``download_records(DOWNLOAD_GROUPS["active"])``).
DOWNLOAD_GROUPS = {
    "active": ("searching", "queued", "downloading"),
    "waiting": ("wanted", "no_result"),
    "completed": ("completed",),
    "failed": ("failed",),
}
DOWNLOAD_EVENTS_KEPT = 60
DOWNLOAD_ATTEMPTS_KEPT = 10
DOWNLOADS_KEPT = 10


class _Unchanged(Exception):
    def __init__(self, record: dict | None):
        self.record = record


def needs_following(record: dict) -> bool:
    """A download whose transfers slskd must be asked about: active, or waiting to be cancelled."""
    return (record.get("state") in ACTIVE_DOWNLOAD_STATES or record.get("state") == "removed"
            or bool(record.get("cancel")) or bool(record.get("failover_requested")))


def _deep_copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def new_download_record(entry: WishlistEntry, now: str) -> dict:
    return {
        "artist": entry.artist, "title": entry.title, "kind": entry.kind,
        "state": "wanted", "state_since": now, "created_at": now, "updated_at": now,
        "query": None, "attempt_count": 0, "next_retry_at": None, "reason": None,
        "album": None, "attempts": [], "fallbacks": [], "downloads": [], "cancel": [], "events": [],
    }


def add_download_event(record: dict, text: str, now: str) -> None:
    record.setdefault("events", []).append({"time": now, "text": text})


def set_download_state(record: dict, state: str, now: str, text: str | None = None) -> None:
    if record.get("state") != state:
        record["state"] = state
        record["state_since"] = now
    if text:
        add_download_event(record, f"{state}: {text}", now)


def cancel_current_download(record: dict, now: str, reason: str) -> None:
    """Mark the active download cancelled; its unfinished transfers go to ``record["cancel"]``."""
    downloads = record.get("downloads") or []
    if not downloads or downloads[-1].get("state") not in ACTIVE_DOWNLOAD_STATES:
        return
    current = downloads[-1]
    cancel = record.setdefault("cancel", [])
    for file in current.get("files") or []:
        if not str(file.get("state") or "").startswith("Completed"):
            cancel.append({"user": current.get("user"), "filename": file.get("filename"), "id": file.get("id")})
    current.update(state="cancelled", ended_at=now, reason=reason)
    add_download_event(record, f"cancelled the download from {current.get('user')}: {reason}", now)


def _trim_download_record(record: dict) -> None:
    """Keep a record small (the file is rewritten at every step): bounded lists; full detail
    (every candidate's reasons, every file's state) only for the latest attempt and downloads."""
    for name, keep in (("events", DOWNLOAD_EVENTS_KEPT), ("attempts", DOWNLOAD_ATTEMPTS_KEPT),
                       ("downloads", DOWNLOADS_KEPT)):
        items = record.get(name)
        if isinstance(items, list) and len(items) > keep:
            del items[: len(items) - keep]
    for attempt in (record.get("attempts") or [])[:-1]:
        if attempt.get("candidates") and "reasons" in attempt["candidates"][0]:
            attempt["candidates"] = [
                {k: v for k, v in candidate.items() if k not in ("reasons", "factors")}
                for candidate in attempt["candidates"][:5]
            ]
    for download in (record.get("downloads") or [])[:-2]:
        download.pop("files", None)


_default_lock = threading.Lock()
_default_repository: Repository | None = None


def default_repository() -> Repository:
    """The repository for RESONANCE_DATA_DIR, shared within a process."""
    global _default_repository
    with _default_lock:
        if _default_repository is None or _default_repository.data_dir != data_dir_from_env().absolute():
            _default_repository = Repository()
        return _default_repository
