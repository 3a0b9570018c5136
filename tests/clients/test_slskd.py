"""slskd client: health, search lifecycle, enqueue shapes, transfer states, errors."""

from __future__ import annotations

import uuid
from datetime import timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import urllib3

from app.clients.http import AuthError, NotFound, RateLimited, Unavailable, UpstreamError
from app.clients.slskd import (
    EnqueueFailure,
    NotConnected,
    PeerOffline,
    SearchFile,
    SlskdClient,
    parse_flags,
    parse_timespan,
)

BASE = "http://slskd.local:5030"
API = f"{BASE}/api/v0"
KEY = "resonance-api-key-0123456789"
SEARCH_ID = "c4b9a3f0-5a1e-4a4f-9a63-0e2a4f8d3b11"
VAKA = "@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]\\01 - Untitled #1 (Vaka).flac"
FYRSTA = "@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]\\02 - Untitled #2 (Fyrsta).flac"


@pytest.fixture
def slskd(sleeps, retry):
    return SlskdClient(BASE, KEY, sleep=sleeps.append, retry=retry)


def search_state(state, complete, **extra):
    body = {"fileCount": 412, "id": SEARCH_ID, "isComplete": complete, "lockedFileCount": 17, "responseCount": 23,
            "responses": [], "searchText": "Sigur Ros ( )", "startedAt": "2025-11-20T18:02:31.101Z",
            "state": state, "token": 518273}
    if complete:
        body["endedAt"] = "2025-11-20T18:03:01.512"
    body.update(extra)
    return body


# --------------------------------------------------------------------------- URLs, auth, health


@pytest.mark.parametrize("url_base, path", [("/", "/api/v0/session"), ("", "/api/v0/session"),
                                            ("/slskd", "/slskd/api/v0/session"), ("slskd/", "/slskd/api/v0/session")])
def test_it_builds_urls_with_the_url_base_and_sends_the_key(requests_mock, sleeps, retry, url_base, path):
    client = SlskdClient(BASE + "/", KEY, url_base=url_base, sleep=sleeps.append, retry=retry)
    requests_mock.get(f"{BASE}{path}", status_code=200, text="")
    assert client.check_session() is True
    assert requests_mock.last_request.headers["X-API-Key"] == KEY


def test_it_reports_a_wrong_key_without_leaking_it(requests_mock, slskd, sleeps):
    requests_mock.get(f"{API}/session", status_code=401, text="")
    with pytest.raises(AuthError, match="slskd rejected the API key") as caught:
        slskd.check_session()
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert requests_mock.call_count == 1 and sleeps == []


APPLICATION = {
    "version": {"full": "0.24.1 (0.24.1+abc1234)", "current": "0.24.1", "isUpdateAvailable": False},
    "pendingReconnect": False,
    "server": {"address": "vps.slsknet.org:2271", "state": "Connected, LoggedIn", "isConnected": True,
               "isConnecting": False, "isLoggedIn": True, "isLoggingIn": False, "isTransitioning": False},
    "user": {"username": "resonance_bot", "privileges": {"isPrivileged": False}},
    "shares": {"ready": True, "scanning": False},
    "rooms": [],
}


def test_it_reads_application_server_and_version(requests_mock, slskd):
    requests_mock.get(f"{API}/application", json=APPLICATION)
    requests_mock.get(f"{API}/server", [
        {"json": APPLICATION["server"]},
        {"json": {"state": "Connected", "isConnected": True, "isLoggedIn": False, "isTransitioning": False}},
    ])
    requests_mock.get(f"{API}/application/version", json="0.24.1")
    app = slskd.application()
    assert app.version == "0.24.1" and app.username == "resonance_bot" and app.server.ready and app.shares_ready
    assert slskd.soulseek_ready() is True
    state = slskd.server_state()
    assert state.is_connected and not state.is_logged_in and not state.ready
    assert slskd.version() == "0.24.1"


# --------------------------------------------------------------------------- searches


def test_it_starts_a_search_with_milliseconds_and_its_own_id(requests_mock, slskd):
    requests_mock.post(f"{API}/searches", json=search_state("InProgress", False, fileCount=0, responseCount=0))
    state = slskd.start_search("Sigur Ros ( )", id=SEARCH_ID)
    body = requests_mock.last_request.json()
    assert body == {"id": SEARCH_ID, "searchText": "Sigur Ros ( )", "searchTimeout": 15000,
                    "responseLimit": 100, "fileLimit": 10000}
    assert requests_mock.last_request.headers["Content-Type"] == "application/json"
    assert state.id == SEARCH_ID and not state.is_complete and state.ended_at is None


def test_it_generates_a_search_id_when_none_is_given(requests_mock, slskd):
    requests_mock.post(f"{API}/searches", json=lambda req, ctx: search_state("Requested", False, id=req.json()["id"]))
    state = slskd.start_search("Björk Homogenic", search_timeout_ms=30000, filterResponses=True)
    body = requests_mock.last_request.json()
    assert uuid.UUID(body["id"]) and state.id == body["id"]
    assert body["searchTimeout"] == 30000 and body["filterResponses"] is True


def test_it_reports_soulseek_not_connected_on_409(requests_mock, slskd, sleeps):
    requests_mock.post(f"{API}/searches", status_code=409,
                       json="The server connection must be connected and logged in to perform a search (currently: Disconnected)")
    with pytest.raises(NotConnected, match="Soulseek not connected") as caught:
        slskd.start_search("Sigur Ros")
    assert caught.value.retryable and requests_mock.call_count == 1 and sleeps == []


def test_it_retries_a_concurrent_search_start_429(requests_mock, slskd, sleeps):
    requests_mock.post(f"{API}/searches", [
        {"status_code": 429, "json": "Only one concurrent operation is permitted. Wait until the previous request completes"},
        {"json": search_state("Queued", False)},
    ])
    assert slskd.start_search("Sigur Ros", id=SEARCH_ID).state == "Queued"
    assert sleeps == [1.0]


def test_it_follows_the_search_lifecycle(requests_mock, slskd, clock):
    requests_mock.get(f"{API}/searches/{SEARCH_ID}", [
        {"json": search_state("Requested", False, fileCount=0)},
        {"json": search_state("InProgress", False)},
        {"json": search_state("Completed, TimedOut", True)},
    ])
    state = slskd.wait_for_search(SEARCH_ID, poll_interval=2.0, max_wait=60, sleep=clock.sleep, clock=clock)
    assert state.is_complete and state.flags == {"Completed", "TimedOut"}
    assert state.ended_at.tzinfo == timezone.utc and state.started_at < state.ended_at
    assert (state.response_count, state.file_count, state.locked_file_count) == (23, 412, 17)
    assert clock.sleeps == [2.0, 2.0]


def test_it_stops_waiting_after_max_wait(requests_mock, slskd, clock):
    requests_mock.get(f"{API}/searches/{SEARCH_ID}", json=search_state("InProgress", False))
    state = slskd.wait_for_search(SEARCH_ID, poll_interval=4.0, max_wait=10, sleep=clock.sleep, clock=clock)
    assert not state.is_complete
    assert sum(clock.sleeps) == 10 and clock.sleeps == [4.0, 4.0, 2.0]


def test_it_raises_not_found_for_an_unknown_search(requests_mock, slskd):
    requests_mock.get(f"{API}/searches/{SEARCH_ID}", status_code=404, text="")
    with pytest.raises(NotFound):
        slskd.search(SEARCH_ID)


RESPONSES = [
    {"username": "nordicfan", "token": 518273, "fileCount": 2, "lockedFileCount": 0, "hasFreeUploadSlot": True,
     "uploadSpeed": 2457600, "queueLength": 0,
     "files": [
         {"filename": VAKA, "size": 48213905, "code": 1, "extension": "flac", "bitDepth": 16, "sampleRate": 44100,
          "length": 398, "isLocked": False},
         {"filename": "@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]\\cover.jpg", "size": 812345, "code": 1,
          "extension": "jpg", "isLocked": False}],
     "lockedFiles": []},
    {"username": "mp3hoarder", "token": 518273, "fileCount": 1, "lockedFileCount": 1, "hasFreeUploadSlot": False,
     "uploadSpeed": 180000, "queueLength": 37,
     "files": [{"filename": "D:\\Rips\\Sigur Ros - ( ) (2002) [V0]\\02 Untitled 2.mp3", "size": 9123456, "code": 1,
                "extension": "", "bitRate": 245, "isVariableBitRate": True, "length": 441, "isLocked": False}],
     "lockedFiles": [{"filename": "D:\\Rips\\Sigur Ros - ( ) (2002) [V0]\\Private\\01 Untitled 1.mp3", "size": 11023456,
                      "code": 1, "extension": "mp3", "bitRate": 320, "isVariableBitRate": False, "length": 398,
                      "isLocked": False}]},
]


def test_it_parses_search_responses(requests_mock, slskd):
    requests_mock.get(f"{API}/searches/{SEARCH_ID}/responses", json=RESPONSES)
    nordic, hoarder = slskd.search_responses(SEARCH_ID)
    vaka = nordic.files[0]
    assert vaka.filename == VAKA and vaka.size == 48213905
    assert (vaka.bit_depth, vaka.sample_rate, vaka.length, vaka.bit_rate) == (16, 44100, 398, None)
    assert vaka.directory == "@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]"
    assert vaka.basename == "01 - Untitled #1 (Vaka).flac"
    assert nordic.has_free_upload_slot and nordic.upload_speed == 2457600 and nordic.locked_files == ()
    assert hoarder.queue_length == 37 and not hoarder.has_free_upload_slot
    assert hoarder.files[0].extension is None and hoarder.files[0].is_variable_bit_rate is True
    assert hoarder.locked_files[0].locked and not hoarder.files[0].locked


def test_it_returns_no_responses_before_completion(requests_mock, slskd):
    requests_mock.get(f"{API}/searches/{SEARCH_ID}/responses", json=[])
    assert slskd.search_responses(SEARCH_ID) == []


def test_it_cancels_and_deletes_searches(requests_mock, slskd):
    requests_mock.put(f"{API}/searches/{SEARCH_ID}", json=search_state("Completed, Cancelled", True))
    requests_mock.delete(f"{API}/searches/{SEARCH_ID}", [{"status_code": 204}, {"status_code": 404}])
    slskd.cancel_search(SEARCH_ID)
    assert slskd.delete_search(SEARCH_ID) is True
    assert slskd.delete_search(SEARCH_ID) is False


# --------------------------------------------------------------------------- enqueue


def test_it_enqueues_with_an_encoded_username_and_exact_filenames_on_old_versions(requests_mock, slskd):
    requests_mock.post(f"{API}/transfers/downloads/nordic%20fan%2F%C3%9F", status_code=201, text="")
    files = [SearchFile(VAKA, 48213905), {"filename": FYRSTA, "size": 37120044}]
    result = slskd.enqueue("nordic fan/ß", files)
    assert result.detailed is False and result.enqueued == () and result.failed == ()
    assert requests_mock.last_request.json() == [{"filename": VAKA, "size": 48213905}, {"filename": FYRSTA, "size": 37120044}]


def transfer(filename=VAKA, state="Queued, Locally", **extra):
    return {"id": "7d0c1b64-2f3e-4c1a-9f5e-2b8d7c6a5e41", "username": "nordicfan", "direction": "Download",
            "filename": filename, "size": 48213905, "state": state, "requestedAt": "2025-11-20T18:05:10.214Z",
            "bytesTransferred": 0, "averageSpeed": 0, "bytesRemaining": 48213905, "percentComplete": 0, **extra}


def test_it_reads_the_024_enqueue_shape_with_failed_strings(requests_mock, slskd):
    requests_mock.post(f"{API}/transfers/downloads/nordicfan", status_code=201,
                       json={"enqueued": [transfer()], "failed": [FYRSTA]})
    result = slskd.enqueue("nordicfan", [(VAKA, 48213905), (FYRSTA, 37120044)])
    assert result.detailed and result.enqueued[0].filename == VAKA
    assert result.failed == (EnqueueFailure(FYRSTA),)


def test_it_reads_the_026_enqueue_shape_with_failed_objects(requests_mock, slskd):
    requests_mock.post(f"{API}/transfers/downloads/nordicfan", status_code=201,
                       json={"enqueued": [], "failed": [{"filename": FYRSTA, "message": "already queued"}]})
    result = slskd.enqueue("nordicfan", [(FYRSTA, 37120044)])
    assert result.failed == (EnqueueFailure(FYRSTA, "already queued"),)


def test_it_raises_peer_offline(requests_mock, slskd, sleeps):
    requests_mock.post(f"{API}/transfers/downloads/nordicfan", status_code=500,
                       json="User nordicfan appears to be offline")
    with pytest.raises(PeerOffline, match="appears to be offline") as caught:
        slskd.enqueue("nordicfan", [(VAKA, 1)])
    assert requests_mock.call_count == 1 and sleeps == []
    assert KEY not in str(caught.value)


def test_it_retries_an_enqueue_429_and_maps_other_500s(requests_mock, slskd, sleeps):
    requests_mock.post(f"{API}/transfers/downloads/nordicfan", [
        {"status_code": 429, "json": "Only one concurrent operation is permitted."},
        {"status_code": 201, "text": ""},
    ])
    slskd.enqueue("nordicfan", [(VAKA, 1)])
    assert sleeps == [1.0]
    requests_mock.post(f"{API}/transfers/downloads/other", status_code=500, json="Something broke")
    with pytest.raises(Unavailable, match="Something broke"):
        slskd.enqueue("other", [(VAKA, 1)])


def test_it_gives_up_on_a_persistent_429(requests_mock, slskd):
    requests_mock.post(f"{API}/transfers/downloads/nordicfan", status_code=429, json="busy")
    with pytest.raises(RateLimited):
        slskd.enqueue("nordicfan", [(VAKA, 1)])
    assert requests_mock.call_count == 4


def test_it_refuses_an_empty_enqueue(slskd):
    with pytest.raises(ValueError):
        slskd.enqueue("nordicfan", [])


# --------------------------------------------------------------------------- transfers


DOWNLOADS = [
    {"username": "nordicfan", "directories": [{"directory": "@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]", "fileCount": 2,
     "files": [
         transfer(state="InProgress", stateDescription="InProgress", startOffset=0, enqueuedAt="2025-11-20T18:05:11.020Z",
                  startedAt="2025-11-20T18:05:40.777", bytesTransferred=12582912, averageSpeed=629145.6,
                  bytesRemaining=35630993, elapsedTime="00:00:20.0012345", percentComplete=26.098141,
                  remainingTime="00:00:56.6331244"),
         transfer(filename=FYRSTA, state="Queued, Remotely", id="0b9f3e2d-6a71-4f0e-8c2d-9e4b1a7c3d52", placeInQueue=3),
     ]}]},
    {"username": "mp3hoarder", "directories": [{"directory": "D:\\Rips", "fileCount": 3, "files": [
        transfer(filename="D:\\Rips\\a.mp3", state="Completed, Succeeded", id="11111111-1111-1111-1111-111111111111",
                 endedAt="2025-11-20T19:00:00Z", percentComplete=100),
        transfer(filename="D:\\Rips\\b.mp3", state="Completed, Rejected", id="22222222-2222-2222-2222-222222222222",
                 exception="Transfer rejected: File not shared."),
        transfer(filename="D:\\Rips\\c.mp3", state="Completed, TimedOut", id="33333333-3333-3333-3333-333333333333"),
    ]}]},
]


def test_it_flattens_downloads_and_parses_states(requests_mock, slskd):
    requests_mock.get(f"{API}/transfers/downloads", json=DOWNLOADS)
    items = slskd.downloads()
    assert [t.state for t in items] == ["InProgress", "Queued, Remotely", "Completed, Succeeded",
                                        "Completed, Rejected", "Completed, TimedOut"]
    running, queued, done, rejected, timed_out = items
    assert not running.is_complete and not running.failed and not running.succeeded
    assert running.elapsed == timedelta(seconds=20, microseconds=1234)
    assert running.remaining == timedelta(seconds=56, microseconds=633124)
    assert running.average_speed == 629145.6 and running.percent_complete == pytest.approx(26.098141)
    assert running.started_at.tzinfo == timezone.utc
    assert queued.place_in_queue == 3 and queued.flags == {"Queued", "Remotely"}
    assert done.succeeded and done.is_complete and not done.failed and done.ended_at.hour == 19
    assert rejected.failed and rejected.exception == "Transfer rejected: File not shared."
    assert timed_out.failed and timed_out.username == "nordicfan"
    assert "includeRemoved" not in requests_mock.last_request.url
    slskd.downloads(include_removed=True)
    assert parse_qs(urlsplit(requests_mock.last_request.url).query) == {"includeRemoved": ["true"]}


def test_it_returns_no_user_downloads_on_404(requests_mock, slskd):
    requests_mock.get(f"{API}/transfers/downloads/ghost", status_code=404, text="")
    requests_mock.get(f"{API}/transfers/downloads/nordicfan", json=DOWNLOADS[0])
    assert slskd.user_downloads("ghost") == []
    assert len(slskd.user_downloads("nordicfan")) == 2


def test_it_cancels_then_removes_a_download(requests_mock, slskd):
    tid = "7d0c1b64-2f3e-4c1a-9f5e-2b8d7c6a5e41"
    requests_mock.delete(f"{API}/transfers/downloads/nordic%20fan/{tid}", status_code=204)
    slskd.cancel_download("nordic fan", tid)
    assert requests_mock.last_request.query == ""
    slskd.remove_download("nordic fan", tid)
    assert parse_qs(requests_mock.last_request.query) == {"remove": ["true"]}


def test_it_surfaces_remove_before_complete_on_old_versions(requests_mock, slskd):
    tid = "7d0c1b64-2f3e-4c1a-9f5e-2b8d7c6a5e41"
    requests_mock.delete(f"{API}/transfers/downloads/nordicfan/{tid}", status_code=500,
                         json="Invalid attempt to remove a download before it is complete")
    with pytest.raises(Unavailable, match="before it is complete"):
        slskd.remove_download("nordicfan", tid)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("text, expected", [
    ("00:00:20.0012345", timedelta(seconds=20, microseconds=1234)),
    ("1.02:03:04.5", timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=500000)),
    ("12:00:00", timedelta(hours=12)),
    ("-00:00:01", timedelta(seconds=-1)),
    ("nonsense", None),
    (None, None),
])
def test_it_parses_timespans(text, expected):
    assert parse_timespan(text) == expected


def test_it_splits_flag_enums():
    assert parse_flags("Completed, Succeeded") == {"Completed", "Succeeded"}
    assert parse_flags("Queued") == {"Queued"}
    assert parse_flags(None) == frozenset()


def test_a_search_start_whose_reply_was_lost_is_not_sent_again_and_may_be_done(requests_mock, slskd, sleeps):
    requests_mock.post(f"{API}/searches", exc=requests.exceptions.ConnectionError("Connection reset by peer"))
    with pytest.raises(Unavailable) as caught:
        slskd.start_search("Sigur Ros", id=SEARCH_ID)
    assert caught.value.maybe_done is True and requests_mock.call_count == 1 and sleeps == []


def test_a_search_start_answered_with_cut_json_is_running(requests_mock, slskd):
    requests_mock.post(f"{API}/searches", text='{"fileCount":0,"id":"c4b9a3f0-5a1e', status_code=200,
                       headers={"Content-Type": "application/json"})
    with pytest.raises(UpstreamError) as caught:
        slskd.start_search("Sigur Ros", id=SEARCH_ID)
    assert caught.value.maybe_done is True and requests_mock.call_count == 1


def test_an_enqueue_that_never_reached_slskd_is_sent_again_and_one_whose_reply_was_cut_is_not(
        requests_mock, slskd, sleeps):
    refused = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: "
                                                          "[Errno 111] Connection refused")
    never_sent = requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", reason=refused))
    requests_mock.post(f"{API}/transfers/downloads/nordicfan", [
        {"exc": never_sent},
        {"status_code": 201, "text": ""},
    ])
    slskd.enqueue("nordicfan", [(VAKA, 1)])
    assert requests_mock.call_count == 2 and len(sleeps) == 1
    requests_mock.post(f"{API}/transfers/downloads/other", status_code=201, text='{"enqueued":[{"id"',
                       headers={"Content-Type": "application/json"})
    with pytest.raises(UpstreamError) as caught:
        slskd.enqueue("other", [(VAKA, 1)])
    assert caught.value.maybe_done is True
    assert [r.url.rsplit("/", 1)[-1] for r in requests_mock.request_history].count("other") == 1


def test_a_refusal_is_known_not_done(requests_mock, slskd):
    requests_mock.post(f"{API}/transfers/downloads/gone", status_code=500, json="User gone appears to be offline")
    with pytest.raises(PeerOffline) as caught:
        slskd.enqueue("gone", [(VAKA, 1)])
    assert caught.value.maybe_done is False
