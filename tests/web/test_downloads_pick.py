"""'Download this one' on the Downloads page (form POST and htmx) and through the API."""

from urllib.parse import parse_qs, urlsplit

import pytest
from download_factories import make_attempt, make_candidate, seed_download
from websupport import parse

from app.downloads import candidate_id

JOB = "slskd-downloader"
KEY = "Sigur Rós - ( )"


def listed(user: str, folder: str, score: float, accepted: bool = True) -> dict:
    files = [{"name": f"{n:02d}.flac", "size": 40_000_000, "audio": True} for n in range(1, 9)]
    return make_candidate(user, folder, score, accepted, file_list=files)


NORDICFAN = listed("nordicfan", "@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]", 0.95)
VINYL = listed("vinyl", "V:\\Sigur Rós\\( ) [FLAC]", 0.8)
OLD = make_candidate("old_record", "Old\\Sigur Rós", 0.7)  # recorded without its files: not pickable


@pytest.fixture
def app(make_app):
    app = make_app(api_key="script-key-0123456789")
    app.config["DOWNLOADS_LIVE_CHECK"] = False
    return app


@pytest.fixture
def downloading(repository):
    return seed_download(repository, "Sigur Rós", "( )", "downloading",
                         attempts=[make_attempt(NORDICFAN, VINYL, OLD)])


def pick_forms(page) -> dict[str, object]:
    return {form.one("input[name=candidate]").get("value"): form for form in page.select("form.dl-pick")}


def test_each_candidate_with_known_files_has_a_plain_download_this_one_form(client, downloading):
    page = parse(client.get("/downloads").text)
    album = page.one("section#downloads-active").one("li.dl")
    forms = pick_forms(album)
    # The folder being downloaded says so; the other one can be chosen; the one without files cannot.
    assert list(forms) == [candidate_id(VINYL)]
    form = forms[candidate_id(VINYL)]
    assert (form.get("method"), form.get("action"), form.get("hx-post")) == ("post", "/downloads/pick", "/downloads/pick")
    assert form.one("input[name=key]").get("value") == KEY and form.one("input[name=csrf_token]").get("value")
    assert form.one("button").text == "Download this one"
    assert "Cancel the download from nordicfan" in form.get("hx-confirm")
    assert "Downloading this one." in album.text


def test_a_form_post_picks_the_folder_and_the_page_says_it_is_chosen(client, repository, downloading):
    response = client.form("/downloads/pick", {"key": KEY, "candidate": candidate_id(VINYL)})
    assert response.status_code == 303
    message = parse_qs(urlsplit(response.headers["Location"]).query)["done"][0]
    assert message == f"{KEY}: the folder from vinyl is queued within a minute, once the download from nordicfan " \
                      "is cancelled."
    record = repository.download_record(KEY)
    assert (record.state, record.picked["user"]) == ("wanted", "vinyl") and record.cancel
    assert JOB in repository.run_requests()
    waiting = parse(client.get("/downloads").text).one("section#downloads-waiting")
    assert "Chosen by hand: vinyl" in waiting.one("p.dl-picked").text
    assert waiting.one("p.dl-chosen").text == "Chosen: queued at the next run."
    assert list(pick_forms(waiting)) == [candidate_id(NORDICFAN)]  # the cancelled one can be chosen again


def test_an_htmx_pick_re_renders_the_downloads(client, repository, downloading):
    response = client.form("/downloads/pick", {"key": KEY, "candidate": candidate_id(VINYL)},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert parse(response.text).one("#downloads .notice.ok").text.startswith(f"{KEY}: the folder from vinyl")


def test_a_completed_album_has_no_pick_button_and_a_pick_is_refused(client, repository):
    seed_download(repository, "Sigur Rós", "( )", "completed", attempts=[make_attempt(NORDICFAN, VINYL)])
    assert pick_forms(parse(client.get("/downloads").text)) == {}
    refused = client.form("/downloads/pick", {"key": KEY, "candidate": candidate_id(VINYL)})
    assert refused.status_code == 409 and repository.download_record(KEY).picked is None


def test_it_picks_through_the_api(client, repository, downloading):
    response = client.post("/api/v1/downloads/pick", json={"key": KEY, "candidate": candidate_id(VINYL)})
    assert response.status_code == 200
    body = response.json
    assert body["download"]["picked"] == {"id": candidate_id(VINYL), "user": "vinyl", "folder": VINYL["folder"],
                                          "format": "flac"}
    assert body["download"]["state"] == "wanted" and body["run_requested_at"] == repository.run_requests()[JOB]
    candidates = body["download"]["attempt"]["candidates"]
    assert [(c["id"], c["pickable"]) for c in candidates] == [
        (candidate_id(NORDICFAN), True), (candidate_id(VINYL), True), (candidate_id(OLD), False)]
    again = client.post("/api/v1/downloads/pick", json={"key": KEY, "candidate": candidate_id(NORDICFAN)})
    assert again.status_code == 200 and again.json["download"]["picked"]["user"] == "nordicfan"


def test_the_api_refuses_a_bad_pick_with_the_field(client, repository, downloading):
    for body in ({"key": KEY}, {"key": KEY, "candidate": "nope"}, {"key": KEY, "candidate": 7},
                 {"key": KEY, "candidate": candidate_id(VINYL).upper()}):
        response = client.post("/api/v1/downloads/pick", json=body)
        assert response.status_code == 400 and list(response.json["error"]["details"]) == ["candidate"], body
    unknown = client.post("/api/v1/downloads/pick", json={"key": KEY, "candidate": candidate_id(OLD)})
    assert unknown.status_code == 404
    assert unknown.json["error"]["details"] == {"candidate": ["No such candidate in the latest search."]}
    nobody = client.post("/api/v1/downloads/pick", json={"key": "Nobody - Nothing", "candidate": "0123456789ab"})
    assert nobody.status_code == 404
    current = client.post("/api/v1/downloads/pick", json={"key": KEY, "candidate": candidate_id(NORDICFAN)})
    assert current.status_code == 409 and current.json["error"]["code"] == "already_chosen"
    assert repository.download_record(KEY).state == "downloading" and repository.run_requests() == {}
