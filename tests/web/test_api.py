"""The JSON API: every route, the error shape, 400 messages, redaction, the OpenAPI document."""

import pytest
from factories import make_queue_item

from app.config import MASK


@pytest.fixture
def queue(repository):
    items = [make_queue_item(artist="Justice", album="Cross", source="catalog", score=90),
             make_queue_item(artist="Air", album="Moon Safari", source="listenbrainz", score=70),
             make_queue_item(artist="Air", album="Talkie Walkie", source="catalog", score=80)]
    repository.add_pending(items)
    return items


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


# --- queue ----------------------------------------------------------------------------------


def test_it_lists_the_queue_with_filter_sort_and_paging(client, queue):
    body = client.get("/api/v1/queue?sort=score&limit=2").get_json()
    assert body["total"] == 3 and body["limit"] == 2 and body["offset"] == 0
    assert [i["album"] for i in body["items"]] == ["Cross", "Talkie Walkie"]
    body = client.get("/api/v1/queue?source=catalog&q=air").get_json()
    assert [i["album"] for i in body["items"]] == ["Talkie Walkie"]
    body = client.get("/api/v1/queue?sort=artist&offset=1&limit=1").get_json()
    assert [i["album"] for i in body["items"]] == ["Talkie Walkie"]  # Air - Moon Safari, Air - Talkie Walkie, Justice


def test_it_explains_bad_query_parameters(client):
    response = client.get("/api/v1/queue?sort=loudness&limit=0&offset=-1")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_input"
    assert error["details"]["sort"] == ["Must be one of: date, score, artist, year."]
    assert error["details"]["limit"] == ["Must be greater than or equal to 1 and less than or equal to 500."]
    assert "offset" in error["details"]


def test_it_approves_rejects_and_removes_by_mbid(client, repository, queue):
    approved = client.post("/api/v1/queue/approve", json={"mbids": [queue[0]["mbid"], "missing"]}).get_json()
    assert approved["count"] == 1 and approved["items"][0]["album"] == "Cross"
    assert approved["not_pending"] == ["missing"]
    assert [e.text for e in repository.wishlist_entries()] == ["Justice - Cross"]
    rejected = client.post("/api/v1/queue/reject", json={"mbids": [queue[1]["mbid"]]}).get_json()
    assert rejected["count"] == 1 and queue[1]["mbid"] in repository.rejected_mbids()
    removed = client.post("/api/v1/queue/remove", json={"mbids": [queue[2]["mbid"]]}).get_json()
    assert removed["count"] == 1 and repository.pending_count() == 0
    assert queue[2]["mbid"] not in repository.rejected_mbids()


def test_it_answers_404_when_none_is_pending(client, queue):
    response = client.post("/api/v1/queue/approve", json={"mbids": ["nope"]})
    assert response.status_code == 404
    assert error_of(response)["details"] == {"not_pending": ["nope"]}


def test_it_approves_all_that_match(client, repository, queue):
    body = client.post("/api/v1/queue/approve", json={"all": True, "source": "catalog"}).get_json()
    assert body["count"] == 2 and repository.pending_count() == 1
    body = client.post("/api/v1/queue/reject", json={"all": True, "q": "nothing"}).get_json()
    assert body["count"] == 0


@pytest.mark.parametrize("payload,field", [
    ({}, "mbids"), ({"mbids": []}, "mbids"), ({"mbids": "abc"}, "mbids"), ({"mbids": ["a"], "all": True}, "mbids"),
    ({"mbids": [""]}, "mbids"), ({"all": "sure"}, "all"), ({"all": 1}, "all"), ({"all": "true"}, "all"),
    ({"mbids": ["a"], "extra": 1}, "extra"), ({"all": False}, "mbids"), ({"mbids": ["a"], "source": "catalog"}, "source"),
])
def test_it_explains_a_wrong_selection(client, queue, payload, field):
    response = client.post("/api/v1/queue/approve", json=payload)
    assert response.status_code == 400
    assert field in error_of(response)["details"]


def test_it_refuses_broken_json(client):
    response = client.post("/api/v1/queue/approve", data="{not json", content_type="application/json")
    assert response.status_code == 400 and error_of(response)["message"] == "The body is not valid JSON."


# --- wishlist -------------------------------------------------------------------------------------


def test_it_manages_the_wishlist(client, repository):
    created = client.post("/api/v1/wishlist", json={"artist": "Justice", "title": "Cross"})
    assert created.status_code == 201
    assert created.get_json() == {"artist": "Justice", "title": "Cross", "kind": "album", "text": "Justice - Cross",
                                  "state": "wanted", "label": "Waiting", "detail": None}
    duplicate = client.post("/api/v1/wishlist", json={"artist": "justice", "title": "cross"})
    assert duplicate.status_code == 409 and error_of(duplicate)["code"] == "already_on_wishlist"
    listed = client.get("/api/v1/wishlist").get_json()
    assert [e["text"] for e in listed["entries"]] == ["Justice - Cross"] and listed["malformed"] == []
    removed = client.post("/api/v1/wishlist/remove", json={"artist": "Justice", "title": "Cross"})
    assert removed.get_json() == {"removed": 1}
    missing = client.post("/api/v1/wishlist/remove", json={"artist": "Justice", "title": "Cross"})
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"


def test_it_explains_a_wrong_wishlist_entry(client):
    response = client.post("/api/v1/wishlist", json={"artist": "", "kind": "vinyl"})
    assert response.status_code == 400
    details = error_of(response)["details"]
    assert details["title"] == ["Missing data for required field."]
    assert details["artist"] == ["Length must be between 1 and 500."]
    assert details["kind"] == ["Must be one of: album, track."]
    blank = client.post("/api/v1/wishlist", json={"artist": "   ", "title": "x"})
    assert blank.status_code == 400 and "artist" in error_of(blank)["details"]


def test_it_refuses_an_owned_album_unless_forced(client, repository, data_dir):
    data_dir.mkdir(exist_ok=True)
    (data_dir / "catalog_artists.json").write_text('{"artists": [], "albums": [{"artist": "Air", "name": "Moon Safari"}]}')
    refused = client.post("/api/v1/wishlist", json={"artist": "Air", "title": "Moon Safari"})
    assert refused.status_code == 409 and error_of(refused)["code"] == "owned"
    assert client.post("/api/v1/wishlist", json={"artist": "Air", "title": "Moon Safari", "force": True}).status_code == 201


# --- jobs -----------------------------------------------------------------------------------------


def test_it_lists_jobs_and_runs_one(client, repository):
    jobs = client.get("/api/v1/jobs").get_json()["jobs"]
    assert [j["name"] for j in jobs] == ["lb-fetch", "catalog-discovery", "library-discovery", "slskd-downloader"]
    assert jobs[0]["state"] == "never" and jobs[0]["running"] is False and jobs[0]["interval"] == 21600
    response = client.post("/api/v1/jobs/lb-fetch/run")
    assert response.status_code == 202 and response.get_json()["requested_at"]
    assert client.get("/api/v1/jobs").get_json()["jobs"][0]["requested_at"]
    assert client.post("/api/v1/jobs/nope/run").status_code == 404
    repository.update_job_status("slskd-downloader", state="running")
    with repository.job_lock("slskd-downloader"):
        busy = client.post("/api/v1/jobs/slskd-downloader/run", json={})
        assert busy.status_code == 409 and error_of(busy)["code"] == "already_running"


def test_it_shows_a_job_log(client, repository):
    repository.append_job_log("catalog-discovery", [{"time": "t", "level": "INFO", "logger": "x", "message": "hi"}], 10)
    body = client.get("/api/v1/jobs/catalog-discovery/log").get_json()
    assert body == {"job": "catalog-discovery", "lines": [{"time": "t", "level": "INFO", "logger": "x", "message": "hi"}]}
    assert client.get("/api/v1/jobs/nope/log").status_code == 404


# --- settings -------------------------------------------------------------------------------------


def test_it_reads_settings_with_secrets_masked(make_app, repository, monkeypatch):
    monkeypatch.setenv("RESONANCE_SLSKD__API_KEY", "slskd-env-secret")
    client = make_app(api_key="api-key-secret").test_client()
    response = client.get("/api/v1/settings")
    body = response.get_json()
    assert body["settings"]["web"]["password"] == MASK and body["settings"]["web"]["api_key"] == MASK
    assert body["settings"]["slskd"]["api_key"] == MASK and body["settings"]["lastfm"]["api_key"] == ""
    assert body["sources"]["slskd.api_key"] == "env:RESONANCE_SLSKD__API_KEY"
    assert body["sources"]["web.username"] == "file"
    for secret in ("slskd-env-secret", "api-key-secret", "wonderland", repository.saved_settings()["web"]["secret_key"]):
        assert secret not in response.text


def test_it_updates_settings(client, repository):
    response = client.patch("/api/v1/settings", json={"schedule": {"lb_fetch": "2h"}, "lastfm": {"api_key": "k-123"},
                                                       "slskd": {"api_key": ""}})
    assert response.status_code == 200
    body = response.get_json()
    assert body["changed"] == ["lastfm.api_key", "schedule.lb_fetch"]
    assert body["settings"]["schedule"]["lb_fetch"] == 7200 and body["settings"]["lastfm"]["api_key"] == MASK
    assert repository.saved_settings()["lastfm"] == {"api_key": "k-123"}


def test_it_explains_wrong_settings_and_saves_nothing(client, repository):
    response = client.patch("/api/v1/settings", json={
        "web": {"workers": 0, "threads": "4"}, "schedule": {"lb_fetch": "6x", "run_on_start": "yes"},
        "general": {"nope": 1}, "nope": {"x": 1}, "catalog": {"min_similarity": 0.5}})
    assert response.status_code == 400
    details = error_of(response)["details"]
    assert details["web.workers"] == ["Must be greater than or equal to 1 and less than or equal to 32."]
    # JSON types as the document gives them: the settings file's "4" or "yes" are not taken here.
    assert details["web.threads"] == ["Not a valid integer."]
    assert details["schedule.run_on_start"] == ["Not a valid boolean."]
    assert details["schedule.lb_fetch"][0].startswith("Not a duration")
    assert details["general.nope"] == ["Not a Resonance setting."] and details["nope"] == ["Not a Resonance setting."]
    assert "catalog.min_similarity" not in details
    assert set(repository.saved_settings()) <= {"web"}
    assert client.patch("/api/v1/settings", json=["not", "an", "object"]).status_code == 400
    not_a_section = client.patch("/api/v1/settings", json={"web": "x"})
    assert not_a_section.status_code == 400 and error_of(not_a_section)["details"] == {"web": ["Invalid input type."]}


def test_it_refuses_with_409_a_valid_change_this_server_does_not_allow(client, repository, monkeypatch):
    monkeypatch.setenv("RESONANCE_WEB__PORT", "9000")
    response = client.patch("/api/v1/settings", json={"web": {"port": 9001}, "schedule": {"lb_fetch": "2h"}})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_changeable"
    assert error["details"] == {"web.port": ["Set by the environment variable RESONANCE_WEB__PORT; change it there."]}
    assert "schedule" not in repository.saved_settings()  # nothing saved
    lockout = client.patch("/api/v1/settings", json={"web": {"auth": "proxy"}})
    assert lockout.status_code == 409 and "web.auth" in error_of(lockout)["details"]


def test_it_takes_a_duration_as_seconds_or_text_and_answers_seconds(client):
    body = client.patch("/api/v1/settings", json={"schedule": {"lb_fetch": 5400, "catalog_discovery": "1w"}}).get_json()
    assert body["settings"]["schedule"]["lb_fetch"] == 5400 and body["settings"]["schedule"]["catalog_discovery"] == 604800
    assert client.get("/api/v1/settings").get_json()["settings"]["schedule"]["catalog_discovery"] == 604800


# --- block list --------------------------------------------------------------------------------------


def test_it_manages_the_block_list(client, repository, queue):
    created = client.post("/api/v1/blocklist", json={"artist": "Air"})
    assert created.status_code == 201 and created.get_json() == {"artist": "Air", "rejected": 2}
    assert client.get("/api/v1/blocklist").get_json() == {"artists": ["Air"]}
    assert client.post("/api/v1/blocklist/remove", json={"artist": "air"}).get_json() == {"removed": 1}
    assert client.post("/api/v1/blocklist/remove", json={"artist": "air"}).status_code == 404
    assert client.post("/api/v1/blocklist", json={}).status_code == 400
    assert client.post("/api/v1/blocklist", json={"artist": "  "}).status_code == 400


# --- errors and the document ---------------------------------------------------------------------------


def test_it_answers_every_error_in_one_shape(client, anonymous):
    assert error_of(anonymous.get("/api/v1/queue"))["code"] == "unauthorized"
    assert error_of(client.get("/api/v1/nope"))["code"] == "not_found"
    wrong_method = client.delete("/api/v1/queue")
    assert wrong_method.status_code == 405 and error_of(wrong_method)["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"]


def test_it_publishes_an_openapi_document_from_the_schemas(client, app):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and doc["info"]["title"] == "Resonance API"
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    routes = {(rule.rule.replace("<job>", "{job}"), method.lower()) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api.") for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routes
    approve = doc["paths"]["/api/v1/queue/approve"]["post"]
    assert approve["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Selection"}
    schemas = doc["components"]["schemas"]
    assert {"QueuePage", "QueueItemOut", "Error", "Wishlist", "Jobs", "Settings"} <= set(schemas)
    assert schemas["QueueItemOut"]["properties"]["mbid"]["type"] == "string"
    params = {p["name"] for p in doc["paths"]["/api/v1/queue"]["get"]["parameters"]}
    assert params == {"source", "q", "for", "sort", "order", "offset", "limit"}
    assert doc["paths"]["/api/v1/health"]["get"]["security"] == []
    assert {"basic", "bearer", "apiKey"} == set(doc["components"]["securitySchemes"])
    settings = schemas["SettingsValues"]["properties"]
    assert "lastfm" in settings


def test_it_keeps_health_open_and_without_secrets(anonymous):
    body = anonymous.get("/api/v1/health").get_json()
    assert body["status"] == "ok" and body["warnings"] == []
