"""Fake MusicBrainz: rate limit, User-Agent, lookups, browse paging, search."""

from __future__ import annotations

import time

import requests

HELP = "For usage, please see: https://musicbrainz.org/development/mmd"
RATE_TEXT = ("Your requests are exceeding the allowable rate limit. Please see "
             "http://wiki.musicbrainz.org/XMLWebService for more information.")


def test_it_refuses_a_burst_with_503_and_retry_after(clocked_sandbox, mb):
    clocked_sandbox.settings.musicbrainz_rate = 1.0
    statuses = [mb(clocked_sandbox, "artist", query="Air") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 503, 503]  # tolerance: 2 back to back
    refused = statuses[2]
    assert refused.json() == {"error": RATE_TEXT}
    assert refused.headers["Retry-After"] == "1"


def test_it_never_refuses_a_client_pacing_at_one_request_per_second(clocked_sandbox, manual_clock, mb):
    clocked_sandbox.settings.musicbrainz_rate = 1.0
    for _ in range(12):
        assert mb(clocked_sandbox, "artist", query="Björk").status_code == 200
        manual_clock.advance(1.0)
    # the same client bursting is refused
    burst = [mb(clocked_sandbox, "artist", query="Björk").status_code for _ in range(3)]
    assert 503 in burst


def test_it_lets_a_paced_client_through_in_real_time(sandbox, mb):
    sandbox.settings.musicbrainz_rate = 10.0  # the default tolerance absorbs arrival jitter
    for _ in range(6):
        started = time.monotonic()
        assert mb(sandbox, "artist", query="Mogwai").status_code == 200
        time.sleep(max(0.0, 0.11 - (time.monotonic() - started)))


def test_it_can_leave_out_retry_after(clocked_sandbox, mb):
    clocked_sandbox.settings.musicbrainz_rate, clocked_sandbox.settings.musicbrainz_retry_after = 1.0, None
    responses = [mb(clocked_sandbox, "artist", query="Air") for _ in range(3)]
    assert responses[-1].status_code == 503 and "Retry-After" not in responses[-1].headers


def test_it_answers_503_without_a_user_agent(sandbox):
    response = requests.get(sandbox.urls["musicbrainz"] + "/ws/2/artist?query=Air&fmt=json",
                            headers={"User-Agent": ""}, timeout=5)
    assert response.status_code == 503
    assert response.json() == {"error": RATE_TEXT}


def test_it_only_speaks_json(sandbox, user_agent):
    response = requests.get(sandbox.urls["musicbrainz"] + "/ws/2/artist?query=Air",
                            headers={"User-Agent": user_agent}, timeout=5)
    assert response.status_code == 406
    accepted = requests.get(sandbox.urls["musicbrainz"] + "/ws/2/artist?query=Air",
                            headers={"User-Agent": user_agent, "Accept": "application/json"}, timeout=5)
    assert accepted.status_code == 200


def test_it_answers_invalid_and_unknown_mbids(sandbox, mb):
    invalid = mb(sandbox, "recording/not-an-mbid")
    assert invalid.status_code == 400
    assert invalid.json() == {"error": "Invalid mbid.", "help": HELP}
    unknown = mb(sandbox, "recording/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Not Found", "help": HELP}


def test_it_looks_up_a_recording_with_releases_and_release_groups(sandbox, mb, find):
    jóga = find.recording("Björk", "Jóga", "Homogenic")
    body = mb(sandbox, f"recording/{jóga.id}", inc="releases+release-groups+artist-credits").json()
    assert body["id"] == jóga.id and body["title"] == "Jóga"
    assert body["artist-credit"][0]["artist"]["name"] == "Björk"
    groups = {r["release-group"]["title"]: r["release-group"] for r in body["releases"]}
    assert set(groups) == {"Homogenic", "Greatest Hits"}
    assert groups["Greatest Hits"]["secondary-types"] == ["Compilation"]
    assert groups["Homogenic"]["primary-type-id"] == "f529b476-6e62-324f-b0aa-1f3e33d313fc"
    assert body["first-release-date"] == "1997-09-22"


def test_it_narrows_recording_releases_by_status_and_type(sandbox, mb, find):
    get_lucky = find.recording("Daft Punk", "Get Lucky", "Random Access Memories")
    path = f"recording/{get_lucky.id}"
    albums = mb(sandbox, path, inc="releases release-groups", status="official", type="album").json()
    assert [r["release-group"]["primary-type"] for r in albums["releases"]] == ["Album"]
    singles = mb(sandbox, f"recording/{get_lucky.id}", inc="releases+release-groups", type="single").json()
    assert [r["release-group"]["primary-type"] for r in singles["releases"]] == ["Single"]
    refused = mb(sandbox, f"recording/{get_lucky.id}", status="official")
    assert refused.status_code == 400
    assert refused.json()["error"] == "status is not a valid parameter unless releases are requested."


def test_it_follows_merged_mbids(sandbox, mb):
    old, new = next(iter(sandbox.catalogue.redirects.items()))
    assert mb(sandbox, f"recording/{old}").json()["id"] == new


def test_it_lists_no_releases_for_a_standalone_recording(sandbox, mb):
    cat = sandbox.catalogue
    standalone = next(r for r in cat.recordings.values() if not cat.releases_of_recording(r.id))
    body = mb(sandbox, f"recording/{standalone.id}", inc="releases").json()
    assert body["releases"] == [] and "first-release-date" not in body


def test_it_rejects_unknown_inc_values(sandbox, mb, find):
    response = mb(sandbox, f"recording/{find.recording('Björk', 'Jóga', 'Homogenic').id}", inc="releases+albums")
    assert response.status_code == 400
    assert response.json()["error"] == "albums is not a valid inc parameter for the recording resource."


def test_it_pages_release_groups_of_an_artist(sandbox, mb, find):
    sigur_ros = find.artist("Sigur Rós").id
    everything = mb(sandbox, "release-group", artist=sigur_ros, limit=100).json()
    total = everything["release-group-count"]
    assert total == len(everything["release-groups"]) == 8
    seen = []
    offset = 0
    while offset < total:
        page = mb(sandbox, "release-group", artist=sigur_ros, limit=3, offset=offset).json()
        assert page["release-group-offset"] == offset and page["release-group-count"] == total
        seen += [g["id"] for g in page["release-groups"]]
        offset += len(page["release-groups"])
    assert seen == [g["id"] for g in everything["release-groups"]]
    assert everything["release-groups"][0]["primary-type"] == "Album"


def test_it_filters_release_groups_by_type_and_status(sandbox, mb, find):
    sigur_ros = find.artist("Sigur Rós").id
    albums = mb(sandbox, "release-group", artist=sigur_ros, type="album").json()["release-groups"]
    assert {g["primary-type"] for g in albums} == {"Album"}
    assert any("Live" in g["secondary-types"] for g in albums)  # type=album includes live albums
    live = mb(sandbox, "release-group", artist=sigur_ros, type="album|live").json()["release-groups"]
    assert all("Live" in g["secondary-types"] for g in live) and live
    assert len(albums) == 7  # all but the EP
    official = mb(sandbox, "release-group", artist=sigur_ros, **{"release-group-status": "website-default"}).json()
    assert official["release-group-count"] == 7  # the bootleg-only live album drops, the EP stays
    assert "Live in Reykjavík 2002" not in {g["title"] for g in official["release-groups"]}
    assert mb(sandbox, "release-group", artist=sigur_ros, status="official").status_code == 400
    assert mb(sandbox, "release-group", artist=sigur_ros, **{"release-group-status": "nope"}).status_code == 400


def test_it_caps_browse_limits_and_validates_them(sandbox, mb, find):
    sigur_ros = find.artist("Sigur Rós").id
    assert mb(sandbox, "release-group", artist=sigur_ros, limit=500).status_code == 200
    bad = mb(sandbox, "release-group", artist=sigur_ros, limit="ten")
    assert bad.status_code == 400
    assert bad.json()["error"] == "The 'limit' and 'offset' parameters must be positive integers"
    assert mb(sandbox, "release-group", artist="00000000-0000-4000-8000-000000000000").status_code == 404


def test_it_gives_track_counts_only_with_inc_media(sandbox, mb, find):
    group = find.group("Radiohead", "OK Computer")
    bare = mb(sandbox, "release", **{"release-group": group.id, "status": "official"}).json()
    assert all("media" not in r for r in bare["releases"])
    body = mb(sandbox, "release", **{"release-group": group.id, "status": "official", "inc": "media"}).json()
    counts = sorted(sum(m["track-count"] for m in r["media"]) for r in body["releases"])
    assert counts == [12, 22]  # the Collector's Edition adds a bonus disc
    assert body["release-count"] == 2


def test_it_includes_an_empty_digital_medium(sandbox, mb, find):
    group = find.group("Múm", "Finally We Are No One")
    releases = mb(sandbox, "release", **{"release-group": group.id, "inc": "media"}).json()["releases"]
    assert any(m["track-count"] == 0 for r in releases for m in r["media"])
    assert {r["status"] for r in releases} == {"Official", "Promotion"}


def test_it_looks_up_a_tracklist(sandbox, mb, find):
    white_album = find.release("The Beatles", "The Beatles")
    body = mb(sandbox, f"release/{white_album.id}", inc="recordings+artist-credits").json()
    assert [len(m["tracks"]) for m in body["media"]] == [17, 13]
    first = body["media"][0]["tracks"][0]
    assert first["title"] == "Back in the U.S.S.R." and first["number"] == "1" and first["position"] == 1
    assert first["recording"]["id"] and isinstance(first["length"], int)
    vinyl = find.release("The Beatles", "Abbey Road", "vinyl")
    numbers = [t["number"] for t in mb(sandbox, f"release/{vinyl.id}", inc="recordings").json()["media"][0]["tracks"]]
    assert numbers[0] == "A1" and "B1" in numbers


def test_it_looks_up_a_release_group_with_credits(sandbox, mb, find):
    riceboy = find.group("Jónsi", "Riceboy Sleeps")
    body = mb(sandbox, f"release-group/{riceboy.id}", inc="artist-credits").json()
    credit = "".join(c["name"] + c["joinphrase"] for c in body["artist-credit"])
    assert credit == "Jónsi & Alex Somers"


def test_it_searches_artists_with_ties_and_scores(sandbox, mb):
    body = mb(sandbox, "artist", query='artist:"Air"').json()
    top = [a for a in body["artists"] if a["score"] == 100]
    assert {a["name"] for a in top} == {"Air", "AIR"}
    assert {a.get("disambiguation") for a in top} == {"French electronic duo",
                                                      "Japanese rock musician Kurumaki Kazutoshi"}
    accents = mb(sandbox, "artist", query='artist:"Sigur Ros"').json()["artists"]
    assert accents[0]["name"] == "Sigur Rós" and isinstance(accents[0]["score"], int)
    assert mb(sandbox, "artist", query="坂本龍一").json()["artists"][0]["sort-name"] == "Sakamoto, Ryuichi"


def test_it_searches_release_groups_and_recordings(sandbox, mb):
    query = 'releasegroup:"( )" AND artist:"Sigur Rós" AND primarytype:album'
    groups = mb(sandbox, "release-group", query=query).json()
    assert groups["release-groups"][0]["title"] == "( )"
    assert groups["release-groups"][0]["score"] == 100
    assert "secondary-types" not in groups["release-groups"][0]  # empty lists are left out in search
    recordings = mb(sandbox, "recording", query='recording:"Hoppípolla" AND artist:"Sigur Rós"').json()
    top = recordings["recordings"][0]
    assert top["title"] == "Hoppípolla" and top["score"] == 100
    assert {r["release-group"]["id"] for r in top["releases"]}
    assert recordings["count"] >= 1 and "created" in recordings
    escaped = mb(sandbox, "artist", query=r'artist:"AC\/DC"').json()["artists"]
    assert escaped[0]["name"] == "AC/DC"
