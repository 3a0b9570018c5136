"""Deciding on a phone and on a desktop: sections in one tap, tap targets, cards per screen, a grid at 1280 px."""

import pytest
import yaml
from browser_checks import SMALL_TARGETS
from download_factories import seed_download
from factories import make_queue_item
from playwright.sync_api import expect
from websupport import PASSWORD, USER
from werkzeug.security import generate_password_hash

from app.wishlist import WishlistEntry

pytestmark = pytest.mark.e2e

SECTIONS = ["Queue", "Wishlist", "Downloads", "History", "Jobs", "Blocked", "Settings"]
PATHS = ["/", "/wishlist", "/downloads", "/history/approved", "/history/rejected", "/jobs", "/blocklist", "/settings"]
PHONES = {"360": {"width": 360, "height": 740}, "390": {"width": 390, "height": 844}}
TAP = 44



@pytest.fixture
def seeded(repository, live_server):
    items = [make_queue_item(artist=f"Artist {n}", album=f"Album number {n}", year=2000 + n % 20, score=70 + n % 20,
                             source="catalog" if n % 2 else "listenbrainz", similar_to=["Daft Punk", "Kavinsky"],
                             added_at=f"2026-01-01T10:{n:02d}:00Z") for n in range(30)]
    repository.add_pending(items)
    repository.approve([items[0]["mbid"]])
    repository.reject([items[1]["mbid"]])
    repository.add_to_wishlist([WishlistEntry.create("Air", "Moon Safari")])
    repository.block_artist("Nobody Wanted")
    for state, (artist, title) in {"downloading": ("Sigur Rós", "( )"), "no_result": ("Portishead", "Dummy"),
                                   "failed": ("Múm", "Finally We Are No One"), "completed": ("Slowdive", "Souvlaki"),
                                   "wanted": ("Björk", "Homogenic")}.items():
        seed_download(repository, artist, title, state)
    return items


@pytest.fixture
def phone(browser, browser_context_args, request):
    """A context at the given viewport (request.param: a PHONES key, or "1280" for a desktop)."""
    size = PHONES.get(request.param, {"width": 1280, "height": 800})
    args = {**browser_context_args, "viewport": size, "screen": size}
    if request.param == "1280":
        args.update(is_mobile=False, has_touch=False, device_scale_factor=1)
    context = browser.new_context(**args)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("phone", ["360", "390", "1280"], indirect=True)
def test_it_shows_every_section_in_one_tap_from_every_page(phone, live_server, seeded):
    page = phone
    width = page.viewport_size["width"]
    for path in PATHS:
        page.goto(live_server.url + path)
        nav = page.get_by_role("navigation", name="Sections")
        for name in SECTIONS:
            link = nav.get_by_role("link", name=name)
            box = link.bounding_box()
            # on screen as the page opens: no scrolling, sideways or down, to find a section
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= 200, \
                (path, name, box)
        current = nav.locator("a[aria-current=page]")
        expect(current).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path


@pytest.mark.parametrize("phone", ["360"], indirect=True)
def test_it_keeps_every_section_in_view_with_10000_pending(phone, live_server, repository):
    repository.add_pending([make_queue_item() for _ in range(10_000)])
    phone.goto(live_server.url)
    nav = phone.get_by_role("navigation", name="Sections")
    expect(nav.locator("#pending-total")).to_have_text("10000")
    boxes = [nav.get_by_role("link", name=name).bounding_box() for name in SECTIONS]
    assert all(box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["height"] >= TAP for box in boxes), boxes
    for left, right in zip(boxes, boxes[1:]):  # side by side in a row, never on top of each other
        assert right["y"] > left["y"] or right["x"] >= left["x"] + left["width"] - 0.5, (left, right)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize("phone", ["360", "390", "1280"], indirect=True)
def test_it_makes_every_tap_target_44_px(phone, live_server, seeded):
    page = phone
    for path in PATHS:
        page.goto(live_server.url + path)
        for details in page.locator("main details").all():  # what a summary hides is tapped too
            if details.is_visible():
                details.evaluate("d => d.open = true")
        assert page.evaluate(SMALL_TARGETS, TAP) == [], path


WHOLE_CARDS = """() => [...document.querySelectorAll('article.card')].filter(card => {
    const r = card.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  }).length"""


@pytest.mark.parametrize("phone", ["390"], indirect=True)
def test_it_shows_four_whole_cards_on_a_390_by_844_screen(phone, live_server, seeded):
    page = phone
    page.goto(live_server.url)
    cards = page.locator("article.card")
    expect(cards.first).to_be_visible()
    header = page.locator("header.top").bounding_box()["height"]
    assert page.evaluate(WHOLE_CARDS) >= 4  # as the page opens
    # the first card just below the sticky header, as when scrolling through the queue
    cards.first.evaluate(f"card => window.scrollTo(0, card.getBoundingClientRect().top + window.scrollY - {header})")
    whole = page.evaluate(WHOLE_CARDS)  # the bulk bar is empty until something is selected
    assert whole >= 4
    first = cards.first  # and nothing the decision needs is lost
    for part in (".cover", "h2.album", "p.artist", "p.why"):
        expect(first.locator(part)).to_be_visible()
    for name in ("Approve", "Reject"):
        expect(first.get_by_role("button", name=name)).to_be_visible()


@pytest.mark.parametrize("phone", ["390", "1280"], indirect=True)
def test_the_history_search_takes_the_width(phone, live_server, seeded):
    page = phone
    page.goto(live_server.url + "/history/approved")
    search = page.get_by_role("searchbox", name="Search").bounding_box()
    content = page.locator("#history-list").bounding_box()
    assert search["width"] >= content["width"] - 1, (search, content)


@pytest.fixture
def household(live_server, repository, tmp_path):
    """The live server's config with two members (the browser signs in as the first), and lb-fetch cards
    for one or both of them, as a household's queue looks."""
    config = yaml.safe_load((tmp_path / "config.yaml").read_text(encoding="utf-8"))
    config["household"] = {"members": [
        {"name": name, "role": role, "password_hash": generate_password_hash(password, "pbkdf2:sha256:1000")}
        for name, role, password in ((USER, "admin", PASSWORD), ("Bob", "member", "bob-password"))]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    repository.add_pending([
        make_queue_item(artist=f"Artist {n}", album=f"Album number {n}", year=2000 + n, score=80 + n % 20,
                        source="listenbrainz", similar_to=[], source_track=f"Track {n}",
                        for_members=[USER, "Bob"] if n % 3 == 0 else [USER], added_at=f"2026-01-01T10:{n:02d}:00Z")
        for n in range(12)])


# The text of each filter choice fits its select (a canvas measures it in the select's own font).
CLIPPED_CHOICES = """() => [...document.querySelectorAll('#filters select')].filter(select => {
    const style = getComputedStyle(select), context = document.createElement('canvas').getContext('2d');
    context.font = `${style.fontSize} ${style.fontFamily}`;
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return context.measureText(select.selectedOptions[0].text).width > room;
  }).map(select => select.name)"""


@pytest.mark.parametrize("phone", ["360", "390"], indirect=True)
def test_a_households_queue_keeps_its_filters_on_two_rows_and_four_cards_on_screen(phone, live_server, household):
    page = phone
    page.goto(live_server.url)
    expect(page.locator("select[name=for]")).to_be_visible()  # "Everyone's / For me": a fourth choice
    rows = {round(page.locator(f"#filters {part}").bounding_box()["y"])
            for part in ("input[type=search]", "select[name=source]", "select[name=for]", "select[name=sort]",
                         "select[name=order]")}
    assert len(rows) == 2, rows
    assert page.evaluate(CLIPPED_CHOICES) == []
    first = page.locator("article.card").first
    # whose listening, in the words (no badge to wrap onto a line of its own)
    expect(first.locator(".why")).to_have_text("from alice's listening: Track 11")
    shared = page.locator("article.card", has_text="Album number 9").locator(".why")
    expect(shared).to_have_text("from alice and Bob's listening: Track 9")
    header = page.locator("header.top").bounding_box()["height"]
    first.evaluate(f"card => window.scrollTo(0, card.getBoundingClientRect().top + window.scrollY - {header})")
    if page.viewport_size["height"] >= 844:
        assert page.evaluate(WHOLE_CARDS) >= 4


@pytest.mark.parametrize("phone", ["360", "390"], indirect=True)
def test_it_keeps_the_bulk_bar_in_rows_of_equal_width(phone, live_server, seeded):
    page = phone
    page.goto(live_server.url)
    page.locator("article.card").nth(0).locator("input[type=checkbox]").check()
    approve = page.locator("#bulk").get_by_role("button", name="Approve selected")
    reject = page.locator("#bulk").get_by_role("button", name="Reject selected")
    expect(approve).to_be_visible()
    a, r = approve.bounding_box(), reject.bounding_box()
    # side by side, the same size
    assert a["y"] == r["y"] and a["height"] == r["height"] and abs(a["width"] - r["width"]) < 1, (a, r)
    assert page.locator("#bulk").bounding_box()["height"] <= 2 * TAP + 40


@pytest.mark.parametrize("phone", ["1280"], indirect=True)
def test_it_uses_a_desktop_width_for_a_grid_of_cards(phone, live_server, seeded):
    page = phone
    page.goto(live_server.url)
    cards = page.locator("article.card")
    expect(cards.first).to_be_visible()
    boxes = [cards.nth(n).bounding_box() for n in range(3)]
    assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"], boxes  # three cards side by side
    assert page.locator("main").bounding_box()["width"] >= 1100


NO_JS_DEAD_CONTROLS = """() => {
  const dead = [];
  for (const el of document.querySelectorAll('button, a, input, select, summary')) {
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0 || el.closest('.skip')) continue;
    const works = el.matches('a') ? el.hasAttribute('href')
      : el.matches('summary') ? true
      : !!(el.form && (el.form.getAttribute('action') || el.getAttribute('formaction')));
    if (!works) dead.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.name || el.getAttribute('aria-label') || '').trim().slice(0, 40)}"`);
  }
  return dead;
}"""


def test_it_hides_the_controls_that_need_javascript_when_it_is_off(browser, browser_context_args, live_server,
                                                                     seeded):
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    try:
        page = context.new_page()
        for path in PATHS:
            page.goto(live_server.url + path)
            assert page.evaluate(NO_JS_DEAD_CONTROLS) == [], path
    finally:
        context.close()


@pytest.mark.parametrize("phone", ["390"], indirect=True)
def test_it_keeps_the_counts_true_after_actions_and_new_albums(phone, live_server, repository, seeded):
    page = phone
    page.clock.install()
    page.goto(live_server.url)
    total = page.locator("#pending-total")
    expect(total).to_have_text("28")
    expect(page.locator("#match-count")).to_have_text("28")
    page.locator("article.card").first.get_by_role("button", name="Approve").click()
    expect(total).to_have_text("27")
    expect(page.locator("#match-count")).to_have_text("27")
    page.locator("#all-matching summary").click()
    expect(page.locator("#all-matching").get_by_role("button", name="Approve all 27")).to_be_visible()
    page.locator("article.card:not(.done)").first.get_by_role("button", name="Reject").click()
    expect(page.locator("#match-count")).to_have_text("26")
    expect(page.locator("#all-matching").get_by_role("button", name="Approve all 26")).to_be_visible()

    repository.add_pending([make_queue_item(source="catalog") for _ in range(3)])  # a job adds albums
    page.clock.fast_forward(31_000)  # the count's next poll
    expect(total).to_have_text("29")
    expect(page.locator("#match-count")).to_have_text("29")

    page.goto(f"{live_server.url}/wishlist")
    page.on("dialog", lambda dialog: dialog.accept())  # "Remove … from the wishlist?"
    entries = len(repository.wishlist_entries())
    expect(page.locator("#wishlist-count")).to_have_text(f"{entries} entries")
    page.locator("li.row-item").first.get_by_role("button", name="Remove").click()
    expect(page.locator("li.row-item")).to_have_count(entries - 1)
    expect(page.locator("#wishlist-count")).to_have_text(f"{entries - 1} entries")
