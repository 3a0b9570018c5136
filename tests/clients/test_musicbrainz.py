"""MusicBrainz client: lookups, browse paging, search escaping, pacing and 503 handling."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from app.clients.http import BadRequest, NotFound, RateLimiter, RetryPolicy, Unavailable
from app.clients.musicbrainz import (
    MusicBrainzClient,
    Release,
    best_album_release_group,
    lucene_escape,
    parse_year,
    pick_typical_release,
)

BASE = "https://musicbrainz.org"
WS = f"{BASE}/ws/2"
REC = "162630d9-36d2-4a8d-ade1-1c77440b34e7"
ARTIST = "f6f2326f-6b25-4170-b89d-e235b25508e8"
RG = "22b54315-6e51-350b-bb34-e6e16f7688bd"


@pytest.fixture
def mb(sleeps, retry, free_limiter):
    return MusicBrainzClient(BASE, sleep=sleeps.append, retry=retry, limiter=free_limiter)


def query(request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query)


def rg(id_, title, primary="Album", secondary=(), date="2002-10-28"):
    return {"id": id_, "title": title, "primary-type": primary, "secondary-types": list(secondary),
            "first-release-date": date, "disambiguation": ""}


def release(id_, title, status, date, group):
    return {"id": id_, "title": title, "status": status, "date": date, "country": "IS", "release-group": group}


RECORDING = {
    "id": REC,
    "title": "サマーれげぇ!レインボー",
    "length": 296026,
    "first-release-date": "2001-07-04",
    "artist-credit": [
        {"name": "m-flo", "joinphrase": " ♥ ", "artist": {"id": "22dd2db3-88ea-4428-a7a8-5cd3acf23175", "name": "m-flo"}},
        {"name": "ボア", "joinphrase": "", "artist": {"id": "a16d1433-ba89-4f72-a47b-a370add0bb55", "name": "BoA"}},
    ],
    "releases": [
        release("r-single", "Single", "Official", "2001-07-04", rg("rg-single", "Single", "Single", date="2001-07-04")),
        release("r-comp", "Best Of", "Official", "1999", rg("rg-comp", "Best Of", "Album", ["Compilation"], "1999")),
        release("r-boot", "Bootleg", "Bootleg", "2000", rg("rg-boot", "Live at X", "Album", [], "2000")),
        release("r-album", "Album", "Official", "2003-05", rg("rg-album", "Album", "Album", [], "2003-05")),
        release("r-album2", "Album (reissue)", "Official", "2010", rg("rg-album", "Album", "Album", [], "2003-05")),
        {"id": "r-norg", "title": "no group", "status": "Official", "date": ""},
    ],
}


def test_it_looks_up_a_recording_with_releases_groups_and_credits(requests_mock, mb):
    requests_mock.get(f"{WS}/recording/{REC}", json=RECORDING)
    recording = mb.recording(REC)
    url = requests_mock.last_request.url
    assert "inc=releases+release-groups+artist-credits" in url
    assert query(requests_mock.last_request)["fmt"] == ["json"]
    assert recording.title == "サマーれげぇ!レインボー"
    assert recording.artist_credit_name == "m-flo ♥ ボア"
    assert recording.artist_mbid == "22dd2db3-88ea-4428-a7a8-5cd3acf23175"
    assert recording.artist_credit[1].artist_name == "BoA"
    assert len(recording.releases) == 6
    assert recording.releases[-1].release_group is None
    assert recording.releases[3].year == 2003


def test_it_picks_the_official_plain_album_release_group(requests_mock, mb):
    requests_mock.get(f"{WS}/recording/{REC}", json=RECORDING)
    best = best_album_release_group(mb.recording(REC))
    assert best.mbid == "rg-album"
    assert best.is_plain_album


def test_it_prefers_the_earliest_of_several_plain_albums_and_handles_standalone_recordings(requests_mock, mb):
    body = dict(RECORDING, releases=[
        release("a", "Later", "Official", "2010", rg("rg-later", "Later", date="2010")),
        release("b", "Earlier", "Official", "1994-08-22", rg("rg-earlier", "Earlier", date="1994-08-22")),
        release("c", "Undated", "Official", "", rg("rg-undated", "Undated", date="")),
    ])
    requests_mock.get(f"{WS}/recording/{REC}", [{"json": body}, {"json": dict(RECORDING, releases=[])}])
    assert best_album_release_group(mb.recording(REC)).mbid == "rg-earlier"
    standalone = mb.recording(REC)
    assert standalone.releases == ()
    assert best_album_release_group(standalone) is None


def test_it_returns_none_when_only_singles_exist_unless_asked(requests_mock, mb):
    body = dict(RECORDING, releases=[RECORDING["releases"][0]])
    requests_mock.get(f"{WS}/recording/{REC}", json=body)
    recording = mb.recording(REC)
    assert best_album_release_group(recording) is None
    assert best_album_release_group(recording, albums_only=False).mbid == "rg-single"


def test_it_pages_release_groups_of_an_artist(requests_mock, mb):
    first = [rg(f"rg-{i}", f"Album {i}") for i in range(100)]
    second = [rg("rg-live", "Inni", secondary=["Live"], date="2011"), rg("rg-null", "Odd", primary=None, date="")]
    requests_mock.get(f"{WS}/release-group", [
        {"json": {"release-group-count": 102, "release-group-offset": 0, "release-groups": first}},
        {"json": {"release-group-count": 102, "release-group-offset": 100, "release-groups": second}},
    ])
    groups = mb.release_groups_by_artist(ARTIST)
    assert len(groups) == 102
    assert groups[100].secondary_types == ("Live",) and not groups[100].is_plain_album
    assert groups[101].primary_type is None and groups[101].year is None
    calls = [query(r) for r in requests_mock.request_history]
    assert [c["offset"] for c in calls] == [["0"], ["100"]]
    assert all(c["limit"] == ["100"] and c["type"] == ["album"] and c["artist"] == [ARTIST] for c in calls)
    assert all("status" not in c for c in calls)


def test_it_browses_only_official_release_groups_with_credits_when_asked(requests_mock, mb):
    credit = [{"name": "Björk", "joinphrase": "", "artist": {"id": ARTIST, "name": "Björk"}}]
    requests_mock.get(f"{WS}/release-group", json={"release-group-count": 1, "release-group-offset": 0,
                                                   "release-groups": [dict(rg("rg-1", "Homogenic"), **{"artist-credit": credit})]})
    groups = mb.release_groups_by_artist(ARTIST, release_group_status="website-default", artist_credits=True)
    assert groups[0].artist_credit_name == "Björk" and groups[0].artist_mbid == ARTIST
    sent = query(requests_mock.last_request)
    assert sent["release-group-status"] == ["website-default"] and sent["inc"] == ["artist-credits"]
    assert "status" not in sent


def test_it_looks_up_a_release_group(requests_mock, mb):
    requests_mock.get(f"{WS}/release-group/{RG}", json={
        "id": RG, "title": "Ágætis byrjun", "first-release-date": "1999-06-12", "primary-type": "Album",
        "secondary-types": [], "artist-credit": [{"name": "Sigur Rós", "joinphrase": "", "artist": {"id": ARTIST, "name": "Sigur Rós"}}],
    })
    group = mb.release_group(RG)
    assert (group.title, group.year, group.artist_credit_name, group.artist_mbid) == ("Ágætis byrjun", 1999, "Sigur Rós", ARTIST)
    assert query(requests_mock.last_request)["inc"] == ["artist-credits"]


def media(*counts, fmt="CD"):
    return [{"position": i + 1, "format": fmt, "track-count": c, "title": ""} for i, c in enumerate(counts)]


def test_it_finds_the_typical_release_and_track_count(requests_mock, mb):
    requests_mock.get(f"{WS}/release", json={"release-count": 5, "release-offset": 0, "releases": [
        {"id": "deluxe", "title": "X", "status": "Official", "date": "2008", "media": media(12, 6)},
        {"id": "cd-late", "title": "X", "status": "Official", "date": "2009-01", "media": media(12)},
        {"id": "cd-first", "title": "X", "status": "Official", "date": "2007-01-29", "media": media(12)},
        {"id": "vinyl", "title": "X", "status": None, "date": "2007", "media": media(5, 5, fmt=None)},
        {"id": "broken", "title": "X", "status": "Official", "date": "2006", "media": media(0)},
    ]})
    assert mb.typical_release(RG).mbid == "cd-first"
    assert mb.album_track_count(RG) == 12
    sent = query(requests_mock.last_request)
    assert sent["inc"] == ["media"] and sent["status"] == ["official"] and sent["release-group"] == [RG]


def test_it_falls_back_to_all_statuses_when_no_official_release_has_media(requests_mock, mb):
    requests_mock.get(f"{WS}/release", [
        {"json": {"release-count": 0, "release-offset": 0, "releases": []}},
        {"json": {"release-count": 1, "release-offset": 0, "releases": [
            {"id": "promo", "title": "X", "status": "Promotion", "date": "", "media": media(9)}]}},
    ])
    assert mb.album_track_count(RG) == 9
    assert "status" not in query(requests_mock.last_request)


def test_it_breaks_track_count_ties_towards_the_median():
    def r(i, n):
        return Release(f"r{i}", "X", "Official", "2000", 2000, None, n)

    chosen = pick_typical_release([r(1, 10), r(2, 10), r(3, 14), r(4, 14), r(5, 12)])
    assert chosen.track_count == 10
    assert pick_typical_release([]) is None


def test_it_reads_a_tracklist_with_lengths_in_seconds(requests_mock, mb):
    requests_mock.get(f"{WS}/release/rel-1", json={"id": "rel-1", "media": [
        {"position": 1, "format": "12\" Vinyl", "tracks": [
            {"id": "t1", "position": 1, "number": "A1", "title": "Hoppípolla", "length": 268493,
             "recording": {"id": "rec-1", "title": "Hoppípolla", "length": 268000}},
            {"id": "t2", "position": 2, "number": "A2", "title": "Með blóðnasir", "length": None,
             "recording": {"id": "rec-2", "title": "Með blóðnasir", "length": 137000}},
        ]},
        {"position": 2, "tracks": [{"id": "t3", "position": 1, "number": "B1", "title": "Untitled", "length": None,
                                    "recording": {"id": "rec-3", "length": None}}]},
    ]})
    tracks = mb.release_tracklist("rel-1")
    assert [(t.disc, t.number, t.title, t.length_s) for t in tracks] == [
        (1, "A1", "Hoppípolla", 268), (1, "A2", "Með blóðnasir", 137), (2, "B1", "Untitled", None)]
    assert query(requests_mock.last_request)["inc"] == ["recordings"]


def test_it_escapes_lucene_specials_in_searches(requests_mock, mb):
    requests_mock.get(f"{WS}/artist", json={"created": "2025-11-20T10:00:00.123Z", "count": 3, "offset": 0, "artists": [
        {"id": "a2", "name": "Björk", "score": 90, "disambiguation": "tribute"},
        {"id": "a1", "name": "Björk", "score": 100, "country": "IS", "type": "Person", "sort-name": "Björk"},
        {"id": "a3", "name": "Björk", "score": 100},
    ]})
    matches = mb.search_artist("AC/DC: Sunn O))) \"live\"")
    assert query(requests_mock.last_request)["query"] == ['artist:"AC\\/DC\\: Sunn O\\)\\)\\) \\"live\\""']
    assert [m.mbid for m in matches] == ["a1", "a3", "a2"]
    assert matches[0].country == "IS"


def test_it_searches_release_groups_by_artist_and_title(requests_mock, mb):
    requests_mock.get(f"{WS}/release-group", json={"count": 1, "offset": 0, "release-groups": [
        {"id": "rg-1", "score": 100, "title": "( )", "primary-type": "Album", "count": 4,
         "artist-credit": [{"name": "Sigur Rós", "artist": {"id": ARTIST, "name": "Sigur Rós"}}],
         "releases": [{"id": "x", "title": "( )", "status": "Official"}]}]})
    groups = mb.search_release_group("Sigur Rós", "( )", primary_type="Album")
    assert groups[0].secondary_types == () and groups[0].score == 100 and groups[0].artist_mbid == ARTIST
    assert query(requests_mock.last_request)["query"] == [
        'releasegroup:"\\( \\)" AND artist:"Sigur Rós" AND primarytype:album']


def test_it_escapes_every_lucene_special():
    assert lucene_escape('+-&|!(){}[]^"~*?:\\/') == "".join("\\" + c for c in '+-&|!(){}[]^"~*?:\\/')
    assert lucene_escape("Sigur Rós") == "Sigur Rós"


@pytest.mark.parametrize("date, year", [("1994", 1994), ("1994-08", 1994), ("1994-08-22", 1994), ("", None),
                                        (None, None), ("????", None), ("0000", None)])
def test_it_parses_partial_dates(date, year):
    assert parse_year(date) == year


def test_it_honours_retry_after_on_503(requests_mock, mb, sleeps):
    requests_mock.get(f"{WS}/release-group/{RG}", [
        {"status_code": 503, "headers": {"Retry-After": "2"},
         "json": {"error": "Your requests are exceeding the allowable rate limit."}},
        {"json": {"id": RG, "title": "T", "primary-type": "Album", "secondary-types": []}},
    ])
    assert mb.release_group(RG).title == "T"
    assert sleeps == [2.0]


def test_it_backs_off_from_one_second_doubling_on_503_without_retry_after(requests_mock, sleeps, free_limiter):
    mb = MusicBrainzClient(BASE, sleep=sleeps.append, limiter=free_limiter)  # default MB policy, with jitter
    requests_mock.get(f"{WS}/release-group/{RG}", [
        {"status_code": 503, "json": {"error": "rate limit"}},
        {"status_code": 503, "json": {"error": "rate limit"}},
        {"json": {"id": RG, "title": "T"}},
    ])
    mb.release_group(RG)
    assert len(sleeps) == 2
    assert 1.0 <= sleeps[0] <= 1.25 and 2.0 <= sleeps[1] <= 2.5


def test_it_gives_up_on_persistent_503(requests_mock, mb, sleeps):
    requests_mock.get(f"{WS}/release-group/{RG}", status_code=503, json={"error": "rate limit"})
    with pytest.raises(Unavailable, match="exceeding|rate limit"):
        mb.release_group(RG)
    assert requests_mock.call_count == 4 and sleeps == [1.0, 2.0, 4.0]


def test_it_does_not_retry_404_or_400(requests_mock, mb, sleeps):
    help_ = "For usage, please see: https://musicbrainz.org/development/mmd"
    requests_mock.get(f"{WS}/recording/{REC}", status_code=404, json={"error": "Not Found", "help": help_})
    requests_mock.get(f"{WS}/recording/bad", status_code=400, json={"error": "Invalid mbid.", "help": help_})
    with pytest.raises(NotFound):
        mb.recording(REC)
    with pytest.raises(BadRequest, match="Invalid mbid"):
        mb.recording("bad")
    assert requests_mock.call_count == 2 and sleeps == []


def test_it_paces_requests_to_one_per_second(requests_mock, clock, sleeps):
    limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep)
    mb = MusicBrainzClient(BASE, sleep=sleeps.append, limiter=limiter)
    requests_mock.get(re.compile(f"{WS}/release-group/.*"), json={"id": RG, "title": "T"})
    for _ in range(4):
        mb.release_group(RG)
    assert clock.sleeps == [1.0, 1.0, 1.0]


def test_it_paces_retries_too(requests_mock, clock, sleeps):
    limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep)
    mb = MusicBrainzClient(BASE, sleep=clock.sleep, limiter=limiter,
                           retry=RetryPolicy(max_attempts=3, base_delay=1.0, jitter=0.0))
    stamps = []

    def answer(request, context):
        stamps.append(clock.now)
        context.status_code = 503 if len(stamps) == 1 else 200
        return {"error": "slow down"} if len(stamps) == 1 else {"id": RG, "title": "T"}

    requests_mock.get(f"{WS}/release-group/{RG}", json=answer)
    mb.release_group(RG)
    mb.release_group(RG)
    assert all(b - a >= 1.0 for a, b in zip(stamps, stamps[1:]))


def test_it_uses_a_configurable_rate_for_mirrors_and_a_shared_default_limiter():
    fast = MusicBrainzClient("http://mirror:5000/ws/2/", rate=10)
    assert fast.base_url == "http://mirror:5000"
    assert fast.limiter.min_interval == pytest.approx(0.11)  # 0.1 s plus the 10% margin
    assert MusicBrainzClient(BASE).limiter is MusicBrainzClient(BASE + "/").limiter
    with pytest.raises(ValueError):
        MusicBrainzClient(BASE, rate=0)


def test_it_sends_the_user_agent_with_contact(requests_mock, free_limiter):
    mb = MusicBrainzClient(BASE, contact="https://github.com/example/resonance", limiter=free_limiter)
    requests_mock.get(f"{WS}/release-group/{RG}", json={"id": RG, "title": "T"})
    mb.release_group(RG)
    assert requests_mock.last_request.headers["User-Agent"].endswith("( https://github.com/example/resonance )")
