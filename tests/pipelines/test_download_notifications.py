"""slskd-downloader's notifications, run by the job runner against the sandbox: an album given up
(with the reason) and albums downloaded reach a real receiver, one message per run."""

from __future__ import annotations

import pytest
import requests
from conditions import wait_for
from downloader_support import fresh_governor, sandbox, wish  # noqa: F401

from app.sandbox.notify_receiver import NotificationReceiver
from jobs.runner import JobRunner

TOPIC = "household-downloads-2b7d"


@pytest.fixture
def receiver(sandbox, monkeypatch):
    with NotificationReceiver() as running:
        for name, value in {"SLSKD__BASE_URL": sandbox.urls["slskd"],
                            "SLSKD__API_KEY": sandbox.credentials["slskd"]["api_key"],
                            "SLSKD__SEARCH_TIMEOUT": "5", "SLSKD__RETRY_DELAY": "1",
                            "MUSICBRAINZ__BASE_URL": sandbox.urls["musicbrainz"], "MUSICBRAINZ__RATE_LIMIT": "100",
                            "NOTIFICATIONS__URLS": running.ntfy_url(TOPIC)}.items():
            monkeypatch.setenv(f"RESONANCE_{name}", value)
        yield running


def test_an_album_given_up_is_told_with_the_reason(receiver, repository, monkeypatch):
    monkeypatch.setenv("RESONANCE_SLSKD__MAX_ATTEMPTS", "1")
    wish(repository, ("Portishead", "Dummy"))

    JobRunner("slskd-downloader", repository).run()

    assert repository.download_record("Portishead - Dummy").state == "failed"
    [message] = receiver.messages(TOPIC)
    assert message["title"] == "1 album given up"
    assert message["message"].startswith("Portishead - Dummy: ")
    assert len(message["message"].splitlines()[0]) > len("Portishead - Dummy: ")  # the reason


def slskd_transfers_done(sandbox) -> bool:
    """Every file the sandbox's slskd was asked for has arrived (what the next check will find)."""
    answer = requests.get(f"{sandbox.urls['slskd']}/api/v0/transfers/downloads",
                          headers={"X-API-Key": sandbox.credentials["slskd"]["api_key"]}, timeout=5).json()
    states = [file["state"] for user in answer for folder in user["directories"] for file in folder["files"]]
    return bool(states) and all(state.startswith("Completed") for state in states)


def test_albums_downloaded_by_one_check_make_one_message(receiver, repository, sandbox):
    albums = [("Múm", "Finally We Are No One"), ("Daft Punk", "Discovery")]
    wish(repository, *albums)
    runner = JobRunner("slskd-downloader", repository)
    runner.run()
    wait_for(lambda: slskd_transfers_done(sandbox), timeout=30, what="the sandbox's transfers")

    runner.check_between_runs()  # what the runner does every 30 s while downloads are followed

    assert [repository.download_record(f"{a} - {t}").state for a, t in albums] == ["completed", "completed"]
    [message] = receiver.messages(TOPIC)
    assert message["title"] == "2 albums downloaded"
    assert sorted(message["message"].splitlines()) == ["Daft Punk - Discovery", "Múm - Finally We Are No One"]
