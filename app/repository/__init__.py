"""The only code that reads or writes the data dir.

Every file is changed by a read-modify-write transaction under an exclusive
lock (portalocker, one lock file per data file), and replaced atomically:
temp file in the same folder, fsync, rename, fsync of the folder. Readers
never lock: a rename is atomic, so they always see a whole file. A file that
cannot be parsed is moved aside, never overwritten. ``store`` holds that
machinery; the other modules hold what the app does with each file, as
parts of one ``Repository``:

    queue       the pending queue, approved and rejected albums, block list,
                the undo of bulk decisions
    history     the decided albums' records: history/YYYY-MM.jsonl, appended to
    feedback    ListenBrainz feedback queued by decisions (lb_feedback.json), dismissed block offers
    lists       wishlist.txt, processed.json, downloaded.json
    jobs        job status, run requests, job locks and logs, saved settings
    catalog     the library snapshot and catalog-discovery's findings
    library_sources  library-discovery's discographies and listen counts
    downloads   download_history.json
    pacing      the next free request slot of a rate-limited service, shared by every process
    notifications  messages held through quiet hours or being sent, the last deliveries
    previews    the preview cache (cache/previews/, not a data file) and which album an MBID names

Operations that change two files or more (approve: the queue and the
wishlist; a bulk decision and its undo; block artist; remove download) nest
their transactions, and ``Store.transaction`` writes the files of nested
transactions together when the outermost one ends: every new file is written
to its temp file and fsynced first, and only then are they all renamed into
place. A full disk, a read-only folder or a missing permission fails while the
temp files are written, so nothing changes and nothing is half done; the error
is a ``StorageError`` naming the data folder and the cause. The renames come in
the order the nested blocks ended (innermost first): a process killed between
two of them leaves the operation's consequence written (the wishlist entry)
and its record not (the album still pending), which the next attempt repeats
harmlessly. The pipelines change one file per step, each step safe to repeat.

``history/`` (the decided albums) is appended to, not replaced: an approve or a
reject appends its lines under the queue's lock, and its marks appended to
``decided.txt`` after the other files' renames commit it; the queue file is
rewritten only by other changes, now and then (``history.py``).

When two files change together, locks are always taken in the same order:
pending_queue, then queue_undo, then wishlist (or blocked_artists), then lb_feedback;
download_history, then wishlist, then downloaded. Locks of nested
transactions are held until the outermost one ends.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from app.paths import DATA_DIR_ENV, DEFAULT_DATA_DIR, data_dir_from_env
from app.repository.catalog import CatalogRecords
from app.repository.downloads import (
    ACTIVE_DOWNLOAD_STATES,
    DOWNLOAD_GROUPS,
    DOWNLOAD_STATES,
    DownloadRecords,
    add_download_event,
    cancel_current_download,
    needs_following,
    new_download_record,
    set_download_state,
)
from app.repository.feedback import FeedbackRecords
from app.repository.history import History
from app.repository.jobs import JobRecords
from app.repository.library_sources import LibrarySourceRecords
from app.repository.lists import ListRecords
from app.repository.notifications import NotificationRecords
from app.repository.pacing import PacingRecords
from app.repository.previews import PreviewRecords
from app.repository.queue import SORTS, UNDO_SECONDS, NothingToUndo, QueueRecords
from app.repository.store import (
    BLOCKED_ARTISTS,
    CATALOG_ARTISTS,
    CATALOG_DISCOVERED,
    DOWNLOAD_HISTORY,
    DOWNLOADED,
    JOB_STATUS,
    NOTIFICATIONS,
    PENDING_QUEUE,
    PROCESSED,
    QUEUE_UNDO,
    RUN_REQUESTS,
    SETTINGS,
    WISHLIST,
    AlreadyLocked,
    CorruptFileError,
    DataFile,
    StorageError,
    Store,
    job_log_file,
)

__all__ = [
    "ACTIVE_DOWNLOAD_STATES", "BLOCKED_ARTISTS", "CATALOG_ARTISTS", "CATALOG_DISCOVERED", "DATA_DIR_ENV",
    "DEFAULT_DATA_DIR", "DOWNLOADED", "DOWNLOAD_GROUPS", "DOWNLOAD_HISTORY", "DOWNLOAD_STATES", "JOB_STATUS",
    "NOTIFICATIONS", "PENDING_QUEUE", "PROCESSED", "QUEUE_UNDO", "RUN_REQUESTS", "SETTINGS", "SORTS", "UNDO_SECONDS",
    "WISHLIST",
    "AlreadyLocked", "CorruptFileError", "DataFile", "NothingToUndo", "Repository", "StorageError", "Store",
    "add_download_event", "cancel_current_download", "data_dir_from_env", "default_repository", "job_log_file",
    "needs_following", "new_download_record", "set_download_state",
]


class Repository(QueueRecords, ListRecords, JobRecords, CatalogRecords, DownloadRecords, PacingRecords,
                 PreviewRecords, LibrarySourceRecords, NotificationRecords, FeedbackRecords):
    """Domain operations on the data dir, each one transaction (or a fixed order of them)."""

    #: How long a write probe's answer is reused: /health is public and may be asked often.
    WRITE_PROBE_SECONDS = 5.0

    def __init__(self, data_dir: str | os.PathLike | None = None):
        self.store = Store(data_dir if data_dir is not None else data_dir_from_env())
        self.history = History(self.store)
        self._write_probe: tuple[float, StorageError | None] | None = None

    @property
    def data_dir(self) -> Path:
        return self.store.data_dir

    def quarantined_files(self) -> list[Path]:
        return self.store.quarantined_files()

    def write_problem(self) -> StorageError | None:
        """Why the data dir cannot be written now (a real probe, at most every few seconds), or None."""
        probed = self._write_probe
        if probed is None or time.monotonic() - probed[0] >= self.WRITE_PROBE_SECONDS:
            probed = self._write_probe = (time.monotonic(), self.store.write_problem())
        return probed[1]

    def settings_moved_aside(self) -> list[Path]:
        """Damaged copies of settings.json: what they held (sign-in, the session key) may be gone."""
        return [path for path in self.quarantined_files() if path.name.startswith(f"{SETTINGS.filename}.corrupt-")]

    def keep_warm(self, files: tuple[DataFile, ...], interval: float, stop: threading.Event,
                  on_error=None) -> threading.Thread:
        """A daemon thread that re-parses ``files`` within ``interval`` seconds of another process
        rewriting them, so that the next page load finds them parsed (a 10,000-item queue takes
        tens of milliseconds to parse), and lets go of what only the History page needs when it
        is not in use. Stops when ``stop`` is set."""

        def loop() -> None:
            last_errors: dict[str, str] = {}
            while not stop.wait(interval):
                self.history.forget_unused()  # the whole of decided.txt, when the History page is not in use
                for file in files:
                    try:
                        self.store.refresh_when_idle(file)
                        last_errors.pop(file.filename, None)
                    except Exception as exc:  # a reader meets the same error and reports it
                        if on_error and last_errors.get(file.filename) != str(exc):
                            on_error(file, exc)  # once per new error, not every interval
                        last_errors[file.filename] = str(exc)

        thread = threading.Thread(target=loop, name="resonance-keep-warm", daemon=True)
        thread.start()
        return thread


_default_lock = threading.Lock()
_default_repository: Repository | None = None


def default_repository() -> Repository:
    """The repository for RESONANCE_DATA_DIR, shared within a process."""
    global _default_repository
    with _default_lock:
        if _default_repository is None or _default_repository.data_dir != data_dir_from_env().absolute():
            _default_repository = Repository()
        return _default_repository
