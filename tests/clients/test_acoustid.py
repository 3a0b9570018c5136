"""AcoustID client: the lookup's form body, every result's recordings, errors by their code."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from app.clients.acoustid import AcoustIdClient
from app.clients.http import AuthError, RateLimiter

BASE = "https://api.acoustid.test"


@pytest.fixture
def client(sleeps):
    return AcoustIdClient("app-key", BASE, limiter=RateLimiter(0.0), sleep=sleeps)


def test_it_posts_the_fingerprint_as_a_form_and_keeps_every_results_recordings(requests_mock, client):
    requests_mock.post(f"{BASE}/v2/lookup", json={"status": "ok", "results": [
        {"id": "low", "score": 0.5, "recordings": [{"id": "r3"}]},
        {"id": "high", "score": 0.97, "recordings": [{"id": "r1"}, {"id": "r2"}]},
        {"id": "unlinked", "score": 0.9},
    ]})
    matches = client.lookup("AQAAfingerprint", 241.7)
    sent = parse_qs(requests_mock.last_request.text)
    assert sent == {"client": ["app-key"], "format": ["json"], "meta": ["recordingids"], "duration": ["241"],
                    "fingerprint": ["AQAAfingerprint"]}
    assert [(m.acoustid, m.recording_mbids) for m in matches] == [
        ("high", ("r1", "r2")), ("unlinked", ()), ("low", ("r3",))]


def test_a_refused_key_is_an_auth_error_without_the_key_in_its_message(requests_mock, client):
    requests_mock.post(f"{BASE}/v2/lookup", status_code=400,
                       json={"status": "error", "error": {"code": 4, "message": "invalid API key app-key"}})
    with pytest.raises(AuthError) as raised:
        client.lookup("AQAA", 10)
    assert "app-key" not in str(raised.value)
    assert requests_mock.call_count == 1


def test_a_busy_service_is_retried(requests_mock, client):
    requests_mock.post(f"{BASE}/v2/lookup", [{"status_code": 503}, {"json": {"status": "ok", "results": []}}])
    assert client.lookup("AQAA", 10) == []
    assert requests_mock.call_count == 2
