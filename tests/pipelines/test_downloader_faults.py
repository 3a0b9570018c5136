"""slskd-downloader when slskd's replies are lost, cut or refused: the governor holds, nothing is done twice,
every search is deleted, and no wishlist entry is abandoned for the run."""

from __future__ import annotations

from downloader_support import (  # noqa: F401
    enqueues,
    events,
    fresh_governor,
    sandbox,
    slskd_context,
    wish,
)

from app.cli import EXIT_PARTIAL, run_exit_status
from app.pipelines.downloader import run_once

SEARCHES = "/api/v0/searches"
DOWNLOADS = "/api/v0/transfers/downloads"


def search_starts(sandbox) -> list:
    return [r for r in sandbox.requests("slskd") if r.method == "POST" and r.path == SEARCHES]


def test_a_search_whose_start_reply_was_lost_is_found_by_its_id_followed_and_deleted(sandbox, slskd_context,
                                                                                      repository):
    wish(repository, ("Sigur Rós", "( )"))
    sandbox.faults("slskd").set(reply_lost=True, method="POST", path=SEARCHES, count=1)
    result = run_once(slskd_context())
    assert result.outcome == "ok" and result.summary.startswith("1 of 1 album queued")
    (start,) = search_starts(sandbox)  # started once, not again
    search_id = start.json()["id"]
    assert [r.method for r in sandbox.requests("slskd") if r.path == f"{SEARCHES}/{search_id}"][-1] == "DELETE"
    figures = sandbox.figures()
    assert figures["searches_started"] == 1 and figures["searches_not_deleted"] == 0
    assert repository.download_record("Sigur Rós - ( )").state == "queued"


def test_lost_start_replies_never_put_more_searches_in_flight_than_the_limit(sandbox, slskd_context, repository):
    sandbox.settings.slskd_search_seconds = 1.0
    wish(repository, ("Sigur Rós", "( )"), ("Múm", "Finally We Are No One"), ("The Beatles", "The Beatles"),
         ("AC/DC", "Back in Black"))
    sandbox.faults("slskd").set(reply_lost=True, method="POST", path=SEARCHES, count=3)
    result = run_once(slskd_context(max_concurrent_searches=2))
    assert result.summary.startswith("4 of 4 albums queued")
    figures = sandbox.figures()
    assert figures["peak_searches_in_flight"] <= 2
    assert figures["searches_not_deleted"] == 0 and figures["duplicate_enqueues"] == 0


def test_a_start_slskd_may_not_have_received_is_looked_up_and_deleted_and_the_next_query_tried(
        sandbox, slskd_context, repository):
    wish(repository, ("Sigur Rós", "( )"))
    sandbox.faults("slskd").set(error=500, method="POST", path=SEARCHES, count=1)
    result = run_once(slskd_context())
    assert result.outcome == "ok" and result.summary.startswith("1 of 1 album queued")
    first, *others = search_starts(sandbox)
    lost_id = first.json()["id"]
    # Looked up by its id, then (not there) deleted before the search that replaced it.
    asked = [r.method for r in sandbox.requests("slskd") if r.path == f"{SEARCHES}/{lost_id}"]
    assert asked[0] == "GET" and "DELETE" in asked
    assert others and sandbox.figures()["searches_not_deleted"] == 0
    record = repository.download_record("Sigur Rós - ( )")
    assert record.state == "queued"
    assert [q.get("error") is not None for q in record.attempts[-1]["queries"]] == [True, False]


def test_a_search_that_runs_but_cannot_be_looked_up_is_deleted_and_counted_until_then(sandbox, slskd_context,
                                                                                      repository):
    sandbox.settings.slskd_search_seconds = 1.0
    wish(repository, ("Sigur Rós", "( )"), ("AC/DC", "Back in Black"))
    faults = sandbox.faults("slskd")
    faults.set(reply_lost=True, method="POST", path=SEARCHES, count=1)
    faults.add(error=500, method="GET", path=SEARCHES, count=1)  # the look-up by id
    result = run_once(slskd_context(max_concurrent_searches=2))
    assert result.summary.startswith("2 of 2 albums queued")
    figures = sandbox.figures()
    assert figures["peak_searches_in_flight"] <= 2 and figures["searches_not_deleted"] == 0


def test_an_enqueue_whose_reply_was_lost_is_found_in_slskds_list_and_not_sent_again(sandbox, slskd_context,
                                                                                    repository):
    wish(repository, ("Sigur Rós", "( )"))
    sandbox.faults("slskd").set(reply_lost=True, method="POST", path=f"{DOWNLOADS}/nordicfan", count=1)
    result = run_once(slskd_context())
    assert result.outcome == "ok"
    sent = [r for r in sandbox.requests("slskd") if r.method == "POST" and r.path.startswith(DOWNLOADS + "/")]
    assert [r.path.rsplit("/", 1)[-1] for r in sent] == ["gone_offline", "nordicfan"]  # no other folder after
    assert sandbox.figures()["duplicate_enqueues"] == 0
    record = repository.download_record("Sigur Rós - ( )")
    assert record.state == "queued" and record.downloads[-1]["user"] == "nordicfan"
    assert all(f["id"] for f in record.downloads[-1]["files"])  # the transfers slskd listed
    assert any("shows the files queued" in text for text in events(record))
    assert repository.downloaded() == ["Sigur Rós - ( )"]


def test_an_enqueue_not_confirmed_by_slskd_blocks_every_other_folder_until_its_list_answers(sandbox, slskd_context,
                                                                                           repository):
    wish(repository, ("Sigur Rós", "( )"))
    faults = sandbox.faults("slskd")
    faults.set(reply_lost=True, method="POST", path=f"{DOWNLOADS}/nordicfan", count=1)
    faults.add(error=500, method="GET", path=f"{DOWNLOADS}/nordicfan", count=1)  # the list, once
    run_once(slskd_context())
    users = [user for user, _files in enqueues(sandbox)]
    posted = [r.path.rsplit("/", 1)[-1] for r in sandbox.requests("slskd")
              if r.method == "POST" and r.path.startswith(DOWNLOADS + "/")]
    assert posted == ["gone_offline", "nordicfan"] and users == ["nordicfan"]  # the lost one, no other
    assert sandbox.figures()["duplicate_enqueues"] == 0
    record = repository.download_record("Sigur Rós - ( )")
    assert record.state == "queued" and record.downloads[-1]["user"] == "nordicfan"
    assert record.unconfirmed_enqueue is None
    assert "unconfirmed_enqueue" not in repository.download_history()["entries"]["Sigur Rós - ( )"]


def test_an_entry_whose_searches_keep_failing_is_tried_again_then_left_for_the_next_run(sandbox, slskd_context,
                                                                                        repository):
    wish(repository, ("Múm", "Finally We Are No One"), ("AC/DC", "Back in Black"))
    sandbox.faults("slskd").set(error=500, method="POST", path=SEARCHES, when=lambda r: "finally" in r.body.lower())
    result = run_once(slskd_context(max_concurrent_searches=2))
    assert result.outcome == "partial" and run_exit_status(result) == EXIT_PARTIAL
    assert "Múm - Finally We Are No One" in result.left
    assert result.summary.startswith("1 of 2 albums queued") and "1 left for the next run" in result.summary
    first_query = [r for r in search_starts(sandbox) if r.json()["searchText"] == "Múm Finally We Are No One"]
    assert len(first_query) == 3  # three rounds in the run
    record = repository.download_record("Múm - Finally We Are No One")
    assert record.state == "wanted" and record.attempt_count == 0
    assert sorted(e.text for e in repository.wishlist_entries()) == [
        "AC/DC - Back in Black", "Múm - Finally We Are No One"]
    figures = sandbox.figures()
    assert figures["peak_searches_in_flight"] <= 2 and figures["searches_not_deleted"] == 0
    sandbox.faults("slskd").clear()
    assert run_once(slskd_context()).summary.startswith("1 of 1 album queued")


def test_a_run_that_did_nothing_because_every_search_failed_fails(sandbox, slskd_context, repository):
    wish(repository, ("AC/DC", "Back in Black"))
    sandbox.faults("slskd").set(error=400, error_body='"Search failed"', method="POST", path=SEARCHES)
    result = run_once(slskd_context())
    assert result.outcome == "failed" and "AC/DC - Back in Black" in result.error
    assert repository.download_record("AC/DC - Back in Black").state == "wanted"


def test_under_random_faults_the_limits_hold_nothing_is_queued_twice_and_nothing_is_lost(sandbox, slskd_context,
                                                                                         repository):
    sandbox.settings.update(slskd_search_seconds=0.5, hang_seconds=0.3)
    albums = [("Sigur Rós", "( )"), ("Múm", "Finally We Are No One"), ("The Beatles", "The Beatles"),
              ("AC/DC", "Back in Black"), ("Sigur Rós", "Takk..."), ("Tame Impala", "Currents")]
    wish(repository, *albums)
    wanted = sorted(e.text for e in repository.wishlist_entries())
    sandbox.inject_faults(0.2, seed=11, services=("slskd",))
    for _run in range(2):
        run_once(slskd_context(max_concurrent_searches=2))
    sandbox.faults("slskd").clear()
    run_once(slskd_context(max_concurrent_searches=2))
    figures = sandbox.figures()
    assert figures["faults"]["slskd"] > 0
    assert figures["peak_searches_in_flight"] <= 2
    assert figures["duplicate_enqueues"] == 0 and figures["searches_not_deleted"] == 0
    assert sorted(e.text for e in repository.wishlist_entries()) == wanted
    states = {key: repository.download_record(key).state for key in wanted}
    assert set(states.values()) <= {"queued", "downloading", "completed"}, states
    users_per_album = {}
    for user, files in enqueues(sandbox):
        users_per_album.setdefault(files[0].rsplit("\\", 2)[-2], set()).add(user)
    assert all(len(users) == 1 for users in users_per_album.values()), users_per_album
