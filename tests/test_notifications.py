"""Notifications delivered for real: Apprise sends to a receiver on 127.0.0.1 started by each test.

The runner sends what a run noticed once the run ends, so each test runs a job
through ``JobRunner.run`` with a small pipeline that does what the real one does
at the hook (publish suggestions, meet a 401), then reads what arrived.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.clients.http import NO_RETRY, HttpClient, UpstreamError
from app.config import load_settings
from app.notifications import delivery
from app.pipelines import RunResult
from app.pipelines.discovery import Suggestion, publish
from app.repository import NOTIFICATIONS
from app.sandbox.notify_receiver import NotificationReceiver
from jobs.runner import JobRunner

TOPIC = "household-4f9c2a"


@pytest.fixture
def receiver():
    with NotificationReceiver() as running:
        yield running


@pytest.fixture
def household(receiver, monkeypatch):
    """The household's notifications go to the receiver's ntfy topic; links name resonance.example."""
    monkeypatch.setenv("RESONANCE_NOTIFICATIONS__URLS", receiver.ntfy_url(TOPIC))
    monkeypatch.setenv("RESONANCE_NOTIFICATIONS__BASE_URL", "https://resonance.example")
    return receiver


def suggestions(count: int, prefix: str = "Album") -> list[Suggestion]:
    return [Suggestion(f"Artist {n}", f"{prefix} {n}", f"00000000-0000-4000-8000-{n:012d}", source="listenbrainz")
            for n in range(count)]


def publishing(count: int, batches: int = 1):
    """A run that publishes ``count`` suggestions in ``batches`` calls, as catalog-discovery does."""
    def run_once(ctx):
        found = suggestions(count)
        size = max(1, -(-count // batches))
        for start in range(0, count, size):
            publish(ctx, found[start:start + size])
        return RunResult(f"{count} published")

    return run_once


def failing(ctx):
    return RunResult("nothing fetched", error="listenbrainz: GET /1/cf/recommendation failed with HTTP 503")


def test_it_sends_one_digest_for_a_run_of_many_suggestions(household, repository):
    result = JobRunner("catalog-discovery", repository, run_once=publishing(12, batches=3)).run()

    assert result.outcome == "ok"
    messages = household.messages(TOPIC)
    assert len(messages) == 1  # three publish calls, one run: one message
    assert messages[0]["title"] == "12 new suggestions waiting"
    body = messages[0]["message"]
    assert "Artist 0 – Album 0" in body and "Artist 7 – Album 7" in body
    assert "Artist 8 – Album 8" not in body and "…and 4 more" in body
    assert "Review them: https://resonance.example/" in body


def test_it_sends_nothing_for_a_run_that_found_nothing_new(household, repository):
    JobRunner("lb-fetch", repository, run_once=publishing(3)).run()
    JobRunner("lb-fetch", repository, run_once=publishing(3)).run()  # the same three: seen before

    assert [m["title"] for m in household.messages(TOPIC)] == ["3 new suggestions waiting"]


def test_it_leaves_out_an_event_switched_off(household, repository, monkeypatch):
    monkeypatch.setenv("RESONANCE_NOTIFICATIONS__EVENTS", "album_ready,job_failing")
    JobRunner("lb-fetch", repository, run_once=publishing(3)).run()

    assert household.messages() == []
    assert repository.pending_count() == 3


def test_it_holds_messages_through_the_quiet_hours_and_sends_them_after(household, repository, monkeypatch,
                                                                        time_zone):
    time_zone("Europe/Berlin")
    monkeypatch.setenv("RESONANCE_NOTIFICATIONS__QUIET_HOURS", "22:00-07:00")
    settings = load_settings()
    night = datetime(2026, 12, 7, 23, 30, tzinfo=timezone(timedelta(hours=1)))  # 23:30 in Berlin
    message = {"id": "m1", "event": "album_ready", "target": "household", "title": "2 albums downloaded",
               "body": "Artist – Album"}

    assert delivery.deliver(repository, settings, [message], now=night) == []
    assert household.messages() == []
    assert [m["title"] for m in repository.held_notifications()] == ["2 albums downloaded"]
    # Still quiet at 06:59 Berlin time (05:59 UTC): nothing is released.
    assert delivery.release_held(repository, load_settings, now=datetime(2026, 12, 8, 5, 59, tzinfo=timezone.utc)) == []
    assert household.messages() == []

    sent = delivery.release_held(repository, load_settings, now=datetime(2026, 12, 8, 6, 0, tzinfo=timezone.utc))

    assert [o.error for o in sent] == [None]
    assert [m["title"] for m in household.messages(TOPIC)] == ["2 albums downloaded"]
    assert repository.held_notifications() == []
    delivery.release_held(repository, load_settings, now=datetime(2026, 12, 8, 6, 1, tzinfo=timezone.utc))
    assert len(household.messages(TOPIC)) == 1  # released once


def test_it_holds_what_a_run_noticed_in_quiet_hours_in_the_data_dir(household, repository, monkeypatch, time_zone):
    time_zone("UTC")
    now = datetime.now(timezone.utc)
    start = (now - timedelta(hours=1)).strftime("%H:%M")
    end = (now + timedelta(hours=1)).strftime("%H:%M")
    monkeypatch.setenv("RESONANCE_NOTIFICATIONS__QUIET_HOURS", f"{start}-{end}")

    JobRunner("lb-fetch", repository, run_once=publishing(2)).run()

    assert household.messages() == []
    assert [m["title"] for m in repository.held_notifications()] == ["2 new suggestions waiting"]
    assert repository.store.path(NOTIFICATIONS).exists()


def test_a_failed_delivery_is_logged_and_recorded_and_the_job_still_succeeds(household, repository):
    household.refuse_with(500)

    result = JobRunner("lb-fetch", repository, run_once=publishing(2)).run()

    assert result.outcome == "ok"
    assert repository.job_statuses()["lb-fetch"]["last_run"]["outcome"] == "ok"
    assert repository.pending_count() == 2
    failure = delivery.last_failure(repository)
    assert failure["title"] == "2 new suggestions waiting"
    assert failure["url"] == "ntfy://127.0.0.1:%d/***" % int(household.url.rsplit(":", 1)[1])
    assert "error=50000" in failure["error"] and TOPIC not in failure["error"]
    assert repository.notification_state()["sending"] == []


def test_a_delivery_that_fails_is_masked_in_the_job_log(household, repository):
    household.refuse_with(403)
    runner = JobRunner("lb-fetch", repository, run_once=publishing(1))
    with runner.keeping_log(runner.load_settings()):
        runner.run()

    lines = [line["message"] for line in repository.job_log("lb-fetch")]
    assert any("failed" in line and "ntfy://127.0.0.1" in line for line in lines)
    assert not any(TOPIC in line for line in lines)


def test_it_tells_of_a_job_failing_several_runs_in_a_row_once(household, repository, monkeypatch):
    monkeypatch.setenv("RESONANCE_NOTIFICATIONS__FAILING_RUNS", "3")
    runner = JobRunner("lb-fetch", repository, run_once=failing)
    runner.run()
    runner.run()
    assert household.messages() == []

    runner.run()
    runner.run()  # the fourth in a row: already said

    messages = household.messages(TOPIC)
    assert [m["title"] for m in messages] == ["lb-fetch failed 3 runs in a row"]
    assert "HTTP 503" in messages[0]["message"] and "https://resonance.example/jobs" in messages[0]["message"]
    assert repository.job_statuses()["lb-fetch"]["failed_in_a_row"] == 4


def test_a_run_that_works_starts_the_count_of_failures_again(household, repository, monkeypatch):
    monkeypatch.setenv("RESONANCE_NOTIFICATIONS__FAILING_RUNS", "2")
    JobRunner("lb-fetch", repository, run_once=failing).run()
    JobRunner("lb-fetch", repository, run_once=publishing(0)).run()
    JobRunner("lb-fetch", repository, run_once=failing).run()

    assert household.messages() == []
    assert repository.job_statuses()["lb-fetch"]["failed_in_a_row"] == 1


def test_it_tells_once_a_day_that_a_service_rejects_the_credentials(household, repository):
    with NotificationReceiver() as upstream:
        upstream.refuse_with(401)

        def meets_a_401(ctx):
            client = HttpClient("slskd", retry=NO_RETRY, secrets=["k3y-of-slskd"])
            try:
                client.request("POST", f"{upstream.url}/api/v0/searches")
            except UpstreamError as exc:
                return RunResult("not searched", error=str(exc))
            return RunResult("searched")

        JobRunner("slskd-downloader", repository, run_once=meets_a_401).run()
        JobRunner("slskd-downloader", repository, run_once=meets_a_401).run()

    messages = household.messages(TOPIC)
    assert [m["title"] for m in messages] == ["slskd rejected Resonance's credentials"]
    assert "HTTP 401" in messages[0]["message"]
    assert "https://resonance.example/settings" in messages[0]["message"]


def test_a_message_whose_sender_stopped_is_recorded_and_never_sent_again(household, repository):
    settings = load_settings()
    long_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    message = {"id": "m1", "event": "album_ready", "target": "household", "title": "1 album downloaded",
               "body": "Artist – Album"}
    repository.claim_notifications([message], long_ago, delivery.REPEAT_AFTER)  # then the process was killed

    delivery.deliver(repository, settings, [])

    assert household.messages() == []
    record = repository.notification_deliveries()[-1]
    assert record["title"] == "1 album downloaded" and not record["ok"]
    assert "may have arrived" in record["error"]
    assert repository.notification_state()["sending"] == []


def test_a_damaged_notifications_file_is_moved_aside_and_delivery_goes_on(household, repository, data_dir):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "notifications.json").write_text('{"held": [{"id": 3}]}')

    JobRunner("lb-fetch", repository, run_once=publishing(1)).run()

    assert [m["title"] for m in household.messages(TOPIC)] == ["1 new suggestion waiting"]
    assert list(data_dir.glob("notifications.json.corrupt-*"))


def test_it_speaks_json_webhooks_too(receiver, repository, monkeypatch):
    monkeypatch.setenv("RESONANCE_NOTIFICATIONS__URLS", receiver.json_url("hooks/Zq8xTOKEN42"))
    JobRunner("lb-fetch", repository, run_once=publishing(1)).run()

    [message] = receiver.messages()
    assert message["path"] == "/hooks/Zq8xTOKEN42"
    assert message["title"] == "1 new suggestion waiting"
    assert "Artist 0 – Album 0" in message["message"]
    assert "Review them" not in message["message"]  # no notifications.base_url: no link


def test_an_unknown_scheme_is_a_failed_delivery_not_a_crash(repository, monkeypatch):
    monkeypatch.setenv("RESONANCE_NOTIFICATIONS__URLS", "nosuchservice://somewhere.example/abcdefgh")
    result = JobRunner("lb-fetch", repository, run_once=publishing(1)).run()

    assert result.outcome == "ok"
    assert "does not know this URL" in delivery.last_failure(repository)["error"]


def test_no_url_no_message_and_no_file(repository, data_dir):
    JobRunner("lb-fetch", repository, run_once=publishing(2)).run()
    assert not (data_dir / "notifications.json").exists()


@pytest.mark.parametrize("url, shown", [
    ("ntfy://127.0.0.1:8090/household-4f9c2a", "ntfy://127.0.0.1:8090/***"),
    ("ntfys://ntfy.example.com/topic-8c1d?priority=high&token=tk_abcdef",
     "ntfys://ntfy.example.com/***?priority=high&token=***"),
    ("mailtos://bob:app-password-42@example.com", "mailtos://bob:***@example.com"),
    ("tgram://123456789:ABCdefGHIjkl/987654", "tgram://***/***"),
    ("discord://112233445566/webhook-token-xyz", "discord://***/***"),
    ("pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@azGDORePK8gMaC0QOYAMyEEuzJnyUi", "pover://***@***"),
    ("json://hooks.example/resonance/TOKEN123", "json://hooks.example/***"),
    ("not a url at all", "***"),
])
def test_it_masks_the_secrets_of_every_kind_of_apprise_url(url, shown):
    from app.masking import mask_notification_url, mask_notification_urls_in

    assert mask_notification_url(url) == shown
    token = url.rsplit("/", 1)[-1].split("?")[0]  # what a service's error may quote on its own
    masked = mask_notification_urls_in(f"could not reach {url} (token {token})", [url])
    assert url not in masked and token not in masked


def test_the_settings_mask_a_notification_url_s_parts_in_any_message(monkeypatch):
    from app.masking import mask_secrets

    monkeypatch.setenv("RESONANCE_NOTIFICATIONS__URLS",
                       "gotify://gotify.example/AbCdEf123456,mailto://me:pw-9876543@mail.example")
    secrets = load_settings().secret_values()

    assert mask_secrets("gotify said: bad token AbCdEf123456", secrets) == "gotify said: bad token ***"
    assert mask_secrets("login pw-9876543 refused", secrets) == "login *** refused"
    assert mask_secrets("gotify.example answered", secrets) == "gotify.example answered"  # where it goes stays


def test_a_waiting_runner_sends_what_was_held_once_the_quiet_hours_are_over(household, repository):
    import threading

    from conditions import wait_for

    message = {"id": "m1", "event": "album_ready", "target": "household", "title": "1 album downloaded",
               "body": "Artist – Album"}
    repository.hold_notifications([message], datetime.now(timezone.utc), delivery.REPEAT_AFTER)  # held last night
    runner = JobRunner("lb-fetch", repository, run_once=publishing(0), poll_seconds=0.05)
    serving = threading.Thread(target=runner.serve, kwargs={"run_on_start": False})
    serving.start()
    try:
        wait_for(lambda: household.messages(TOPIC), what="the held message")
    finally:
        runner.stop_event.set()
        serving.join(timeout=10)

    assert [m["title"] for m in household.messages(TOPIC)] == ["1 album downloaded"]
    assert repository.held_notifications() == []


def test_a_download_is_told_of_while_the_import_is_off_and_an_album_in_the_library_always(household, repository):
    from app import notifications

    def completing(ctx):
        notifications.album_ready(ctx, "Portishead - Dummy")  # as the transfers know it: the wishlist key
        ctx.settings.values["library.mode"] = "import"  # the import stage will say when it is in the library
        notifications.album_ready(ctx, "Air - Moon Safari")
        notifications.album_ready(ctx, {"artist": "Björk", "title": "Homogenic"}, imported=True)
        return RunResult("done")

    JobRunner("slskd-downloader", repository, run_once=completing).run()

    [message] = household.messages(TOPIC)
    assert message["title"] == "2 albums downloaded"
    assert message["message"].splitlines()[:2] == ["Portishead - Dummy", "Björk – Homogenic"]
    assert "Moon Safari" not in message["message"]
