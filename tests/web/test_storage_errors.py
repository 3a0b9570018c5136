"""A full disk and a read-only data dir as the web UI and the API show them: a 503 that names the
data folder and the cause, in the JSON error, the toast and the error page; /health not ok."""

from __future__ import annotations

import pytest
from factories import make_queue_item
from storage_mounts import Filler, read_only, small_tmpfs
from websupport import parse

FULL = "the disk is full (No space left on device)"
READ_ONLY = "it is mounted read-only (Read-only file system)"


@pytest.fixture
def filler(data_dir):
    with small_tmpfs(data_dir, size_kb=256):
        yield Filler(data_dir)


@pytest.fixture
def app_on_tmpfs(filler, make_app, repository):
    repository.WRITE_PROBE_SECONDS = 0  # every /health asks the disk again
    return make_app()


@pytest.fixture
def item(repository) -> dict:
    return repository.add_pending([make_queue_item() for _ in range(20)])[0]


def test_it_answers_503_with_the_folder_and_the_cause_in_the_api_error(app_on_tmpfs, filler, item, data_dir,
                                                                         repository):
    filler.fill()
    response = app_on_tmpfs.test_client().post("/api/v1/queue/approve", json={"mbids": [item["mbid"]]})

    assert response.status_code == 503
    assert response.get_json() == {"error": {
        "code": "unavailable", "message": f"Cannot write to the data folder {data_dir}: {FULL}", "details": None}}
    assert repository.find_pending(item["mbid"]) is not None


def test_it_shows_the_folder_and_the_cause_in_the_toast(app_on_tmpfs, filler, item, data_dir):
    client = app_on_tmpfs.test_client()
    client.token()  # the CSRF key is saved while there is room
    filler.fill()
    response = client.form("/queue/approve", {"mbid": item["mbid"]}, htmx=True)

    assert response.status_code == 503
    assert response.headers["HX-Retarget"] == "#toast"
    assert parse(response.text).one("p.notice.bad").text == f"Cannot write to the data folder {data_dir}: {FULL}"


def test_it_shows_the_folder_and_the_cause_on_the_error_page(make_app, item, data_dir, repository):
    client = make_app().test_client()
    token = client.token()
    with read_only(data_dir):
        assert client.get("/").status_code == 200  # reading goes on
        response = client.post("/queue/approve", data={"mbid": item["mbid"], "csrf_token": token})
        blocked = client.form("/blocklist/add", {"artist": item["artist"]}, htmx=True)

    assert response.status_code == 503
    assert f"Cannot write to the data folder {data_dir}: {READ_ONLY}" in parse(response.text).text
    assert blocked.status_code == 503 and READ_ONLY in blocked.text
    assert repository.find_pending(item["mbid"]) is not None and repository.blocked_artists() == []


@pytest.mark.parametrize("path", ["/health", "/api/v1/health"])
def test_it_says_on_health_that_a_full_data_dir_is_not_writable(app_on_tmpfs, filler, path):
    client = app_on_tmpfs.test_client()
    healthy = client.get(path)
    assert healthy.status_code == 200
    assert healthy.get_json()["data_dir"] == {"writable": True, "problem": None}

    filler.fill()
    response = client.get(path)

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "data_dir_not_writable"
    assert body["data_dir"] == {"writable": False, "problem": f"the data folder is not writable: {FULL}"}
    filler.remove()
    assert client.get(path).get_json()["status"] == "ok"


def test_it_says_on_health_that_a_read_only_data_dir_is_not_writable(make_app, repository, data_dir, anonymous):
    repository.WRITE_PROBE_SECONDS = 0
    repository.pending_count()
    data_dir.mkdir(exist_ok=True)
    with read_only(data_dir):
        response = anonymous.get("/health")
    assert response.status_code == 503
    assert response.get_json()["data_dir"]["problem"] == f"the data folder is not writable: {READ_ONLY}"
    assert str(data_dir) not in response.text  # /health is public: no paths
