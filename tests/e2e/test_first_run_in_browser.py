"""A fresh install in the browser: Save and sign in (asked once), the four services step by step,
Find albums now, its progress, and the first card; the settings page as a person reads it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import yaml
from browser_checks import SMALL_TARGETS
from playwright.sync_api import expect

from app import create_app
from app.sandbox import Sandbox, SandboxSettings
from jobs.runner import JobRunner

pytestmark = pytest.mark.e2e

PHONE_390 = {"width": 390, "height": 844}
DISCOVERY_JOBS = ("lb-fetch", "catalog-discovery")


@pytest.fixture
def fresh_install(repository, tmp_path, serve_app):
    """A fresh install: no credentials and none of the person's services; where the public
    services are (the sandbox's MusicBrainz, Cover Art Archive...) is in the config file, as
    the defaults would be. Job runners serve "Run now" as `resonance run` does."""
    with Sandbox(settings=SandboxSettings.fast()) as sandbox:
        urls = sandbox.urls
        config = {
            "listenbrainz": {"base_url": urls["listenbrainz"]},
            "lastfm": {"base_url": urls["lastfm"]},
            "musicbrainz": {"base_url": urls["musicbrainz"], "rate_limit": 100},
            "coverart": {"base_url": urls["coverart"]},
            "previews": {"deezer_url": urls["deezer"]},
            "schedule": {"run_on_start": False},
        }
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        stop = threading.Event()
        runners = [threading.Thread(target=JobRunner(job, repository, stop_event=stop, poll_seconds=0.2).serve,
                                    kwargs={"run_on_start": False}, daemon=True) for job in DISCOVERY_JOBS]
        for runner in runners:
            runner.start()
        app = create_app({"REPOSITORY": repository, "SETTINGS_TTL": 0})
        try:
            with serve_app(app) as server:
                server.sandbox = sandbox
                yield server
        finally:
            stop.set()
            for runner in runners:
                runner.join(timeout=30)


@pytest.fixture
def new_browser(browser, browser_context_args):
    """A context as a person's first visit: no Basic credentials known to the browser."""
    contexts = []

    def make(viewport: dict, **extra):
        args = {key: value for key, value in browser_context_args.items() if key != "http_credentials"}
        args.update(viewport=viewport, screen=viewport, **extra)
        if viewport["width"] >= 1000:
            args.update(is_mobile=False, has_touch=False, device_scale_factor=1)
        context = browser.new_context(**args)
        contexts.append(context)
        page = context.new_page()
        page.refused = []  # every 401: a Basic prompt a person would have seen
        page.on("response", lambda r: page.refused.append(r.url) if r.status == 401 else None)
        page.console_errors = []
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()


def save_and_sign_in(page, url: str) -> None:
    page.goto(url)
    expect(page).to_have_url(f"{url}/setup")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password", exact=True).fill("a long password")
    page.get_by_label("Password again").fill("a long password")
    page.get_by_role("button", name="Save and sign in").click()
    expect(page.get_by_role("heading", name="Welcome to Resonance")).to_be_visible()


def test_save_and_sign_in_asks_for_the_credentials_once(fresh_install, new_browser, repository):
    page = new_browser(PHONE_390)
    save_and_sign_in(page, fresh_install.url)
    expect(page).to_have_url(f"{fresh_install.url}/welcome")
    expect(page.locator("footer")).to_contain_text("Signed in as carol")
    page.goto(f"{fresh_install.url}/settings")
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    page.locator("#f-listenbrainz-username").fill("rob")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".save-bar .notice.ok")).to_have_text("Saved: ListenBrainz user name.")
    assert page.refused == []  # no page answered 401: the browser never asked again
    assert repository.saved_settings()["listenbrainz"] == {"username": "rob"}


def step(page, title: str, values: dict[str, str], answer: str, save: bool = True) -> None:
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    for field, value in values.items():
        page.locator(f"#f-{field.replace('.', '-')}").fill(value)
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(".test-result")).to_contain_text(answer)
    if save:
        page.get_by_role("button", name="Save and continue").click()


def test_it_walks_a_fresh_install_to_its_first_card(fresh_install, new_browser, repository):
    sandbox, url = fresh_install.sandbox, fresh_install.url
    credentials = sandbox.credentials
    out = Path(os.environ.get("SCREENSHOT_DIR") or repository.data_dir.parent / "shots")
    out.mkdir(parents=True, exist_ok=True)
    page = new_browser(PHONE_390, device_scale_factor=2)
    save_and_sign_in(page, url)
    page.get_by_role("link", name="Start with ListenBrainz").click()

    step(page, "Step 1 of 4: ListenBrainz", {"listenbrainz.username": credentials["listenbrainz"]["user"]},
         f"✓ Reached ListenBrainz; {credentials['listenbrainz']['user']} has recommendations.")
    step(page, "Step 2 of 4: Last.fm", {"lastfm.api_key": "wrong-key-0000"}, "✗", save=False)  # a typo first
    step(page, "Step 2 of 4: Last.fm", {"lastfm.api_key": credentials["lastfm"]["api_key"]},
         "✓ Last.fm accepted the API key.")
    step(page, "Step 3 of 4: Navidrome (Subsonic)",
         {"subsonic.base_url": sandbox.urls["subsonic"], "subsonic.username": credentials["subsonic"]["username"],
          "subsonic.password": credentials["subsonic"]["password"]}, "✓ Signed in to", save=False)
    page.locator(".test-result").evaluate("result => result.scrollIntoView({block: 'end'})")
    page.screenshot(path=str(out / "first-run.png"))  # the README's
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="Step 4 of 4: slskd")).to_be_visible()
    page.get_by_role("link", name="Skip", exact=True).click()  # downloads can wait

    expect(page.get_by_role("heading", name="Find albums now")).to_be_visible()
    assert repository.pending_count() == 0
    page.get_by_role("button", name="Find albums now").click()
    expect(page).to_have_url(f"{url}/welcome/progress")
    # The page follows the runs by itself (htmx polling) until the first cards are in.
    waiting = page.get_by_role("heading", name="waiting for you")
    expect(waiting).to_be_visible(timeout=120_000)
    assert repository.pending_count() > 0
    page.get_by_role("link", name="Go to the queue").click()
    expect(page.locator("article.card").first).to_be_visible()
    saved = repository.saved_settings()
    assert saved["lastfm"]["api_key"] == credentials["lastfm"]["api_key"]
    assert "slskd" not in saved  # skipped
    assert page.refused == [] and page.console_errors == []


@pytest.mark.parametrize("viewport", [{"width": 360, "height": 740}, {"width": 1280, "height": 800}],
                         ids=["360", "1280"])
def test_the_first_run_pages_fit_a_phone_and_a_desktop(fresh_install, new_browser, viewport):
    page = new_browser(viewport)
    save_and_sign_in(page, fresh_install.url)
    for path in ("/welcome", "/welcome/listenbrainz", "/welcome/subsonic", "/welcome/find", "/"):
        page.goto(fresh_install.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], path
        assert page.evaluate(SMALL_TARGETS, 44) == [], path
    # The empty queue of a fresh install leads to the first run.
    page.get_by_role("link", name="Set up Resonance").click()
    expect(page.get_by_role("heading", name="Welcome to Resonance")).to_be_visible()


def test_settings_read_as_a_person_reads_them(live_server, new_browser, monkeypatch, browser_context_args):
    monkeypatch.setenv("RESONANCE_SLSKD__SEARCH_TIMEOUT", "30")  # fixed by the environment
    page = new_browser({"width": 390, "height": 844}, http_credentials=browser_context_args["http_credentials"])
    page.goto(f"{live_server.url}/settings")
    legends = page.locator("fieldset legend").all_inner_texts()
    assert legends[:4] == ["ListenBrainz", "Last.fm", "Subsonic / Navidrome", "slskd downloads"]
    assert legends[-1] == "Web UI and sign-in"
    label = page.locator("label[for=f-listenbrainz-username]")
    expect(label).to_contain_text("ListenBrainz user name")
    expect(label.locator("code.key")).to_have_text("listenbrainz.username")
    # The key is small beside the label: a person reads the label first.
    sizes = label.evaluate("l => [parseFloat(getComputedStyle(l).fontSize), "
                           "parseFloat(getComputedStyle(l.querySelector('.key')).fontSize)]")
    assert sizes[1] < sizes[0]
    # Fixed by the environment: read-only, and it says by what.
    page.get_by_text("More slskd downloads settings").click()
    fixed = page.locator("#f-slskd-search_timeout")
    expect(fixed).to_have_value("30")
    expect(fixed).not_to_be_editable()
    expect(page.locator("#section-slskd .fixed-by")).to_have_text(
        "Read-only: set by RESONANCE_SLSKD__SEARCH_TIMEOUT; change it there.")
    # Never typed: the signing key and the stored password.
    expect(page.locator("input[name='web.secret_key'], input[name='web.password_hash']")).to_have_count(0)
    expect(page.locator("#f-web-secret_key")).to_contain_text("set")
    # Two mistakes: the answer comes beside the button and the focus goes to the first of them.
    page.get_by_text("More ListenBrainz settings").click()
    page.locator("#f-listenbrainz-fetch_count").fill("many")
    page.get_by_text("More Web UI and sign-in settings").click()
    page.locator("#f-web-port").fill("eighty")
    page.get_by_role("button", name="Save settings").click()
    notice = page.locator(".save-bar .notice.bad")
    expect(notice).to_contain_text("Nothing was saved: 2 values to fix, starting with Recommendations per run")
    expect(page.locator("#f-listenbrainz-fetch_count")).to_be_focused()
    button = page.get_by_role("button", name="Save settings").bounding_box()
    box = notice.bounding_box()
    assert 0 <= button["y"] - (box["y"] + box["height"]) < 40  # right above the button
