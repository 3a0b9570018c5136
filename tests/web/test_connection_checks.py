""""Test connection": each service's check against requests-mock, and no secret in any message."""

import pytest
import requests

from app.config import load_settings
from app.web.connection_checks import run_check

LB = "https://api.listenbrainz.org/1"
LASTFM = "https://ws.audioscrobbler.com/2.0/"
SUBSONIC = "http://navidrome.test:4533/rest"
SLSKD = "http://slskd.test:5030/api/v0"
SECRETS = {"lb-token-0123456789", "lastfm-key-0123456789", "subsonic-pass-0123", "slskd-key-0123456789"}


@pytest.fixture
def settings():
    return load_settings({
        "listenbrainz": {"username": "rob", "token": "lb-token-0123456789"},
        "lastfm": {"api_key": "lastfm-key-0123456789"},
        "subsonic": {"base_url": "http://navidrome.test:4533", "username": "me", "password": "subsonic-pass-0123"},
        "slskd": {"base_url": "http://slskd.test:5030", "api_key": "slskd-key-0123456789"},
    }, env={})


def assert_no_secret(message):
    assert not any(secret in message for secret in SECRETS), message


def test_it_validates_the_listenbrainz_token(settings, requests_mock):
    requests_mock.get(f"{LB}/validate-token", json={"valid": True, "user_name": "rob"})
    assert run_check("listenbrainz", settings) == (True, "The token is valid for rob.")
    assert requests_mock.last_request.headers["Authorization"] == "Token lb-token-0123456789"
    requests_mock.get(f"{LB}/validate-token", json={"valid": False, "message": "Invalid token"})
    assert run_check("listenbrainz", settings) == (False, "ListenBrainz says the token is not valid.")


def test_it_checks_listenbrainz_without_a_token_by_user(requests_mock):
    settings = load_settings({"listenbrainz": {"username": "rob"}}, env={})
    requests_mock.get(f"{LB}/cf/recommendation/user/rob/recording", status_code=204)
    ok, message = run_check("listenbrainz", settings)
    assert ok and "no recommendations for rob yet" in message
    assert run_check("listenbrainz", load_settings({}, env={}))[0] is False


def test_it_checks_the_lastfm_key(settings, requests_mock):
    requests_mock.get(LASTFM, json={"similarartists": {"artist": [{"name": "Justice", "match": "1"}],
                                                       "@attr": {"artist": "Daft Punk"}}})
    assert run_check("lastfm", settings) == (True, "Last.fm accepted the API key.")
    requests_mock.get(LASTFM, status_code=403, json={"error": 10, "message": "Invalid API key"})
    ok, message = run_check("lastfm", settings)
    assert not ok and "Invalid API key" in message
    assert_no_secret(message)
    assert run_check("lastfm", load_settings({}, env={})) == (False, "Set a Last.fm API key first.")


def test_it_pings_subsonic(settings, requests_mock):
    requests_mock.get(f"{SUBSONIC}/ping.view", json={"subsonic-response": {
        "status": "failed", "version": "1.16.1", "error": {"code": 40, "message": "Wrong username or password"}}})
    ok, message = run_check("subsonic", settings)
    assert not ok and "username or password" in message
    assert_no_secret(message)
    assert run_check("subsonic", load_settings({}, env={}))[0] is False


def test_it_checks_slskd_key_and_soulseek_login(settings, requests_mock):
    requests_mock.get(f"{SLSKD}/session", status_code=200)
    requests_mock.get(f"{SLSKD}/server", json={"state": "Connected, LoggedIn", "isConnected": True, "isLoggedIn": True})
    assert run_check("slskd", settings) == (True, "slskd accepted the API key and is logged in to Soulseek.")
    requests_mock.get(f"{SLSKD}/server", json={"state": "Disconnected", "isConnected": False, "isLoggedIn": False})
    ok, message = run_check("slskd", settings)
    assert not ok and "not logged in" in message
    requests_mock.get(f"{SLSKD}/session", status_code=401)
    assert run_check("slskd", settings) == (False, "slskd rejected the API key")


def test_it_reports_an_unreachable_service_without_secrets(settings, requests_mock):
    requests_mock.get(f"{SUBSONIC}/ping.view", exc=requests.exceptions.ConnectTimeout(
        "timed out for http://navidrome.test:4533/rest/ping.view?u=me&p=subsonic-pass-0123"))
    ok, message = run_check("subsonic", settings)
    assert not ok and "no answer in time (navidrome.test:4533)" in message
    assert_no_secret(message)
    assert len(requests_mock.request_history) == 1  # a person is waiting: no retries


def test_it_masks_a_secret_a_service_echoes_back(settings, requests_mock):
    requests_mock.get(f"{SLSKD}/session", status_code=403, json="key slskd-key-0123456789 is not allowed here")
    ok, message = run_check("slskd", settings)
    assert not ok
    assert_no_secret(message)


def test_it_turns_a_crash_into_a_message(settings, monkeypatch):
    from app.web import connection_checks

    def boom(settings):
        raise RuntimeError("lastfm-key-0123456789 exploded")

    monkeypatch.setitem(connection_checks.CHECKS, "lastfm", boom)
    ok, message = run_check("lastfm", settings)
    assert not ok and "server log" in message
    assert_no_secret(message)
