"""library-discovery end to end: run_once() against the sandbox's Navidrome, ListenBrainz and MusicBrainz.

The sandbox library holds 15 artists, all but 坂本龍一 with a MusicBrainz id. Their discographies hold
new albums: Radiohead's Signal Fires (30 days ago), Björk's Mycelia (10 days ago), Portishead's
Fourth (announced, 60 days ahead); and near misses: Daft Punk's single Night Drive, Massive
Attack's live album, AC/DC's Power Chord (200 days ago). rob's ListenBrainz fresh releases name
Signal Fires, Mycelia, Night Drive, Fourth and Sundial by Hollow Meadow (not a library artist).
Missing studio albums: Radiohead owns OK Computer (9,000 listens) and Kid A (7,000) and lacks
In Rainbows (8,000) and Signal Fires; Björk owns Homogenic and Vespertine and lacks Post (6,000,
their most played) and Debut (5,000) and Mycelia.
"""

from __future__ import annotations

import datetime

import pytest

from app.clients.http import RetryPolicy
from app.clients.listenbrainz import ListenBrainzClient
from app.clients.musicbrainz import MusicBrainzClient
from app.config import load_settings
from app.pipelines import JobContext, load, upstream
from app.sandbox import Sandbox, SandboxSettings
from app.web.present import why

JOB = "library-discovery"
RADIOHEAD = "93fc545b-9885-53b5-bdcd-bd8f2ecda329"
LIBRARY_ARTISTS = 15


@pytest.fixture
def sandbox():
    with Sandbox(settings=SandboxSettings.fast()) as sb:
        yield sb


def settings_env(sandbox, **overrides) -> dict[str, str]:
    credentials = sandbox.credentials
    values = {
        "subsonic__base_url": sandbox.urls["subsonic"],
        "subsonic__username": credentials["subsonic"]["username"],
        "subsonic__password": credentials["subsonic"]["password"],
        "listenbrainz__base_url": sandbox.urls["listenbrainz"],
        "listenbrainz__username": "rob",
        "musicbrainz__base_url": sandbox.urls["musicbrainz"],
        "musicbrainz__rate_limit": 100,
        "coverart__base_url": sandbox.urls["coverart"],
    }
    values.update(overrides)
    return {f"RESONANCE_{name.upper()}": str(value) for name, value in values.items()}


@pytest.fixture
def run(sandbox, repository, monkeypatch):
    """run(**settings) -> RunResult: one library-discovery run with the sandbox wired in (no rate limits)."""

    def run_once(stop_requested=lambda: False, **overrides):
        for name, value in settings_env(sandbox, **overrides).items():
            monkeypatch.setenv(name, value)
        ctx = JobContext(JOB, load_settings(), repository, stop_requested=stop_requested)
        return load(JOB)(ctx)

    return run_once


def pending(repository, source=None):
    return [(item["artist"], item["album"]) for item in repository.queue()["pending"]
            if source is None or item["source"] == source]


def item(repository, album):
    return next(i for i in repository.queue()["pending"] if i["album"] == album)


def browsed(sandbox) -> list[str]:
    """The artists whose discography MusicBrainz was asked for, in order."""
    return [r.query["artist"] for r in sandbox.requests("musicbrainz") if r.path == "/ws/2/release-group"]


def days_from_today(days: int) -> str:
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


# --- what a run finds ------------------------------------------------------------------------


def test_it_suggests_new_albums_of_library_artists_and_announced_ones(run, repository, sandbox):
    result = run()

    assert result.outcome == "ok", result.error
    assert pending(repository, "new release") == [
        ("Portishead", "Fourth"), ("Björk", "Mycelia"), ("Radiohead", "Signal Fires")]  # newest first
    fourth, signal_fires = item(repository, "Fourth"), item(repository, "Signal Fires")
    assert fourth["release_date"] == days_from_today(60) and fourth["score"] == 100
    assert signal_fires["release_date"] == days_from_today(-30) and signal_fires["year"] == int(days_from_today(-30)[:4])
    assert signal_fires["cover_url"] == f"{sandbox.urls['coverart']}/release-group/{signal_fires['mbid']}/front-250"
    # The card says why.
    assert why(signal_fires) == f"new album by Radiohead, out {days_from_today(-30)}"
    assert why(fourth) == f"new album by Portishead, out on {days_from_today(60)}"
    # Not: a single, a live album, an album from 200 days ago, an album by an artist not in the library.
    titles = {album for _, album in pending(repository)}
    assert not titles & {"Night Drive", "Live at the Roundhouse", "Sundial"}
    assert ("AC/DC", "Power Chord") not in pending(repository, "new release")
    # ListenBrainz answered in one request; every library artist's discography was read once.
    fresh = [r for r in sandbox.requests("listenbrainz") if r.path.endswith("/fresh_releases")]
    assert [(r.path, r.query["days"]) for r in fresh] == [("/1/user/rob/fresh_releases", "90")]
    # (坂本龍一 has no MusicBrainz id in Navidrome: left out.)
    assert sorted(browsed(sandbox)) == sorted(a["mbid"] for a in repository.library_snapshot()["artists"] if a["mbid"])
    assert len(browsed(sandbox)) == LIBRARY_ARTISTS - 1


def test_it_suggests_the_missing_studio_albums_most_listened_first(run, repository, sandbox):
    result = run(library_gaps__per_artist=1)

    assert result.outcome == "ok", result.error
    missing = pending(repository, "missing")
    # One per artist: the most listened missing studio album (Signal Fires went as a new release).
    assert ("Radiohead", "In Rainbows") in missing and ("Björk", "Post") in missing
    assert ("Björk", "Debut") not in missing
    in_rainbows, post = item(repository, "In Rainbows"), item(repository, "Post")
    assert in_rainbows["library_gap"] == {"owned": 2, "total": 4, "rank": 2}
    assert why(in_rainbows) == "you have 2 of 4 Radiohead albums; this one is their 2nd most played"
    assert why(post) == "you have 2 of 5 Björk albums; this one is their most played"
    # Live albums, compilations and remixes are not gaps.
    assert not {album for _, album in missing} & {"Live", "Telegram", "Greatest Hits", "Alive 2007"}
    # One POST for every studio album's listen count.
    popularity = [r for r in sandbox.requests("listenbrainz") if r.path == "/1/popularity/release-group"]
    assert len(popularity) == 1 and popularity[0].method == "POST"


def test_caps_per_artist_and_per_run(run, repository):
    run(library_gaps__per_artist=2, library_gaps__per_run=3, new_releases__enabled="false")

    missing = repository.queue()["pending"]
    assert len(missing) == 3 and {i["source"] for i in missing} == {"missing"}
    scores = [i["score"] for i in missing]
    assert scores == sorted(scores, reverse=True)


def test_the_run_says_what_it_did(run):
    result = run(library_gaps__per_artist=1)

    assert result.summary == ("new release: 3 albums; missing: 12 albums added to the pending queue; "
                              "read the discographies of 14 of 14 library artists")


# --- never the same album twice --------------------------------------------------------------


def test_what_was_suggested_decided_owned_or_blocked_is_never_suggested_again(run, repository, sandbox):
    first = run()
    assert first.outcome == "ok"
    suggested = {i["mbid"] for i in repository.queue()["pending"]}
    owned = {"OK Computer", "Kid A", "Homogenic", "Vespertine", "Dummy", "Discovery", "Abbey Road"}
    assert not owned & {album for _, album in pending(repository)}
    repository.reject([item(repository, "Signal Fires")["mbid"]])
    repository.approve([item(repository, "In Rainbows")["mbid"]])
    repository.block_artist("Portishead")  # rejects Fourth and Portishead's missing albums
    # Every discography is due again, as if refresh_days had passed.
    stale = {mbid: {**entry, "asked_at": "2000-01-01T00:00:00Z"}
             for mbid, entry in repository.library_discographies().items()}
    repository.record_discographies(stale)
    sandbox.clear_requests()

    again = run()

    assert again.outcome == "ok", again.error
    assert len(browsed(sandbox)) == LIBRARY_ARTISTS - 1  # everything was read again
    assert {i["mbid"] for i in repository.queue()["pending"]} <= suggested  # and nothing came back
    assert "Portishead" not in {artist for artist, _ in pending(repository)}
    assert not {"Signal Fires", "In Rainbows", "Fourth"} & {album for _, album in pending(repository)}
    assert again.summary.startswith("new release: 0 albums (3 seen before skipped); missing: 0 albums")


def test_a_blocked_artist_gets_no_suggestion(run, repository):
    repository.block_artist("Radiohead")
    run()
    assert "Radiohead" not in {artist for artist, _ in pending(repository)}


# --- the rotation and what a second run asks ------------------------------------------------------


def test_a_large_library_is_read_over_several_runs_within_the_budget(run, repository, sandbox):
    seen: list[str] = []
    for expected, more_due in ((5, " (9 more due)"), (5, " (4 more due)"), (4, ""), (0, "")):
        sandbox.clear_requests()
        result = run(library_discovery__artists_per_run=5)
        assert result.outcome == "ok", result.error
        assert result.summary.endswith(f"read the discographies of {expected} of 14 library artists{more_due}")
        asked = browsed(sandbox)
        assert len(asked) == expected and not set(asked) & set(seen)  # never the same artist twice
        seen += asked
    assert len(set(seen)) == LIBRARY_ARTISTS - 1


def test_the_second_run_asks_only_about_what_changed(run, repository, sandbox):
    run()
    # A new artist in the library: Múm's first album.
    mum = next(a for a in sandbox.catalogue.artists.values() if a.name == "Múm")
    first_album = sandbox.catalogue.release_groups[sandbox.catalogue.artist_release_groups[mum.id][0]]
    sandbox.catalogue.add_library_album({"release": first_album.release_ids[0]})
    sandbox.clear_requests()

    result = run()

    assert result.outcome == "ok", result.error
    assert browsed(sandbox) == [mum.id]  # the other 14 discographies are fresh
    asked_lb = [r.path for r in sandbox.requests("listenbrainz")]
    # Listen counts: only Múm's albums are new to ListenBrainz's popularity; fresh releases once.
    assert asked_lb.count("/1/user/rob/fresh_releases") == 1
    popularity = [r for r in sandbox.requests("listenbrainz") if r.path == "/1/popularity/release-group"]
    mum_groups = set(sandbox.catalogue.artist_release_groups[mum.id])
    assert popularity and all(set(r.json()["release_group_mbids"]) <= mum_groups for r in popularity)
    assert result.summary.endswith("read the discographies of 1 of 15 library artists")


def test_an_album_listenbrainz_names_sends_its_artist_to_the_front_of_the_queue(run, repository, sandbox):
    run(library_discovery__artists_per_run=10)  # Daft Punk's discography is among the ten read; four are still due
    # Night Drive turns out to be an album: ListenBrainz's fresh releases name it, the stored discography lacks it.
    daft_punk = next(a for a in sandbox.catalogue.artists.values() if a.name == "Daft Punk")
    assert daft_punk.id in repository.library_discographies()
    night_drive = next(g for g in sandbox.catalogue.release_groups.values() if g.title == "Night Drive")
    night_drive.primary_type = "Album"
    # A day later (read today already, an artist is not read again for this).
    entry = repository.library_discographies()[daft_punk.id]
    repository.record_discographies({daft_punk.id: {**entry, "asked_at": f"{days_from_today(-1)}T03:00:00Z"}})
    sandbox.clear_requests()

    run(library_discovery__artists_per_run=1)

    assert browsed(sandbox) == [daft_punk.id]  # before the four never read
    assert ("Daft Punk", "Night Drive") in pending(repository, "new release")
    assert night_drive.id in {g["mbid"] for g in repository.library_discographies()[daft_punk.id]["groups"]}

    sandbox.clear_requests()
    run(library_discovery__artists_per_run=1)
    assert browsed(sandbox) != [daft_punk.id]  # known now: the budget goes to the artists never read


# --- upstream failures and rates ----------------------------------------------------------------

QUICK_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_total_wait=5.0)


def quick_retries(monkeypatch, sandbox):
    """The run's MusicBrainz and ListenBrainz clients keep their real retry rules, backing off in hundredths."""
    monkeypatch.setattr(upstream, "musicbrainz", lambda settings, repository=None: MusicBrainzClient(
        sandbox.urls["musicbrainz"], rate=100, retry=QUICK_RETRY, contact="tests@example.invalid"))
    monkeypatch.setattr(upstream, "listenbrainz", lambda settings: ListenBrainzClient(
        sandbox.urls["listenbrainz"], retry=QUICK_RETRY))


def test_a_musicbrainz_failure_for_one_artist_keeps_the_rest_of_the_run(run, repository, sandbox, monkeypatch):
    radiohead_asked = lambda request: request.query.get("artist") == RADIOHEAD  # noqa: E731
    quick_retries(monkeypatch, sandbox)
    with sandbox.faults("musicbrainz").applied(error=400, when=radiohead_asked):
        result = run()

    assert result.outcome == "partial", result
    assert result.left.startswith("1 discography to read (MusicBrainz: GET /ws/2/release-group failed with HTTP 400")
    assert RADIOHEAD not in repository.library_discographies() and len(repository.library_discographies()) == 13
    albums = {album for _, album in pending(repository)}
    assert {"Mycelia", "Fourth", "Post"} <= albums  # what the other artists gave is written
    assert "Signal Fires" in albums  # ListenBrainz's fresh releases named it anyway
    assert "In Rainbows" not in albums  # Radiohead's gaps wait for its discography

    sandbox.clear_requests()
    again = run()
    assert again.outcome == "ok", again
    assert browsed(sandbox) == [RADIOHEAD]  # only what was left
    assert ("Radiohead", "In Rainbows") in pending(repository, "missing")


def test_listenbrainz_down_still_finds_new_releases_on_musicbrainz(run, repository, sandbox, monkeypatch,
                                                                    tmp_path):
    quick_retries(monkeypatch, sandbox)
    with sandbox.faults("listenbrainz").applied(error=500):
        result = run()

    assert result.outcome == "partial", result
    assert "ListenBrainz's fresh releases for rob" in result.left and "missing albums of 12 artists" in result.left
    assert pending(repository, "new release") == [
        ("Portishead", "Fourth"), ("Björk", "Mycelia"), ("Radiohead", "Signal Fires")]
    assert pending(repository, "missing") == []  # not ranked without listen counts: next run

    again = run()
    assert again.outcome == "ok", again
    # The missing albums an undisturbed run finds, in a data dir of its own.
    from app.repository import Repository

    clean = Repository(tmp_path / "clean")
    assert load(JOB)(JobContext(JOB, load_settings(), clean)).outcome == "ok"
    assert pending(repository, "missing") == pending(clean, "missing") and len(pending(clean, "missing")) > 12


def test_it_keeps_to_musicbrainz_rate(repository, monkeypatch):
    # The sandbox's real limit: 1 request/s (503 beyond a burst of 2); the client's default pacing.
    with Sandbox(settings=SandboxSettings.fast(musicbrainz_rate=1.0, listenbrainz_rate_limit=30)) as sb:
        env = settings_env(sb, library_discovery__artists_per_run=3)
        del env["RESONANCE_MUSICBRAINZ__RATE_LIMIT"]
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        result = load(JOB)(JobContext(JOB, load_settings(), repository))
        mb = sb.requests("musicbrainz")

    assert result.outcome == "ok", result.error
    assert len(mb) == 3 and {r.status for r in mb} == {200}  # no 503
    assert mb[1].time - mb[0].time >= 0.9 and mb[2].time - mb[1].time >= 0.9


def test_it_reads_the_fresh_releases_of_every_member_with_a_listenbrainz_user(run, repository, sandbox):
    members = '[{"name": "Alice", "role": "admin", "listenbrainz_user": "rob"}, {"name": "Bob", "listenbrainz_user": "mia"}]'
    result = run(household__members=members)
    assert result.outcome == "ok", result.error
    fresh = sorted(r.path for r in sandbox.requests("listenbrainz") if r.path.endswith("/fresh_releases"))
    assert fresh == ["/1/user/mia/fresh_releases", "/1/user/rob/fresh_releases"]
    assert ("Radiohead", "Signal Fires") in pending(repository, "new release")  # rob's, as before
