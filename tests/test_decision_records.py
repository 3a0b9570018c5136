"""What the repository keeps of decisions for learning: reject reasons, decision records, queued ListenBrainz feedback."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from factories import make_queue_item

from app.repository import Repository


def lb_item(**overrides):
    return make_queue_item(source="listenbrainz", similar_to=[], source_recording=f"rec-{overrides.get('album', 'x')}",
                           **overrides)


def segment_lines(data_dir):
    return [json.loads(line) for segment in sorted((data_dir / "history").glob("*.jsonl"))
            for line in segment.read_text().splitlines()]


def test_it_keeps_a_reject_reason_in_the_decision_record_and_shows_it_in_the_history(repository, data_dir):
    item = make_queue_item(album="Showbiz")
    repository.add_pending([item])

    repository.reject([item["mbid"]], reason="wrong_version")

    assert segment_lines(data_dir)[-1]["reason"] == "wrong_version"
    page, _ = Repository(data_dir).rejected_page()
    assert page[0]["album"] == "Showbiz" and page[0]["reason"] == "wrong_version"


def test_it_refuses_a_reason_it_does_not_know(repository):
    item = make_queue_item()
    repository.add_pending([item])
    with pytest.raises(ValueError):
        repository.reject([item["mbid"]], reason="too loud")
    assert repository.pending_count() == 1


def test_a_reason_given_after_the_reject_is_appended_and_the_newest_line_wins(repository, data_dir):
    item = make_queue_item(album="Absolution")
    repository.add_pending([item])
    repository.reject([item["mbid"]])
    decided_before = (data_dir / "history" / "decided.txt").read_text()

    line = repository.give_reason(item["mbid"], "not_my_taste")

    assert line["reason"] == "not_my_taste"
    lines = segment_lines(data_dir)
    assert [entry.get("reason") for entry in lines] == [None, "not_my_taste"]
    assert lines[1]["at"] == lines[0]["at"] and lines[1]["item"] == lines[0]["item"]
    assert (data_dir / "history" / "decided.txt").read_text() == decided_before  # no second decision
    page, total = Repository(data_dir).rejected_page()
    assert total == 1 and [(entry["album"], entry["reason"]) for entry in page] == [("Absolution", "not_my_taste")]
    # undone, then the album is back and the reason no longer applies
    assert repository.unreject([item["mbid"]])[0]["mbid"] == item["mbid"]
    assert repository.give_reason(item["mbid"], "wrong_version") is None


def test_a_bulk_reject_can_still_be_undone_after_an_older_reject_got_its_reason(repository):
    older, bulk = make_queue_item(), [make_queue_item(), make_queue_item()]
    repository.add_pending([older, *bulk])
    repository.decide_many("reject", [older["mbid"]], now=datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc))
    _, undo_id = repository.decide_many("reject", [item["mbid"] for item in bulk])
    repository.give_reason(older["mbid"], "dislike_artist")

    action, restored = repository.undo_decision(undo_id)

    assert action == "reject" and {item["mbid"] for item in restored} == {item["mbid"] for item in bulk}
    assert repository.rejected_mbids() == [older["mbid"]]


def test_decision_records_are_the_newest_line_of_each_album_decided_now(repository):
    kept, undone, reasoned = make_queue_item(), make_queue_item(), make_queue_item()
    repository.add_pending([kept, undone, reasoned])
    repository.approve([kept["mbid"]])
    repository.reject([undone["mbid"], reasoned["mbid"]])
    repository.unreject([undone["mbid"]])
    repository.give_reason(reasoned["mbid"], "already_have")

    records = repository.decision_records()

    assert [(r["action"], r["item"]["mbid"], r.get("reason")) for r in records] == [
        ("reject", reasoned["mbid"], "already_have"), ("approve", kept["mbid"], None)]


# --- ListenBrainz feedback queued by decisions --------------------------------------------------


def queued(repository):
    return [(entry["album"], entry["recording_mbid"], entry["rating"]) for entry in repository.unsent_feedback()]


def test_decisions_on_listenbrainz_suggestions_queue_their_rating_only_when_asked(repository):
    liked, hated, catalog, quiet = lb_item(album="a"), lb_item(album="b"), make_queue_item(), lb_item(album="q")
    repository.add_pending([liked, hated, catalog, quiet])

    repository.approve([quiet["mbid"]])  # feedback off: nothing queued
    repository.approve([liked["mbid"]], feedback=True)
    repository.reject([hated["mbid"], catalog["mbid"]], reason="dislike_artist", feedback=True)

    assert queued(repository) == [(liked["mbid"], "rec-a", "like"), (hated["mbid"], "rec-b", "hate")]


def test_a_later_reason_replaces_the_unsent_rating_and_one_about_nothing_takes_it_back(repository):
    first, second = lb_item(album="a"), lb_item(album="b")
    repository.add_pending([first, second])
    repository.reject([first["mbid"], second["mbid"]], feedback=True)
    assert [rating for *_, rating in queued(repository)] == ["bad_recommendation", "bad_recommendation"]

    repository.give_reason(first["mbid"], "not_my_taste", feedback=True)
    repository.give_reason(second["mbid"], "already_have", feedback=True)

    assert queued(repository) == [(first["mbid"], "rec-a", "dislike")]


def test_an_undo_takes_back_what_is_unsent_and_what_was_sent_is_never_queued_again(repository):
    item, other = lb_item(album="a"), lb_item(album="b")
    repository.add_pending([item, other])
    _, undo_id = repository.decide_many("approve", [item["mbid"], other["mbid"]], feedback=True)
    repository.undo_decision(undo_id)
    assert queued(repository) == []

    repository.approve([item["mbid"]], feedback=True)
    repository.mark_feedback(repository.unsent_feedback()[0], sent_at="2026-12-07T03:00:00Z")
    repository.undo_approve([item["mbid"]])
    repository.approve([item["mbid"]], feedback=True)  # the same rating ListenBrainz already has

    assert queued(repository) == []
    assert [(e["album"], e["rating"]) for e in repository.sent_feedback()] == [(item["mbid"], "like")]
    repository.undo_approve([item["mbid"]])
    repository.reject([item["mbid"]], reason="not_my_taste", feedback=True)  # changed its mind: sent again
    assert queued(repository) == [(item["mbid"], "rec-a", "dislike")]


def test_a_dismissed_block_offer_is_kept_once_whatever_the_spelling(repository):
    repository.dismiss_block_offer("Muse")
    repository.dismiss_block_offer(" MUSE ")
    assert repository.dismissed_block_offers() == ["Muse"]
