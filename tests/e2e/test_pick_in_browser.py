"""'Download this one' in a phone browser: a folder chosen by hand on the Downloads page is downloaded."""

import re

import pytest
from downloader_support import fresh_governor, sandbox, slskd_context, wish  # noqa: F401
from playwright.sync_api import expect

from app.pipelines.downloader import run_once

pytestmark = pytest.mark.e2e

KEY = "Slowdive - Souvlaki"
JOB = "slskd-downloader"
PICK = re.compile(r"^Download this one")


@pytest.fixture
def stalled_download(sandbox, slskd_context, repository, monkeypatch):
    """Souvlaki downloading from stalled_sam (whose transfers never move): the page's app points at the sandbox."""
    monkeypatch.setenv("RESONANCE_SLSKD__BASE_URL", sandbox.urls["slskd"])
    monkeypatch.setenv("RESONANCE_SLSKD__API_KEY", sandbox.credentials["slskd"]["api_key"])
    sandbox.slskd_state.set_behaviour("mp3hoarder", "normal")  # not "slow": the test sees it finish
    sandbox.settings.update(slskd_queue_seconds=0.2, slskd_transfer_seconds=0.2)
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = slskd_context(stall_timeout=3600)
    run_once(ctx)
    record = repository.download_record(KEY)
    assert record.active and record.downloads[-1]["user"] == "stalled_sam"
    return ctx


def candidate(page, section: str, user: str):
    album = page.locator(f"#downloads-{section} li.dl", has_text="Souvlaki")
    album.locator("summary", has_text="Candidates considered").click()
    return album.locator("li.candidate", has_text=user)


def test_it_downloads_the_folder_picked_on_the_page(watched_page, live_server, stalled_download, repository):
    page = watched_page
    page.goto(f"{live_server.url}/downloads")
    chosen = candidate(page, "active", "mp3hoarder")
    button = chosen.get_by_role("button", name=PICK)
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    button.click()  # confirms cancelling stalled_sam's download (watched_page accepts the dialog)

    expect(page.locator("#downloads .notice.ok")).to_contain_text("the folder from mp3hoarder is queued")
    waiting = page.locator("#downloads-waiting li.dl", has_text="Souvlaki")
    expect(waiting.locator(".dl-picked")).to_contain_text("Chosen by hand: mp3hoarder")
    assert JOB in repository.run_requests()

    run_once(stalled_download)  # the run the page asked for, as the runner would take it
    completed = page.locator("#downloads-completed")
    expect(completed.locator("li", has_text="Souvlaki")).to_contain_text("mp3hoarder", timeout=40000)
    record = repository.download_record(KEY)
    assert [(d["user"], d["state"]) for d in record.downloads] == [("stalled_sam", "cancelled"),
                                                                     ("mp3hoarder", "completed")]
    assert page.console_errors == [] and page.outside_requests == []


def test_it_picks_a_folder_without_javascript(browser, browser_context_args, live_server, stalled_download,
                                              repository):
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/downloads")
        candidate(page, "active", "mp3hoarder").get_by_role("button", name=PICK).click()
        expect(page.locator(".notice.ok")).to_contain_text("the folder from mp3hoarder is queued")
        expect(page).to_have_url(re.compile(r"/downloads\?done="))
        record = repository.download_record(KEY)
        assert (record.state, record.picked["user"]) == ("wanted", "mp3hoarder")
    finally:
        context.close()
