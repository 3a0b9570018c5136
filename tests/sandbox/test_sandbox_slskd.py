"""Fake slskd: auth, search lifecycle and matching, downloads over (simulated) time."""

from __future__ import annotations

import threading
import time

import pytest
from conditions import wait_for


def start_search(sb, slskd, text, **options):
    response = slskd(sb, "POST", "/searches", json={"searchText": text, **options})
    assert response.status_code == 200, response.text
    return response.json()


def finished_search(sb, slskd, clock, text, **options):
    """Start a search, let simulated time run past its end, return (state, responses)."""
    search = start_search(sb, slskd, text, **options)
    clock.advance(sb.settings.slskd_search_seconds + 0.01)
    state = slskd(sb, "GET", f"/searches/{search['id']}").json()
    return state, slskd(sb, "GET", f"/searches/{search['id']}/responses").json()


def files_of(sb, username, folder_part):
    return [{"filename": f.filename, "size": f.size} for f in sb.catalogue.soulseek_users[username].files
            if folder_part in f.filename and not f.locked]


def transfers_of(sb, slskd, username):
    user = slskd(sb, "GET", f"/transfers/downloads/{username}").json()
    return [f for d in user["directories"] for f in d["files"]]


# ------------------------------------------------------------------ auth and health


def test_it_requires_an_api_key(sandbox, slskd):
    for headers in ({}, {"X-API-Key": "wrong-key-0123456789"}, {"Authorization": "Bearer wrong"}):
        response = slskd(sandbox, "GET", "/session", headers=headers)
        assert response.status_code == 401 and response.content == b""
    key = sandbox.credentials["slskd"]["api_key"]
    assert slskd(sandbox, "GET", "/session", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert slskd(sandbox, "GET", "/session/enabled", headers={}).json() is True


def test_it_reports_application_server_and_version(sandbox, slskd):
    application = slskd(sandbox, "GET", "/application").json()
    assert application["version"]["current"] == "0.25.1"
    assert application["server"]["state"] == "Connected, LoggedIn"
    assert slskd(sandbox, "GET", "/application/version").json() == "0.25.1"
    sandbox.slskd_state.connected = False
    server = slskd(sandbox, "GET", "/server").json()
    assert server["state"] == "Disconnected" and server["isLoggedIn"] is False
    assert slskd(sandbox, "PUT", "/server").status_code == 200
    assert slskd(sandbox, "GET", "/server").json()["isConnected"] is True


# ------------------------------------------------------------------ searches


def test_it_runs_a_search_from_in_progress_to_timed_out(clocked_sandbox, manual_clock, slskd):
    sb = clocked_sandbox
    search = start_search(sb, slskd, "Sigur Ros ( )", searchTimeout=15000)
    assert search["state"] == "InProgress" and search["isComplete"] is False
    assert search["responses"] == [] and "endedAt" not in search
    counts = []
    for _ in range(5):
        manual_clock.advance(sb.settings.slskd_search_seconds / 5 - 0.001)
        state = slskd(sb, "GET", f"/searches/{search['id']}").json()
        counts.append(state["responseCount"])
        if not state["isComplete"]:
            assert state["state"] == "InProgress"
            assert slskd(sb, "GET", f"/searches/{search['id']}/responses").json() == []
    assert counts == sorted(counts) and counts[0] < counts[-1]  # responses trickle in
    manual_clock.advance(0.1)
    state = slskd(sb, "GET", f"/searches/{search['id']}").json()
    assert state["state"] == "Completed, TimedOut" and state["isComplete"] is True and "endedAt" in state
    responses = slskd(sb, "GET", f"/searches/{search['id']}/responses").json()
    assert len(responses) == state["responseCount"] > 0
    assert state["fileCount"] == sum(r["fileCount"] for r in responses)
    with_responses = slskd(sb, "GET", f"/searches/{search['id']}", params={"includeResponses": "true"}).json()
    assert len(with_responses["responses"]) == len(responses)


def test_it_completes_a_search_in_real_time(sandbox, slskd):
    search = start_search(sandbox, slskd, "Múm Finally We Are No One")
    deadline = time.monotonic() + 15  # an upper bound: a busy machine may take longer
    while not slskd(sandbox, "GET", f"/searches/{search['id']}").json()["isComplete"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    responses = slskd(sandbox, "GET", f"/searches/{search['id']}/responses").json()
    assert {"nordicfan", "vinylripper", "halfalbum", "queue_forever", "lowq"} <= {r["username"] for r in responses}


def test_it_matches_all_words_ignoring_case_accents_and_punctuation(clocked_sandbox, manual_clock, slskd):
    _, responses = finished_search(clocked_sandbox, slskd, manual_clock, "sigur ros ( )")
    by_user = {r["username"]: r for r in responses}
    assert {"nordicfan", "mp3hoarder", "liveboot", "gone_offline"} <= set(by_user)
    folders = {f["filename"].rsplit("\\", 1)[0] for f in by_user["liveboot"]["files"]}
    assert "@@lvbt\\Sigur Rós - Inni (Live) [FLAC]" in folders  # a live-album decoy
    flac = by_user["nordicfan"]["files"][0]
    assert flac["filename"].startswith("@@kfmzq\\Music\\Sigur Rós\\")
    assert {"bitDepth", "sampleRate", "length", "size", "extension"} <= set(flac) and "bitRate" not in flac
    assert by_user["mp3hoarder"]["lockedFileCount"] == 1
    assert by_user["mp3hoarder"]["files"][0]["isVariableBitRate"] is True
    assert by_user["mp3hoarder"]["hasFreeUploadSlot"] is False and by_user["mp3hoarder"]["queueLength"] == 37


def test_it_finds_disc_folders_and_other_albums_of_the_same_artist(clocked_sandbox, manual_clock, slskd):
    _, responses = finished_search(clocked_sandbox, slskd, manual_clock, "Beatles White Album")
    (beatles,) = responses
    folders = {f["filename"].rsplit("\\", 1)[0] for f in beatles["files"]}
    assert folders == {"@@fab4\\The Beatles\\1968 - The Beatles (White Album) [FLAC]",
                       "@@fab4\\The Beatles\\1968 - The Beatles (White Album) [FLAC]\\CD1",
                       "@@fab4\\The Beatles\\1968 - The Beatles (White Album) [FLAC]\\CD2"}
    _, broad = finished_search(clocked_sandbox, slskd, manual_clock, "The Beatles")
    folders = {f["filename"].split("\\")[2] for r in broad for f in r["files"]}
    assert {"1969 - Abbey Road [FLAC]", "1994 - Live at the BBC [MP3 320]"} <= folders


def test_it_keeps_locked_files_apart_and_honours_exclusions(clocked_sandbox, manual_clock, slskd):
    _, responses = finished_search(clocked_sandbox, slskd, manual_clock, "Slowdive Souvlaki")
    locked = next(r for r in responses if r["username"] == "lockedbox")
    assert locked["fileCount"] == 0 and locked["files"] == []
    assert locked["lockedFileCount"] == len(locked["lockedFiles"]) == 11  # ten tracks and a cover
    bare = next(r for r in responses if r["username"] == "lowq")
    assert all("bitRate" not in f and "length" not in f for f in bare["files"])  # peer sent no attributes
    _, without_live = finished_search(clocked_sandbox, slskd, manual_clock, "Sigur Ros -live")
    assert not any("Inni" in f["filename"] for r in without_live for f in r["files"])


def test_it_matches_unicode_and_look_alike_punctuation(clocked_sandbox, manual_clock, slskd):
    _, japanese = finished_search(clocked_sandbox, slskd, manual_clock, "坂本龍一 async")
    assert [r["username"] for r in japanese] == ["jpcollector"]
    _, acdc = finished_search(clocked_sandbox, slskd, manual_clock, "AC/DC Highway to Hell")
    assert acdc and acdc[0]["files"][0]["filename"].startswith("@@rock\\AC⧸DC\\")


def test_it_refuses_searches_while_disconnected(sandbox, slskd):
    sandbox.slskd_state.connected = False
    response = slskd(sandbox, "POST", "/searches", json={"searchText": "Björk Homogenic"})
    assert response.status_code == 409
    assert response.json() == ("The server connection must be connected and logged in to perform a search "
                               "(currently: Disconnected)")


def test_it_rejects_blank_and_one_letter_searches(sandbox, slskd):
    blank = slskd(sandbox, "POST", "/searches", json={"searchText": "  "})
    assert blank.status_code == 400 and "SearchText" in blank.json()["errors"]
    short = slskd(sandbox, "POST", "/searches", json={"searchText": "a ( )"})
    assert short.status_code == 400
    assert short.json() == "Search query must contain at least one non-exclusion term with length greater than 1"
    assert slskd(sandbox, "POST", "/searches", data="searchText=x",
                 headers={"X-API-Key": sandbox.credentials["slskd"]["api_key"],
                          "Content-Type": "application/x-www-form-urlencoded"}).status_code == 415


def test_it_answers_429_to_a_search_started_while_another_is_starting(sandbox, slskd):
    sandbox.settings.slskd_search_start_seconds = 0.4
    first: list = []
    thread = threading.Thread(target=lambda: first.append(
        slskd(sandbox, "POST", "/searches", json={"searchText": "Portishead Dummy"})))
    thread.start()
    wait_for(sandbox.slskd_state.search_start_lock.locked, what="the first search starting")
    second = slskd(sandbox, "POST", "/searches", json={"searchText": "Massive Attack Mezzanine"})
    thread.join()
    assert first[0].status_code == 200
    assert second.status_code == 429
    assert second.json() == "Only one concurrent operation is permitted. Wait until the previous request completes"


def test_it_queues_searches_beyond_two_running(clocked_sandbox, manual_clock, slskd):
    searches = [start_search(clocked_sandbox, slskd, text) for text in ("Mogwai", "Slowdive", "Beach House")]
    assert [s["state"] for s in searches] == ["InProgress", "InProgress", "Queued"]
    manual_clock.advance(clocked_sandbox.settings.slskd_search_seconds + 0.01)
    states = [slskd(clocked_sandbox, "GET", f"/searches/{s['id']}").json()["state"] for s in searches]
    assert states == ["Completed, TimedOut", "Completed, TimedOut", "InProgress"]
    manual_clock.advance(clocked_sandbox.settings.slskd_search_seconds)
    assert slskd(clocked_sandbox, "GET", f"/searches/{searches[2]['id']}").json()["isComplete"] is True


def test_it_cancels_lists_and_deletes_searches(clocked_sandbox, manual_clock, slskd):
    search = start_search(clocked_sandbox, slskd, "Björk Homogenic", id="0b9f3e2d-6a71-4f0e-8c2d-9e4b1a7c3d52")
    assert search["id"] == "0b9f3e2d-6a71-4f0e-8c2d-9e4b1a7c3d52"
    assert slskd(clocked_sandbox, "PUT", f"/searches/{search['id']}").status_code == 200
    state = slskd(clocked_sandbox, "GET", f"/searches/{search['id']}").json()
    assert state["state"] == "Completed, Cancelled" and state["isComplete"] is True
    assert [s["id"] for s in slskd(clocked_sandbox, "GET", "/searches").json()] == [search["id"]]
    assert slskd(clocked_sandbox, "DELETE", f"/searches/{search['id']}").status_code == 204
    assert slskd(clocked_sandbox, "GET", f"/searches/{search['id']}").status_code == 404
    assert slskd(clocked_sandbox, "GET", f"/searches/{search['id']}/responses").status_code == 404
    assert slskd(clocked_sandbox, "GET", "/searches/state").status_code == 404  # no such routes in slskd


def test_it_stops_at_the_response_limit_and_filters_responses(clocked_sandbox, manual_clock, slskd):
    state, responses = finished_search(clocked_sandbox, slskd, manual_clock, "Finally We Are No One", responseLimit=2)
    assert state["state"] == "Completed, ResponseLimitReached" and len(responses) == 2
    _, picky = finished_search(clocked_sandbox, slskd, manual_clock, "Finally We Are No One",
                               maximumPeerQueueLength=10, minimumPeerUploadSpeed=1_000_000)
    assert {r["username"] for r in picky} == {"nordicfan", "vinylripper", "halfalbum"}


# ------------------------------------------------------------------ downloads


def test_it_enqueues_downloads_and_reports_duplicates(clocked_sandbox, manual_clock, slskd):
    # Simulated time stands still between the two enqueues, so the first two files are still queued.
    sb = clocked_sandbox
    files = files_of(sb, "nordicfan", "2002 - ( ) [FLAC]")
    response = slskd(sb, "POST", "/transfers/downloads/nordicfan", json=files[:2])
    assert response.status_code == 201
    body = response.json()
    assert [t["filename"] for t in body["enqueued"]] == [f["filename"] for f in files[:2]] and body["failed"] == []
    assert body["enqueued"][0]["state"] == "Queued, Remotely" and body["enqueued"][0]["direction"] == "Download"
    again = slskd(sb, "POST", "/transfers/downloads/nordicfan", json=files[:3]).json()
    assert again["failed"] == [f["filename"] for f in files[:2]] and len(again["enqueued"]) == 1
    manual_clock.advance(3600)  # everything finishes; a finished file may be queued again
    third = slskd(sb, "POST", "/transfers/downloads/nordicfan", json=files[:1]).json()
    assert third["failed"] == [] and [t["filename"] for t in third["enqueued"]] == [files[0]["filename"]]


def test_it_refuses_downloads_from_offline_users(sandbox, slskd):
    files = files_of(sandbox, "gone_offline", "( ) [FLAC]")
    response = slskd(sandbox, "POST", "/transfers/downloads/gone_offline", json=files)
    assert response.status_code == 500 and response.json() == "User gone_offline appears to be offline"
    assert slskd(sandbox, "POST", "/transfers/downloads/nobody_here", json=files).status_code == 500
    assert slskd(sandbox, "POST", "/transfers/downloads/nordicfan", json=[]).json() == "At least one file is required"
    assert slskd(sandbox, "GET", "/transfers/downloads/gone_offline").status_code == 404


def test_it_moves_downloads_through_their_states_one_file_at_a_time(clocked_sandbox, manual_clock, slskd):
    sb = clocked_sandbox
    files = files_of(sb, "nordicfan", "2005 - Takk... [FLAC]")[:2]
    slskd(sb, "POST", "/transfers/downloads/nordicfan", json=files)
    queued = transfers_of(sb, slskd, "nordicfan")
    assert [t["state"] for t in queued] == ["Queued, Remotely"] * 2
    assert [t["placeInQueue"] for t in queued] == [1, 2]
    manual_clock.advance(sb.settings.slskd_queue_seconds + sb.settings.slskd_transfer_seconds / 2)
    first, second = transfers_of(sb, slskd, "nordicfan")
    assert first["state"] == "InProgress" and second["state"] == "Queued, Remotely"
    assert 0 < first["bytesTransferred"] < first["size"] and 0 < first["percentComplete"] < 100
    assert first["averageSpeed"] > 0 and "remainingTime" in first and first["elapsedTime"].startswith("00:00:00.")
    manual_clock.advance(sb.settings.slskd_transfer_seconds)
    first, second = transfers_of(sb, slskd, "nordicfan")
    assert first["state"] == "Completed, Succeeded" and first["percentComplete"] == 100.0 and "endedAt" in first
    assert second["state"] == "InProgress"
    manual_clock.advance(sb.settings.slskd_transfer_seconds)
    listing = slskd(sb, "GET", "/transfers/downloads").json()
    (user,) = listing
    (directory,) = user["directories"]
    assert directory["directory"] == "@@kfmzq\\Music\\Sigur Rós\\2005 - Takk... [FLAC]" and directory["fileCount"] == 2
    assert {f["state"] for f in directory["files"]} == {"Completed, Succeeded"}
    assert all(f["bytesRemaining"] == 0 and "exception" not in f for f in directory["files"])


def test_it_finishes_a_small_download_in_real_time(sandbox, slskd):
    files = files_of(sandbox, "frenchtouch", "Discovery")[:3]
    slskd(sandbox, "POST", "/transfers/downloads/frenchtouch", json=files)
    deadline = time.monotonic() + 15  # an upper bound: a busy machine may take longer
    while {t["state"] for t in transfers_of(sandbox, slskd, "frenchtouch")} != {"Completed, Succeeded"}:
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("username, folder, final_state, exception", [
    ("rejecta", "Jónsi - Go", "Completed, Rejected", "Transfer rejected: File not shared."),
    ("flaky", "Teen Dream", "Completed, Errored", "Remote connection closed"),
])
def test_it_fails_downloads_the_way_each_peer_does(clocked_sandbox, manual_clock, slskd, username, folder,
                                                   final_state, exception):
    sb = clocked_sandbox
    files = files_of(sb, username, folder)[:1]
    slskd(sb, "POST", f"/transfers/downloads/{username}", json=files)
    manual_clock.advance(sb.settings.slskd_queue_seconds + sb.settings.slskd_transfer_seconds)
    (transfer,) = transfers_of(sb, slskd, username)
    assert transfer["state"] == final_state and transfer["exception"] == exception
    if final_state == "Completed, Errored":
        assert 0 < transfer["bytesTransferred"] < transfer["size"]


def test_it_stalls_and_keeps_remote_queues(clocked_sandbox, manual_clock, slskd):
    sb = clocked_sandbox
    slskd(sb, "POST", "/transfers/downloads/stalled_sam", json=files_of(sb, "stalled_sam", "Souvlaki")[:2])
    slskd(sb, "POST", "/transfers/downloads/queue_forever", json=files_of(sb, "queue_forever", "The xx")[:1])
    manual_clock.advance(sb.settings.slskd_queue_seconds + sb.settings.slskd_transfer_seconds)
    stalled = transfers_of(sb, slskd, "stalled_sam")[0]
    manual_clock.advance(60)
    later = transfers_of(sb, slskd, "stalled_sam")
    assert later[0]["state"] == "InProgress" and later[0]["bytesTransferred"] == stalled["bytesTransferred"] > 0
    assert later[1]["state"] == "Queued, Remotely"  # the peer's only slot is stuck
    (queued,) = transfers_of(sb, slskd, "queue_forever")
    assert queued["state"] == "Queued, Remotely" and queued["placeInQueue"] == 413


def test_it_slows_down_slow_peers_and_changes_behaviour_at_run_time(clocked_sandbox, manual_clock, slskd):
    sb = clocked_sandbox
    slskd(sb, "POST", "/transfers/downloads/slowpoke", json=files_of(sb, "slowpoke", "Bloom")[:1])
    sb.slskd_state.set_behaviour("nordicfan", "rejects")
    slskd(sb, "POST", "/transfers/downloads/nordicfan", json=files_of(sb, "nordicfan", "Go [FLAC]")[:1])
    manual_clock.advance(sb.settings.slskd_queue_seconds + sb.settings.slskd_transfer_seconds * 1.5)
    assert transfers_of(sb, slskd, "slowpoke")[0]["state"] == "InProgress"
    assert transfers_of(sb, slskd, "nordicfan")[0]["state"] == "Completed, Rejected"
    manual_clock.advance(sb.settings.slskd_transfer_seconds * sb.settings.slskd_slow_factor)
    assert transfers_of(sb, slskd, "slowpoke")[0]["state"] == "Completed, Succeeded"


def test_it_rejects_files_the_peer_does_not_share(clocked_sandbox, manual_clock, slskd):
    sb = clocked_sandbox
    slskd(sb, "POST", "/transfers/downloads/nordicfan", json=[{"filename": "@@kfmzq\\Music\\nothing.flac", "size": 1}])
    locked = next(f for f in sb.catalogue.soulseek_users["lockedbox"].files if f.locked)
    slskd(sb, "POST", "/transfers/downloads/lockedbox", json=[{"filename": locked.filename, "size": locked.size}])
    manual_clock.advance(sb.settings.slskd_queue_seconds + 0.01)
    assert transfers_of(sb, slskd, "nordicfan")[0]["state"] == "Completed, Rejected"
    assert transfers_of(sb, slskd, "lockedbox")[0]["state"] == "Completed, Rejected"


def test_it_cancels_then_removes_a_download(clocked_sandbox, manual_clock, slskd):
    sb = clocked_sandbox
    files = files_of(sb, "beatlesfan", "White Album")[:2]
    enqueued = slskd(sb, "POST", "/transfers/downloads/beatlesfan", json=files).json()["enqueued"]
    first, second = (t["id"] for t in enqueued)
    manual_clock.advance(sb.settings.slskd_queue_seconds + sb.settings.slskd_transfer_seconds / 2)
    # remove=true before completion is a silent no-op (slskd 0.25+)
    assert slskd(sb, "DELETE", f"/transfers/downloads/beatlesfan/{first}", params={"remove": "true"}).status_code == 204
    assert transfers_of(sb, slskd, "beatlesfan")[0]["state"] == "InProgress"
    assert slskd(sb, "DELETE", f"/transfers/downloads/beatlesfan/{first}").status_code == 204
    cancelled = slskd(sb, "GET", f"/transfers/downloads/beatlesfan/{first}").json()
    assert cancelled["state"] == "Completed, Cancelled" and cancelled["exception"] == "The operation was canceled."
    assert slskd(sb, "GET", f"/transfers/downloads/beatlesfan/{second}").json()["state"] == "InProgress"
    assert slskd(sb, "DELETE", f"/transfers/downloads/beatlesfan/{first}", params={"remove": "true"}).status_code == 204
    assert [t["id"] for t in transfers_of(sb, slskd, "beatlesfan")] == [second]
    hidden = slskd(sb, "GET", "/transfers/downloads", params={"includeRemoved": "true"}).json()
    assert {f["id"] for d in hidden[0]["directories"] for f in d["files"]} == {first, second}
    assert slskd(sb, "DELETE", "/transfers/downloads/beatlesfan/not-a-guid").status_code == 400
    assert slskd(sb, "GET", f"/transfers/downloads/beatlesfan/{'0' * 8}-0000-4000-8000-{'0' * 12}").status_code == 404


def test_it_supersedes_a_finished_download_when_enqueued_again(clocked_sandbox, manual_clock, slskd):
    sb = clocked_sandbox
    files = files_of(sb, "rejecta", "Bon Iver")[:1]
    slskd(sb, "POST", "/transfers/downloads/rejecta", json=files)
    manual_clock.advance(sb.settings.slskd_queue_seconds + 0.01)
    sb.slskd_state.set_behaviour("rejecta", "normal")
    again = slskd(sb, "POST", "/transfers/downloads/rejecta", json=files).json()
    assert len(again["enqueued"]) == 1 and again["failed"] == []
    assert [t["state"] for t in transfers_of(sb, slskd, "rejecta")] == ["Queued, Remotely"]
    assert slskd(sb, "DELETE", "/transfers/downloads/all/completed").status_code == 204


def test_it_fails_queued_downloads_of_a_peer_that_went_offline(clocked_sandbox, manual_clock, slskd):
    sb = clocked_sandbox
    slskd(sb, "POST", "/transfers/downloads/nordicfan", json=files_of(sb, "nordicfan", "Go [FLAC]")[:1])
    sb.slskd_state.set_behaviour("nordicfan", "offline")
    manual_clock.advance(sb.settings.slskd_queue_seconds + 0.01)
    (transfer,) = transfers_of(sb, slskd, "nordicfan")
    assert transfer["state"] == "Completed, Errored"
    assert transfer["exception"] == "User nordicfan appears to be offline"


def test_a_finished_download_is_written_where_slskd_puts_it_as_real_audio(clocked_sandbox, manual_clock, slskd,
                                                                         tmp_path):
    from app.importer.audio import probe, problems_of

    sb = clocked_sandbox
    sb.settings.slskd_downloads_dir = str(tmp_path)
    files = files_of(sb, "nordicfan", "2002 - ( ) [FLAC]")[:2]
    slskd(sb, "POST", "/transfers/downloads/nordicfan", json=files)
    manual_clock.advance(3600)
    transfers_of(sb, slskd, "nordicfan")  # the fake moves on when asked
    folder = tmp_path / "2002 - ( ) [FLAC]"
    names = [f["filename"].rsplit("\\", 1)[-1] for f in files]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    shared = {f.filename: f for f in sb.catalogue.soulseek_users["nordicfan"].files}
    for f in files:
        info = probe(folder / f["filename"].rsplit("\\", 1)[-1])
        assert info.kind == "flac" and abs(info.length - shared[f["filename"]].write_seconds) < 0.1
        assert problems_of(info) == []
    # The same file downloaded again is renamed with .NET ticks, as slskd's "exists: rename" does.
    slskd(sb, "POST", "/transfers/downloads/nordicfan", json=files[:1])
    manual_clock.advance(3600)
    transfers_of(sb, slskd, "nordicfan")
    stem = names[0].rsplit(".", 1)[0]
    renamed = [p.name for p in folder.iterdir() if p.name.startswith(stem + "_")]
    assert len(renamed) == 1 and renamed[0].endswith(".flac") and renamed[0][len(stem) + 1:-5].isdigit()


def test_decoy_shares_write_damaged_files(clocked_sandbox, manual_clock, slskd, tmp_path):
    from app.importer.audio import probe, problems_of

    sb = clocked_sandbox
    sb.settings.slskd_downloads_dir = str(tmp_path)
    user = sb.slskd_state.add_user({"username": "decoys", "shares": [
        {"folder": "@@d\\Takk", "release": "7f53f16a-4b9e-507d-ac96-dac5423264b6", "quality": "mp3-320",
         "defects": {"truncated": [1], "zeros": [2], "wrong": [3]}}]})
    files = [{"filename": f.filename, "size": f.size} for f in user.files[:3]]
    slskd(sb, "POST", "/transfers/downloads/decoys", json=files)
    manual_clock.advance(3600)
    transfers_of(sb, slskd, "decoys")
    truncated, zeros, wrong = (probe(tmp_path / "Takk" / f["filename"].rsplit("\\", 1)[-1]) for f in files)
    lengths = [f.write_seconds for f in user.files[:3]]
    assert truncated.length < lengths[0] * 0.6
    assert any("zero-filled" in p for p in problems_of(zeros))
    assert abs(wrong.length - lengths[2] - 40) < 0.5
