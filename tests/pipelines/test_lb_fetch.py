"""lb-fetch end to end against the sandbox's ListenBrainz and MusicBrainz."""

from __future__ import annotations

import pytest

from app.clients.http import RetryPolicy
from app.clients.listenbrainz import ListenBrainzClient
from app.clients.musicbrainz import MusicBrainzClient
from app.config import load_settings
from app.pipelines import JobContext
from app.pipelines.lb_fetch import ListenBrainzSource, run_once
from app.repository import Repository
from app.sandbox import Sandbox, SandboxSettings

TAKK = "Takk..."


@pytest.fixture
def sandbox():
    with Sandbox(settings=SandboxSettings.fast()) as sb:
        yield sb


@pytest.fixture
def lb_env(sandbox, monkeypatch):
    monkeypatch.setenv("RESONANCE_LISTENBRAINZ__BASE_URL", sandbox.urls["listenbrainz"])
    monkeypatch.setenv("RESONANCE_LISTENBRAINZ__USERNAME", sandbox.credentials["listenbrainz"]["user"])
    monkeypatch.setenv("RESONANCE_MUSICBRAINZ__BASE_URL", sandbox.urls["musicbrainz"])
    monkeypatch.setenv("RESONANCE_MUSICBRAINZ__RATE_LIMIT", "50")  # the fast sandbox has no MB limit
    monkeypatch.setenv("RESONANCE_COVERART__BASE_URL", sandbox.urls["coverart"])
    monkeypatch.setenv("RESONANCE_GENERAL__CONTACT", "tests@example.invalid")
    return monkeypatch


@pytest.fixture
def run(repository, lb_env):
    def run_lb_fetch(source_factory=None, **env):
        for name, value in env.items():
            lb_env.setenv(name, value)
        ctx = JobContext("lb-fetch", load_settings(), repository)
        return run_once(ctx, source_factory(ctx) if source_factory else None)

    return run_lb_fetch


def no_retry_source(sandbox):
    """Clients that give up at once, so fault tests don't wait out real backoff."""
    def make(ctx):
        once = RetryPolicy(max_attempts=1)
        return ListenBrainzSource(
            ctx,
            lb=ListenBrainzClient(sandbox.urls["listenbrainz"], retry=once),
            mb=MusicBrainzClient(sandbox.urls["musicbrainz"], rate=50, retry=once, contact="tests@example.invalid"),
        )

    return make


def pending_titles(repository):
    return {(item["artist"], item["album"]) for item in repository.queue()["pending"]}


def test_it_fills_the_pending_queue_with_albums(run, repository, sandbox):
    result = run()
    assert result.outcome == "ok", result
    pending = repository.queue()["pending"]
    titles = {item["album"] for item in pending}
    assert {"Finally We Are No One", "Go", TAKK, "Young Team", "The Earth Is Not a Cold Dead Place"} <= titles
    # an album reached through several recordings appears once
    assert len([item for item in pending if item["album"] == "Finally We Are No One"]) == 1
    assert len(titles) == len(pending)
    first = next(item for item in pending if item["album"] == "Finally We Are No One")
    assert first["source"] == "listenbrainz" and first["score"] == 100.0
    assert first["source_track"]
    assert first["cover_url"] == f"{sandbox.urls['coverart']}/release-group/{first['mbid']}/front-250"
    assert result.summary.startswith(f"{len(pending)} albums added to the pending queue")
    assert {item["mbid"] for item in pending} <= set(repository.processed())


def test_it_looks_up_a_recording_on_no_album_only_once(run, repository, sandbox):
    run()
    demo = "3379ed63-70d7-5e2c-9a16-3f0c62b93149"  # an unreleased demo: on no release at all
    assert demo in repository.processed()
    sandbox.clear_requests()
    run()
    assert not [r for r in sandbox.requests("musicbrainz") if r.path.endswith(demo)]


def test_it_files_a_recording_under_its_album_not_the_single(run, repository):
    run()
    titles = {item["album"] for item in repository.queue()["pending"]}
    assert "Random Access Memories" in titles
    assert "Get Lucky" not in titles


def test_it_resolves_uncached_recordings_on_musicbrainz_only(run, repository, sandbox):
    run()
    looked_up = {r.path.rsplit("/", 1)[-1] for r in sandbox.requests("musicbrainz")
                 if r.path.startswith("/ws/2/recording/")}
    catalogue = sandbox.catalogue
    recommended = {rec.recording_mbid for rec in catalogue.listener("rob").recommendations}

    def bulk_names_an_album(mbid):
        release = None if mbid in catalogue.uncached_recordings else catalogue.chosen_release(mbid)
        group = catalogue.release_group_of(release) if release else None
        return group is not None and group.primary_type == "Album"

    # Only what ListenBrainz could not file under an album went to MusicBrainz:
    # recordings missing from its cache, on no release, or on a single.
    assert looked_up == {mbid for mbid in recommended if not bulk_names_an_album(mbid)}
    assert set(catalogue.uncached_recordings) & recommended <= looked_up
    assert len(sandbox.requests("listenbrainz")) == 3  # recommendations, recordings, release-group types
    assert "Young Team" in {item["album"] for item in repository.queue()["pending"]}  # an uncached one


def test_it_writes_the_wishlist_in_auto_mode(run, repository):
    result = run(RESONANCE_GENERAL__APPROVAL_MODE="auto")
    assert result.outcome == "ok"
    assert repository.queue()["pending"] == []
    entries = {(e.artist, e.title) for e in repository.wishlist_entries()}
    assert ("Sigur Rós", TAKK) in entries
    assert all(e.kind == "album" for e in repository.wishlist_entries())
    assert "added to the wishlist" in result.summary


def test_it_adds_nothing_twice_across_runs(run, repository):
    first = run()
    count = len(repository.queue()["pending"])
    second = run()
    assert len(repository.queue()["pending"]) == count
    assert second.summary.startswith("0 albums added to the pending queue")
    assert f"{count} seen before" in second.summary
    assert first.outcome == second.outcome == "ok"


def test_it_never_brings_back_a_rejected_album(run, repository):
    run()
    takk = next(item for item in repository.queue()["pending"] if item["album"] == TAKK)
    repository.reject([takk["mbid"]])
    # even if processed.json were lost, the rejection alone keeps it out
    from app.repository import PROCESSED

    with repository.store.transaction(PROCESSED) as processed:
        processed.clear()
    run()
    assert TAKK not in {item["album"] for item in repository.queue()["pending"]}


def test_it_skips_secondary_types_by_setting(run, repository):
    run(RESONANCE_LISTENBRAINZ__SKIP_SECONDARY_TYPES="Live,Soundtrack")
    titles = {item["album"] for item in repository.queue()["pending"]}
    assert "Inni" not in titles and "Chernobyl" not in titles
    assert "Go" in titles


def test_it_keeps_tracks_in_track_mode(run, repository):
    run(RESONANCE_LISTENBRAINZ__MODE="track", RESONANCE_GENERAL__APPROVAL_MODE="auto")
    entries = repository.wishlist_entries()
    assert entries and all(e.kind == "track" for e in entries)
    assert ("Sigur Rós", "Hoppípolla") in {(e.artist, e.title) for e in entries}


def test_it_reads_the_weekly_exploration_playlist(run, repository):
    result = run(RESONANCE_LISTENBRAINZ__SOURCE="weekly")
    assert result.outcome == "ok"
    titles = {item["album"] for item in repository.queue()["pending"]}
    assert "Riceboy Sleeps" in titles  # on this week's playlist
    assert "So Tonight That I Might See" not in titles  # only on last week's


def test_it_says_so_when_there_are_no_recommendations_yet(run, repository, sandbox):
    sandbox.catalogue.listener("rob").recommendations.clear()
    result = run()
    assert result.outcome == "skipped"
    assert result.summary == "ListenBrainz has no recommendations for this user yet"
    assert repository.queue()["pending"] == []


def test_it_skips_without_a_username(run, repository):
    result = run(RESONANCE_LISTENBRAINZ__USERNAME="")
    assert result.outcome == "skipped" and "listenbrainz.username" in result.summary


def test_it_keeps_what_was_resolved_when_musicbrainz_fails_and_finishes_next_run(run, repository, sandbox):
    sandbox.faults("musicbrainz").set(error=503)
    broken = run(no_retry_source(sandbox))
    assert broken.outcome == "partial" and "musicbrainz" in broken.left.lower()
    assert "left for the next run" in broken.summary and broken.left.startswith("9 recordings (musicbrainz: GET")
    first_titles = pending_titles(repository)
    assert first_titles and "Young Team" not in {album for _, album in first_titles}

    sandbox.faults("musicbrainz").clear()
    fixed = run(no_retry_source(sandbox))
    assert fixed.outcome == "ok", fixed
    titles = {album for _, album in pending_titles(repository)}
    assert "Young Team" in titles
    mbids = [item["mbid"] for item in repository.queue()["pending"]]
    assert len(mbids) == len(set(mbids))


def test_it_loses_nothing_when_listenbrainz_is_down(run, repository, sandbox):
    sandbox.faults("listenbrainz").set(refuse=True)
    result = run(no_retry_source(sandbox))
    assert result.outcome == "failed" and "listenbrainz" in result.error.lower()
    assert repository.queue()["pending"] == [] and repository.processed() == []
    sandbox.faults("listenbrainz").clear()
    assert run(no_retry_source(sandbox)).outcome == "ok"
    assert repository.queue()["pending"]


def test_it_survives_a_malformed_musicbrainz_reply(run, repository, sandbox):
    sandbox.faults("musicbrainz").set(malformed=True)
    result = run(no_retry_source(sandbox))
    assert result.outcome == "partial" and "musicbrainz" in result.left.lower()
    titles = {album for _, album in pending_titles(repository)}
    assert "Go" in titles and "Young Team" not in titles  # bulk-resolved kept, the rest waits


# --- under upstream faults --------------------------------------------------------------------------------

QUICK_RETRY = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05, max_total_wait=5.0)


def quick_retry_source(lb_url, mb_url):
    """The real clients with their real retry rules, backing off in hundredths of a second."""
    def make(ctx):
        return ListenBrainzSource(
            ctx,
            lb=ListenBrainzClient(lb_url, retry=QUICK_RETRY),
            mb=MusicBrainzClient(mb_url, rate=50, retry=QUICK_RETRY, contact="tests@example.invalid"),
        )

    return make


def test_it_keeps_the_cf_recommendations_when_the_weekly_listing_fails(run, repository, sandbox):
    # Every time: the listing (/1/user/rob/playlists/createdfor) is down for this run.
    with sandbox.faults("listenbrainz").applied(error=500,
                                                when=lambda request: "/playlists/createdfor" in request.path):
        result = run(quick_retry_source(sandbox.urls["listenbrainz"], sandbox.urls["musicbrainz"]),
                     RESONANCE_LISTENBRAINZ__SOURCE="both")
    assert result.outcome == "partial", result
    assert result.left.startswith("the Weekly Exploration playlist, 1 recording (listenbrainz: GET /1/user/rob/")
    assert {"Go", TAKK, "Young Team", "Riceboy Sleeps"} <= {album for _, album in pending_titles(repository)}

    sandbox.clear_requests()
    second = run(RESONANCE_LISTENBRAINZ__SOURCE="both")
    assert second.outcome == "ok"
    assert [r for r in sandbox.requests("listenbrainz") if r.path.startswith("/1/playlist/")]  # read this time


def test_it_fails_only_when_every_source_failed(run, repository, sandbox):
    both_sources = ("/playlists/createdfor", "/cf/recommendation/")  # the Weekly listing and the CF list
    with sandbox.faults("listenbrainz").applied(error=500, when=lambda request: any(
            part in request.path for part in both_sources)):
        result = run(quick_retry_source(sandbox.urls["listenbrainz"], sandbox.urls["musicbrainz"]),
                     RESONANCE_LISTENBRAINZ__SOURCE="both")
    assert result.outcome == "failed" and "listenbrainz" in result.error
    assert repository.queue()["pending"] == [] and repository.processed() == []


def test_it_retries_a_musicbrainz_reply_cut_short_and_completes(run, repository, sandbox):
    sandbox.faults("musicbrainz").set(malformed=True, count=2)
    result = run(quick_retry_source(sandbox.urls["listenbrainz"], sandbox.urls["musicbrainz"]))
    assert result.outcome == "ok", result
    assert "Young Team" in {album for _, album in pending_titles(repository)}  # resolved on MusicBrainz
    assert len([r for r in sandbox.requests("musicbrainz") if r.fault]) == 2


def test_it_finds_the_same_albums_when_a_fifth_of_the_requests_fail(run, repository, sandbox, tmp_path):
    from app.repository import Repository

    clean = Repository(tmp_path / "clean")
    ctx = JobContext("lb-fetch", load_settings(), clean)
    assert run_once(ctx, quick_retry_source(sandbox.urls["listenbrainz"], sandbox.urls["musicbrainz"])(ctx)).outcome == "ok"
    expected = {(item["artist"], item["album"]) for item in clean.queue()["pending"]}

    sandbox.clear_requests()
    # The kinds a retry meets at once (no held "timeout" requests), from fixed seeds.
    sandbox.faults("listenbrainz").random(0.2, kinds=("500", "truncated", "reset"), seed=1)
    sandbox.faults("musicbrainz").random(0.2, kinds=("500", "truncated", "reset"), seed=2)
    result = run(quick_retry_source(sandbox.urls["listenbrainz"], sandbox.urls["musicbrainz"]),
                 RESONANCE_LISTENBRAINZ__SOURCE="cf")
    faulted = [r for name in ("listenbrainz", "musicbrainz") for r in sandbox.requests(name) if r.fault]
    assert faulted  # faults did happen
    assert result.outcome == "ok", result
    assert pending_titles(repository) == expected


def test_it_files_an_album_under_the_releases_credit_not_the_tracks(run, repository, sandbox):
    from app.sandbox.catalogue import Recommendation

    lose_yourself_to_dance = "b9d52812-46ce-50fe-8717-49eb75135a7e"  # "Daft Punk feat. Pharrell Williams & Nile Rodgers"
    sandbox.catalogue.listener("rob").recommendations[:] = [Recommendation(lose_yourself_to_dance, 3.5)]
    assert run().outcome == "ok"
    assert pending_titles(repository) == {("Daft Punk", "Random Access Memories")}
    assert not sandbox.requests("musicbrainz")  # from ListenBrainz's bulk metadata alone


def test_it_reads_the_weekly_playlist_without_a_token_check(run, repository, sandbox):
    token = sandbox.credentials["listenbrainz"]["token"]
    result = run(RESONANCE_LISTENBRAINZ__SOURCE="weekly", RESONANCE_LISTENBRAINZ__TOKEN=token)
    assert result.outcome == "ok"
    asked = sandbox.requests("listenbrainz")
    assert not [r for r in asked if r.path == "/1/validate-token"]
    assert not [r for r in asked if r.headers.get("Authorization")]


def test_it_asks_no_types_of_albums_seen_before(run, repository, sandbox):
    run()
    seen = repository.seen_mbids()
    sandbox.clear_requests()
    run()
    asked = [r for r in sandbox.requests("listenbrainz") if r.path == "/1/metadata/release_group/"]
    groups = set(asked[0].query["release_group_mbids"].split(",")) if asked else set()
    assert groups and not groups & seen  # only the singles, whose recordings go to MusicBrainz


def test_it_does_not_ask_musicbrainz_twice_for_the_types_of_an_album(run, repository, sandbox):
    run(RESONANCE_LISTENBRAINZ__SKIP_SECONDARY_TYPES="Live,Soundtrack")
    looked_up = [r.path.rsplit("/", 1)[-1] for r in sandbox.requests("musicbrainz")
                 if r.path.startswith("/ws/2/release-group/")]
    young_team = next(item for item in repository.queue()["pending"] if item["album"] == "Young Team")
    assert young_team["mbid"] not in looked_up  # its recording's lookup named its types already
    assert len(looked_up) == len(set(looked_up))


# --- a household: several members with a ListenBrainz user ------------------------------------------

TEEN_DREAM_RECORDING = "fe6bd5e8-642b-52b8-81cd-22095ff6507b"  # also recommended to rob, further down his list
AGAETIS_RECORDING = "76c0a5d5-8958-5bdb-a8ce-a9f304d80f57"  # recommended to alice only


def add_alice(sandbox):
    sandbox.catalogue.add_listener({"user_name": "alice", "token": "alice-token", "recommendations": [
        {"recording_mbid": TEEN_DREAM_RECORDING, "score": 4.0},
        {"recording_mbid": AGAETIS_RECORDING, "score": 3.0},
    ]})


HOUSEHOLD = '[{"name": "Rob", "role": "admin", "listenbrainz_user": "rob"}, {"name": "Alice", "listenbrainz_user": "alice"}]'


def test_it_fetches_for_every_member_and_makes_one_item_for_both(run, repository, sandbox, tmp_path, lb_env):
    add_alice(sandbox)
    result = run(RESONANCE_HOUSEHOLD__MEMBERS=HOUSEHOLD)
    assert result.outcome == "ok", result
    pending = repository.queue()["pending"]
    teen_dream = [item for item in pending if item["album"] == "Teen Dream"]
    assert len(teen_dream) == 1 and teen_dream[0]["for_members"] == ["Rob", "Alice"]
    agaetis = next(item for item in pending if item["album"] == "Ágætis byrjun")
    assert agaetis["for_members"] == ["Alice"]
    assert all(item["for_members"] in (["Rob"], ["Alice"], ["Rob", "Alice"]) for item in pending)
    # one recommendations request per member, the bulk metadata once for both
    asked = [r.path for r in sandbox.requests("listenbrainz")]
    assert sorted(p for p in asked if "/cf/recommendation/" in p) == [
        "/1/cf/recommendation/user/alice/recording", "/1/cf/recommendation/user/rob/recording"]
    assert len([p for p in asked if p.startswith("/1/metadata/recording")]) == 1

    # ranked higher for being wanted twice: Rob alone gives Teen Dream a lower score
    lb_env.setenv("RESONANCE_HOUSEHOLD__MEMBERS", '[{"name": "Rob", "listenbrainz_user": "rob"}]')
    alone = Repository(tmp_path / "rob-alone")
    assert run_once(JobContext("lb-fetch", load_settings(), alone)).outcome == "ok"
    rob_alone = next(item for item in alone.queue()["pending"] if item["album"] == "Teen Dream")
    assert rob_alone["for_members"] == ["Rob"] and rob_alone["score"] < teen_dream[0]["score"]


def test_it_keeps_one_members_recommendations_when_anothers_fail(run, repository, sandbox):
    add_alice(sandbox)
    sandbox.faults("listenbrainz").set(error=400, path="/1/cf/recommendation/user/rob/recording")
    result = run(RESONANCE_HOUSEHOLD__MEMBERS=HOUSEHOLD)
    assert result.outcome == "partial", result
    assert "CF recommendations of Rob" in result.left
    assert {item["album"] for item in repository.queue()["pending"]} == {"Teen Dream", "Ágætis byrjun"}
    assert all(item["for_members"] == ["Alice"] for item in repository.queue()["pending"])


def test_it_adds_a_member_to_an_album_still_pending_from_an_earlier_run(run, repository, sandbox):
    assert run(RESONANCE_HOUSEHOLD__MEMBERS='[{"name": "Rob", "listenbrainz_user": "rob"}]').outcome == "ok"
    before = next(item for item in repository.queue()["pending"] if item["album"] == "Teen Dream")
    count = len(repository.queue()["pending"])
    add_alice(sandbox)
    result = run(RESONANCE_HOUSEHOLD__MEMBERS=HOUSEHOLD)
    assert result.outcome == "ok", result
    after = [item for item in repository.queue()["pending"] if item["album"] == "Teen Dream"]
    assert len(after) == 1 and after[0]["for_members"] == ["Rob", "Alice"]
    assert after[0]["score"] > before["score"]
    assert len(repository.queue()["pending"]) == count + 1  # Ágætis byrjun, for Alice
    assert "1 pending album now for more members" in result.summary
