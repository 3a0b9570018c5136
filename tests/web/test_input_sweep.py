"""A table-driven sweep: every route of the app, given hostile bodies, form fields, query parameters and
path parts, answers below 500 (and the API in its error shape)."""

from __future__ import annotations

import json
import re

import pytest
from factories import make_queue_item

from app.config import SETTINGS

DEPTH = 19  # just inside the API's limit: the fields, not the parser, must refuse these
HOSTILE_VALUES = [
    "\ud800", "a\udfffb", "a\x00b", "\x00", "\x01\x02", "\x1b[2J", "\t\n", " ", "", "x" * 100_000, "../../etc/passwd",
    "\ufffd", "\u202e", True, False, None, 0, -1, 2.5, float("inf"), 10 ** 4000, -(10 ** 4000), [], {}, ["\x00"],
    [1, [2]], {"a": None}, json.loads("[" * DEPTH + "]" * DEPTH),
]
FIELDS = ("artist", "title", "kind", "force", "mbids", "all", "source", "q", "key", "query", "keep_wishlist",
          "offset", "limit", "group")
# Sign-in settings are left alone, or the sweep would go on signed out (401 for everything after).
SWEPT_SETTINGS = [s for s in SETTINGS if not s.secret and s.name not in ("web.auth", "web.username")]
RAW_BODIES = [
    b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 3_000 + b"1" + b"}" * 3_000, b"9" * 5_000,
    b'{"artist": ' + b"9" * 5_000 + b"}", b'{"artist": NaN}', b'{"artist": Infinity}', b"\xff\xfe\x00",
    b'"\\ud800"', b"null", b"[]", b"{", b'{"web": "\\u0000"}',
]


def hostile_bodies():
    """Raw bytes that are not JSON, then JSON objects giving each hostile value to every field and setting."""
    yield from RAW_BODIES
    for value in HOSTILE_VALUES:
        yield json.dumps({name: value for name in FIELDS}).encode()
        yield json.dumps({name: [value] for name in FIELDS}).encode()
        settings = {}
        for setting in SWEPT_SETTINGS:
            settings.setdefault(setting.section, {})[setting.key] = value
        yield json.dumps(settings).encode()
        yield json.dumps({"web": value, "\ud800": {"x": value}}).encode()


def rules(app, prefix: str, methods: set[str]):
    return sorted((rule.rule, method) for rule in app.url_map.iter_rules() for method in rule.methods & methods
                  if rule.rule.startswith(prefix) and rule.endpoint != "static")


def concrete(rule: str, part: str = "x") -> str:
    """A URL for a rule: each <converter:name> part filled with ``part`` (an any(...) part with its first choice)."""
    return re.sub(r"<any\((\w+)[^>]*>|<[^>]+>", lambda m: m.group(1) or part, rule)


@pytest.fixture
def app(make_app, repository):
    repository.add_pending([make_queue_item(artist="Air", album="Moon Safari")])
    return make_app()


def assert_answered(response, url):
    assert response.status_code < 500, (url, response.status_code, response.get_data(as_text=True)[:300])
    if url.startswith("/api/") and response.status_code >= 400:
        body = response.get_json()
        assert set(body) == {"error"} and body["error"]["message"], (url, body)


def test_it_never_answers_a_hostile_api_body_with_a_5xx(app, client):
    routes = rules(app, "/api/", {"POST", "PATCH", "PUT", "DELETE"})
    assert len(routes) >= 12
    for rule, method in routes:
        url = concrete(rule, "lb-fetch")
        for body in hostile_bodies():
            assert_answered(client.open(url, method=method, data=body, content_type="application/json"), url)


def test_it_never_answers_hostile_query_parameters_or_path_parts_with_a_5xx(app, client):
    values = ["%00", "%ED%A0%80", "%FF", "%1B%5B2J", "9" * 5_000, "-" + "9" * 5_000, "x" * 20_000, "%0d%0aX:%20y",
              "..%2F..%2Fetc%2Fpasswd", "2.5", "NaN"]
    names = ("q", "source", "sort", "order", "offset", "limit", "group", "key", "done", "name", "mbid", "keep",
             "undo", "v", "seen", "next", "saved")
    for rule, method in rules(app, "/", {"GET"}):
        for value in values:
            url = concrete(rule, value) + "?" + "&".join(f"{name}={value}" for name in names)
            assert_answered(client.get(url), url)
    for value in values:
        assert_answered(client.get(f"/static/{value}"), "/static")


def test_it_never_answers_a_hostile_page_form_with_a_5xx(app, client):
    values = ["a\x00b", "\x01\x02", "\x1b[2J", "\t\n", " ", "", "x" * 100_000, "\ufffd", "9" * 5_000, "2.5",
              "/\t/evil.example", "//evil.example"]
    names = ["artist", "title", "kind", "force", "mbid", "was", "keep", "undo", "next", "key", "query",
             "keep_wishlist", "source", "q", "sort", "order", "offset", "limit", "clear",
             *(setting.name for setting in SWEPT_SETTINGS)]
    for rule, method in rules(app, "/", {"POST"}):
        if rule.startswith("/api/") or rule in ("/setup", "/settings"):
            continue  # the API has its own sweep; the settings form is swept below, setup needs no sign-in
        for value in values:
            for htmx in (False, True):
                url = concrete(rule, value)
                assert_answered(client.form(url, {name: value for name in names}, htmx=htmx), url)


@pytest.mark.parametrize("value", ["a\x00b", "\x1b", "x" * 100_000, "9" * 5_000, "2.5", "-1", "", "1e999",
                                   "nan", "not-a-cidr, ::1/129", "flac, mp4x", "http://h:99999"])
def test_it_never_answers_a_hostile_settings_form_with_a_5xx(app, client, value):
    fields = {setting.name: value for setting in SWEPT_SETTINGS}
    response = client.form("/settings", fields, htmx=True)
    assert_answered(response, "/settings")
    for section in ("listenbrainz", "subsonic", "slskd", "lastfm"):
        assert_answered(client.form(f"/settings/test/{section}", fields, htmx=True), "/settings/test")
