"""Fake ListenBrainz: recommendations, playlists, bulk metadata, tokens, rate limit."""

from __future__ import annotations

import requests

ROB_TOKEN = "b8f6c2a4-5e1d-4c3b-9a7f-2d4e6f8a0b1c"


def test_it_pages_cf_recommendations(sandbox, lb):
    path = "/1/cf/recommendation/user/rob/recording"
    first = lb(sandbox, path, params={"count": 10}).json()["payload"]
    second = lb(sandbox, path, params={"count": 10, "offset": 10}).json()["payload"]
    assert first["count"] == 10 and first["offset"] == 0 and first["entity"] == "recording"
    assert first["total_mbid_count"] == len(sandbox.catalogue.listener("rob").recommendations) > 20
    assert second["offset"] == 10
    scores = [m["score"] for m in first["mbids"] + second["mbids"]]
    assert scores == sorted(scores, reverse=True)
    assert {m["recording_mbid"] for m in first["mbids"]}.isdisjoint(m["recording_mbid"] for m in second["mbids"])
    assert set(first["mbids"][0]) == {"recording_mbid", "score", "latest_listened_at"}


def test_it_echoes_the_user_name_and_matches_it_case_insensitively(sandbox, lb):
    payload = lb(sandbox, "/1/cf/recommendation/user/ROB/recording").json()["payload"]
    assert payload["user_name"] == "ROB"
    assert payload["count"] == 25  # default page size


def test_it_answers_204_with_an_empty_body_when_there_are_no_recommendations(sandbox, lb):
    response = lb(sandbox, "/1/cf/recommendation/user/newbie/recording")
    assert response.status_code == 204 and response.content == b""
    sandbox.catalogue.listener("rob").recommendations = []
    assert lb(sandbox, "/1/cf/recommendation/user/rob/recording").status_code == 204


def test_it_rejects_unknown_users_and_bad_counts(sandbox, lb):
    unknown = lb(sandbox, "/1/cf/recommendation/user/nobody/recording")
    assert unknown.status_code == 404
    assert unknown.json() == {"code": 404, "error": "Cannot find user: nobody"}
    bad = lb(sandbox, "/1/cf/recommendation/user/rob/recording", params={"count": "-1"})
    assert bad.status_code == 400
    assert bad.json() == {"code": 400, "error": "'count' should be a non-negative integer"}


def test_it_lists_created_for_playlists_newest_first(sandbox, lb):
    body = lb(sandbox, "/1/user/rob/playlists/createdfor", params={"count": 2}).json()
    assert body["playlist_count"] == 3 and body["count"] == 2 and body["offset"] == 0
    playlists = [item["playlist"] for item in body["playlists"]]
    assert len(playlists) == 2
    assert playlists[0]["date"] >= playlists[1]["date"]
    assert all(p["track"] == [] for p in playlists)
    extension = playlists[0]["extension"]["https://musicbrainz.org/doc/jspf#playlist"]
    assert extension["created_for"] == "rob"
    patches = [item["playlist"]["extension"]["https://musicbrainz.org/doc/jspf#playlist"]["additional_metadata"]
               ["algorithm_metadata"]["source_patch"]
               for item in lb(sandbox, "/1/user/rob/playlists/createdfor", params={"count": 0}).json()["playlists"]]
    assert sorted(patches) == ["weekly-exploration", "weekly-exploration", "weekly-jams"]


def test_it_fetches_a_playlist_with_track_metadata(sandbox, lb):
    listing = lb(sandbox, "/1/user/rob/playlists/createdfor").json()["playlists"]
    exploration = next(p["playlist"] for p in listing if "Exploration" in p["playlist"]["title"])
    mbid = exploration["identifier"].rsplit("/", 1)[-1]
    playlist = lb(sandbox, f"/1/playlist/{mbid}", headers={"Authorization": f"Token {ROB_TOKEN}"}).json()["playlist"]
    tracks = playlist["track"]
    assert all(isinstance(t["identifier"], list) for t in tracks)
    described = [t for t in tracks if "title" in t]
    bare = [t for t in tracks if "title" not in t]
    assert described and bare  # an unknown recording shows up with its identifier only
    assert {"creator", "album", "duration"} <= set(described[0])


def test_it_rejects_a_wrong_token_on_playlist_fetch_but_not_on_recommendations(sandbox, lb):
    playlist_id = sandbox.catalogue.listener("rob").playlists[0].id
    wrong = {"Authorization": "Token not-a-real-token"}
    response = lb(sandbox, f"/1/playlist/{playlist_id}", headers=wrong)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "error": "Invalid authorization token."}
    assert lb(sandbox, "/1/cf/recommendation/user/rob/recording", headers=wrong).status_code == 200


def test_it_answers_playlist_errors(sandbox, lb):
    assert lb(sandbox, "/1/playlist/not-a-uuid").json() == {"code": 400, "error": "Provided playlist ID is invalid."}
    missing = lb(sandbox, "/1/playlist/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"].startswith("Cannot find playlist")


def test_it_resolves_bulk_metadata_and_omits_uncached_recordings(sandbox, lb):
    recommended = [r.recording_mbid for r in sandbox.catalogue.listener("rob").recommendations]
    uncached = sandbox.catalogue.uncached_recordings
    response = lb(sandbox, "/1/metadata/recording/",
                  params={"recording_mbids": ",".join(recommended), "inc": "artist release"})
    assert response.status_code == 200
    body = response.json()
    assert uncached and not uncached & set(body)
    assert len(body) < len(recommended)
    sample = next(v for v in body.values() if v["release"])
    assert {"name", "isrcs", "rels"} <= set(sample["recording"])
    assert {"mbid", "release_group_mbid", "name", "album_artist_name"} <= set(sample["release"])
    assert sample["artist"]["artists"][0]["artist_mbid"]
    assert "tag" not in sample  # only what inc asked for


def test_it_shows_an_empty_release_for_a_standalone_recording(sandbox, lb):
    cat = sandbox.catalogue
    standalone = next(r for r in cat.recordings.values() if not cat.releases_of_recording(r.id))
    body = requests.post(sandbox.urls["listenbrainz"] + "/1/metadata/recording/",
                         json={"recording_mbids": [standalone.id], "inc": "release"}, timeout=5).json()
    assert body[standalone.id]["release"] == {}


def test_it_picks_the_earliest_release_so_a_single_can_stand_for_the_album(sandbox, lb, find):
    get_lucky = find.recording("Daft Punk", "Get Lucky", "Random Access Memories")
    body = lb(sandbox, "/1/metadata/recording/", params={"recording_mbids": get_lucky.id, "inc": "release"}).json()
    assert body[get_lucky.id]["release"]["release_group_mbid"] == find.group("Daft Punk", "Get Lucky").id


def test_it_validates_bulk_metadata_arguments(sandbox, lb):
    bad_mbid = lb(sandbox, "/1/metadata/recording/", params={"recording_mbids": "nope"})
    assert bad_mbid.status_code == 400 and bad_mbid.json()["error"] == "Recording mbid nope is not valid."
    bad_inc = lb(sandbox, "/1/metadata/recording/",
                 params={"recording_mbids": "00000000-0000-4000-8000-000000000000", "inc": "artist,release"})
    assert bad_inc.status_code == 400 and bad_inc.json()["error"].startswith("invalid inc argument")
    url = sandbox.urls["listenbrainz"] + "/1/metadata/recording/"
    empty = requests.post(url, json={"recording_mbids": []}, timeout=5)
    assert empty.status_code == 400
    too_many = requests.post(url, json={"recording_mbids": ["00000000-0000-4000-8000-000000000000"] * 1001}, timeout=5)
    assert too_many.status_code == 400


def test_it_gives_release_group_metadata_with_the_primary_type(sandbox, lb, find):
    inni = find.group("Sigur Rós", "Inni")
    body = lb(sandbox, "/1/metadata/release_group/", params={"release_group_mbids": inni.id, "inc": "artist"}).json()
    block = body[inni.id]
    assert block["release_group"]["type"] == "Album"  # no secondary types here: Live is invisible
    assert block["artist"]["name"] == "Sigur Rós"


def test_it_validates_tokens(sandbox, lb):
    valid = lb(sandbox, "/1/validate-token", headers={"Authorization": f"Token {ROB_TOKEN}"}).json()
    assert valid == {"code": 200, "message": "Token valid.", "valid": True, "user_name": "rob"}
    invalid = lb(sandbox, "/1/validate-token", headers={"Authorization": "Token nope"})
    assert invalid.status_code == 200 and invalid.json()["valid"] is False
    missing = lb(sandbox, "/1/validate-token")
    assert missing.status_code == 400


def test_it_rate_limits_per_window_with_headers(clocked_sandbox, lb):
    clocked_sandbox.settings.listenbrainz_rate_limit = 3
    responses = [lb(clocked_sandbox, "/1/validate-token", params={"token": "x"}) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    limited = responses[3]
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert 1 <= int(limited.headers["X-RateLimit-Reset-In"]) <= 10
    assert "Retry-After" not in limited.headers
    assert limited.json()["code"] == 429 and "rate limit" in limited.json()["error"]


def test_it_starts_a_new_rate_limit_window(clocked_sandbox, manual_clock, lb):
    clocked_sandbox.settings.listenbrainz_rate_limit = 1
    assert lb(clocked_sandbox, "/1/validate-token", params={"token": "x"}).status_code == 200
    assert lb(clocked_sandbox, "/1/validate-token", params={"token": "x"}).status_code == 429
    manual_clock.advance(10)
    assert lb(clocked_sandbox, "/1/validate-token", params={"token": "x"}).status_code == 200


def test_it_keeps_one_recommendation_feedback_per_user_and_recording(sandbox):
    url = f"{sandbox.urls['listenbrainz']}/1/recommendation/feedback/submit"
    recording = "d23f4719-9212-49f0-ad08-ddbfbfc50d6f"
    auth = {"Authorization": f"Token {ROB_TOKEN}"}
    assert requests.post(url, json={"recording_mbid": recording, "rating": "like"}, headers=auth,
                         timeout=10).json() == {"status": "ok"}
    requests.post(url, json={"recording_mbid": recording, "rating": "hate"}, headers=auth, timeout=10)
    assert sandbox.state("listenbrainz").feedback == {"rob": {recording: "hate"}}  # replaced, not added
    listed = requests.get(f"{sandbox.urls['listenbrainz']}/1/recommendation/feedback/user/rob", timeout=10).json()
    assert listed["feedback"] == [{"recording_mbid": recording, "rating": "hate"}]

    refusals = [
        (requests.post(url, json={"recording_mbid": recording, "rating": "like"}, timeout=10), 401),
        (requests.post(url, json={"recording_mbid": recording, "rating": "like"},
                       headers={"Authorization": "Token nope"}, timeout=10), 401),
        (requests.post(url, json={"recording_mbid": recording, "rating": "meh"}, headers=auth, timeout=10), 400),
        (requests.post(url, json={"recording_mbid": "x", "rating": "like"}, headers=auth, timeout=10), 400),
        (requests.post(url, json={"recording_mbid": recording, "rating": "like", "score": 1}, headers=auth,
                       timeout=10), 400),
    ]
    assert [response.status_code for response, _ in refusals] == [status for _, status in refusals]
    assert all("error" in response.json() for response, _ in refusals)
    assert sandbox.state("listenbrainz").feedback == {"rob": {recording: "hate"}}


# --- fresh releases and popularity ---------------------------------------------------------------


def test_fresh_releases_list_the_listeners_releases_within_the_days_asked(sandbox, lb):
    import datetime

    path = "/1/user/rob/fresh_releases"
    releases = lb(sandbox, path, params={"days": 90}).json()["payload"]["releases"]
    today = datetime.date.today().isoformat()
    names = [r["release_name"] for r in releases]
    assert [r["release_date"] for r in releases] == sorted(r["release_date"] for r in releases)  # sort=release_date
    assert {"Signal Fires", "Mycelia", "Fourth", "Night Drive", "Sundial"} == set(names)
    signal_fires = next(r for r in releases if r["release_name"] == "Signal Fires")
    assert signal_fires["artist_mbids"] == ["93fc545b-9885-53b5-bdcd-bd8f2ecda329"]
    assert signal_fires["release_group_primary_type"] == "Album" and signal_fires["release_group_secondary_type"] is None
    # The default window is 14 days; past=false leaves out what came out before today.
    recent = {r["release_name"] for r in lb(sandbox, path).json()["payload"]["releases"]}
    assert recent == {"Mycelia", "Night Drive"}
    ahead = lb(sandbox, path, params={"days": 90, "past": "false"}).json()["payload"]["releases"]
    assert [r["release_name"] for r in ahead] == ["Fourth"] and ahead[0]["release_date"] > today


def test_fresh_releases_refuse_unknown_users_and_more_than_90_days(sandbox, lb):
    assert lb(sandbox, "/1/user/nobody/fresh_releases").status_code == 404
    too_many = lb(sandbox, "/1/user/rob/fresh_releases", params={"days": 91})
    assert too_many.status_code == 400 and too_many.json()["error"] == "days must be between 1 and 90."
    assert lb(sandbox, "/1/user/newbie/fresh_releases").json()["payload"]["releases"] == []


def test_release_group_popularity_answers_a_post_in_the_order_asked(sandbox):
    url = sandbox.urls["listenbrainz"] + "/1/popularity/release-group"
    ok_computer = next(g.id for g in sandbox.catalogue.release_groups.values() if g.title == "OK Computer")
    unknown = "00000000-0000-4000-8000-000000000000"
    rows = requests.post(url, json={"release_group_mbids": [unknown, ok_computer]}, timeout=5).json()
    assert rows == [{"release_group_mbid": unknown, "total_listen_count": None, "total_user_count": None},
                    {"release_group_mbid": ok_computer, "total_listen_count": 9000, "total_user_count": 750}]
    assert requests.post(url, json={"release_group_mbids": ["nope"]}, timeout=5).status_code == 400
    assert requests.post(url, json={"release_group_mbids": [unknown] * 1001}, timeout=5).status_code == 400
