"""The queue page: cards, filters, paging, approve/reject with undo, bulk, block artist."""

from urllib.parse import parse_qs, urlsplit

import pytest
from factories import make_queue_item
from websupport import parse

from app.repository import queue as queue_records
from app.wishlist import WishlistEntry


def cards(response):
    return parse(response.data).select("article.card")


def mbids_of(response):
    return [card.get("data-mbid") for card in cards(response)]


@pytest.fixture
def queue(repository):
    items = [
        make_queue_item(artist="Justice", album="Cross", year=2007, score=82.5, source="catalog",
                        similar_to=["Daft Punk", "Kavinsky"], added_at="2026-01-03T10:00:00Z",
                        cover_url="https://coverartarchive.org/release-group/x/front-250"),
        make_queue_item(artist="Boards of Canada", album="Music Has the Right to Children", year=1998, score=85,
                        source="listenbrainz", similar_to=[], source_track="Roygbiv", added_at="2026-01-02T10:00:00Z"),
        make_queue_item(artist="Air", album="Moon Safari", year=1998, score=40, source="catalog",
                        added_at="2026-01-01T10:00:00Z"),
    ]
    repository.add_pending(items)
    return items


def test_it_shows_pending_albums_as_cards(client, queue):
    response = client.get("/")
    assert response.status_code == 200
    page = parse(response.data)
    first = page.select("article.card")[0]
    assert first.one("h2.album").text == "Cross"
    assert "Justice" in first.one("p.artist").text and "2007" in first.one("p.artist").text
    assert first.one(".badge.catalog").text == "Similar artists"
    assert "82.5" in first.one(".score").text
    assert first.one("p.why").text == "similar to Daft Punk, Kavinsky"
    links = [a.get("href") for a in first.select(".menu a")]
    assert links == [f"https://musicbrainz.org/release-group/{queue[0]['mbid']}",
                     f"https://listenbrainz.org/album/{queue[0]['mbid']}/"]
    img = first.one(".cover img")
    assert img.get("loading") == "lazy" and img.get("src").startswith("https://coverartarchive.org/")
    second = page.select("article.card")[1]
    assert second.one("p.why").text == "from your listening: Roygbiv"
    assert not second.select(".cover img")  # no cover: the placeholder shows
    assert page.one("#pending-total").text == "3"


def test_it_gives_htmx_only_the_list(client, queue):
    full = client.get("/")
    partial = client.htmx("/")
    assert "<html" in full.text and "<html" not in partial.text
    assert mbids_of(partial) == mbids_of(full)
    assert "HX-Request" in partial.headers["Vary"]
    restore = client.get("/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_it_filters_by_source_and_text(client, queue):
    assert mbids_of(client.get("/?source=listenbrainz")) == [queue[1]["mbid"]]
    assert mbids_of(client.get("/?q=moon")) == [queue[2]["mbid"]]
    assert mbids_of(client.get("/?q=CROSS&source=catalog")) == [queue[0]["mbid"]]
    empty = client.get("/?q=nothing-like-this")
    assert cards(empty) == [] and "Nothing matches" in empty.text


@pytest.mark.parametrize("query,order", [
    ("sort=date", [0, 1, 2]), ("sort=date&order=asc", [2, 1, 0]), ("sort=score", [1, 0, 2]),
    ("sort=artist", [2, 1, 0]), ("sort=year&order=asc", [1, 2, 0]), ("sort=bogus", [0, 1, 2]),
])
def test_it_sorts(client, queue, query, order):
    got = mbids_of(client.get(f"/?{query}"))
    if query == "sort=year&order=asc":  # two albums from 1998: either order
        assert got[-1] == queue[0]["mbid"]
    else:
        assert got == [queue[i]["mbid"] for i in order]


def test_it_pages_and_loads_more(client, repository):
    items = [make_queue_item(added_at=f"2026-01-01T10:{n // 60:02d}:{n % 60:02d}Z") for n in range(120)]
    repository.add_pending(items)
    first = client.get("/")
    assert len(cards(first)) == 50
    more = parse(first.data).one("#pager a.more")
    assert "offset=50" in more.get("href") and more.get("hx-get") == more.get("href")
    assert "70 left" in more.text
    chunk = client.htmx(more.get("href"))
    assert len(cards(chunk)) == 50 and "list-head" not in chunk.text  # appended under the first 50
    assert parse(chunk.data).one("#pager a.more").get("href").endswith("offset=100")
    last = client.htmx("/?offset=100")
    assert len(cards(last)) == 20 and not parse(last.data).select("#pager a.more")
    plain = client.get("/?offset=100")  # without JavaScript: a page of its own, with a way back
    assert "Previous" in plain.text


def test_it_stays_small_with_ten_thousand_pending(client, repository):
    repository.add_pending([make_queue_item() for _ in range(10_000)])
    response = client.get("/")
    assert len(cards(response)) == 50
    assert len(response.data) < 150_000
    assert parse(response.data).one("#match-count").text == "10000"


def test_it_approves_with_htmx_and_offers_undo(client, repository, queue):
    response = client.form("/queue/approve", {"mbid": queue[0]["mbid"]}, htmx=True)
    assert response.status_code == 200
    page = parse(response.data)
    done = page.one("article.card.done")
    assert "Approved" in done.text and "Justice – Cross" in done.text
    assert done.get("data-expires")
    undo = done.one("form")
    assert undo.one("input[name=was]").get("value") == "approved"
    assert page.one("#pending-total").get("hx-swap-oob") == "true" and page.one("#pending-total").text == "2"
    assert [e.text for e in repository.wishlist_entries()] == ["Justice - Cross"]
    assert repository.find_pending(queue[0]["mbid"]) is None

    fields = {i.get("name"): i.get("value") for i in undo.select("input")}
    restored = client.post("/queue/undo", data=fields, headers={"HX-Request": "true"})
    assert restored.status_code == 200
    assert mbids_of(restored) == [queue[0]["mbid"]]
    assert repository.find_pending(queue[0]["mbid"]) is not None
    assert repository.wishlist_entries() == []


def test_it_rejects_and_undoes_the_rejection(client, repository, queue):
    response = client.form("/queue/reject", {"mbid": queue[1]["mbid"]}, htmx=True)
    assert "Rejected" in parse(response.data).one("article.card.done").text
    assert queue[1]["mbid"] in repository.rejected_mbids()
    again = client.form("/queue/undo", {"mbid": queue[1]["mbid"], "was": "rejected"}, htmx=True)
    assert again.status_code == 200
    assert queue[1]["mbid"] not in repository.rejected_mbids()
    assert client.form("/queue/undo", {"mbid": queue[1]["mbid"], "was": "rejected"}).status_code == 409


def test_it_keeps_a_wishlist_entry_that_was_there_before_on_undo(client, repository, queue):
    repository.add_to_wishlist([WishlistEntry.create("Justice", "Cross")])
    response = client.form("/queue/approve", {"mbid": queue[0]["mbid"]}, htmx=True)
    fields = {i.get("name"): i.get("value") for i in parse(response.data).select("article.card.done input")}
    assert fields["keep"] == "1"
    client.post("/queue/undo", data=fields, headers={"HX-Request": "true"})
    assert [e.text for e in repository.wishlist_entries()] == ["Justice - Cross"]


def test_it_works_without_javascript(client, repository, queue):
    response = client.form("/queue/approve", {"mbid": queue[0]["mbid"], "next": "/?source=catalog"})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/?source=catalog&done=approved")
    page = client.get(location)
    notice = parse(page.data).one(".notice")
    assert "Approved Justice – Cross" in notice.text
    fields = {i.get("name"): i.get("value") for i in notice.select("input")}
    undone = client.post("/queue/undo", data=fields)
    assert undone.status_code == 303 and "done=undone" in undone.headers["Location"]
    assert repository.find_pending(queue[0]["mbid"]) is not None


def test_it_never_redirects_to_another_site(client, queue):
    for evil in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        response = client.form("/queue/reject", {"mbid": queue[0]["mbid"], "next": evil})
        assert response.headers["Location"].startswith("/?done=")
        client.form("/queue/undo", {"mbid": queue[0]["mbid"], "was": "rejected"})


def test_it_says_when_an_album_was_already_decided(client, repository, queue):
    repository.approve([queue[0]["mbid"]])
    response = client.form("/queue/approve", {"mbid": queue[0]["mbid"]}, htmx=True)
    assert response.status_code == 404
    assert "no longer in the queue" in response.text and "<html" not in response.text


def test_it_approves_and_rejects_a_selection(client, repository, queue):
    response = client.post("/queue/bulk/approve", headers={"HX-Request": "true"}, data={
        "csrf_token": client.token(), "mbid": [queue[0]["mbid"], queue[2]["mbid"]], "source": "catalog"})
    assert response.status_code == 200
    page = parse(response.data)
    assert page.one("#toast p").text == "Approved 2 albums."
    assert mbids_of(response) == []  # the list for the filter in use (catalog): nothing left
    assert len(repository.wishlist_entries()) == 2
    assert client.form("/queue/bulk/reject", {}).status_code == 400
    plain = client.form("/queue/bulk/reject", {"mbid": queue[1]["mbid"], "next": "/"})
    assert plain.status_code == 303 and "done=bulk" in plain.headers["Location"]
    assert repository.pending_count() == 0


def test_it_approves_everything_the_filter_matches(client, repository, queue):
    response = client.form("/queue/all/approve", {"source": "catalog"}, htmx=True)
    assert "Approved 2 albums." in response.text
    assert [i["mbid"] for i in repository.queue()["pending"]] == [queue[1]["mbid"]]
    client.form("/queue/all/reject", {"q": "boards"})
    assert repository.pending_count() == 0 and repository.rejected_mbids() == [queue[1]["mbid"]]


def test_it_blocks_an_artist_from_a_card(client, repository, queue):
    repository.add_pending([make_queue_item(artist="justice", album="Woman")])
    response = client.form("/queue/block", {"artist": "Justice"}, htmx=True)
    assert response.status_code == 200
    assert "Blocked Justice: 2 albums rejected" in response.text
    assert repository.blocked_artists() == ["Justice"]
    assert "Justice" not in " ".join(c.text for c in cards(response))
    assert client.form("/queue/block", {"artist": " "}).status_code == 400


def test_it_has_touch_sized_approve_and_reject_buttons_on_every_card(client, queue):
    for card in cards(client.get("/")):
        buttons = {b.text: b for b in card.select("form.actions button")}
        assert buttons["Approve"].get("hx-post") == "/queue/approve"
        assert buttons["Reject"].get("formaction") == "/queue/reject"
        assert card.one("input[type=checkbox]").get("form") == "bulk"


# --- undo of bulk actions ---------------------------------------------------------------------


def toast_undo_fields(response) -> dict:
    """The fields of the Undo form in a bulk action's toast."""
    form = parse(response.data).one("#toast form")
    assert form.get("action") == "/queue/bulk/undo" and form.one("button").get("hx-post") == "/queue/bulk/undo"
    return {i.get("name"): i.get("value") for i in form.select("input")}


def test_it_undoes_a_bulk_approval_and_takes_off_only_the_entries_it_added(client, repository, queue):
    repository.add_to_wishlist([WishlistEntry.create("Air", "Moon Safari")])  # on the wishlist before
    response = client.post("/queue/bulk/approve", headers={"HX-Request": "true"}, data={
        "csrf_token": client.token(), "mbid": [queue[0]["mbid"], queue[2]["mbid"]], "source": "catalog"})
    fields = toast_undo_fields(response)
    assert set(fields) == {"csrf_token", "undo", "next"}  # the id only, never the albums
    assert sorted(e.text for e in repository.wishlist_entries()) == ["Air - Moon Safari", "Justice - Cross"]

    undone = client.post("/queue/bulk/undo", headers={"HX-Request": "true"}, data={**fields, "source": "catalog"})

    assert undone.status_code == 200
    page = parse(undone.data)
    assert page.one("#toast p").text == "Undone: 2 albums back in the queue."
    assert not page.select("#toast form")  # an undo is not undone again
    assert page.one("#pending-total").text == "3"
    assert mbids_of(undone) == [queue[0]["mbid"], queue[2]["mbid"]]  # the list for the filter in use (catalog)
    assert [repository.find_pending(item["mbid"]) for item in queue] == queue  # exactly as they were
    assert repository.approved_mbids() == []
    assert [e.text for e in repository.wishlist_entries()] == ["Air - Moon Safari"]


def test_it_undoes_a_bulk_rejection(client, repository, queue):
    response = client.post("/queue/bulk/reject", headers={"HX-Request": "true"}, data={
        "csrf_token": client.token(), "mbid": [queue[0]["mbid"], queue[1]["mbid"]]})
    assert parse(response.data).one("#toast p").text == "Rejected 2 albums."
    assert set(repository.rejected_mbids()) == {queue[0]["mbid"], queue[1]["mbid"]}

    undone = client.post("/queue/bulk/undo", headers={"HX-Request": "true"}, data=toast_undo_fields(response))

    assert undone.status_code == 200 and "Undone: 2 albums back in the queue." in undone.text
    assert mbids_of(undone) == [item["mbid"] for item in queue]
    assert repository.rejected_mbids() == [] and repository.rejected_page() == ([], 0)
    assert [repository.find_pending(item["mbid"]) for item in queue] == queue


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_it_undoes_everything_a_filter_matched(client, repository, queue, action):
    response = client.form(f"/queue/all/{action}", {"source": "catalog"}, htmx=True)
    assert f"{'Approved' if action == 'approve' else 'Rejected'} 2 albums." in response.text
    assert repository.pending_count() == 1

    undone = client.post("/queue/bulk/undo", headers={"HX-Request": "true"}, data=toast_undo_fields(response))

    assert "Undone: 2 albums back in the queue." in undone.text
    assert [repository.find_pending(item["mbid"]) for item in queue] == queue
    assert repository.approved_mbids() == [] and repository.rejected_mbids() == [] and repository.wishlist_entries() == []


def test_it_undoes_approving_ten_thousand_with_one_small_form(client, repository):
    repository.add_pending([make_queue_item() for _ in range(10_000)])
    response = client.form("/queue/all/approve", {}, htmx=True)
    assert "Approved 10000 albums." in response.text and len(response.data) < 20_000
    assert repository.pending_count() == 0 and len(repository.wishlist_entries()) == 10_000

    undone = client.post("/queue/bulk/undo", headers={"HX-Request": "true"}, data=toast_undo_fields(response))

    assert "Undone: 10000 albums back in the queue." in undone.text
    assert repository.pending_count() == 10_000 and repository.wishlist_entries() == []


def test_it_refuses_an_unknown_or_used_undo_and_changes_nothing(client, repository, queue):
    unknown = client.form("/queue/bulk/undo", {"undo": "no-such-action"}, htmx=True)
    assert unknown.status_code == 410 and "<html" not in unknown.text
    assert parse(unknown.data).one("p.notice.bad").text.startswith("Nothing to undo")

    response = client.form("/queue/bulk/approve", {"mbid": queue[0]["mbid"]}, htmx=True)
    fields = toast_undo_fields(response)
    assert client.post("/queue/bulk/undo", data=fields, headers={"HX-Request": "true"}).status_code == 200
    client.form("/queue/approve", {"mbid": queue[0]["mbid"]})  # approved again, one by one
    again = client.post("/queue/bulk/undo", data=fields, headers={"HX-Request": "true"})
    assert again.status_code == 410 and "Nothing to undo" in again.text and "Nothing was changed." in again.text
    assert repository.find_pending(queue[0]["mbid"]) is None  # the later approval stands
    assert [e.text for e in repository.wishlist_entries()] == ["Justice - Cross"]


def test_it_refuses_an_expired_undo_and_changes_nothing(client, repository, queue, monkeypatch):
    monkeypatch.setattr(queue_records, "UNDO_SECONDS", 0)  # expired as soon as it is recorded
    response = client.form("/queue/bulk/reject", {"mbid": [queue[0]["mbid"], queue[1]["mbid"]]}, htmx=True)
    before = repository.queue()

    late = client.post("/queue/bulk/undo", data=toast_undo_fields(response), headers={"HX-Request": "true"})

    assert late.status_code == 410
    assert parse(late.data).one("p.notice.bad").text.startswith("Too late to undo")
    assert repository.queue() == before and repository.pending_count() == 1

    plain = client.form("/queue/bulk/undo", {"undo": toast_undo_fields(response)["undo"], "next": "/?source=catalog"})
    assert plain.status_code == 303 and plain.headers["Location"].startswith("/?source=catalog&done=refused")
    notice = parse(client.get(plain.headers["Location"]).data).one(".notice.bad")
    assert notice.text.startswith("Too late to undo") and not notice.select("form")
    assert repository.queue() == before


def test_it_undoes_a_bulk_action_without_javascript(client, repository, queue):
    # the page it came from shows an earlier notice: the new one replaces it
    earlier = "/?source=catalog&done=bulk&name=Approved+9+albums.&undo=older"
    response = client.form("/queue/bulk/approve", {"mbid": [queue[0]["mbid"], queue[2]["mbid"]], "next": earlier})
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    args = parse_qs(location.query)
    assert location.path == "/" and args["source"] == ["catalog"] and args["done"] == ["bulk"]
    assert args["name"] == ["Approved 2 albums."] and args["undo"] != ["older"]

    notice = parse(client.get(response.headers["Location"]).data).one(".notice")
    assert "Approved 2 albums." in notice.text
    fields = {i.get("name"): i.get("value") for i in notice.select("form input")}
    assert fields["undo"] == args["undo"][0] and fields["next"] == "/?source=catalog"

    undone = client.post("/queue/bulk/undo", data=fields)

    assert undone.status_code == 303
    assert undone.headers["Location"].startswith("/?source=catalog&done=bulk&name=Undone")
    back = parse(client.get(undone.headers["Location"]).data)
    assert "Undone: 2 albums back in the queue." in back.one(".notice").text
    assert [repository.find_pending(item["mbid"]) for item in queue] == queue
    assert repository.wishlist_entries() == []


def test_it_undoes_everything_a_filter_matched_without_javascript(client, repository, queue):
    response = client.form("/queue/all/reject", {"source": "catalog", "next": "/?source=catalog"})
    assert response.status_code == 303 and "undo=" in response.headers["Location"]
    notice = parse(client.get(response.headers["Location"]).data).one(".notice")
    undone = client.post("/queue/bulk/undo", data={i.get("name"): i.get("value") for i in notice.select("form input")})
    assert undone.status_code == 303 and "done=bulk" in undone.headers["Location"]
    assert [repository.find_pending(item["mbid"]) for item in queue] == queue
    assert repository.rejected_mbids() == []


# --- counts that stay true without a reload ---------------------------------------------------


def head_of(response):
    head = parse(response.data).one("#list-head")
    assert head.get("hx-swap-oob") == "true"
    return head


def test_it_counts_again_after_a_card_is_decided_and_undone(client, queue):
    response = client.form("/queue/approve", {"mbid": queue[0]["mbid"], "sort": "date"}, htmx=True)
    head = head_of(response)
    assert head.one("#match-count").text == "2" and "pending" in head.text
    assert head.one("summary").text == "All 2…"
    assert [b.text for b in head.select("button")] == ["Approve all 2", "Reject all 2"]
    assert parse(response.data).one("#pending-total").text == "2"

    undone = client.form("/queue/undo", {"mbid": queue[0]["mbid"], "was": "approved", "keep": "0"}, htmx=True)
    assert head_of(undone).one("#match-count").text == "3"
    assert parse(undone.data).one("#pending-total").text == "3"


def test_it_counts_the_filter_in_use_after_a_card_is_decided(client, queue):
    response = client.form("/queue/reject", {"mbid": queue[0]["mbid"], "source": "catalog"}, htmx=True)
    head = head_of(response)
    assert head.one("#match-count").text == "1" and "matching" in head.text
    assert parse(response.data).one("#pending-total").text == "2"


def test_it_counts_albums_a_job_added_when_the_count_polls(client, repository, queue):
    page = parse(client.get("/").data)
    poll = page.one("#pending-total")
    assert poll.text == "3" and poll.get("hx-get") == "/queue/count" and poll.get("hx-trigger") == "every 30s"
    repository.add_pending([make_queue_item(source="catalog"), make_queue_item(source="listenbrainz")])  # a job ran
    answer = parse(client.htmx("/queue/count?sort=date&order=desc&source=catalog").data)
    assert answer.one("#pending-total").text == "5" and answer.one("#pending-total").get("hx-get")  # it polls on
    assert answer.one("#list-head #match-count").text == "3"
    elsewhere = parse(client.htmx("/queue/count").data)  # another page: only the header's count
    assert elsewhere.one("#pending-total").text == "5" and not elsewhere.select("#list-head")
