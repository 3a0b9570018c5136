"""The Downloads page's own transfer check, against the sandbox's slskd: live progress, throttling, outages."""

import socket
import time

import pytest
from download_factories import seed_download
from downloader_support import fresh_governor, sandbox, settings_for, slskd_context, wish  # noqa: F401
from websupport import PASSWORD, USER, Client, parse

from app import create_app
from app.pipelines import JobContext
from app.pipelines.downloader import run_once
from app.sandbox import Sandbox, SandboxSettings
from app.sandbox.core import SystemClock

POLL = {"HX-Request": "true", "HX-Trigger": "downloads-active"}
KEY = "Sigur Rós - ( )"


@pytest.fixture
def live_app(repository, write_config):
    """``live_app(slskd_url, api_key, every=0)``: an app whose page checks the transfers itself."""

    def make(url: str, api_key: str = "", every: float = 0.0):
        write_config(web={"auth": "basic", "username": USER, "password": PASSWORD},
                     slskd={"base_url": url, "api_key": api_key})
        app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0,
                          "DOWNLOADS_LIVE_CHECK_EVERY": every})
        app.test_client_class = Client
        return app.test_client()

    return make


@pytest.fixture
def sandbox_client(live_app, sandbox):
    return live_app(sandbox.urls["slskd"], sandbox.credentials["slskd"]["api_key"])


def transfer_reads(sandbox) -> int:
    return sum(1 for r in sandbox.requests("slskd") if r.method == "GET" and r.path == "/api/v0/transfers/downloads")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HeldClock(SystemClock):
    """The system's clock until ``hold()``; from then on time moves only with ``advance()``."""

    def __init__(self) -> None:
        super().__init__()
        self._held: float | None = None

    def hold(self) -> None:
        self._held = super().time()

    def advance(self, seconds: float) -> None:
        assert self._held is not None
        self._held += seconds

    def time(self) -> float:
        return super().time() if self._held is None else self._held


def test_it_shows_progress_from_slskd_without_a_runner(live_app, repository, tmp_path):
    clock = HeldClock()
    settings = SandboxSettings.fast(slskd_search_seconds=0.3, slskd_queue_seconds=0.2, slskd_transfer_seconds=0.25)
    with Sandbox(settings=settings, clock=clock) as sb:
        client = live_app(sb.urls["slskd"], sb.credentials["slskd"]["api_key"])
        wish(repository, ("Sigur Rós", "( )"))
        run_once(JobContext("slskd-downloader", settings_for(sb, tmp_path), repository, lambda: False))
        assert repository.download_record(KEY).state == "queued"
        clock.hold()  # the transfers move only when the test says, however busy the machine
        seen, statuses = set(), []
        signature = parse(client.get("/downloads").text).one("#downloads-active").get("hx-vals").split('"')[3]
        for _ in range(200):
            response = client.get(f"/downloads/active?seen={signature}", headers=POLL)
            statuses.append(response.status_code)
            page = parse(response.text)
            done = page.select("#downloads-active .dl-files-done")
            if done:
                seen.add(done[0].text)
            if response.status_code == 286:
                break
            clock.advance(0.1)
        else:
            pytest.fail(f"still active after 20 simulated seconds; saw {seen}")
    assert len(seen) >= 3 and "0 of 8 files" in seen  # it moved, poll after poll
    assert repository.download_record(KEY).state == "completed"
    # the last answer stops the polling and moves the album to "Completed", out of band
    assert page.one("#downloads-active").get("hx-trigger") is None
    completed = page.one("#downloads-completed")
    assert completed.get("hx-swap-oob") == "true" and "Sigur Rós" in completed.text
    assert set(statuses[:-1]) == {200}


def test_it_checks_at_most_once_per_interval(sandbox, live_app, slskd_context, repository):
    client = live_app(sandbox.urls["slskd"], sandbox.credentials["slskd"]["api_key"], every=60)
    sandbox.settings.update(slskd_queue_seconds=5)
    wish(repository, ("Sigur Rós", "( )"))
    run_once(slskd_context())
    before = transfer_reads(sandbox)
    client.get("/downloads/active", headers=POLL)
    assert transfer_reads(sandbox) == before  # the downloader updated the record just now: nothing to check
    repository.update_download_record(KEY, lambda record: None, now="2026-01-01T00:00:00Z")
    for _ in range(3):
        assert client.get("/downloads/active", headers=POLL).status_code == 200
    assert transfer_reads(sandbox) == before + 1


def test_it_makes_no_request_while_nothing_is_followed(sandbox, sandbox_client, repository):
    seed_download(repository, state="completed")
    seed_download(repository, "Múm", "Finally We Are No One", "failed")
    sandbox.clear_requests()
    assert sandbox_client.get("/downloads").status_code == 200
    assert sandbox_client.get("/downloads/active", headers=POLL).status_code == 286
    assert sandbox.requests("slskd") == []


def test_it_says_slskd_is_unreachable_at_once(live_app, repository):
    client = live_app(f"http://127.0.0.1:{closed_port()}")
    seed_download(repository, state="downloading", updated_at="2026-01-01T00:00:00Z")
    started = time.monotonic()
    response = client.get("/downloads/active", headers=POLL)
    assert time.monotonic() - started < 2
    assert response.status_code == 200  # still active: it polls on, and says why the progress stands still
    alert = parse(response.text).one("#downloads-active .notice.bad")
    assert alert.text.startswith("Progress may be out of date: slskd unreachable: GET /api/v0/server")
    assert "3 of 8 files" in response.text


def test_it_never_holds_a_request_up_while_slskd_hangs(sandbox, sandbox_client, repository):
    seed_download(repository, state="downloading", updated_at="2026-01-01T00:00:00Z")
    sandbox.faults("slskd").set(timeout=True)
    try:
        for _ in range(2):
            started = time.monotonic()
            response = sandbox_client.get("/downloads/active", headers=POLL)
            assert time.monotonic() - started < 1.8
            assert response.status_code == 200 and "3 of 8 files" in response.text
    finally:
        sandbox.faults("slskd").clear()


@pytest.mark.parametrize("change,message", [
    ("disconnected", "Soulseek not connected (slskd reports Disconnected)"),
    ("wrong_key", "slskd refused the API key"),
])
def test_it_says_why_the_progress_stands_still(sandbox, live_app, repository, change, message):
    key = "not-the-key" if change == "wrong_key" else sandbox.credentials["slskd"]["api_key"]
    if change == "disconnected":
        sandbox.slskd_state.connected = False
    client = live_app(sandbox.urls["slskd"], key)
    seed_download(repository, state="downloading", updated_at="2026-01-01T00:00:00Z")
    response = client.get("/downloads/active", headers=POLL)
    assert parse(response.text).one("#downloads-active .notice.bad").text == f"Progress may be out of date: {message}"
    assert repository.download_record(KEY).state == "downloading"  # an outage is not a stall
    api = client.get("/api/v1/downloads/?group=active")
    assert api.json["live"]["problem"] == message
