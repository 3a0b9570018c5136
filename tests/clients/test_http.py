"""Shared HTTP helper: User-Agent, timeouts, retry rules, errors, secrets, pacing."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
import urllib3

from app import __version__
from app.clients.http import (
    AuthError,
    BadRequest,
    BadResponse,
    HttpClient,
    NotFound,
    RateLimited,
    RateLimiter,
    RetryPolicy,
    Unavailable,
    UpstreamError,
    build_session,
    parse_datetime,
    parse_retry_after,
    scrub,
    shared_limiter,
    stats,
    user_agent,
)

URL = "https://svc.example/api/thing"


def make(sleeps, retry, **kwargs) -> HttpClient:
    return HttpClient("svc", sleep=sleeps.append, retry=retry, **kwargs)


def test_it_builds_the_user_agent_with_version_and_optional_contact():
    assert user_agent() == f"Resonance/{__version__}"
    assert user_agent("https://example.org/resonance") == f"Resonance/{__version__} ( https://example.org/resonance )"
    session = build_session("mailto:me@example.org")
    assert session.headers["User-Agent"] == f"Resonance/{__version__} ( mailto:me@example.org )"


def test_it_sends_user_agent_and_explicit_timeouts(requests_mock, sleeps, retry):
    requests_mock.get(URL, json={"ok": True})
    http = make(sleeps, retry, contact="https://example.org", timeout=(3.0, 20.0))
    response = http.request("GET", URL)
    assert http.json(response) == {"ok": True}
    sent = requests_mock.last_request
    assert sent.headers["User-Agent"] == f"Resonance/{__version__} ( https://example.org )"
    assert sent.timeout == (3.0, 20.0)


def test_it_replaces_the_default_requests_user_agent_of_an_injected_session(requests_mock, sleeps, retry):
    requests_mock.get(URL, json={})
    http = make(sleeps, retry, session=requests.Session())
    http.request("GET", URL)
    assert requests_mock.last_request.headers["User-Agent"].startswith("Resonance/")


def test_it_retries_503_honouring_retry_after_then_succeeds(requests_mock, sleeps, retry):
    requests_mock.get(URL, [
        {"status_code": 503, "headers": {"Retry-After": "3"}, "text": "busy"},
        {"status_code": 200, "json": {"ok": 1}},
    ])
    response = make(sleeps, retry).request("GET", URL)
    assert response.status_code == 200
    assert sleeps == [3.0]
    assert requests_mock.call_count == 2


def test_it_backs_off_exponentially_with_jitter_on_502_504_and_429(requests_mock, sleeps):
    policy = RetryPolicy(max_attempts=4, base_delay=1.0, jitter=0.5, max_total_wait=60)
    requests_mock.get(URL, [
        {"status_code": 502, "text": "<html>bad gateway</html>", "headers": {"Content-Type": "text/html"}},
        {"status_code": 504, "text": ""},
        {"status_code": 429, "text": ""},
        {"status_code": 200, "json": {}},
    ])
    http = HttpClient("svc", sleep=sleeps.append, retry=policy, rand=lambda: 1.0)
    http.request("GET", URL)
    assert sleeps == [1.5, 3.0, 6.0]


def test_it_retries_connection_errors_and_timeouts(requests_mock, sleeps, retry):
    requests_mock.get(URL, [
        {"exc": requests.exceptions.ConnectionError("refused")},
        {"exc": requests.exceptions.ReadTimeout("slow")},
        {"status_code": 200, "json": {"fine": True}},
    ])
    assert make(sleeps, retry).request("GET", URL).json() == {"fine": True}
    assert sleeps == [1.0, 2.0]


@pytest.mark.parametrize(
    "status, error",
    [(400, BadRequest), (401, AuthError), (403, AuthError), (404, NotFound)],
)
def test_it_never_retries_client_errors(requests_mock, sleeps, retry, status, error):
    requests_mock.get(URL, status_code=status, json={"error": "nope"})
    with pytest.raises(error) as caught:
        make(sleeps, retry).request("GET", URL)
    assert requests_mock.call_count == 1
    assert sleeps == []
    assert caught.value.status == status
    assert caught.value.retryable is False
    assert "nope" in str(caught.value)


def test_it_retries_a_500(requests_mock, sleeps, retry):
    requests_mock.get(URL, [{"status_code": 500, "json": {"error": "boom"}}, {"json": {"ok": 1}}])
    assert make(sleeps, retry).request("GET", URL).json() == {"ok": 1}
    assert requests_mock.call_count == 2 and sleeps == [1.0]


def test_it_retries_a_json_reply_cut_short(requests_mock, sleeps, retry):
    whole = '{"artists": [{"name": "Sigur Rós"}, {"name": "Múm"}]}'
    requests_mock.get(URL, [
        {"text": whole[:20], "headers": {"Content-Type": "application/json"}},
        {"text": whole[:31], "headers": {"Content-Type": "text/plain"}},  # the caller said JSON: cut too
        {"text": whole, "headers": {"Content-Type": "application/json"}},
    ])
    http = make(sleeps, retry)
    assert http.json(http.request("GET", URL, expect_json=True)) == {"artists": [{"name": "Sigur Rós"}, {"name": "Múm"}]}
    assert requests_mock.call_count == 3 and sleeps == [1.0, 2.0]


def test_it_gives_up_on_replies_cut_short_with_a_bad_response(requests_mock, sleeps, retry):
    requests_mock.get(URL, text='{"half": ', headers={"Content-Type": "application/json"})
    with pytest.raises(BadResponse) as caught:
        make(sleeps, retry).request("GET", URL)
    assert requests_mock.call_count == 4
    assert caught.value.retryable and "gave up after 4 attempts" in str(caught.value)


@pytest.mark.parametrize("fault", [
    {"status_code": 500, "json": {"error": "boom"}},
    {"status_code": 502, "text": "<html>bad gateway</html>"},
    {"exc": requests.exceptions.ReadTimeout("slow")},
    {"exc": requests.exceptions.ConnectionError("Connection reset by peer")},
    {"status_code": 201, "text": '{"id": "a1b2', "headers": {"Content-Type": "application/json"}},
])
def test_it_does_not_repeat_a_post_that_may_have_been_done(requests_mock, sleeps, retry, fault):
    requests_mock.post(URL, [fault, {"status_code": 201, "json": {"id": "x"}}])
    with pytest.raises(UpstreamError) as caught:
        make(sleeps, retry).request("POST", URL, json={"do": "it"})
    assert requests_mock.call_count == 1 and sleeps == []
    assert caught.value.maybe_done is True
    assert caught.value.retryable  # trying later can help, once the caller has looked


@pytest.mark.parametrize("fault", [
    {"exc": requests.exceptions.ConnectTimeout("no connection")},
    {"exc": requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, URL, urllib3.exceptions.NewConnectionError(None, "Connection refused")))},
    {"status_code": 429, "json": "Only one concurrent operation is permitted."},
])
def test_it_repeats_a_post_that_surely_did_nothing(requests_mock, sleeps, retry, fault):
    requests_mock.post(URL, [fault, {"status_code": 201, "json": {"id": "x"}}])
    assert make(sleeps, retry).request("POST", URL, json={"do": "it"}).json() == {"id": "x"}
    assert requests_mock.call_count == 2


def test_a_post_refused_with_503_was_not_done(requests_mock, sleeps, retry):
    requests_mock.post(URL, status_code=503, text="busy")
    with pytest.raises(Unavailable) as caught:
        make(sleeps, retry).request("POST", URL)
    assert requests_mock.call_count == 1 and caught.value.maybe_done is False


def test_it_repeats_a_post_the_caller_says_is_safe(requests_mock, sleeps, retry):
    requests_mock.post(URL, [{"exc": requests.exceptions.ReadTimeout("slow")}, {"status_code": 500, "text": ""},
                             {"json": {"read": "only"}}])
    assert make(sleeps, retry).request("POST", URL, retry_unsafe=True).json() == {"read": "only"}
    assert requests_mock.call_count == 3


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
def test_it_repeats_methods_that_do_nothing_twice_after_a_lost_reply(requests_mock, sleeps, retry, method):
    requests_mock.register_uri(method, URL, [{"exc": requests.exceptions.ReadTimeout("slow")},
                                             {"status_code": 504, "text": ""}, {"status_code": 200, "text": ""}])
    assert make(sleeps, retry).request(method, URL).status_code == 200
    assert requests_mock.call_count == 3


def test_it_counts_requests_and_retries_per_service(requests_mock, sleeps, retry):
    stats.reset()
    requests_mock.get(URL, [{"status_code": 503, "text": ""}, {"status_code": 500, "text": ""}, {"json": {}}])
    make(sleeps, retry).request("GET", URL)
    HttpClient("other", sleep=sleeps.append, retry=retry).request("GET", URL)
    assert stats.snapshot() == {"svc": {"requests": 3, "retries": 2, "status_503": 1, "status_500": 1},
                                "other": {"requests": 1, "retries": 0}}
    assert stats.describe() == "other 1 requests, svc 3 requests (2 retries)"
    stats.reset()
    assert stats.snapshot() == {}


def test_it_raises_unavailable_when_the_retry_budget_is_exhausted(requests_mock, sleeps, retry):
    requests_mock.get(URL, status_code=503, text="<html><body>Service Unavailable</body></html>",
                      headers={"Content-Type": "text/html"})
    with pytest.raises(Unavailable) as caught:
        make(sleeps, retry).request("GET", URL)
    assert requests_mock.call_count == 4
    assert sleeps == [1.0, 2.0, 4.0]
    assert caught.value.status == 503
    assert "gave up after 4 attempts" in str(caught.value)
    assert "<html>" not in str(caught.value)


def test_it_stops_when_the_server_asks_for_longer_than_the_total_budget(requests_mock, sleeps, retry):
    requests_mock.get(URL, status_code=429, headers={"Retry-After": "600"})
    with pytest.raises(RateLimited) as caught:
        make(sleeps, retry).request("GET", URL)
    assert sleeps == []
    assert caught.value.retry_after == 600.0
    assert caught.value.retryable


def test_it_reads_retry_after_as_an_http_date():
    now = datetime(2025, 11, 20, 10, 0, 0, tzinfo=timezone.utc)
    header = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(header, now=lambda: now) == pytest.approx(7.0)
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_it_maps_a_200_html_body_to_bad_response(requests_mock, sleeps, retry):
    requests_mock.get(URL, text="<!doctype html><html>app</html>", headers={"Content-Type": "text/html"})
    http = make(sleeps, retry)
    response = http.request("GET", URL)
    with pytest.raises(BadResponse) as caught:
        http.json(response)
    assert "non-JSON" in str(caught.value)
    assert caught.value.retryable is False


def test_it_never_puts_query_secrets_or_registered_secrets_in_messages(requests_mock, sleeps, retry):
    secret = "s3cr3t-key-0123456789"
    url = f"https://svc.example/api/thing?api_key={secret}&t=abcdef"
    requests_mock.get(url, exc=requests.exceptions.ConnectionError(
        f"HTTPSConnectionPool(host='svc.example'): Max retries exceeded with url: /api/thing?api_key={secret}&t=abcdef"
    ))
    http = make(sleeps, RetryPolicy(max_attempts=1), secrets=[secret])
    with pytest.raises(Unavailable) as caught:
        http.request("GET", url)
    text = str(caught.value) + repr(caught.value)
    assert secret not in text
    assert "abcdef" not in text
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_it_scrubs_secrets_echoed_in_error_bodies(requests_mock, sleeps, retry):
    requests_mock.get(URL, status_code=400, json={"error": "bad key topsecret"})
    with pytest.raises(BadRequest) as caught:
        make(sleeps, retry, secrets=["topsecret"]).request("GET", URL)
    assert "topsecret" not in str(caught.value)
    assert scrub("x?a=1 b topsecret", ["topsecret"]) == "x?… b ***"


def test_it_spaces_requests_with_the_rate_limiter(clock):
    limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep)
    limiter.wait()
    limiter.wait()
    clock.now += 0.25
    limiter.wait()
    assert clock.sleeps == [1.0, 0.75]
    limiter.defer(5.0)
    limiter.wait()
    assert clock.sleeps[-1] == 5.0


def test_it_keeps_spacing_across_threads():
    slot_starts: list[float] = []

    def sleep_then_note(seconds: float) -> None:
        # Runs inside the limiter's lock, so the notes are the real slot times, in order.
        time.sleep(seconds)
        slot_starts.append(time.monotonic())

    limiter = RateLimiter(0.02, sleep=sleep_then_note)

    def worker():
        for _ in range(3):
            limiter.wait()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gaps = [b - a for a, b in zip(slot_starts, slot_starts[1:])]
    assert len(slot_starts) >= 8  # most slots had to wait for the one before
    assert min(gaps) >= 0.0195


def test_it_shares_one_limiter_per_service_and_host():
    a = shared_limiter("mb-test", "https://musicbrainz.org", 1.0)
    b = shared_limiter("mb-test", "https://musicbrainz.org/ws/2/", 1.0)
    c = shared_limiter("mb-test", "http://mirror:5000", 1.0)
    assert a is b
    assert a is not c


def test_it_parses_timestamps_with_and_without_z():
    with_z = parse_datetime("2025-11-20T18:05:10.2141234Z")
    without = parse_datetime("2025-11-20T18:05:10.214123")
    assert with_z == without
    assert with_z.tzinfo is not None
    assert parse_datetime("") is None
    assert parse_datetime("not a date") is None


def test_it_reports_errors_as_upstream_errors_with_service_names():
    err = Unavailable("musicbrainz", "GET /ws/2/x failed", status=503)
    assert isinstance(err, UpstreamError)
    assert str(err) == "musicbrainz: GET /ws/2/x failed"
    assert err.retryable


def test_a_post_to_a_closed_port_is_tried_again_and_known_not_done(sleeps, retry):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(Unavailable) as caught:
        make(sleeps, retry).request("POST", f"http://127.0.0.1:{port}/api/v0/searches", json={})
    assert sleeps == [1.0, 2.0, 4.0]  # all four attempts: the request never left
    assert caught.value.maybe_done is False and "connection refused" in str(caught.value)


def test_a_process_writes_its_counts_where_the_environment_says_when_it_exits(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "counts.json"
    code = ("from app.clients.http import stats\n"
            "stats.count('musicbrainz', 'requests'); stats.count('musicbrainz', 'retries')\n")
    subprocess.run([sys.executable, "-c", code], check=True, env={**__import__("os").environ,
                                                                  "RESONANCE_HTTP_STATS_FILE": str(out)})
    assert json.loads(out.read_text()) == {"musicbrainz": {"requests": 1, "retries": 1}}
