"""Fake Subsonic (Navidrome-shaped): auth, artists, album paging, search, scans."""

from __future__ import annotations

import hashlib
import requests
from conditions import wait_for

from app.sandbox import Catalogue, Sandbox, SandboxSettings


def test_it_accepts_token_auth_as_in_the_spec_example(sandbox, subsonic, subsonic_ok):
    token = hashlib.md5(("sesame" + "c19b2d").encode()).hexdigest()
    assert token == "26719a1196d2a940705a59634eb18eab"
    body = subsonic_ok(subsonic(sandbox, "ping", u="rob", t=token, s="c19b2d"))
    assert body == {"status": "ok", "version": "1.16.1", "type": "navidrome", "serverVersion": "0.58.0 (sandbox)",
                    "openSubsonic": True}


def test_it_answers_wrong_credentials_with_code_40_and_http_200(sandbox, subsonic, subsonic_ok):
    body = subsonic_ok(subsonic(sandbox, "ping", u="rob", t="26719a1196d2a940705a59634eb18eab", s="other1"))
    assert body["status"] == "failed"
    assert body["error"] == {"code": 40, "message": "Wrong username or password"}
    assert subsonic_ok(subsonic(sandbox, "ping", u="nobody", p="sesame"))["error"]["code"] == 40


def test_it_accepts_legacy_and_api_key_auth(sandbox, subsonic, subsonic_ok):
    assert subsonic_ok(subsonic(sandbox, "ping", p="sesame"))["status"] == "ok"
    assert subsonic_ok(subsonic(sandbox, "ping", p="enc:" + "sesame".encode().hex()))["status"] == "ok"
    guest = subsonic_ok(subsonic(sandbox, "ping", u="guest", p="enc:" + "guest pass ü".encode().hex()))
    assert guest["status"] == "ok"
    api_key = sandbox.credentials["subsonic"]["api_key"]
    assert subsonic_ok(subsonic(sandbox, "ping", apiKey=api_key))["status"] == "ok"
    assert subsonic_ok(subsonic(sandbox, "ping", apiKey="nope"))["error"]["code"] == 44
    assert subsonic_ok(subsonic(sandbox, "ping", apiKey=api_key, u="rob"))["error"]["code"] == 43


def test_it_answers_missing_parameters_with_code_10(sandbox, subsonic, subsonic_ok):
    response = requests.get(sandbox.urls["subsonic"] + "/rest/ping", params={"u": "rob", "p": "sesame", "f": "json",
                                                                            "c": "tests"}, timeout=5)
    assert subsonic_ok(response)["error"] == {"code": 10, "message": "missing parameter: 'v'"}
    assert subsonic_ok(subsonic(sandbox, "getArtist"))["error"]["code"] == 10


def test_it_answers_in_xml_unless_json_is_asked_for(sandbox, subsonic):
    response = subsonic(sandbox, "ping", f="xml")
    assert response.headers["Content-Type"].startswith("application/xml")
    assert 'status="ok"' in response.text and 'xmlns="http://subsonic.org/restapi"' in response.text


def test_it_lists_library_artists_in_letter_indexes(sandbox, subsonic, subsonic_ok, find):
    artists = subsonic_ok(subsonic(sandbox, "getArtists"))["artists"]
    index = {group["name"]: group["artist"] for group in artists["index"]}
    by_name = {a["name"]: a for group in index.values() for a in group}
    assert "The Beatles" in {a["name"] for a in index["B"]}  # "The" is ignored for indexing
    assert by_name["坂本龍一"]["musicBrainzId"] == ""  # untagged artist, as Navidrome shows it
    assert by_name["坂本龍一"] in index["#"]
    assert by_name["Björk"]["musicBrainzId"] == find.artist("Björk").id
    assert by_name["Björk"]["albumCount"] == 3
    assert "Múm" not in by_name


def test_it_gets_an_artist_and_an_album(sandbox, subsonic, subsonic_ok, find):
    artists = subsonic_ok(subsonic(sandbox, "getArtists"))["artists"]["index"]
    beatles = next(a for group in artists for a in group["artist"] if a["name"] == "The Beatles")
    artist = subsonic_ok(subsonic(sandbox, "getArtist", id=beatles["id"]))["artist"]
    names = [a["name"] for a in artist["album"]]
    assert names == ["Abbey Road", "The Beatles (White Album)"] or names == ["The Beatles (White Album)", "Abbey Road"]
    white = next(a for a in artist["album"] if a["name"].startswith("The Beatles"))
    assert white["musicBrainzId"] == find.release("The Beatles", "The Beatles").id  # a release MBID
    album = subsonic_ok(subsonic(sandbox, "getAlbum", id=white["id"]))["album"]
    assert len(album["song"]) == 30 and album["song"][17]["discNumber"] == 2
    assert subsonic_ok(subsonic(sandbox, "getAlbum", id="nope"))["error"] == {"code": 70, "message": "data not found"}


def test_it_pages_album_lists(sandbox, subsonic, subsonic_ok):
    total = len(sandbox.catalogue.library)
    seen = []
    offset = 0
    while True:
        page = subsonic_ok(subsonic(sandbox, "getAlbumList2", type="alphabeticalByName", size=6, offset=offset))
        albums = page["albumList2"].get("album", [])
        seen += [a["name"] for a in albums]
        if len(albums) < 6:
            break
        offset += 6
    assert len(seen) == total
    assert seen == sorted(seen, key=lambda n: n.casefold().replace("á", "a").replace("ó", "o"))
    empty = subsonic_ok(subsonic(sandbox, "getAlbumList2", type="alphabeticalByName", size=10, offset=500))
    assert empty["albumList2"] == {}
    response = subsonic(sandbox, "getAlbumList2", type="newest", size=9999)
    assert response.headers["x-total-count"] == str(total)
    assert len(subsonic_ok(response)["albumList2"]["album"]) == total


def test_it_caps_album_list_pages_at_500(subsonic, subsonic_ok):
    catalogue = Catalogue.generate(artists=400, albums=10)
    assert len(catalogue.library) > 500
    with Sandbox(catalogue, settings=SandboxSettings.fast()) as sb:
        page = subsonic_ok(subsonic(sb, "getAlbumList2", type="alphabeticalByName", size=1000))
        assert len(page["albumList2"]["album"]) == 500
        rest = subsonic_ok(subsonic(sb, "getAlbumList2", type="alphabeticalByName", size=500, offset=500))
        assert len(rest["albumList2"]["album"]) == len(catalogue.library) - 500


def test_it_filters_album_lists_by_type(sandbox, subsonic, subsonic_ok):
    starred = subsonic_ok(subsonic(sandbox, "getAlbumList2", type="starred", size=50))["albumList2"]["album"]
    assert {a["name"] for a in starred} == {"( )", "Dummy"}
    by_year = subsonic_ok(subsonic(sandbox, "getAlbumList2", type="byYear", fromYear=1990, toYear=1999, size=50))
    assert all(1990 <= a["year"] <= 1999 for a in by_year["albumList2"]["album"])
    assert subsonic_ok(subsonic(sandbox, "getAlbumList2", type="byYear"))["error"]["code"] == 10
    unknown = subsonic_ok(subsonic(sandbox, "getAlbumList2", type="sideways"))
    assert unknown["error"] == {"code": 0, "message": "type 'sideways' not implemented"}
    newest = subsonic_ok(subsonic(sandbox, "getAlbumList2", type="newest", size=50))["albumList2"]["album"]
    edition = next(a for a in newest if a["name"] == "Music Has the Right to Children")
    assert edition["musicBrainzId"] == ""  # untagged album


def test_it_searches_with_search3(sandbox, subsonic, subsonic_ok):
    result = subsonic_ok(subsonic(sandbox, "search3", query="bjork"))["searchResult3"]
    assert [a["name"] for a in result["artist"]] == ["Björk"]
    assert len(result["album"]) == 3
    everything = subsonic_ok(subsonic(sandbox, "search3", query="", artistCount=500, albumCount=500, songCount=0))
    assert len(everything["searchResult3"]["album"]) == len(sandbox.catalogue.library)
    assert "song" not in everything["searchResult3"]
    assert subsonic_ok(subsonic(sandbox, "search3", query="zzzz"))["searchResult3"] == {}


def test_it_scans_and_picks_up_new_albums(sandbox, subsonic, subsonic_ok, find):
    sandbox.settings.subsonic_scan_seconds = 0.3
    sandbox.subsonic_state.add_album_on_next_scan(find.release("Múm", "Finally We Are No One").id, genre="Electronica")
    before = subsonic_ok(subsonic(sandbox, "search3", query="Finally"))["searchResult3"]
    assert "album" not in before
    started = subsonic_ok(subsonic(sandbox, "startScan"))["scanStatus"]
    assert started["scanning"] is True
    status = wait_for(lambda: (s := subsonic_ok(subsonic(sandbox, "getScanStatus"))["scanStatus"])
                      and not s["scanning"] and s, what="the scan to finish")
    assert status["count"] > 0 and "lastScan" in status
    after = subsonic_ok(subsonic(sandbox, "search3", query="Finally"))["searchResult3"]
    assert [a["name"] for a in after["album"]] == ["Finally We Are No One"]


def test_its_scan_finds_albums_in_the_library_folder_by_their_release_tags(sandbox, subsonic, subsonic_ok, find,
                                                                            tmp_path):
    from mediafile import MediaFile

    from app.sandbox.audio import write_track

    sandbox.settings.subsonic_scan_seconds = 0.3
    sandbox.settings.subsonic_library_dir = str(tmp_path)
    release = find.release("Múm", "Finally We Are No One").id
    track = tmp_path / "Múm" / "2002 - Finally We Are No One" / "01 Sleep.mp3"
    track.parent.mkdir(parents=True)
    write_track(track, 30)
    untagged = tmp_path / "Other" / "01.mp3"
    untagged.parent.mkdir()
    write_track(untagged, 30)
    tags = MediaFile(track)
    tags.mb_albumid = release
    tags.save()
    assert "album" not in subsonic_ok(subsonic(sandbox, "search3", query="Finally"))["searchResult3"]
    subsonic_ok(subsonic(sandbox, "startScan"))
    wait_for(lambda: not subsonic_ok(subsonic(sandbox, "getScanStatus"))["scanStatus"]["scanning"],
             what="the scan to finish")
    after = subsonic_ok(subsonic(sandbox, "search3", query="Finally"))["searchResult3"]
    assert [(a["name"], a["musicBrainzId"]) for a in after["album"]] == [("Finally We Are No One", release)]


def test_it_refuses_scans_to_non_admin_users(sandbox, subsonic, subsonic_ok):
    body = subsonic_ok(subsonic(sandbox, "startScan", u="guest", p="guest pass ü"))
    assert body["error"]["code"] == 50


def test_it_answers_both_method_spellings(sandbox, subsonic_ok):
    params = {"u": "rob", "p": "sesame", "v": "1.16.1", "c": "tests", "f": "json"}
    for path in ("/rest/ping", "/rest/ping.view"):
        assert subsonic_ok(requests.get(sandbox.urls["subsonic"] + path, params=params, timeout=5))["status"] == "ok"
    assert requests.get(sandbox.urls["subsonic"] + "/rest/nothing.view", params=params, timeout=5).status_code == 404


def test_its_web_app_lists_the_albums_the_in_library_links_point_at(sandbox, subsonic, subsonic_ok):
    album = subsonic_ok(subsonic(sandbox, "getAlbumList2", type="alphabeticalByName", size=1))["albumList2"]["album"][0]
    page = requests.get(f"{sandbox.urls['subsonic']}/app/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert f'id="album/{album["id"]}"' in page.text and album["name"] in page.text
