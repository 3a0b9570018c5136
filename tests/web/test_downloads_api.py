"""/api/v1/downloads: groups, one record, the actions, errors, access, the OpenAPI document."""

import pytest
from download_factories import seed_download

JOB = "slskd-downloader"
KEY = "script-key-0123456789"


@pytest.fixture
def app(make_app):
    app = make_app(api_key=KEY)
    app.config["DOWNLOADS_LIVE_CHECK"] = False
    return app


@pytest.fixture
def seeded(repository):
    for artist, title, state in [("Sigur Rós", "( )", "downloading"), ("Björk", "Homogenic", "searching"),
                                 ("Múm", "Finally We Are No One", "failed"), ("Portishead", "Dummy", "no_result"),
                                 ("Air", "Moon Safari", "wanted"), ("Slowdive", "Souvlaki", "completed")]:
        seed_download(repository, artist, title, state)


def keys(items: list[dict]) -> list[str]:
    return [item["key"] for item in items]


def test_it_lists_every_group(client, seeded):
    response = client.get("/api/v1/downloads/")
    assert response.status_code == 200
    body = response.json
    assert sorted(keys(body["active"])) == ["Björk - Homogenic", "Sigur Rós - ( )"]
    assert sorted(keys(body["waiting"])) == ["Air - Moon Safari", "Portishead - Dummy"]
    assert keys(body["completed"]) == ["Slowdive - Souvlaki"]
    assert keys(body["failed"]) == ["Múm - Finally We Are No One"]
    assert body["counts"] == {"active": 2, "waiting": 2, "completed": 1, "failed": 1}
    assert body["polling"] is True
    downloading = next(item for item in body["active"] if item["state"] == "downloading")
    assert downloading["download"]["user"] == "nordicfan"
    assert downloading["download"]["progress"] == {"files_done": 3, "files_total": 8, "bytes_done": 150_000_000,
                                                   "bytes_total": 400_000_000, "speed": 1_250_000.0,
                                                   "percent": 37.5}
    assert downloading["download"]["files"][0]["name"] == "01 - Untitled #1.flac"
    failed = body["failed"][0]
    assert failed["reason"] == "gave up after 6 searches; no acceptable result"
    candidate = failed["attempt"]["candidates"][0]
    assert (candidate["user"], candidate["score"], candidate["accepted"]) == ("lowq", 0.23, False)
    assert candidate["reasons"] == ["quality: MP3, 128 kbps is below the minimum of 192"]
    assert "anchor" not in failed  # page-only


def test_it_lists_one_group_with_a_limit(client, repository, seeded):
    seed_download(repository, "Air", "Talkie Walkie", "completed", updated_at="2099-01-01T00:00:00Z")
    body = client.get("/api/v1/downloads/?group=completed&limit=1").json
    assert set(body) == {"completed", "counts", "polling", "live"}
    assert keys(body["completed"]) == ["Air - Talkie Walkie"] and body["counts"]["completed"] == 2
    assert client.get("/api/v1/downloads").status_code == 308  # the collection ends with a slash


@pytest.mark.parametrize("query,field", [("group=everything", "group"), ("limit=0", "limit"),
                                         ("limit=lots", "limit")])
def test_it_refuses_a_bad_query(client, query, field):
    response = client.get(f"/api/v1/downloads/?{query}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_input" and field in response.json["error"]["details"]


def test_it_shows_one_record_in_full(client, repository, seeded):
    response = client.get("/api/v1/downloads/entry", query_string={"key": "Sigur Rós - ( )"})
    assert response.status_code == 200
    body = response.json
    assert body["state"] == "downloading" and len(body["attempts"]) == 1 and len(body["downloads"]) == 1
    assert body["events"][0]["text"] == "downloading: made by a test"
    missing = client.get("/api/v1/downloads/entry", query_string={"key": "Nobody - Nothing"})
    assert missing.status_code == 404
    assert missing.json["error"]["message"] == "There is no download for Nobody - Nothing."
    no_key = client.get("/api/v1/downloads/entry")
    assert no_key.status_code == 400
    assert no_key.json["error"]["details"] == {"key": ["Missing data for required field."]}


def test_it_retries_through_the_api(client, repository, seeded):
    response = client.post("/api/v1/downloads/retry", json={"key": "Múm - Finally We Are No One"})
    assert response.status_code == 200
    assert response.json["message"] == "Múm - Finally We Are No One is searched again at the next run."
    assert response.json["download"]["state"] == "wanted" and response.json["download"]["attempt_count"] == 0
    assert response.json["run_requested_at"] == repository.run_requests()[JOB]
    conflict = client.post("/api/v1/downloads/retry", json={"key": "Slowdive - Souvlaki"})
    assert conflict.status_code == 409 and conflict.json["error"]["code"] == "already_downloaded"


def test_it_searches_again_through_the_api(client, repository, seeded):
    response = client.post("/api/v1/downloads/search-again", json={"key": "Portishead - Dummy", "query": "portishead"})
    assert response.status_code == 200 and response.json["download"]["query"] == "portishead"
    assert repository.download_record("Portishead - Dummy").state == "wanted"
    blank = client.post("/api/v1/downloads/search-again", json={"key": "Portishead - Dummy", "query": "   "})
    assert blank.status_code == 400 and blank.json["error"]["details"] == {"query": ["The query is empty."]}
    absent = client.post("/api/v1/downloads/search-again", json={"key": "Portishead - Dummy"})
    assert absent.status_code == 400
    assert absent.json["error"]["details"] == {"query": ["Missing data for required field."]}
    long = client.post("/api/v1/downloads/search-again", json={"key": "Portishead - Dummy", "query": "x" * 301})
    assert long.status_code == 400 and "query" in long.json["error"]["details"]


def test_it_removes_through_the_api(client, repository, seeded):
    response = client.post("/api/v1/downloads/remove", json={"key": "Air - Moon Safari", "keep_wishlist": True})
    assert response.status_code == 200 and response.json["download"] is None
    assert response.json["message"] == "Removed Air - Moon Safari; it stays on the wishlist."
    assert repository.download_record("Air - Moon Safari") is None
    assert "Air - Moon Safari" in [e.text for e in repository.wishlist_entries()]
    again = client.post("/api/v1/downloads/remove", json={"key": "Air - Moon Safari"})
    assert again.status_code == 404 and again.json["error"]["code"] == "not_found"
    wrong = client.post("/api/v1/downloads/remove", json={"key": "Air - Moon Safari", "keep_wishlist": "maybe"})
    assert wrong.status_code == 400 and "keep_wishlist" in wrong.json["error"]["details"]


def test_it_runs_the_downloader_now_through_the_api(client, repository):
    response = client.post("/api/v1/downloads/run")
    assert response.status_code == 202 and response.json["run_requested_at"] == repository.run_requests()[JOB]
    repository.update_job_status(JOB, state="running")
    with repository.job_lock(JOB):
        busy = client.post("/api/v1/downloads/run")
    assert busy.status_code == 409 and busy.json["error"]["code"] == "already_running"


@pytest.mark.parametrize("path", ["/api/v1/downloads/retry", "/api/v1/downloads/search-again",
                                  "/api/v1/downloads/remove"])
def test_it_answers_400_for_a_bad_body_and_404_for_an_unknown_key(client, repository, path):
    extra = {"query": "x"} if path.endswith("search-again") else {}
    for body in ({}, {"key": ""}, {"key": 7}, {"key": "k" * 2001}):
        response = client.post(path, json={**body, **extra})
        assert response.status_code == 400 and "key" in response.json["error"]["details"], body
    not_json = client.post(path, data="{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json["error"]["message"] == "The body is not valid JSON."
    unknown = client.post(path, json={"key": "Nobody - Nothing", **extra})
    assert unknown.status_code == 404
    assert repository.run_requests() == {}


@pytest.mark.parametrize("path", ["/api/v1/downloads/retry", "/api/v1/downloads/remove", "/api/v1/downloads/run"])
def test_it_refuses_a_form_post_and_a_cross_site_call(client, repository, seeded, path):
    form = client.post(path, data={"key": "Portishead - Dummy"})
    assert form.status_code == 415 and form.json["error"]["code"] == "unsupported_media_type"
    cross = client.post(path, json={"key": "Portishead - Dummy"}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert repository.download_record("Portishead - Dummy").state == "no_result"
    assert repository.run_requests() == {}


@pytest.mark.parametrize("headers", [{"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}])
def test_it_lets_a_script_in_with_the_api_key_and_keeps_outsiders_out(client, repository, seeded, headers):
    client.authorization = None
    assert client.get("/api/v1/downloads/").status_code == 401
    assert client.post("/api/v1/downloads/retry", json={"key": "Portishead - Dummy"}).status_code == 401
    assert client.get("/api/v1/downloads/", headers=headers).status_code == 200
    # a script needs no CSRF token, and may even leave the body's type out when there is no body
    assert client.post("/api/v1/downloads/run", headers=headers).status_code == 202
    response = client.post("/api/v1/downloads/retry", json={"key": "Portishead - Dummy"}, headers=headers)
    assert response.status_code == 200


def test_it_works_in_api_key_mode_and_proxy_mode(make_app, repository, seeded):
    api_only = make_app(auth="api_key", username="", password="", api_key=KEY).test_client()
    api_only.authorization = None
    api_only.application.config["DOWNLOADS_LIVE_CHECK"] = False
    assert api_only.get("/api/v1/downloads/", headers={"X-API-Key": KEY}).status_code == 200
    assert api_only.get("/api/v1/downloads/").status_code == 401
    proxy = make_app(auth="proxy", username="", password="", trusted_proxies=["10.0.0.0/8"]).test_client()
    proxy.authorization = None
    proxy.application.config["DOWNLOADS_LIVE_CHECK"] = False
    trusted = {"environ_base": {"REMOTE_ADDR": "10.0.0.5"}, "headers": {"Remote-User": "bob"}}
    assert proxy.get("/api/v1/downloads/", **trusted).status_code == 200
    assert proxy.post("/api/v1/downloads/run", **trusted).status_code == 202
    assert proxy.get("/api/v1/downloads/", environ_base={"REMOTE_ADDR": "192.168.1.9"},
                     headers={"Remote-User": "bob"}).status_code == 403


def test_it_describes_the_downloads_endpoints_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json
    paths = document["paths"]
    assert {"/api/v1/downloads/", "/api/v1/downloads/entry", "/api/v1/downloads/retry",
            "/api/v1/downloads/search-again", "/api/v1/downloads/remove", "/api/v1/downloads/run"} <= set(paths)
    listing = paths["/api/v1/downloads/"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"group", "limit"}
    answer = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/Downloads"}
    body = paths["/api/v1/downloads/search-again"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/DownloadSearchAgain"}
    schemas = document["components"]["schemas"]
    assert {"files_done", "files_total", "speed", "percent"} <= set(schemas["DownloadProgress"]["properties"])
    assert "reasons" in schemas["Candidate"]["properties"]
    assert {"200", "400", "401", "404", "409"} <= set(paths["/api/v1/downloads/retry"]["post"]["responses"])
