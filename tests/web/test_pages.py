"""History, wishlist, jobs, block list and downloads pages."""

import json

import pytest
from factories import make_queue_item
from websupport import parse

from app.wishlist import WishlistEntry

# --- history ------------------------------------------------------------------------------


def test_it_lists_approved_and_rejected_albums_newest_first(client, repository):
    items = [make_queue_item(artist=f"Artist {n}", album=f"Album {n}") for n in range(4)]
    repository.add_pending(items)
    repository.approve([items[0]["mbid"]])
    repository.approve([items[1]["mbid"]])
    repository.reject([items[2]["mbid"]])
    approved = parse(client.get("/history/approved").data)
    assert [li.one("strong").text for li in approved.select("ul.rows li")] == ["Album 1", "Album 0"]
    rejected = parse(client.get("/history/rejected").data)
    assert [li.one("strong").text for li in rejected.select("ul.rows li")] == ["Album 2"]
    assert client.get("/history/rejected?q=album 0").text.count("<li class=\"row-item\">") == 0
    assert client.get("/history/other").status_code == 404


def test_it_unrejects_from_the_history(client, repository):
    item = make_queue_item(album="Second Chance")
    repository.add_pending([item])
    repository.reject([item["mbid"]])
    response = client.form("/history/unreject", {"mbid": item["mbid"]}, htmx=True)
    assert "back in the queue" in response.text
    assert repository.find_pending(item["mbid"]) is not None
    assert item["mbid"] not in repository.rejected_mbids()


def test_it_counts_the_rejected_again_after_an_unreject(client, repository):
    items = [make_queue_item(album=f"Album {n}") for n in range(3)]
    repository.add_pending(items)
    repository.reject([item["mbid"] for item in items])
    assert parse(client.get("/history/rejected").data).one("#history-count").text.strip() == "3 rejected"
    response = client.form("/history/unreject", {"mbid": items[0]["mbid"]}, htmx=True)
    page = parse(response.data)
    assert page.one("#history-count").text.strip() == "2 rejected"
    assert page.one("#pending-total").text.strip() == "1"


def test_it_says_the_artist_is_blocked_instead_of_unrejecting(client, repository):
    item = make_queue_item(artist="Nickelback", album="Silver Side Up")
    repository.add_pending([item])
    repository.block_artist("nickelback")  # rejects their pending albums
    response = client.form("/history/unreject", {"mbid": item["mbid"]}, htmx=True)
    assert response.status_code == 409 and "nickelback is blocked" in response.text
    assert repository.find_pending(item["mbid"]) is None and item["mbid"] in repository.rejected_mbids()
    plain = client.form("/history/unreject", {"mbid": item["mbid"], "next": "/history/rejected"})
    assert plain.status_code == 303
    page = client.get(plain.headers["Location"])
    assert "nickelback is blocked: unblock them" in page.text
    repository.unblock_artist("Nickelback")
    client.form("/history/unreject", {"mbid": item["mbid"]}, htmx=True)
    assert repository.find_pending(item["mbid"]) is not None


def test_it_unrejects_without_javascript_and_forgets_bare_mbids(client, repository, data_dir):
    data_dir.mkdir(exist_ok=True)
    (data_dir / "pending_queue.json").write_text(json.dumps({"pending": [], "approved": [], "rejected": ["old"]}))
    page = client.get("/history/rejected")
    assert "no details kept" in page.text
    response = client.form("/history/unreject", {"mbid": "old", "next": "/history/rejected"})
    assert response.status_code == 303 and response.headers["Location"] == "/history/rejected?done=unrejected"
    assert repository.rejected_mbids() == []


# --- wishlist -----------------------------------------------------------------------------


def test_it_shows_the_wishlist_with_download_states(client, repository, data_dir):
    repository.add_to_wishlist([WishlistEntry.create("Justice", "Cross"), WishlistEntry.create("Air", "Moon Safari"),
                                WishlistEntry.create("Daft Punk", "One More Time", "track")])
    repository.mark_downloaded(["Justice - Cross"])
    (data_dir / "download_history.json").write_text(json.dumps({"entries": {"Air - Moon Safari": {
        "state": "no_result", "attempt_count": 2, "reason": "no folder scored above 0.6"}}}))
    with open(data_dir / "wishlist.txt", "a", encoding="utf-8") as handle:
        handle.write("this line is broken\n")
    page = parse(client.get("/wishlist").data)
    rows = {li.one("strong").text: li for li in page.select("ul.rows li")}
    assert rows["Cross"].one(".badge").text == "Sent to slskd"
    assert rows["Moon Safari"].one(".badge").text == "Not found yet · 2 searches"
    assert "no folder scored" in rows["Moon Safari"].text
    assert rows["One More Time"].one(".badge").text == "Waiting" and "track" in rows["One More Time"].text
    assert "this line is broken" in page.one(".notice.bad").text


def test_it_adds_an_entry_by_hand(client, repository):
    response = client.form("/wishlist/add", {"artist": "  Justice ", "title": "Cross", "kind": "album"}, htmx=True)
    assert response.status_code == 200 and "Added Justice - Cross" in response.text
    assert [e.text for e in repository.wishlist_entries()] == ["Justice - Cross"]
    again = client.form("/wishlist/add", {"artist": "justice", "title": "CROSS"}, htmx=True)
    assert again.status_code == 409 and "already on the wishlist" in again.text


def test_it_checks_a_hand_added_album_against_the_library(client, repository, data_dir):
    (data_dir).mkdir(exist_ok=True)
    (data_dir / "catalog_artists.json").write_text(json.dumps({
        "taken_at": "2026-01-01T00:00:00Z", "artists": [{"name": "Justice"}],
        "albums": [{"artist": "Justice", "name": "Cross"}]}))
    refused = client.form("/wishlist/add", {"artist": "Justice", "title": "Cross"}, htmx=True)
    assert refused.status_code == 409 and "already in your library" in refused.text
    assert parse(refused.data).one("input[name=force]")
    assert repository.wishlist_entries() == []
    forced = client.form("/wishlist/add", {"artist": "Justice", "title": "Cross", "force": "1"}, htmx=True)
    assert forced.status_code == 200 and len(repository.wishlist_entries()) == 1


def test_it_shows_what_is_wrong_with_a_new_entry(client):
    response = client.form("/wishlist/add", {"artist": "", "title": "Cross"}, htmx=True)
    assert response.status_code == 422
    page = parse(response.data)
    assert page.one("input[name=artist]").get("aria-invalid") == "true"
    assert page.one("input[name=title]").get("value") == "Cross"


def test_it_removes_an_entry(client, repository):
    repository.add_to_wishlist([WishlistEntry.create("Justice", "Cross"), WishlistEntry.create("Air", "Moon Safari")])
    response = client.form("/wishlist/remove", {"artist": "Justice", "title": "Cross", "kind": "album"}, htmx=True)
    # the row goes (nothing swapped in its place); the count is swapped out of band
    count = parse(response.data).one("#wishlist-count")
    assert response.status_code == 200 and count.get("hx-swap-oob") == "true" and count.text.strip() == "1 entry"
    repository.remove_from_wishlist([WishlistEntry.create("Air", "Moon Safari")])
    assert repository.wishlist_entries() == []
    missing = client.form("/wishlist/remove", {"artist": "Justice", "title": "Cross"})
    assert missing.status_code == 404
    repository.add_to_wishlist([WishlistEntry.create("Air", "Moon Safari")])
    plain = client.form("/wishlist/remove", {"artist": "Air", "title": "Moon Safari"})
    assert plain.status_code == 303


# --- jobs -----------------------------------------------------------------------------------


def test_it_lists_the_jobs_even_before_they_ran(client):
    page = parse(client.get("/jobs").data)
    assert [h.text for h in page.select("article.job h2")] == ["lb-fetch", "catalog-discovery", "library-discovery", "slskd-downloader"]
    assert all(badge.text == "not run yet" for badge in page.select("article.job .badge"))
    assert page.one("section#jobs").get("hx-trigger") is None  # nothing to wait for: no polling


@pytest.fixture
def berlin(time_zone):
    """The server runs with TZ=Europe/Berlin, as a household in Berlin would start the container."""
    time_zone("Europe/Berlin")


def test_it_shows_the_last_run_next_run_and_log(client, repository, berlin):
    repository.update_job_status("lb-fetch", state="idle", runner_started_at="2026-01-01T00:00:00Z",
                                 next_run="2999-01-01T00:00:00Z",
                                 last_run={"finished_at": "2026-01-01T10:00:00Z", "outcome": "failed",
                                           "summary": "run crashed", "error": "ListenBrainz: timed out"})
    repository.append_job_log("lb-fetch", [{"time": "2026-01-01T09:59:00Z", "level": "INFO", "logger": "x",
                                            "message": "asking ListenBrainz"},
                                           {"time": "2026-01-01T10:00:00Z", "level": "ERROR", "logger": "x",
                                            "message": "<b>timed</b> out"}], keep=10)
    job = parse(client.get("/jobs").data).one("article#job-lb-fetch")
    assert job.one(".badge.state-idle").text == "idle"
    assert "run crashed" in job.text and job.one(".error-text").text == "ListenBrainz: timed out"
    assert "Next run in" in job.text
    assert "ListenBrainz recommendations · every 6 hours" in job.text  # the interval in words
    # newest first, in the household's time zone (TZ), with the zone shown
    assert [li.text for li in job.select(".log-lines li")] == ["1 Jan 11:00 CET <b>timed</b> out",
                                                               "1 Jan 10:59 CET asking ListenBrainz"]


def test_it_asks_for_a_run_and_polls_until_done(client, repository):
    response = client.form("/jobs/catalog-discovery/run", {}, htmx=True)
    assert response.status_code == 200
    section = parse(response.data).one("section#jobs")
    assert section.get("hx-trigger") == "every 3s, poll-now" and section.get("data-poll") is not None
    assert "catalog-discovery" in repository.run_requests()
    assert parse(response.data).one("#job-catalog-discovery button").get("disabled") is not None
    poll = client.htmx("/jobs", headers={"HX-Trigger": "jobs"})
    assert poll.status_code == 200  # still waiting for the runner
    repository.take_run_request("catalog-discovery")
    done = client.htmx("/jobs", headers={"HX-Trigger": "jobs"})
    assert done.status_code == 286  # htmx swaps this and stops polling
    assert parse(done.data).one("section#jobs").get("hx-trigger") is None


def test_it_polls_while_a_job_really_runs(client, repository):
    repository.update_job_status("slskd-downloader", state="running", started_at="2026-01-01T10:00:00Z")
    page = parse(client.get("/jobs").data)
    assert page.one("section#jobs").get("hx-trigger") is None  # "running" but no lock held: a dead runner
    with repository.job_lock("slskd-downloader"):
        running = parse(client.get("/jobs").data)
        assert running.one("section#jobs").get("hx-trigger") == "every 3s, poll-now"
        assert "running" in running.one("#job-slskd-downloader .badge").text
        assert client.form("/jobs/slskd-downloader/run", {}).status_code == 409


def test_it_runs_jobs_without_javascript_and_refuses_unknown_ones(client, repository):
    response = client.form("/jobs/lb-fetch/run", {})
    assert response.status_code == 303 and response.headers["Location"] == "/jobs"
    assert client.form("/jobs/rm-rf/run", {}).status_code == 404


# --- block list and downloads -------------------------------------------------------------------


def test_it_edits_the_block_list(client, repository):
    item = make_queue_item(artist="Nickelback")
    repository.add_pending([item])
    added = client.form("/blocklist/add", {"artist": "Nickelback"}, htmx=True)
    assert "1 pending album rejected" in added.text
    assert repository.blocked_artists() == ["Nickelback"]
    page = parse(client.get("/blocklist").data)
    assert [li.one("span").text for li in page.select("ul.rows li")] == ["Nickelback"]
    removed = client.form("/blocklist/remove", {"artist": "nickelback"}, htmx=True)
    assert "may be suggested again" in removed.text and repository.blocked_artists() == []
    assert client.form("/blocklist/remove", {"artist": "nobody"}).status_code == 404
    assert client.form("/blocklist/add", {"artist": ""}, htmx=True).status_code == 422
    assert client.form("/blocklist/add", {"artist": "Creed"}).status_code == 303


def test_it_keeps_a_place_for_downloads(client):
    page = parse(client.get("/downloads").data)
    assert page.one("nav.nav a[aria-current=page]").text == "Downloads"


# --- library-discovery's cards ---------------------------------------------------------------------


def test_the_queue_shows_why_a_new_release_or_a_missing_album_is_there(client, repository):
    repository.add_pending([
        make_queue_item(artist="Portishead", album="Fourth", source="new release", similar_to=[],
                        release_date="2999-02-05"),
        make_queue_item(artist="Radiohead", album="In Rainbows", source="missing", similar_to=[],
                        library_gap={"owned": 2, "total": 4, "rank": 2}),
    ])
    page = parse(client.get("/").data)
    cards = {card.one(".album").text.strip(): card for card in page.select("article")
             if card.select(".album")}
    assert cards["Fourth"].one(".why").text == "new album by Portishead, out on 2999-02-05"
    assert cards["Fourth"].one(".badge.new.release").text == "New release"
    assert cards["In Rainbows"].one(".why").text == "you have 2 of 4 Radiohead albums; this one is their 2nd most played"
    assert cards["In Rainbows"].one(".badge.missing").text == "Missing album"
    # Both sources are in the queue's filter.
    options = [o.get("value") for o in page.select("select[name=source] option")]
    assert {"new release", "missing"} <= set(options)
