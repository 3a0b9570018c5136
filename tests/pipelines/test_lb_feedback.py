"""Recommendation feedback: decisions on ListenBrainz suggestions queue ratings; lb-fetch sends them to the sandbox."""

from __future__ import annotations

import json

import pytest

from app.clients.http import RetryPolicy
from app.clients.listenbrainz import ListenBrainzClient
from app.config import load_settings
from app.pipelines import JobContext, feedback
from app.pipelines.lb_fetch import run_once
from app.sandbox import Sandbox, SandboxSettings

FEEDBACK_PATH = "/1/recommendation/feedback/submit"


@pytest.fixture
def sandbox():
    with Sandbox(settings=SandboxSettings.fast()) as sb:
        yield sb


@pytest.fixture
def env(sandbox, monkeypatch):
    values = {
        "LISTENBRAINZ__BASE_URL": sandbox.urls["listenbrainz"],
        "LISTENBRAINZ__USERNAME": sandbox.credentials["listenbrainz"]["user"],
        "LISTENBRAINZ__TOKEN": sandbox.credentials["listenbrainz"]["token"],
        "LISTENBRAINZ__SEND_FEEDBACK": "true",
        "MUSICBRAINZ__BASE_URL": sandbox.urls["musicbrainz"],
        "MUSICBRAINZ__RATE_LIMIT": "50",
        "COVERART__BASE_URL": sandbox.urls["coverart"],
    }
    for name, value in values.items():
        monkeypatch.setenv(f"RESONANCE_{name}", value)
    return monkeypatch


def context(repository):
    return JobContext("lb-fetch", load_settings(), repository)


def feedback_posts(sandbox):
    return [r for r in sandbox.requests("listenbrainz") if r.path == FEEDBACK_PATH]


@pytest.fixture
def decided(repository, env):
    """A first lb-fetch run, then three decisions with feedback on: (approved, rejected as not my taste,
    rejected as already had)."""
    assert run_once(context(repository)).outcome == "ok"
    pending = [item for item in repository.queue()["pending"] if item["source"] == "listenbrainz"]
    assert len(pending) >= 3 and all(item.get("source_recording") for item in pending)
    liked, disliked, owned = pending[:3]
    repository.approve([liked["mbid"]], feedback=True)
    repository.reject([disliked["mbid"]], reason="not_my_taste", feedback=True)
    repository.reject([owned["mbid"]], reason="already_have", feedback=True)
    return liked, disliked, owned


def test_the_next_run_sends_each_rating_once_for_the_recording_behind_the_suggestion(repository, sandbox, decided):
    liked, disliked, _ = decided
    sandbox.clear_requests()

    assert run_once(context(repository)).outcome == "ok"

    assert sandbox.state("listenbrainz").feedback == {"rob": {
        liked["source_recording"]: "like", disliked["source_recording"]: "dislike"}}  # "already have it": nothing
    posts = feedback_posts(sandbox)
    assert [r.headers.get("Authorization") for r in posts] == [f"Token {sandbox.credentials['listenbrainz']['token']}"] * 2
    assert repository.unsent_feedback() == []
    assert {(e["recording_mbid"], e["rating"]) for e in repository.sent_feedback()} == {
        (liked["source_recording"], "like"), (disliked["source_recording"], "dislike")}

    run_once(context(repository))
    assert len(feedback_posts(sandbox)) == 2  # never sent twice


def test_nothing_is_sent_while_the_setting_is_off(repository, sandbox, decided, env):
    env.setenv("RESONANCE_LISTENBRAINZ__SEND_FEEDBACK", "false")
    run_once(context(repository))
    assert feedback_posts(sandbox) == [] and len(repository.unsent_feedback()) == 2


def test_a_failing_listenbrainz_leaves_the_ratings_queued_for_the_next_run(repository, sandbox, decided):
    sandbox.faults("listenbrainz").set(error=503, path=FEEDBACK_PATH)
    once = ListenBrainzClient(sandbox.urls["listenbrainz"], retry=RetryPolicy(max_attempts=2, base_delay=0.01))

    report = feedback.send_queued(context(repository), lb=once)

    assert report.sent == 0 and report.left == 2
    assert len(feedback_posts(sandbox)) == 2  # one request retried, then the rest left for the next run
    assert len(repository.unsent_feedback()) == 2 and sandbox.state("listenbrainz").feedback == {}

    sandbox.faults("listenbrainz").clear()
    assert feedback.send_queued(context(repository), lb=once).sent == 2
    assert len(sandbox.state("listenbrainz").feedback["rob"]) == 2


def test_a_lost_reply_is_sent_again_and_listenbrainz_keeps_one_rating(repository, sandbox, decided):
    sandbox.faults("listenbrainz").set(reply_lost=True, path=FEEDBACK_PATH, count=1)
    client = ListenBrainzClient(sandbox.urls["listenbrainz"], retry=RetryPolicy(max_attempts=3, base_delay=0.01))

    report = feedback.send_queued(context(repository), lb=client)

    assert report.sent == 2 and repository.unsent_feedback() == []
    assert len(feedback_posts(sandbox)) == 3  # the first one twice: its reply was lost
    assert sorted(sandbox.state("listenbrainz").feedback["rob"].values()) == ["dislike", "like"]


def test_a_refused_token_leaves_the_ratings_queued_until_it_is_fixed(repository, sandbox, decided, env):
    env.setenv("RESONANCE_LISTENBRAINZ__TOKEN", "not-a-token")
    report = feedback.send_queued(context(repository))
    assert report.sent == 0 and report.left == 2 and "token was refused" in report.summary()
    assert len(feedback_posts(sandbox)) == 1  # not asked again with the same token this run
    env.setenv("RESONANCE_LISTENBRAINZ__TOKEN", sandbox.credentials["listenbrainz"]["token"])
    assert feedback.send_queued(context(repository)).sent == 2


def test_each_members_decisions_go_with_their_own_token_else_the_global_one(repository, sandbox, decided, env):
    mia_token = sandbox.catalogue.listener("mia").token
    env.setenv("RESONANCE_HOUSEHOLD__MEMBERS", json.dumps([
        {"name": "Rob", "role": "admin", "listenbrainz_user": "rob"},
        {"name": "Mia", "listenbrainz_user": "mia", "listenbrainz_token": mia_token}]))
    for entry in repository.unsent_feedback():  # the fixture decided without a member: put them back
        repository.mark_feedback(entry, failed="test")
    pending = [item for item in repository.queue()["pending"] if item["source"] == "listenbrainz"]
    by_mia, by_rob = pending[:2]
    repository.approve([by_mia["mbid"]], decided_by="Mia", feedback=True)
    repository.reject([by_rob["mbid"]], decided_by="Rob", feedback=True)
    sandbox.clear_requests()

    assert feedback.send_queued(context(repository)).sent == 2

    given = sandbox.state("listenbrainz").feedback
    assert given["mia"] == {by_mia["source_recording"]: "like"}
    assert given["rob"] == {by_rob["source_recording"]: "bad_recommendation"}
    assert sorted(r.headers["Authorization"] for r in feedback_posts(sandbox)) == sorted(
        [f"Token {mia_token}", f"Token {sandbox.credentials['listenbrainz']['token']}"])
