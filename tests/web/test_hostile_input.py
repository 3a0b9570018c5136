"""Wrong and hostile input: a 400 with field messages (API) or a visible message (pages), never a 500,
and nothing written to the data dir."""

from __future__ import annotations

import json

import pytest
from factories import make_queue_item
from websupport import parse

from app.config import load_settings
from app.fields import NAME_MAX_LENGTH
from app.pipelines import JobContext
from app.pipelines.discovery import Suggestion, publish

BAD_NAMES = {
    "a lone surrogate": "Sigur R\ud800s",
    "a NUL byte": "Air\x00",
    "a tab": "Air\tMoon",
    "an escape code": "\x1b[31mAir",
    "only control characters": "\x01\x02\x03",
    "only spaces": "   ",
    "one character too many": "a" * (NAME_MAX_LENGTH + 1),
}


def snapshot(data_dir) -> dict:
    """Every data file and its bytes (lock files left out: taking a lock writes nothing)."""
    return {str(p.relative_to(data_dir)): p.read_bytes() for p in sorted(data_dir.rglob("*"))
            if p.is_file() and ".locks" not in p.parts}


@pytest.fixture
def unchanged(client, data_dir):
    """Asserts, after the test, that the data dir is as it was when the test began."""
    client.get("/api/v1/settings")  # the first request saves the generated secret key
    before = snapshot(data_dir)
    yield
    assert snapshot(data_dir) == before


def error_of(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def send_json(client, method: str, url: str, body: bytes):
    return client.open(url, method=method, data=body, content_type="application/json")


# --- bodies that cannot be taken -----------------------------------------------------------------

UNREADABLE_BODIES = {
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "objects nested 5,000 deep": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "nested 21 deep": b'{"artist": ' + b"[" * 21 + b"]" * 21 + b"}",
    "a 5,000-digit number": b'{"artist": ' + b"9" * 5_000 + b"}",
    "NaN": b'{"artist": NaN}',
    "not UTF-8": b'{"artist": "\xff\xfe"}',
}
BODY_ROUTES = [("POST", "/api/v1/wishlist"), ("POST", "/api/v1/blocklist"), ("POST", "/api/v1/queue/approve"),
               ("POST", "/api/v1/downloads/retry"), ("PATCH", "/api/v1/settings")]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r[1])
@pytest.mark.parametrize("body", UNREADABLE_BODIES.values(), ids=UNREADABLE_BODIES.keys())
def test_it_refuses_a_body_it_cannot_take_with_a_400(client, unchanged, route, body):
    response = send_json(client, *route, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["message"] == "The body is not valid JSON." and error["details"]["body"]


# --- names: one rule for the API and the pages ----------------------------------------------------


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
@pytest.mark.parametrize("url, body", [
    ("/api/v1/wishlist", {"artist": "{name}", "title": "Moon Safari"}),
    ("/api/v1/wishlist/remove", {"artist": "{name}", "title": "Moon Safari"}),
    ("/api/v1/blocklist", {"artist": "{name}"}),
], ids=["wishlist", "wishlist-remove", "blocklist"])
def test_it_refuses_a_bad_name_in_the_api_with_a_field_message(client, unchanged, url, body, name):
    body = {key: name if value == "{name}" else value for key, value in body.items()}
    # json.dumps escapes a lone surrogate as \ud800, as any JSON client would send it
    response = send_json(client, "POST", url, json.dumps(body).encode())
    assert response.status_code == 400
    assert error_of(response)["details"]["artist"]


@pytest.mark.parametrize("name", [n for n in BAD_NAMES.values() if "\ud800" not in n],
                         ids=[k for k, n in BAD_NAMES.items() if "\ud800" not in n])
def test_it_refuses_a_bad_name_in_the_wishlist_form_and_says_why(client, unchanged, name):
    response = client.form("/wishlist/add", {"artist": name, "title": "Moon Safari"}, htmx=True)
    assert response.status_code == 422
    page = parse(response.data)
    assert page.one("[role=alert]").text.startswith("Artist:")
    assert page.one(".field-error").text
    assert page.one("input[name=artist]").get("aria-invalid") == "true"


@pytest.mark.parametrize("name", [n for n in BAD_NAMES.values() if "\ud800" not in n],
                         ids=[k for k, n in BAD_NAMES.items() if "\ud800" not in n])
def test_it_refuses_a_bad_name_in_the_block_forms_and_says_why(client, repository, data_dir, name):
    repository.add_pending([make_queue_item(artist="Air")])
    client.get("/")
    before = snapshot(data_dir)
    response = client.form("/blocklist/add", {"artist": name}, htmx=True)
    assert response.status_code == 422
    assert parse(response.data).one("[role=alert]").text.startswith("Artist:")
    response = client.form("/blocklist/add", {"artist": name})
    assert response.status_code == 400 and "Artist:" in parse(response.data).one("main").text
    response = client.form("/queue/block", {"artist": name}, htmx=True)
    assert response.status_code == 400 and response.headers["HX-Retarget"] == "#toast"
    assert "Artist:" in response.get_data(as_text=True)
    assert snapshot(data_dir) == before


def test_it_takes_a_name_of_exactly_the_longest_length_everywhere(client):
    name = "a" * NAME_MAX_LENGTH
    assert client.post("/api/v1/wishlist", json={"artist": name, "title": "t"}).status_code == 201
    response = client.form("/wishlist/add", {"artist": "b" * NAME_MAX_LENGTH, "title": "t"})
    assert response.status_code == 303
    assert parse(client.get("/wishlist").data).one("form.add-form input[name=artist]").get("maxlength") == str(NAME_MAX_LENGTH)


# --- other text in requests -----------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "/api/v1/queue?q=a%00b", "/api/v1/queue?source=%1b", "/api/v1/downloads/entry?key=a%00b",
])
def test_it_refuses_control_characters_in_query_parameters(client, unchanged, url):
    response = client.get(url)
    assert response.status_code == 400 and error_of(response)["details"]


def test_it_answers_a_static_path_with_a_nul_byte_with_a_400(client):
    assert client.get("/static/app%00.css").status_code == 400
    assert client.get("/static/%00").status_code == 400


# --- a pending item whose name is only control characters -----------------------------------------


@pytest.fixture
def broken_and_good(repository):
    # As an older version could write it: the name is checked on the way in now.
    broken = {**make_queue_item(artist="Air", album="Moon"), "artist": "\x01\x02", "album": "\x1f"}
    good = make_queue_item(artist="Justice", album="Cross")
    repository.add_pending([broken, good])
    return broken, good


def test_it_refuses_to_approve_an_album_without_a_usable_name_and_keeps_the_queue_going(
        client, repository, broken_and_good):
    broken, good = broken_and_good
    response = client.post("/api/v1/queue/approve", json={"mbids": [broken["mbid"], good["mbid"]]})
    assert response.status_code == 200
    body = response.get_json()
    assert [item["mbid"] for item in body["items"]] == [good["mbid"]]
    assert [r["mbid"] for r in body["refused"]] == [broken["mbid"]] and "control characters" in body["refused"][0]["reason"]
    assert body["not_pending"] == []
    assert [item["mbid"] for item in repository.queue()["pending"]] == [broken["mbid"]]
    assert [entry.text for entry in repository.wishlist_entries()] == ["Justice - Cross"]

    response = client.post("/api/v1/queue/approve", json={"mbids": [broken["mbid"]]})
    assert response.status_code == 422 and error_of(response)["details"]["refused"][0]["mbid"] == broken["mbid"]
    assert client.post("/api/v1/queue/approve", json={"all": True}).get_json()["count"] == 0
    assert client.post("/api/v1/queue/reject", json={"mbids": [broken["mbid"]]}).status_code == 200
    assert repository.pending_count() == 0


def test_it_refuses_to_approve_such_an_album_on_the_page_and_approves_the_rest(client, repository, broken_and_good):
    broken, good = broken_and_good
    response = client.form("/queue/approve", {"mbid": broken["mbid"]}, htmx=True)
    assert response.status_code == 422 and response.headers["HX-Retarget"] == "#toast"
    assert "cannot be approved" in response.get_data(as_text=True)

    response = client.form("/queue/all/approve", {}, htmx=True)
    assert response.status_code == 200
    toast = response.get_data(as_text=True)
    assert "Approved 1 album." in toast and "Not approved: 1 album" in toast
    assert [item["mbid"] for item in repository.queue()["pending"]] == [broken["mbid"]]
    assert [entry.text for entry in repository.wishlist_entries()] == ["Justice - Cross"]

    response = client.form("/queue/bulk/approve", {"mbid": broken["mbid"]})
    assert response.status_code == 303 and repository.pending_count() == 1
    response = client.form("/queue/bulk/reject", {"mbid": broken["mbid"]})
    assert response.status_code == 303 and repository.pending_count() == 0


@pytest.mark.parametrize("mode", ["manual", "auto"])
def test_it_never_publishes_a_name_of_only_control_characters(repository, write_config, mode):
    write_config(general={"approval_mode": mode})
    ctx = JobContext("lb-fetch", load_settings(), repository, lambda: False, None)
    suggestions = [Suggestion("\x01\x02", "Moon", "mb-1"), Suggestion("Air", "\x1b\x00", "mb-2"),
                   Suggestion("Air\tFrance", "Moon  Safari", "mb-3")]
    report = publish(ctx, suggestions)
    assert report.invalid == 2 and [s.mbid for s in report.written] == ["mb-3"]
    if mode == "manual":
        assert [(i["artist"], i["album"]) for i in repository.queue()["pending"]] == [("Air France", "Moon Safari")]
    else:
        assert [entry.text for entry in repository.wishlist_entries()] == ["Air France - Moon Safari"]
    assert repository.processed() == ["mb-3"]
