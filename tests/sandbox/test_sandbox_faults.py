"""Random and targeted faults of the fake services, and the figures a fault benchmark reads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from app.cli import build_parser
from app.sandbox import Sandbox, SandboxSettings
from app.sandbox.core import FAULT_KINDS, parse_fault_kinds

ROOT = Path(__file__).resolve().parents[2]


def _start_search(sb: Sandbox, text: str = "sigur ros", search_id: str | None = None):
    search_id = search_id or str(uuid.uuid4())
    response = requests.post(f"{sb.urls['slskd']}/api/v0/searches", json={"id": search_id, "searchText": text},
                             headers={"X-API-Key": sb.credentials["slskd"]["api_key"]}, timeout=5)
    return search_id, response


def _search_exists(sb: Sandbox, search_id: str) -> bool:
    response = requests.get(f"{sb.urls['slskd']}/api/v0/searches/{search_id}",
                            headers={"X-API-Key": sb.credentials["slskd"]["api_key"]}, timeout=5)
    return response.status_code == 200


def _faults_seen(seed: int, rate: float = 0.3, requests_made: int = 40) -> list[str | None]:
    with Sandbox(settings=SandboxSettings.fast(hang_seconds=0.2)) as sb:
        sb.inject_faults(rate, seed=seed)
        for _ in range(requests_made):
            try:
                requests.get(sb.urls["listenbrainz"] + "/1/stats/sitewide/artists", timeout=5)
            except requests.RequestException:
                pass
        return [r.fault for r in sb.requests("listenbrainz")]


def test_random_faults_are_repeatable_with_a_seed_and_hit_about_the_rate():
    first, again, other = _faults_seen(7), _faults_seen(7), _faults_seen(8)
    assert first == again
    assert first != other
    hit = [f for f in first if f]
    assert 4 <= len(hit) <= 24  # 30 % of 40, give or take what a fixed seed draws
    assert {f for f in hit} <= {"error=500", "timeout,reset", "malformed", "reset"}  # GETs lose no reply


def test_a_rate_of_zero_injects_nothing_and_one_injects_every_time():
    assert not any(_faults_seen(3, rate=0.0, requests_made=10))
    assert all(_faults_seen(3, rate=1.0, requests_made=10))


def test_a_500_or_a_reset_does_nothing(sandbox):
    sandbox.faults("slskd").set(error=500, count=1)
    search_id, response = _start_search(sandbox)
    assert response.status_code == 500 and "nginx" in response.text
    assert not _search_exists(sandbox, search_id)
    sandbox.faults("slskd").set(reset=True, count=1)
    with pytest.raises(requests.ConnectionError):
        _start_search(sandbox, search_id=search_id)
    assert not _search_exists(sandbox, search_id)


def test_a_timeout_holds_the_request_then_drops_it_undone(sandbox):
    sandbox.settings.hang_seconds = 0.3
    sandbox.faults("slskd").set(timeout=True, reset=True, count=1)
    with pytest.raises(requests.ConnectionError):
        _start_search(sandbox)
    assert sandbox.slskd_state.searches == {}
    (record,) = sandbox.requests("slskd")
    assert record.fault == "timeout,reset" and record.status is None


def test_an_unreadable_201_is_done_but_its_reply_is_cut_off(sandbox):
    sandbox.faults("slskd").set(reply_lost=True, method="POST", path="/api/v0/searches", count=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _start_search(sandbox, search_id="6a1d5b3e-0c8f-4e71-9a43-2f6b7d8e9c10")
    assert _search_exists(sandbox, "6a1d5b3e-0c8f-4e71-9a43-2f6b7d8e9c10")  # the GET was not aimed at


def test_a_truncated_body_is_done_and_answered_with_half_its_json(sandbox):
    sandbox.faults("slskd").set(malformed=True, count=1)
    search_id, response = _start_search(sandbox)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert _search_exists(sandbox, search_id)


def test_faults_can_be_stacked_and_aimed_at_a_body(sandbox):
    faults = sandbox.faults("slskd")
    faults.set(error=500, method="POST", path="/api/v0/searches", when=lambda r: "bjork" in r.body)
    faults.add(error=503, method="GET", count=1)
    _, bjork = _start_search(sandbox, "bjork homogenic")
    sigur_id, sigur = _start_search(sandbox, "sigur ros")
    assert (bjork.status_code, sigur.status_code) == (500, 200)
    assert not _search_exists(sandbox, sigur_id)  # the GET got the 503
    assert _search_exists(sandbox, sigur_id)  # once only
    assert faults.injected == 2


def test_it_counts_searches_in_flight_per_window_and_deleted(sandbox):
    sandbox.settings.slskd_search_seconds = 30
    ids = [_start_search(sandbox, text)[0] for text in ("sigur ros", "bjork", "portishead")]
    requests.delete(f"{sandbox.urls['slskd']}/api/v0/searches/{ids[0]}",
                    headers={"X-API-Key": sandbox.credentials["slskd"]["api_key"]}, timeout=5)
    _start_search(sandbox, "massive attack")
    figures = sandbox.figures()
    assert figures["searches_started"] == 4
    assert figures["peak_searches_in_flight"] == 3  # 2 running + 1 queued in slskd, then one deleted
    assert figures["most_searches_in_window"] == 4
    assert figures["searches_not_deleted"] == 3 and figures["searches_running"] == 3
    assert figures["requests"]["slskd"] == 5 and figures["faults"]["slskd"] == 0


def test_it_counts_an_enqueue_asking_again_for_a_queued_file(sandbox):
    def enqueue() -> requests.Response:
        return requests.post(f"{sandbox.urls['slskd']}/api/v0/transfers/downloads/nordicfan",
                             json=[{"filename": "@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]\\01 - Untitled.flac",
                                    "size": 1000}],
                             headers={"X-API-Key": sandbox.credentials["slskd"]["api_key"]}, timeout=5)

    assert enqueue().status_code == 201
    assert sandbox.figures()["duplicate_enqueues"] == 0
    enqueue()
    assert sandbox.figures()["duplicate_enqueues"] == 1
    assert sandbox.figures()["enqueue_requests"] == 2


def test_it_counts_musicbrainz_503s_from_its_rate_limit_not_from_faults(sandbox, user_agent):
    sandbox.settings.update(musicbrainz_rate=1.0, musicbrainz_burst=1)
    sandbox.faults("musicbrainz").set(error=503, count=1)
    for _ in range(4):
        requests.get(sandbox.urls["musicbrainz"] + "/ws/2/artist", params={"query": "x", "fmt": "json"},
                     headers={"User-Agent": user_agent}, timeout=5)
    statuses = [r.status for r in sandbox.requests("musicbrainz")]
    assert statuses[0] == 503 and statuses[1] == 200 and statuses[2:].count(503) >= 1  # a fault, then the limit
    assert sandbox.figures()["musicbrainz_503s"] == statuses.count(503) - 1


def test_fault_kinds_are_parsed_and_checked():
    assert parse_fault_kinds("500, reset") == ("500", "reset")
    assert parse_fault_kinds("all") == parse_fault_kinds("") == FAULT_KINDS
    with pytest.raises(ValueError, match="unknown fault kind 'teapot'"):
        parse_fault_kinds("500,teapot")


def test_the_demo_takes_a_fault_rate_as_a_share_or_a_percentage(capsys):
    args = build_parser().parse_args(["demo", "--fault-rate", "20%", "--fault-kinds", "500,timeout",
                                      "--fault-seed", "3"])
    assert (args.fault_rate, args.fault_kinds, args.fault_seed) == (0.2, "500,timeout", 3)
    assert build_parser().parse_args(["demo", "--fault-rate", "0.05"]).fault_rate == 0.05
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--fault-rate", "2"])
    assert "between 0 and 1" in capsys.readouterr().err


def test_the_command_line_sandbox_misbehaves_at_the_rate_asked():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "app.sandbox", "--fault-rate", "1", "--fault-kinds", "500", "--fault-seed", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        described = json.loads(process.stdout.readline())
        response = requests.get(described["urls"]["slskd"] + "/api/v0/session",
                                headers={"X-API-Key": described["credentials"]["slskd"]["api_key"]}, timeout=5)
        assert response.status_code == 500
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err


def test_the_command_line_sandbox_refuses_an_unknown_fault_kind():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "app.sandbox", "--fault-kinds", "teapot"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "unknown fault kind" in done.stderr
