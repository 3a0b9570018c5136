from datetime import datetime, timezone

import pytest

from app.text import count_of
from app.web.present import (
    every_text,
    library_gap_reason,
    local_time,
    new_release_reason,
    ordinal,
    sentence,
    transfer_state,
    why,
)


@pytest.mark.parametrize("number,expected", [(0, "0 files"), (1, "1 file"), (2, "2 files")])
def test_it_counts_in_words(number, expected):
    assert count_of(number, "file") == expected


def test_it_takes_an_irregular_plural():
    assert (count_of(1, "entry", "entries"), count_of(3, "entry", "entries")) == ("1 entry", "3 entries")


@pytest.mark.parametrize("text,expected", [("nothing to search", "nothing to search."), ("Done.", "Done."),
                                           ("  spaced  ", "spaced."), (None, ""), ("", "")])
def test_it_ends_a_summary_as_a_sentence(text, expected):
    assert sentence(text) == expected


@pytest.mark.parametrize("seconds,expected", [
    (3600, "every hour"), (6 * 3600, "every 6 hours"), (5400, "every 1 hour 30 minutes"), (86400, "every day"),
    (604800, "every week"), (90, "every 1 minute 30 seconds"), (0, "never on its own")])
def test_it_says_an_interval_in_words(seconds, expected):
    assert every_text(seconds) == expected


@pytest.fixture
def new_york(time_zone):
    time_zone("America/New_York")


def test_it_shows_a_time_in_the_households_zone(new_york):
    now = datetime(2026, 7, 1, 18, 0, tzinfo=timezone.utc)
    assert local_time("2026-07-01T16:05:09Z", now=now) == "12:05:09 EDT"  # today: the time
    assert local_time("2026-01-02T16:05:09Z", now=now) == "2 Jan 11:05 EST"  # another day: the date too
    assert local_time("not a time", now=now) == "" and local_time(None, now=now) == ""


@pytest.mark.parametrize("state,expected", [
    ("Completed, Succeeded", "done"), ("Queued, Remotely", "in the uploader's queue"), ("InProgress", "downloading"),
    (None, "asked for"), ("Completed, Rejected", "refused by the uploader")])
def test_it_says_a_transfer_state_in_words(state, expected):
    assert transfer_state(state) == expected


# --- library-discovery's reasons ------------------------------------------------------------------


def test_a_new_release_says_out_or_out_on_while_its_date_is_ahead():
    assert new_release_reason("Radiohead", "2026-11-14", today="2026-12-07") == "new album by Radiohead, out 2026-11-14"
    assert new_release_reason("Radiohead", "2026-12-07", today="2026-12-07") == "new album by Radiohead, out 2026-12-07"
    assert new_release_reason("Portishead", "2027-02-05", today="2026-12-07") == \
        "new album by Portishead, out on 2027-02-05"


@pytest.mark.parametrize("rank,expected", [
    (1, "you have 3 of 9 Radiohead albums; this one is their most played"),
    (2, "you have 3 of 9 Radiohead albums; this one is their 2nd most played"),
    (13, "you have 3 of 9 Radiohead albums; this one is their 13th most played"),
    (None, "you have 3 of 9 Radiohead albums"),
])
def test_a_missing_album_says_how_many_the_household_has_and_its_place(rank, expected):
    assert library_gap_reason("Radiohead", {"owned": 3, "total": 9, "rank": rank}) == expected


def test_the_reasons_come_from_the_queue_item():
    new = {"artist": "Björk", "album": "Mycelia", "source": "new release", "release_date": "2000-01-01"}
    gap = {"artist": "Björk", "album": "Post", "source": "missing", "library_gap": {"owned": 2, "total": 5, "rank": 1}}
    assert why(new) == "new album by Björk, out 2000-01-01"
    assert why(gap) == "you have 2 of 5 Björk albums; this one is their most played"
    household = {"source": "listenbrainz", "source_track": "Roygbiv", "for_members": ["Alice", "Bob", "Carol"]}
    assert why(household, household=True) == "from Alice, Bob and Carol's listening: Roygbiv"
    assert why(household) == "from your listening: Roygbiv"  # one listener: "your"
    assert why({"source": "listenbrainz", "for_members": ["Bob"]}, household=True) == \
        "recommended to Bob by ListenBrainz"
    assert why({**gap, "for_members": ["Bob"]}, household=True).endswith("most played, for Bob")
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 21, 22, 101)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "21st", "22nd", "101st"]
