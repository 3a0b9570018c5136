"""Settings' "Send a test notification" in a phone browser: answered in place, then listed on the Jobs page."""

import pytest
from playwright.sync_api import expect

from app.sandbox.notify_receiver import NotificationReceiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver(monkeypatch):
    with NotificationReceiver() as running:
        monkeypatch.setenv("RESONANCE_NOTIFICATIONS__URLS", running.ntfy_url("household-e2e-3c4d"))
        yield running


def test_it_sends_a_test_notification_and_shows_it_went(receiver, watched_page, live_server):
    page = watched_page
    page.goto(f"{live_server.url}/settings")
    target = page.locator("#notify-target-household")
    expect(target).to_contain_text("ntfy://127.0.0.1:")
    target.get_by_role("button", name="Send a test notification").click()

    expect(page.locator("#notify-test-household")).to_contain_text("✓ Sent to ntfy://127.0.0.1:")
    assert [m["title"] for m in receiver.messages("household-e2e-3c4d")] == ["Resonance test notification"]
    expect(page.get_by_role("button", name="Save settings")).to_be_visible()  # answered in place: the form stays

    page.goto(f"{live_server.url}/jobs")
    expect(page.locator("#notifications")).to_contain_text("“Resonance test notification” to ntfy://127.0.0.1:")
    assert "household-e2e-3c4d" not in page.content()
    assert page.console_errors == [] and page.outside_requests == []
