"""Rejecting with a reason (card, no JavaScript, API), the reason on History, and the offer to block an artist."""

import pytest
from factories import make_queue_item
from websupport import PASSWORD, USER, Client, parse

from app import create_app


@pytest.fixture
def queue(repository):
    items = [make_queue_item(artist="Muse", album=f"Album {n}", source="catalog", similar_to=["Radiohead"])
             for n in range(1, 5)]
    items.append(make_queue_item(artist="Air", album="Moon Safari", source="catalog"))
    repository.add_pending(items)
    return items


def reject(client, item, **form):
    return client.form("/queue/reject", {"mbid": item["mbid"], **form}, htmx=True)


def chips(response):
    return {button.get("value"): button for button in parse(response.data).select("form.reasons button.chip")}


def test_a_reject_offers_its_reasons_in_one_tap_and_keeps_the_one_chosen(client, repository, queue):
    response = reject(client, queue[4])
    done = parse(response.data).one("article.card.done")
    assert "Rejected Air – Moon Safari" in done.text
    assert list(chips(response)) == ["not_my_taste", "already_have", "wrong_version", "dislike_artist"]
    assert repository.rejected_mbids() == [queue[4]["mbid"]]  # rejected at once: the reason is optional

    form = parse(response.data).one("form.reasons")
    fields = {i.get("name"): i.get("value") for i in form.select("input")}
    chosen = client.post("/queue/reason", data={**fields, "reason": "already_have"}, headers={"HX-Request": "true"})

    assert chosen.status_code == 200
    assert "Rejected Air – Moon Safari: already have it." in parse(chosen.data).one("article.card.done").text
    assert chips(chosen)["already_have"].get("aria-pressed") == "true"
    assert repository.rejected_page()[0][0]["reason"] == "already_have"
    history = parse(client.get("/history/rejected").data)
    assert history.one(".row-item .reason").text == "already have it"


def test_it_refuses_an_unknown_reason_and_one_for_an_album_not_rejected(client, repository, queue):
    response = client.form("/queue/reason", {"mbid": queue[0]["mbid"], "reason": "too loud"}, htmx=True)
    assert response.status_code == 400 and "Which reason?" in response.text
    response = client.form("/queue/reason", {"mbid": queue[0]["mbid"], "reason": "not_my_taste"}, htmx=True)
    assert response.status_code == 409
    assert reject(client, queue[0], reason="too loud").status_code == 400
    assert repository.rejected_mbids() == []


def test_reasons_work_without_javascript(client, repository, queue):
    response = client.form("/queue/reject", {"mbid": queue[4]["mbid"], "next": "/?source=catalog"})
    page = parse(client.get(response.headers["Location"]).data)
    form = page.one(".notice form.reasons")
    assert all(button.get("hx-post") is None for button in form.select("button.chip"))  # plain submit buttons
    fields = {i.get("name"): i.get("value") for i in form.select("input")}

    chosen = client.post("/queue/reason", data={**fields, "reason": "wrong_version"})

    assert chosen.status_code == 303 and chosen.headers["Location"].startswith("/?source=catalog&done=rejected")
    notice = parse(client.get(chosen.headers["Location"]).data).one(".notice")
    assert "Rejected Air – Moon Safari: wrong version." in notice.text
    assert repository.rejected_page()[0][0]["reason"] == "wrong_version"


def test_the_api_takes_an_optional_reason_on_reject(client, repository, queue):
    body = client.post("/api/v1/queue/reject", json={"mbids": [queue[0]["mbid"]], "reason": "dislike_artist"})
    assert body.status_code == 200 and body.get_json()["count"] == 1
    assert repository.rejected_page()[0][0]["reason"] == "dislike_artist"
    assert client.post("/api/v1/queue/reject", json={"mbids": [queue[1]["mbid"]]}).status_code == 200

    refused = client.post("/api/v1/queue/reject", json={"mbids": [queue[2]["mbid"]], "reason": "meh"})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["details"] == {
        "reason": ["Must be one of: not_my_taste, already_have, wrong_version, dislike_artist."]}
    assert client.post("/api/v1/queue/approve", json={"mbids": [queue[2]["mbid"]], "reason": "meh"}).status_code == 400
    assert queue[2]["mbid"] not in repository.rejected_mbids()


# --- the offer to block an artist -----------------------------------------------------------------


def offers(response):
    return [offer.one("p").text for offer in parse(response.data).select(".offer")]


def offer_form(response, action):
    [form] = [form for form in parse(response.data).select(".offer form") if form.get("action") == action]
    return form


def test_an_artist_rejected_three_times_is_offered_for_blocking_in_one_tap(client, repository, queue):
    reject(client, queue[0])
    second = reject(client, queue[1])
    assert offers(second) == [] and offers(client.get("/")) == []
    reject(client, queue[2], reason="already_have")  # says nothing about taste: does not count

    third = reject(client, queue[3])

    assert offers(third) == ["Block Muse? 3 of their albums were rejected."]
    assert offers(client.get("/")) == ["Block Muse? 3 of their albums were rejected."]
    form = offer_form(third, "/queue/block")
    blocked = client.post("/queue/block", data={i.get("name"): i.get("value") for i in form.select("input")},
                          headers={"HX-Request": "true"})
    assert blocked.status_code == 200 and repository.blocked_artists() == ["Muse"]
    assert offers(client.get("/")) == []


def test_dont_like_the_artist_offers_at_once_and_not_now_dismisses_for_good(client, repository, queue):
    response = reject(client, queue[4], reason="dislike_artist")
    assert offers(response) == ["Block Air? You said you don't like the artist."]
    form = offer_form(client.get("/"), "/queue/block-offer/dismiss")

    dismissed = client.post("/queue/block-offer/dismiss",
                            data={i.get("name"): i.get("value") for i in form.select("input")},
                            headers={"HX-Request": "true"})

    assert dismissed.status_code == 200 and dismissed.text == ""
    assert offers(client.get("/")) == [] and repository.blocked_artists() == []
    assert repository.dismissed_block_offers() == ["Air"]


@pytest.mark.parametrize("after,offered", [(2, ["Block Muse? 2 of their albums were rejected."]), (0, [])])
def test_the_threshold_is_a_setting_and_zero_never_offers(repository, write_config, queue, after, offered):
    write_config(web={"auth": "basic", "username": USER, "password": PASSWORD}, general={"block_offer_after": after})
    app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
    app.test_client_class = Client
    client = app.test_client()
    for item in queue[:2]:
        reject(client, item)
    reject(client, queue[4], reason="dislike_artist")
    newest_first = (["Block Air? You said you don't like the artist."] if after else []) + offered
    assert offers(client.get("/")) == newest_first


def test_a_card_says_how_past_decisions_moved_it(client, repository):
    note = "ranked lower: 3 of 4 albums similar to Muse were rejected"
    repository.add_pending([make_queue_item(album="Showbiz", ranking=note), make_queue_item(album="Plain")])
    page = parse(client.get("/").data)
    assert [p.text for p in page.select("article.card .ranking")] == [note]


@pytest.mark.parametrize("send_feedback", [True, False])
def test_decisions_in_the_web_ui_queue_listenbrainz_feedback_only_when_the_setting_is_on(
        repository, write_config, send_feedback):
    write_config(web={"auth": "basic", "username": USER, "password": PASSWORD},
                 listenbrainz={"send_feedback": send_feedback})
    app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
    app.test_client_class = Client
    client = app.test_client()
    items = [make_queue_item(source="listenbrainz", similar_to=[], source_recording=f"rec-{n}") for n in range(3)]
    repository.add_pending(items)

    client.form("/queue/approve", {"mbid": items[0]["mbid"]}, htmx=True)
    reject(client, items[1])
    client.form("/queue/reason", {"mbid": items[1]["mbid"], "reason": "dislike_artist"}, htmx=True)
    client.post("/api/v1/queue/reject", json={"mbids": [items[2]["mbid"]], "reason": "not_my_taste"})

    expected = [("rec-0", "like"), ("rec-1", "hate"), ("rec-2", "dislike")] if send_feedback else []
    assert [(e["recording_mbid"], e["rating"]) for e in repository.unsent_feedback()] == expected


def test_an_undone_reject_does_not_count_towards_an_offer(client, repository, queue):
    for item in queue[:3]:
        reject(client, item)
    assert offers(client.get("/")) == ["Block Muse? 3 of their albums were rejected."]
    client.form("/queue/undo", {"mbid": queue[0]["mbid"], "was": "rejected"}, htmx=True)
    assert offers(client.get("/")) == []


def test_the_queue_shows_three_offers_at_once_the_artists_rejected_most_first(client, repository):
    """Most rejected first; among equals, the one rejected last."""
    rejections = {"Muse": 5, "Coldplay": 3, "Keane": 4, "Travis": 3, "Snow Patrol": 3}
    items = {artist: [make_queue_item(artist=artist, album=f"{artist} {n}", source="catalog") for n in range(count)]
             for artist, count in rejections.items()}
    repository.add_pending([item for group in items.values() for item in group])
    for group in items.values():
        repository.reject([item["mbid"] for item in group])
    shown = offers(client.get("/"))
    assert shown == ["Block Muse? 5 of their albums were rejected.", "Block Keane? 4 of their albums were rejected.",
                     "Block Snow Patrol? 3 of their albums were rejected."]
    repository.block_artist("Muse")
    assert len(offers(client.get("/"))) == 3 and "Block Muse?" not in " ".join(offers(client.get("/")))
