"""The history of decisions: ``history/YYYY-MM.jsonl``, appended to, never rewritten.

``pending_queue.json`` keeps only the pending albums. What a decision must
check, the MBIDs approved and rejected, is ``decided.txt``: one ``approve MBID``
(``reject``, ``undo-approve``, ``undo-reject``) a line, replayed in order, kept
parsed per process and read on from where it was. The full record of each
decided album goes to a segment, one JSON line per decision (``{"action":
"approve", "at": "…", "item": {…}}``), in the segment of the decision's month.
A decision appends to both and rewrites only the queue; only the History page,
an undo and an un-reject read the segments, newest first, a block at a time
from the end of the newest one.

All or nothing without a journal: the queue file says how far the history is
written for sure (``"history": {"segment": "2026-12.jsonl", "length": N,
"decided": M}``). A decision appends its lines (fsynced) under the queue's
lock, inside the queue's transaction, and only then is the queue file with the
new lengths renamed into place: that rename is the commit, as for every other
file. Simpler than a journal, and the queue must be rewritten anyway. A crash
or a failed write between the two leaves bytes past the recorded lengths,
which no reader looks at and the next append cuts off; a torn last line is the
same case. Segments older than the recorded one are complete; newer ones have
nothing committed. With no record at all (a queue moved aside as damaged)
every file is read whole. A line that is not JSON or not the shape
``shapes.HISTORY_LINE`` says (a hand edit) is skipped, logged once and listed
in ``damaged``: it never breaks a page or a decision.

Every file here is written only under the lock of ``pending_queue.json``.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime, timezone
from typing import Iterator

import orjson

from app.repository import shapes
from app.repository.store import Store, storage_errors

log = logging.getLogger("resonance.repository")

HISTORY_DIR = "history"
#: The compact record of what is decided: one "approve MBID", "reject MBID", "undo-approve MBID"
#: or "undo-reject MBID" a line, replayed in order.
DECIDED = "decided.txt"
_SEGMENT_NAME = re.compile(r"^\d{4}-\d{2}\.jsonl$")
_MONTH = re.compile(r"^\d{4}-\d{2}")
#: Bytes read at a time from the end of a segment.
BLOCK = 64 * 1024


def segment_for(at: str | None) -> str:
    """The segment a decision made ``at`` (ISO-8601) belongs to: its month, or this month."""
    if at and _MONTH.match(at):
        return f"{at[:7]}.jsonl"
    return datetime.now(timezone.utc).strftime("%Y-%m.jsonl")


def history_line(action: str, at: str | None, item: dict) -> dict:
    return {"action": action, "at": at, "item": item}


def lines_bytes(lines: list[dict]) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


class History:
    """Appends to and reads the segments of one data dir's history."""

    def __init__(self, store: Store):
        self.store = store
        self.folder = store.data_dir / HISTORY_DIR
        #: Lines skipped because they are damaged: (file name, byte offset) -> reason.
        self.damaged: dict[tuple[str, int], str] = {}
        self._decided: tuple[int, int, dict, dict] | None = None  # inode, bytes read, approved, rejected

    # -- writing (in a transaction on pending_queue.json) ------------------------------

    def append(self, queue: dict, lines: list[dict], marks: list[str]) -> None:
        """Append ``lines`` to their segment and ``marks`` ("approve MBID"...) to decided.txt, fsynced,
        and record the new lengths in ``queue``: its commit commits them."""
        if not lines and not marks:
            return
        with storage_errors(self.store.data_dir, self.folder):
            created_folder = not self.folder.is_dir()
            self.folder.mkdir(parents=True, exist_ok=True)
            # No record (a queue file moved aside as damaged): everything there is counts.
            marker = queue.get("history") or self._record_from_disk()
            record = dict(marker)
            if lines:
                segment = segment_for(lines[-1]["at"])
                if marker and marker.get("segment", "") > segment:
                    segment = marker["segment"]  # a clock set back: never write behind the record
                if marker and marker.get("segment") and marker["segment"] != segment:
                    self._cut(marker["segment"], marker["length"])  # what follows the record never happened
                committed = marker.get("length", 0) if marker and marker.get("segment") == segment else 0
                record["segment"] = segment
                record["length"] = self._append(self.folder / segment, lines_bytes(lines), committed)
            if marks:
                data = "".join(f"{mark}\n" for mark in marks).encode()
                record["decided"] = self._append(self.folder / DECIDED, data, marker.get("decided", 0))
            if created_folder:
                _fsync_folder(self.store.data_dir)
        queue["history"] = record

    def _record_from_disk(self) -> dict:
        """A record of what is on disk now, each file ended by a newline (a torn line stays a line of its own)."""
        record: dict = {}
        names = sorted(name for name in os.listdir(self.folder) if _SEGMENT_NAME.match(name))
        if names:
            record["segment"], record["length"] = names[-1], self._append(self.folder / names[-1], b"", None)
        if (self.folder / DECIDED).exists():
            record["decided"] = self._append(self.folder / DECIDED, b"", None)
        return record

    def _append(self, path, data: bytes, committed: int | None) -> int:
        """Append to a file after cutting what follows ``committed`` (None: keep it all); its new length."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = os.fstat(fd).st_size
            if committed is not None and size > committed:
                os.ftruncate(fd, committed)
                size = committed
            elif committed is None and size and not self._ends_a_line(path, size):
                data = b"\n" + data
            if not data:
                return size
            written = 0
            while written < len(data):  # a large bulk decision may take more than one write
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
        if size == 0:
            _fsync_folder(self.folder)  # a new file: its name must reach the disk too
        return size + len(data)

    def _cut(self, segment: str, length: int) -> None:
        path = self.folder / segment
        try:
            if path.stat().st_size > length:
                os.truncate(path, length)
        except FileNotFoundError:
            pass

    @staticmethod
    def _ends_a_line(path, size: int) -> bool:
        with open(path, "rb") as handle:
            handle.seek(size - 1)
            return handle.read(1) == b"\n"

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
        if by_segment:
            newest = max(by_segment)
            queue["history"].update(segment=newest, length=(self.folder / newest).stat().st_size)
        log.warning("pending_queue.json: %d decided albums moved to %s/ (the file as it was: %s)",
                    len(lines), HISTORY_DIR, copy.name)

    # -- reading ---------------------------------------------------------------------------

    def segments(self, queue: dict) -> list[tuple[str, int | None]]:
        """(segment name, bytes to read or None for all), newest first: what is committed."""
        try:
            names = sorted((name for name in os.listdir(self.folder) if _SEGMENT_NAME.match(name)), reverse=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        marker = queue.get("history")
        if marker is None:
            return [(name, None) for name in names]
        newest = marker.get("segment", "")
        return [(name, marker["length"] if name == newest else None) for name in names if name <= newest]

    def lines(self, queue: dict, *, back_to: str | None = None, action: str | None = None) -> Iterator[dict]:
        """Every committed, sound line, newest first; with ``back_to`` (a segment name), none older;
        with ``action``, only that action's lines (the others are skipped unparsed)."""
        for name, limit in self.segments(queue):
            if back_to is not None and name < back_to:
                return
            yield from self._segment_lines(name, limit, action)

    def _segment_lines(self, name: str, limit: int | None, action: str | None = None) -> Iterator[dict]:
        # Lines as Resonance writes them start with their action: others need not be parsed.
        other = b'{"action":"'
        ours = b'{"action":"%s"' % action.encode() if action else other
        try:
            handle = open(self.folder / name, "rb")
        except FileNotFoundError:
            return
        with handle:
            end = os.fstat(handle.fileno()).st_size
            if limit is not None:
                end = min(end, limit)
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
        """The MBIDs approved and rejected now (dicts as ordered sets, oldest first): decided.txt replayed.

        Kept parsed per process: when the file grew since, only the new bytes
        are read. Shared and read-only, like the store's.
        """
        marker = queue.get("history")
        path = self.folder / DECIDED
        try:
            stat = path.stat()
        except FileNotFoundError:
            return {}, {}
        end = stat.st_size if marker is None else min(marker.get("decided", 0), stat.st_size)
        cached = self._decided
        if cached and cached[0] == stat.st_ino and cached[1] == end:
            return cached[2], cached[3]
        if cached and cached[0] == stat.st_ino and cached[1] < end:
            start, approved, rejected = cached[1], dict(cached[2]), dict(cached[3])
        else:
            start, approved, rejected = 0, {}, {}
        with open(path, "rb") as handle:
            handle.seek(start)
            data = handle.read(end - start)
        if marker is None and not data.endswith(b"\n"):
            data = data[: data.rfind(b"\n") + 1]  # a torn last line: not yet
        offset = start
        for raw in data.split(b"\n")[:-1]:
            verb, _, mbid = raw.decode("utf-8", "replace").partition(" ")
            target = approved if verb.endswith("approve") else rejected
            if verb in ("approve", "reject") and mbid:
                target.pop(mbid, None)
                target[mbid] = None
            elif verb in ("undo-approve", "undo-reject") and mbid:
                target.pop(mbid, None)
            elif raw.strip():
                self._report(DECIDED, offset, f"not a decision: {raw[:80]!r}")
            offset += len(raw) + 1
        self._decided = (stat.st_ino, start + len(data), approved, rejected)
        return approved, rejected

    def _report(self, name: str, offset: int, reason: str) -> None:
        if (name, offset) not in self.damaged:
            self.damaged[(name, offset)] = reason
            log.error("%s/%s: the line at byte %d could not be read (%s); skipped", HISTORY_DIR, name, offset, reason)

    def damaged_lines(self) -> list[str]:
        return [f"{HISTORY_DIR}/{name} at byte {offset}: {reason}"
                for (name, offset), reason in sorted(self.damaged.items())]

    def find(self, queue: dict, action: str, mbids: set[str], *, at: str | None = None
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
        for line in self.lines(queue, back_to=segment_for(at) if at else None, action=action):
            if at is not None and (line.get("at") or "") < at:
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
