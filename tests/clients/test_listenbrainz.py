"""ListenBrainz client against the documented shapes and edge cases."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from app.clients.http import NotFound, Unavailable
from app.clients.listenbrainz import (
    ListenBrainzClient,
    PlaylistTrack,
    Recommendation,
    mbid_from_url,
)

BASE = "https://api.listenbrainz.org"
TOKEN = "0123abcd-token-secret-9999"
SOUR_TIMES = "3f1d5a8e-0c1b-4d8e-9a3b-2c7e5f6a9b10"
PORTISHEAD = "8f6bd1e4-fbe1-4f50-aa9b-94c450ec0f11"
DUMMY_RG = "48140466-cff6-3222-bd55-63c27e43190d"
DUMMY_REL = "76df3287-6cda-33eb-8e9a-044b5e15ffdd"
WEEK_NEW = "0d9b7f1e-3c39-4a57-9f7b-5a1c9b0e2f11"
WEEK_OLD = "1e9b7f1e-3c39-4a57-9f7b-5a1c9b0e2f22"
JAMS = "2f9b7f1e-3c39-4a57-9f7b-5a1c9b0e2f33"


@pytest.fixture
def lb(sleeps, retry):
    return ListenBrainzClient(BASE, token=TOKEN, sleep=sleeps.append, retry=retry)


def query(request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query)


def rec_page(mbids, total, offset=0):
    return {
        "payload": {
            "model_id": "listenbrainz-cf-recording-2025-11-17",
            "model_url": None,
            "mbids": [{"recording_mbid": m, "score": 10.0 - i / 1000, "latest_listened_at": None}
                      for i, m in enumerate(mbids)],
            "entity": "recording",
            "user_name": "rob",
            "last_updated": 1731822000,
            "count": len(mbids),
            "total_mbid_count": total,
            "offset": offset,
        }
    }


def uuids(n):
    return [str(uuid.UUID(int=i + 1)) for i in range(n)]


# --------------------------------------------------------------------------- CF recommendations


def test_it_parses_cf_recommendations_without_sending_the_token(requests_mock, lb):
    requests_mock.get(
        f"{BASE}/1/cf/recommendation/user/rob/recording",
        json={"payload": {
            "model_id": None, "model_url": None, "entity": "recording", "user_name": "rob",
            "last_updated": 1731822000, "count": 2, "total_mbid_count": 2, "offset": 0, "type": "old-key",
            "mbids": [
                {"recording_mbid": "526bd613-fddd-4bd6-9137-ab709ac74cab", "score": 9.345, "latest_listened_at": None},
                {"recording_mbid": "A6081BC1-2A76-4984-B21F-38BC3DCCA3A5", "score": 6.998,
                 "latest_listened_at": "2024-10-13T15:12:23.000Z"},
            ],
        }},
    )
    recs = lb.recommendations("rob", count=100)
    assert recs.available
    assert recs.total == 2
    assert recs.last_updated.year == 2024
    assert [r.recording_mbid for r in recs.items] == [
        "526bd613-fddd-4bd6-9137-ab709ac74cab", "a6081bc1-2a76-4984-b21f-38bc3dcca3a5"]
    assert recs.items[0] == Recommendation("526bd613-fddd-4bd6-9137-ab709ac74cab", 9.345, None)
    assert recs.items[1].latest_listened_at.year == 2024
    assert "Authorization" not in requests_mock.last_request.headers
    assert query(requests_mock.last_request) == {"count": ["100"], "offset": ["0"]}


def test_it_returns_empty_and_unavailable_on_204(requests_mock, lb):
    requests_mock.get(f"{BASE}/1/cf/recommendation/user/rob/recording", status_code=204, text="")
    assert lb.cf_recommendations("rob") == []
    recs = lb.recommendations("rob")
    assert recs.available is False
    assert recs.items == ()


def test_it_pages_recommendations_with_count_capped_at_1000(requests_mock, lb):
    all_ids = uuids(1200)
    url = f"{BASE}/1/cf/recommendation/user/rob/recording"
    requests_mock.get(url, [
        {"json": rec_page(all_ids[:1000], 1200, 0)},
        {"json": rec_page(all_ids[1000:], 1200, 1000)},
    ])
    items = lb.cf_recommendations("rob", count=1500)
    assert len(items) == 1200
    calls = [query(r) for r in requests_mock.request_history]
    assert calls == [{"count": ["1000"], "offset": ["0"]}, {"count": ["500"], "offset": ["1000"]}]


def test_it_stops_paging_at_the_requested_total(requests_mock, lb):
    ids = uuids(50)
    requests_mock.get(f"{BASE}/1/cf/recommendation/user/rob/recording", json=rec_page(ids, 1500))
    assert len(lb.cf_recommendations("rob", count=50)) == 50
    assert requests_mock.call_count == 1


def test_it_url_encodes_unicode_user_names(requests_mock, lb):
    requests_mock.get(
        f"{BASE}/1/cf/recommendation/user/%E5%9D%82%E6%9C%AC%20%E9%BE%8D%E4%B8%80/recording",
        status_code=204,
    )
    assert lb.cf_recommendations("坂本 龍一") == []
    assert requests_mock.called


def test_it_raises_not_found_for_an_unknown_user_without_retrying(requests_mock, lb, sleeps):
    requests_mock.get(f"{BASE}/1/cf/recommendation/user/ghost/recording", status_code=404,
                      json={"code": 404, "error": "Cannot find user: ghost"})
    with pytest.raises(NotFound, match="Cannot find user"):
        lb.cf_recommendations("ghost")
    assert requests_mock.call_count == 1
    assert sleeps == []


def test_it_waits_x_ratelimit_reset_in_on_429(requests_mock, lb, sleeps):
    requests_mock.get(f"{BASE}/1/cf/recommendation/user/rob/recording", [
        {"status_code": 429,
         "json": {"code": 429, "error": "You have exceeded your rate limit. See the X-RateLimit-* response headers "
                                        "for more information on your current rate limit."},
         "headers": {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "0",
                     "X-RateLimit-Reset-In": "4", "X-RateLimit-Reset": "1731822004"}},
        {"json": rec_page(uuids(1), 1)},
    ])
    assert len(lb.cf_recommendations("rob")) == 1
    assert sleeps == [4.0]


def test_it_delays_the_next_request_when_the_window_is_used_up(requests_mock, lb, sleeps):
    requests_mock.get(f"{BASE}/1/cf/recommendation/user/rob/recording",
                      json=rec_page(uuids(1), 1), headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "7"})
    lb.cf_recommendations("rob")
    assert sleeps == []
    lb.cf_recommendations("rob")
    assert len(sleeps) == 1 and 6.0 < sleeps[0] <= 7.0


def test_it_retries_an_html_502_during_deploys(requests_mock, lb, sleeps):
    requests_mock.get(f"{BASE}/1/cf/recommendation/user/rob/recording", [
        {"status_code": 502, "text": "<html><h1>502 Bad Gateway</h1></html>", "headers": {"Content-Type": "text/html"}},
        {"json": rec_page(uuids(2), 2)},
    ])
    assert len(lb.cf_recommendations("rob")) == 2
    assert sleeps == [1.0]


def test_it_gives_up_with_unavailable_after_repeated_503(requests_mock, lb, sleeps):
    requests_mock.get(f"{BASE}/1/cf/recommendation/user/rob/recording", status_code=503, text="<html>down</html>")
    with pytest.raises(Unavailable):
        lb.cf_recommendations("rob")
    assert requests_mock.call_count == 4


# --------------------------------------------------------------------------- playlists


def jspf_playlist(mbid, date, patch, title="Weekly Exploration for rob, week of 2025-11-17 Mon"):
    ext = {"public": True, "creator": "listenbrainz", "created_for": "rob"}
    if patch:
        ext["additional_metadata"] = {"algorithm_metadata": {"source_patch": patch},
                                      "expires_at": "2025-12-01T00:07:15.100000+00:00"}
    return {"playlist": {
        "creator": "listenbrainz", "title": title,
        "identifier": f"https://listenbrainz.org/playlist/{mbid}",
        "date": date, "extension": {"https://musicbrainz.org/doc/jspf#playlist": ext}, "track": []}}


def test_it_lists_created_for_playlists_using_playlist_count(requests_mock, lb):
    requests_mock.get(f"{BASE}/1/user/rob/playlists/createdfor", json={
        "playlists": [
            jspf_playlist(WEEK_NEW, "2025-11-17T00:07:15.218436+00:00", "weekly-exploration"),
            jspf_playlist(JAMS, "2025-11-17T00:05:00+00:00", "weekly-jams", title="Weekly Jams"),
            jspf_playlist(WEEK_OLD, "2025-11-10T00:07:15.218436+00:00", "weekly-exploration"),
        ],
        "playlist_count": 3, "offset": 0, "count": 100,
    })
    playlists = lb.created_for_playlists("rob")
    assert [p.mbid for p in playlists] == [WEEK_NEW, JAMS, WEEK_OLD]
    assert playlists[0].source_patch == "weekly-exploration"
    assert playlists[0].created_for == "rob"
    assert playlists[0].expires_at.month == 12
    assert requests_mock.call_count == 1
    assert "Authorization" not in requests_mock.last_request.headers


def test_it_pages_created_for_playlists(requests_mock, lb):
    first = [jspf_playlist(str(uuid.UUID(int=i + 1)), "2025-11-17T00:00:00+00:00", "daily-jams") for i in range(2)]
    second = [jspf_playlist(WEEK_NEW, "2025-11-17T00:07:15+00:00", "weekly-exploration")]
    requests_mock.get(f"{BASE}/1/user/rob/playlists/createdfor", [
        {"json": {"playlists": first, "playlist_count": 3, "offset": 0, "count": 2}},
        {"json": {"playlists": second, "playlist_count": 3, "offset": 2, "count": 2}},
    ])
    assert len(lb.created_for_playlists("rob", page_size=2)) == 3
    assert query(requests_mock.last_request)["offset"] == ["2"]


def test_it_picks_the_newest_weekly_exploration_by_date_by_source_patch(requests_mock, lb):
    requests_mock.get(f"{BASE}/1/user/rob/playlists/createdfor", json={
        "playlists": [
            jspf_playlist(WEEK_OLD, "2025-11-10T00:07:15+00:00", "weekly-exploration"),
            jspf_playlist(JAMS, "2025-11-20T00:00:00+00:00", "weekly-jams", title="Weekly Exploration lookalike"),
            jspf_playlist(WEEK_NEW, "2025-11-17T00:07:15+00:00", "weekly-exploration"),
        ],
        "playlist_count": 3, "offset": 0, "count": 100,
    })
    assert lb.weekly_exploration_playlist("rob").mbid == WEEK_NEW


def test_it_returns_none_without_a_weekly_exploration_playlist(requests_mock, lb):
    requests_mock.get(f"{BASE}/1/user/newbie/playlists/createdfor",
                      json={"playlists": [], "playlist_count": 0, "offset": 0, "count": 100})
    assert lb.weekly_exploration_playlist("newbie") is None


PLAYLIST_BODY = {"playlist": {
    "creator": "listenbrainz", "title": "Weekly Exploration for rob",
    "identifier": f"https://listenbrainz.org/playlist/{WEEK_NEW}",
    "date": "2025-11-17T00:07:15.218436+00:00",
    "track": [
        {"identifier": [f"https://musicbrainz.org/recording/{SOUR_TIMES}"], "title": "Sour Times",
         "creator": "Portishead", "album": "Dummy", "duration": 254000,
         "extension": {"https://musicbrainz.org/doc/jspf#track": {
             "added_by": "listenbrainz",
             "artist_identifiers": [f"https://musicbrainz.org/artist/{PORTISHEAD}"],
             "additional_metadata": {"caa_id": 829521842, "caa_release_mbid": DUMMY_REL,
                                     "artists": [{"artist_credit_name": "Portishead", "join_phrase": ""}]}}}},
        {"identifier": "https://musicbrainz.org/recording/526bd613-fddd-4bd6-9137-ab709ac74cab"},
        {"title": "no identifier at all"},
    ],
}}


def test_it_parses_playlist_tracks_with_list_or_string_identifiers(requests_mock, sleeps, retry):
    lb = ListenBrainzClient(BASE, sleep=sleeps.append, retry=retry)
    requests_mock.get(f"{BASE}/1/playlist/{WEEK_NEW}", json=PLAYLIST_BODY)
    tracks = lb.playlist_tracks(WEEK_NEW)
    assert tracks == [
        PlaylistTrack(SOUR_TIMES, "Sour Times", "Portishead", "Dummy", 254000, (PORTISHEAD,), 829521842, DUMMY_REL),
        PlaylistTrack("526bd613-fddd-4bd6-9137-ab709ac74cab"),
    ]
    assert "Authorization" not in requests_mock.last_request.headers


def test_it_fetches_public_playlists_without_the_token_or_a_token_check(requests_mock, lb):
    requests_mock.get(f"{BASE}/1/playlist/{WEEK_NEW}", json=PLAYLIST_BODY)
    assert len(lb.playlist_tracks(f"https://listenbrainz.org/playlist/{WEEK_NEW}")) == 2
    assert [r.path for r in requests_mock.request_history] == [f"/1/playlist/{WEEK_NEW}"]
    assert "Authorization" not in requests_mock.last_request.headers


def test_it_sends_the_token_to_a_playlist_only_when_asked_and_once_validated(requests_mock, lb):
    requests_mock.get(f"{BASE}/1/validate-token",
                      json={"code": 200, "message": "Token valid.", "valid": True, "user_name": "rob"})
    requests_mock.get(f"{BASE}/1/playlist/{WEEK_NEW}", json=PLAYLIST_BODY)
    lb.playlist_tracks(f"https://listenbrainz.org/playlist/{WEEK_NEW}", with_token=True)
    history = requests_mock.request_history
    assert history[0].path == "/1/validate-token"
    assert history[-1].headers["Authorization"] == f"Token {TOKEN}"
    lb.playlist_tracks(WEEK_NEW, with_token=True)
    assert [r.path for r in requests_mock.request_history].count("/1/validate-token") == 1


def test_it_does_not_send_an_invalid_token(requests_mock, lb):
    requests_mock.get(f"{BASE}/1/validate-token", json={"code": 200, "message": "Token invalid.", "valid": False})
    requests_mock.get(f"{BASE}/1/playlist/{WEEK_NEW}", json=PLAYLIST_BODY)
    assert len(lb.playlist_tracks(WEEK_NEW, with_token=True)) == 2
    assert "Authorization" not in requests_mock.last_request.headers


def test_it_retries_without_the_token_when_it_went_stale(requests_mock, lb):
    requests_mock.get(f"{BASE}/1/validate-token", json={"valid": True, "user_name": "rob", "code": 200})
    requests_mock.get(f"{BASE}/1/playlist/{WEEK_NEW}", [
        {"status_code": 401, "json": {"code": 401, "error": "Invalid authorization token."}},
        {"json": PLAYLIST_BODY},
    ])
    assert len(lb.playlist_tracks(WEEK_NEW, with_token=True)) == 2
    assert "Authorization" not in requests_mock.last_request.headers


def test_it_refetches_without_metadata_after_a_metadata_500(requests_mock, sleeps, retry):
    lb = ListenBrainzClient(BASE, sleep=sleeps.append, retry=retry)
    requests_mock.get(f"{BASE}/1/playlist/{WEEK_NEW}", [
        {"status_code": 500, "json": {"code": 500, "error": "Failed to fetch metadata for a playlist. Please try again."}},
        {"json": {"playlist": {"identifier": "x", "track": [
            {"identifier": [f"https://musicbrainz.org/recording/{SOUR_TIMES}"]}]}}},
    ])
    assert lb.playlist_tracks(WEEK_NEW) == [PlaylistTrack(SOUR_TIMES)]
    assert query(requests_mock.last_request) == {"fetch_metadata": ["false"]}


def test_it_validates_tokens(requests_mock, lb, sleeps, retry):
    requests_mock.get(f"{BASE}/1/validate-token", [
        {"json": {"code": 200, "message": "Token valid.", "valid": True, "user_name": "rob"}},
        {"json": {"code": 200, "message": "Token invalid.", "valid": False}},
    ])
    assert lb.validate_token().valid and lb.validate_token().valid is False
    assert ListenBrainzClient(BASE, sleep=sleeps.append, retry=retry).validate_token().valid is False


def test_it_never_leaks_the_token_in_errors(requests_mock, lb):
    requests_mock.get(f"{BASE}/1/validate-token", json={"valid": True, "code": 200})
    requests_mock.get(f"{BASE}/1/playlist/{WEEK_NEW}", status_code=404,
                      json={"code": 404, "error": f"Cannot find playlist: {WEEK_NEW} {TOKEN}"})
    with pytest.raises(NotFound) as caught:
        lb.playlist_tracks(WEEK_NEW)
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


# --------------------------------------------------------------------------- bulk metadata


def meta_block(name="Sour Times", artists=None, release=None, credit="Portishead"):
    return {
        "recording": {"name": name, "length": 254000, "first_release_date": "1994-08-22", "isrcs": None, "rels": []},
        "artist": {"name": credit, "artist_credit_id": 65,
                   "artists": artists if artists is not None else [
                       {"name": "Portishead", "join_phrase": "", "artist_mbid": PORTISHEAD, "type": "Group"}]},
        "release": release if release is not None else {
            "mbid": DUMMY_REL, "release_group_mbid": DUMMY_RG, "name": "Dummy", "album_artist_name": "Portishead",
            "year": 1994, "caa_id": 829521842, "caa_release_mbid": DUMMY_REL},
        "tag": {"recording": [], "artist": [], "release_group": []},
    }


def test_it_resolves_bulk_metadata_by_get_for_small_batches(requests_mock, lb):
    missing = "11111111-2222-3333-4444-555555555555"
    collab = "22222222-3333-4444-5555-666666666666"
    single = "33333333-4444-5555-6666-777777777777"
    requests_mock.get(f"{BASE}/1/metadata/recording/", json={
        SOUR_TIMES: meta_block(),
        collab: meta_block(
            name="Sigur Rós × 坂本龍一",
            credit="Björk feat. Sigur Rós & 坂本龍一",
            artists=[
                {"name": "Björk", "join_phrase": " feat. ", "artist_mbid": "87c5dedd-371d-4a53-9f7f-80522fb7f3cb"},
                {"name": "Sigur Rós", "join_phrase": " & ", "artist_mbid": "f6f2326f-6b25-4170-b89d-e235b25508e8"},
                {"name": "坂本龍一", "join_phrase": "", "artist_mbid": "ad3e5ff5-7a7b-4a5b-9a3f-0a4b3b1a2c3d"},
            ],
            release={"mbid": DUMMY_REL, "release_group_mbid": DUMMY_RG, "name": "Homogenic", "album_artist_name": "Björk"}),
        single: meta_block(release={}),
    })
    result = lb.recording_metadata([SOUR_TIMES, collab, missing, single, SOUR_TIMES.upper(), "not-an-mbid"])
    assert set(result) == {SOUR_TIMES, collab, single}
    dummy = result[SOUR_TIMES]
    assert (dummy.recording_name, dummy.artist_credit_name, dummy.artist_mbid) == ("Sour Times", "Portishead", PORTISHEAD)
    assert (dummy.release_group_mbid, dummy.release_name, dummy.year) == (DUMMY_RG, "Dummy", 1994)
    assert (dummy.caa_id, dummy.caa_release_mbid, dummy.length_ms) == (829521842, DUMMY_REL, 254000)
    both = result[collab]
    assert both.artist_credit_name == "Björk feat. Sigur Rós & 坂本龍一"
    assert both.album_artist_name == "Björk"  # the release's credit, for filing the album
    assert both.artist_mbid == "87c5dedd-371d-4a53-9f7f-80522fb7f3cb"
    assert [a.join_phrase for a in both.artists] == [" feat. ", " & ", ""]
    lonely = result[single]
    assert lonely.release_group_mbid is None and lonely.release_name is None and lonely.year is None
    sent = query(requests_mock.last_request)
    assert sent["inc"] == ["artist release"]
    assert sent["recording_mbids"][0].split(",") == [SOUR_TIMES, collab, missing, single]
    assert "Authorization" not in requests_mock.last_request.headers


def test_it_posts_bulk_metadata_in_batches_of_1000(requests_mock, lb):
    ids = uuids(1500)
    requests_mock.post(f"{BASE}/1/metadata/recording/", json={ids[0]: meta_block()})
    result = lb.recording_metadata(ids)
    assert list(result) == [ids[0]]
    bodies = [r.json() for r in requests_mock.request_history]
    assert [len(b["recording_mbids"]) for b in bodies] == [1000, 500]
    assert all(b["inc"] == "artist release" for b in bodies)
    assert all("Authorization" not in r.headers for r in requests_mock.request_history)


def test_it_posts_bulk_metadata_again_when_the_reply_was_cut_short(requests_mock, lb, sleeps):
    ids = uuids(101)
    whole = '{"%s": %s}' % (ids[0], __import__("json").dumps(meta_block()))
    requests_mock.post(f"{BASE}/1/metadata/recording/", [
        {"text": whole[: len(whole) // 2], "headers": {"Content-Type": "application/json"}},
        {"text": whole, "headers": {"Content-Type": "application/json"}},
    ])
    assert list(lb.recording_metadata(ids)) == [ids[0]]  # a POST that only reads is safe to repeat
    assert requests_mock.call_count == 2 and sleeps == [1.0]


def test_it_uses_post_above_100_mbids(requests_mock, lb):
    requests_mock.post(f"{BASE}/1/metadata/recording/", json={})
    assert lb.recording_metadata(uuids(101)) == {}
    assert requests_mock.last_request.method == "POST"


def test_it_makes_no_request_for_no_mbids(requests_mock, lb):
    assert lb.recording_metadata([]) == {}
    assert not requests_mock.called


def test_it_extracts_mbids_from_urls():
    assert mbid_from_url(f"https://listenbrainz.org/playlist/{WEEK_NEW}/") == WEEK_NEW
    assert mbid_from_url("https://example.org/nothing") is None
    assert mbid_from_url(None) is None


def test_it_reads_release_group_primary_types_in_one_call(requests_mock, lb):
    single = str(uuid.uuid4())
    requests_mock.get(f"{BASE}/1/metadata/release_group/", json={
        DUMMY_RG: {"release_group": {"name": "Dummy", "date": "1994-08-22", "type": "Album", "rels": []}},
        single: {"release_group": {"name": "Sour Times", "type": "Single"}},
    })
    types = lb.release_group_types([DUMMY_RG, single.upper(), "not-an-mbid"])
    assert types == {DUMMY_RG: "Album", single: "Single"}
    sent = query(requests_mock.last_request)
    assert sent["inc"] == ["release_group"]
    assert sent["release_group_mbids"] == [f"{DUMMY_RG},{single}"]


# --------------------------------------------------------------------------- fresh releases, popularity


def fresh_row(rg, date, primary="Album", secondary=None, artists=(PORTISHEAD,)):
    return {"artist_credit_name": "Portishead", "artist_mbids": list(artists), "caa_id": 1, "caa_release_mbid": DUMMY_REL,
            "confidence": 2, "release_date": date, "release_group_mbid": rg, "release_group_primary_type": primary,
            "release_group_secondary_type": secondary, "release_mbid": DUMMY_REL, "release_name": "Dummy",
            "release_tags": None}


def test_it_reads_fresh_releases_in_one_request_without_the_token(requests_mock, lb):
    requests_mock.get(f"{BASE}/1/user/rob/fresh_releases", json={"payload": {"user_id": "rob", "releases": [
        fresh_row(DUMMY_RG, "2026-11-14"), fresh_row(WEEK_NEW, "2026-12-01", "Single"),
        {"release_group_mbid": "not-an-mbid", "release_date": "2026-11-01"}, fresh_row(JAMS, "")]}})

    releases = lb.fresh_releases("rob", 120)

    assert [(r.release_group_mbid, r.release_date, r.primary_type) for r in releases] == [
        (DUMMY_RG, "2026-11-14", "Album"), (WEEK_NEW, "2026-12-01", "Single")]
    assert releases[0].artist_mbids == (PORTISHEAD,) and releases[0].secondary_type is None
    # ListenBrainz refuses more than 90 days; past and future both asked for.
    assert query(requests_mock.last_request) == {"days": ["90"], "past": ["true"], "future": ["true"]}
    assert "Authorization" not in requests_mock.last_request.headers
    assert requests_mock.call_count == 1


def test_fresh_releases_are_none_on_204(requests_mock, lb):
    requests_mock.get(f"{BASE}/1/user/rob/fresh_releases", status_code=204, text="")
    assert lb.fresh_releases("rob") is None


def test_it_reads_release_group_listen_counts_by_post_in_batches_of_1000(requests_mock, lb):
    def answer(request, context):
        return [{"release_group_mbid": m, "total_listen_count": 10 if m == DUMMY_RG else None,
                 "total_user_count": 2 if m == DUMMY_RG else None} for m in request.json()["release_group_mbids"]]

    requests_mock.post(f"{BASE}/1/popularity/release-group", json=answer)
    mbids = [DUMMY_RG] + uuids(1500)

    counts = lb.release_group_popularity(mbids + ["bad"])

    assert [len(r.json()["release_group_mbids"]) for r in requests_mock.request_history] == [1000, 501]
    assert counts[DUMMY_RG].listens == 10 and counts[DUMMY_RG].users == 2
    assert counts[uuids(1)[0]].listens is None and len(counts) == 1501
    assert "Authorization" not in requests_mock.last_request.headers
