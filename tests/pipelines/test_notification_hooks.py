"""The real pipelines against the sandbox, run by the job runner: what they find reaches a real
notification receiver as one digest per run, and a service rejecting the key is told once."""

from __future__ import annotations

import pytest

from app.sandbox import Sandbox, SandboxSettings
from app.sandbox.notify_receiver import NotificationReceiver
from jobs.runner import JobRunner

TOPIC = "household-pipelines-9e1f"


@pytest.fixture
def sandbox():
    with Sandbox(settings=SandboxSettings.fast()) as sb:
        yield sb


@pytest.fixture
def receiver(monkeypatch):
    with NotificationReceiver() as running:
        monkeypatch.setenv("RESONANCE_NOTIFICATIONS__URLS", running.ntfy_url(TOPIC))
        yield running


@pytest.fixture
def world(sandbox, receiver, monkeypatch):
    monkeypatch.setattr("app.clients.lastfm.MIN_INTERVAL", 0.0)
    credentials = sandbox.credentials
    values = {
        "listenbrainz__base_url": sandbox.urls["listenbrainz"],
        "listenbrainz__username": credentials["listenbrainz"]["user"],
        "musicbrainz__base_url": sandbox.urls["musicbrainz"], "musicbrainz__rate_limit": 100,
        "coverart__base_url": sandbox.urls["coverart"],
        "subsonic__base_url": sandbox.urls["subsonic"], "subsonic__username": credentials["subsonic"]["username"],
        "subsonic__password": credentials["subsonic"]["password"],
        "lastfm__base_url": sandbox.urls["lastfm"], "lastfm__api_key": credentials["lastfm"]["api_key"],
        "catalog__max_artists_per_run": 3, "general__contact": "tests@example.invalid",
    }
    for name, value in values.items():
        monkeypatch.setenv(f"RESONANCE_{name.upper()}", str(value))
    return sandbox


def test_lb_fetch_sends_one_digest_of_what_it_put_in_the_queue(world, receiver, repository):
    result = JobRunner("lb-fetch", repository).run()

    pending = repository.pending_count()
    assert result.outcome == "ok" and pending > 1
    [message] = receiver.messages(TOPIC)
    assert message["title"] == f"{pending} new suggestions waiting"


def test_catalog_discovery_sends_one_digest_for_all_its_batches(world, receiver, repository):
    result = JobRunner("catalog-discovery", repository).run()

    pending = repository.pending_count()
    assert result.outcome == "ok" and pending > 1
    assert [m["title"] for m in receiver.messages(TOPIC)] == [f"{pending} new suggestions waiting"]


def test_a_rejected_last_fm_key_is_told_once(world, receiver, repository, monkeypatch):
    monkeypatch.setenv("RESONANCE_LASTFM__API_KEY", "0123456789abcdef0123456789abcdef")  # not the sandbox's key

    JobRunner("catalog-discovery", repository).run()
    JobRunner("catalog-discovery", repository).run()

    titles = [m["title"] for m in receiver.messages(TOPIC)]
    assert titles == ["Last.fm rejected Resonance's credentials"]
    assert "0123456789abcdef0123456789abcdef" not in receiver.messages(TOPIC)[0]["message"]
