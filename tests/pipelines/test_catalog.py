"""catalog-discovery end to end: run_once() against the sandbox's Navidrome, Last.fm and MusicBrainz.

The sandbox library holds 15 artists (Sigur Rós, Björk, Portishead, Massive Attack, Boards
of Canada, Radiohead, Daft Punk, The Beatles, Simon & Garfunkel, AC/DC, Mötley Crüe, 坂本龍一,
Fleetwood Mac, Cocteau Twins, Aphex Twin). By sum of Last.fm matches the best new artists are
Múm (2.505: Sigur Rós, Björk, Boards of Canada, Cocteau Twins), Air (2.478), Röyksopp (2.33),
Beach House (1.869) and Mazzy Star (1.818).
"""

from __future__ import annotations

import pytest

from app.clients.http import RetryPolicy
from app.clients.lastfm import LastFmClient
from app.clients.musicbrainz import MusicBrainzClient
from app.config import load_settings
from app.library import load_library
from app.pipelines import JobContext, load, upstream
from app.pipelines.catalog import Discovered, filter_candidates, rank_candidates
from app.pipelines.discovery import Suggestion, publish
from app.sandbox import Sandbox, SandboxSettings
from app.wishlist import WishlistEntry

JOB = "catalog-discovery"
MUM = "4fcb3960-25a1-539e-a01c-03f53451ff0d"
AIR = "63c5222f-64b4-5aca-8d96-81479645b1de"
ROYKSOPP = "44fdc5a3-2662-5ed1-9685-ee7744e547e3"
NILS_FRAHM = "93787791-8339-58e8-afae-87efaefeb095"
HOMOGENIC = "5241c1fb-7395-5799-87ba-a7efac940925"  # Björk's album in the library (release group)


@pytest.fixture
def sandbox():
    with Sandbox(settings=SandboxSettings.fast()) as sb:
        yield sb


@pytest.fixture
def run(sandbox, repository, monkeypatch):
    """run(**settings) -> RunResult: one catalog-discovery run with the sandbox wired in.

    The fast sandbox has no Last.fm or MusicBrainz rate limit, so the clients need not pace
    either; test_it_keeps_to_the_rate_limits runs with both limits on.
    """
    monkeypatch.setattr("app.clients.lastfm.MIN_INTERVAL", 0.0)
    credentials = sandbox.credentials  # as they were before a test revokes any

    def run_once(stop_requested=lambda: False, **overrides):
        values = {
            "subsonic__base_url": sandbox.urls["subsonic"],
            "subsonic__username": credentials["subsonic"]["username"],
            "subsonic__password": credentials["subsonic"]["password"],
            "lastfm__base_url": sandbox.urls["lastfm"],
            "lastfm__api_key": credentials["lastfm"]["api_key"],
            "musicbrainz__base_url": sandbox.urls["musicbrainz"],
            "musicbrainz__rate_limit": 100,
            "coverart__base_url": sandbox.urls["coverart"],
            "catalog__max_artists_per_run": 2,
        }
        values.update(overrides)
        for name, value in values.items():
            monkeypatch.setenv(f"RESONANCE_{name.upper()}", str(value))
        ctx = JobContext(JOB, load_settings(), repository, stop_requested=stop_requested)
        return load(JOB)(ctx)

    return run_once


def lastfm_requests(sandbox) -> list[str]:
    """What Last.fm was asked about: an MBID, or a name (also after an MBID Last.fm does not know)."""
    return [r.query.get("mbid") or r.query.get("artist") for r in sandbox.requests("lastfm")]


def asked_at(repository) -> dict[str, str]:
    return {key: answer["asked_at"] for key, answer in repository.similar_answers().items()}


def similar_of(sandbox, name):
    return sandbox.catalogue.lastfm_by_name(name, autocorrect=False).similar


def pending(repository):
    return [(item["artist"], item["album"]) for item in repository.queue()["pending"]]


def discovered(repository):
    return [(entry["name"], len(entry["albums"])) for entry in repository.catalog_discovered()]


# --- what a run finds ------------------------------------------------------------------------


def test_it_suggests_albums_of_artists_similar_to_several_library_artists(run, repository, sandbox):
    result = run(catalog__max_artists_per_run=3)

    assert result.outcome == "ok"
    assert result.summary == ("4 albums by 3 new artists added to the pending queue; "
                              "asked Last.fm about 15 of 15 library artists")
    assert pending(repository) == [
        ("Múm", "Yesterday Was Dramatic – Today Is OK"), ("Múm", "Finally We Are No One"),
        ("Air", "Moon Safari"), ("Röyksopp", "Melody A.M.")]
    first = repository.queue()["pending"][0]
    assert first["source"] == "catalog" and first["type"] == "album" and first["year"] == 2000
    assert first["similar_to"] == ["Sigur Rós", "Björk", "Boards of Canada", "Cocteau Twins"]  # strongest first
    assert first["score"] == 91.8  # 100 × (1 − e^−2.505)
    assert first["cover_url"] == f"{sandbox.urls['coverart']}/release-group/{first['mbid']}/front-250"
    assert [item["score"] for item in repository.queue()["pending"]] == [91.8, 91.8, 91.6, 90.3]
    assert discovered(repository) == [("Múm", 2), ("Air", 1), ("Röyksopp", 1)]
    assert repository.catalog_discovered()[0]["mbid"] == MUM
    assert set(repository.processed()) == {item["mbid"] for item in repository.queue()["pending"]}
    # Only official albums, by MBID: one browse per artist, no search needed.
    browsed = sandbox.requests("musicbrainz")
    assert [(r.path, r.query["artist"], r.query["release-group-status"]) for r in browsed] == [
        ("/ws/2/release-group", mbid, "website-default") for mbid in (MUM, AIR, ROYKSOPP)]


def test_it_refreshes_the_library_snapshot_that_every_pipelines_owned_check_reads(run, repository):
    run(catalog__max_artists_per_run=1)

    snapshot = repository.library_snapshot()
    assert snapshot["taken_at"] and snapshot["server"].startswith("http://127.0.0.1:")
    assert len(snapshot["artists"]) == 15 and len(snapshot["albums"]) == 20
    assert {"Björk", "坂本龍一", "The Beatles"} <= {a["name"] for a in snapshot["artists"]}
    assert len(snapshot["similar"]) == 15 and snapshot["similar"]["bjork"]["similar"][0]["name"] == "Múm"
    # lb-fetch's publish now knows Björk's Homogenic is owned (by artist + title: Navidrome keeps release ids).
    ctx = JobContext("lb-fetch", load_settings(), repository)
    report = publish(ctx, [Suggestion("Bjork", "Homogenic", HOMOGENIC, source="listenbrainz")])
    assert report.owned == 1 and report.written == []


def test_it_merges_lastfm_names_written_differently_and_knows_them_in_the_library(run, repository, sandbox):
    # Last.fm spells artists its own way: these are all library artists or Múm, never new ones.
    similar_of(sandbox, "Daft Punk").extend([
        ("Bjork", 0.99, ""), ("Beatles", 0.99, ""), ("Simon and Garfunkel", 0.99, ""), ("Mum", 0.9, ""),
        ("SIGUR ROS", 0.99, ""),
    ])
    run(catalog__max_artists_per_run=1)

    assert discovered(repository) == [("Múm", 2)]
    assert repository.queue()["pending"][0]["similar_to"] == [
        "Daft Punk", "Sigur Rós", "Björk", "Boards of Canada", "Cocteau Twins"]
    # Among every candidate of the saved answers, none is a library artist under another spelling.
    ranked = rank_candidates(repository.similar_answers(), min_similarity=0.3)
    kept = {c.name for c in filter_candidates(ranked, load_library(repository), Discovered()).kept}
    assert {"Mum", "Air", "Röyksopp"} <= kept  # "Mum": the strongest match's spelling, until MusicBrainz's
    assert not kept & {"Bjork", "Beatles", "Simon and Garfunkel", "SIGUR ROS", "Sigur Ros", "Björk"}


def test_it_leaves_out_blocked_artists(run, repository, data_dir):
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.joinpath("blocked_artists.json").write_text('["Mum"]')  # Last.fm's Múm
    run(catalog__max_artists_per_run=1)
    assert discovered(repository) == [("Air", 1)]


def test_it_forgets_the_lastfm_answer_of_an_artist_who_left_the_library(run, repository, sandbox):
    run(catalog__max_artists_per_run=1)
    assert "aphex twin" in repository.similar_answers()
    library = sandbox.catalogue.library
    library[:] = [album for album in library if album.name != "Selected Ambient Works 85–92"]
    run(catalog__max_artists_per_run=1)
    assert "aphex twin" not in repository.similar_answers() and len(repository.similar_answers()) == 14
    assert len(repository.library_snapshot()["artists"]) == 14


@pytest.mark.parametrize("include, albums", [
    ("", ["All Melody"]),
    ("live", ["Spaces", "All Melody"]),
    ("Compilation", ["All Melody"]),
])
def test_it_leaves_out_live_albums_and_singles_unless_a_setting_keeps_them(run, repository, sandbox, include, albums):
    # Nils Frahm: "Spaces" (Album + Live, 2013), "Says" (Single, 2013), "All Melody" (Album, 2018).
    similar_of(sandbox, "Aphex Twin").append(("Nils Frahm", 1.0, NILS_FRAHM))
    similar_of(sandbox, "Radiohead").append(("Nils Frahm", 1.0, NILS_FRAHM))
    run(catalog__max_artists_per_run=1, catalog__include_secondary_types=include)
    assert pending(repository) == [("Nils Frahm", album) for album in albums]


def test_it_writes_to_the_wishlist_in_auto_mode_with_legacy_auth_and_a_path_prefix(repository, monkeypatch):
    monkeypatch.setattr("app.clients.lastfm.MIN_INTERVAL", 0.0)
    with Sandbox(settings=SandboxSettings.fast(subsonic_prefix="/audio")) as sb:
        guest = sb.catalogue.subsonic_users["guest"]  # password "guest pass ü"
        for name, value in {
            "GENERAL__APPROVAL_MODE": "auto", "SUBSONIC__BASE_URL": sb.urls["subsonic"] + "/",
            "SUBSONIC__USERNAME": guest.username, "SUBSONIC__PASSWORD": guest.password,
            "SUBSONIC__LEGACY_AUTH": "true", "LASTFM__BASE_URL": sb.urls["lastfm"],
            "LASTFM__API_KEY": sb.credentials["lastfm"]["api_key"], "MUSICBRAINZ__BASE_URL": sb.urls["musicbrainz"],
            "MUSICBRAINZ__RATE_LIMIT": "100", "CATALOG__MAX_ARTISTS_PER_RUN": "1",
        }.items():
            monkeypatch.setenv(f"RESONANCE_{name}", value)
        result = load(JOB)(JobContext(JOB, load_settings(), repository))
        subsonic_paths = {r.path for r in sb.requests("subsonic")}

    assert result.summary.startswith("2 albums by 1 new artist added to the wishlist")
    assert repository.wishlist_entries() == [WishlistEntry.create("Múm", "Yesterday Was Dramatic – Today Is OK"),
                                             WishlistEntry.create("Múm", "Finally We Are No One")]
    assert repository.queue()["pending"] == []
    assert subsonic_paths == {"/audio/rest/ping.view", "/audio/rest/getArtists.view", "/audio/rest/getAlbumList2.view"}


# --- across runs ---------------------------------------------------------------------------------


def test_it_never_suggests_an_artist_or_album_twice_and_asks_lastfm_only_when_due(run, repository, sandbox):
    first = run(catalog__artists_per_run=10)
    after_first, requests_first = asked_at(repository), lastfm_requests(sandbox)
    sandbox.clear_requests()
    second = run(catalog__artists_per_run=10)
    after_second, requests_second = asked_at(repository), lastfm_requests(sandbox)
    sandbox.clear_requests()
    third = run(catalog__artists_per_run=10)

    assert len(after_first) == 10 and len(after_second) == 15
    assert {k: v for k, v in after_second.items() if k in after_first} == after_first  # not asked again
    assert not set(requests_first) & set(requests_second)
    assert lastfm_requests(sandbox) == [] and asked_at(repository) == after_second  # all asked within refresh_days
    assert "(5 more due)" in first.summary and "asked Last.fm about 5 of 15" in second.summary
    assert "asked Last.fm about 0 of 15" in third.summary
    mbids = [item["mbid"] for item in repository.queue()["pending"]]
    assert len(mbids) == len(set(mbids)) == 8
    # Two new artists with albums per run; Guns N' Roses and Tricky have no MusicBrainz match: recorded, no albums.
    assert discovered(repository) == [
        ("Múm", 2), ("Röyksopp", 1),
        ("Air", 1), ("Guns N' Roses", 0), ("Beach House", 2),
        ("Mazzy Star", 1), ("Tricky", 0), ("Ólafur Arnalds", 1)]


def test_it_asks_again_once_the_refresh_window_has_passed(run, repository):
    run(catalog__max_artists_per_run=1, catalog__refresh_days=30)
    stale = ["bjork", "portishead", "daft punk", "aphex twin"]
    answers = repository.similar_answers()
    repository.record_similar_answers({key: {**answers[key], "asked_at": "2020-01-01T00:00:00Z"} for key in stale})
    before = asked_at(repository)

    result = run(catalog__max_artists_per_run=1, catalog__refresh_days=30)
    assert "asked Last.fm about 4 of 15" in result.summary
    after = asked_at(repository)
    assert sorted(key for key in after if after[key] != before[key]) == sorted(stale)


# --- failures ----------------------------------------------------------------------------------------


def test_it_skips_the_run_when_navidrome_is_down(run, repository, sandbox):
    sandbox.faults("subsonic").set(refuse=True)
    result = run()
    assert result.outcome == "skipped"
    assert result.summary.startswith("Subsonic server unreachable: GET /rest/ping.view failed: connection refused (127.0.0.1:")
    assert sandbox.requests("lastfm") == [] and sandbox.requests("musicbrainz") == []
    assert repository.library_snapshot() == {} and repository.queue()["pending"] == []


def test_it_fails_with_the_servers_reason_on_a_wrong_password(run, repository, sandbox):
    result = run(subsonic__password="wrong")
    assert result.outcome == "failed"
    assert result.error == "Subsonic server rejected the username or password"
    assert sandbox.requests("lastfm") == []


@pytest.mark.parametrize("missing, message", [
    ("subsonic__base_url", "set subsonic.base_url to read your library"),
    ("lastfm__api_key", "set lastfm.api_key to find similar artists"),
])
def test_it_skips_the_run_until_the_services_are_configured(run, sandbox, missing, message):
    result = run(**{missing: ""})
    assert result.outcome == "skipped" and result.summary == message
    assert sandbox.requests("subsonic") + sandbox.requests("lastfm") == []


def test_it_stops_with_a_clear_error_on_a_bad_lastfm_key_and_keeps_what_was_written(run, repository, sandbox):
    run(catalog__artists_per_run=5, catalog__max_artists_per_run=1)
    written = pending(repository)
    sandbox.catalogue.lastfm_api_keys.clear()  # the key was revoked
    sandbox.clear_requests()
    result = run(catalog__artists_per_run=5)

    assert result.outcome == "failed"
    assert result.error.startswith("Last.fm rejected the API key (error 10: Invalid API key")
    assert result.error.endswith("check lastfm.api_key")
    assert len(sandbox.requests("lastfm")) == 1 and sandbox.requests("musicbrainz") == []
    assert pending(repository) == written and len(written) > 0
    assert len(repository.similar_answers()) == 5


def test_it_skips_artists_lastfm_does_not_know_until_their_refresh(run, repository, sandbox):
    catalogue = sandbox.catalogue
    catalogue.lastfm_artists[:] = [a for a in catalogue.lastfm_artists if a.name != "Aphex Twin"]
    result = run(catalog__max_artists_per_run=1)
    assert result.outcome == "ok"
    assert repository.similar_answers()["aphex twin"]["unknown"] is True
    sandbox.clear_requests()
    run(catalog__max_artists_per_run=1)
    assert lastfm_requests(sandbox) == []


def test_it_skips_a_candidate_musicbrainz_fails_on_and_brings_it_back_next_run(run, repository, sandbox):
    sandbox.faults("musicbrainz").set(error=400, error_body='{"error": "Invalid mbid."}', count=1)
    result = run()
    assert result.outcome == "partial"
    assert result.left.startswith(
        "1 candidate artist to look up on MusicBrainz (MusicBrainz: GET /ws/2/release-group failed with HTTP 400")
    assert discovered(repository) == [("Air", 1), ("Röyksopp", 1)]  # Múm failed: not recorded

    run()
    assert discovered(repository) == [
        ("Air", 1), ("Röyksopp", 1), ("Múm", 2), ("Guns N' Roses", 0), ("Beach House", 2)]


def test_it_stops_between_artists_when_asked_and_keeps_what_it_wrote(run, repository):
    result = run(catalog__max_artists_per_run=3, stop_requested=lambda: bool(repository.queue()["pending"]))
    assert result.summary.endswith("stopped on request")
    assert discovered(repository) == [("Múm", 2)]
    assert pending(repository) == [
        ("Múm", "Yesterday Was Dramatic – Today Is OK"), ("Múm", "Finally We Are No One")]


def test_it_records_an_artist_with_no_exact_musicbrainz_match_so_it_does_not_come_back(run, repository, sandbox):
    # "Guns N' Roses" (Mötley Crüe, AC/DC): Last.fm's MBID is unknown to MusicBrainz, and no artist has that name.
    result = run(catalog__max_artists_per_run=5)
    entry = next(e for e in repository.catalog_discovered() if e["name"] == "Guns N' Roses")
    assert entry["albums"] == [] and entry["mbid"] == ""
    assert "5 new artists" in result.summary
    searches = [r.query["query"] for r in sandbox.requests("musicbrainz") if r.path == "/ws/2/artist"]
    assert searches == ['artist:"Guns N\' Roses"']


# --- pacing --------------------------------------------------------------------------------------------


def test_it_keeps_to_the_rate_limits_of_lastfm_and_musicbrainz(repository, monkeypatch):
    # The sandbox's real limits: MusicBrainz 1/s (503 beyond a burst of 2), Last.fm 5/s (error 29).
    with Sandbox(settings=SandboxSettings.fast(musicbrainz_rate=1.0, lastfm_rate=5.0)) as sb:
        for name, value in {
            "SUBSONIC__BASE_URL": sb.urls["subsonic"], "SUBSONIC__USERNAME": sb.credentials["subsonic"]["username"],
            "SUBSONIC__PASSWORD": sb.credentials["subsonic"]["password"], "LASTFM__BASE_URL": sb.urls["lastfm"],
            "LASTFM__API_KEY": sb.credentials["lastfm"]["api_key"], "MUSICBRAINZ__BASE_URL": sb.urls["musicbrainz"],
            "CATALOG__MAX_ARTISTS_PER_RUN": "2",
        }.items():
            monkeypatch.setenv(f"RESONANCE_{name}", value)
        result = load(JOB)(JobContext(JOB, load_settings(), repository))
        lastfm, mb = sb.requests("lastfm"), sb.requests("musicbrainz")

    assert result.outcome == "ok", result.error
    # 15 artists; Boards of Canada twice: Last.fm does not know the MBID Navidrome has, so by name.
    assert len(lastfm) == 16 and {r.status for r in lastfm} == {200}  # no error 29
    assert len(mb) == 2 and {r.status for r in mb} == {200}  # no 503
    # Arrival times bunch up on a loaded machine; the pace that counts is the average.
    times = [r.time for r in lastfm]
    assert (len(times) - 1) / (times[-1] - times[0]) < 5.0
    assert mb[1].time - mb[0].time >= 0.9



# --- under upstream faults --------------------------------------------------------------------------------

QUICK_RETRY = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05, max_total_wait=5.0)
QUICK_FAULTS = ("500", "truncated", "reset")  # the kinds a retry meets at once (no held "timeout" requests)


def quick_retries(monkeypatch, sandbox):
    """The run's Last.fm and MusicBrainz clients keep their real retry rules, backing off in hundredths."""
    key = sandbox.credentials["lastfm"]["api_key"]
    monkeypatch.setattr(upstream, "lastfm", lambda settings: LastFmClient(sandbox.urls["lastfm"], key,
                                                                          retry=QUICK_RETRY))
    monkeypatch.setattr(upstream, "musicbrainz", lambda settings, repository=None: MusicBrainzClient(
        sandbox.urls["musicbrainz"], rate=100, retry=QUICK_RETRY, contact="tests@example.invalid"))


def test_a_lastfm_failure_for_one_artist_does_not_stop_the_other_questions(run, repository, sandbox, monkeypatch):
    bjork = next(artist.id for artist in sandbox.catalogue.artists.values() if artist.name == "Björk")
    quick_retries(monkeypatch, sandbox)
    with sandbox.faults("lastfm").applied(error=500, when=lambda request: (  # every attempt this run
            request.query.get("mbid") == bjork or request.query.get("artist") == "Björk")):
        result = run()
    assert result.outcome == "partial", result
    assert result.left.startswith("1 Last.fm question (Last.fm: GET /2.0/ failed with HTTP 500")
    answered = set(asked_at(repository))
    assert len(answered) == 14 and "bjork" not in answered  # the other 14 library artists were asked
    assert discovered(repository)  # and the run went on to find new artists

    monkeypatch.undo()
    sandbox.clear_requests()
    again = run()
    assert again.outcome == "ok"
    assert lastfm_requests(sandbox) == [bjork]  # only the question left over


def test_it_gives_up_on_lastfm_for_the_run_when_it_is_down(run, repository, sandbox, monkeypatch):
    quick_retries(monkeypatch, sandbox)
    with sandbox.faults("lastfm").applied(error=500) as lastfm:
        result = run()
        asked = lastfm.injected
    assert result.outcome == "failed" and "Last.fm: GET /2.0/ failed with HTTP 500" in result.error
    assert asked == 3 * QUICK_RETRY.max_attempts  # three artists, each with its retries, then no more


def test_it_finds_the_same_artists_and_albums_when_a_fifth_of_the_requests_fail(run, repository, sandbox,
                                                                                 monkeypatch, tmp_path):
    from app.repository import Repository

    quick_retries(monkeypatch, sandbox)
    lastfm = sandbox.faults("lastfm").random(0.2, kinds=QUICK_FAULTS, seed=3)
    mb = sandbox.faults("musicbrainz").random(0.2, kinds=QUICK_FAULTS, seed=4)
    result = run(catalog__max_artists_per_run=3)
    assert lastfm.injected + mb.injected  # faults did happen
    assert result.outcome == "ok", result

    lastfm.clear()  # the same run without faults, in a data dir of its own
    mb.clear()
    clean = Repository(tmp_path / "clean")
    assert load(JOB)(JobContext(JOB, load_settings(), clean)).outcome == "ok"
    assert (pending(repository), discovered(repository), set(asked_at(repository))) == (
        pending(clean), discovered(clean), set(asked_at(clean)))


# --- learning from decisions (docs/discovery.md, "Learning from decisions") ----------------------------


def decide(repository, action, similar_to, count=1, reason=None):
    from factories import make_queue_item

    items = [make_queue_item(source="catalog", similar_to=similar_to) for _ in range(count)]
    repository.add_pending(items)
    mbids = [item["mbid"] for item in items]
    repository.approve(mbids) if action == "approve" else repository.reject(mbids, reason=reason)


def test_a_fixed_history_of_decisions_changes_the_order_of_the_next_runs_suggestions(run, repository):
    # Without decisions Múm (2.505) comes before Air (2.478) and Röyksopp (2.33): see the first test.
    decide(repository, "reject", ["Sigur Rós"], count=3)
    decide(repository, "approve", ["Sigur Rós"])
    decide(repository, "approve", ["Daft Punk"], count=2)
    decide(repository, "reject", ["Björk"], reason="already_have")  # says nothing about taste: not counted
    decide(repository, "reject", ["Cocteau Twins"])
    undone = repository.unreject(repository.rejected_mbids()[-1:])  # undone: not counted either
    repository.remove_pending([item["mbid"] for item in undone])

    result = run(catalog__max_artists_per_run=3)

    assert result.outcome == "ok"
    pending_now = repository.queue()["pending"]
    assert pending(repository) == [
        ("Air", "Moon Safari"), ("Röyksopp", "Melody A.M."),
        ("Múm", "Yesterday Was Dramatic – Today Is OK"), ("Múm", "Finally We Are No One")]
    # Air: 2.478 + 0.821 × (2·4/6 − 1) = 2.7517; Röyksopp: 2.33 + 0.703 × ⅓ = 2.5643;
    # Múm: 2.505 − 0.871 × (1 − 2·3/8) = 2.2873 (Sigur Rós: 1 approved, 3 rejected).
    assert [item["score"] for item in pending_now] == [93.6, 92.3, 89.8, 89.8]
    assert [item.get("ranking") for item in pending_now] == [
        "ranked higher: 2 of 2 albums similar to Daft Punk were approved",
        "ranked higher: 2 of 2 albums similar to Daft Punk were approved",
        "ranked lower: 3 of 4 albums similar to Sigur Rós were rejected",
        "ranked lower: 3 of 4 albums similar to Sigur Rós were rejected"]
    assert [item["similar_to"][0] for item in pending_now] == ["Daft Punk", "Daft Punk", "Sigur Rós", "Sigur Rós"]
