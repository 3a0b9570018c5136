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
