"""The Downloads page in a phone browser: it follows a real (sandboxed) download by itself, then stops polling."""

import re
import time

import pytest
from downloader_support import fresh_governor, sandbox, slskd_context, wish  # noqa: F401
from playwright.sync_api import expect

from app.pipelines.downloader import run_once

pytestmark = pytest.mark.e2e

POLL_URL = "/downloads/active"


def test_it_follows_a_download_live_and_stops_polling(watched_page, live_server, sandbox, slskd_context, repository,
                                                      monkeypatch):
    page = watched_page
    # The app serving the browser reads its settings per request: these point it at the sandbox's slskd.
    monkeypatch.setenv("RESONANCE_SLSKD__BASE_URL", sandbox.urls["slskd"])
    monkeypatch.setenv("RESONANCE_SLSKD__API_KEY", sandbox.credentials["slskd"]["api_key"])
    # 8 tracks and a cover, one file at a time: about 4 s of transfers, so a 3 s poll sees it half way.
    sandbox.settings.update(slskd_queue_seconds=0.3, slskd_transfer_seconds=0.45)
    wish(repository, ("Sigur Rós", "( )"))
    run_once(slskd_context())
    assert repository.download_record("Sigur Rós - ( )").state == "queued"

    polls: list[float] = []
    page.on("request", lambda request: polls.append(time.monotonic()) if POLL_URL in request.url else None)
    page.goto(f"{live_server.url}/downloads")
    page.evaluate("window.notReloaded = true")
    active = page.locator("#downloads-active")
    expect(active).to_have_attribute("hx-trigger", "every 3s, poll-now")
    album = active.locator("li.dl", has_text="( )")
    expect(album.locator(".meta .dl-user")).to_have_text("nordicfan")
    files = album.locator(".dl-files-done")
    expect(files).to_have_text("0 of 8 files")

    # The page's own poll brings the progress up to date: no runner runs in this test.
    expect(files).to_have_text(re.compile(r"^[1-7] of 8 files$"), timeout=7000)
    assert 0 < float(album.locator("progress").get_attribute("value")) < 100

    # The album finishes: it moves to "Completed" (swapped out of band) and the polling stops.
    completed = page.locator("#downloads-completed")
    expect(completed).to_contain_text("( )", timeout=8000)
    expect(completed).to_contain_text("nordicfan")
    expect(active).to_contain_text("Nothing is downloading right now.")
    expect(active).not_to_have_attribute("hx-trigger", re.compile("every"))
    assert repository.download_record("Sigur Rós - ( )").state == "completed"
    assert len(polls) >= 2
    stopped_at = len(polls)
    page.wait_for_timeout(6500)  # two poll intervals and a half
    assert len(polls) == stopped_at, "the page kept polling after nothing was active"
    assert page.evaluate("window.notReloaded") is True
    assert page.console_errors == [] and page.outside_requests == []


def test_it_shows_an_approved_album_at_once_and_follows_its_search(watched_page, live_server, sandbox, slskd_context,
                                                                   repository, monkeypatch):
    from factories import make_queue_item

    page = watched_page
    monkeypatch.setenv("RESONANCE_SLSKD__BASE_URL", sandbox.urls["slskd"])
    monkeypatch.setenv("RESONANCE_SLSKD__API_KEY", sandbox.credentials["slskd"]["api_key"])
    sandbox.settings.update(slskd_queue_seconds=0.3, slskd_transfer_seconds=2.0)
    repository.add_pending([make_queue_item(artist="Sigur Rós", album="( )")])
    page.goto(live_server.url)
    page.locator("article.card").get_by_role("button", name="Approve").click()
    expect(page.locator("article.card.done")).to_contain_text("Approved Sigur Rós – ( )")

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Downloads").click()
    waiting = page.locator("#downloads-waiting")
    expect(waiting.locator("li.dl", has_text="( )")).to_contain_text("not searched yet")
    active = page.locator("#downloads-active")
    # the approval asked for the downloader's run half a minute later: the page says so and follows closely
    expect(active).to_contain_text("What was just approved is searched in a moment")
    expect(active).to_have_attribute("hx-trigger", "every 3s, poll-now")
    page.evaluate("window.notReloaded = true")

    run_once(slskd_context())  # the downloader's next run: searched and queued in slskd
    expect(active.locator("li.dl", has_text="( )")).to_be_visible(timeout=15_000)
    expect(waiting.locator("li.dl", has_text="( )")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
    assert page.console_errors == [] and page.outside_requests == []
