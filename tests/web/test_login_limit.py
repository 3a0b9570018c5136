"""Failed sign-ins: an address that keeps guessing is refused for a while, and nobody else is."""

import logging
import threading

import pytest
from websupport import PASSWORD, USER, basic_auth

from app.web.auth import SignInLimiter, forwarded_client_address

ATTEMPTS, WINDOW = 3, 60
WRONG = {"Authorization": basic_auth(USER, "not-the-password")}
RIGHT = {"Authorization": basic_auth(USER, PASSWORD)}
API_KEY = "a-long-api-key-for-scripts"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def limited_app(make_app, clock):
    def make(**web):
        app = make_app(login_attempts=ATTEMPTS, login_window=WINDOW, **web)
        app.extensions["sign_in_limiter"] = SignInLimiter(clock=clock)
        return app

    return make


@pytest.fixture
def client(limited_app):
    client = limited_app().test_client()
    client.authorization = None
    return client


def at(address: str) -> dict:
    return {"REMOTE_ADDR": address}


def fail(client, times: int, address: str = "192.0.2.1", path: str = "/", headers: dict | None = None):
    for _ in range(times):
        response = client.get(path, headers=headers or WRONG, environ_base=at(address))
        assert response.status_code == 401


def test_it_refuses_even_the_right_password_after_too_many_wrong_ones(client):
    fail(client, ATTEMPTS)
    response = client.get("/", headers=RIGHT, environ_base=at("192.0.2.1"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(WINDOW)
    assert "Too many attempts" in response.text and "Too many failed sign-ins" in response.text and "60 seconds" in response.text
    assert "Too many failed sign-ins" in response.text and "60 seconds" in response.text
    assert response.mimetype == "text/html"


def test_it_does_not_count_requests_without_credentials(client):
    for _ in range(ATTEMPTS * 3):
        assert client.get("/", environ_base=at("192.0.2.1")).status_code == 401
    fail(client, ATTEMPTS - 1)
    assert client.get("/", headers=RIGHT, environ_base=at("192.0.2.1")).status_code == 200


def test_it_lets_the_address_in_again_once_the_window_is_over(client, clock):
    fail(client, ATTEMPTS)
    clock.advance(WINDOW - 0.5)
    waiting = client.get("/", headers=RIGHT, environ_base=at("192.0.2.1"))
    assert waiting.status_code == 429 and waiting.headers["Retry-After"] == "1"
    clock.advance(0.5)
    assert client.get("/", headers=RIGHT, environ_base=at("192.0.2.1")).status_code == 200


def test_it_does_not_count_attempts_made_during_the_lockout(client, clock):
    fail(client, ATTEMPTS)
    clock.advance(WINDOW - 1)
    assert client.get("/", headers=WRONG, environ_base=at("192.0.2.1")).status_code == 429
    clock.advance(1)
    fail(client, ATTEMPTS - 1)  # a fresh count: the refused guesses did not extend anything
    assert client.get("/", headers=RIGHT, environ_base=at("192.0.2.1")).status_code == 200


def test_it_starts_counting_again_when_the_failures_are_spread_out(client, clock):
    fail(client, ATTEMPTS - 1)
    clock.advance(WINDOW)
    fail(client, ATTEMPTS - 1)
    assert client.get("/", headers=RIGHT, environ_base=at("192.0.2.1")).status_code == 200


def test_it_leaves_other_addresses_alone(client):
    fail(client, ATTEMPTS, address="192.0.2.1")
    assert client.get("/", headers=RIGHT, environ_base=at("192.0.2.2")).status_code == 200
    assert client.get("/", headers=WRONG, environ_base=at("192.0.2.2")).status_code == 401
    assert client.get("/", headers=RIGHT, environ_base=at("192.0.2.1")).status_code == 429


def test_it_clears_the_count_of_an_address_that_signs_in(client):
    fail(client, ATTEMPTS - 1)
    assert client.get("/", headers=RIGHT, environ_base=at("192.0.2.1")).status_code == 200
    fail(client, ATTEMPTS - 1)
    assert client.get("/", headers=RIGHT, environ_base=at("192.0.2.1")).status_code == 200


def test_it_keeps_counting_an_address_when_another_signs_in(client):
    fail(client, ATTEMPTS - 1, address="192.0.2.1")
    assert client.get("/", headers=RIGHT, environ_base=at("192.0.2.2")).status_code == 200
    fail(client, 1, address="192.0.2.1")
    assert client.get("/", headers=RIGHT, environ_base=at("192.0.2.1")).status_code == 429


def test_it_answers_the_api_with_json(limited_app):
    client = limited_app(api_key=API_KEY).test_client()
    client.authorization = None
    fail(client, ATTEMPTS, path="/api/v1/queue", headers={"X-API-Key": "wrong-key"})
    response = client.get("/api/v1/queue", headers={"X-API-Key": API_KEY}, environ_base=at("192.0.2.1"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(WINDOW)
    assert response.json["error"]["code"] == "too_many_requests"
    assert "Too many failed sign-ins" in response.json["error"]["message"]
    bearer = client.get("/api/v1/queue", headers={"Authorization": f"Bearer {API_KEY}"}, environ_base=at("192.0.2.1"))
    assert bearer.status_code == 429


def test_it_counts_wrong_bearer_tokens_and_garbled_headers(client):
    fail(client, 1, headers={"Authorization": "Bearer wrong"})
    fail(client, 1, headers={"Authorization": "Basic !!!"})
    fail(client, ATTEMPTS - 2)
    assert client.get("/", headers=RIGHT, environ_base=at("192.0.2.1")).status_code == 429


def test_it_logs_each_lockout_once(client, caplog):
    with caplog.at_level(logging.WARNING):
        fail(client, ATTEMPTS)
        for _ in range(3):
            assert client.get("/", headers=WRONG, environ_base=at("192.0.2.1")).status_code == 429
    lockouts = [r for r in caplog.records if "failed sign-ins" in r.getMessage()]
    assert len(lockouts) == 1 and lockouts[0].levelno == logging.WARNING
    assert "192.0.2.1" in lockouts[0].getMessage() and f"{ATTEMPTS} failed" in lockouts[0].getMessage()


def test_it_counts_an_ipv6_client_by_its_64(client):
    fail(client, ATTEMPTS - 1, address="2001:db8:1:2::1")
    fail(client, 1, address="2001:db8:1:2::ffff")
    assert client.get("/", headers=RIGHT, environ_base=at("2001:db8:1:2::77")).status_code == 429
    assert client.get("/", headers=RIGHT, environ_base=at("2001:db8:1:3::1")).status_code == 200


# --- behind a reverse proxy -------------------------------------------------------------------


def test_it_counts_the_forwarded_client_behind_a_trusted_proxy(client):
    # The test client's peer, 127.0.0.1, is in the default web.trusted_proxies.
    for _ in range(ATTEMPTS):
        wrong = client.get("/", headers={**WRONG, "X-Forwarded-For": "203.0.113.7"}, environ_base=at("127.0.0.1"))
        assert wrong.status_code == 401
    locked = client.get("/", headers={**RIGHT, "X-Forwarded-For": "203.0.113.7"}, environ_base=at("127.0.0.1"))
    assert locked.status_code == 429
    other = client.get("/", headers={**RIGHT, "X-Forwarded-For": "203.0.113.8"}, environ_base=at("127.0.0.1"))
    assert other.status_code == 200
    assert client.get("/", headers=RIGHT, environ_base=at("127.0.0.1")).status_code == 200


def test_it_ignores_forwarded_for_from_an_untrusted_peer(client):
    for n in range(ATTEMPTS):
        headers = {**WRONG, "X-Forwarded-For": f"198.51.100.{n}"}
        assert client.get("/", headers=headers, environ_base=at("192.0.2.50")).status_code == 401
    fresh = client.get("/", headers={**RIGHT, "X-Forwarded-For": "198.51.100.99"}, environ_base=at("192.0.2.50"))
    assert fresh.status_code == 429


@pytest.mark.parametrize(
    "peer, forwarded, client_is",
    [
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", "203.0.113.9, 10.0.0.5", "203.0.113.9"),  # through two trusted proxies
        ("127.0.0.1", "1.1.1.1, 203.0.113.9", "203.0.113.9"),  # the client's own entry on the left is ignored
        ("127.0.0.1", "10.0.0.4, 10.0.0.5", "10.0.0.4"),  # all trusted: the farthest
        ("127.0.0.1", "garbage, 10.0.0.5", "10.0.0.5"),  # unreadable: the last hop vouched for
        ("127.0.0.1", "[2001:db8::1]:4711", "2001:db8::1"),
        ("::ffff:10.0.0.5", "203.0.113.9:4711", "203.0.113.9"),
        ("192.0.2.50", "203.0.113.9", "192.0.2.50"),  # not a trusted peer
    ],
)
def test_it_reads_the_client_from_forwarded_for_right_to_left(limited_app, peer, forwarded, client_is):
    app = limited_app(trusted_proxies=["127.0.0.1/32", "10.0.0.0/8"])
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with app.test_request_context("/", headers=headers, environ_base=at(peer)):
        web = app.extensions["settings_cache"].get()[0].web
        assert str(forwarded_client_address(web)) == client_is


def test_it_reads_every_forwarded_for_header(limited_app):
    app = limited_app()
    with app.test_request_context("/", headers=[("X-Forwarded-For", "203.0.113.1"), ("X-Forwarded-For", "127.0.0.1")],
                                  environ_base=at("127.0.0.1")):
        web = app.extensions["settings_cache"].get()[0].web
        assert str(forwarded_client_address(web)) == "203.0.113.1"


# --- other modes ------------------------------------------------------------------------------


def test_it_counts_wrong_api_keys_in_proxy_mode_but_not_the_user_header(limited_app):
    app = limited_app(auth="proxy", username="", password="", api_key=API_KEY, trusted_proxies=["10.0.0.0/8"])
    client = app.test_client()
    client.authorization = None
    proxy = at("10.0.0.2")
    for _ in range(ATTEMPTS):
        wrong = client.get("/api/v1/jobs", headers={"X-API-Key": "wrong", "X-Forwarded-For": "203.0.113.7"},
                           environ_base=proxy)
        assert wrong.status_code == 401
    script = client.get("/api/v1/jobs", headers={"X-API-Key": API_KEY, "X-Forwarded-For": "203.0.113.7"},
                        environ_base=proxy)
    assert script.status_code == 429
    person = client.get("/", headers={"Remote-User": "bob", "X-Forwarded-For": "203.0.113.7"}, environ_base=proxy)
    assert person.status_code == 200
    for _ in range(ATTEMPTS * 2):  # no user header is no secret guessed
        assert client.get("/", headers={"X-Forwarded-For": "203.0.113.8"}, environ_base=proxy).status_code == 401
    assert client.get("/api/v1/jobs", headers={"X-API-Key": API_KEY, "X-Forwarded-For": "203.0.113.8"},
                      environ_base=proxy).status_code == 200


def test_it_never_limits_auth_none(limited_app):
    client = limited_app(auth="none", username="", password="").test_client()
    for _ in range(ATTEMPTS * 2):
        assert client.get("/", headers=WRONG).status_code == 200


# --- the limiter itself ------------------------------------------------------------------------


def test_it_caps_the_tracked_addresses(clock):
    limiter = SignInLimiter(clock=clock, max_addresses=3)
    for n in range(10):
        limiter.failed(f"192.0.2.{n}", attempts=5, window=WINDOW)
        assert len(limiter) <= 3
    assert len(limiter) == 3
    limiter.failed("192.0.2.9", attempts=2, window=WINDOW)
    assert limiter.retry_after("192.0.2.9") == WINDOW  # the newest ones are the ones kept


def test_it_drops_expired_addresses(clock):
    limiter = SignInLimiter(clock=clock, max_addresses=100)
    for n in range(50):
        limiter.failed(f"192.0.2.{n}", attempts=1, window=WINDOW)
    assert len(limiter) == 50 and limiter.retry_after("192.0.2.0") == WINDOW
    clock.advance(WINDOW)
    limiter.failed("198.51.100.1", attempts=5, window=WINDOW)
    assert len(limiter) == 1
    assert limiter.retry_after("192.0.2.0") == 0


def test_it_reports_the_count_once_when_a_lockout_starts(clock):
    limiter = SignInLimiter(clock=clock)
    assert [limiter.failed("192.0.2.1", attempts=3, window=WINDOW) for _ in range(3)] == [0, 0, 3]
    clock.advance(10)
    assert limiter.retry_after("192.0.2.1") == WINDOW - 10
    limiter.succeeded("192.0.2.1")
    assert limiter.retry_after("192.0.2.1") == 0 and len(limiter) == 0


def test_it_lists_the_refusal_in_the_openapi_document(make_app):
    doc = make_app().test_client().get("/api/v1/openapi.json").get_json()
    queue = doc["paths"]["/api/v1/queue"]["get"]["responses"]
    assert "Retry-After" in queue["429"]["headers"]
    assert "429" not in doc["paths"]["/api/v1/health"]["get"]["responses"]


def test_it_finds_expired_addresses_behind_one_that_keeps_failing(clock):
    limiter = SignInLimiter(clock=clock)
    limiter.failed("192.0.2.1", attempts=5, window=WINDOW)
    clock.advance(10)
    limiter.failed("192.0.2.2", attempts=5, window=WINDOW)
    clock.advance(40)
    limiter.failed("192.0.2.1", attempts=5, window=WINDOW)  # its window still runs from its first failure
    clock.advance(11)
    limiter.failed("192.0.2.3", attempts=5, window=WINDOW)
    assert len(limiter) == 2


def test_it_stays_within_the_cap_under_many_threads(clock):
    limiter = SignInLimiter(clock=clock, max_addresses=100)

    def guess(worker: int) -> None:
        for n in range(500):
            limiter.failed(f"10.{worker}.{n // 250}.{n % 250}", attempts=2, window=WINDOW)
            limiter.retry_after(f"10.{worker}.0.1")

    threads = [threading.Thread(target=guess, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(limiter) == 100
