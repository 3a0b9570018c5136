"""The import stage's states on the Downloads page and in the API: records written through the repository."""

import pytest
from download_factories import NOW, seed_download
from websupport import parse

from app.downloads import into_library, quarantine, start_importing, start_verifying

KEY = "script-key-0123456789"
LIBRARY_URL = "http://navidrome.local/app/#/album/al-7"
ACTIVE_POLL = {"HX-Request": "true", "HX-Trigger": "downloads-active"}


@pytest.fixture
def app(make_app):
    app = make_app(api_key=KEY)
    app.config["DOWNLOADS_LIVE_CHECK"] = False
    return app


def imported(repository, artist: str, title: str, *moves) -> str:
    record = seed_download(repository, artist, title, "completed")
    for move in moves:
        repository.update_download_record(record.key, move, now=NOW)
    return record.key


def verifying(r):
    start_verifying(r, NOW)


def importing(r):
    start_importing(r, NOW)


@pytest.fixture
def import_states(repository):
    return {
        "verifying": imported(repository, "Slowdive", "Souvlaki", verifying),
        "importing": imported(repository, "Lush", "Spooky", verifying, importing),
        "in_library": imported(repository, "Ride", "Nowhere", verifying, importing,
                               lambda r: into_library(r, NOW, "/music/Ride/Nowhere (1990)", LIBRARY_URL)),
        "quarantined": imported(repository, "Chapterhouse", "Whirlpool", verifying,
                                lambda r: quarantine(r, NOW, "2 tracks are shorter than MusicBrainz says",
                                                     "04 - Pearl.flac", "the next folder from the last search")),
    }


def row(response, key: str):
    page = parse(response.text)
    return next(item for item in page.select("li[data-state]") if key in item.text)


def test_the_page_says_where_each_import_is(client, import_states):
    response = client.get("/downloads")
    assert response.status_code == 200
    assert "Verifying" in row(response, "Souvlaki").text
    assert "Importing" in row(response, "Spooky").text
    in_library = row(response, "Nowhere")
    assert "In library" in in_library.text
    assert in_library.one("a.dl-library").get("href") == LIBRARY_URL
    quarantined = row(response, "Whirlpool")
    assert quarantined.get("data-state") == "quarantined"
    text = " ".join(quarantined.text.split())
    assert "Quarantined: 2 tracks are shorter than MusicBrainz says" in text
    assert "Failed track: 04 - Pearl.flac" in text
    assert "Tried next: the next folder from the last search" in text
    assert "Retry" in text  # it can be searched again


def test_only_an_http_address_becomes_the_library_link(client, repository):
    imported(repository, "Ride", "Nowhere", verifying, importing,
             lambda r: into_library(r, NOW, "/music/Ride/Nowhere", "javascript:alert(1)"))
    response = client.get("/downloads")
    assert "javascript:" not in response.text
    assert "/music/Ride/Nowhere" in row(response, "Nowhere").text


def test_the_page_keeps_refreshing_while_an_album_is_imported(client, repository):
    key = imported(repository, "Slowdive", "Souvlaki", verifying)
    assert client.get("/downloads/active", headers=ACTIVE_POLL).status_code == 200
    repository.update_download_record(key, importing, now=NOW)
    assert client.get("/downloads/active", headers=ACTIVE_POLL).status_code == 200
    repository.update_download_record(key, lambda r: into_library(r, NOW, "/music/x"), now=NOW)
    assert client.get("/downloads/active", headers=ACTIVE_POLL).status_code == 286


def test_the_api_gives_the_import_states_and_what_the_import_stage_reported(client, import_states):
    body = client.get("/api/v1/downloads/").json
    completed = {item["key"]: item for item in body["completed"]}
    assert {completed[import_states[s]]["state"] for s in ("verifying", "importing", "in_library")} == {
        "verifying", "importing", "in_library"}
    in_library = completed[import_states["in_library"]]
    assert (in_library["label"], in_library["library_path"], in_library["library_url"]) == (
        "In library", "/music/Ride/Nowhere (1990)", LIBRARY_URL)
    quarantined = next(item for item in body["failed"] if item["key"] == import_states["quarantined"])
    assert (quarantined["state"], quarantined["import_reason"], quarantined["import_failed_track"],
            quarantined["import_note"]) == ("quarantined", "2 tracks are shorter than MusicBrainz says",
                                            "04 - Pearl.flac", "the next folder from the last search")
    entry = client.get("/api/v1/downloads/entry", query_string={"key": import_states["in_library"]}).json
    assert entry["library_url"] == LIBRARY_URL


def test_retry_on_a_download_in_the_library_is_refused_with_409(client, import_states):
    response = client.post("/api/v1/downloads/retry", json={"key": import_states["in_library"]})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "already_downloaded"


def test_the_openapi_document_lists_the_states_and_the_import_fields(client):
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Download"]
    assert {"verifying", "importing", "in_library", "quarantined"} <= set(schema["properties"]["state"]["enum"])
    assert "removed" not in schema["properties"]["state"]["enum"]
    assert {"import_reason", "import_failed_track", "import_note", "library_path", "library_url"} <= set(
        schema["properties"])


def test_the_schema_and_the_view_have_the_same_fields(repository):
    from app.web.api.schemas import DownloadDetailSchema, DownloadSchema
    from app.web.downloads import download_view

    record = seed_download(repository, "Slowdive", "Souvlaki", "completed")
    assert set(download_view(record)) - {"anchor", "decisive", "search_text"} == set(DownloadSchema().fields)
    assert set(download_view(record, detail=True)) - {"anchor", "decisive", "search_text"} == set(
        DownloadDetailSchema().fields)


def test_every_field_of_the_record_is_in_the_api_or_said_to_be_internal():
    from app.downloads import RECORD_FIELDS
    from app.web.api.schemas import DownloadDetailSchema

    internal = {"album", "fallbacks", "cancel", "created_at", "unconfirmed_enqueue"}  # the pipelines' own
    assert set(RECORD_FIELDS) - internal == set(RECORD_FIELDS) & set(DownloadDetailSchema().fields)


def test_the_wishlist_says_where_each_import_is(client, import_states):
    entries = {entry["text"]: entry for entry in client.get("/api/v1/wishlist").json["entries"]}
    assert entries[import_states["in_library"]]["label"] == "In library"
    quarantined = entries[import_states["quarantined"]]
    assert (quarantined["state"], quarantined["detail"]) == (
        "quarantined", "2 tracks are shorter than MusicBrainz says")
