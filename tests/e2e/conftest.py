"""Browser tests: Debian's Chromium driven by Playwright, a phone viewport, a live server on 127.0.0.1."""

from __future__ import annotations

import threading

import pytest
import yaml
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.sandbox import Sandbox, SandboxSettings

USER, PASSWORD = "alice", "wonderland"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = "Galaxy S8"  # 360 px wide: the narrowest screen Resonance promises to be readable on


@pytest.fixture(scope="session")
def base_url():
    # pytest-playwright's fallback base_url fixture is an instance method, which pytest 9
    # warns about (an error under filterwarnings=error); the live server gives full URLs anyway.
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, playwright):
    phone = dict(playwright.devices[PHONE])
    phone.pop("default_browser_type", None)
    return {**browser_context_args, **phone, "http_credentials": {"username": USER, "password": PASSWORD}}


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def serve_app():
    """``with serve_app(app) as server:`` an app of the test's own making on 127.0.0.1, as live_server serves."""
    return LiveServer


@pytest.fixture
def live_server(repository, tmp_path):
    """The app on 127.0.0.1 with the sandbox as every outside service (covers come from its Cover Art Archive).

    The sandbox's addresses go in the config file, not the environment, so the settings page can still edit them.
    """
    with Sandbox(settings=SandboxSettings.fast()) as sandbox:
        config: dict = {"web": {"auth": "basic", "username": USER, "password": PASSWORD}}
        for name, value in sandbox.resonance_environment().items():
            section, key = name.removeprefix("RESONANCE_").lower().split("__")
            config.setdefault(section, {})[key] = value
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        app = create_app({"REPOSITORY": repository, "SETTINGS_TTL": 0})
        with LiveServer(app) as server:
            server.sandbox = sandbox
            yield server


@pytest.fixture
def watched_page(page, live_server):
    """The page, recording every request to another host (but the covers) and every console error."""
    page.outside_requests = []
    page.console_errors = []
    allowed = (live_server.url, live_server.sandbox.urls["coverart"])  # covers are the one outside request allowed
    page.on("request", lambda r: None if r.url.startswith(allowed) else page.outside_requests.append(r.url))
    # A 4xx answer (a 422 form, a missing cover) is logged by Chromium as "Failed to load resource": expected.
    page.on("console", lambda m: page.console_errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm; an XSS alert would show in dialogs
    return page
