"""The history of decisions: ``history/YYYY-MM.jsonl`` and ``decided.txt``, appended to, never rewritten.

``pending_queue.json`` keeps only the pending albums. What a decision must
check, the MBIDs approved and rejected, is ``decided.txt``: one ``approve MBID``
(``reject``, ``undo-approve``, ``undo-reject``) a line, replayed in order, kept
parsed per process and read on from where it was. The full record of each
decided album goes to a segment, one JSON line per decision (``{"action":
"approve", "at": "…", "item": {…}}``), in the segment of the decision's month.
Only the History page, an undo, an un-reject and what learns from decisions
(app/learning.py) read the segments, newest first, a block at a time from
the end of the newest one. A reason given to a reject after it was made is
its line appended again with ``"reason"`` and ``"noted_at"`` (same ``at``,
no new mark in decided.txt): an album's newest line is its record.

A decision costs what it changes, not the size of the queue: approving or
rejecting appends to these two files and does not rewrite the queue file.
The pending albums are the queue file's, less those decided in decided.txt
after the point the queue file records (``"history": {"decided": N}``, its
length when the queue was last written). Every other change to the queue
(new suggestions, an undo, a removal, a block) rewrites it anyway, and folds
those decisions in: the new file leaves them out and records the new length.

All or nothing, in this order, under the queue's lock: the segment lines
(fsynced), then the other files of the transaction (the wishlist) renamed
into place, then the marks appended to decided.txt (fsynced): that append is
the commit. A step that fails puts back what the earlier ones did. A crash
before the marks leaves segment lines no mark names (no reader shows a line
whose album is not decided so in decided.txt) and a torn last line, which the
next append cuts off. When the queue is rewritten, its marks are appended after
its rename and listed in it as ``owed`` meanwhile: a crash in between leaves
the queue saying what decided.txt lacks, and readers go by the queue until the
next writer appends them. A line that is not JSON or not the shape
``shapes.HISTORY_LINE`` says (a hand edit) is skipped, logged once and listed
in ``damaged``: it never breaks a page or a decision.

Every file here is written only under the lock of ``pending_queue.json``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from datetime import datetime, timezone
from typing import Iterator

import orjson

from app.repository import shapes
from app.repository.store import Store, StorageError, storage_errors

log = logging.getLogger("resonance.repository")

HISTORY_DIR = "history"
#: The compact record of what is decided: one "approve MBID", "reject MBID", "undo-approve MBID"
#: or "undo-reject MBID" a line, replayed in order.
DECIDED = "decided.txt"
_SEGMENT_NAME = re.compile(r"^\d{4}-\d{2}\.jsonl$")
_MONTH = re.compile(r"^\d{4}-\d{2}")
#: How long a process keeps the whole of decided.txt parsed after its last use (see History.forget_unused).
DECIDED_KEPT_SECONDS = 30.0
#: Bytes read at a time from the end of a segment.
BLOCK = 64 * 1024


def segment_for(at: str | None) -> str:
    """The segment a decision made ``at`` (ISO-8601) belongs to: its month, or this month."""
    if at and _MONTH.match(at):
        return f"{at[:7]}.jsonl"
    return datetime.now(timezone.utc).strftime("%Y-%m.jsonl")


def history_line(action: str, at: str | None, item: dict, decided_by: str | None = None,
                 reason: str | None = None) -> dict:
    """One decision: what, when, the album's record, which member made it (when known) and, for a
    reject, its reason (app.learning.REJECT_REASONS) when given."""
    line = {"action": action, "at": at, "item": item}
    if decided_by:
        line["decided_by"] = decided_by
    if reason:
        line["reason"] = reason
    return line


def lines_bytes(lines: list[dict]) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


class History:
    """Appends to and reads the segments and decided.txt of one data dir's history."""

    def __init__(self, store: Store):
        self.store = store
        self.folder = store.data_dir / HISTORY_DIR
        #: Lines skipped because they are damaged: (file name, byte offset) -> reason.
        self.damaged: dict[tuple[str, int], str] = {}
        # decided.txt as read so far: whole (decided()), and after the queue's record (removed()).
        self._decided: _Decided | None = None
        self._decided_used = 0.0
        self._tail: _Tail | None = None
        self._owed_check: tuple | None = None
        self._parsing = threading.Lock()  # the threads of a web worker share it

    # -- writing (under the queue's lock, in a transaction) --------------------------------

    def append(self, queue: dict, lines: list[dict], marks: list[str], *, rewritten: bool) -> None:
        """Append ``lines`` to their segment now, and ``marks`` ("approve MBID"...) to decided.txt once
        the transaction's files are renamed: that append commits the decision.

        ``rewritten``: the queue is written by this transaction (``settle`` has
        made its record); its marks are listed in it as owed until appended.
        """
        if not lines and not marks:
            return
        with storage_errors(self.store.data_dir, self.folder):
            if not self.folder.is_dir():
                self.folder.mkdir(parents=True)
                _fsync_folder(self.store.data_dir)
            written = self._append_lines(lines) if lines else None
        if written:
            self.store.if_not_committed(lambda: self._cut_back(*written))
        if marks:
            if rewritten:
                queue["history"]["owed"] = queue["history"].get("owed", []) + marks
            self.store.after_renames(lambda: self._append_marks(marks, written))

    def settle(self, queue: dict) -> None:
        """For a transaction that rewrites the queue: the decisions appended since it was written folded
        into its pending list, and its record brought to where decided.txt is now."""
        self.repair(queue)
        removed = self.removed(queue)
        if removed:
            queue["pending"] = [item for item in queue["pending"] if item["mbid"] not in removed]
        path = self.folder / DECIDED
        with storage_errors(self.store.data_dir, path):
            length = _whole_lines_length(path)
        queue["history"] = {"decided": length}

    def repair(self, queue: dict) -> None:
        """Under the queue's lock, before appending: the marks the queue owes appended where it says
        (a crash came between its rename and them). A torn last line is cut by the next append."""
        record = queue.get("history") or {}
        owed = marks_bytes(record.get("owed") or [])
        path = self.folder / DECIDED
        if owed and not self._owed_written(record["decided"], owed):
            with storage_errors(self.store.data_dir, path):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
                try:
                    os.ftruncate(fd, record["decided"])
                    os.lseek(fd, 0, os.SEEK_END)
                    _write_all(fd, owed)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            log.warning("%s/%s: the marks of the queue's last change appended (its writer stopped before them)",
                        HISTORY_DIR, DECIDED)

    def _append_lines(self, lines: list[dict]) -> tuple[str, int]:
        """The lines appended to the segment of the last one's month (or a newer one that exists:
        a clock set back never writes behind); (segment, its length before)."""
        segment = segment_for(lines[-1]["at"])
        newest = self._newest_segment()
        if newest and newest > segment:
            segment = newest
        path = self.folder / segment
        with storage_errors(self.store.data_dir, path):
            return segment, _append(path, lines_bytes(lines))

    def _newest_segment(self) -> str | None:
        names = [name for name in os.listdir(self.folder) if _SEGMENT_NAME.match(name)]
        return max(names, default=None)

    def _append_marks(self, marks: list[str], written: tuple[str, int] | None) -> None:
        path = self.folder / DECIDED
        with storage_errors(self.store.data_dir, path):
            before = path.stat().st_size if path.exists() else 0
        data = marks_bytes(marks)
        try:
            with storage_errors(self.store.data_dir, path):
                start = _append(path, data)
                stat = path.stat()
        except StorageError:
            with contextlib.suppress(OSError):
                os.truncate(path, before)
            if written:
                self._cut_back(*written)
            raise
        self._took_own_append(start, data, stat)  # without reading it back

    def _cut_back(self, segment: str, length: int) -> None:
        """A segment as it was before a transaction that did not commit (its lines never happened)."""
        with contextlib.suppress(OSError):
            if (self.folder / segment).stat().st_size > length:
                os.truncate(self.folder / segment, length)

    def _owed_written(self, at: int, owed: bytes) -> bool:
        try:
            stat = (self.folder / DECIDED).stat()
        except FileNotFoundError:
            return False
        key = (stat.st_ino, stat.st_size, stat.st_mtime_ns, at, owed)
        if self._owed_check and self._owed_check[0] == key:
            return self._owed_check[1]
        with open(self.folder / DECIDED, "rb") as handle:
            handle.seek(at)
            written = handle.read(len(owed)) == owed
        self._owed_check = (key, written)
        return written

    # -- moving a queue file from before history/ (see QueueRecords.move_history_out) ----------

    def move_in(self, queue: dict, queue_path) -> None:
        """In a transaction on that queue: its records to whole new segments, its MBIDs to decided.txt."""
        copy = queue_path.with_name(queue_path.name + ".before-history")
        lines = [history_line("approve", entry.get("approved_at"), _without(entry, "approved_at"))
                 for entry in queue["approved"] if isinstance(entry, dict)]
        info = queue.get("rejected_info") or {}
        lines += [history_line("reject", info[mbid].get("rejected_at"), _without(info[mbid], "rejected_at"))
                  for mbid in dict.fromkeys(queue["rejected"]) if isinstance(info.get(mbid), dict)]
        by_segment: dict[str, list[dict]] = {}
        # Oldest first in each segment; a record without a date goes first in this month's.
        for line in sorted(lines, key=lambda line: (segment_for(line["at"]), line["at"] or "")):
            by_segment.setdefault(segment_for(line["at"]), []).append(line)
        marks = [f"approve {entry['mbid'] if isinstance(entry, dict) else entry}" for entry in queue["approved"]]
        marks += [f"reject {mbid}" for mbid in queue["rejected"]]
        decided = "".join(f"{mark}\n" for mark in marks).encode()
        with storage_errors(self.store.data_dir, copy):
            if not copy.exists():
                _write_whole(copy, queue_path.read_bytes())
            self.folder.mkdir(parents=True, exist_ok=True)
            for segment, its_lines in by_segment.items():
                _write_whole(self.folder / segment, lines_bytes(its_lines))
            _write_whole(self.folder / DECIDED, decided)
            _fsync_folder(self.folder)
            _fsync_folder(self.store.data_dir)
        queue["approved"], queue["rejected"] = [], []
        queue.pop("rejected_info", None)
        queue["history"] = {"decided": len(decided)}
        log.warning("pending_queue.json: %d decided albums moved to %s/ (the file as it was: %s)",
                    len(lines), HISTORY_DIR, copy.name)

    # -- reading ---------------------------------------------------------------------------

    def segments(self) -> list[str]:
        """The segment names, newest first."""
        try:
            return sorted((name for name in os.listdir(self.folder) if _SEGMENT_NAME.match(name)), reverse=True)
        except (FileNotFoundError, NotADirectoryError):
            return []

    def lines(self, *, back_to: str | None = None, action: str | None = None) -> Iterator[dict]:
        """Every sound line, newest first; with ``back_to`` (a segment name), none older; with ``action``,
        only that action's lines (the others are skipped unparsed). A line whose decision did not commit
        is among them: callers go by ``decided``."""
        for name in self.segments():
            if back_to is not None and name < back_to:
                return
            yield from self._segment_lines(name, action)

    def _segment_lines(self, name: str, action: str | None = None) -> Iterator[dict]:
        # Lines as Resonance writes them start with their action: others need not be parsed.
        other = b'{"action":"'
        ours = b'{"action":"%s"' % action.encode() if action else other
        try:
            handle = open(self.folder / name, "rb")
        except FileNotFoundError:
            return
        with handle:
            # A last line without its newline is being written, or torn: not a decision (yet).
            end = _whole_lines_end(handle.fileno())
            for offset, raw in _lines_from_end(handle, end):
                if raw.startswith(other) and not raw.startswith(ours):
                    continue
                line = self._parse(name, offset, raw)
                if line is not None and (action is None or line["action"] == action):
                    yield line

    def _parse(self, name: str, offset: int, raw: bytes) -> dict | None:
        try:
            line = orjson.loads(raw)
            shapes.check(shapes.HISTORY_LINE, line)
            return line
        except orjson.JSONDecodeError as exc:
            reason = f"not valid JSON: {exc}"
        except shapes.ShapeError as exc:
            reason = f"wrong shape: {exc}"
        self._report(name, offset, reason)
        return None

    def decided(self, queue: dict) -> tuple[dict[str, None], dict[str, None]]:
        """The MBIDs approved and rejected now (dicts as ordered sets, oldest first): decided.txt replayed,
        with the marks ``queue`` owes. Kept parsed per process: when the file grew since, only the new
        bytes are read. Shared and read-only, like the store's."""
        with self._parsing:
            self._decided_used = time.monotonic()
            record, owed = _record_of(queue)
            if owed and not self._owed_written(record["decided"], owed):
                return self._replayed_with_owed(record)  # a crash came before they were appended: go by the queue
            self._decided = replay = self._read_on(self._decided, 0, _Decided)
            return replay.approved, replay.rejected

    def forget_unused(self, seconds: float = DECIDED_KEPT_SECONDS) -> bool:
        """Let go of the whole of decided.txt parsed when nothing asked for it for ``seconds``: True then.

        Only the History page, an undo and the jobs need it (12 MB for 100,000
        decisions); the queue page and the decisions need only its tail.
        """
        with self._parsing:
            if self._decided is None or time.monotonic() - self._decided_used < seconds:
                return False
            self._decided = None
            return True

    def removed(self, queue: dict) -> frozenset[str]:
        """The albums of ``queue``'s pending list decided since it was written: not pending any more.

        Only decided.txt's lines after the queue's record are read (on a first
        page load, not the whole file), and then only what was appended since.
        """
        with self._parsing:
            record, owed = _record_of(queue)
            if owed and not self._owed_written(record["decided"], owed):
                return frozenset()
            self._tail = tail = self._read_on(self._tail, record.get("decided", 0) + len(owed), _Tail)
            return tail.removed

    def _read_on(self, replay: _Replay | None, start: int, kind: type) -> _Replay:
        """``replay`` brought up to date with decided.txt from byte ``start``: read on from where it was when
        the file only grew, afresh when it was replaced or cut, or when the replay began elsewhere."""
        path = self.folder / DECIDED
        try:
            stat = path.stat()
        except FileNotFoundError:
            return kind(start)
        version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if replay is not None and replay.start == start and replay.version == version:
            return replay
        if replay is None or replay.version[0] != stat.st_ino or replay.end > stat.st_size:
            replay = kind(start)
        elif replay.start != start:
            if isinstance(replay, _Tail) and replay.start < start <= replay.end:
                replay = replay.from_(start)  # the queue was rewritten: what it folded in is no longer a removal
            else:
                replay = kind(start)
        with open(path, "rb") as handle:
            # The last line read is read again: if it is not where it was (a failed append was cut off and
            # another made since), what follows is no continuation of what was read.
            handle.seek(replay.end - len(replay.last_line))
            data = handle.read(stat.st_size - replay.end + len(replay.last_line))
            if not data.startswith(replay.last_line):
                replay = kind(start)
                handle.seek(start)
                data = handle.read(stat.st_size - start)
            else:
                data = data[len(replay.last_line):]
        data = data[: data.rfind(b"\n") + 1]  # a torn last line: not (yet) a decision
        self._take_in(replay, data)
        replay.version = version
        return replay

    def _take_in(self, replay: _Replay, data: bytes) -> None:
        """Whole lines of decided.txt that follow what ``replay`` holds, replayed into it."""
        offset = replay.end
        for raw in data.split(b"\n")[:-1]:
            verb, _, mbid = raw.decode("utf-8", "replace").partition(" ")
            if verb in VERBS and mbid:
                replay.take(offset, verb, mbid)
            elif raw.strip():
                self._report(DECIDED, offset, f"not a decision: {raw[:80]!r}")
            offset += len(raw) + 1
        if data:
            replay.done_taking(data[data.rfind(b"\n", 0, len(data) - 1) + 1:])
        replay.end = offset

    def _took_own_append(self, start: int, data: bytes, stat: os.stat_result) -> None:
        """What this process appended at ``start``, into the replays that had read up to there."""
        with self._parsing:
            for replay in (self._decided, self._tail):
                if replay is not None and replay.version[0] == stat.st_ino and replay.end == start == replay.version[1]:
                    self._take_in(replay, data)
                    replay.version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def _replayed_with_owed(self, record: dict) -> tuple[dict, dict]:
        """decided.txt up to the queue's record, then the marks it owes: read whole, not kept."""
        replay = _Decided(0)
        with contextlib.suppress(FileNotFoundError):
            with open(self.folder / DECIDED, "rb") as handle:
                data = handle.read(record["decided"])
            self._take_in(replay, data[: data.rfind(b"\n") + 1])
        for mark in record["owed"]:
            verb, _, mbid = mark.partition(" ")
            replay.take(-1, verb, mbid)
        replay.done_taking(b"")
        return replay.approved, replay.rejected

    def _report(self, name: str, offset: int, reason: str) -> None:
        if (name, offset) not in self.damaged:
            self.damaged[(name, offset)] = reason
            log.error("%s/%s: the line at byte %d could not be read (%s); skipped", HISTORY_DIR, name, offset, reason)

    def damaged_lines(self) -> list[str]:
        return [f"{HISTORY_DIR}/{name} at byte {offset}: {reason}"
                for (name, offset), reason in sorted(self.damaged.items())]

    def find(self, action: str, mbids: set[str], *, at: str | None = None
             ) -> tuple[dict[str, dict], list[dict]]:
        """The newest ``action`` line of each of ``mbids``, reading only as far back as needed.

        With ``at``, a line counts only when the newest one of its album was made
        at that moment (that decision, not a later one), and nothing older than
        ``at`` is read. Returns (mbid -> line, the other lines of that action
        read on the way: decisions made since, or with the oldest one found).
        """
        wanted = set(mbids)
        found: dict[str, dict] = {}
        since: list[dict] = []
        if not wanted:
            return found, since
        last_at: str | None = None
        for line in self.lines(back_to=segment_for(at) if at else None, action=action):
            # A reason added later is appended later (noted_at): reading on past it is not reading older lines.
            if at is not None and (line.get("noted_at") or line.get("at") or "") < at:
                break
            if not wanted and line.get("at") != last_at:
                break  # the decisions made with the last one found are read too
            if line["action"] != action:
                continue
            mbid = line["item"]["mbid"]
            if mbid in wanted:
                wanted.discard(mbid)
                last_at = line.get("at")
                if at is None or line.get("at") == at:
                    found[mbid] = line
            elif mbid not in found:
                since.append(line)
        return found, since


def _lines_from_end(handle, end: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of the first ``end`` bytes of a file, last line first, a block at a time."""
    position, tail = end, b""
    while position > 0:
        size = min(BLOCK, position)
        position -= size
        handle.seek(position)
        block = handle.read(size) + tail
        pieces = block.split(b"\n")
        tail = pieces[0]
        offset = position + len(block)
        for piece in reversed(pieces[1:]):
            offset -= len(piece) + 1
            if piece.strip():
                yield offset + 1, piece
    if tail.strip():
        yield 0, tail


def _without(item: dict, key: str) -> dict:
    return {k: v for k, v in item.items() if k != key}


def _write_whole(path, data: bytes) -> None:
    """A whole new file: temp file beside it, fsync, rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _fsync_folder(folder) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def marks_bytes(marks: list[str]) -> bytes:
    return "".join(f"{mark}\n" for mark in marks).encode()


VERBS = ("approve", "reject", "undo-approve", "undo-reject")


def _record_of(queue: dict) -> tuple[dict, bytes]:
    record = queue.get("history") or {}
    return record, marks_bytes(record.get("owed") or [])


class _Replay:
    """decided.txt replayed from byte ``start`` up to ``end`` (the file's ``version`` then)."""

    def __init__(self, start: int):
        self.start = self.end = start
        self.version: tuple = (None, None, None)  # inode, size, mtime
        self.last_line = b""

    def take(self, offset: int, verb: str, mbid: str) -> None:
        raise NotImplementedError

    def done_taking(self, last_line: bytes) -> None:
        self.last_line = last_line


class _Decided(_Replay):
    """The whole file: the albums approved and rejected now, as ordered sets."""

    def __init__(self, start: int):
        super().__init__(start)
        self.approved: dict[str, None] = {}
        self.rejected: dict[str, None] = {}
        self._copies: dict[str, dict] = {}

    def take(self, offset: int, verb: str, mbid: str) -> None:
        key = "approved" if verb.endswith("approve") else "rejected"
        if key not in self._copies:  # a new dict: the old one may be in use in another thread
            self._copies[key] = dict(getattr(self, key))
        target = self._copies[key]
        target.pop(mbid, None)
        if not verb.startswith("undo-"):
            target[mbid] = None

    def done_taking(self, last_line: bytes) -> None:
        super().done_taking(last_line)
        for key, copy in self._copies.items():
            setattr(self, key, copy)
        self._copies = {}


class _Tail(_Replay):
    """From the queue's record on: the albums approved or rejected since the queue file was written."""

    def __init__(self, start: int):
        super().__init__(start)
        self.decisions: list[tuple[int, str]] = []  # (offset, mbid)
        self.removed: frozenset[str] = frozenset()

    def take(self, offset: int, verb: str, mbid: str) -> None:
        if not verb.startswith("undo-"):  # only a rewrite of the queue undoes, and it moves the record on
            self.decisions.append((offset, mbid))

    def done_taking(self, last_line: bytes) -> None:
        super().done_taking(last_line)
        self.removed = frozenset(mbid for _, mbid in self.decisions)

    def from_(self, start: int) -> _Tail:
        later = _Tail(start)
        later.decisions = [(offset, mbid) for offset, mbid in self.decisions if offset >= start]
        later.removed = frozenset(mbid for _, mbid in later.decisions)
        later.end, later.version, later.last_line = self.end, self.version, self.last_line
        return later


def _append(path, data: bytes) -> int:
    """Append ``data`` to a file, fsynced, after cutting a torn last line off; the length before."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        size = _cut_torn_line_fd(fd)
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if size == 0:
        _fsync_folder(path.parent)  # a new file: its name must reach the disk too
    return size


def _whole_lines_length(path) -> int:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0
    try:
        return _whole_lines_end(fd)
    finally:
        os.close(fd)


def _cut_torn_line_fd(fd: int) -> int:
    """A file's length once a last line without its newline (a writer stopped in the middle) is cut off."""
    end = _whole_lines_end(fd)
    if end < os.fstat(fd).st_size:
        os.ftruncate(fd, end)
    return end


def _whole_lines_end(fd: int) -> int:
    """Where the last whole line of a file ends."""
    size = os.fstat(fd).st_size
    if not size or os.pread(fd, 1, size - 1) == b"\n":
        return size
    position = size
    while position > 0:
        start = max(0, position - BLOCK)
        block = os.pread(fd, position - start, start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            position = start + newline + 1
            break
        position = start
    return position


def _write_all(fd: int, data: bytes) -> None:
    written = 0
    while written < len(data):  # a large bulk decision may take more than one write
        written += os.write(fd, data[written:])
