"""Settings validation, jobs polling and the wishlist in a phone browser."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_it_shows_a_settings_error_next_to_the_field(watched_page, live_server, repository):
    page = watched_page
    page.goto(f"{live_server.url}/settings")
    page.get_by_text("More Web UI and sign-in settings").click()
    page.locator("#f-web-port").fill("eighty")
    page.locator("#f-schedule-lb_fetch").fill("2h")
    page.get_by_role("button", name="Save settings").click()
    error = page.locator("#f-web-port-error")
    expect(error).to_have_text("Not a valid integer.")
    expect(page.locator("#f-web-port")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-web-port")).to_have_value("eighty")
    assert "schedule" not in repository.saved_settings()  # nothing saved

    page.locator("#f-web-port").fill("8081")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("form#settings .notice.ok")).to_contain_text("Saved: Time between ListenBrainz runs, Port.")
    expect(page.locator("form#settings .notice.ok")).to_contain_text("Restart Resonance")
    assert repository.saved_settings()["web"]["port"] == 8081
    assert page.console_errors == [] and page.outside_requests == []


def test_it_polls_a_job_until_the_runner_took_it(watched_page, live_server, repository):
    page = watched_page
    page.goto(f"{live_server.url}/jobs")
    job = page.locator("#job-lb-fetch")
    job.get_by_role("button", name="Run now").click()
    expect(job).to_contain_text("“Run now” asked")
    expect(page.locator("section#jobs")).to_have_attribute("hx-trigger", "every 3s, poll-now")
    repository.take_run_request("lb-fetch")
    repository.update_job_status("lb-fetch", state="idle", runner_started_at="2026-01-01T00:00:00Z",
                                 last_run={"finished_at": "2026-01-01T10:00:00Z", "outcome": "ok",
                                           "summary": "3 albums added to the pending queue", "error": None})
    expect(job).to_contain_text("3 albums added", timeout=8000)
    expect(page.locator("section#jobs")).not_to_have_attribute("hx-trigger", "every 3s, poll-now")
    assert page.console_errors == []


def test_it_adds_and_removes_a_wishlist_entry(watched_page, live_server, repository):
    page = watched_page
    page.goto(f"{live_server.url}/wishlist")
    page.get_by_label("Artist").fill("Justice")
    page.get_by_label("Album or track").fill("Cross")
    page.get_by_role("button", name="Add").click()
    expect(page.locator(".notice.ok")).to_contain_text("Added Justice - Cross")
    row = page.locator("ul.rows li", has_text="Cross")
    expect(row).to_be_visible()
    row.get_by_role("button", name="Remove").click()
    expect(row).to_have_count(0)
    assert repository.wishlist_entries() == []
