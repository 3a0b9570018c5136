"""The sandbox catalogue: the bundled small world and the benchmark generator."""

from __future__ import annotations

import uuid

import requests

from app.sandbox import Catalogue, Sandbox, SandboxSettings
from app.sandbox.catalogue import BEHAVIOURS, fold, words
from app.sandbox.generate import generate_catalogue_data


def test_it_loads_the_small_catalogue_with_its_edge_cases():
    cat = Catalogue.load()
    names = {a.name for a in cat.artists.values()}
    assert {"Sigur Rós", "Björk", "Mötley Crüe", "坂本龍一"} <= names
    assert {"Simon & Garfunkel", "The Beatles", "AC/DC"} <= names
    assert all(uuid.UUID(i) for i in list(cat.artists) + list(cat.release_groups) + list(cat.recordings))
    secondary = {s for g in cat.release_groups.values() for s in g.secondary_types}
    assert {"Live", "Compilation", "Remix", "Soundtrack"} <= secondary
    assert {"Single", "EP"} <= {g.primary_type for g in cat.release_groups.values()}
    assert any(r.disambiguation == "Collector's Edition" for r in cat.releases.values())
    assert any(not g.cover for g in cat.release_groups.values())
    assert {u.behaviour for u in cat.soulseek_users.values()} == set(BEHAVIOURS)
    assert any(a.musicbrainz_id == "" for a in cat.library)
    assert any(a.artist_musicbrainz_id == "" for a in cat.library)
    rob = cat.listener("rob")
    recommended = [r.recording_mbid for r in rob.recommendations]
    assert set(cat.uncached_recordings) <= set(recommended)
    releases = [cat.chosen_release(m) for m in recommended if m in cat.recordings]
    albums = [r.release_group_id for r in releases if r is not None]
    assert len(albums) > len(set(albums))  # several recommendations on the same album


def test_it_names_shared_files_like_windows_rips():
    cat = Catalogue.load()
    beatles = cat.soulseek_users["beatlesfan"].files
    assert any("\\CD2\\" in f.filename for f in beatles)
    assert all("/" not in f.filename.rsplit("\\", 1)[-1] for u in cat.soulseek_users.values() for f in u.files)
    extras = {f.extension for u in cat.soulseek_users.values() for f in u.files}
    assert {"flac", "mp3", "jpg", "cue", "log", "nfo", ""} <= extras


def test_it_folds_names_for_matching():
    assert fold("Björk") == fold("BJORK") == "bjork"
    assert words("AC/DC – Back in Black") == ["ac", "dc", "back", "in", "black"]
    assert words("Sigur Rós - ( ) [FLAC]") == ["sigur", "ros", "flac"]


def test_it_generates_the_same_bench_catalogue_for_the_same_seed():
    first = generate_catalogue_data(artists=40, albums=200, seed=7)
    assert first == generate_catalogue_data(artists=40, albums=200, seed=7)
    assert first != generate_catalogue_data(artists=40, albums=200, seed=8)


def test_it_generates_a_bench_size_world():
    cat = Catalogue.generate(artists=1000, albums=10000)
    summary = cat.summary()
    library_artists = {cat.library_artist_mbid(a) for a in cat.library}
    assert len(library_artists) >= 990
    assert summary["release_groups"] >= 11000
    assert len(cat.listener("rob").recommendations) == 1000
    assert summary["soulseek_users"] > 100 and summary["shared_files"] > 10000
    similar_counts = [len(a.similar) for a in cat.lastfm_artists if a.similar]
    assert len(similar_counts) == 1000 and min(similar_counts) >= 15
    with Sandbox(cat, settings=SandboxSettings.fast()) as sb:
        key = sb.credentials["slskd"]["api_key"]
        search = requests.post(sb.urls["slskd"] + "/api/v0/searches", json={"searchText": "Silent Harbour"},
                               headers={"X-API-Key": key}, timeout=10)
        assert search.status_code == 200
        ping = requests.get(sb.urls["subsonic"] + "/rest/getAlbumList2.view", timeout=10,
                            params={"u": "rob", "p": "sesame", "v": "1.16.1", "c": "t", "f": "json",
                                    "type": "alphabeticalByName", "size": 500})
        assert len(ping.json()["subsonic-response"]["albumList2"]["album"]) == 500
