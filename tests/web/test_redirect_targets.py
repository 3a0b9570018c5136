"""Every redirect to a target the request supplied stays on this site (app.web.context.safe_next)."""

from urllib.parse import urlsplit

import pytest

from app.web.context import safe_next

HOSTILE = {
    "tab": "/\t/evil.example",
    "newline": "/\n/evil.example",
    "carriage return": "/\r/evil.example",
    "tab inside": "/queue\t/evil",
    "backslash": "/\\evil.example",
    "backslash later": "/queue/..\\\\evil.example",
    "encoded tab": "/%09/evil.example",
    "encoded newline": "/%0a/evil.example",
    "encoded slash": "/%2F/evil.example",
    "encoded backslash": "/%5Cevil.example",
    "three slashes": "///evil.example",
    "two slashes": "//evil.example",
    "scheme": "https://evil.example",
    "javascript": "javascript:alert(1)",
    "space first": " /\t/evil.example",
    "tab first": "\t//evil.example",
    "relative": "evil.example",
    "NUL": "/queue\x00",
    "line separator": "/\u2028/evil.example",
    "empty": "",
}
GOOD = ["/queue?source=x", "/?source=catalog&q=AC%5CDC", "/history/rejected?offset=50", "/wishlist"]

# Endpoints that go back to a posted ``next``, with where they go when it is refused.
ENDPOINTS = {
    "/queue/all/reject": ("/", {}),
    "/queue/bulk/undo": ("/", {"undo": "nothing-to-undo"}),
    "/history/unreject": ("/history/rejected", {"mbid": "not-rejected"}),
}


@pytest.mark.parametrize("target", HOSTILE.values(), ids=HOSTILE.keys())
def test_it_refuses_a_hostile_target(target):
    assert safe_next(target, "/fallback") == "/fallback"


@pytest.mark.parametrize("target", GOOD)
def test_it_keeps_a_local_target(target):
    assert safe_next(target, "/fallback") == target


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("target", HOSTILE.values(), ids=HOSTILE.keys())
def test_it_sends_a_hostile_next_to_a_safe_local_page(client, endpoint, target):
    fallback, data = ENDPOINTS[endpoint]
    response = client.form(endpoint, {**data, "next": target})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert urlsplit(location).path == fallback and not urlsplit(location).netloc, location
    assert "evil" not in location


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_it_goes_back_to_a_local_next(client, endpoint):
    _, data = ENDPOINTS[endpoint]
    response = client.form(endpoint, {**data, "next": "/?source=catalog&q=x"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/?source=catalog&q=x")
