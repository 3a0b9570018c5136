"""The rules of app/learning.py, as docs/discovery.md states them."""

import pytest

from app.learning import Tally, block_offers, feedback_rating, similar_tallies, weigh, weight


def record(action, artist="Muse", similar_to=("Radiohead",), reason=None, source="catalog"):
    line = {"action": action, "item": {"artist": artist, "album": "x", "source": source,
                                       "similar_to": list(similar_to)}}
    if reason:
        line["reason"] = reason
    return line


def test_the_weight_starts_at_one_and_moves_with_each_decision():
    assert weight(0, 0) == 1.0
    assert weight(1, 3) == 0.75 and weight(0, 3) == pytest.approx(4 / 7)
    assert weight(4, 0) == 1.5 and weight(2, 0) == pytest.approx(4 / 3)
    assert 0 < weight(0, 1000) < 0.01 and 1.99 < weight(1000, 0) < 2


def test_only_catalog_decisions_about_taste_are_tallied_per_library_artist():
    tallies = similar_tallies([
        record("reject", similar_to=("Radiohead", "Muse")), record("approve"),
        record("reject", reason="already_have"), record("reject", reason="wrong_version"),
        record("reject", reason="not_my_taste"), record("reject", source="listenbrainz"),
    ])
    assert {key: (t.approved, t.rejected) for key, t in tallies.items()} == {"radiohead": (1, 2), "muse": (0, 1)}


def test_a_candidate_is_weighed_and_says_why_in_the_direction_it_moved():
    tallies = {"muse": Tally("Muse", approved=1, rejected=3), "air": Tally("Air", approved=2)}
    lower = weigh([("Muse", 1.0), ("Portishead", 0.5)], tallies)
    assert lower.total == 1.25 and lower.note == "ranked lower: 3 of 4 albums similar to Muse were rejected"
    higher = weigh([("Air", 0.9), ("Muse", 0.1)], tallies)
    assert higher.total == pytest.approx(0.9 * 4 / 3 + 0.075)
    assert higher.note == "ranked higher: 2 of 2 albums similar to Air were approved"
    assert weigh([("Portishead", 0.5)], tallies).note is None


def test_block_offers_count_rejections_about_taste_and_dont_like_the_artist_at_once():
    records = [record("reject"), record("reject", reason="not_my_taste"), record("reject", reason="already_have"),
               record("reject", artist="Air", reason="dislike_artist"), record("approve", artist="Keane")]
    offers = block_offers(records, 3)
    assert list(offers) == ["air"] and offers["air"].question() == "Block Air? You said you don't like the artist."
    offers = block_offers(records, 2)
    assert offers["muse"].question() == "Block Muse? 2 of their albums were rejected."
    assert block_offers(records, 2, blocked=["MUSE"], dismissed=["air"]) == {}
    assert block_offers(records, 0) == {}


@pytest.mark.parametrize("action,reason,rating", [
    ("approve", None, "like"), ("reject", None, "bad_recommendation"), ("reject", "not_my_taste", "dislike"),
    ("reject", "dislike_artist", "hate"), ("reject", "already_have", None), ("reject", "wrong_version", None),
])
def test_each_decision_sends_the_rating_the_docs_name(action, reason, rating):
    assert feedback_rating(action, reason) == rating
