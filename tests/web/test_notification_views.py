"""Settings' "Send a test notification" and the Jobs page's Notifications box, against a real receiver."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from websupport import parse

from app.notifications import delivery
from app.sandbox.notify_receiver import NotificationReceiver

TOPIC = "household-7b1e9d"
TOKEN = "Zq8xWEBHOOKtoken42"


@pytest.fixture
def receiver(monkeypatch):
    with NotificationReceiver() as running:
        monkeypatch.setenv("RESONANCE_NOTIFICATIONS__URLS",
                           f"{running.ntfy_url(TOPIC)},{running.json_url('hooks/' + TOKEN)}")
        yield running


def port_of(receiver) -> int:
    return int(receiver.url.rsplit(":", 1)[1])


def test_it_shows_where_notifications_go_with_the_secrets_masked(receiver, client):
    page = client.get("/settings").data.decode()

    tree = parse(page)
    target = tree.one("#notify-target-household")
    assert f"ntfy://127.0.0.1:{port_of(receiver)}/***" in target.text
    assert f"json://127.0.0.1:{port_of(receiver)}/***" in target.text
    assert "Send a test notification" in target.text
    assert TOPIC not in page and TOKEN not in page


def test_the_settings_api_shows_the_urls_only_as_set(receiver, client):
    shown = client.get("/api/v1/settings").get_json()
    text = str(shown)
    assert TOPIC not in text and TOKEN not in text
    assert shown["settings"]["notifications"]["urls"] == "••••••••"


def test_the_test_button_sends_to_each_url_and_answers_in_place(receiver, client):
    response = client.form("/settings/notifications/test/household", htmx=True)

    assert response.status_code == 200
    answer = response.data.decode()
    assert f"✓ Sent to <code>ntfy://127.0.0.1:{port_of(receiver)}/***</code>" in answer
    assert "<form" not in answer  # the fragment only
    titles = {(m["topic"], m["title"]) for m in receiver.messages()}
    assert titles == {(TOPIC, "Resonance test notification"), (f"hooks/{TOKEN}", "Resonance test notification")}


def test_the_test_button_says_what_failed(receiver, client):
    receiver.refuse_with(401)

    answer = client.form("/settings/notifications/test/household", htmx=True).data.decode()

    assert "✗" in answer and "error=40100" in answer and "error=401" in answer
    assert TOPIC not in answer and TOKEN not in answer


def test_the_test_button_works_without_javascript(receiver, client):
    response = client.form("/settings/notifications/test/household")

    assert response.status_code == 200
    result = parse(response.data).one("#notify-test-household")
    assert "Sent to" in result.text
    assert len(receiver.messages()) == 2


def test_there_is_no_test_for_an_unknown_target(receiver, client):
    assert client.form("/settings/notifications/test/member:Nobody", htmx=True).status_code == 404


def test_the_jobs_page_shows_the_last_deliveries_and_the_last_failure(receiver, client, repository):
    from app.config import load_settings

    settings = load_settings()
    message = {"id": "m1", "event": "album_ready", "target": "household", "title": "3 albums downloaded",
               "body": "…"}
    delivery.deliver(repository, settings, [message], now=datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc))
    receiver.refuse_with(500)
    message = {**message, "id": "m2", "title": "1 album given up"}
    delivery.deliver(repository, settings, [message], now=datetime(2026, 12, 7, 13, 0, tzinfo=timezone.utc))

    page = client.get("/jobs").data.decode()
    box = parse(page).one("#notifications")

    assert f"Notifications: last delivery failed to json://127.0.0.1:{port_of(receiver)}/*** at " in box.text
    assert "error=500" in box.text
    assert "“3 albums downloaded” to" in box.text and "“1 album given up” to" in box.text
    assert TOPIC not in page and TOKEN not in page


def test_the_jobs_page_says_when_nothing_was_sent(client):
    box = parse(client.get("/jobs").data).one("#notifications")
    assert "No notification sent yet" in box.text


def test_a_url_saved_after_the_start_is_masked_in_the_log_too(client, caplog):
    with NotificationReceiver() as receiver:
        receiver.refuse_with(500)
        topic = "saved-later-6e2f0b"
        saved = client.form("/settings", {"notifications.urls": receiver.ntfy_url(topic)})
        assert saved.status_code == 303

        answer = client.form("/settings/notifications/test/household", htmx=True).text

    assert "✗" in answer and topic not in answer
    assert "Failed to send ntfy notification" in caplog.text and topic not in caplog.text


def test_a_failure_made_good_by_a_later_delivery_is_not_news(receiver, client, repository):
    from app.config import load_settings

    settings = load_settings()
    message = {"id": "m1", "event": "album_ready", "target": "household", "title": "1 album downloaded", "body": "…"}
    receiver.refuse_with(503)
    delivery.deliver(repository, settings, [message], now=datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc))
    receiver.refuse_with(None)
    delivery.deliver(repository, settings, [{**message, "id": "m2"}],
                     now=datetime(2026, 12, 7, 13, 0, tzinfo=timezone.utc))

    box = parse(client.get("/jobs").data).one("#notifications")
    assert "last delivery failed" not in box.text
    assert "✗ “1 album downloaded”" in box.text and "✓ “1 album downloaded”" in box.text  # both listed
