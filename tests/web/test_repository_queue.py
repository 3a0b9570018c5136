"""Queue, history and block-list operations the web UI adds to the repository."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from factories import make_queue_item

from app.repository import UNDO_SECONDS, NothingToUndo, Repository
from app.repository.queue import UNDO_KEPT
from app.wishlist import WishlistEntry


def wishlist_texts(repository):
    return [entry.text for entry in repository.wishlist_entries()]


def test_it_undoes_an_approval(repository):
    item = make_queue_item(artist="Justice", album="Cross")
    repository.add_pending([item, make_queue_item()])
    repository.approve([item["mbid"]])
    assert wishlist_texts(repository) == ["Justice - Cross"]

    restored = repository.undo_approve([item["mbid"]])

    assert restored == [item]
    assert "approved_at" not in restored[0]
    assert item["mbid"] in [i["mbid"] for i in repository.queue()["pending"]]
    assert repository.approved_mbids() == []
    assert wishlist_texts(repository) == []


def test_it_keeps_a_wishlist_entry_another_approval_still_wants(repository):
    first = make_queue_item(artist="Justice", album="Cross")
    second = make_queue_item(artist="Justice", album="Cross")  # same album, another release group
    repository.add_pending([first, second])
    repository.approve([first["mbid"], second["mbid"]])
    repository.undo_approve([first["mbid"]])
    assert wishlist_texts(repository) == ["Justice - Cross"]


def test_it_ignores_an_undo_of_something_not_approved(repository):
    item = make_queue_item()
    repository.add_pending([item])
    assert repository.undo_approve([item["mbid"], "unknown"]) == []
    assert repository.queue()["pending"] == [item]


def test_it_unrejects_back_into_the_queue(repository):
    item = make_queue_item()
    repository.add_pending([item])
    repository.reject([item["mbid"]])
    assert repository.unreject([item["mbid"]]) == [item]
    queue = repository.queue()
    assert queue["pending"] == [item]
    assert repository.rejected_mbids() == [] and repository.rejected_page() == ([], 0)
    # it can be suggested and decided again
    repository.reject([item["mbid"]])
    assert repository.rejected_mbids() == [item["mbid"]]


def test_it_forgets_a_bare_rejected_mbid_from_an_older_file(repository, data_dir):
    data_dir.mkdir()
    (data_dir / "pending_queue.json").write_text(json.dumps({"pending": [], "approved": [], "rejected": ["old-mbid"]}))
    assert repository.unreject(["old-mbid"]) == []
    assert repository.rejected_mbids() == []
    assert "old-mbid" not in repository.seen_mbids()


def test_it_removes_pending_items_without_rejecting_them(repository):
    keep, drop = make_queue_item(), make_queue_item()
    repository.add_pending([keep, drop])
    assert repository.remove_pending([drop["mbid"]]) == [drop]
    queue = repository.queue()
    assert queue["pending"] == [keep]
    assert repository.rejected_mbids() == []


def test_it_approves_and_rejects_everything_a_filter_matches(repository):
    lb = [make_queue_item(source="listenbrainz", artist=f"LB {n}") for n in range(3)]
    catalog = [make_queue_item(source="catalog", artist="Kavinsky", album=f"Night {n}") for n in range(2)]
    repository.add_pending(lb + catalog)

    approved, _ = repository.decide_matching("approve", source="listenbrainz")
    assert {i["mbid"] for i in approved} == {i["mbid"] for i in lb}
    assert len(repository.wishlist_entries()) == 3

    rejected, _ = repository.decide_matching("reject", text="night 1")
    assert [i["mbid"] for i in rejected] == [catalog[1]["mbid"]]
    assert [i["mbid"] for i in repository.queue()["pending"]] == [catalog[0]["mbid"]]


def test_it_lists_the_history_newest_first(repository):
    items = [make_queue_item(artist=f"Artist {n}") for n in range(4)]
    repository.add_pending(items)
    for item in items[:2]:
        repository.approve([item["mbid"]])
    for item in items[2:]:
        repository.reject([item["mbid"]])

    approved, total = repository.approved_page()
    assert total == 2 and [i["mbid"] for i in approved] == [items[1]["mbid"], items[0]["mbid"]]
    assert "approved_at" in approved[0]

    rejected, total = repository.rejected_page(limit=1)
    assert total == 2 and [i["mbid"] for i in rejected] == [items[3]["mbid"]]
    assert repository.rejected_page(text=items[2]["artist"])[0][0]["mbid"] == items[2]["mbid"]


def test_it_blocks_an_artist_and_rejects_their_pending_albums(repository):
    theirs = [make_queue_item(artist="The Weeknd"), make_queue_item(artist="weeknd")]
    other = make_queue_item(artist="Justice")
    repository.add_pending([*theirs, other])

    rejected = repository.block_artist("  The   Weeknd ")

    assert {i["mbid"] for i in rejected} == {i["mbid"] for i in theirs}
    queue = repository.queue()
    assert queue["pending"] == [other]
    assert set(repository.rejected_mbids()) == {i["mbid"] for i in theirs}
    assert repository.blocked_artists() == ["The Weeknd"]
    assert repository.add_pending([theirs[0]]) == []  # rejected MBIDs never come back

    repository.block_artist("THE WEEKND")  # the same artist is listed once
    assert repository.blocked_artists() == ["The Weeknd"]


def test_it_unblocks_an_artist(repository):
    repository.block_artist("Kavinsky")
    assert repository.unblock_artist("kavinsky") is True
    assert repository.blocked_artists() == []
    assert repository.unblock_artist("Kavinsky") is False


def test_it_refuses_to_block_an_empty_name(repository):
    with pytest.raises(ValueError):
        repository.block_artist("   ")


def test_it_finds_counts_and_lists_sources(repository):
    item = make_queue_item(source="listenbrainz")
    repository.add_pending([item, make_queue_item(source="catalog")])
    assert repository.find_pending(item["mbid"]) == item
    assert repository.find_pending("nope") is None
    assert repository.pending_count() == 2
    assert repository.pending_sources() == ["catalog", "listenbrainz"]


def test_it_reports_a_job_running_only_while_its_lock_is_held(repository):
    assert repository.job_running("lb-fetch") is False
    repository.update_job_status("lb-fetch", state="running")
    assert repository.job_running("lb-fetch") is False  # a killed runner left "running" behind
    with repository.job_lock("lb-fetch"):
        assert repository.job_running("lb-fetch") is True
    repository.update_job_status("lb-fetch", state="idle")
    with repository.job_lock("lb-fetch"):
        assert repository.job_running("lb-fetch") is False  # idle: no probe at all


def test_it_saves_a_generated_setting_once(repository, data_dir):
    first = repository.saved_setting_once("web", "secret_key", lambda: "generated-1")
    second = Repository(data_dir).saved_setting_once("web", "secret_key", lambda: "generated-2")
    assert first == second == "generated-1"
    assert repository.saved_settings() == {"web": {"secret_key": "generated-1"}}


@pytest.fixture
def lock_order(repository, monkeypatch):
    """The names of the files locked after ``start()``, in order."""

    class LockOrder(list):
        def start(self):
            real_lock = repository.store.lock

            def recording_lock(name, blocking=True):
                self.append(name)
                return real_lock(name, blocking)

            monkeypatch.setattr(repository.store, "lock", recording_lock)

    return LockOrder()


def test_it_keeps_the_lock_order_when_undoing_an_approval(repository, lock_order):
    item = make_queue_item()
    repository.add_pending([item])
    repository.approve([item["mbid"]])
    lock_order.start()
    repository.undo_approve([item["mbid"]])
    repository.block_artist(item["artist"])
    assert lock_order == ["pending_queue.json", "wishlist.txt", "pending_queue.json", "blocked_artists.json"]


def test_it_can_leave_the_wishlist_alone_on_undo(repository):
    repository.add_to_wishlist([WishlistEntry.create("Hand", "Added")])
    item = make_queue_item(artist="Hand", album="Added")
    repository.add_pending([item])
    repository.approve([item["mbid"]])
    repository.undo_approve([item["mbid"]], keep_wishlist=True)
    assert wishlist_texts(repository) == ["Hand - Added"]
    assert repository.find_pending(item["mbid"]) == item


# --- undo of bulk decisions ---------------------------------------------------------------

T0 = datetime(2026, 1, 12, 8, 0, 0, tzinfo=timezone.utc)


def test_it_undoes_a_bulk_approval_taking_off_only_the_entries_it_added(repository):
    repository.add_to_wishlist([WishlistEntry.create("Air", "Moon Safari")])  # there before
    items = [make_queue_item(artist="Justice", album="Cross"), make_queue_item(artist="Air", album="Moon Safari"),
             make_queue_item(artist="Kavinsky", album="OutRun")]
    repository.add_pending(items)

    moved, undo_id = repository.decide_many("approve", [items[0]["mbid"], items[1]["mbid"]], now=T0)

    assert [i["mbid"] for i in moved] == [items[0]["mbid"], items[1]["mbid"]] and undo_id
    assert wishlist_texts(repository) == ["Air - Moon Safari", "Justice - Cross"]
    action, restored = repository.undo_decision(undo_id, now=T0 + timedelta(seconds=30))
    assert action == "approve" and sorted(restored, key=lambda i: i["artist"]) == [items[1], items[0]]
    assert sorted(repository.queue()["pending"], key=lambda i: i["artist"]) == [items[1], items[0], items[2]]
    assert repository.approved_mbids() == []
    assert wishlist_texts(repository) == ["Air - Moon Safari"]


def test_it_undoes_a_bulk_rejection(repository):
    items = [make_queue_item(), make_queue_item()]
    repository.add_pending(items)
    _, undo_id = repository.decide_many("reject", [i["mbid"] for i in items], now=T0)
    assert set(repository.rejected_mbids()) == {i["mbid"] for i in items}

    action, restored = repository.undo_decision(undo_id, now=T0)

    assert action == "reject" and restored == items
    queue = repository.queue()
    assert queue["pending"] == items and repository.rejected_mbids() == [] and repository.rejected_page() == ([], 0)


def test_it_puts_back_only_what_the_bulk_decision_left_where_it_was(repository):
    again, undone, untouched = make_queue_item(), make_queue_item(), make_queue_item()
    repository.add_pending([again, undone, untouched])
    _, undo_id = repository.decide_many("approve", [again["mbid"], undone["mbid"], untouched["mbid"]], now=T0)
    repository.undo_approve([again["mbid"], undone["mbid"]])  # single-card undos meanwhile...
    repository.approve([again["mbid"]])  # ...and one approved again (now, not at T0)

    _, restored = repository.undo_decision(undo_id, now=T0 + timedelta(seconds=5))

    assert restored == [untouched]
    assert repository.approved_mbids() == [again["mbid"]]
    assert wishlist_texts(repository) == [WishlistEntry.create(again["artist"], again["album"]).text]


@pytest.mark.parametrize("when,reason", [(UNDO_SECONDS, "expired"), (0, "unknown")])
def test_it_refuses_an_expired_or_used_undo_and_changes_nothing(repository, data_dir, when, reason):
    items = [make_queue_item(), make_queue_item()]
    repository.add_pending(items)
    _, undo_id = repository.decide_many("approve", [i["mbid"] for i in items], now=T0)
    if reason == "unknown":
        repository.undo_decision(undo_id, now=T0)
        repository.decide_many("approve", [i["mbid"] for i in items], now=T0 + timedelta(seconds=1))
    files = ("pending_queue.json", "wishlist.txt", "queue_undo.json")
    before = {name: (data_dir / name).read_bytes() for name in files}

    with pytest.raises(NothingToUndo) as refused:
        repository.undo_decision(undo_id, now=T0 + timedelta(seconds=when))

    assert refused.value.reason == reason
    assert {name: (data_dir / name).read_bytes() for name in before} == before


def test_it_refuses_an_undo_with_nothing_left_to_put_back(repository):
    item = make_queue_item()
    repository.add_pending([item])
    _, undo_id = repository.decide_many("reject", [item["mbid"]], now=T0)
    repository.unreject([item["mbid"]])
    with pytest.raises(NothingToUndo) as refused:
        repository.undo_decision(undo_id, now=T0)
    assert refused.value.reason == "moved_on"
    assert repository.queue()["pending"] == [item]


def test_it_records_no_undo_when_nothing_moved(repository, data_dir):
    assert repository.decide_many("approve", ["not-pending"], now=T0) == ([], None)
    assert not (data_dir / "queue_undo.json").exists()
    with pytest.raises(ValueError):
        repository.decide_many("block", ["x"])


def test_it_keeps_a_few_recent_undos_only(repository, data_dir):
    items = [make_queue_item() for _ in range(UNDO_KEPT + 2)]
    repository.add_pending(items)
    ids = [repository.decide_many("reject", [item["mbid"]], now=T0 + timedelta(seconds=n))[1]
           for n, item in enumerate(items)]
    remembered = read_json(data_dir / "queue_undo.json")
    assert list(remembered) == ids[-UNDO_KEPT:]
    with pytest.raises(NothingToUndo):
        repository.undo_decision(ids[0], now=T0 + timedelta(seconds=20))
    # a decision after the others expired leaves only itself
    late = make_queue_item()
    repository.add_pending([late])
    _, late_id = repository.decide_many("reject", [late["mbid"]], now=T0 + timedelta(seconds=UNDO_SECONDS + 60))
    assert list(read_json(data_dir / "queue_undo.json")) == [late_id]


def test_it_keeps_the_undo_of_ten_thousand_albums_small(repository, data_dir):
    items = [make_queue_item(source="listenbrainz") for _ in range(10_000)]
    repository.add_pending(items)
    moved, undo_id = repository.decide_matching("approve", source="listenbrainz", now=T0)
    assert len(moved) == 10_000
    record = read_json(data_dir / "queue_undo.json")[undo_id]
    assert set(record) == {"action", "at", "expires_at", "mbids", "kept_on_wishlist"}  # MBIDs, not the items
    assert (data_dir / "queue_undo.json").stat().st_size < 600_000
    assert len(repository.undo_decision(undo_id, now=T0)[1]) == 10_000
    assert repository.pending_count() == 10_000 and repository.wishlist_entries() == []


def test_it_takes_the_locks_in_order_for_bulk_decisions_and_their_undo(repository, lock_order):
    item = make_queue_item()
    repository.add_pending([item])
    lock_order.start()
    _, undo_id = repository.decide_many("approve", [item["mbid"]], now=T0)
    repository.undo_decision(undo_id, now=T0)
    assert lock_order == ["pending_queue.json", "queue_undo.json", "wishlist.txt"] * 2


def test_it_quarantines_an_unreadable_undo_file(repository, data_dir):
    data_dir.mkdir()
    (data_dir / "queue_undo.json").write_text('{"abc": {"action": "explode"}}')
    with pytest.raises(NothingToUndo):
        repository.undo_decision("abc")
    [moved] = repository.quarantined_files()
    assert moved.name.startswith("queue_undo.json.corrupt-")


def read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))
