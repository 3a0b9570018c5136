"""The Downloads page: sections, polling, the actions (form POST and htmx), access, CSRF, escaping."""

from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from download_factories import (
    make_attempt,
    make_candidate,
    make_download,
    seed_download,
)
from websupport import parse

from app.web.present import parse_time
from app.wishlist import WishlistEntry

JOB = "slskd-downloader"
ACTIVE_POLL = {"HX-Request": "true", "HX-Trigger": "downloads-active"}
XSS_USER = '<script>alert("user")</script>'
XSS_FOLDER = 'C:\\Music\\"><img src=x onerror=alert(1)>'
XSS_ARTIST = "<b onmouseover=alert(2)>Evil</b>"
XSS_TITLE = "{{ 7*7 }}<svg onload=alert(3)>"


@pytest.fixture
def app(make_app):
    app = make_app()
    app.config["DOWNLOADS_LIVE_CHECK"] = False  # test_downloads_live.py covers the page's own transfer check
    return app


@pytest.fixture
def every_state(repository):
    return {
        "downloading": seed_download(repository, "Sigur Rós", "( )", "downloading"),
        "searching": seed_download(repository, "Björk", "Homogenic", "searching"),
        "failed": seed_download(repository, "Múm", "Finally We Are No One", "failed"),
        "no_result": seed_download(repository, "Portishead", "Dummy", "no_result"),
        "wanted": seed_download(repository, "Air", "Moon Safari", "wanted"),
        "completed": seed_download(repository, "Slowdive", "Souvlaki", "completed"),
    }


def section(response, name: str):
    return parse(response.text).one(f"section#downloads-{name}")


def keys_in(node) -> list[str]:
    return [field.get("value") for field in node.select("form[action=/downloads/remove] input[name=key]")]


def done_message(response) -> str:
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/downloads"
    return parse_qs(location.query)["done"][0]


# --- the page -----------------------------------------------------------------------------------


def test_it_shows_each_record_in_its_section(client, every_state):
    response = client.get("/downloads")
    assert response.status_code == 200
    active = section(response, "active")
    assert keys_in(active) == ["Sigur Rós - ( )"]  # a search in progress has no actions yet
    album = active.one("li[data-state=downloading]")
    assert album.one("progress").get("value") == "37.5" and album.one("progress").get("max") == "100"
    assert album.one(".dl-files-done").text == "3 of 8 files"
    assert album.one(".dl-percent").text == "37 %"
    assert album.one(".dl-speed").text == "1.2 MB/s"
    assert album.one(".meta .dl-user").text == "nordicfan"
    assert "Downloading" in album.one(".badge").text
    searching = active.one("li[data-state=searching]")
    assert searching.one("progress").get("value") is None  # indeterminate
    assert "“Sigur Rós ( )”" in searching.text

    attention = section(response, "attention")
    assert keys_in(attention) == ["Portishead - Dummy", "Múm - Finally We Are No One"]
    failed = attention.one("li[data-state=failed]")
    assert failed.one(".dl-reason").text == "gave up after 6 searches; no acceptable result"
    assert failed.one(".badge").text == "Failed · 6 searches"
    assert failed.one(".candidate .dl-user").text == "lowq"
    assert "128 kbps is below the minimum of 192" in failed.one(".candidate .reasons").text
    assert failed.select("form[action=/downloads/retry]") and failed.select("form[action=/downloads/search-again]")
    assert "live" in attention.one("li[data-state=no_result] .reasons").text

    assert keys_in(section(response, "waiting")) == ["Air - Moon Safari"]
    completed = section(response, "completed")
    assert keys_in(completed) == ["Slowdive - Souvlaki"]
    assert "8 files" in completed.text and "nordicfan" in completed.text


def test_it_shows_empty_sections_and_no_polling_without_records(client):
    response = client.get("/downloads")
    assert response.status_code == 200
    assert "Nothing is downloading right now." in response.text
    assert "Nothing failed." in response.text and "No album downloaded yet." in response.text
    assert section(response, "active").get("hx-trigger") is None


def test_it_polls_the_active_section_only_while_something_is_active(client, repository):
    seed_download(repository, state="completed")
    assert section(client.get("/downloads"), "active").get("hx-trigger") is None
    seed_download(repository, "Björk", "Vespertine", "queued")
    active = section(client.get("/downloads"), "active")
    assert active.get("hx-get") == "/downloads/active"
    assert active.get("hx-trigger") == "every 3s, poll-now"
    assert active.get("hx-swap") == "outerHTML" and "data-poll" in active.attrs
    assert active.get("hx-vals").startswith('{"seen": "')


def test_it_answers_the_last_poll_with_286_and_the_final_state(client, repository):
    seed_download(repository, state="downloading")
    polled = client.get("/downloads/active", headers=ACTIVE_POLL)
    assert polled.status_code == 200
    assert "<html" not in polled.text and section(polled, "active").get("hx-trigger") == "every 3s, poll-now"

    repository.update_download_record("Sigur Rós - ( )", lambda r: setattr(r, "state", "completed"))
    last = client.get("/downloads/active", headers=ACTIVE_POLL)
    assert last.status_code == 286
    assert section(last, "active").get("hx-trigger") is None
    assert "Nothing is downloading right now." in last.text


def test_it_sends_the_other_sections_only_when_a_state_changed(client, repository):
    seed_download(repository, state="downloading")
    seed_download(repository, "Air", "Moon Safari", "downloading")
    seen = section(client.get("/downloads"), "active").get("hx-vals").split('"')[3]
    same = client.get(f"/downloads/active?seen={seen}", headers=ACTIVE_POLL)
    assert "hx-swap-oob" not in same.text

    repository.update_download_record("Air - Moon Safari", lambda r: setattr(r, "state", "completed"))
    changed = client.get(f"/downloads/active?seen={seen}", headers=ACTIVE_POLL)
    assert changed.status_code == 200  # Sigur Rós is still downloading
    page = parse(changed.text)
    assert page.one("section#downloads-completed").get("hx-swap-oob") == "true"
    assert page.one("section#downloads-attention").get("hx-swap-oob") == "true"
    assert keys_in(page.one("section#downloads-completed")) == ["Air - Moon Safari"]
    assert section(changed, "active").get("hx-swap-oob") is None


def test_it_shows_an_approved_album_at_once_waiting_for_its_search(client, repository):
    from factories import make_queue_item

    item = make_queue_item(artist="Air", album="Moon Safari")
    repository.add_pending([item])
    client.form("/queue/approve", {"mbid": item["mbid"]}, htmx=True)
    page = client.get("/downloads")
    waiting = section(page, "waiting")
    assert [t.text for t in waiting.select("li .album")] == ["Moon Safari"] and "not searched yet" in waiting.text
    active = section(page, "active")
    # The approval asked the downloader for a run half a minute later (past the Undo): the page says so and
    # follows closely; "Run downloader now" still runs it at once.
    due = repository.run_requests()[JOB]
    assert 25 <= (parse_time(due) - datetime.now(timezone.utc)).total_seconds() <= 31
    assert "What was just approved is searched in a moment" in active.text
    assert active.get("hx-trigger") == "every 3s, poll-now"
    assert active.one("button").get("disabled") is None
    assert "Nothing is downloading right now. 1 album waits for its first search." in active.text
    seen = active.get("hx-vals").split('"')[3]
    assert client.get(f"/downloads/active?seen={seen}", headers=ACTIVE_POLL).status_code == 200

    # the downloader's run starts its search: the poll brings it over, with the waiting section out of band
    repository.cancel_run_request(JOB)  # as a run does when it starts
    repository.update_download_record("Air - Moon Safari", lambda r: setattr(r, "state", "searching"),
                                      entry=WishlistEntry.create("Air", "Moon Safari"))
    changed = client.get(f"/downloads/active?seen={seen}", headers=ACTIVE_POLL)
    assert changed.status_code == 200 and section(changed, "active").get("hx-trigger") == "every 3s, poll-now"
    assert [t.text for t in section(changed, "active").select("li .album")] == ["Moon Safari"]
    assert parse(changed.text).one("section#downloads-waiting").get("hx-swap-oob") == "true"
    assert parse(changed.text).one("section#downloads-waiting").select("li") == []

    repository.update_download_record("Air - Moon Safari", lambda r: setattr(r, "state", "completed"))
    assert client.get("/downloads/active", headers=ACTIVE_POLL).status_code == 286  # the final state stops it


def test_it_names_the_decisive_reason_of_a_not_found_album_first(client, repository):
    low = make_candidate(score=0.41, accepted=False, format="mp3",
                         factors={"completeness": 1.0, "title": 0.9, "quality": 0.2},
                         reasons=["completeness: all 8 tracks with matching lengths", "title: album named",
                                  "quality: MP3, 128 kbps is below the minimum of 192 kbps"])
    seed_download(repository, "Sigur Rós", "( )", "no_result",
                  reason="no acceptable result: the best folder scored 0.41 (minimum 0.60): nordicfan: x — "
                         "completeness: all 8 tracks with matching lengths; title: album named",
                  attempts=[make_attempt(low, outcome="no_result")])
    item = section(client.get("/downloads"), "attention").one("li[data-state=no_result]")
    first = item.select("p")[2]  # after the title and the badge: the decisive reason, before the good news
    assert "dl-decisive" in first.get("class")
    assert first.text == "Quality: MP3, 128 kbps is below the minimum of 192 kbps"
    assert "scored 0.41" in item.one(".dl-reason").text


def test_it_says_transfer_states_in_words(client, repository):
    seed_download(repository, state="downloading")
    files = section(client.get("/downloads"), "active").one(".dl-filelist")
    states = {li.select("span")[1].text.strip() for li in files.select("li")}
    assert "done" in states and "in the uploader's queue" in states
    assert "Completed" not in files.text and "Remotely" not in files.text


def test_it_keeps_polling_while_a_run_is_asked_for(client, repository):
    repository.request_run(JOB)
    response = client.get("/downloads/active", headers=ACTIVE_POLL)
    assert response.status_code == 200
    active = section(response, "active")
    assert active.get("hx-trigger") == "every 3s, poll-now"
    assert "“Run now” asked" in active.text
    assert active.one("form[action=/downloads/run] button").get("disabled") is not None


def test_it_answers_the_active_url_with_the_whole_page_without_htmx(client, every_state):
    response = client.get("/downloads/active")
    assert response.status_code == 200 and "<html" in response.text
    assert "HX-Request" in response.headers["Vary"]


# --- actions ----------------------------------------------------------------------------------------


def test_it_retries_a_failed_entry(client, repository, every_state):
    message = done_message(client.form("/downloads/retry", {"key": "Múm - Finally We Are No One"}))
    assert message == "Múm - Finally We Are No One is searched again at the next run."
    record = repository.download_record("Múm - Finally We Are No One")
    assert (record.state, record.attempt_count) == ("wanted", 0)
    assert JOB in repository.run_requests()
    shown = client.get("/downloads?" + urlsplit(client.form("/downloads/retry", {"key": "Air - Moon Safari"})
                                                .headers["Location"]).query)
    assert parse(shown.text).one("#downloads .notice.ok").text.startswith("Air - Moon Safari is searched again")


def test_it_puts_a_retried_entry_back_on_the_wishlist(client, repository):
    seed_download(repository, "Múm", "Finally We Are No One", "failed", on_wishlist=False)
    message = done_message(client.form("/downloads/retry", {"key": "Múm - Finally We Are No One"}))
    assert "back on the wishlist" in message
    assert [e.text for e in repository.wishlist_entries()] == ["Múm - Finally We Are No One"]


def test_it_moves_an_active_download_on_to_the_next_folder(client, repository, every_state):
    message = done_message(client.form("/downloads/retry", {"key": "Sigur Rós - ( )"}))
    assert message.startswith("Sigur Rós - ( ): the folder from nordicfan is given up")
    assert repository.download_record("Sigur Rós - ( )").failover_requested is True


def test_it_refuses_to_retry_a_completed_album(client, repository, every_state):
    response = client.form("/downloads/retry", {"key": "Slowdive - Souvlaki"})
    assert response.status_code == 409 and "already downloaded" in response.text
    assert repository.download_record("Slowdive - Souvlaki").state == "completed"


def test_it_shows_a_refusal_in_the_toast_instead_of_the_downloads_list(client, repository, every_state):
    response = client.form("/downloads/retry", {"key": "Slowdive - Souvlaki"}, htmx=True)
    assert response.status_code == 409 and "already downloaded" in response.text
    assert (response.headers["HX-Retarget"], response.headers["HX-Reswap"]) == ("#toast", "innerHTML")
    assert 'id="downloads"' not in response.text


def test_it_searches_again_with_an_edited_query(client, repository, every_state):
    response = client.form("/downloads/search-again", {"key": "Sigur Rós - ( )", "query": "  sigur   ros  untitled "})
    assert done_message(response) == "Sigur Rós - ( ) is searched as “sigur ros untitled” at the next run."
    record = repository.download_record("Sigur Rós - ( )")
    assert (record.state, record.query) == ("wanted", "sigur ros untitled")
    assert record.downloads[-1]["state"] == "cancelled"
    assert {item["id"] for item in record.cancel} == {f"id-{n}" for n in range(4, 9)}
    assert JOB in repository.run_requests()


@pytest.mark.parametrize("query,message", [("", "Type what to search for."), ("   ", "Type what to search for."),
                                           ("x" * 301, "The query is too long (at most 300 characters).")])
def test_it_refuses_an_empty_or_long_query(client, repository, every_state, query, message):
    response = client.form("/downloads/search-again", {"key": "Portishead - Dummy", "query": query})
    assert response.status_code == 400 and message in response.text
    assert repository.download_record("Portishead - Dummy").state == "no_result"
    assert repository.run_requests() == {}


def test_it_removes_an_entry_and_its_wishlist_line(client, repository, every_state):
    message = done_message(client.form("/downloads/remove", {"key": "Portishead - Dummy"}))
    assert message == "Removed Portishead - Dummy and took it off the wishlist."
    assert repository.download_record("Portishead - Dummy") is None
    assert "Portishead - Dummy" not in [e.text for e in repository.wishlist_entries()]
    assert JOB in repository.run_requests()


def test_it_removes_an_active_download_keeping_the_wishlist_line(client, repository, every_state):
    message = done_message(client.form("/downloads/remove", {"key": "Sigur Rós - ( )", "keep_wishlist": "1"}))
    assert message == "Removed Sigur Rós - ( ); its transfers are cancelled in slskd within a minute; " \
                      "it stays on the wishlist."
    record = repository.download_record("Sigur Rós - ( )")
    assert record.state == "removed" and record.cancel  # cancelled at the next transfer check
    assert "Sigur Rós - ( )" in [e.text for e in repository.wishlist_entries()]
    assert "Sigur Rós - ( )" not in keys_in(section(client.get("/downloads"), "active"))


def test_it_takes_a_completed_album_off_the_list_only(client, repository, every_state):
    message = done_message(client.form("/downloads/remove", {"key": "Slowdive - Souvlaki"}))
    assert message == "Removed Slowdive - Souvlaki from the list (its files stay where slskd put them)."
    assert repository.download_record("Slowdive - Souvlaki") is None
    assert "Slowdive - Souvlaki" in [e.text for e in repository.wishlist_entries()]


def remove_form(response, key: str):
    page = parse(response.text)
    [form] = [f for f in page.select("form[action=/downloads/remove]") if f.one("input[name=key]").get("value") == key]
    return form


def test_it_offers_to_keep_the_entry_on_the_wishlist_when_removing(client, every_state):
    page = client.get("/downloads")
    for key in ("Sigur Rós - ( )", "Múm - Finally We Are No One", "Portishead - Dummy", "Air - Moon Safari"):
        form = remove_form(page, key)
        label = form.one("label.check")  # .check: a label as tall as a finger
        assert label.text == "Keep it on the wishlist"
        box = label.one("input")
        assert box.get("type") == "checkbox" and box.get("name") == "keep_wishlist" and box.get("checked") is None
        assert "unless “Keep it on the wishlist” is ticked" in form.get("hx-confirm")
    # a completed album's Remove only clears the history: nothing to keep
    assert not remove_form(page, "Slowdive - Souvlaki").select("input[name=keep_wishlist]")


@pytest.mark.parametrize("htmx", [False, True])
def test_it_keeps_the_entry_on_the_wishlist_when_the_box_is_ticked(client, repository, every_state, htmx):
    form = remove_form(client.get("/downloads"), "Portishead - Dummy")
    fields = {field.get("name"): field.get("value") for field in form.select("input")}  # the box ticked
    response = client.post("/downloads/remove", data=fields, headers={"HX-Request": "true"} if htmx else {})
    message = parse(response.text).one("#downloads .notice.ok").text if htmx else done_message(response)
    assert message == "Removed Portishead - Dummy; it stays on the wishlist."
    assert repository.download_record("Portishead - Dummy") is None
    assert "Portishead - Dummy" in [e.text for e in repository.wishlist_entries()]
    # unticked, the browser sends no keep_wishlist: the entry goes
    assert "Múm - Finally We Are No One" in [e.text for e in repository.wishlist_entries()]
    form = remove_form(client.get("/downloads"), "Múm - Finally We Are No One")
    unticked = {f.get("name"): f.get("value") for f in form.select("input") if f.get("type") != "checkbox"}
    client.post("/downloads/remove", data=unticked)
    assert "Múm - Finally We Are No One" not in [e.text for e in repository.wishlist_entries()]


def test_it_asks_the_runner_for_a_run(client, repository):
    message = done_message(client.form("/downloads/run"))
    assert message.startswith("The downloader runs within seconds")
    assert JOB in repository.run_requests()


def test_it_tells_how_the_last_run_went_and_when_the_next_one_is(client, repository):
    repository.update_job_status(JOB, state="idle", runner_started_at="2026-01-11T09:00:00Z",
                                 next_run="2999-01-01T00:00:00Z",
                                 last_run={"finished_at": "2026-01-11T10:00:00Z", "outcome": "ok",
                                           "summary": "nothing to search"})
    text = " ".join(section(client.get("/downloads"), "active").one("p.dl-job").text.split())
    assert text.startswith("Last run ") and ": nothing to search. Next run in " in text


def test_it_refuses_run_now_while_the_downloader_runs(client, repository):
    repository.update_job_status(JOB, state="running", started_at="2026-01-11T10:00:00Z")
    with repository.job_lock(JOB):
        page = client.get("/downloads")
        response = client.form("/downloads/run")
    assert response.status_code == 409 and "running now" in response.text
    assert section(page, "active").one("form[action=/downloads/run] button").get("disabled") is not None
    assert "The downloader is running" in section(page, "active").text


@pytest.mark.parametrize("path,data", [("/downloads/retry", {}), ("/downloads/search-again", {"query": "x"}),
                                       ("/downloads/remove", {})])
def test_it_answers_404_for_an_unknown_key_and_400_without_one(client, repository, path, data):
    unknown = client.form(path, {"key": "Nobody - Nothing", **data})
    assert unknown.status_code == 404 and "There is no download for Nobody - Nothing." in unknown.text
    missing = client.form(path, data)
    assert missing.status_code == 400 and "The key is missing." in missing.text
    too_long = client.form(path, {"key": "k" * 2001, **data})
    assert too_long.status_code == 400
    assert repository.run_requests() == {}


def test_it_answers_htmx_with_the_downloads_area_and_a_notice(client, repository, every_state):
    response = client.form("/downloads/retry", {"key": "Portishead - Dummy"}, htmx=True)
    assert response.status_code == 200 and "<html" not in response.text
    page = parse(response.text)
    assert page.one("#downloads .notice.ok").text == "Portishead - Dummy is searched again at the next run."
    assert keys_in(page.one("section#downloads-waiting")) == ["Portishead - Dummy", "Air - Moon Safari"]
    # the answer replaces #downloads: its active section polls again (something is active)
    assert page.one("section#downloads-active").get("hx-trigger") == "every 3s, poll-now"


def test_it_answers_an_htmx_error_with_the_toast_partial(client, every_state):
    response = client.form("/downloads/retry", {"key": "Slowdive - Souvlaki"}, htmx=True)
    assert response.status_code == 409
    notice = parse(response.text).one("p.notice.bad")
    assert notice.text == "Slowdive - Souvlaki is already downloaded: nothing to retry."


def test_its_every_form_works_without_javascript(client, every_state):
    page = parse(client.get("/downloads").text)
    forms = page.select("#downloads form")
    assert len(forms) > 10
    for form in forms:
        assert form.get("method") == "post" and form.get("action") == form.get("hx-post")
        assert form.one("input[name=csrf_token]").get("value")


# --- access and cross-site requests -------------------------------------------------------------

PAGES = ["/downloads", "/downloads/active"]
MUTATIONS = [("/downloads/retry", {"key": "Sigur Rós - ( )"}),
             ("/downloads/search-again", {"key": "Sigur Rós - ( )", "query": "x"}),
             ("/downloads/remove", {"key": "Sigur Rós - ( )"}), ("/downloads/run", {})]


@pytest.mark.parametrize("path", PAGES)
def test_it_asks_an_outsider_to_sign_in(anonymous, every_state, path):
    response = anonymous.get(path)
    assert response.status_code == 401 and "Sigur" not in response.text


@pytest.mark.parametrize("path,data", MUTATIONS)
def test_it_refuses_every_change_from_an_outsider(anonymous, repository, every_state, path, data):
    assert anonymous.post(path, data=data).status_code == 401
    assert repository.download_record("Sigur Rós - ( )") == every_state["downloading"]
    assert repository.run_requests() == {}


@pytest.mark.parametrize("path,data", MUTATIONS)
def test_it_refuses_a_change_without_a_valid_csrf_token(client, repository, every_state, path, data):
    assert client.post(path, data=data).status_code == 403
    assert client.post(path, data={**data, "csrf_token": client.token("mallory")}).status_code == 403
    assert client.post(path, data=data, headers={"HX-Request": "true", "X-CSRF-Token": "1.forged"}).status_code == 403
    assert repository.download_record("Sigur Rós - ( )") == every_state["downloading"]
    assert repository.run_requests() == {}


@pytest.mark.parametrize("path,data", MUTATIONS)
def test_it_refuses_a_cross_site_change_even_with_a_token(client, repository, every_state, path, data):
    response = client.form(path, data, headers={"Host": "localhost", "Origin": "https://evil.example"})
    assert response.status_code == 403
    assert client.form(path, data, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert repository.download_record("Sigur Rós - ( )") == every_state["downloading"]


def test_it_lets_the_proxy_user_in(make_app, every_state):
    client = make_app(auth="proxy", username="", password="", trusted_proxies=["10.0.0.0/8"]).test_client()
    client.authorization = None
    client.application.config["DOWNLOADS_LIVE_CHECK"] = False
    trusted = {"environ_base": {"REMOTE_ADDR": "10.0.0.5"}}
    assert client.get("/downloads", headers={"Remote-User": "bob"}, **trusted).status_code == 200
    assert client.get("/downloads", headers={"Remote-User": "bob"},
                      environ_base={"REMOTE_ADDR": "192.168.1.9"}).status_code == 403
    response = client.post("/downloads/run", headers={"Remote-User": "bob", "X-CSRF-Token": client.token("bob")},
                           **trusted)
    assert response.status_code == 303


def test_it_works_with_sign_in_off_on_localhost(make_app, repository, every_state):
    client = make_app(auth="none", username="", password="").test_client()
    client.authorization = None
    client.application.config["DOWNLOADS_LIVE_CHECK"] = False
    page = client.get("/downloads")
    assert page.status_code == 200 and "Sign-in is off" in page.text
    form = {"key": "Portishead - Dummy", "csrf_token": client.token("anonymous")}
    assert client.form("/downloads/retry", form, headers={"Host": "localhost"}).status_code == 303
    assert client.get("/downloads", headers={"Host": "evil.example"}).status_code == 403


def test_it_accepts_the_api_key_on_the_page_in_api_key_mode(make_app, every_state):
    client = make_app(auth="api_key", api_key="script-key-123").test_client()
    client.application.config["DOWNLOADS_LIVE_CHECK"] = False
    client.authorization = None
    assert client.get("/downloads", headers={"X-API-Key": "script-key-123"}).status_code == 200
    assert client.get("/downloads").status_code == 401


# --- names from outside are text -------------------------------------------------------------------


def test_it_renders_soulseek_names_as_text(client, repository):
    hostile = {"user": XSS_USER, "folder": XSS_FOLDER}
    seed_download(repository, XSS_ARTIST, XSS_TITLE, "downloading", downloads=[make_download(**hostile)],
                  attempts=[make_attempt(make_candidate(**hostile, reasons=[f"title: {XSS_TITLE}"]))])
    seed_download(repository, "Portishead", "Dummy", "failed", reason=f"{XSS_USER}: {XSS_FOLDER}",
                  attempts=[make_attempt(make_candidate(**hostile), outcome="no_result")],
                  events=[{"time": "2026-01-11T10:00:00Z", "text": XSS_USER}])
    seed_download(repository, "Air", "Moon Safari", "completed", downloads=[make_download(**hostile, files_done=8)])
    for response in (client.get("/downloads"), client.get("/downloads/active", headers=ACTIVE_POLL)):
        html = response.text
        for raw in ("<script>alert", "<img src=x", "<b onmouseover", "<svg onload", "onerror=alert(1)>"):
            assert raw not in html
        assert "{{ 7*7 }}" in html and ">49<" not in html
        page = parse(html)
        assert XSS_USER in [node.text for node in page.select(".dl-user")]
        assert XSS_FOLDER in [node.text for node in page.select("#downloads-active .folder")]
        assert page.select("#downloads-active .dl-filelist .grow")[0].text == "01 - Untitled #1.flac"
        assert page.select("#downloads-active .album")[0].text == XSS_TITLE
    page = parse(client.get("/downloads").text)
    assert page.one("#downloads-attention .dl-reason").text == f"{XSS_USER}: {XSS_FOLDER}"
    confirm = page.one("#downloads-active form[action=/downloads/remove]").get("hx-confirm")
    assert confirm.startswith(f"Remove {XSS_ARTIST} - {XSS_TITLE} from the downloads?")
    assert all(script.get("src") for script in page.select("script")) and not page.select("[style]")
    key = WishlistEntry.create(XSS_ARTIST, XSS_TITLE).text
    assert done_message(client.form("/downloads/retry", {"key": key})).startswith(key)


def test_it_shows_the_latest_completed_albums_only(client, repository):
    for n in range(27):
        seed_download(repository, "Artist", f"Album {n:02d}", "completed", updated_at=f"2026-01-{n + 1:02d}T00:00:00Z")
    completed = section(client.get("/downloads"), "completed")
    assert len(keys_in(completed)) == 25 and keys_in(completed)[0] == "Artist - Album 26"
    assert completed.one(".count").text == "27"
    assert "and 2 older" in completed.text
    assert completed.one("a").get("href") == "/api/v1/downloads/?group=completed"
