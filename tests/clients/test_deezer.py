"""Deezer client: album search, the album's tracks and their previews, errors in the body."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.clients.deezer import MAX_PREVIEW_BYTES, DeezerClient, PreviewTrack
from app.clients.http import BadRequest, BadResponse, NotFound, RateLimited, Unavailable

BASE = "https://api.deezer.com"
PREVIEW = "https://cdnt-preview.dzcdn.net/api/1/1/a/b/c/0/abc.mp3?hdnea=exp=1~acl=/api/1/1/a/b/c/0/abc.mp3*~hmac=ff"


@pytest.fixture
def deezer(sleeps, retry, free_limiter):
    return DeezerClient(BASE, sleep=sleeps.append, retry=retry, limiter=free_limiter)


def album(album_id, title, artist):
    return {"id": album_id, "title": title, "link": f"https://www.deezer.com/album/{album_id}",
            "cover": f"https://api.deezer.com/album/{album_id}/image", "nb_tracks": 10, "record_type": "album",
            "tracklist": f"https://api.deezer.com/album/{album_id}/tracks", "explicit_lyrics": False,
            "artist": {"id": 1, "name": artist, "type": "artist"}, "type": "album"}


def track(position, title, preview=PREVIEW, readable=True):
    return {"id": 1000 + position, "readable": readable, "title": title, "title_short": title, "title_version": "",
            "link": "https://www.deezer.com/track/1", "duration": 240, "track_position": position, "disk_number": 1,
            "rank": 1, "explicit_lyrics": False, "preview": preview, "artist": {"id": 1, "name": "Sigur Rós"},
            "type": "track"}


SEARCH = {"data": [album(1, "Takk… (Live)", "Sigur Rós"), album(2, "Ágætis byrjun (Deluxe Edition)", "Sigur Rós"),
                   album(3, "Ágætis byrjun", "Tribute Band")], "total": 3}


def test_it_searches_by_artist_and_album_and_takes_the_matching_one(requests_mock, deezer):
    requests_mock.get(f"{BASE}/search/album", json=SEARCH)
    found = deezer.find_album("Sigur Ros", "Agaetis Byrjun")
    assert found.id == 2  # accents, case and the edition suffix aside; not another artist's album
    query = parse_qs(urlsplit(requests_mock.last_request.url).query)
    assert query["q"] == ['artist:"Sigur Ros" album:"Agaetis Byrjun"']
    assert requests_mock.last_request.headers["User-Agent"].startswith("Resonance/")


def test_no_matching_album_is_none(requests_mock, deezer):
    requests_mock.get(f"{BASE}/search/album", json={"data": [album(9, "Something Else", "Sigur Rós")], "total": 1})
    assert deezer.find_album("Sigur Rós", "Ágætis byrjun") is None


def test_quotes_in_names_do_not_break_the_query(requests_mock, deezer):
    requests_mock.get(f"{BASE}/search/album", json={"data": [], "total": 0})
    deezer.find_album('The "Band"', 'Say "Hi"')
    assert parse_qs(urlsplit(requests_mock.last_request.url).query)["q"] == ['artist:"The Band" album:"Say Hi"']


def test_album_previews_keep_only_tracks_with_a_preview(requests_mock, deezer):
    requests_mock.get(f"{BASE}/search/album", json=SEARCH)
    requests_mock.get(f"{BASE}/album/2/tracks", json={"data": [
        track(1, "Intro"), track(2, "Svefn-g-englar", preview=""), track(3, "Starálfur", readable=False),
        track(4, "Flugufrelsarinn"), "junk"], "total": 5})
    assert deezer.album_previews("Sigur Rós", "Ágætis byrjun") == [
        PreviewTrack(1, "Intro", 240, PREVIEW), PreviewTrack(4, "Flugufrelsarinn", 240, PREVIEW)]


def test_an_album_deezer_has_no_data_for_has_no_previews(requests_mock, deezer):
    requests_mock.get(f"{BASE}/search/album", json=SEARCH)
    requests_mock.get(f"{BASE}/album/2/tracks",
                      json={"error": {"type": "DataException", "message": "no data", "code": 800}})
    assert deezer.album_previews("Sigur Rós", "Ágætis byrjun") == []


def test_errors_in_the_body_are_mapped(requests_mock, deezer, sleeps):
    requests_mock.get(f"{BASE}/album/5/tracks",
                      json={"error": {"type": "DataException", "message": "no data", "code": 800}})
    with pytest.raises(NotFound):
        deezer.album_tracks(5)
    requests_mock.get(f"{BASE}/album/6/tracks",
                      json={"error": {"type": "ParameterException", "message": "Wrong parameter", "code": 500}})
    with pytest.raises(BadRequest):
        deezer.album_tracks(6)
    assert sleeps == []  # neither is retried


def test_the_quota_and_busy_errors_say_try_later(requests_mock, deezer):
    # With HTTP 200 they are answers, not transient failures: the caller (a person waiting) decides.
    requests_mock.get(f"{BASE}/search/album",
                      json={"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}})
    with pytest.raises(RateLimited) as caught:
        deezer.find_album("a", "b")
    assert caught.value.retryable and caught.value.retry_after == 5.0
    requests_mock.get(f"{BASE}/search/album",
                      json={"error": {"type": "Exception", "message": "Service busy", "code": 700}})
    with pytest.raises(Unavailable):
        deezer.find_album("a", "b")


def test_a_503_is_retried_until_an_answer(requests_mock, deezer, sleeps):
    requests_mock.get(f"{BASE}/search/album", [{"status_code": 503, "text": "busy"}, {"json": SEARCH}])
    assert deezer.find_album("Sigur Rós", "Ágætis byrjun").id == 2
    assert len(sleeps) == 1


def test_service_busy_for_good_is_unavailable(requests_mock, deezer):
    requests_mock.get(f"{BASE}/search/album", status_code=502, text="bad gateway")
    with pytest.raises(Unavailable):
        deezer.find_album("a", "b")


def test_a_body_without_data_is_a_bad_response(requests_mock, deezer):
    requests_mock.get(f"{BASE}/search/album", json={"total": 0})
    with pytest.raises(BadResponse):
        deezer.find_album("a", "b")


def test_preview_audio_is_fetched_whole(requests_mock, deezer):
    requests_mock.get(PREVIEW, content=b"ID3audio", headers={"Content-Type": "audio/mpeg"})
    assert deezer.preview_audio(PREVIEW) == b"ID3audio"


def test_a_preview_that_is_not_audio_or_far_too_big_is_refused(requests_mock, deezer):
    requests_mock.get(PREVIEW, text="<html>expired</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(BadResponse):
        deezer.preview_audio(PREVIEW)
    requests_mock.get(PREVIEW, content=b"\0" * (MAX_PREVIEW_BYTES + 1), headers={"Content-Type": "audio/mpeg"})
    with pytest.raises(BadResponse):
        deezer.preview_audio(PREVIEW)


def test_an_expired_preview_address_is_not_found_and_its_query_is_not_shown(requests_mock, deezer):
    requests_mock.get(PREVIEW, status_code=403, text="Forbidden")
    with pytest.raises(Exception) as caught:
        deezer.preview_audio(PREVIEW)
    assert "hmac" not in str(caught.value)
