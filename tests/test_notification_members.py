"""A household of members: one digest per run for each member (their albums), admins told of failures,
a test button per member, refused to a member who is not an admin. Delivered to a real receiver."""

from __future__ import annotations

import pytest
import yaml
from websupport import PASSWORD, Client, basic_auth, parse
from werkzeug.security import generate_password_hash

from app import create_app, notifications
from app.pipelines import RunResult
from app.sandbox.notify_receiver import NotificationReceiver
from jobs.runner import JobRunner

BOB_PASSWORD = "bob-the-builder"


@pytest.fixture
def receiver():
    with NotificationReceiver() as running:
        yield running


@pytest.fixture
def household(receiver, tmp_path):
    """Alice (admin) on ntfy, Bob (member) on a JSON webhook, the household on its own ntfy topic."""
    members = [
        {"name": "Alice", "role": "admin", "notify": [receiver.ntfy_url("alice-5d2c9e")]},
        {"name": "Bob", "role": "member", "notify": [receiver.json_url("hooks/bob-71f0aa")],
         "password_hash": generate_password_hash(BOB_PASSWORD, "pbkdf2:sha256:1000")},
    ]
    config = {"web": {"auth": "basic", "username": "root", "password": PASSWORD},
              "household": {"members": members},
              "notifications": {"urls": [receiver.ntfy_url("household-0a9b8c")],
                                "base_url": "https://resonance.example", "failing_runs": 1}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return receiver


def item(n: int, *members: str) -> dict:
    record = {"artist": f"Artist {n}", "album": f"Album {n}", "mbid": f"00000000-0000-4000-8000-{n:012d}"}
    return {**record, "for_members": list(members)} if members else record


def recommending(ctx):
    """What lb-fetch publishes for several members: items for Alice, for Bob, for both, and one for nobody."""
    notifications.suggestions_waiting(ctx, [item(1, "Alice"), item(2, "Alice"), item(3, "Bob"),
                                            item(4, "Alice", "Bob"), item(5)])
    return RunResult("5 added")


def by_topic(receiver) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for message in receiver.messages():
        found.setdefault(message["topic"], []).append(message)
    return found


def test_each_member_gets_one_digest_of_their_albums_with_a_link_to_them(household, repository):
    JobRunner("lb-fetch", repository, run_once=recommending).run()

    got = by_topic(household)
    [alice] = got["alice-5d2c9e"]
    assert alice["title"] == "4 new suggestions waiting for Alice"
    assert "Artist 3 – Album 3" not in alice["message"]  # Bob's only
    assert "Artist 4 – Album 4" in alice["message"] and "Artist 5 – Album 5" in alice["message"]
    assert "https://resonance.example/?for=Alice" in alice["message"]
    [bob] = got["hooks/bob-71f0aa"]
    assert bob["title"] == "3 new suggestions waiting for Bob"
    assert "Artist 1 – Album 1" not in bob["message"] and "/?for=Bob" in bob["message"]
    [everyone] = got["household-0a9b8c"]
    assert everyone["title"] == "5 new suggestions waiting"
    assert "https://resonance.example/\n" in everyone["message"] + "\n"


def test_a_failing_job_is_told_to_the_household_and_admins_only(household, repository):
    JobRunner("lb-fetch", repository,
              run_once=lambda ctx: RunResult("nothing", error="listenbrainz answered 503")).run()

    got = by_topic(household)
    assert [m["title"] for m in got["alice-5d2c9e"]] == ["lb-fetch failed"]
    assert [m["title"] for m in got["household-0a9b8c"]] == ["lb-fetch failed"]
    assert "hooks/bob-71f0aa" not in got


def test_an_album_ready_goes_to_the_members_it_was_for(household, repository):
    def downloaded(ctx):
        notifications.album_ready(ctx, {"artist": "Artist 3", "title": "Album 3", "for_members": ["Bob"]},
                                  imported=True)
        notifications.album_given_up(ctx, {"artist": "Artist 9", "title": "Album 9"}, "no peer had it")
        return RunResult("done")

    JobRunner("slskd-downloader", repository, run_once=downloaded).run()

    got = by_topic(household)
    assert sorted(m["title"] for m in got["hooks/bob-71f0aa"]) == ["1 album given up", "1 album in your library"]
    assert [m["title"] for m in got["alice-5d2c9e"]] == ["1 album given up"]
    assert "Artist 9 – Album 9: no peer had it" in got["alice-5d2c9e"][0]["message"]


@pytest.fixture
def app(household, repository):
    app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
    app.test_client_class = Client
    return app


def test_there_is_a_test_button_per_member(app, household):
    client = app.test_client()
    client.authorization, client.user = basic_auth("root", PASSWORD), "root"
    page = parse(client.get("/settings").data)
    assert {node.get("id") for node in page.select(".notification-targets .test-row")} == {
        "notify-target-household", "notify-target-member-Alice", "notify-target-member-Bob",
        "notify-target-member-root"}  # root: the single-user login, an admin of its own
    assert "alice-5d2c9e" not in client.get("/settings").text

    answer = client.form("/settings/notifications/test/member:Alice", htmx=True)

    assert answer.status_code == 200 and "✓ Sent to" in answer.text
    assert [m["topic"] for m in household.messages()] == ["alice-5d2c9e"]


def test_a_member_who_is_not_an_admin_may_not_send_a_test(app, household):
    client = app.test_client()
    client.authorization, client.user = basic_auth("Bob", BOB_PASSWORD), "Bob"

    response = client.form("/settings/notifications/test/member:Bob", htmx=True)

    assert response.status_code == 403
    assert household.messages() == []


def test_the_digest_s_link_shows_the_queue_for_that_member(app, repository):
    from factories import make_queue_item

    repository.add_pending([make_queue_item(artist="Only Alice", album="A", for_members=["Alice"]),
                            make_queue_item(artist="Only Bob", album="B", for_members=["Bob"]),
                            make_queue_item(artist="Both of them", album="C", for_members=["Alice", "Bob"])])
    client = app.test_client()
    client.authorization, client.user = basic_auth("root", PASSWORD), "root"  # whoever opens the link

    for_bob = client.get("/?for=Bob").text
    everyone = client.get("/?for=Nobody").text  # not a member: no filter

    assert "Only Bob" in for_bob and "Both of them" in for_bob and "Only Alice" not in for_bob
    assert "Only Alice" in everyone and "Only Bob" in everyone
