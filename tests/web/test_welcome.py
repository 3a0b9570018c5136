"""The first run: a step per service with its test, "Find albums now", its progress, and the empty queue's hints."""

from __future__ import annotations

import pytest
from factories import make_queue_item
from websupport import PASSWORD, USER, Client, parse

from app import create_app
from app.sandbox import Sandbox, SandboxSettings

STEP_FIELDS = {
    "listenbrainz": ["listenbrainz.username", "listenbrainz.token"],
    "lastfm": ["lastfm.api_key"],
    "subsonic": ["subsonic.base_url", "subsonic.username", "subsonic.password"],
    "slskd": ["slskd.base_url", "slskd.api_key"],
}


@pytest.fixture
def sandbox():
    with Sandbox(settings=SandboxSettings.fast()) as sb:
        yield sb


@pytest.fixture
def fresh(repository, write_config, sandbox) -> Client:
    """A signed-in client of an install that knows where the services are, but nothing of the person's."""
    write_config(web={"auth": "basic", "username": USER, "password": PASSWORD},
                 listenbrainz={"base_url": sandbox.urls["listenbrainz"]},
                 lastfm={"base_url": sandbox.urls["lastfm"]})
    app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
    app.test_client_class = Client
    return app.test_client()


def names(page) -> list[str]:
    return [n.get("name") for n in page.select("form input") + page.select("form select")
            if n.get("name") and n.get("type") != "hidden"]


@pytest.mark.parametrize("service", list(STEP_FIELDS))
def test_it_asks_each_service_for_what_connects_it_with_a_test_and_a_skip(fresh, service):
    page = parse(fresh.get(f"/welcome/{service}").data)
    assert names(page) == STEP_FIELDS[service]
    assert page.one(f"label[for=f-{service}-{STEP_FIELDS[service][0].split('.')[1]}] code.key").text == \
        STEP_FIELDS[service][0]
    assert page.one("#welcome-step .test-row button").text == "Test connection"
    following = {"listenbrainz": "/welcome/lastfm", "lastfm": "/welcome/subsonic", "subsonic": "/welcome/slskd",
                 "slskd": "/welcome/find"}[service]
    assert [a.get("href") for a in page.select(".step-actions a") if a.text == "Skip"] == [following]


def test_it_saves_a_step_and_goes_on_to_the_next(fresh, repository, sandbox):
    response = fresh.form("/welcome/listenbrainz", {"listenbrainz.username": "rob", "listenbrainz.token": ""})
    assert response.status_code == 303 and response.headers["Location"] == "/welcome/lastfm"
    assert repository.saved_settings()["listenbrainz"] == {"username": "rob"}


def test_it_keeps_a_step_with_a_wrong_value_and_focuses_it(fresh, repository):
    response = fresh.form("/welcome/subsonic", {"subsonic.base_url": "navidrome:4533", "subsonic.username": "rob",
                                                 "subsonic.password": ""})
    assert response.status_code == 422
    page = parse(response.data)
    assert page.one("#f-subsonic-base_url").get("autofocus") is not None
    assert page.one("#f-subsonic-base_url").get("value") == "navidrome:4533"
    assert "subsonic" not in repository.saved_settings()


def test_it_tests_a_step_with_the_typed_values_against_the_service(fresh, sandbox, repository):
    good = fresh.form("/welcome/lastfm/test", {"lastfm.api_key": sandbox.credentials["lastfm"]["api_key"]},
                      htmx=True)
    assert good.text.strip() == '<span class="ok">✓ Last.fm accepted the API key.</span>'
    bad = fresh.form("/welcome/lastfm/test", {"lastfm.api_key": "0" * 32})
    assert bad.status_code == 200  # without JavaScript: the step again, with the answer
    assert parse(bad.data).one("#test-lastfm span").text.startswith("✗")
    assert "lastfm" not in repository.saved_settings()  # a test saves nothing


def test_it_shows_what_is_set_up_and_where_to_start(fresh, repository, sandbox):
    page = parse(fresh.get("/welcome").data)
    assert [b.text for b in page.select(".readiness .badge")] == ["not set up"] * 4
    assert page.one(".step-actions .btn.primary").get("href") == "/welcome/listenbrainz"
    repository.save_settings({"listenbrainz": {"username": "rob"}})
    page = parse(fresh.get("/welcome").data)
    assert [b.text for b in page.select(".readiness .badge")] == ["set up", "not set up", "not set up", "not set up"]
    assert page.one(".step-actions .btn.primary").get("href") == "/welcome/lastfm"


def test_it_asks_for_runs_of_the_jobs_that_can_run(fresh, repository):
    refused = fresh.form("/welcome/find")
    assert refused.status_code == 409 and repository.run_requests() == {}
    repository.save_settings({"listenbrainz": {"username": "rob"}})
    page = parse(fresh.get("/welcome/find").data)
    hints = " ".join(hint.text for hint in page.select(".welcome .hint"))
    assert "catalog-discovery) waits for Last.fm and Navidrome (Subsonic)" in hints
    response = fresh.form("/welcome/find")
    assert response.status_code == 303 and response.headers["Location"] == "/welcome/progress"
    assert set(repository.run_requests()) == {"lb-fetch"}


def test_it_shows_progress_until_the_first_cards_arrive(fresh, repository):
    repository.save_settings({"listenbrainz": {"username": "rob"}})
    fresh.form("/welcome/find")
    poll = {"HX-Request": "true", "HX-Trigger": "welcome-progress"}
    asked = fresh.get("/welcome/progress", headers=poll)
    assert asked.status_code == 200  # keeps polling
    assert "asked, starting" in parse(asked.data).one("#progress-lb-fetch").text
    assert parse(asked.data).one("#welcome-progress").get("hx-trigger") == "every 2s, poll-now"

    repository.take_run_request("lb-fetch")  # a runner takes it and runs
    repository.update_job_status("lb-fetch", state="running", started_at="2026-01-01T10:00:00Z")
    with repository.job_lock("lb-fetch"):
        running = fresh.get("/welcome/progress", headers=poll)
        assert running.status_code == 200 and "running" in parse(running.data).one("#progress-lb-fetch").text
        repository.add_pending([make_queue_item(artist="Slowdive", album="Souvlaki")])
        arrived = fresh.get("/welcome/progress", headers=poll)
    assert arrived.status_code == 286  # htmx: swap this, then stop polling
    page = parse(arrived.data)
    assert page.one("h1").text == "1 album waiting for you"
    assert page.one("a.btn.primary").get("href") == "/"
    assert page.one("#welcome-progress").get("hx-get") is None


def test_it_says_why_when_the_runs_bring_nothing(fresh, repository):
    repository.save_settings({"listenbrainz": {"username": "rob"}})
    repository.update_job_status("lb-fetch", state="idle", last_run={
        "started_at": "2026-01-01T10:00:00Z", "finished_at": "2026-01-01T10:00:05Z", "outcome": "failed",
        "summary": "run failed", "error": "ListenBrainz answered 503 four times", "left": None})
    done = fresh.get("/welcome/progress", headers={"HX-Request": "true", "HX-Trigger": "welcome-progress"})
    assert done.status_code == 286
    page = parse(done.data)
    assert page.one("h1").text == "No suggestions yet"
    missing = page.one("ul.missing").text
    assert "ListenBrainz answered 503 four times" in missing and "Set up Last.fm" in missing


def test_the_empty_queue_links_to_what_is_missing(fresh, repository):
    page = parse(fresh.get("/").data)
    assert page.one(".what-missing a.btn.primary").get("href") == "/welcome"  # nothing set up: the whole first run
    repository.save_settings({"listenbrainz": {"username": "rob"}, "lastfm": {"api_key": "k" * 32}})
    page = parse(fresh.get("/").data)
    links = {a.text: a.get("href") for a in page.select(".what-missing a")}
    assert links["Set up Navidrome (Subsonic)"] == "/welcome/subsonic"
    assert links["Set up slskd"] == "/welcome/slskd"
    assert links["Find albums now"] == "/welcome/find"  # lb-fetch can run, and has not
    repository.add_pending([make_queue_item()])
    assert not parse(fresh.get("/").data).select(".what-missing")


def test_a_step_shows_what_the_environment_sets_read_only_and_goes_on(fresh, repository, monkeypatch):
    monkeypatch.setenv("RESONANCE_SLSKD__API_KEY", "key-from-a-docker-secret")
    page = parse(fresh.get("/welcome/slskd").data)
    assert page.one("#f-slskd-api_key").get("disabled") is not None
    assert "set by RESONANCE_SLSKD__API_KEY" in page.one(".fixed-by").text
    assert "key-from-a-docker-secret" not in fresh.get("/welcome/slskd").text
    response = fresh.form("/welcome/slskd", {"slskd.base_url": "http://slskd:5030"})
    assert response.status_code == 303 and response.headers["Location"] == "/welcome/find"
    assert repository.saved_settings()["slskd"] == {"base_url": "http://slskd:5030"}
    assert [b.text for b in parse(fresh.get("/welcome").data).select(".readiness .badge")][3] == "set up"
