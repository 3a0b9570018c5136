"""slskd-downloader against the sandbox: the right enqueues, outages, timeouts, backoff, the governor."""

from __future__ import annotations

import time

import pytest
from downloader_support import (  # noqa: F401
    enqueues,
    events,
    folders_of,
    fresh_governor,
    sandbox,
    slskd_context,
    wish,
)
from factories import make_queue_item
from storage_mounts import Filler, small_tmpfs

from app.pipelines import downloader, load
from app.pipelines.downloader import build_queries, clean_query, run_once
from app.pipelines.transfers import epoch
from app.repository import StorageError
from app.wishlist import WishlistEntry

DUMMY_RELEASE = "757ec904-aa94-5d0c-af4b-b3a9214cea27"


def test_it_is_registered_as_a_pipeline():
    assert load("slskd-downloader") is run_once


def test_it_queues_the_right_folder_for_each_album_of_the_wishlist(sandbox, slskd_context, repository):
    wish(repository, ("Sigur Rós", "( )"), ("Múm", "Finally We Are No One"), ("The Beatles", "The Beatles"),
         ("Tame Impala", "Currents"), ("AC/DC", "Back in Black"), ("Sigur Rós", "Takk..."))
    result = run_once(slskd_context())
    assert result.summary.startswith("6 of 6 albums queued") and result.error is None
    chosen: dict[str, set[str]] = {}
    for user, files in enqueues(sandbox):
        chosen.setdefault(user, set()).update(folders_of(files))
    assert chosen == {
        # gone_offline shares ( ) too and ranks first (faster), but is offline: the next folder is queued.
        "nordicfan": {"@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]",
                      "@@kfmzq\\Music\\Sigur Rós\\2005 - Takk... [FLAC]"},
        "vinylripper": {"@@vnyl\\24bit\\Múm - Finally We Are No One (2002) [24-96 FLAC]"},
        "beatlesfan": {"@@fab4\\The Beatles\\1968 - The Beatles (White Album) [FLAC]"},  # CD1 + CD2 in one request
        "oddpeer": {"H:\\Tame Impala\\Currents"},  # no attributes, no extensions; halfalbum misses a track
        "rockvault": {"@@rock\\AC-DC\\1980 - Back in Black [MP3 320]"},
    }
    beatles = next(files for user, files in enqueues(sandbox) if user == "beatlesfan")
    assert len(beatles) == 32  # 30 tracks over two CD folders, cover and log
    assert sorted(repository.downloaded()) == sorted(e.text for e in repository.wishlist_entries())
    record = repository.download_record("Sigur Rós - ( )")
    assert record.state == "queued"
    assert any("gone_offline is offline" in text for text in events(record))
    attempt = record.attempts[-1]
    assert attempt["outcome"] == "queued" and attempt["chosen"]["user"] == "nordicfan"
    assert attempt["chosen"]["files"] == 8 and attempt["chosen"]["format"] == "flac"
    assert [c["user"] for c in attempt["candidates"][:2]] == ["gone_offline", "nordicfan"]
    assert all(c["reasons"] for c in attempt["candidates"])
    assert record.album["source"] == "musicbrainz" and record.album["track_count"] == 8
    takk = repository.download_record("Sigur Rós - Takk...").attempts[-1]["candidates"]
    low = next(c for c in takk if c["user"] == "liveboot")
    assert low["accepted"] is False and "below the minimum" in " ".join(low["reasons"])
    # Every search was deleted after reading, and each album needed only its first query.
    posts = [r for r in sandbox.requests("slskd") if r.method == "POST" and r.path == "/api/v0/searches"]
    deletes = [r for r in sandbox.requests("slskd") if r.method == "DELETE" and r.path.startswith("/api/v0/searches/")]
    assert len(posts) == len(deletes) == 6


def test_it_skips_the_run_when_slskd_is_down(sandbox, slskd_context, repository):
    wish(repository, ("Sigur Rós", "( )"))
    sandbox.faults("slskd").set(refuse=True)
    result = run_once(slskd_context())
    assert result.skipped and "slskd unreachable" in result.summary
    assert repository.downloaded() == [] and repository.download_records() == []


def test_it_skips_the_run_when_soulseek_is_disconnected(sandbox, slskd_context, repository):
    wish(repository, ("Sigur Rós", "( )"))
    sandbox.slskd_state.connected = False
    result = run_once(slskd_context())
    assert result.skipped and result.summary == "Soulseek not connected (slskd reports Disconnected)"
    assert not [r for r in sandbox.requests("slskd") if r.method == "POST"]
    assert repository.downloaded() == [] and repository.download_records() == []


def test_it_skips_the_run_when_slskd_refuses_the_key(sandbox, slskd_context, repository):
    wish(repository, ("Sigur Rós", "( )"))
    result = run_once(slskd_context(api_key="not-the-key-0123456789"))
    assert result.error and "API key" in result.summary


def test_it_stops_waiting_on_a_slow_search_and_cleans_it_up(sandbox, slskd_context, repository, monkeypatch):
    sandbox.settings.slskd_search_seconds = 30
    monkeypatch.setattr(downloader, "TIMING", downloader.Timing(poll_first=0.1, poll_max=0.2, search_wait_min=0.6,
                                                                search_wait_factor=0))
    wish(repository, ("Sigur Rós", "( )"))
    started = time.monotonic()
    run_once(slskd_context())
    assert time.monotonic() - started < 10
    record = repository.download_record("Sigur Rós - ( )")
    queries = record.attempts[-1]["queries"]
    assert queries and all(q["timed_out"] for q in queries)
    assert queries[0]["state"] == "Completed, Cancelled"
    slskd = sandbox.requests("slskd")
    searches = [r.json()["id"] for r in slskd if r.method == "POST" and r.path == "/api/v0/searches"]
    cancelled = {r.path.rsplit("/", 1)[-1] for r in slskd if r.method == "PUT"}
    deleted = {r.path.rsplit("/", 1)[-1] for r in slskd if r.method == "DELETE"}
    assert set(searches) == cancelled == deleted
    assert any("gave up waiting" in text for text in events(record))


def wait_until_due(record):
    time.sleep(max(0.0, epoch(record.next_retry_at) - time.time()) + 0.05)


def test_it_retries_with_backoff_and_finds_the_album_with_a_fallback_query(sandbox, slskd_context, repository):
    wish(repository, ("Portishead", "Dummy"))
    ctx = slskd_context()
    first = run_once(ctx)
    assert first.summary.startswith("0 of 1 album queued; 1 without an acceptable result")
    record = repository.download_record("Portishead - Dummy")
    assert record.state == "no_result" and record.attempt_count == 1
    assert [q["text"] for q in record.attempts[0]["queries"]] == ["Portishead Dummy", "Dummy",
                                                                      "Portishead Dummy 1994"]
    assert record.reason.startswith("no acceptable result: nobody answered")
    finished = epoch(record.attempts[0]["finished_at"])
    assert 1 <= epoch(record.next_retry_at) - finished <= 2  # retry_delay, rounded up to the second
    assert run_once(ctx).summary == "nothing to search"  # not due yet
    wait_until_due(record)
    run_once(ctx)
    record = repository.download_record("Portishead - Dummy")
    assert record.attempt_count == 2
    assert 2 <= epoch(record.next_retry_at) - epoch(record.attempts[1]["finished_at"]) <= 3  # doubled
    mb_calls = len(sandbox.requests("musicbrainz"))
    # Someone now shares the album in a folder without the artist's name: only "Dummy" finds it.
    sandbox.slskd_state.add_user({"username": "anon", "shares": [
        {"folder": "@@anon\\Rips\\Dummy (1994) [FLAC]", "release": DUMMY_RELEASE, "quality": "flac16"}]})
    wait_until_due(record)
    result = run_once(ctx)
    assert result.summary.startswith("1 of 1 album queued")
    record = repository.download_record("Portishead - Dummy")
    assert record.state == "queued" and record.next_retry_at is None
    assert [(q["text"], q["responses"]) for q in record.attempts[2]["queries"]] == [("Portishead Dummy", 0),
                                                                                        ("Dummy", 1)]
    assert record.attempts[2]["chosen"]["user"] == "anon"
    assert len(sandbox.requests("musicbrainz")) == mb_calls  # the tracklist came from the history
    assert repository.downloaded() == ["Portishead - Dummy"]


def test_it_gives_up_after_max_attempts(sandbox, slskd_context, repository):
    wish(repository, ("Portishead", "Dummy"))
    run_once(slskd_context(max_attempts=1))
    record = repository.download_record("Portishead - Dummy")
    assert record.state == "failed" and record.next_retry_at is None
    assert events(record)[-1].startswith("failed: gave up after 1 search;")
    assert run_once(slskd_context(max_attempts=1)).summary == "nothing to search"
    # "Retry" on the Downloads page gives it a fresh budget.
    repository.retry_download("Portishead - Dummy")
    assert repository.download_record("Portishead - Dummy").state == "wanted"
    assert run_once(slskd_context(max_attempts=1)).summary.startswith("0 of 1 album queued")


def test_it_searches_again_with_the_edited_query(sandbox, slskd_context, repository):
    sandbox.slskd_state.add_user({"username": "anon", "shares": [
        {"folder": "@@anon\\Trip-Hop\\Bristol 94", "release": DUMMY_RELEASE, "quality": "mp3-320",
         "pattern": "{n:02} {title}"}]})
    wish(repository, ("Portishead", "Dummy"))
    run_once(slskd_context())
    assert repository.download_record("Portishead - Dummy").state == "no_result"
    repository.search_download_again("Portishead - Dummy", "Bristol  94 ")
    result = run_once(slskd_context())
    texts = [r.json()["searchText"] for r in sandbox.requests("slskd")
             if r.method == "POST" and r.path == "/api/v0/searches"]
    assert texts[-1] == "Bristol 94"
    record = repository.download_record("Portishead - Dummy")
    assert result.summary.startswith("1 of 1 album queued"), record.reason
    assert record.query == "Bristol 94" and record.downloads[-1]["user"] == "anon"


def test_it_never_exceeds_the_governor_limits(sandbox, slskd_context, repository):
    albums = [("Ghost Artist", f"Missing Record {word}") for word in ("Alpha", "Beta", "Gamma", "Delta", "Omega")]
    wish(repository, *albums)
    ctx = slskd_context(searches_per_window=4, search_window=2, max_concurrent_searches=2)
    run_once(ctx)
    slskd = sandbox.requests("slskd")
    starts = {r.json()["id"]: r.time for r in slskd if r.method == "POST" and r.path == "/api/v0/searches"}
    ends = {r.path.rsplit("/", 1)[-1]: r.time for r in slskd if r.method == "DELETE"}
    assert len(starts) == 10  # two queries per album ("Ghost Artist Missing Record X", "Missing Record X")
    times = sorted(starts.values())
    assert max(sum(1 for t in times if s <= t < s + 2.0) for s in times) <= 4
    assert times[-1] - times[0] >= 4.0  # 10 searches at 4 per 2 s cannot take less
    for moment in times:
        in_flight = sum(1 for sid, start in starts.items() if start <= moment < ends[sid])
        assert in_flight <= 2
    kept = repository.search_starts()  # the current window is kept in the data dir for the next run
    assert 1 <= len(kept) <= 4 and max(kept) >= max(starts.values()) - 2.0
    assert not [r for r in slskd if r.status == 429]


def test_it_loses_nothing_on_a_stop_between_entries(sandbox, slskd_context, repository):
    wish(repository, ("Sigur Rós", "( )"), ("Múm", "Finally We Are No One"), ("AC/DC", "Back in Black"))
    stop = lambda: len(repository.downloaded()) >= 1  # noqa: E731 - SIGTERM right after the first enqueue
    result = run_once(slskd_context(stop=stop, max_concurrent_searches=1))
    assert repository.downloaded() == ["Sigur Rós - ( )"]
    assert result.summary.startswith("1 of 3 albums queued")
    for key in ("Múm - Finally We Are No One", "AC/DC - Back in Black"):
        record = repository.download_record(key)
        assert record is None or record.state == "wanted"
    run_once(slskd_context())
    assert len(repository.downloaded()) == 3
    users = [user for user, _files in enqueues(sandbox)]
    assert users.count("nordicfan") == 1  # the first album was not queued twice


def test_it_cancels_the_search_on_a_stop_and_keeps_the_entry_wanted(sandbox, slskd_context, repository):
    sandbox.settings.slskd_search_seconds = 20
    wish(repository, ("Sigur Rós", "( )"))
    asked = time.monotonic() + 0.5
    result = run_once(slskd_context(stop=lambda: time.monotonic() > asked))
    assert "left for the next run" in result.summary
    record = repository.download_record("Sigur Rós - ( )")
    assert record.state == "wanted" and record.attempt_count == 0
    assert record.attempts[-1]["outcome"] == "stopped"
    assert [r.method for r in sandbox.requests("slskd") if r.path.startswith("/api/v0/searches/")][-1] == "DELETE"
    assert repository.downloaded() == []


def test_it_queues_one_file_for_a_single_track_entry(sandbox, slskd_context, repository):
    repository.add_to_wishlist([WishlistEntry.create("Sigur Rós", "Untitled #1 (Vaka)", "track")])
    run_once(slskd_context())
    (user, files), = enqueues(sandbox)
    assert user == "nordicfan" and [f.rsplit("\\", 1)[-1] for f in files] == ["01 - Untitled #1 (Vaka).flac"]


def test_it_leaves_entries_sent_by_an_older_tool_alone(sandbox, slskd_context, repository):
    wish(repository, ("Sigur Rós", "( )"))
    repository.mark_downloaded(["Sigur Rós - ( )"])
    assert run_once(slskd_context()).summary == "nothing to search"


@pytest.mark.parametrize("artist, title, year, expected", [
    ("Sigur Rós", "( )", 2002, ["Sigur Rós", "sigur ros", "Sigur Rós 2002"]),
    ("AC/DC", "Back in Black", None, ["AC DC Back in Black", "Back in Black"]),  # same words, any case: one query
    ("Godspeed You! Black Emperor", "F♯ A♯ ∞", 1997,
     ["Godspeed You Black Emperor", "Godspeed You Black Emperor 1997"]),  # the title has no searchable word
    ("Múm", "Finally We Are No One", None, ["Múm Finally We Are No One", "mum finally we are no one",
                                             "Finally We Are No One"]),
])
def test_it_builds_queries_soulseek_understands(artist, title, year, expected):
    assert build_queries(artist, title, year) == expected


def test_it_drops_punctuation_and_one_letter_words_from_a_query():
    assert clean_query("Portishead - Dummy (Deluxe) [FLAC] - a") == "Portishead Dummy Deluxe FLAC"


def test_it_ends_the_run_at_the_first_storage_error_without_a_traceback(data_dir, sandbox, slskd_context,
                                                                        repository, caplog):
    with small_tmpfs(data_dir, size_kb=256):
        filler = Filler(data_dir)
        wish(repository, ("Sigur Rós", "( )"), ("Múm", "Finally We Are No One"), ("Tame Impala", "Currents"))
        filler.fill()

        with pytest.raises(StorageError, match="the disk is full"):
            run_once(slskd_context(max_concurrent_searches=1))

        assert not [record for record in caplog.records if record.exc_info]  # not one "unexpected error" per album
        searches = [r for r in sandbox.requests("slskd") if r.method == "POST" and r.path == "/api/v0/searches"]
        assert searches == []  # nothing sent that could not be recorded
        filler.remove()
        assert run_once(slskd_context()).summary.startswith("3 of 3 albums queued")


def test_it_knows_the_release_group_of_an_approved_album_from_the_history(slskd_context, repository):
    older, newer = make_queue_item(artist="Justice", album="Cross"), make_queue_item(artist="Justice", album="Cross")
    undone = make_queue_item(artist="Air", album="Moon Safari")
    repository.add_pending([older, newer, undone])
    repository.approve([older["mbid"]])
    repository.approve([newer["mbid"], undone["mbid"]])
    repository.undo_approve([undone["mbid"]])

    found = downloader.Downloader(slskd_context())
    assert found.known_release_group(WishlistEntry.create("justice", "Cross")) == newer["mbid"]
    assert found.known_release_group(WishlistEntry.create("Air", "Moon Safari")) is None


def test_an_announced_album_waits_for_its_release_day_without_a_search(sandbox, slskd_context, repository):
    wish(repository, ("Portishead", "Fourth"))  # the sandbox's MusicBrainz lists it as out in 60 days

    result = run_once(slskd_context())

    record = repository.download_record("Portishead - Fourth")
    assert record.state == "wanted" and record.attempts == [] and record.attempt_count == 0
    out_on = record.next_retry_at[:10]
    assert out_on > time.strftime("%Y-%m-%d", time.gmtime()) and record.next_retry_at == f"{out_on}T00:00:00Z"
    assert f"out on {out_on}" in record.events[-1]["text"]
    assert "1 not out yet" in result.summary and result.error is None and result.left is None
    assert not [r for r in sandbox.requests("slskd") if r.method == "POST" and r.path == "/api/v0/searches"]
    assert run_once(slskd_context()).summary.startswith("nothing to search")  # not due before its day
