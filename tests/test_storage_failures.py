"""A full disk and a read-only data dir, for real: operations that change several files change
all of them or none, and the error names the data folder and the cause."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from factories import make_queue_item
from storage_mounts import Filler, data_files, read_only, small_tmpfs, temp_files

from app.repository import history as history_module
from app.repository import Repository, StorageError
from app.wishlist import WishlistEntry

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ALBUMS = 40  # enough for pending_queue.json to need several pages; the other files fit in one


@pytest.fixture
def filler(data_dir):
    with small_tmpfs(data_dir, size_kb=256):
        yield Filler(data_dir)


def seed(repository: Repository) -> list[dict]:
    items = repository.add_pending([make_queue_item() for _ in range(ALBUMS)])
    repository.add_to_wishlist([WishlistEntry.create("Somebody", "Already Wanted")])
    return items


def on_wishlist(data_dir, item: dict) -> bool:
    fresh = Repository(data_dir)  # no cache shared with the repository under test
    return any(entry.artist == item["artist"] and entry.title == item["album"] for entry in fresh.wishlist_entries())


def is_pending(data_dir, item: dict) -> bool:
    return Repository(data_dir).find_pending(item["mbid"]) is not None


def test_it_leaves_an_album_pending_and_off_the_wishlist_when_the_disk_fills_during_approve(
        repository, data_dir, filler):
    items = seed(repository)
    before = data_files(data_dir)
    filler.fill(leave_pages=1)  # room for the wishlist, not for the queue

    with pytest.raises(StorageError) as caught:
        repository.approve([items[0]["mbid"]])

    assert str(caught.value) == (f"Cannot write to the data folder {data_dir}: "
                                 "the disk is full (No space left on device)")
    assert is_pending(data_dir, items[0]) and not on_wishlist(data_dir, items[0])
    assert data_files(data_dir) == before and temp_files(data_dir) == []
    # Rejected later, it is off the wishlist: nothing downloads an album nobody approved.
    filler.remove()
    repository.reject([items[0]["mbid"]])
    assert not on_wishlist(data_dir, items[0])
    repository.approve([items[1]["mbid"]])
    assert on_wishlist(data_dir, items[1]) and not is_pending(data_dir, items[1])


def _approve_many(repository, items):
    return lambda: repository.decide_many("approve", [items[0]["mbid"], items[1]["mbid"]])


def _reject_many(repository, items):
    return lambda: repository.decide_many("reject", [items[0]["mbid"]])


def _undo_bulk_approve(repository, items):
    _, undo_id = repository.decide_many("approve", [items[0]["mbid"], items[1]["mbid"]])
    return lambda: repository.undo_decision(undo_id)


def _undo_approve(repository, items):
    repository.approve([items[0]["mbid"]])
    return lambda: repository.undo_approve([items[0]["mbid"]])


def _block_artist(repository, items):
    return lambda: repository.block_artist(items[0]["artist"])


def _remove_download(repository, items):
    for item in items:  # a download history of several pages
        entry = WishlistEntry.create(item["artist"], item["album"])
        repository.update_download_record(entry.text, lambda record: None, entry=entry)
    entry = WishlistEntry.create(items[0]["artist"], items[0]["album"])
    repository.add_to_wishlist([entry])
    repository.mark_downloaded([entry.text])
    return lambda: repository.remove_download(entry.text)


# operation, and the small files it writes before its big one (the queue, or the download history)
OPERATIONS = {
    "bulk approve": (_approve_many, 2),  # wishlist, queue_undo, then the queue
    "bulk reject": (_reject_many, 1),  # queue_undo, then the queue
    "undo of a bulk approve": (_undo_bulk_approve, 2),  # wishlist, queue_undo, then the queue
    "undo of an approve": (_undo_approve, 1),  # wishlist, then the queue
    "block artist": (_block_artist, 1),  # blocked_artists, then the queue
    "remove download": (_remove_download, 2),  # wishlist, downloaded, then the download history
}


@pytest.mark.parametrize("name", OPERATIONS)
def test_it_changes_no_file_when_the_disk_fills_half_way_through_an_operation(repository, data_dir, filler, name):
    prepare, small_files = OPERATIONS[name]
    operation = prepare(repository, seed(repository))
    before = data_files(data_dir)
    filler.fill(leave_pages=small_files)

    with pytest.raises(StorageError, match="the disk is full"):
        operation()

    assert data_files(data_dir) == before
    assert temp_files(data_dir) == []
    filler.remove()
    operation()  # the next attempt works
    assert data_files(data_dir) != before


def test_it_names_the_folder_and_the_cause_when_the_data_dir_is_read_only(repository, data_dir):
    items = seed(repository)
    before = data_files(data_dir)

    with read_only(data_dir):
        for operation in (lambda: repository.approve([items[0]["mbid"]]),
                          lambda: repository.block_artist(items[1]["artist"]),
                          lambda: repository.decide_many("reject", [items[2]["mbid"]])):
            with pytest.raises(StorageError) as caught:
                operation()
            assert str(caught.value) == (f"Cannot write to the data folder {data_dir}: "
                                         "it is mounted read-only (Read-only file system)")
        assert repository.pending_count() == ALBUMS  # reading still works
        assert data_files(data_dir) == before

    repository.approve([items[0]["mbid"]])
    assert on_wishlist(data_dir, items[0]) and not is_pending(data_dir, items[0])


def _failing_for(name: str, real):
    """``history._append`` failing with EIO for the file ``name``."""
    def append(path, data):
        if path.name == name:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(path, data)
    return append


def _failing_renames(monkeypatch, failing: set[int]):
    """os.replace failing with EIO on the given calls (1 = the first), as a failing disk would."""
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) in failing:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return calls


def test_it_puts_back_the_files_already_renamed_when_a_later_rename_fails(repository, data_dir, monkeypatch):
    items = seed(repository)
    repository.block_artist("Somebody Else")
    before = data_files(data_dir)
    calls = _failing_renames(monkeypatch, failing={2})  # the block list is renamed, the queue is not

    with pytest.raises(StorageError, match="the disk reported an input/output error"):
        repository.block_artist(items[0]["artist"])

    assert [os.path.basename(path) for path in calls] == ["blocked_artists.json", "pending_queue.json",
                                                          "blocked_artists.json"]
    assert data_files(data_dir) == before and temp_files(data_dir) == []
    assert is_pending(data_dir, items[0]) and Repository(data_dir).blocked_artists() == ["Somebody Else"]


def test_it_puts_back_the_wishlist_when_the_decision_cannot_be_appended(repository, data_dir, monkeypatch):
    items = seed(repository)
    repository.approve([items[1]["mbid"]])
    before = data_files(data_dir), data_files(data_dir / "history")
    monkeypatch.setattr(history_module, "_append", _failing_for("decided.txt", history_module._append))

    with pytest.raises(StorageError, match="the disk reported an input/output error"):
        repository.approve([items[0]["mbid"]])

    assert (data_files(data_dir), data_files(data_dir / "history")) == before and temp_files(data_dir) == []
    assert is_pending(data_dir, items[0]) and not on_wishlist(data_dir, items[0])


def test_it_says_which_files_stay_changed_when_even_putting_back_fails(repository, data_dir, monkeypatch, caplog):
    items = seed(repository)
    repository.block_artist("Somebody Else")
    _failing_renames(monkeypatch, failing={2, 3})

    with pytest.raises(StorageError) as caught:
        repository.block_artist(items[0]["artist"])

    assert caught.value.left_changed == ["blocked_artists.json"]
    assert "could not be put back: blocked_artists.json" in caplog.text
    assert temp_files(data_dir) == []


def test_it_probes_whether_the_data_dir_can_be_written(repository, data_dir, filler):
    assert repository.store.write_problem() is None
    filler.fill()
    assert repository.store.write_problem().reason == "the disk is full (No space left on device)"
    filler.remove()
    with read_only(data_dir):
        assert repository.store.write_problem().reason == "it is mounted read-only (Read-only file system)"
    assert repository.store.write_problem() is None
    assert temp_files(data_dir) == []



LOG_LINE = {"time": "2026-12-06T21:00:00Z", "level": "INFO", "message": "seen while the queue was open"}


def test_it_keeps_a_job_log_line_written_during_a_transaction_that_fails(repository):
    from app.repository import PENDING_QUEUE

    with pytest.raises(ValueError), repository.store.transaction(PENDING_QUEUE):
        repository.append_job_log("lb-fetch", [LOG_LINE], keep=10)
        raise ValueError("the queue change fails")

    assert Repository(repository.data_dir).job_log("lb-fetch") == [LOG_LINE]


def test_it_refuses_a_second_transaction_on_a_file_already_open_in_the_same_thread(repository):
    from app.repository import WISHLIST

    with pytest.raises(RuntimeError, match="wishlist.txt is already open"), repository.store.transaction(WISHLIST):
        repository.add_to_wishlist([WishlistEntry.create("A", "B")])
    assert repository.wishlist() == []


def test_it_names_a_missing_permission(tmp_path):
    # Root ignores file modes: the operation runs in a child process as nobody, on a folder
    # nobody may read but not write (outside the test's own temp dir, which nobody cannot enter).
    folder = Path(tempfile.mkdtemp(prefix="resonance-perm-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        data_dir = folder / "data"
        items = seed(Repository(data_dir))
        before = data_files(data_dir)
        script = ("import sys\nfrom app.repository import Repository, StorageError\n"
                  "try:\n    Repository(sys.argv[1]).approve([sys.argv[2]])\n"
                  "except StorageError as exc:\n    print(exc)\n")
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", script,
             str(data_dir), items[0]["mbid"]],
            env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": os.environ["PATH"]}, cwd=folder,
            capture_output=True, text=True, timeout=60)
        assert result.stdout.strip() == (f"Cannot write to the data folder {data_dir}: its owner or permissions "
                                         "do not let Resonance write there (Permission denied)"), result.stderr
        assert data_files(data_dir) == before
    finally:
        shutil.rmtree(folder)
