import json
import logging
import os
import threading

import orjson
import pytest
from conditions import wait_for
from factories import make_queue_item
from marshmallow import ValidationError

from app.records import load_queue_items
from app.repository import PENDING_QUEUE, WISHLIST, Repository
from app.wishlist import WishlistEntry


def read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_it_creates_the_data_dir_on_first_write(repository, data_dir):
    assert not data_dir.exists()
    repository.add_pending([make_queue_item()])
    assert (data_dir / "pending_queue.json").is_file()


def test_it_reads_defaults_when_nothing_is_there(repository):
    assert repository.queue()["pending"] == []
    assert repository.wishlist() == []
    assert repository.processed() == []


def test_it_keeps_the_architecture_file_format(repository, data_dir):
    item = make_queue_item(artist="Justice", album="Cross", year=2007)
    repository.add_pending([item])
    doc = read_json(data_dir / "pending_queue.json")
    assert set(doc) >= {"pending", "approved", "rejected"}
    assert doc["pending"][0]["artist"] == "Justice"
    assert doc["pending"][0]["similar_to"] == ["Daft Punk", "Kavinsky"]


def test_it_reads_a_file_written_by_the_original_app(repository, data_dir):
    data_dir.mkdir()
    (data_dir / "pending_queue.json").write_text(json.dumps({
        "pending": [{"artist": "Boards of Canada", "album": "Music Has the Right to Children", "mbid": "def456",
                     "type": "album", "added_at": "2026-01-11T10:00:00Z", "score": 85, "source": "listenbrainz",
                     "source_track": "Roygbiv", "cover_url": "https://coverartarchive.org/x", "year": 1998}],
        "approved": [],
        "rejected": ["mbid-of-rejected-album"],
    }))
    page, total = repository.pending_page()
    assert total == 1 and page[0]["source_track"] == "Roygbiv"
    assert "mbid-of-rejected-album" in repository.seen_mbids()


def test_it_does_not_add_what_was_already_seen(repository):
    item = make_queue_item()
    assert repository.add_pending([item, item]) == [item]
    repository.reject([item["mbid"]])
    assert repository.add_pending([item]) == []
    assert repository.queue()["pending"] == []


def test_it_approves_into_the_wishlist(repository, data_dir):
    keep, chosen = make_queue_item(), make_queue_item(artist="Sigur Rós", album="( )")
    repository.add_pending([keep, chosen])
    moved = repository.approve([chosen["mbid"]])
    assert [m["mbid"] for m in moved] == [chosen["mbid"]]
    queue = repository.queue()
    assert [i["mbid"] for i in queue["pending"]] == [keep["mbid"]]
    assert repository.approved_mbids() == [chosen["mbid"]] and queue["approved"] == []  # the record is in history/
    [approved], _ = repository.approved_page()
    assert approved["album"] == chosen["album"] and approved["approved_at"]
    assert (data_dir / "wishlist.txt").read_text(encoding="utf-8") == 'a:"Sigur Rós - ( )"\n'


def test_it_rejects_and_remembers_the_mbid(repository):
    item = make_queue_item()
    repository.add_pending([item])
    repository.reject([item["mbid"]])
    queue = repository.queue()
    assert queue["pending"] == [] and repository.rejected_mbids() == [item["mbid"]]
    assert repository.rejected_page()[0][0]["album"] == item["album"]


def test_it_pages_filters_and_sorts(repository):
    items = [make_queue_item(score=float(s), source=src) for s, src in
             [(10, "catalog"), (90, "listenbrainz"), (50, "catalog"), (70, "catalog")]]
    repository.add_pending(items)
    page, total = repository.pending_page(sort="score", source="catalog", limit=2)
    assert total == 3
    assert [i["score"] for i in page] == [70.0, 50.0]
    page, total = repository.pending_page(text=items[1]["album"].upper())
    assert total == 1 and page[0]["mbid"] == items[1]["mbid"]


def test_it_opens_newest_first_and_among_cards_added_together_those_out_lead(repository):
    """An announced album's card waits for its day once approved; the first cards can all be had today."""
    earlier = [make_queue_item(album="Earlier", added_at="2026-12-01T09:00:00Z")]
    together = [make_queue_item(album="Announced", release_date="2027-02-05", added_at="2026-12-07T06:00:00Z"),
                make_queue_item(album="Best gap", added_at="2026-12-07T06:00:00Z"),
                make_queue_item(album="Out last week", release_date="2026-11-30", added_at="2026-12-07T06:00:00Z"),
                make_queue_item(album="Next gap", added_at="2026-12-07T06:00:00Z")]
    repository.add_pending(earlier + together)
    page, _ = repository.pending_page()
    # Within the same second the file's order (a run's rank) holds; announced ones follow.
    assert [i["album"] for i in page] == ["Best gap", "Out last week", "Next gap", "Announced", "Earlier"]


def test_it_sees_writes_from_another_repository_instance(data_dir):
    first, second = Repository(data_dir), Repository(data_dir)
    first.add_pending([make_queue_item()])
    assert len(second.queue()["pending"]) == 1  # fills second's cache
    first.add_pending([make_queue_item()])
    assert len(second.queue()["pending"]) == 2  # the cache follows the file


def test_it_parses_a_file_ahead_only_when_another_process_changed_it(data_dir, monkeypatch):
    writer, reader = Repository(data_dir), Repository(data_dir)
    writer.add_pending([make_queue_item()])
    assert reader.store.refresh(PENDING_QUEUE) is True  # never read before: parsed now
    assert reader.store.refresh(PENDING_QUEUE) is False  # unchanged: one stat, no parse
    writer.add_pending([make_queue_item()])
    assert reader.store.refresh(PENDING_QUEUE) is True
    monkeypatch.setattr(orjson, "loads", None)  # a page load now must not parse
    assert reader.pending_count() == 2
    assert reader.store.refresh(WISHLIST) is False  # absent: nothing to parse


def test_it_keeps_files_parsed_in_the_background_until_stopped(data_dir):
    writer, reader = Repository(data_dir), Repository(data_dir)
    parsed = []
    real_refresh = reader.store.refresh
    reader.store.refresh = lambda file: parsed.append(file.filename) if real_refresh(file) else None
    stop = threading.Event()
    thread = reader.keep_warm((PENDING_QUEUE,), 0.01, stop)
    writer.add_pending([make_queue_item()])
    wait_for(lambda: parsed == ["pending_queue.json"], what="the file parsed in the background")
    assert reader.store._cache["pending_queue.json"][1]["pending"][0]["mbid"] == writer.queue()["pending"][0]["mbid"]
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_it_reports_a_background_read_error_once(data_dir):
    reader, errors, stop = Repository(data_dir), [], threading.Event()

    refreshes = []

    def failing_refresh(file):
        refreshes.append(file)
        raise PermissionError(13, "Permission denied")

    reader.store.refresh = failing_refresh
    thread = reader.keep_warm((PENDING_QUEUE,), 0.01, stop, on_error=lambda file, exc: errors.append(file.filename))
    wait_for(lambda: len(refreshes) >= 10, what="ten refreshes")
    stop.set()
    thread.join(timeout=5)
    assert errors == ["pending_queue.json"]


def test_it_validates_queue_items_at_the_boundary():
    with pytest.raises(ValidationError) as excinfo:
        load_queue_items([{"artist": "", "album": "X", "mbid": "m", "year": "soon"}])
    assert set(excinfo.value.messages[0]) == {"artist", "year"}


def test_it_quarantines_an_unparsable_file(repository, data_dir, caplog):
    data_dir.mkdir()
    broken = data_dir / "pending_queue.json"
    broken.write_text('{"pending": [ {"artist": "half a file')
    with caplog.at_level(logging.ERROR, logger="resonance.repository"):
        assert repository.queue()["pending"] == []
    moved = repository.quarantined_files()
    assert len(moved) == 1 and moved[0].name.startswith("pending_queue.json.corrupt-")
    assert moved[0].read_text() == '{"pending": [ {"artist": "half a file'
    assert str(moved[0]) in caplog.text
    # The app carries on: the next write starts a new file, the old one stays aside.
    repository.add_pending([make_queue_item()])
    assert len(read_json(broken)["pending"]) == 1
    assert moved[0].exists()


def test_it_quarantines_a_file_of_the_wrong_shape_inside_a_transaction(repository, data_dir):
    data_dir.mkdir()
    (data_dir / "processed.json").write_text('{"not": "a list"}')
    repository.mark_processed(["a"])
    assert repository.processed() == ["a"]
    [moved] = repository.quarantined_files()
    assert read_json(moved) == {"not": "a list"}


def test_it_quarantines_a_wishlist_that_is_not_utf8(repository, data_dir):
    data_dir.mkdir()
    (data_dir / "wishlist.txt").write_bytes(b'a:"Bj\xf6rk - Homogenic"\n')
    assert repository.wishlist() == []
    [moved] = repository.quarantined_files()
    assert moved.read_bytes() == b'a:"Bj\xf6rk - Homogenic"\n'


def test_it_keeps_malformed_wishlist_lines_when_it_rewrites(repository, data_dir):
    data_dir.mkdir()
    hand_edited = '# my list\na:"Björk - Homogenic"\nthis line is nonsense\n"Portishead - Roads"\n'
    (data_dir / "wishlist.txt").write_text(hand_edited, encoding="utf-8")
    [(line_number, bad)] = repository.malformed_wishlist_lines()
    assert line_number == 3 and bad.raw == "this line is nonsense" and bad.error
    repository.add_to_wishlist([WishlistEntry.create("Sigur Rós", "Takk...")])
    assert (data_dir / "wishlist.txt").read_text(encoding="utf-8") == hand_edited + 'a:"Sigur Rós - Takk..."\n'
    assert [e.kind for e in repository.wishlist_entries()] == ["album", "track", "album"]


def test_it_does_not_add_a_wishlist_entry_twice(repository):
    repository.add_to_wishlist([WishlistEntry.create("Björk", "Homogenic")])
    assert repository.add_to_wishlist([WishlistEntry.create("  björk ", "HOMOGENIC")]) == []
    assert len(repository.wishlist_entries()) == 1
    assert repository.remove_from_wishlist([WishlistEntry.create("BJÖRK", "homogenic")]) == 1
    assert repository.wishlist_entries() == []


def test_it_writes_nothing_when_a_transaction_fails(repository, data_dir):
    repository.add_pending([make_queue_item()])
    before = (data_dir / "pending_queue.json").read_bytes()
    with pytest.raises(RuntimeError):
        with repository.store.transaction(PENDING_QUEUE) as queue:
            queue["pending"].clear()
            raise RuntimeError("boom")
    assert (data_dir / "pending_queue.json").read_bytes() == before


def test_it_removes_temp_files_left_by_a_dead_writer(repository, data_dir):
    repository.add_to_wishlist([WishlistEntry.create("A", "B")])
    leftover = data_dir / ".wishlist.txt.abc123.tmp"
    leftover.write_text("partial")
    repository.add_to_wishlist([WishlistEntry.create("C", "D")])
    assert not leftover.exists()
    assert not list(data_dir.glob("*.tmp"))


def test_it_writes_files_readable_by_others(repository, data_dir):
    repository.add_to_wishlist([WishlistEntry.create("A", "B")])
    assert os.stat(data_dir / WISHLIST.filename).st_mode & 0o777 == 0o644


def test_it_merges_saved_settings_and_removes_with_none(repository):
    repository.save_settings({"lastfm": {"api_key": "k"}, "web": {"port": 9000}})
    repository.save_settings({"web": {"port": None}})
    assert repository.saved_settings() == {"lastfm": {"api_key": "k"}}


def test_it_keeps_job_logs_bounded(repository):
    for n in range(5):
        repository.append_job_log("lb-fetch", [{"message": f"line {n}"}], keep=3)
    assert [e["message"] for e in repository.job_log("lb-fetch")] == ["line 2", "line 3", "line 4"]


def test_it_hands_a_run_request_to_one_taker(repository):
    assert repository.take_run_request("lb-fetch") is None
    repository.request_run("lb-fetch")
    assert repository.take_run_request("lb-fetch")
    assert repository.take_run_request("lb-fetch") is None


def test_a_run_asked_for_later_waits_is_pushed_back_and_never_puts_off_one_asked_for_now(repository):
    job = "slskd-downloader"
    repository.request_run(job, after_seconds=30)  # an approval
    first = repository.run_requests()[job]
    assert repository.take_run_request(job) is None and 28 <= repository.run_due_in(job) <= 30
    repository.request_run(job, after_seconds=35)  # the next approval within the slack: no write
    assert repository.run_requests()[job] == first
    repository.request_run(job, after_seconds=60)  # the next approval pushes it back
    assert repository.run_requests()[job] > first and repository.take_run_request(job) is None
    repository.request_run(job)  # "Run now": due at once
    assert repository.run_due_in(job) == 0
    repository.request_run(job, after_seconds=30)  # an approval after it does not put it off
    assert repository.take_run_request(job) is not None and repository.run_due_in(job) is None
    repository.request_run(job, after_seconds=30)
    repository.cancel_run_request(job)  # a run started: it answers what was asked
    assert repository.run_requests() == {}
