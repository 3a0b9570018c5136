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

Transactions nest: one opened inside another joins it, and the files they
change are written together when the outermost one ends, all or nothing.
Every new file is first written to its temp file and fsynced; only when all of
them are on disk are they renamed over the old ones. A full disk, a read-only
or foreign-owned folder or a failing device stops the write while temp files
are written, before any file is replaced, so nothing changes. Every such
``OSError`` becomes one ``StorageError`` that names the data folder and the
cause in plain words.

A JSON file is written in pieces of about 64 KB (``_json_pieces``, the same bytes
as one ``orjson.dumps``): a file of many MB never becomes one buffer of its size,
which glibc would keep in the heap once freed.

Parsed JSON is cached per process, keyed by the file's inode, mtime and size
(every write is a new inode), checked with a stat before any byte is read: a
page load of a large queue costs a stat, not a read and a parse. Cached objects are shared: callers must treat what ``read``
returns as read-only and change data only inside ``transaction``.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson
import portalocker

from app.gcpause import gc_paused
from app.paths import RUN_REQUESTS_FILE
from app.repository import shapes
from app.wishlist import WishlistLine, format_wishlist, parse_wishlist

log = logging.getLogger("resonance.repository")

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


#: What each storage errno means, in words a person can act on.
_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "it is mounted read-only",
    errno.EACCES: "its owner or permissions do not let Resonance write there",
    errno.EPERM: "its owner or permissions do not let Resonance write there",
    errno.EIO: "the disk reported an input/output error",
    errno.ENOENT: "the folder is missing",
    errno.EMFILE: "too many files are open",
    errno.ENFILE: "too many files are open",
}


class StorageError(Exception):
    """The data dir refused a write, a lock or a move: disk full, read-only, permission denied...

    ``folder`` is the data dir, ``path`` the file being written, ``cause`` the
    reason in plain words. The operation that met it changed no data file.
    """

    def __init__(self, folder: Path, path: Path | None, error: OSError):
        self.folder, self.path, self.errno = folder, path or folder, error.errno
        self.cause = _CAUSES.get(error.errno, "the system refused the write")
        self.detail = error.strerror or str(error)
        super().__init__(f"Cannot write to the data folder {folder}: {self.reason}")
        self.left_changed: list[str] = []  # files a failed commit could not put back (see Store._commit)

    @property
    def reason(self) -> str:
        """The cause in words, then the system's own: "the disk is full (No space left on device)"."""
        return f"{self.cause} ({self.detail})"


@contextlib.contextmanager
def storage_errors(folder: Path, path: Path | None = None) -> Iterator[None]:
    """Raise an OSError met in the block as a StorageError about ``folder`` (and ``path``)."""
    try:
        yield
    except OSError as exc:
        raise StorageError(folder, path, exc) from exc


# --- codecs -----------------------------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """A file in the data dir: its name, how to parse and write it, its empty value.

    ``encode_pieces``, when given, yields the same bytes as ``encode`` in pieces of a
    few tens of KB: a large file is written without ever holding it whole in memory.
    """

    filename: str
    default: Callable[[], Any]
    decode: Callable[[bytes], Any]
    encode: Callable[[Any], bytes]
    encode_pieces: Callable[[Any], Iterable[bytes]] | None = None
    #: For a large file: ``decode`` without the shape check, for a version known to be sound (see
    #: ``Store._known_sound``); the check of a 10,000-item queue is a quarter of a fresh process's first read.
    decode_known_sound: Callable[[bytes], Any] | None = None

    def pieces(self, value: Any) -> Iterable[bytes]:
        """The file's bytes for ``value``, as the pieces to write one after the other."""
        return self.encode_pieces(value) if self.encode_pieces else (self.encode(value),)


def _json_decoder(shape: shapes.Shape, fill: Callable[[Any], Any] | None = None, check: bool = True):
    def decode(raw: bytes):
        try:
            with gc_paused():
                value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise CorruptFileError(f"not valid JSON: {exc}") from None
        if check:
            try:
                shapes.check(shape, value)
            except shapes.ShapeError as exc:
                raise CorruptFileError(f"wrong shape: {exc}") from None
        return fill(value) if fill else value

    return decode


def _json_encode(value: Any) -> bytes:
    # Indented so a person can read and hand-fix a file; orjson keeps that cheap.
    return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"


#: About how many bytes each piece of ``_json_pieces`` holds: well under glibc's mmap
#: threshold, so writing a large file leaves no large buffer behind in the heap.
PIECE_BYTES = 64 * 1024


def _json_pieces(value: Any) -> Iterator[bytes]:
    """``_json_encode(value)``, byte for byte, in pieces of about ``PIECE_BYTES``.

    One ``orjson.dumps`` of a 10,000-item queue makes a buffer as large as the file
    (and the newline appended, a second one); glibc keeps such buffers in the heap
    once freed, so a web worker that writes the queue at every approve grows by tens
    of MB. Here the top container and the lists and objects in it are written by
    hand, their members encoded a batch at a time and indented to their depth.
    """
    pending: list[bytes] = []
    size = 0
    for part in _indented(value, 0):
        pending.append(part)
        size += len(part)
        if size >= PIECE_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    pending.append(b"\n")
    yield b"".join(pending)


def _indented(value: Any, depth: int) -> Iterator[bytes]:
    """The parts of ``value`` encoded as OPT_INDENT_2 would at ``depth``.

    A document of a few keys (the queue: pending, approved, rejected...) is opened by
    hand and each of its values encoded at depth 1; any other list or object is encoded
    a batch of members at a time.
    """
    if not isinstance(value, (dict, list)) or not value or depth > 1:
        encoded = orjson.dumps(value, option=orjson.OPT_INDENT_2)
        yield encoded.replace(b"\n", b"\n" + b"  " * depth) if depth else encoded
        return
    opening, closing = (b"{", b"}") if isinstance(value, dict) else (b"[", b"]")
    yield opening + b"\n"
    if depth == 0 and isinstance(value, dict) and len(value) <= 16:
        for n, (key, member) in enumerate(value.items()):
            yield b"  " + orjson.dumps(key) + b": "
            yield from _indented(member, 1)
            yield b",\n" if n < len(value) - 1 else b"\n"
    else:
        yield from _batched_members(value, depth)
    yield b"  " * depth + closing


def _batched_members(value: dict | list, depth: int, batch: int = 100) -> Iterator[bytes]:
    """The members of a non-empty list or object at ``depth`` (0 or 1), a batch per orjson call.

    A batch wrapped in ``depth`` lists and encoded on its own is, without the wrapping's
    first and last lines, exactly those members' lines in the whole document.
    """
    keys = list(value) if isinstance(value, dict) else None
    count = len(value)
    cut = 2 + 4 * depth  # "[\n" + "  [\n" at the start, "\n  ]" + "\n]" at the end
    for start in range(0, count, batch):
        chunk = value[start:start + batch] if keys is None else {k: value[k] for k in keys[start:start + batch]}
        yield orjson.dumps([chunk] if depth else chunk, option=orjson.OPT_INDENT_2)[cut:-cut]
        yield b",\n" if start + batch < count else b"\n"


def _fill_queue(doc: dict) -> dict:
    for key in ("pending", "approved", "rejected"):
        doc.setdefault(key, [])
    return doc


def _empty_queue() -> dict:
    return {"pending": [], "approved": [], "rejected": []}


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
    from app.fields import validation_messages

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
                dropped.append(f"{section}.{key}: {' '.join(validation_messages(exc))}{shown}")
                continue
            kept.setdefault(section, {})[key] = value
    if dropped:
        raise CorruptFileError("settings left out: " + "; ".join(dropped), salvaged=kept)
    return saved


def _decode_text(raw: bytes) -> list[WishlistLine]:
    try:
        return parse_wishlist(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"not UTF-8 text: {exc}") from None


def _json_file(filename: str, shape: shapes.Shape, default: Callable[[], Any], fill=None, large=False) -> DataFile:
    return DataFile(filename, default, _json_decoder(shape, fill), _json_encode, _json_pieces,
                    _json_decoder(shape, fill, check=False) if large else None)


PENDING_QUEUE = _json_file("pending_queue.json", shapes.PENDING_QUEUE, _empty_queue, _fill_queue, large=True)
WISHLIST = DataFile("wishlist.txt", list, _decode_text, lambda lines: format_wishlist(lines).encode("utf-8"))
PROCESSED = _json_file("processed.json", shapes.LIST_OF_TEXT, list)
DOWNLOADED = _json_file("downloaded.json", shapes.LIST_OF_TEXT, list)
CATALOG_ARTISTS = _json_file("catalog_artists.json", shapes.CATALOG_ARTISTS, dict)
CATALOG_DISCOVERED = _json_file("catalog_discovered.json", shapes.CATALOG_DISCOVERED, list)
LIBRARY_SOURCES = _json_file("library_sources.json", shapes.LIBRARY_SOURCES, dict)
BLOCKED_ARTISTS = _json_file("blocked_artists.json", shapes.LIST_OF_TEXT, list)
JOB_STATUS = _json_file("job_status.json", shapes.JOB_STATUS, dict)
RUN_REQUESTS = _json_file(RUN_REQUESTS_FILE, shapes.RUN_REQUESTS, dict)
SETTINGS = DataFile("settings.json", dict, _decode_settings, _json_encode, _json_pieces)
DOWNLOAD_HISTORY = _json_file("download_history.json", shapes.DOWNLOAD_HISTORY, dict, large=True)
QUEUE_UNDO = _json_file("queue_undo.json", shapes.QUEUE_UNDO, dict)
NOTIFICATIONS = _json_file("notifications.json", shapes.NOTIFICATIONS, dict)
LB_FEEDBACK = _json_file("lb_feedback.json", shapes.LB_FEEDBACK, list)
BLOCK_OFFERS_DISMISSED = _json_file("block_offers_dismissed.json", shapes.LIST_OF_TEXT, list)


def job_log_file(job: str) -> DataFile:
    return _json_file(f"job_log.{job}.json", shapes.JOB_LOG, list)


# --- the store: locking, atomic replace, quarantine, cache -------------------


def _marker_text(key: tuple[int, int, int]) -> str:
    return " ".join(map(str, key)) + "\n"


def _version(stat: os.stat_result) -> tuple[int, int, int]:
    """What tells one version of a file from the next: a rename changes the inode."""
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class Store:
    """Locked, atomic, quarantining access to the files of one data dir."""

    def __init__(self, data_dir: str | os.PathLike):
        self.data_dir = Path(data_dir).absolute()
        self._cache: dict[str, tuple[tuple[int, int, int], Any]] = {}
        self._derived: dict[str, tuple[Any, dict]] = {}  # filename -> (content, {name: value}): see derived()
        self._ready = False
        self._local = threading.local()  # the outermost transaction of each thread
        #: What this Store moved aside, "NAME (reason)", oldest first: a job run reports its share.
        self.moved_aside: list[str] = []

    def path(self, file: DataFile) -> Path:
        return self.data_dir / file.filename

    def ensure_dir(self) -> None:
        if not self._ready:
            with storage_errors(self.data_dir, self.data_dir / LOCK_DIR):
                (self.data_dir / LOCK_DIR).mkdir(parents=True, exist_ok=True)
            self._ready = True

    @contextlib.contextmanager
    def lock(self, name: str, blocking: bool = True) -> Iterator[None]:
        """Exclusive lock shared by every process and thread using this data dir.

        flock locks belong to an open file description, so two threads of one
        process exclude each other too, and a killed process releases its locks.
        """
        self.ensure_dir()
        lock_path = self.data_dir / LOCK_DIR / f"{name}.lock"
        with storage_errors(self.data_dir, lock_path):
            handle = open(lock_path, "a")
        flags = portalocker.LockFlags.EXCLUSIVE
        if not blocking:
            flags |= portalocker.LockFlags.NON_BLOCKING
        with handle:
            try:
                portalocker.lock(handle, flags)
            except portalocker.exceptions.LockException as exc:
                cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else None
                # Contention is EAGAIN (or EACCES); older portalocker raises it as a plain LockException.
                if isinstance(exc, portalocker.exceptions.AlreadyLocked) or cause is None or cause.errno in (
                        errno.EAGAIN, errno.EACCES):
                    raise AlreadyLocked(name) from None
                raise StorageError(self.data_dir, lock_path, cause) from exc  # the system refused the lock
            try:
                yield
            finally:
                portalocker.unlock(handle)

    def write_problem(self) -> StorageError | None:
        """Whether a file can be written in the data dir now, tested for real: None when it can.

        A few bytes written to a new file, removed at once, and the free space:
        a read-only mount, a missing permission and a full disk all show. No
        fsync: it must stay cheap for /health, and the file never reaches the disk.
        """
        try:
            with storage_errors(self.data_dir):
                self.data_dir.mkdir(parents=True, exist_ok=True)
                fd, probe = tempfile.mkstemp(prefix=".write-probe.", suffix=".tmp", dir=self.data_dir)
                try:
                    os.write(fd, b"ok\n")
                finally:
                    os.close(fd)
                    os.unlink(probe)
                space = os.statvfs(self.data_dir)
                if space.f_blocks and not space.f_bavail:  # some network filesystems report no sizes at all
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except StorageError as exc:
            return exc
        return None

    def read(self, file: DataFile) -> Any:
        """The file's current content (shared and read-only), or its default when absent."""
        path = self.path(file)
        cached = self._cache.get(file.filename)
        if cached:
            # A stat, not a read, tells whether the cached parse is still good:
            # every write is a rename (a new inode), so an unchanged version means unchanged bytes.
            try:
                if _version(os.stat(path)) == cached[0]:
                    return cached[1]
            except FileNotFoundError:
                return file.default()
        try:
            raw, key = self._read_bytes(path)
        except FileNotFoundError:
            return file.default()
        if cached and cached[0] == key:
            return cached[1]
        try:
            value = self._decode(file, raw, key)
        except CorruptFileError:
            # Re-check under the lock: the file may have been replaced meanwhile.
            with self.lock(file.filename):
                return self._load_locked(file)
        self._cache[file.filename] = (key, value)
        return value

    def derived(self, file: DataFile, name: Any, compute: Callable[[Any], Any]) -> Any:
        """``compute(content)`` of the file's current content, kept until the file changes.

        For what a page works out from a large file every time (the queue's sort
        orders, its sources): keyed by the cached parse itself, which a new
        version of the file replaces. Shared and read-only, like ``read``'s.
        """
        content = self.read(file)
        kept = self._derived.get(file.filename)
        if kept is None or kept[0] is not content:
            kept = self._derived[file.filename] = (content, {})  # lets go of the older version's
        if name not in kept[1]:
            kept[1][name] = compute(content)
        return kept[1][name]

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

    def refresh_when_idle(self, file: DataFile) -> bool:
        """``refresh``, unless a transaction on the file is under way: False then.

        For the keep-warm thread. A writer in this process caches what it writes
        when it ends: parsing its file in between would make a second copy of the
        whole content, freed a moment later (the allocator keeps the memory). A
        writer in another process is seen at the next look.
        """
        try:
            with self.lock(file.filename, blocking=False):
                return self.refresh(file)
        except AlreadyLocked:
            return False
        except StorageError:  # no lock to be had (a read-only data dir): nobody writes there
            return self.refresh(file)

    @contextlib.contextmanager
    def transaction(self, file: DataFile, *, alone: bool = False, write: bool = True) -> Iterator[Any]:
        """Yield the content to change; write it back atomically if the block succeeds.

        The containers yielded are copies, but records inside them (the queue's
        item dicts) are shared with the cache: replace a record, don't edit it
        in place. If the block fails, the cache entry is dropped anyway.

        A transaction opened inside another (in this thread) joins it: its lock
        is held, and its change kept, until the outermost one ends; then every
        changed file is written together (``_commit``), or none is. A nested
        block that fails only drops its own change. With ``alone`` it is written
        on its own at once, whatever encloses it (a job's log lines). With
        ``write=False`` the file is locked and read, but not written: its
        change is made by a step given to ``after_renames`` (an append).
        """
        enclosing = getattr(self._local, "group", None)
        outer = None if alone else enclosing
        group = outer or _Group()
        if file.filename in group.open:
            raise RuntimeError(f"a transaction on {file.filename} is already open in this thread")
        self._local.group = group
        try:
            if file.filename not in group.locked:
                group.locks.enter_context(self.lock(file.filename))
                group.locked.add(file.filename)
                self._remove_stale_temp_files(file)
                group.existed[file.filename] = self.path(file).exists()
            staged = group.changes.get(file.filename)
            loaded = staged[1] if staged else self._load_locked(file)
            group.before.setdefault(file.filename, loaded)
            value = _copy_containers(loaded) if write else loaded
            group.open.add(file.filename)
            try:
                yield value
            except BaseException:
                if write:
                    self._cache.pop(file.filename, None)
                raise
            finally:
                group.open.discard(file.filename)
            if write:
                group.changes[file.filename] = (file, value)
            if outer is None:
                self._commit(group)
        except BaseException:
            if outer is None:
                for name in group.changes:
                    self._cache.pop(name, None)
                group.after.clear()
                for undo in reversed(group.if_not_committed):
                    undo()
            raise
        finally:
            if outer is None:
                self._local.group = enclosing
                group.locks.close()

    def after_renames(self, step: Callable[[], None]) -> None:
        """Have the transaction under way in this thread run ``step`` once its files are renamed into place.

        For a change made by appending to a file (a decision's line in
        history/): ``step`` is what commits the whole transaction. If it fails
        with a StorageError the renamed files are put back, as when a rename fails;
        it must leave its own file as it was then.
        """
        self._group_under_way().after.append(step)

    def if_not_committed(self, undo: Callable[[], None]) -> None:
        """Have ``undo`` run if the transaction under way in this thread ends without committing
        (what a step made before the commit, e.g. lines appended that no mark names yet)."""
        self._group_under_way().if_not_committed.append(undo)

    def _group_under_way(self) -> _Group:
        group = getattr(self._local, "group", None)
        if group is None:
            raise RuntimeError("no transaction under way in this thread")
        return group

    def _commit(self, group: _Group) -> None:
        """Write every changed file of a transaction: all temp files first, then the renames, then
        the steps given to ``after_renames``.

        A storage error while the temp files are written (where a full disk, a
        read-only folder or a missing permission shows) removes them and
        changes nothing. A rename or a step that fails (a failing device, a full
        disk) puts back the files already renamed; if even that fails, the error
        says which files are left changed.
        """
        self.ensure_dir()
        prepared: list[tuple[DataFile, Any, str]] = []
        try:
            for file, value in group.changes.values():
                prepared.append((file, value, self._write_temp(file, file.pieces(value))))
        except BaseException:
            self._remove_temps([tmp for _, _, tmp in prepared])
            raise
        replaced: list[DataFile] = []
        for file, value, tmp in prepared:
            try:
                with storage_errors(self.data_dir, self.path(file)):
                    os.replace(tmp, self.path(file))
            except StorageError as exc:
                self._remove_temps([tmp for _, _, tmp in prepared[len(replaced):]])
                self._put_back(replaced, group, exc)
                raise
            replaced.append(file)
        steps, group.after = group.after, []
        for step in steps:
            try:
                step()
            except StorageError as exc:
                self._put_back(replaced, group, exc)
                raise
        if prepared:
            self._fsync_dir()
        for file, value, _ in prepared:
            with storage_errors(self.data_dir, self.path(file)):
                stat = self.path(file).stat()
            self._cache[file.filename] = (_version(stat), value)
            self._note_sound(file, _version(stat))  # written from content that was read checked, or made here

    def _write_one(self, file: DataFile, value: Any) -> None:
        """Replace one file at once, outside any transaction's commit (a repaired settings.json)."""
        tmp = self._write_temp(file, file.pieces(value))
        try:
            with storage_errors(self.data_dir, self.path(file)):
                os.replace(tmp, self.path(file))
        except StorageError:
            self._remove_temps([tmp])
            raise
        self._fsync_dir()
        with storage_errors(self.data_dir, self.path(file)):
            self._cache[file.filename] = (_version(self.path(file).stat()), value)

    def _write_temp(self, file: DataFile, pieces: Iterable[bytes] | bytes) -> str:
        """``pieces`` (or one ``bytes``), one after the other, in a new temp file beside ``file``, fsynced; its path."""
        if isinstance(pieces, (bytes, bytearray)):
            pieces = (pieces,)
        with storage_errors(self.data_dir, self.path(file)):
            fd, tmp = tempfile.mkstemp(prefix=f".{file.filename}.", suffix=".tmp", dir=self.data_dir)
            try:
                with os.fdopen(fd, "wb") as handle:
                    os.fchmod(handle.fileno(), 0o644)
                    for piece in pieces:
                        handle.write(piece)
                    handle.flush()
                    os.fsync(handle.fileno())
            except BaseException:
                self._remove_temps([tmp])
                raise
        return tmp

    @staticmethod
    def _remove_temps(temps: list[str]) -> None:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _put_back(self, replaced: list[DataFile], group: _Group, error: StorageError) -> None:
        """Undo the renames of a commit that failed half-way: each file gets its content from before."""
        left_changed = []
        for file in replaced:
            path = self.path(file)
            self._cache.pop(file.filename, None)
            try:
                if group.existed[file.filename]:
                    tmp = self._write_temp(file, file.pieces(group.before[file.filename]))
                    try:
                        os.replace(tmp, path)
                    except OSError:
                        self._remove_temps([tmp])
                        raise
                else:
                    os.unlink(path)
            except (OSError, StorageError):
                left_changed.append(file.filename)
        if left_changed:
            log.error("%s; these files were written and could not be put back: %s", error, ", ".join(left_changed))
            error.left_changed = left_changed

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
            value = self._decode(file, raw, key)
        except CorruptFileError as exc:
            moved = self._quarantine(path, str(exc))
            if exc.salvaged is None:
                return file.default()
            try:
                self._write_one(file, exc.salvaged)
            except BaseException:
                os.replace(moved, path)  # the original back in place: the next read tries again
                raise
            log.warning("%s written again with the parts that could be read", path)
            return exc.salvaged
        self._cache[file.filename] = (key, value)
        return value

    def _decode(self, file: DataFile, raw: bytes, key: tuple[int, int, int]) -> Any:
        """The file's content; the shape check is skipped for a version known to be sound."""
        if file.decode_known_sound and self._known_sound(file, key):
            return file.decode_known_sound(raw)
        value = file.decode(raw)
        self._note_sound(file, key)
        return value

    # A large file's version known to be sound (written by Resonance, or read and checked), noted in
    # .locks/NAME.sound: another process's first read of it need not check it again. A hand edit, a
    # restore or any other write makes a new version (inode, mtime, size) and is checked. A cache:
    # written without fsync, and anything unreadable there only means "check it".

    def _sound_marker(self, file: DataFile) -> Path:
        return self.data_dir / LOCK_DIR / f"{file.filename}.sound"

    def _known_sound(self, file: DataFile, key: tuple[int, int, int]) -> bool:
        try:
            return self._sound_marker(file).read_text(encoding="ascii") == _marker_text(key)
        except (OSError, UnicodeDecodeError):
            return False

    def _note_sound(self, file: DataFile, key: tuple[int, int, int]) -> None:
        if file.decode_known_sound is None:
            return
        marker = self._sound_marker(file)
        with contextlib.suppress(OSError):  # a read-only data dir: every process checks, as before
            marker.parent.mkdir(exist_ok=True)
            marker.write_text(_marker_text(key), encoding="ascii")

    def _fsync_dir(self) -> None:
        with storage_errors(self.data_dir):
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
            with storage_errors(self.data_dir, leftover), contextlib.suppress(FileNotFoundError):
                leftover.unlink()

    def _quarantine(self, path: Path, reason: str) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        with storage_errors(self.data_dir, path):
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


class _Group:
    """What one outermost transaction and those nested in it hold: locks, loaded and changed files."""

    def __init__(self) -> None:
        self.locks = contextlib.ExitStack()
        self.locked: set[str] = set()
        self.open: set[str] = set()  # files whose block is running
        self.existed: dict[str, bool] = {}  # filename -> whether it was there before
        self.before: dict[str, Any] = {}  # filename -> content before (to put back)
        self.changes: dict[str, tuple[DataFile, Any]] = {}  # in the order the blocks ended
        self.after: list[Callable[[], None]] = []  # steps run once the files are renamed (after_renames)
        self.if_not_committed: list[Callable[[], None]] = []  # undone if it ends without a commit


def _copy_containers(value: Any) -> Any:
    """Copy a document two levels deep: its top container and the lists/dicts in it."""
    if isinstance(value, dict):
        return {k: v.copy() if isinstance(v, (list, dict)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [v.copy() if isinstance(v, (list, dict)) else v for v in value]
    return value

