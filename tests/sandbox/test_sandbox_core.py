"""Sandbox plumbing: ports, request log, fault injection, life cycle, command line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from conditions import wait_for

from app.sandbox import SERVICES, Sandbox, SandboxSettings, start_sandbox

ROOT = Path(__file__).resolve().parents[2]


def test_it_serves_every_service_on_its_own_port(sandbox, user_agent):
    ports = sandbox.ports
    assert set(ports) == set(SERVICES)
    assert len(set(ports.values())) == len(SERVICES)
    assert sandbox.urls["lastfm"].endswith("/2.0/")
    for name in SERVICES:
        with socket.create_connection(("127.0.0.1", ports[name]), timeout=2):
            pass
    assert set(sandbox.credentials) == {"listenbrainz", "lastfm", "subsonic", "slskd"}
    assert sandbox.credentials["listenbrainz"]["user"] == "rob"


def test_it_logs_requests_and_clears_them(sandbox, mb, lb):
    mb(sandbox, "artist", query="Björk")
    lb(sandbox, "/1/cf/recommendation/user/rob/recording", params={"count": 2})
    records = sandbox.requests("musicbrainz")
    assert len(records) == 1
    record = records[0]
    assert record.method == "GET"
    assert record.path == "/ws/2/artist"
    assert record.query == {"query": "Björk", "fmt": "json"}
    assert record.headers["User-Agent"].startswith("ResonanceSandboxTests/")
    assert record.status == 200 and record.duration is not None and record.time > 0
    assert len(sandbox.requests("listenbrainz")) == 1
    sandbox.clear_requests("musicbrainz")
    assert sandbox.requests("musicbrainz") == []
    assert len(sandbox.requests("listenbrainz")) == 1
    sandbox.clear_requests()
    assert sandbox.requests("listenbrainz") == []


def test_it_logs_json_bodies(sandbox, slskd):
    slskd(sandbox, "POST", "/searches", json={"searchText": "Múm Finally"})
    (record,) = sandbox.requests("slskd")
    assert record.json() == {"searchText": "Múm Finally"}
    assert record.headers["Content-Type"] == "application/json"


def test_it_injects_latency(sandbox, lb):
    sandbox.faults("listenbrainz").set(latency=0.3)
    started = time.monotonic()
    assert lb(sandbox, "/1/validate-token", params={"token": "x"}).status_code == 200
    assert time.monotonic() - started >= 0.3
    sandbox.faults("listenbrainz").clear()
    started = time.monotonic()
    lb(sandbox, "/1/validate-token", params={"token": "x"})
    assert time.monotonic() - started < 0.3


def test_it_injects_server_errors_for_a_number_of_requests(sandbox, mb):
    sandbox.faults("musicbrainz").set(error=502, count=2)
    first, second, third = (mb(sandbox, "artist", query="Air") for _ in range(3))
    assert first.status_code == second.status_code == 502
    assert "<html>" in first.text and "502 Bad Gateway" in first.text  # a proxy page, not JSON
    assert third.status_code == 200
    assert [r.fault for r in sandbox.requests("musicbrainz")] == ["error=502", "error=502", None]


def test_it_injects_an_error_with_a_custom_body(sandbox, lastfm):
    sandbox.faults("lastfm").set(error=500, error_body='{"error": 8, "message": "Operation failed"}')
    response = lastfm(sandbox, method="artist.getsimilar", artist="Björk")
    assert response.status_code == 500
    assert response.json()["error"] == 8


def test_it_injects_truncated_json(sandbox, lb):
    sandbox.faults("listenbrainz").set(malformed=True)
    response = lb(sandbox, "/1/cf/recommendation/user/rob/recording")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    sandbox.faults("listenbrainz").clear()
    assert lb(sandbox, "/1/cf/recommendation/user/rob/recording").json()["payload"]["count"] == 25


def test_it_refuses_connections_until_cleared(sandbox, slskd):
    with requests.Session() as session:
        # a pooled keep-alive connection must not survive the refusal either
        key = {"X-API-Key": sandbox.credentials["slskd"]["api_key"]}
        assert session.get(sandbox.urls["slskd"] + "/api/v0/session", headers=key, timeout=2).status_code == 200
        sandbox.faults("slskd").set(refuse=True)
        with pytest.raises(requests.ConnectionError):
            session.get(sandbox.urls["slskd"] + "/api/v0/session", headers=key, timeout=2)
        with pytest.raises(requests.ConnectionError):
            slskd(sandbox, "GET", "/session")
        sandbox.faults("slskd").clear()
        assert session.get(sandbox.urls["slskd"] + "/api/v0/session", headers=key, timeout=2).status_code == 200


def test_it_holds_requests_past_the_client_timeout_on_a_timeout_fault(sandbox, lb):
    sandbox.faults("listenbrainz").set(timeout=True)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        requests.get(sandbox.urls["listenbrainz"] + "/1/validate-token?token=x", timeout=0.3)
    assert time.monotonic() - started < 2
    sandbox.faults("listenbrainz").clear()  # also releases the held request
    assert lb(sandbox, "/1/validate-token", params={"token": "x"}).status_code == 200


def test_it_releases_held_requests_when_the_faults_change(sandbox):
    sandbox.faults("coverart").set(timeout=True)
    results: list = []
    thread = threading.Thread(target=lambda: results.append(
        requests.get(sandbox.urls["coverart"] + "/release-group/nope/front", timeout=5)))
    thread.start()
    wait_for(lambda: any(r.fault for r in sandbox.requests("coverart")), what="the request being held")
    sandbox.faults("coverart").set(latency=0.01)
    thread.join(timeout=3)
    assert results and results[0].status_code == 400  # answered normally once released


def test_it_names_the_services_it_knows(sandbox):
    with pytest.raises(KeyError, match="unknown service"):
        sandbox.faults("spotify")


def test_it_applies_faults_only_inside_the_with_block(sandbox, mb):
    with sandbox.faults("musicbrainz").applied(error=503):
        assert mb(sandbox, "artist", query="Air").status_code == 503
    assert mb(sandbox, "artist", query="Air").status_code == 200


def test_it_stops_listening_when_the_block_ends():
    with Sandbox(settings=SandboxSettings.fast()) as sb:
        url = sb.urls["musicbrainz"]
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/ws/2/artist?query=x&fmt=json", timeout=2)


def test_it_listens_on_consecutive_ports_from_a_port_base():
    base = _free_port_run(len(SERVICES))
    sb = start_sandbox(port_base=base, settings=SandboxSettings.fast())
    try:
        assert list(sb.ports.values()) == list(range(base, base + len(SERVICES)))
        assert sb.urls["listenbrainz"] == f"http://127.0.0.1:{base}"
    finally:
        sb.stop()


def test_it_serves_subsonic_and_slskd_under_path_prefixes(subsonic, subsonic_ok, slskd):
    with Sandbox(settings=SandboxSettings.fast(subsonic_prefix="/music", slskd_url_base="/slskd")) as sb:
        assert sb.urls["subsonic"].endswith("/music")
        assert subsonic_ok(subsonic(sb, "ping"))["status"] == "ok"
        root = sb.urls["subsonic"].removesuffix("/music")
        assert requests.get(root + "/rest/ping.view", timeout=2).status_code == 404
        assert sb.urls["slskd"].endswith("/slskd")
        assert slskd(sb, "GET", "/application/version").json() == "0.25.1"


def test_it_rejects_unknown_settings():
    with pytest.raises(TypeError, match="unknown sandbox setting"):
        Sandbox(slskd_search_secs=1)


def test_it_runs_from_the_command_line():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "app.sandbox", "--search-seconds", "0.5"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        described = json.loads(process.stdout.readline())
        assert set(described["urls"]) == set(SERVICES)
        slskd_key = described["credentials"]["slskd"]["api_key"]
        response = requests.get(described["urls"]["slskd"] + "/api/v0/session", headers={"X-API-Key": slskd_key},
                                timeout=5)
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err


def _free_port_run(length: int) -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + length >= 65535:
            continue
        sockets = []
        try:
            for port in range(base, base + length):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no run of free ports found")
