"""The queue on a phone: approve and reject with undo, bulk approve, filter, load more, no JS."""

import os
import re
from pathlib import Path

import pytest
from factories import make_queue_item
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def seeded(repository, live_server):
    covers = f"{live_server.sandbox.urls['coverart']}/release-group"
    cover = f"{covers}/415c5e7c-035e-528f-9382-6cb208d26629/front-250"  # the sandbox has art for this one
    no_cover = f"{covers}/7d426565-4dfb-55ad-b309-090aa5d825b5/front-250"  # ...and none for this one (404)
    items = [
        make_queue_item(artist="Justice", album="Cross", year=2007, score=82.5, source="catalog",
                        similar_to=["Daft Punk", "Kavinsky"], added_at="2026-01-09T10:00:00Z", cover_url=cover),
        make_queue_item(artist="Boards of Canada", album="Music Has the Right to Children", year=1998, score=85,
                        source="listenbrainz", similar_to=[], source_track="Roygbiv", added_at="2026-01-08T10:00:00Z",
                        cover_url=no_cover),
        make_queue_item(artist="Air", album="Moon Safari", year=1998, score=77, source="catalog",
                        similar_to=["Daft Punk"], added_at="2026-01-07T10:00:00Z"),
        make_queue_item(artist='<img src=x onerror=alert("xss")>', album="<script>alert('xss')</script>",
                        source="listenbrainz", added_at="2026-01-06T10:00:00Z"),
    ]
    items += [make_queue_item(added_at=f"2026-01-01T10:{n:02d}:00Z") for n in range(56)]
    repository.add_pending(items)
    return items


def card(page, album):
    return page.locator("article.card", has=page.locator("h2.album", has_text=album))


def test_it_approves_with_undo_and_the_notice_leaves(watched_page, live_server, repository, seeded):
    page = watched_page
    page.clock.install()
    page.goto(live_server.url)
    expect(page.locator("#pending-total")).to_have_text("60")
    card(page, "Cross").get_by_role("button", name="Approve").click()
    notice = page.locator("article.card.done")
    expect(notice).to_contain_text("Approved Justice – Cross")
    expect(page.locator("#pending-total")).to_have_text("59")
    assert [e.text for e in repository.wishlist_entries()] == ["Justice - Cross"]

    notice.get_by_role("button", name="Undo").click()
    expect(card(page, "Cross")).to_be_visible()
    expect(page.locator("#pending-total")).to_have_text("60")
    assert repository.wishlist_entries() == [] and repository.find_pending(seeded[0]["mbid"])

    card(page, "Cross").get_by_role("button", name="Approve").click()
    # The countdown starts when htmx has settled the swap; on a busy machine that can come
    # after the notice is visible, so wait for the mark that says it runs.
    expect(page.locator("article.card.done[data-expiring]")).to_be_visible()
    page.clock.fast_forward(8000)
    expect(page.locator("article.card.done")).to_have_count(0)
    assert page.outside_requests == []
    assert page.console_errors == []  # no CSP violation, no script error


def test_it_rejects_with_undo(watched_page, live_server, repository, seeded):
    page = watched_page
    page.goto(live_server.url)
    card(page, "Moon Safari").get_by_role("button", name="Reject").click()
    expect(page.locator("article.card.done")).to_contain_text("Rejected Air – Moon Safari")
    assert seeded[2]["mbid"] in repository.rejected_mbids()
    page.locator("article.card.done").get_by_role("button", name="Undo").click()
    expect(card(page, "Moon Safari")).to_be_visible()
    assert seeded[2]["mbid"] not in repository.rejected_mbids()


def test_a_reject_takes_a_reason_in_one_tap_on_a_phone(watched_page, live_server, repository, seeded):
    page = watched_page
    page.goto(live_server.url)
    card(page, "Moon Safari").get_by_role("button", name="Reject").click()
    notice = page.locator("article.card.done")
    expect(notice).to_contain_text("Rejected Air – Moon Safari")
    assert seeded[2]["mbid"] in repository.rejected_mbids()  # rejected at once, no reason needed
    chip = notice.get_by_role("button", name="wrong version")
    box = chip.bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 360  # on screen, thumb sized
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    chip.click()

    expect(notice).to_contain_text("Rejected Air – Moon Safari: wrong version.")
    expect(notice.get_by_role("button", name="wrong version")).to_have_attribute("aria-pressed", "true")
    assert repository.rejected_page()[0][0]["reason"] == "wrong_version"
    assert page.console_errors == []


def test_it_approves_a_selection_in_bulk(watched_page, live_server, repository, seeded):
    page = watched_page
    page.goto(live_server.url)
    bulk_approve = page.locator("#bulk").get_by_role("button", name="Approve selected")
    expect(bulk_approve).to_be_hidden()  # nothing selected yet
    card(page, "Cross").locator("input[type=checkbox]").check()
    card(page, "Moon Safari").locator("input[type=checkbox]").check()
    expect(page.locator("#bulk .selected-count")).to_have_text("2 selected")
    bulk_approve.click()
    expect(page.locator("#toast")).to_contain_text("Approved 2 albums.")
    expect(card(page, "Cross")).to_have_count(0)
    expect(card(page, "Moon Safari")).to_have_count(0)
    assert sorted(e.text for e in repository.wishlist_entries()) == ["Air - Moon Safari", "Justice - Cross"]


def test_it_undoes_a_bulk_approval(watched_page, live_server, repository, seeded):
    page = watched_page
    page.goto(live_server.url)
    for album in ("Cross", "Moon Safari", "Music Has the Right to Children"):
        card(page, album).locator("input[type=checkbox]").check()
    expect(page.locator("#bulk .selected-count")).to_have_text("3 selected")
    page.locator("#bulk").get_by_role("button", name="Approve selected").click()
    toast = page.locator("#toast")
    expect(toast).to_contain_text("Approved 3 albums.")
    expect(card(page, "Cross")).to_have_count(0)
    expect(page.locator("#pending-total")).to_have_text("57")
    assert len(repository.wishlist_entries()) == 3

    undo = toast.get_by_role("button", name="Undo")
    box = undo.bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 360  # on screen, thumb sized
    undo.click()

    expect(toast).to_contain_text("Undone: 3 albums back in the queue.")
    for album in ("Cross", "Moon Safari", "Music Has the Right to Children"):
        expect(card(page, album)).to_be_visible()
    expect(page.locator("#pending-total")).to_have_text("60")
    expect(page.locator("#bulk .selected-count")).to_have_text("")
    assert repository.wishlist_entries() == [] and repository.approved_mbids() == []
    assert page.console_errors == []


def test_it_filters_searches_and_loads_more(watched_page, live_server, seeded):
    page = watched_page
    page.goto(live_server.url)
    expect(page.locator("article.card")).to_have_count(50)
    page.get_by_role("link", name=re.compile("Load more")).click()
    expect(page.locator("article.card")).to_have_count(60)

    page.get_by_label("Source").select_option("listenbrainz")
    expect(page.locator("article.card")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"source=listenbrainz"))
    page.get_by_label("Search artist or album").fill("roygbiv boards")
    page.get_by_label("Search artist or album").fill("boards")
    expect(page.locator("article.card")).to_have_count(1)
    expect(page.locator("#match-count")).to_have_text("1")
    page.get_by_label("Sort by").select_option("score")
    expect(card(page, "Music Has the Right to Children")).to_be_visible()


def test_it_shows_xss_payloads_as_text(watched_page, live_server, seeded):
    page = watched_page
    dialogs = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    page.goto(live_server.url)
    expect(card(page, "<script>alert('xss')</script>")).to_be_visible()
    expect(page.locator("p.artist", has_text='<img src=x onerror=alert("xss")>')).to_be_visible()
    assert dialogs == []


def test_it_shows_a_placeholder_when_a_cover_is_missing(watched_page, live_server, seeded):
    page = watched_page
    page.goto(live_server.url)
    expect(card(page, "Cross").locator(".cover img")).to_be_visible()
    missing = card(page, "Music Has the Right to Children")
    missing.scroll_into_view_if_needed()  # covers load lazily
    expect(missing.locator(".cover img")).to_have_count(0, timeout=10_000)  # the 404 image is removed
    expect(card(page, "Moon Safari").locator(".cover")).to_be_visible()


def test_it_fits_a_360_px_screen(watched_page, live_server, seeded):
    page = watched_page
    page.goto(live_server.url)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    box = card(page, "Cross").get_by_role("button", name="Approve").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44


def test_it_approves_without_javascript(browser, browser_context_args, live_server, repository, seeded):
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url)
        card(page, "Cross").get_by_role("button", name="Approve").click()
        expect(page.locator(".notice")).to_contain_text("Approved Justice – Cross")
        page.locator(".notice").get_by_role("button", name="Undo").click()
        expect(page.locator(".notice")).to_contain_text("is back in the queue")
        assert repository.find_pending(seeded[0]["mbid"]) is not None
    finally:
        context.close()


def test_it_rejects_with_a_reason_without_javascript(browser, browser_context_args, live_server, repository, seeded):
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url)
        card(page, "Cross").get_by_role("button", name="Reject").click()
        expect(page.locator(".notice")).to_contain_text("Rejected Justice – Cross")
        page.locator(".notice").get_by_role("button", name="not my taste").click()
        expect(page.locator(".notice")).to_contain_text("Rejected Justice – Cross: not my taste.")
        assert repository.rejected_page()[0][0]["reason"] == "not_my_taste"
    finally:
        context.close()


def test_it_takes_the_readme_screenshots(browser, browser_context_args, live_server, seeded, tmp_path):
    """Phone screenshots for the README; SCREENSHOT_DIR=docs/screenshots writes them there."""
    out = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(**{**browser_context_args, "device_scale_factor": 2})
    try:
        page = context.new_page()
        page.goto(live_server.url)
        expect(page.locator("article.card").first).to_be_visible()
        page.screenshot(path=str(out / "queue.png"))
        page.goto(f"{live_server.url}/settings")
        page.locator("#f-listenbrainz-username").fill("rob")
        page.get_by_text("More ListenBrainz settings").click()
        page.locator("#f-listenbrainz-fetch_count").fill("many")
        page.get_by_role("button", name="Save settings").click()
        expect(page.locator("#f-listenbrainz-fetch_count-error")).to_be_visible()
        page.locator("#f-listenbrainz-fetch_count").evaluate("field => field.scrollIntoView({block: 'center'})")
        page.screenshot(path=str(out / "settings.png"))
    finally:
        context.close()
    desktop = browser.new_context(http_credentials=browser_context_args["http_credentials"],
                                  viewport={"width": 1280, "height": 800})
    try:
        page = desktop.new_page()
        page.goto(live_server.url)
        expect(page.locator("article.card").nth(5)).to_be_visible()
        page.screenshot(path=str(out / "queue-desktop.png"))
    finally:
        desktop.close()
    for name in ("queue.png", "settings.png", "queue-desktop.png"):
        assert (out / name).stat().st_size > 10_000
