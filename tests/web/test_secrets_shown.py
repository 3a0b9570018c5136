"""No secret, in any form, on a page, in the API, in a job's status or log.

Last.fm here is a real HTTP server on 127.0.0.1 that echoes the key it was sent
back in its error message, escaped every way a service might.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
import yaml
from websupport import PASSWORD, USER, Client, parse

from app import create_app
from jobs.runner import JobRunner
from test_secrets import SECRET, assert_masked

# As a YAML | block leaves it: with a newline at the end.
CONFIGURED = SECRET + "\n"


def echoes(value: str) -> str:
    return f"key {value!r} = {json.dumps(value)} = {urlencode({'api_key': value})} = {quote(value)}"


class EchoingLastFm(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        key = parse_qs(urlsplit(self.path).query).get("api_key", [""])[0]
        body = json.dumps({"error": 10, "message": f"Invalid API key - {echoes(key)}"}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def lastfm_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingLastFm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/2.0/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(repository, tmp_path, lastfm_url) -> Client:
    config = {"web": {"auth": "basic", "username": USER, "password": PASSWORD},
              "lastfm": {"base_url": lastfm_url, "api_key": CONFIGURED}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, default_style="|"), encoding="utf-8")
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["lastfm"]["api_key"] == CONFIGURED
    app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
    app.test_client_class = Client
    return app.test_client()


def test_it_never_shows_a_configured_secret_in_a_connection_test(client):
    for htmx in (False, True):
        response = client.form("/settings/test/lastfm", htmx=htmx)
        assert response.status_code == 200
        assert "Invalid API key" in response.text  # the service's message is shown ...
        assert_masked(response.text)  # ... without the key in any form


def test_it_never_shows_a_typed_secret_in_a_connection_test(client):
    typed = 'Typ"ed\\key/ö+&\n'
    response = client.form("/settings/test/lastfm", {"lastfm.api_key": typed}, htmx=True)
    assert "Invalid API key" in response.text
    assert_masked(response.text, typed)


def test_it_never_shows_a_secret_from_a_failed_run(client, repository):
    def leaky_run(ctx):
        raise ValueError(f"the service refused {echoes(SECRET)}")

    runner = JobRunner("lb-fetch", repository, run_once=leaky_run)
    with runner.keeping_log(runner.load_settings()):
        result = runner.run()
    assert result.outcome == "failed"
    assert_masked(result.error)
    status = repository.job_statuses()["lb-fetch"]
    assert "the service refused" in status["last_run"]["error"]
    assert_masked(json.dumps(status, ensure_ascii=False))
    log = repository.job_log("lb-fetch")
    assert any("the service refused" in line["message"] for line in log)
    assert_masked(json.dumps(log, ensure_ascii=False))
    for page in ("/jobs", "/downloads", "/api/v1/jobs", "/api/v1/jobs/lb-fetch/log"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert_masked(response.text)
    assert "the service refused" in client.get("/jobs").text


def test_it_refuses_a_secret_with_a_line_break_inside_next_to_the_field(client, repository):
    typed = "first-half-0123\nsecond-half-4567"
    page = client.form("/settings", {"slskd.api_key": typed}, htmx=True)
    assert page.status_code == 422
    error = parse(page.text).one("#f-slskd-api_key-error").text
    assert "control character" in error
    api = client.patch("/api/v1/settings", json={"slskd": {"api_key": typed}})
    assert api.status_code == 400
    assert "control character" in " ".join(api.json["error"]["details"]["slskd.api_key"])
    for response in (page, api):
        assert "first-half" not in response.text and "second-half" not in response.text
    assert "api_key" not in repository.saved_settings().get("slskd", {})
