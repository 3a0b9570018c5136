"""Who decided (kept in the history, shown on History) and the queue "for me" (page and API)."""

import json
import time

import pytest
import yaml
from factories import make_queue_item
from websupport import Client, basic_auth, parse
from werkzeug.security import generate_password_hash

from app import create_app

ALICE, BOB = ("Alice", "alice-password"), ("Bob", "bob-password")
MEMBERS = [{"name": name, "role": role, "password_hash": generate_password_hash(password, "pbkdf2:sha256:1000")}
           for (name, password), role in ((ALICE, "admin"), (BOB, "member"))]
SHARED, ALICES, BOBS, CATALOG = (f"{n}0000000-0000-0000-0000-000000000000" for n in range(1, 5))


@pytest.fixture
def household(repository, tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"household": {"members": MEMBERS}}), encoding="utf-8")
    app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
    app.test_client_class = Client
    repository.add_pending([
        make_queue_item(mbid=SHARED, artist="Beach House", album="Teen Dream", source="listenbrainz",
                        for_members=["Alice", "Bob"]),
        make_queue_item(mbid=ALICES, artist="Sigur Rós", album="Takk...", source="listenbrainz",
                        for_members=["Alice"]),
        make_queue_item(mbid=BOBS, artist="Mogwai", album="Young Team", source="listenbrainz", for_members=["Bob"]),
        make_queue_item(mbid=CATALOG, artist="Air", album="Moon Safari", source="catalog"),
    ])

    def client_for(member):
        client = app.test_client()
        client.authorization = basic_auth(*member)
        client.user = member[0]
        return client

    return client_for


def test_it_records_who_decided_in_the_history(household, repository, data_dir):
    household(BOB).form("/queue/approve", {"mbid": BOBS})
    household(ALICE).form("/queue/reject", {"mbid": CATALOG})
    lines = [json.loads(line) for path in sorted((data_dir / "history").glob("*.jsonl"))
             for line in path.read_text().splitlines()]
    assert [(line["action"], line["item"]["mbid"], line["decided_by"]) for line in lines] == [
        ("approve", BOBS, "Bob"), ("reject", CATALOG, "Alice")]
    assert all(line["at"] for line in lines)


def test_it_shows_who_decided_and_when_on_history(household, repository):
    client = household(BOB)
    client.form("/queue/bulk/approve", {"mbid": [SHARED, ALICES]})
    page = parse(client.get("/history/approved").data)
    shown = [node.text for node in page.select(".row-item .decided")]
    assert len(shown) == 2 and all(text.startswith("Approved by Bob, ") for text in shown)
    day, month, minute, zone = shown[0][len("Approved by Bob, "):].split()
    assert month in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    assert int(day) and minute.count(":") == 1 and zone == time.strftime("%Z")  # the household's zone, named


def test_it_records_who_decided_through_the_api(household, repository):
    client = household(ALICE)
    response = client.post("/api/v1/queue/reject", json={"mbids": [BOBS]})
    assert response.status_code == 200
    rejected, _ = repository.rejected_page()
    assert rejected[0]["mbid"] == BOBS and rejected[0]["decided_by"] == "Alice"


def test_it_filters_the_queue_to_what_is_for_me(household):
    bob = household(BOB)
    cards = {card.get("data-mbid") for card in parse(bob.get("/?for=me").data).select("article.card")}
    assert cards == {SHARED, BOBS}
    everyone = {card.get("data-mbid") for card in parse(bob.get("/").data).select("article.card")}
    assert everyone == {SHARED, ALICES, BOBS, CATALOG}
    alice = household(ALICE)
    assert {c.get("data-mbid") for c in parse(alice.get("/?for=me").data).select("article.card")} == {SHARED, ALICES}
    page = parse(alice.get("/").data)
    assert page.one("select[name=for] option[value=me]").text == "For me (Alice)"


def test_it_says_whose_listening_an_album_came_from(household, repository):
    go = make_queue_item(artist="Jónsi", album="Go", source="listenbrainz", similar_to=[], source_track="Go Do",
                         for_members=["Alice", "Bob"])
    repository.add_pending([go])
    page = parse(household(ALICE).get("/").data)
    assert page.one(f"article[data-mbid={go['mbid']}] .why").text == "from Alice and Bob's listening: Go Do"
    assert page.one(f"article[data-mbid={BOBS}] .why").text == "similar to Daft Punk, Kavinsky, for Bob"
    assert page.one(f"article[data-mbid={CATALOG}] .why").text == "similar to Daft Punk, Kavinsky"


def test_it_approves_all_for_me_only(household, repository):
    bob = household(BOB)
    bob.form("/queue/all/approve", {"for": "me"})
    assert {item["mbid"] for item in repository.queue()["pending"]} == {ALICES, CATALOG}


def test_it_filters_the_api_queue_for_me(household):
    bob = household(BOB)
    items = bob.get("/api/v1/queue?for=me").json["items"]
    assert {item["mbid"] for item in items} == {SHARED, BOBS}
    assert next(item for item in items if item["mbid"] == SHARED)["for_members"] == ["Alice", "Bob"]
    assert bob.get("/api/v1/queue?for=someone").status_code == 400


def test_the_api_approves_everything_for_me_only(household, repository):
    bob = household(BOB)
    response = bob.post("/api/v1/queue/approve", json={"all": True, "for": "me"})
    assert response.status_code == 200 and {i["mbid"] for i in response.json["items"]} == {SHARED, BOBS}
    assert {item["mbid"] for item in repository.queue()["pending"]} == {ALICES, CATALOG}
    refused = bob.post("/api/v1/queue/reject", json={"mbids": [ALICES], "for": "me"})
    assert refused.status_code == 400 and "for" in refused.json["error"]["details"]
    assert {item["mbid"] for item in repository.queue()["pending"]} == {ALICES, CATALOG}
