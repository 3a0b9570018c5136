"""Previews in the browser: a card's play button plays the album's preview through Resonance."""

import pytest
from factories import make_queue_item
from playwright.sync_api import expect

from app.sandbox.catalogue import credit_text

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_albums(repository, live_server):
    """Two pending albums the fake Deezer has, and one it lacks."""
    catalogue = live_server.sandbox.catalogue
    groups = [g for g in catalogue.release_groups.values() if catalogue.front_release(g)][:3]
    items = [make_queue_item(mbid=g.id, artist=credit_text(g.credit), album=g.title,
                             added_at=f"2026-01-0{9 - n}T10:00:00Z") for n, g in enumerate(groups)]
    repository.add_pending(items)
    live_server.sandbox.deezer_state.missing.add(groups[2].id)
    return groups


def card(page, mbid):
    return page.locator(f'article.card[data-mbid="{mbid}"]')


def playing_count(page) -> int:
    return page.evaluate("() => window.__playingEvents || 0")


def test_a_preview_plays_one_at_a_time_and_says_which_track(watched_page, live_server, two_albums):
    page = watched_page
    first, second, missing = two_albums
    release = live_server.sandbox.catalogue.front_release(first)
    page.goto(live_server.url)
    # Count the player's "playing" events as they come (the element is made on the first play).
    page.evaluate("""() => document.addEventListener("playing", () => {
        window.__playingEvents = (window.__playingEvents || 0) + 1; }, true)""")

    button = card(page, first.id).locator("button.preview-play")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    button.click()
    expect(card(page, first.id).locator(".preview-now")).to_have_text(
        f"Playing 1/{release.track_count}: {release.tracks()[0][1].title}")
    expect(button).to_have_attribute("aria-pressed", "true")
    page.wait_for_function("() => (window.__playingEvents || 0) >= 1")
    player = page.locator("audio#preview-player")
    assert player.evaluate("a => !a.paused && a.currentSrc.includes('/previews/')")
    assert player.evaluate("a => new URL(a.currentSrc).origin") == live_server.url

    # Another card's play stops the first: one preview at a time.
    card(page, second.id).locator("button.preview-play").click()
    page.wait_for_function("() => (window.__playingEvents || 0) >= 2")
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(card(page, first.id).locator(".preview-now")).to_have_text("")
    expect(card(page, second.id).locator(".preview-now")).to_contain_text("Playing 1/")

    # Pressing it again stops it.
    card(page, second.id).locator("button.preview-play").click()
    expect(card(page, second.id).locator("button.preview-play")).to_have_attribute("aria-pressed", "false")
    assert player.evaluate("a => a.paused")

    # An album Deezer lacks says so, calmly.
    card(page, missing.id).locator("button.preview-play").click()
    expect(card(page, missing.id).locator(".preview-now")).to_have_text("No preview")
    assert page.outside_requests == [] and page.console_errors == []


def test_without_javascript_there_is_no_play_button(browser, browser_context_args, live_server, two_albums):
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url)
    expect(card(page, two_albums[0].id)).to_be_visible()
    expect(card(page, two_albums[0].id).locator("button.preview-play")).to_be_hidden()
    context.close()


def test_an_approved_card_stops_its_preview_and_an_undone_one_plays_again(watched_page, live_server, two_albums):
    page = watched_page
    first = two_albums[0]
    page.goto(live_server.url)
    card(page, first.id).locator("button.preview-play").click()
    expect(card(page, first.id).locator(".preview-now")).to_contain_text("Playing 1/")
    player = page.locator("audio#preview-player")
    page.wait_for_function("() => { const a = document.getElementById('preview-player'); return a && !a.paused; }")

    card(page, first.id).get_by_role("button", name="Approve").click()
    expect(page.locator("article.card.done")).to_be_visible()
    page.wait_for_function("() => document.getElementById('preview-player').paused")

    page.locator("article.card.done").get_by_role("button", name="Undo").click()
    restored = card(page, first.id).locator("button.preview-play")
    expect(restored).to_be_visible()  # a card htmx swaps in gets its button too
    restored.click()
    expect(card(page, first.id).locator(".preview-now")).to_contain_text("Playing 1/")
    assert player.evaluate("a => !a.paused")
    assert page.console_errors == []
