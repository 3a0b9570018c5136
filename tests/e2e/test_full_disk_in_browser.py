"""A full disk as a person on a phone meets it: the toast says what is wrong, nothing is half done."""

import pytest
from factories import make_queue_item
from playwright.sync_api import expect
from storage_mounts import Filler, small_tmpfs

pytestmark = pytest.mark.e2e


@pytest.fixture
def filler(data_dir):
    with small_tmpfs(data_dir, size_kb=256):
        yield Filler(data_dir)


def test_it_says_in_the_toast_that_the_disk_is_full_and_keeps_the_album_pending(
        filler, watched_page, live_server, repository, data_dir):
    items = repository.add_pending([make_queue_item(artist="Justice", album="Cross")]
                                   + [make_queue_item() for _ in range(20)])
    page = watched_page
    page.goto(live_server.url)
    cross = page.locator("article.card", has=page.locator("h2.album", has_text="Cross"))
    filler.fill()

    cross.get_by_role("button", name="Approve").click()

    expect(page.locator("#toast")).to_contain_text(
        f"Cannot write to the data folder {data_dir}: the disk is full (No space left on device)")
    expect(cross).to_be_visible()
    assert repository.find_pending(items[0]["mbid"]) and repository.wishlist_entries() == []

    filler.remove()
    cross.get_by_role("button", name="Approve").click()
    expect(page.locator("article.card.done")).to_contain_text("Approved Justice – Cross")
    assert [entry.text for entry in repository.wishlist_entries()] == ["Justice - Cross"]
    # htmx reports the refused request on the console; nothing else went wrong
    assert [e for e in page.console_errors if not e.startswith("Response Status Error Code 503 ")] == []
