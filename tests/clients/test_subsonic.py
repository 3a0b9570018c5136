"""Subsonic client: auth math, URL building, envelopes, paging, failure codes."""

from __future__ import annotations

import itertools
from urllib.parse import parse_qs, urlsplit

import pytest

from app.clients.http import AuthError, BadRequest, BadResponse, NotFound, UpstreamError
from app.clients.subsonic import (
    IncompatibleServer,
    SubsonicClient,
    legacy_password,
    new_salt,
    token_for,
)

BASE = "http://nas.local:4533"
PASSWORD = "sésame-Pässwörd!"


def envelope(**body):
    return {"subsonic-response": {"status": "ok", "version": "1.16.1", "type": "navidrome",
                                  "serverVersion": "0.58.0 (3a1b2c3)", "openSubsonic": True, **body}}


def failed(code, message):
    return {"subsonic-response": {"status": "failed", "version": "1.16.1", "type": "navidrome",
                                  "serverVersion": "0.58.0", "openSubsonic": True,
                                  "error": {"code": code, "message": message}}}


def query(request):
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


@pytest.fixture
def salts():
    return (f"salt{i:04d}" for i in itertools.count())


@pytest.fixture
def sub(sleeps, retry, salts):
    return SubsonicClient(BASE, "rob", PASSWORD, sleep=sleeps.append, retry=retry, salt_factory=lambda: next(salts))


def test_it_computes_the_spec_token_example():
    assert token_for("sesame", "c19b2d") == "26719a1196d2a940705a59634eb18eab"
    assert legacy_password("sesame") == "enc:736573616d65"
    assert legacy_password("Björk") == "enc:426ac3b6726b"
    assert len(new_salt()) >= 6 and new_salt() != new_salt()


def test_it_pings_with_token_auth_and_a_fresh_salt_per_request(requests_mock, sub):
    requests_mock.get(f"{BASE}/rest/ping.view", json=envelope())
    info = sub.ping()
    sub.ping()
    assert info.open_subsonic and info.type == "navidrome" and info.api_version == "1.16.1"
    first, second = (query(r) for r in requests_mock.request_history)
    assert first["s"] != second["s"]
    for sent in (first, second):
        assert sent["u"] == "rob" and sent["v"] == "1.16.1" and sent["c"] == "resonance" and sent["f"] == "json"
        assert sent["t"] == token_for(PASSWORD, sent["s"])
        assert "p" not in sent


def test_it_uses_legacy_enc_auth_when_enabled(requests_mock, sleeps, retry):
    client = SubsonicClient(BASE, "rob", "sesame", legacy_auth=True, sleep=sleeps.append, retry=retry)
    requests_mock.get(f"{BASE}/rest/ping.view", json=envelope())
    client.ping()
    sent = query(requests_mock.last_request)
    assert sent["p"] == "enc:736573616d65"
    assert "t" not in sent and "s" not in sent


@pytest.mark.parametrize("base", ["http://host/music", "http://host/music/", "http://host/music//", "http://host/music/rest"])
def test_it_keeps_a_path_prefix_and_tolerates_trailing_slashes(requests_mock, sleeps, retry, base):
    client = SubsonicClient(base, "rob", "pw", sleep=sleeps.append, retry=retry)
    requests_mock.get("http://host/music/rest/ping.view", json=envelope())
    client.ping()
    assert requests_mock.last_request.path == "/music/rest/ping.view"


def test_it_sends_client_name_and_api_version(requests_mock, sleeps, retry):
    client = SubsonicClient(BASE, "rob", "pw", client_name="resonance-test", api_version="1.13.0",
                            sleep=sleeps.append, retry=retry)
    requests_mock.get(f"{BASE}/rest/ping.view", json=envelope())
    client.ping()
    sent = query(requests_mock.last_request)
    assert sent["c"] == "resonance-test" and sent["v"] == "1.13.0"


def test_it_lists_artists_across_indexes(requests_mock, sub):
    requests_mock.get(f"{BASE}/rest/getArtists.view", json=envelope(artists={
        "ignoredArticles": "The El La", "lastModified": 1731840000000,
        "index": [
            {"name": "B", "artist": [
                {"id": "3be7", "name": "Björk", "albumCount": 9, "musicBrainzId": "87c5dedd-371d-4a53-9f7f-80522fb7f3cb",
                 "sortName": "bjork", "roles": ["albumartist"]}]},
            {"name": "S", "artist": {"id": 42, "name": "Sigur Rós", "albumCount": 3}},
            {"name": "#", "artist": [{"id": "9a0c", "name": "坂本龍一", "albumCount": 3, "musicBrainzId": "", "sortName": ""}]},
            {"name": "E"},
        ]}))
    artists = sub.artists()
    assert [(a.id, a.name, a.musicbrainz_id) for a in artists] == [
        ("3be7", "Björk", "87c5dedd-371d-4a53-9f7f-80522fb7f3cb"), ("42", "Sigur Rós", None), ("9a0c", "坂本龍一", None)]
    assert artists[0].sort_name == "bjork" and artists[2].sort_name is None


@pytest.mark.parametrize("block", [{"ignoredArticles": ""}, {"index": []}, None])
def test_it_accepts_an_empty_library(requests_mock, sub, block):
    body = envelope() if block is None else envelope(artists=block)
    requests_mock.get(f"{BASE}/rest/getArtists.view", json=body)
    assert sub.artists() == []


def album(i, **extra):
    return {"id": f"al-{i}", "name": f"Album {i}", "artist": "Sigur Rós", "artistId": "77e1", "songCount": 8,
            "year": 2002, "created": "2024-02-11T09:14:03.52Z", "musicBrainzId": "", **extra}


def test_it_pages_albums_until_a_short_page_and_dedupes(requests_mock, sub):
    requests_mock.get(f"{BASE}/rest/getAlbumList2.view", [
        {"json": envelope(albumList2={"album": [album(i) for i in range(3)]})},
        {"json": envelope(albumList2={"album": [album(2), album(3), album(4)]})},
        {"json": envelope(albumList2={"album": [album(5, name="( )", musicBrainzId="3a8f2b1c-aaaa-bbbb-cccc-000000000000")]})},
    ])
    albums = sub.albums(page_size=3)
    assert [a.id for a in albums] == ["al-0", "al-1", "al-2", "al-3", "al-4", "al-5"]
    assert albums[-1].name == "( )" and albums[-1].musicbrainz_id == "3a8f2b1c-aaaa-bbbb-cccc-000000000000"
    assert albums[0].musicbrainz_id is None and albums[0].created.year == 2024
    sent = [query(r) for r in requests_mock.request_history]
    assert [(s["type"], s["size"], s["offset"]) for s in sent] == [
        ("alphabeticalByName", "3", "0"), ("alphabeticalByName", "3", "3"), ("alphabeticalByName", "3", "6")]


def test_it_uses_pages_of_500_by_default(requests_mock, sub):
    requests_mock.get(f"{BASE}/rest/getAlbumList2.view", json=envelope(albumList2={"album": [album(1)]}))
    sub.albums()
    assert query(requests_mock.last_request)["size"] == "500"


@pytest.mark.parametrize("block", [{}, {"album": []}])
def test_it_accepts_an_empty_album_list(requests_mock, sub, block):
    requests_mock.get(f"{BASE}/rest/getAlbumList2.view", json=envelope(albumList2=block))
    assert sub.albums() == []
    assert requests_mock.call_count == 1


def test_it_searches(requests_mock, sub):
    requests_mock.get(f"{BASE}/rest/search3.view", [
        {"json": envelope(searchResult3={
            "artist": [{"id": "a1", "name": "Mötley Crüe", "albumCount": 1}],
            "album": [album(1)],
            "song": [{"id": "s1", "title": "Hoppípolla", "artist": "Sigur Rós", "album": "Takk...", "albumId": "al-9", "track": 2}]})},
        {"json": envelope(searchResult3={})},
    ])
    result = sub.search3("crüe", song_count=5)
    assert result.artists[0].name == "Mötley Crüe" and result.albums[0].id == "al-1"
    assert result.songs[0].title == "Hoppípolla" and result.songs[0].track == 2
    sent = query(requests_mock.request_history[0])
    assert sent["query"] == "crüe" and sent["songCount"] == "5" and sent["albumCount"] == "20"
    assert sub.search3("nothing") == type(result)()


def test_it_starts_and_polls_scans(requests_mock, sub):
    requests_mock.get(f"{BASE}/rest/startScan.view", json=envelope(scanStatus={"scanning": True, "count": 0}))
    requests_mock.get(f"{BASE}/rest/getScanStatus.view", json=envelope(scanStatus={
        "scanning": False, "count": 10234, "folderCount": 812, "lastScan": "2025-11-20T08:00:03Z"}))
    assert sub.start_scan().scanning is True
    status = sub.scan_status()
    assert status.scanning is False and status.count == 10234 and status.last_scan.hour == 8


@pytest.mark.parametrize("code, error, text", [
    (40, AuthError, "Subsonic server rejected the username or password"),
    (41, AuthError, "legacy-auth"),
    (20, IncompatibleServer, "requires a newer protocol"),
    (30, IncompatibleServer, "too old"),
    (70, NotFound, "data not found"),
    (10, BadRequest, "missing parameter"),
    (50, AuthError, "not authorized"),
    (0, UpstreamError, "error 0"),
])
def test_it_maps_failed_envelopes_at_http_200(requests_mock, sub, sleeps, code, error, text):
    messages = {40: "Wrong username or password", 70: "data not found", 10: "missing parameter: 'u'"}
    requests_mock.get(f"{BASE}/rest/ping.view", json=failed(code, messages.get(code, f"problem {code}")))
    with pytest.raises(error, match=text) as caught:
        sub.ping()
    assert caught.value.code == code and not caught.value.retryable
    assert requests_mock.call_count == 1 and sleeps == []
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("response", [
    {"text": "<html><body>Welcome to nginx</body></html>", "headers": {"Content-Type": "text/html"}},
    {"json": {"status": "ok"}},
    {"status_code": 404, "text": "404 page not found"},
])
def test_it_says_not_a_subsonic_server_without_an_envelope(requests_mock, sub, response):
    requests_mock.get(f"{BASE}/rest/ping.view", **response)
    with pytest.raises(BadResponse, match=f"not a Subsonic server at {BASE}"):
        sub.ping()


def test_it_never_leaks_credentials(requests_mock, sleeps, retry):
    client = SubsonicClient("http://rob:hunter2@nas.local:4533/music", "rob", "hunter2", legacy_auth=True,
                            sleep=sleeps.append, retry=retry)
    requests_mock.get("http://rob:hunter2@nas.local:4533/music/rest/ping.view",
                      text="<html>oops</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(BadResponse) as caught:
        client.ping()
    text = str(caught.value) + repr(caught.value) + repr(client)
    assert "hunter2" not in text and legacy_password("hunter2")[4:] not in text
    assert "http://nas.local:4533/music" in str(caught.value)


def test_it_retries_a_429_with_retry_after(requests_mock, sub, sleeps):
    requests_mock.get(f"{BASE}/rest/ping.view", [
        {"status_code": 429, "headers": {"Retry-After": "2"}, "text": ""},
        {"json": envelope()},
    ])
    sub.ping()
    assert sleeps == [2.0]


def test_it_passes_the_tls_verification_setting(requests_mock, sleeps, retry):
    client = SubsonicClient("https://nas.local", "rob", "pw", verify_tls=False, sleep=sleeps.append, retry=retry)
    requests_mock.get("https://nas.local/rest/ping.view", json=envelope())
    client.ping()
    assert requests_mock.last_request.verify is False
