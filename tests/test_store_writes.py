"""How the store writes a large file: the same bytes as one encode, without one buffer the size of the file."""

from __future__ import annotations

import os
import threading
import tracemalloc

import orjson
import pytest

from app.repository import PENDING_QUEUE, PROCESSED, Repository
from app.repository.store import _json_encode, _json_pieces
from factories import make_queue_item


def queue_document(pending: int, approved: int = 0, rejected: int = 0) -> dict:
    items = [make_queue_item() for _ in range(pending + approved + rejected)]
    decided = items[pending:]
    rejected_items = [{**item, "rejected_at": "2026-01-02T03:04:05Z"} for item in decided[approved:]]
    return {
        "pending": items[:pending],
        "approved": [{**item, "approved_at": "2026-01-02T03:04:05Z"} for item in decided[:approved]],
        "rejected": [item["mbid"] for item in rejected_items],
        "rejected_info": {item["mbid"]: item for item in rejected_items},
    }


DOCUMENTS = {
    "empty object": {},
    "empty list": [],
    "a scalar": "just text",
    "the empty queue": {"pending": [], "approved": [], "rejected": [], "rejected_info": {}},
    "a queue of every kind": queue_document(pending=250, approved=130, rejected=101),
    "a long list of text": [f"mbid-{n}" for n in range(1001)],
    "an object of many objects": {f"artist {n}": {"asked_at": n, "tags": ["a", "b"], "none": None}
                                  for n in range(317)},
    "many top-level keys": {f"key {n}": [n, {"deep": [n, [], {}]}] for n in range(40)},
    "nested empties and scalars": {"a": [[], {}, [[]], {"b": {}}], "c": {"d": [], "e": {"f": []}}, "g": 1.5,
                                   "h": None, "i": True, "j": "ünïcødé \u2028 \"quoted\"\nline"},
    "a list of lists": [[n, [n, n], {"n": n}] for n in range(205)],
}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_it_writes_in_pieces_the_bytes_one_encode_writes(name):
    document = DOCUMENTS[name]
    pieces = list(_json_pieces(document))
    assert b"".join(pieces) == _json_encode(document)
    assert orjson.loads(b"".join(pieces)) == document


def test_it_writes_a_large_queue_in_pieces_far_smaller_than_the_file(repository, data_dir):
    document = queue_document(pending=3000, approved=1000, rejected=1000)
    size = len(_json_encode(document))
    pieces = list(_json_pieces(document))
    assert len(pieces) > 20
    assert max(len(piece) for piece in pieces) < size / 20


def test_it_approves_in_a_large_queue_without_a_buffer_the_size_of_the_file(repository, data_dir):
    items = [make_queue_item() for _ in range(3000)]
    repository.add_pending(items)
    repository.pending_page(limit=50)  # parsed and cached, as in a web worker
    size = (data_dir / PENDING_QUEUE.filename).stat().st_size
    peaks = []

    def approve_one():  # in a thread, as gunicorn's gthread workers approve
        tracemalloc.start()
        try:
            repository.approve([items[0]["mbid"]])
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()

    thread = threading.Thread(target=approve_one)
    thread.start()
    thread.join()
    assert repository.find_pending(items[0]["mbid"]) is None
    assert Repository(data_dir).pending_count() == 2999
    assert peaks[0] < size / 2, f"an approve allocated {peaks[0]:,} bytes at its peak for a {size:,}-byte file"


def test_it_writes_a_file_that_reads_back_after_many_pieces(repository, data_dir):
    with repository.store.transaction(PROCESSED) as processed:
        processed.extend(f"mbid-{n}" for n in range(20_000))
    fresh = Repository(data_dir)
    assert fresh.store.read(PROCESSED) == [f"mbid-{n}" for n in range(20_000)]
    assert (data_dir / PROCESSED.filename).read_bytes() == _json_encode([f"mbid-{n}" for n in range(20_000)])


def test_it_keeps_warm_without_parsing_a_file_this_process_is_writing(repository, data_dir, monkeypatch):
    """The keep-warm thread of a web worker that looks right after a change renamed the queue
    must not parse a second copy of it (10,000 albums: tens of MB the allocator then keeps):
    the change caches what it wrote as it ends."""
    items = [make_queue_item() for _ in range(20)]
    repository.add_pending(items)
    repository.pending_page(limit=50)
    real_replace = os.replace
    parsed_by_the_other_thread = []

    def replace_then_look(source, target, *args, **kwargs):
        real_replace(source, target, *args, **kwargs)
        if os.path.basename(target) == PENDING_QUEUE.filename:
            looker = threading.Thread(target=lambda: parsed_by_the_other_thread.append(
                repository.store.refresh_when_idle(PENDING_QUEUE)))
            looker.start()
            looker.join()

    monkeypatch.setattr(os, "replace", replace_then_look)
    repository.remove_pending([items[0]["mbid"]])
    repository.block_artist(items[1]["artist"])
    monkeypatch.undo()
    assert parsed_by_the_other_thread == [False, False]
    assert Repository(data_dir).pending_count() == 18
    assert repository.pending_count() == 18


def test_it_keeps_warm_a_file_another_process_wrote(repository, data_dir):
    items = [make_queue_item() for _ in range(5)]
    repository.add_pending(items)
    worker = Repository(data_dir)
    assert worker.store.refresh_when_idle(PENDING_QUEUE) is True
    assert worker.store.refresh_when_idle(PENDING_QUEUE) is False  # nothing changed since
    repository.approve([items[0]["mbid"]])  # appended to history/: the queue file stays as it is
    assert worker.store.refresh_when_idle(PENDING_QUEUE) is False
    assert worker.pending_count() == 4
    repository.remove_pending([items[1]["mbid"]])
    assert worker.store.refresh_when_idle(PENDING_QUEUE) is True
    assert worker.pending_count() == 3
