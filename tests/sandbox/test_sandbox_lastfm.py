"""Fake Last.fm: artist.getSimilar by MBID or name, error codes and statuses, XML."""

from __future__ import annotations


def test_it_finds_similar_artists_by_mbid(sandbox, lastfm, find):
    body = lastfm(sandbox, method="artist.getsimilar", mbid=find.artist("Sigur Rós").id, limit=5).json()
    similar = body["similarartists"]
    assert similar["@attr"]["artist"] == "Sigur Rós"
    assert len(similar["artist"]) == 5
    first = similar["artist"][0]
    assert first["name"] == "Jónsi" and first["match"] == "1" and first["mbid"] == ""
    assert isinstance(similar["artist"][1]["match"], str) and 0 < float(similar["artist"][1]["match"]) < 1
    assert first["url"] == "https://www.last.fm/music/J%C3%B3nsi"
    assert [i["size"] for i in first["image"]] == ["small", "medium", "large", "extralarge", "mega", ""]


def test_it_treats_method_names_case_insensitively(sandbox, lastfm, find):
    body = lastfm(sandbox, method="artist.getSimilar", artist="Portishead").json()
    assert body["similarartists"]["artist"][0]["name"] == "Massive Attack"


def test_it_autocorrects_names_and_reports_the_corrected_one(sandbox, lastfm):
    corrected = lastfm(sandbox, method="artist.getsimilar", artist="坂本龍一", autocorrect=1).json()
    assert corrected["similarartists"]["@attr"]["artist"] == "Ryuichi Sakamoto"
    uncorrected = lastfm(sandbox, method="artist.getsimilar", artist="Sigur Ros")
    assert uncorrected.status_code == 200 and uncorrected.json()["error"] == 6
    assert lastfm(sandbox, method="artist.getsimilar", artist="sigur ros", autocorrect=1).json()[
        "similarartists"]["@attr"]["artist"] == "Sigur Rós"


def test_it_answers_error_6_with_http_200_for_unknown_artists(sandbox, lastfm, find):
    response = lastfm(sandbox, method="artist.getsimilar", artist="Nobody At All")
    assert response.status_code == 200
    assert response.json() == {"error": 6, "message": "The artist you supplied could not be found", "links": []}
    # Last.fm has no MBID for Jónsi: by MBID fails, by name works
    by_mbid = lastfm(sandbox, method="artist.getsimilar", mbid=find.artist("Jónsi").id)
    assert by_mbid.json()["error"] == 6
    assert "similarartists" in lastfm(sandbox, method="artist.getsimilar", artist="Jónsi").json()


def test_it_rejects_a_bad_key_with_error_10_and_http_403(sandbox, lastfm):
    response = lastfm(sandbox, method="artist.getsimilar", artist="Björk", api_key="0" * 32)
    assert response.status_code == 403
    assert response.json()["error"] == 10
    suspended = lastfm(sandbox, method="artist.getsimilar", artist="Björk",
                       api_key=sandbox.catalogue.lastfm_suspended_keys[0])
    assert suspended.status_code == 403 and suspended.json()["error"] == 26


def test_it_answers_error_29_above_the_rate_limit(clocked_sandbox, manual_clock, lastfm):
    clocked_sandbox.settings.lastfm_rate, clocked_sandbox.settings.lastfm_burst = 5.0, 5
    responses = [lastfm(clocked_sandbox, method="artist.getsimilar", artist="Björk") for _ in range(6)]
    codes = [r.json().get("error") for r in responses]
    assert codes == [None] * 5 + [29]
    manual_clock.advance(0.2)  # one more request's worth at 5 per second
    assert "error" not in lastfm(clocked_sandbox, method="artist.getsimilar", artist="Björk").json()
    assert next(r for r in responses if r.json().get("error") == 29).status_code == 429


def test_it_answers_unknown_methods_with_error_3(sandbox, lastfm):
    response = lastfm(sandbox, method="artist.getTopAlbums", artist="Björk")
    assert response.json()["error"] == 3


def test_it_gives_an_empty_list_for_artists_without_similar_data(sandbox, lastfm):
    body = lastfm(sandbox, method="artist.getsimilar", artist="Max Richter").json()
    assert body == {"similarartists": {"artist": [], "@attr": {"artist": "Max Richter"}}}


def test_it_answers_xml_without_format_json(sandbox, lastfm):
    response = lastfm(sandbox, method="artist.getsimilar", artist="Slowdive", format="")
    assert response.headers["Content-Type"].startswith("text/xml")
    assert '<lfm status="ok">' in response.text and "<name>Cocteau Twins</name>" in response.text
    failed = lastfm(sandbox, method="artist.getsimilar", artist="Nobody", format="")
    assert '<lfm status="failed"><error code="6">' in failed.text


def test_it_gives_artist_info(sandbox, lastfm):
    info = lastfm(sandbox, method="artist.getinfo", artist="Simon & Garfunkel").json()["artist"]
    assert info["name"] == "Simon & Garfunkel"
    assert info["url"] == "https://www.last.fm/music/Simon+%26+Garfunkel"
    assert info["stats"]["listeners"].isdigit()
