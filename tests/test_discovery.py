import pytest

from app.config import load_settings
from app.library import Library
from app.pipelines import JobContext
from app.pipelines.discovery import Suggestion, publish
from app.wishlist import WishlistEntry


@pytest.fixture
def context(repository, monkeypatch):
    def make(mode="manual"):
        monkeypatch.setenv("RESONANCE_GENERAL__APPROVAL_MODE", mode)
        return JobContext("test", load_settings(), repository)

    return make


def suggestion(n, **overrides):
    values = dict(artist=f"Artist {n}", album=f"Album {n}", mbid=f"rg-{n}", score=50.0, source="listenbrainz",
                  year=2000, source_track=f"Track {n}")
    values.update(overrides)
    return Suggestion(**values)


def test_it_writes_new_albums_to_the_queue_and_marks_them_processed(context, repository):
    report = publish(context(), [suggestion(1), suggestion(2)], Library())
    assert report.summary() == "2 albums added to the pending queue"
    pending = repository.queue()["pending"]
    assert [item["mbid"] for item in pending] == ["rg-1", "rg-2"]
    assert pending[0]["source_track"] == "Track 1" and pending[0]["added_at"]
    assert repository.processed() == ["rg-1", "rg-2"]


def test_it_writes_to_the_wishlist_in_auto_mode(context, repository):
    report = publish(context("auto"), [suggestion(1, artist="Sigur Rós", album="Takk...")], Library())
    assert report.summary() == "1 album added to the wishlist"
    assert repository.wishlist_entries() == [WishlistEntry.create("Sigur Rós", "Takk...")]
    assert repository.queue()["pending"] == []
    assert repository.processed() == ["rg-1"]
    assert 0 < repository.run_due_in("slskd-downloader") <= 30  # searched soon, not at the downloader's hour


def test_it_asks_no_downloader_run_for_albums_that_wait_for_approval(context, repository):
    publish(context(), [suggestion(1)], Library())
    assert repository.run_requests() == {}


def test_it_skips_seen_owned_blocked_and_repeated(context, repository, data_dir):
    repository.mark_processed(["rg-1"])
    repository.add_pending([])
    library = Library.from_snapshot({"albums": [{"artist": "The Beatles", "name": "Abbey Road", "mbid": ""}]})
    data_dir.joinpath("blocked_artists.json").write_text('["Mötley Crüe"]')
    report = publish(context(), [
        suggestion(1),
        suggestion(2, artist="Beatles", album="Abbey Road"),
        suggestion(3, artist="Motley Crue"),
        suggestion(4), suggestion(4),
    ], library)
    assert [s.mbid for s in report.written] == ["rg-4"]
    assert (report.seen, report.owned, report.blocked) == (2, 1, 1)
    assert report.summary() == "1 album added to the pending queue (2 seen before, 1 already owned, 1 by blocked artists skipped)"


def test_it_never_brings_back_a_rejected_album(context, repository):
    publish(context(), [suggestion(1)], Library())
    repository.reject(["rg-1"])
    report = publish(context(), [suggestion(1)], Library())
    assert report.written == [] and repository.queue()["pending"] == []


def test_it_leaves_out_an_invalid_suggestion_without_failing_the_rest(context, repository):
    report = publish(context(), [suggestion(1, year=12), suggestion(2)], Library())
    assert [s.mbid for s in report.written] == ["rg-2"]
    assert report.invalid == 1
    assert repository.processed() == ["rg-2"]  # the invalid one can come back once fixed
