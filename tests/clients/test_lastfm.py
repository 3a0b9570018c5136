"""Last.fm client: artist.getSimilar, error codes in the body, quirks."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.clients.http import (
    AuthError,
    BadRequest,
    BadResponse,
    NotFound,
    RateLimited,
    RateLimiter,
    Unavailable,
)
from app.clients.lastfm import LastFmClient, SimilarArtist

BASE = "https://ws.audioscrobbler.com/2.0/"
KEY = "0123456789abcdef0123456789abcdef"
SIGUR = "f6f2326f-6b25-4170-b89d-e235b25508e8"


@pytest.fixture
def lastfm(sleeps, retry, free_limiter):
    return LastFmClient(BASE, KEY, sleep=sleeps.append, retry=retry, limiter=free_limiter)


def query(request):
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


SIMILAR = {"similarartists": {"artist": [
    {"name": "Múm", "mbid": "1f8b8b7b-6d84-4b64-8a77-3b1a2f1fbf2c", "match": "1", "url": "https://www.last.fm/music/M%C3%BAm",
     "image": [{"#text": "https://x/34s/a.png", "size": "small"}], "streamable": "0"},
    {"name": "Jónsi", "mbid": "", "match": "0.873412", "url": "https://www.last.fm/music/J%C3%B3nsi", "streamable": "0"},
    {"name": "坂本龍一", "match": "0.5"},
    {"name": "Broken", "mbid": "", "match": "n/a"},
], "@attr": {"artist": "Sigur Rós"}}}


def assert_no_key(error):
    assert KEY not in str(error) and KEY not in repr(error)


def test_it_returns_similar_artists_with_float_matches(requests_mock, lastfm):
    requests_mock.get(BASE, json=SIMILAR)
    result = lastfm.similar_artists(name="Sigur Ros", limit=50)
    assert result.corrected_name == "Sigur Rós"
    assert result.artists == (
        SimilarArtist("Múm", "1f8b8b7b-6d84-4b64-8a77-3b1a2f1fbf2c", 1.0),
        SimilarArtist("Jónsi", None, 0.873412),
        SimilarArtist("坂本龍一", None, 0.5),
        SimilarArtist("Broken", None, 0.0),
    )
    sent = query(requests_mock.last_request)
    assert sent == {"method": "artist.getsimilar", "artist": "Sigur Ros", "autocorrect": "1", "limit": "50",
                    "api_key": KEY, "format": "json"}


def test_it_queries_by_mbid_first_when_known(requests_mock, lastfm):
    requests_mock.get(BASE, json=SIMILAR)
    result = lastfm.similar_artists(name="Sigur Rós", mbid=SIGUR)
    assert result.by_mbid
    sent = query(requests_mock.last_request)
    assert sent["mbid"] == SIGUR and "artist" not in sent
    assert requests_mock.call_count == 1


def test_it_falls_back_to_the_name_on_error_6_at_http_200(requests_mock, lastfm, sleeps):
    requests_mock.get(BASE, [
        {"status_code": 200, "json": {"error": 6, "message": "The artist you supplied could not be found", "links": []}},
        {"json": SIMILAR},
    ])
    result = lastfm.similar_artists(name="Sigur Rós", mbid=SIGUR)
    assert not result.by_mbid and len(result.artists) == 4
    first, second = (query(r) for r in requests_mock.request_history)
    assert first["mbid"] == SIGUR
    assert second["artist"] == "Sigur Rós" and second["autocorrect"] == "1" and "mbid" not in second
    assert sleeps == []


def test_it_raises_not_found_when_the_name_is_unknown_too(requests_mock, lastfm):
    requests_mock.get(BASE, json={"error": 6, "message": "The artist you supplied could not be found"})
    with pytest.raises(NotFound) as caught:
        lastfm.similar_artists(name="Nobody Anywhere", mbid=SIGUR)
    assert caught.value.code == 6 and caught.value.status == 200
    assert requests_mock.call_count == 2
    assert_no_key(caught.value)


def test_it_raises_not_found_for_an_unknown_mbid_without_a_name(requests_mock, lastfm):
    requests_mock.get(BASE, json={"error": 6, "message": "The artist you supplied could not be found"})
    with pytest.raises(NotFound):
        lastfm.similar_artists(mbid=SIGUR)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("code, status, text", [
    (10, 403, "Last.fm rejected the API key"),
    (10, 200, "Last.fm rejected the API key"),
    (26, 403, "Last.fm suspended the API key"),
])
def test_it_treats_bad_or_suspended_keys_as_fatal(requests_mock, lastfm, sleeps, code, status, text):
    requests_mock.get(BASE, status_code=status,
                      json={"error": code, "message": f"Invalid API key - You must be granted a valid key by last.fm {KEY}"})
    with pytest.raises(AuthError, match=text) as caught:
        lastfm.similar_artists(name="Björk", mbid="87c5dedd-371d-4a53-9f7f-80522fb7f3cb")
    assert caught.value.retryable is False
    assert caught.value.code == code
    assert requests_mock.call_count == 1 and sleeps == []
    assert_no_key(caught.value)


def test_it_reports_rate_limiting_as_retryable(requests_mock, lastfm, sleeps):
    requests_mock.get(BASE, json={"error": 29, "message": "Rate Limit Exceded"})
    with pytest.raises(RateLimited) as caught:
        lastfm.similar_artists(name="Björk")
    assert caught.value.retryable and caught.value.code == 29
    assert requests_mock.call_count == 1


def test_it_retries_error_29_when_sent_with_http_429(requests_mock, lastfm, sleeps):
    requests_mock.get(BASE, [
        {"status_code": 429, "json": {"error": 29, "message": "Rate Limit Exceded"}, "headers": {"Retry-After": "5"}},
        {"json": SIMILAR},
    ])
    assert len(lastfm.similar_artists(name="Björk").artists) == 4
    assert sleeps == [5.0]


@pytest.mark.parametrize("code", [8, 11, 16])
def test_it_marks_backend_errors_retryable(requests_mock, lastfm, code):
    requests_mock.get(BASE, json={"error": code, "message": "Operation failed - Most likely the backend service failed."})
    with pytest.raises(Unavailable) as caught:
        lastfm.similar_artists(name="Björk")
    assert caught.value.retryable and caught.value.code == code


def test_it_retries_backend_errors_sent_with_503(requests_mock, lastfm, sleeps):
    requests_mock.get(BASE, [
        {"status_code": 503, "json": {"error": 16, "message": "temporary"}},
        {"json": SIMILAR},
    ])
    lastfm.similar_artists(name="Björk")
    assert sleeps == [1.0]


def test_it_does_not_retry_programming_errors(requests_mock, lastfm):
    requests_mock.get(BASE, status_code=400, json={"error": 3, "message": "Invalid Method"})
    with pytest.raises(BadRequest) as caught:
        lastfm.similar_artists(name="Björk")
    assert not caught.value.retryable and requests_mock.call_count == 1


def test_it_survives_an_html_5xx(requests_mock, lastfm, sleeps):
    requests_mock.get(BASE, status_code=502, text="<html><body>Bad Gateway</body></html>",
                      headers={"Content-Type": "text/html"})
    with pytest.raises(Unavailable) as caught:
        lastfm.similar_artists(name="Björk")
    assert requests_mock.call_count == 4 and sleeps == [1.0, 2.0, 4.0]
    assert_no_key(caught.value)


def test_it_rejects_a_200_html_page(requests_mock, lastfm):
    requests_mock.get(BASE, text="<html>maintenance</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(BadResponse):
        lastfm.similar_artists(name="Björk")


def test_it_accepts_a_single_object_instead_of_a_list(requests_mock, lastfm):
    requests_mock.get(BASE, json={"similarartists": {
        "artist": {"name": "Björk", "mbid": "87c5dedd-371d-4a53-9f7f-80522fb7f3cb", "match": "0.42"},
        "@attr": {"artist": "Múm"}}})
    result = lastfm.similar_artists(name="mum")
    assert result.artists == (SimilarArtist("Björk", "87c5dedd-371d-4a53-9f7f-80522fb7f3cb", 0.42),)
    assert result.corrected_name == "Múm"


@pytest.mark.parametrize("block", [
    {"artist": [], "@attr": {"artist": "Tiny Band"}},
    {"#text": "\n", "@attr": {"artist": "Tiny Band"}},
])
def test_it_accepts_an_empty_list(requests_mock, lastfm, block):
    requests_mock.get(BASE, json={"similarartists": block})
    result = lastfm.similar_artists(name="Tiny Band")
    assert result.artists == () and result.corrected_name == "Tiny Band"


def test_it_url_encodes_names_with_specials(requests_mock, lastfm):
    requests_mock.get(BASE, json={"similarartists": {"artist": []}})
    lastfm.similar_artists(name="Simon & Garfunkel + AC/DC #1?")
    assert "artist=Simon+%26+Garfunkel+%2B+AC%2FDC+%231%3F" in requests_mock.last_request.url


def test_it_sends_unicode_names_as_utf8_and_reads_them_back(requests_mock, lastfm):
    requests_mock.get(BASE, json={"similarartists": {
        "artist": [{"name": "Yellow Magic Orchestra", "mbid": "", "match": "1"}, {"name": "Hildur Guðnadóttir", "match": "0.4"}],
        "@attr": {"artist": "Ryuichi Sakamoto"}}})
    result = lastfm.similar_artists(name="坂本龍一")
    assert "artist=%E5%9D%82%E6%9C%AC%E9%BE%8D%E4%B8%80" in requests_mock.last_request.url
    assert query(requests_mock.last_request)["artist"] == "坂本龍一"
    assert result.corrected_name == "Ryuichi Sakamoto" and result.artists[1].name == "Hildur Guðnadóttir"


def test_it_spaces_requests_below_five_per_second(requests_mock, clock, sleeps):
    limiter = RateLimiter(0.22, clock=clock, sleep=clock.sleep)
    client = LastFmClient(BASE, KEY, sleep=sleeps.append, limiter=limiter)
    requests_mock.get(BASE, json={"similarartists": {"artist": []}})
    for _ in range(3):
        client.similar_artists(name="x")
    assert clock.sleeps == pytest.approx([0.22, 0.22])
    assert LastFmClient(BASE, KEY).http.rate_limiter.min_interval == pytest.approx(0.22)


def test_it_requires_an_api_key_and_a_query():
    with pytest.raises(ValueError):
        LastFmClient(BASE, "")
    with pytest.raises(ValueError):
        LastFmClient(BASE, KEY).similar_artists()
