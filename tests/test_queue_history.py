"""The decided albums in history/: records in YYYY-MM.jsonl segments, MBIDs in decided.txt; both appended to."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from datetime import datetime, timezone

import orjson
import pytest
from factories import make_queue_item

from app.repository import Repository, StorageError
from app.repository import history as history_module
from app.repository.store import Store


def at(year: int, month: int, day: int = 5) -> datetime:
    return datetime(year, month, day, 8, 0, tzinfo=timezone.utc)


def decide(repository, action, items, moment):
    repository.add_pending(items)
    moved, _ = repository.decide_many(action, [item["mbid"] for item in items], now=moment)
    assert len(moved) == len(items)


def segment_lines(data_dir, name):
    return [json.loads(line) for line in (data_dir / "history" / name).read_text().splitlines()]


def test_it_appends_decisions_to_history_and_keeps_them_out_of_the_queue_file(repository, data_dir):
    approved, rejected = make_queue_item(album="Cross"), make_queue_item(album="Discovery")
    decide(repository, "approve", [approved], at(2026, 1))
    decide(repository, "reject", [rejected], at(2026, 2))

    queue = json.loads((data_dir / "pending_queue.json").read_text())
    # The reject was appended: the file is as the last add_pending wrote it (it folded the approve in).
    assert [item["mbid"] for item in queue["pending"]] == [rejected["mbid"]]
    assert queue["approved"] == [] and queue["rejected"] == [] and "rejected_info" not in queue
    assert Repository(data_dir).queue()["pending"] == [] and repository.pending_count() == 0
    repository.remove_pending([])  # any change that rewrites the file leaves the decided albums out
    assert json.loads((data_dir / "pending_queue.json").read_text())["pending"] == []
    assert (data_dir / "history" / "decided.txt").read_text() == f"approve {approved['mbid']}\nreject {rejected['mbid']}\n"
    assert repository.approved_mbids() == [approved["mbid"]] and repository.rejected_mbids() == [rejected["mbid"]]
    assert segment_lines(data_dir, "2026-01.jsonl") == [
        {"action": "approve", "at": "2026-01-05T08:00:00Z", "item": approved}]
    assert segment_lines(data_dir, "2026-02.jsonl") == [
        {"action": "reject", "at": "2026-02-05T08:00:00Z", "item": rejected}]


def test_it_never_suggests_a_decided_album_again(repository, data_dir):
    approved, rejected = make_queue_item(), make_queue_item()
    decide(repository, "approve", [approved], at(2026, 1))
    decide(repository, "reject", [rejected], at(2026, 2))
    for name in os.listdir(data_dir / "history"):
        if name.endswith(".jsonl"):
            os.unlink(data_dir / "history" / name)  # the records are not needed for the check

    fresh = Repository(data_dir)  # another process: only the compact lists to go by
    assert {approved["mbid"], rejected["mbid"]} <= fresh.seen_mbids()
    assert fresh.add_pending([approved, rejected]) == []
    assert fresh.queue()["pending"] == []


def test_it_pages_the_history_newest_first_across_month_segments(repository, data_dir):
    months = [at(2025, 11), at(2025, 12), at(2026, 1)]
    albums = {moment: [make_queue_item(), make_queue_item()] for moment in months}
    for moment, items in albums.items():
        decide(repository, "approve", items, moment)
    decide(repository, "reject", [make_queue_item()], at(2026, 1, 6))
    newest_first = [item["mbid"] for moment in reversed(months) for item in reversed(albums[moment])]

    fresh = Repository(data_dir)
    pages = [fresh.approved_page(offset=offset, limit=4) for offset in (0, 4)]
    assert [page[1] for page in pages] == [6, 6]
    assert [item["mbid"] for page, _ in pages for item in page] == newest_first
    assert pages[0][0][0]["approved_at"] == "2026-01-05T08:00:00Z"
    assert sorted(os.listdir(data_dir / "history")) == ["2025-11.jsonl", "2025-12.jsonl", "2026-01.jsonl", "decided.txt"]
    oldest = albums[months[0]][0]
    assert fresh.approved_page(text=oldest["album"]) == ([{**oldest, "approved_at": "2025-11-05T08:00:00Z"}], 1)


def test_it_undoes_a_decision_from_the_history(repository, data_dir):
    earlier, later = make_queue_item(artist="Justice", album="Cross"), make_queue_item()
    repository.add_pending([earlier])
    _, undo_id = repository.decide_many("approve", [earlier["mbid"]], now=datetime.now(timezone.utc))
    decide(repository, "approve", [later], datetime.now(timezone.utc))  # written after it

    action, restored = Repository(data_dir).undo_decision(undo_id)

    assert action == "approve" and restored == [earlier]
    assert [entry.text for entry in repository.wishlist_entries()] == [later["artist"] + " - " + later["album"]]
    assert repository.approved_mbids() == [later["mbid"]]
    assert [item["mbid"] for item in repository.approved_page()[0]] == [later["mbid"]]


def test_it_unrejects_an_album_rejected_months_ago(repository, data_dir):
    old = make_queue_item()
    decide(repository, "reject", [old], at(2025, 3))
    decide(repository, "reject", [make_queue_item() for _ in range(3)], at(2026, 1))

    fresh = Repository(data_dir)
    assert fresh.unreject([old["mbid"]]) == [old]
    assert old["mbid"] not in fresh.rejected_mbids()
    assert fresh.find_pending(old["mbid"]) == old
    assert old["mbid"] not in [item["mbid"] for item in fresh.rejected_page()[0]]


def test_it_undoes_a_single_approval_and_approves_again(repository, data_dir):
    item = make_queue_item()
    repository.add_pending([item])
    repository.approve([item["mbid"]])
    assert repository.find_pending(item["mbid"]) is None
    assert repository.undo_approve([item["mbid"]]) == [item]
    repository.approve([item["mbid"]])
    assert repository.approved_page()[1] == 1 and repository.approved_page()[0][0]["mbid"] == item["mbid"]


def full_disk(store, path):
    return StorageError(store.data_dir, path, OSError(errno.ENOSPC, "No space left on device"))


def fail_the_wishlist_write(monkeypatch):
    real_write_temp = Store._write_temp

    def failing(store, file, data):
        if file.filename == "wishlist.txt":
            raise full_disk(store, store.path(file))
        return real_write_temp(store, file, data)

    monkeypatch.setattr(Store, "_write_temp", failing)


def fail_the_mark_in_the_middle(monkeypatch):
    real_append = history_module._append

    def failing(path, data):
        if path.name == "decided.txt":
            with open(path, "ab") as handle:
                handle.write(data[:7])  # half a line reached the disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_append(path, data)

    monkeypatch.setattr(history_module, "_append", failing)


@pytest.mark.parametrize("failure", [fail_the_wishlist_write, fail_the_mark_in_the_middle])
def test_it_forgets_history_lines_whose_decision_did_not_commit(repository, data_dir, monkeypatch, failure):
    kept, lost = make_queue_item(), make_queue_item()
    repository.add_pending([kept, lost])
    repository.approve([kept["mbid"]])
    decided_before = (data_dir / "history" / "decided.txt").read_bytes()
    wishlist_before = (data_dir / "wishlist.txt").read_bytes()

    failure(monkeypatch)
    with pytest.raises(StorageError):
        repository.approve([lost["mbid"]])
    monkeypatch.undo()

    assert (data_dir / "history" / "decided.txt").read_bytes() == decided_before
    assert (data_dir / "wishlist.txt").read_bytes() == wishlist_before  # put back
    [segment] = [name for name in os.listdir(data_dir / "history") if name.endswith(".jsonl")]
    assert [line["item"]["mbid"] for line in segment_lines(data_dir, segment)] == [kept["mbid"]]
    for reader in (repository, Repository(data_dir)):
        assert [item["mbid"] for item in reader.approved_page()[0]] == [kept["mbid"]]
        assert reader.find_pending(lost["mbid"]) == lost
    repository.reject([lost["mbid"]])
    assert (data_dir / "history" / "decided.txt").read_text() == f"approve {kept['mbid']}\nreject {lost['mbid']}\n"
    assert [(line["action"], line["item"]["mbid"]) for line in segment_lines(data_dir, segment)] == [
        ("approve", kept["mbid"]), ("reject", lost["mbid"])]


def test_it_keeps_an_undo_whose_marks_a_crash_kept_from_decided_txt(repository, data_dir):
    item = make_queue_item()
    repository.add_pending([item])
    repository.approve([item["mbid"]])
    decided = data_dir / "history" / "decided.txt"
    before = decided.read_bytes()
    repository.undo_approve([item["mbid"]])
    assert decided.read_bytes() == before + f"undo-approve {item['mbid']}\n".encode()
    decided.write_bytes(before)  # as if the process died between the queue's rename and the append

    fresh = Repository(data_dir)
    assert fresh.find_pending(item["mbid"]) == item and fresh.approved_mbids() == []
    fresh.reject([item["mbid"]])  # the next writer appends what the queue owes first
    assert decided.read_text() == before.decode() + f"undo-approve {item['mbid']}\nreject {item['mbid']}\n"
    assert Repository(data_dir).rejected_mbids() == [item["mbid"]] and fresh.pending_count() == 0


def test_it_skips_a_torn_last_line_and_cuts_it_at_the_next_decision(repository, data_dir):
    first, second = make_queue_item(), make_queue_item()
    decide(repository, "approve", [first], at(2026, 1))
    path = data_dir / "history" / "2026-01.jsonl"
    with open(path, "ab") as handle:  # a crash in the middle of an append
        handle.write(b'{"action": "approve", "at": "2026-01-05T09:00:00Z", "item": {"artist": "Ju')

    fresh = Repository(data_dir)
    assert [item["mbid"] for item in fresh.approved_page()[0]] == [first["mbid"]]
    decide(fresh, "approve", [second], at(2026, 1, 6))
    assert [line["item"]["mbid"] for line in segment_lines(data_dir, "2026-01.jsonl")] == [first["mbid"], second["mbid"]]
    assert fresh.damaged_history_lines() == []


def test_it_skips_and_lists_a_damaged_line_and_decisions_go_on(repository, data_dir):
    items = [make_queue_item() for _ in range(3)]
    decide(repository, "reject", items, at(2026, 1))
    path = data_dir / "history" / "2026-01.jsonl"
    lines = path.read_bytes().split(b"\n")
    lines[1] = b'{"action": "reject", "item": 5' + b" " * (len(lines[1]) - 30)  # hand-edited, same length
    path.write_bytes(b"\n".join(lines))

    fresh = Repository(data_dir)
    page, total = fresh.rejected_page()
    assert [item["mbid"] for item in page] == [items[2]["mbid"], items[0]["mbid"], items[1]["mbid"]]
    assert "album" not in page[2]  # shown by its MBID only
    [damaged] = fresh.damaged_history_lines()
    assert damaged.startswith("history/2026-01.jsonl at byte ") and "not valid JSON" in damaged
    assert fresh.unreject([items[0]["mbid"]]) == [items[0]]
    assert fresh.unreject([items[1]["mbid"]]) == []  # its record is lost: only forgotten
    assert fresh.rejected_mbids() == [items[2]["mbid"]]


# --- a data dir from before history/ -------------------------------------------------


def old_data_dir(data_dir):
    """A data dir as the version before history/ wrote it: records in approved and rejected_info."""
    pending = [make_queue_item() for _ in range(2)]
    approved = [{**make_queue_item(), "approved_at": "2025-12-01T10:00:00Z"},
                {**make_queue_item(), "approved_at": "2026-01-02T10:00:00Z"}]
    rejected = [{**make_queue_item(), "rejected_at": "2025-11-03T10:00:00Z"}]
    queue = {"pending": pending, "approved": ["bare-approved-mbid", *approved],
             "rejected": ["bare-rejected-mbid", rejected[0]["mbid"]],
             "rejected_info": {rejected[0]["mbid"]: rejected[0]}}
    data_dir.mkdir(parents=True, exist_ok=True)
    raw = orjson.dumps(queue, option=orjson.OPT_INDENT_2) + b"\n"
    (data_dir / "pending_queue.json").write_bytes(raw)
    return raw, pending, approved, rejected


def strip(item, key):
    return {k: v for k, v in item.items() if k != key}


def test_it_moves_the_history_out_of_an_old_queue_file_once(data_dir):
    raw, pending, approved, rejected = old_data_dir(data_dir)

    repository = Repository(data_dir)
    queue = repository.queue()

    assert queue["pending"] == pending
    assert queue["approved"] == queue["rejected"] == [] and "rejected_info" not in queue
    assert repository.approved_mbids() == ["bare-approved-mbid", approved[0]["mbid"], approved[1]["mbid"]]
    assert repository.rejected_mbids() == ["bare-rejected-mbid", rejected[0]["mbid"]]
    assert (data_dir / "pending_queue.json.before-history").read_bytes() == raw
    assert sorted(os.listdir(data_dir / "history")) == ["2025-11.jsonl", "2025-12.jsonl", "2026-01.jsonl", "decided.txt"]
    page, total = repository.approved_page()
    assert total == 3 and page == [approved[1], approved[0], {"mbid": "bare-approved-mbid"}]
    assert {"bare-approved-mbid", "bare-rejected-mbid", rejected[0]["mbid"]} <= repository.seen_mbids()
    assert repository.unreject([rejected[0]["mbid"]]) == [strip(rejected[0], "rejected_at")]
    assert repository.quarantined_files() == []

    written = (data_dir / "pending_queue.json").stat()
    Repository(data_dir).queue()  # the next start: nothing left to move
    assert (data_dir / "pending_queue.json").stat().st_ino == written.st_ino


def test_it_finishes_a_move_a_crash_interrupted(data_dir, monkeypatch):
    raw, pending, approved, rejected = old_data_dir(data_dir)
    real_replace = os.replace

    def crash_before_the_queue(source, target, *args, **kwargs):
        if os.fspath(target).endswith("pending_queue.json"):
            raise OSError(errno.EIO, "Input/output error")
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", crash_before_the_queue)
    interrupted = Repository(data_dir)
    queue = interrupted.queue()  # reading goes on, from the old file
    assert queue["pending"] == pending and "rejected_info" in queue
    assert interrupted.seen_mbids() >= {entry["mbid"] for entry in approved + rejected}
    monkeypatch.undo()
    assert (data_dir / "pending_queue.json").read_bytes() == raw  # the old layout, whole
    assert os.listdir(data_dir / "history")  # segments written before the crash

    repository = Repository(data_dir)
    assert repository.approved_mbids() == ["bare-approved-mbid", approved[0]["mbid"], approved[1]["mbid"]]
    every_line = [line for name in sorted(os.listdir(data_dir / "history")) if name.endswith(".jsonl")
                  for line in segment_lines(data_dir, name)]
    assert [line["item"]["mbid"] for line in every_line] == [
        rejected[0]["mbid"], approved[0]["mbid"], approved[1]["mbid"]]  # each once
    assert repository.rejected_page()[0][0] == rejected[0]


def test_it_sorts_the_queue_once_per_version_of_the_file(repository, monkeypatch):
    from app.repository import queue as queue_module

    repository.add_pending([make_queue_item() for _ in range(20)])
    keys_worked_out = []
    by_score = queue_module._SORT_KEYS["score"]
    monkeypatch.setitem(queue_module._SORT_KEYS, "score", lambda item: keys_worked_out.append(1) or by_score(item))

    first = repository.pending_page(sort="score", limit=5)
    assert len(keys_worked_out) == 20
    assert repository.pending_page(sort="score", limit=5) == first
    assert repository.pending_page(sort="score", offset=5, limit=5, source="catalog")[1] == 20
    assert len(keys_worked_out) == 20  # the order is kept with the parse

    repository.add_pending([make_queue_item()])  # a new version of the file
    assert repository.pending_page(sort="score", limit=5)[1] == 21
    assert len(keys_worked_out) == 41



def test_it_decides_by_appending_and_rewrites_the_queue_file_only_now_and_then(repository, data_dir, monkeypatch):
    from app.repository import queue as queue_module

    monkeypatch.setattr(queue_module, "REWRITE_AFTER", 3)
    items = [make_queue_item() for _ in range(6)]
    repository.add_pending(items)
    queue_file = data_dir / "pending_queue.json"
    written = queue_file.read_bytes()
    for item in items[:3]:
        repository.approve([item["mbid"]])
        assert queue_file.read_bytes() == written  # appended to history/ only
        assert Repository(data_dir).find_pending(item["mbid"]) is None
    assert Repository(data_dir).pending_count() == 3

    repository.reject([items[3]["mbid"]])  # the fourth in a row rewrites the file, folding the three in
    rewritten = json.loads(queue_file.read_text())
    assert [item["mbid"] for item in rewritten["pending"]] == [item["mbid"] for item in items[4:]]
    mark = f"reject {items[3]['mbid']}"  # the rewrite's own decision: appended after the rename, owed till then
    size = (data_dir / "history" / "decided.txt").stat().st_size
    assert rewritten["history"] == {"decided": size - len(mark) - 1, "owed": [mark]}
    fresh = Repository(data_dir)
    assert fresh.pending_count() == 2
    assert {i["mbid"] for i in fresh.pending_page()[0]} == {item["mbid"] for item in items[4:]}
    assert fresh.approved_mbids() == [item["mbid"] for item in items[:3]] and fresh.rejected_mbids() == [items[3]["mbid"]]


def test_it_reads_only_the_decisions_since_the_queue_file_was_written_for_a_queue_page(repository, data_dir):
    items = [make_queue_item() for _ in range(3)]
    repository.add_pending(items)
    repository.approve([items[0]["mbid"]])
    repository.remove_pending([])  # rewritten: the approve is folded in, and the record moves past it
    decided = data_dir / "history" / "decided.txt"
    # A hand edit before the record: a page of the queue does not read that far back.
    first, rest = decided.read_bytes().split(b"\n", 1)
    decided.write_bytes(b"x" * len(first) + b"\n" + rest)
    repository.approve([items[1]["mbid"]])

    fresh = Repository(data_dir)
    assert [item["mbid"] for item in fresh.pending_page()[0]] == [items[2]["mbid"]]
    assert fresh.pending_count() == 1 and fresh.damaged_history_lines() == []
    fresh.approved_page()  # the History page reads the whole of it, and says what it skipped
    [damaged] = fresh.damaged_history_lines()
    assert damaged.startswith("history/decided.txt at byte 0: not a decision: b'xxxx")


def test_it_moves_the_history_out_with_the_cli_before_any_service_reads_the_queue(data_dir, python, subprocess_env):
    raw, pending, approved, rejected = old_data_dir(data_dir)
    env = {**subprocess_env, "RESONANCE_DATA_DIR": str(data_dir)}

    done = subprocess.run([python, "-m", "app.cli", "upgrade-data"], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert "decided albums moved to history/" in done.stderr
    assert (data_dir / "pending_queue.json.before-history").read_bytes() == raw
    moved = json.loads((data_dir / "pending_queue.json").read_text())
    assert moved["pending"] == pending and "rejected_info" not in moved
    again = subprocess.run([python, "-m", "app.cli", "upgrade-data"], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stderr == ""  # once only


def test_it_lets_go_of_the_whole_decided_list_when_the_history_is_not_in_use(repository, data_dir):
    items = [make_queue_item() for _ in range(4)]
    decide(repository, "approve", items[:2], at(2026, 1))
    decide(repository, "reject", items[2:], at(2026, 2))
    assert repository.approved_page()[1] == 2  # the History page parses all of decided.txt
    assert repository.history.forget_unused(seconds=3600) is False  # just used

    assert repository.history.forget_unused(seconds=0) is True
    assert repository.history.forget_unused(seconds=0) is False  # nothing left to let go of
    assert repository.approved_mbids() == [item["mbid"] for item in items[:2]]  # read again when asked
    assert repository.rejected_page()[1] == 2
