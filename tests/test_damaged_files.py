"""A data file that parses but has the wrong shape inside is treated like one that does not parse:
moved aside as NAME.corrupt-*, logged with its path and the reason, listed for the web UI, and the
app carries on without it. settings.json keeps the settings that could be read."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from job_pipelines import count_run
from test_cli import free_port, wait_for_health
from websupport import PASSWORD, USER, Client, parse

from app import create_app
from app.repository import QUEUE_UNDO, Repository, StorageError, shapes
from jobs.runner import JobRunner

JOB_SCRIPT = Path(__file__).with_name("job_pipelines.py")

ITEM = {"artist": "Justice", "album": "Cross", "mbid": "m-1", "type": "album", "added_at": "2026-01-11T10:00:00Z",
        "score": 82.5, "source": "catalog", "similar_to": ["Daft Punk"], "year": 2007}
UNDO = {"action": "approve", "at": "2026-01-12T08:00:00Z", "expires_at": "2026-01-12T08:10:00Z", "mbids": ["m-1"]}
LOG_LINE = {"time": "2026-01-12T08:00:00Z", "level": "INFO", "logger": "resonance", "message": "hello"}

# What each file's reader returns when the file is absent (or moved aside).
READERS = {
    "pending_queue.json": (lambda r: r.queue(), {"pending": [], "approved": [], "rejected": []}),
    "queue_undo.json": (lambda r: r.store.read(QUEUE_UNDO), {}),
    "processed.json": (lambda r: r.processed(), []),
    "downloaded.json": (lambda r: r.downloaded(), []),
    "blocked_artists.json": (lambda r: r.blocked_artists(), []),
    "catalog_artists.json": (lambda r: r.library_snapshot(), {}),
    "catalog_discovered.json": (lambda r: r.catalog_discovered(), []),
    "job_status.json": (lambda r: r.job_statuses(), {}),
    "run_requests.json": (lambda r: r.run_requests(), {}),
    "download_history.json": (lambda r: r.download_history(), {}),
    "job_log.lb-fetch.json": (lambda r: r.job_log("lb-fetch"), []),
    "settings.json": (lambda r: r.saved_settings(), {}),
    "lb_feedback.json": (lambda r: r.unsent_feedback(), []),
    "block_offers_dismissed.json": (lambda r: r.dismissed_block_offers(), []),
}

# (file, content, where the reason must say it is wrong)
DAMAGE = [
    ("pending_queue.json", [], "the whole file: expected an object, found an array"),
    ("pending_queue.json", {"pending": "Justice - Cross"}, "pending: expected an array, found text"),
    ("pending_queue.json", {"pending": [ITEM, 5]}, "pending[1]: expected an object, found a number"),
    ("pending_queue.json", {"pending": [{"artist": "A", "album": "B"}]}, "pending[0].mbid: expected text, found nothing"),
    ("pending_queue.json", {"pending": [ITEM, {**ITEM, "mbid": 7}]}, "pending[1].mbid: expected text, found a number"),
    ("pending_queue.json", {"pending": [{**ITEM, "similar_to": ["Daft Punk", 1]}]},
     "pending[0].similar_to[1]: expected text, found a number"),
    ("pending_queue.json", {"approved": ["old-mbid", {"mbid": "m"}]}, "approved[1].artist: expected text, found nothing"),
    ("pending_queue.json", {"rejected": ["m", None]}, "rejected[1]: expected text, found null"),
    ("pending_queue.json", {"rejected_info": {"m": "m"}}, 'rejected_info["m"]: expected an object, found text'),
    ("pending_queue.json", {"history": {"segment": "2026-12.jsonl", "length": "all"}},
     "history.length: expected a number, found text"),
    ("queue_undo.json", [UNDO], "the whole file: expected an object, found an array"),
    ("queue_undo.json", {"abc": 1}, '["abc"]: expected an object, found a number'),
    ("queue_undo.json", {"abc": {**UNDO, "mbids": None}}, '["abc"].mbids: expected an array, found null'),
    ("queue_undo.json", {"abc": {k: v for k, v in UNDO.items() if k != "at"}}, '["abc"].at: expected text, found nothing'),
    ("queue_undo.json", {"abc": {**UNDO, "action": "explode"}}, '["abc"].action: expected one of "approve", "reject"'),
    ("queue_undo.json", {"abc": {**UNDO, "kept_on_wishlist": [1]}}, '["abc"].kept_on_wishlist[0]: expected text'),
    ("lb_feedback.json", {"album": "m-1"}, "the whole file: expected an array, found an object"),
    ("lb_feedback.json", [{"album": "m-1", "recording_mbid": "r-1", "queued_at": "2026-12-07T03:00:00Z"}],
     "[0].rating: expected text, found nothing"),
    ("block_offers_dismissed.json", ["Muse", 3], "[1]: expected text, found a number"),
    ("processed.json", {"not": "a list"}, "the whole file: expected an array, found an object"),
    ("processed.json", ["m-1", 2], "[1]: expected text, found a number"),
    ("downloaded.json", "Justice - Cross", "the whole file: expected an array, found text"),
    ("downloaded.json", ["Justice - Cross", ["Air - Moon Safari"]], "[1]: expected text, found an array"),
    ("blocked_artists.json", {"Justice": True}, "the whole file: expected an array, found an object"),
    ("blocked_artists.json", [{"name": "Justice"}], "[0]: expected text, found an object"),
    ("catalog_artists.json", [{"name": "Björk"}], "the whole file: expected an object, found an array"),
    ("catalog_artists.json", {"artists": ["Björk"]}, "artists[0]: expected an object, found text"),
    ("catalog_artists.json", {"artists": [{"mbid": "x"}]}, "artists[0].name: expected text, found nothing"),
    ("catalog_artists.json", {"albums": [{"name": "Homogenic", "year": "1997"}]},
     "albums[0].year: expected a number or null, found text"),
    ("catalog_artists.json", {"similar": {"bjork": {"similar": [{"name": "Múm", "match": "high"}]}}},
     'similar["bjork"].similar[0].match: expected a number or null, found text'),
    ("catalog_discovered.json", {"Justice": 1}, "the whole file: expected an array, found an object"),
    ("catalog_discovered.json", ["Justice", 5], "[1]: expected text or an object, found a number"),
    ("catalog_discovered.json", [{"name": ["Justice"]}], "[0].name: expected text or null, found an array"),
    ("catalog_discovered.json", [{"name": "Justice", "albums": "m-1"}], "[0].albums: expected an array or null"),
    ("job_status.json", ["lb-fetch"], "the whole file: expected an object, found an array"),
    ("job_status.json", {"lb-fetch": "running"}, '["lb-fetch"]: expected an object, found text'),
    ("job_status.json", {"lb-fetch": {"state": 3}}, '["lb-fetch"].state: expected text or null, found a number'),
    ("job_status.json", {"lb-fetch": {"last_run": "ok"}}, '["lb-fetch"].last_run: expected an object or null, found text'),
    ("job_status.json", {"lb-fetch": {"last_run": {"seconds": "fast"}}}, '["lb-fetch"].last_run.seconds'),
    ("run_requests.json", ["lb-fetch"], "the whole file: expected an object, found an array"),
    ("run_requests.json", {"lb-fetch": 5}, '["lb-fetch"]: expected text, found a number'),
    ("run_requests.json", {"lb-fetch": {"at": "now"}}, '["lb-fetch"]: expected text, found an object'),
    ("download_history.json", [], "the whole file: expected an object, found an array"),
    ("download_history.json", {"entries": []}, "entries: expected an object, found an array"),
    ("download_history.json", {"entries": {"Air - Moon Safari": "wanted"}}, 'entries["Air - Moon Safari"]: expected an object'),
    ("download_history.json", {"entries": {"Air - Moon Safari": {"state": 1}}}, 'entries["Air - Moon Safari"].state'),
    ("download_history.json", {"entries": {"Air - Moon Safari": {"downloads": [{"files": [{"size": "big"}]}]}}},
     'entries["Air - Moon Safari"].downloads[0].files[0].size: expected a number or null, found text'),
    ("download_history.json", {"entries": {"Air - Moon Safari": {"state": "in_library", "library_url": 7}}},
     'entries["Air - Moon Safari"].library_url: expected text or null, found a number'),
    ("download_history.json", {"users": {"sam": 3}}, 'users["sam"]: expected an object, found a number'),
    ("download_history.json", {"meta": {"search_starts": ["soon"]}}, "meta.search_starts[0]: expected a number, found text"),
    ("job_log.lb-fetch.json", {"lines": []}, "the whole file: expected an array, found an object"),
    ("job_log.lb-fetch.json", ["a line"], "[0]: expected an object, found text"),
    ("job_log.lb-fetch.json", [{"time": "t", "level": "INFO"}], "[0].message: expected text, found nothing"),
    ("job_log.lb-fetch.json", [LOG_LINE, {**LOG_LINE, "level": None}], "[1].level: expected text, found null"),
    ("settings.json", [{"web": {}}], "the whole file: expected an object, found an array"),
    ("settings.json", "web", "the whole file: expected an object, found text"),
]


def write(data_dir: Path, name: str, content) -> bytes:
    data_dir.mkdir(exist_ok=True)
    raw = json.dumps(content, ensure_ascii=False).encode("utf-8")
    (data_dir / name).write_bytes(raw)
    return raw


@pytest.mark.parametrize("name, content, where", DAMAGE, ids=[f"{d[0]}-{n}" for n, d in enumerate(DAMAGE)])
def test_it_moves_aside_a_file_of_the_wrong_shape(repository, data_dir, caplog, name, content, where):
    raw = write(data_dir, name, content)
    read, default = READERS[name]
    with caplog.at_level(logging.ERROR, logger="resonance.repository"):
        assert read(repository) == default
    [moved] = repository.quarantined_files()
    assert moved.name.startswith(f"{name}.corrupt-")
    assert moved.read_bytes() == raw  # nothing lost
    assert not (data_dir / name).exists()
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert str(data_dir / name) in record.getMessage() and str(moved) in record.getMessage()
    assert where in record.getMessage()
    assert any(where in text for text in repository.store.moved_aside)


def test_it_checks_inside_a_transaction_too_and_starts_afresh(repository, data_dir):
    write(data_dir, "job_status.json", {"lb-fetch": "running"})
    repository.update_job_status("lb-fetch", state="idle")
    assert repository.job_statuses() == {"lb-fetch": {"state": "idle"}}
    [moved] = repository.quarantined_files()
    assert json.loads(moved.read_text()) == {"lb-fetch": "running"}


@pytest.mark.parametrize("name, content", [
    # What older files, and every optional field, may hold: accepted, and unknown keys kept.
    ("pending_queue.json", {"pending": [{**ITEM, "from_the_future": {"x": 1}}, {"artist": "A", "album": "B", "mbid": "m-2",
                                         "score": None, "year": None, "similar_to": None, "source_track": None}],
                            "approved": ["bare-mbid", {**ITEM, "mbid": "m-3", "approved_at": "2026-01-12T08:00:00Z"}],
                            "rejected": ["m-4"], "rejected_info": {"m-4": {**ITEM, "mbid": "m-4", "rejected_at": "t"}},
                            "notes": "kept"}),
    ("catalog_discovered.json", ["0383dadf-2a4e-4d10-a46a-e9e041da8eb3", "Justice",
                                 {"name": "Air", "mbid": "", "albums": []}]),
    ("catalog_artists.json", {"taken_at": "t", "artists": [{"id": "1", "name": "Björk", "mbid": "", "album_count": 9}],
                              "albums": [{"id": 2, "artist": "", "name": "( )", "year": None, "mbid": ""}],
                              "similar": {"bjork": {"artist": "Björk", "asked_at": "t", "unknown": True}}}),
    ("download_history.json", {"entries": {"Air - Moon Safari": {"state": "wanted", "query": None, "album": None,
                                                                "attempts": [], "new_field": [1, 2]}},
                               "users": {"sam": {"failures": 1}}, "meta": {"search_starts": [1768125892.41, 1768125893]}}),
    ("job_status.json", {"lb-fetch": {"state": "idle", "next_run": None, "last_run": None}, "other": {}}),
])
def test_it_accepts_older_and_fuller_files_and_keeps_unknown_keys(repository, data_dir, name, content):
    write(data_dir, name, content)
    read, _ = READERS[name]
    value = read(repository)
    assert repository.quarantined_files() == []
    if name == "pending_queue.json":  # records of decided albums move to history/, the rest is kept
        content = {**content, "approved": [], "rejected": []}
        del content["rejected_info"]
        assert repository.approved_mbids() == ["bare-mbid", "m-3"] and repository.rejected_mbids() == ["m-4"]
        assert [item["mbid"] for item in repository.approved_page()[0]] == ["m-3", "bare-mbid"]
        assert repository.rejected_page()[0][0]["album"] == ITEM["album"]
    if isinstance(content, dict):  # the queue gains its empty sections; everything in the file is kept
        assert {key: value[key] for key in content} == content
    else:
        assert value == content


def test_it_checks_a_large_queue_and_still_finds_the_one_wrong_field():
    items = [{**ITEM, "mbid": f"m-{n}"} for n in range(5000)]
    shapes.check(shapes.PENDING_QUEUE, {"pending": items})
    items[4321] = {**items[4321], "score": "high"}
    with pytest.raises(shapes.ShapeError) as error:
        shapes.check(shapes.PENDING_QUEUE, {"pending": items})
    assert str(error.value) == "pending[4321].score: expected a number or null, found text"


# --- settings.json: keep what can be read --------------------------------------------------

DAMAGED_SETTINGS = {
    "web": {"secret_key": "kept-session-key", "password_hash": "pbkdf2:sha256:1$salt$hash", "username": "alice",
            "port": "eighty", "password": "x" * 600},
    "general": 5,
    "listenbrainz": {"username": "alice-lb", "from_a_newer_version": 1},
}
KEPT_SETTINGS = {
    "web": {"secret_key": "kept-session-key", "password_hash": "pbkdf2:sha256:1$salt$hash", "username": "alice"},
    "listenbrainz": {"username": "alice-lb"},
}


def test_it_keeps_the_settings_that_can_be_read_and_moves_the_original_aside(repository, data_dir, caplog):
    raw = write(data_dir, "settings.json", DAMAGED_SETTINGS)
    with caplog.at_level(logging.WARNING, logger="resonance.repository"):
        assert repository.saved_settings() == KEPT_SETTINGS
    assert json.loads((data_dir / "settings.json").read_text()) == KEPT_SETTINGS
    [moved] = repository.settings_moved_aside()
    assert moved.read_bytes() == raw
    logged = caplog.text
    assert str(data_dir / "settings.json") in logged and moved.name in logged
    for reason in ("web.port: Not a valid integer. (found 'eighty')", "general: expected an object of settings",
                   "listenbrainz.from_a_newer_version: not a setting of this version", "web.password: Longer than"):
        assert reason in logged
    assert "xxxxxxxx" not in logged  # a secret's value is never logged
    # The next read finds the repaired file: nothing more is moved aside.
    assert Repository(data_dir).saved_settings() == KEPT_SETTINGS
    assert len(repository.quarantined_files()) == 1


def test_it_says_when_a_new_session_key_is_made_after_settings_were_lost(repository, data_dir, caplog):
    data_dir.mkdir()
    (data_dir / "settings.json").write_text('{"web": {"secret_key": "old-key", ')
    with caplog.at_level(logging.WARNING, logger="resonance.repository"):
        key = repository.saved_setting_once("web", "secret_key", lambda: "new-key")
    assert key == "new-key"
    [moved] = repository.settings_moved_aside()
    assert f"web.secret_key was not in settings.json, so a new one was made; settings.json was moved aside as {moved}" \
        in caplog.text


# --- the web app keeps serving ----------------------------------------------------------------


@pytest.fixture
def make_client(repository, tmp_path):
    def make(**web) -> Client:
        web = {"auth": "basic", "username": USER, "password": PASSWORD, **web}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump({"web": web}), encoding="utf-8")
        app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
        app.test_client_class = Client
        return app.test_client()

    return make


@pytest.mark.parametrize("name, content, pages", [
    ("pending_queue.json", {"pending": [ITEM, "Justice - Cross"]}, ["/", "/history/approved", "/api/v1/queue"]),
    ("job_status.json", {"slskd-downloader": "running"}, ["/jobs", "/downloads", "/api/v1/jobs"]),
    ("download_history.json", {"entries": {"Air - Moon Safari": ["wanted"]}}, ["/downloads", "/api/v1/downloads/"]),
    ("blocked_artists.json", [{"name": "Justice"}], ["/blocklist", "/api/v1/blocklist"]),
    ("job_log.lb-fetch.json", [{"time": 5}], ["/jobs", "/api/v1/jobs/lb-fetch/log"]),
    ("run_requests.json", {"lb-fetch": ["now"]}, ["/jobs", "/api/v1/jobs"]),
    ("settings.json", {"web": 5}, ["/", "/settings", "/api/v1/settings"]),
])
def test_it_keeps_serving_and_shows_the_file_moved_aside(make_client, repository, data_dir, name, content, pages):
    write(data_dir, name, content)
    client = make_client()
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, (page, response.text[:500])
    [moved] = repository.quarantined_files()
    assert moved.name.startswith(f"{name}.corrupt-")
    banners = [banner.text for banner in parse(client.get("/").data).select("p.banner")]
    assert any(moved.name in text for text in banners)
    health = client.get("/api/v1/health").get_json()
    assert health["warnings"] == [f"{moved.name} was unreadable and moved aside"]


def test_it_tells_the_household_on_the_sign_in_page_that_settings_were_lost(make_client, data_dir):
    data_dir.mkdir()
    (data_dir / "settings.json").write_text('{"web": {"username": "alice", "password_hash": "')
    client = make_client(username="", password="")
    client.authorization = None
    page = client.get("/", headers={"Host": "example.org"})
    assert page.status_code == 403  # no credentials any more: the first-run page
    banner = parse(page.data).one("p.banner").text
    assert banner.startswith("settings.json.corrupt-") and "sign-in and the session key" in banner


def test_it_shows_a_run_that_moved_a_file_aside_as_a_warning(make_client, repository, data_dir):
    write(data_dir, "processed.json", {"not": "a list"})
    result = JobRunner("lb-fetch", repository, run_once=count_run).run()
    assert result.outcome == "warning"
    assert "processed.json moved aside as processed.json.corrupt-" in result.summary
    assert "wrong shape: the whole file: expected an array" in result.summary
    last_run = repository.job_statuses()["lb-fetch"]["last_run"]
    assert last_run["outcome"] == "warning" and last_run["summary"] == result.summary
    badge = parse(make_client().get("/jobs").data).one("#job-lb-fetch .badge.outcome-warning")
    assert badge.text == "warning"
    # The next run has nothing to report.
    assert JobRunner("lb-fetch", repository, run_once=count_run).run().outcome == "ok"


# --- the command line: say what happened instead of a traceback --------------------------------


def run_cli(env, *args, script=None) -> subprocess.CompletedProcess:
    command = [sys.executable, str(script)] if script else [sys.executable, "-m", "app.cli"]
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=120)


def test_it_checks_the_config_of_a_damaged_settings_file(subprocess_env, data_dir):
    write(data_dir, "settings.json", {"web": 5, "listenbrainz": {"username": "alice-lb"}})
    result = run_cli(subprocess_env, "check-config")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "Settings are valid" in result.stdout and "listenbrainz.username set by ui" in result.stdout
    [moved] = data_dir.glob("settings.json.corrupt-*")
    assert f"settings.json was damaged and moved aside as {moved}" in result.stderr
    assert "web: expected an object of settings, found a number" in result.stderr  # the log line says why
    assert json.loads((data_dir / "settings.json").read_text()) == {"listenbrainz": {"username": "alice-lb"}}


def test_it_warns_about_unparsable_settings_in_check_config(subprocess_env, data_dir):
    data_dir.mkdir()
    (data_dir / "settings.json").write_text('{"web": {"secret_key": "abc"')
    first = run_cli(subprocess_env, "check-config")
    again = run_cli(subprocess_env, "check-config")  # said every time until the person deals with it
    for result in (first, again):
        assert result.returncode == 0 and "Traceback" not in result.stderr
        assert "settings.json was damaged and moved aside as" in result.stderr
        assert "sign-in, the session key among them" in result.stderr


def test_it_starts_the_web_server_with_a_damaged_settings_file(subprocess_env, data_dir):
    write(data_dir, "settings.json", {"web": 5, "schedule": {"lb_fetch": "soon"}})
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "web", "--port", str(port)], env=subprocess_env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}/health")
        assert health.status_code == 200
        [moved] = data_dir.glob("settings.json.corrupt-*")
        assert health.json()["warnings"] == [f"{moved.name} was unreadable and moved aside"]
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert "Traceback" not in output
    assert "schedule.lb_fetch: Not a duration" in output  # the log says what was left out


def test_it_runs_a_job_with_a_damaged_settings_file_and_says_so(subprocess_env, data_dir):
    write(data_dir, "settings.json", {"web": 5})
    result = run_cli(subprocess_env, "job", "lb-fetch", "--once")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = result.stdout.splitlines()[-1]  # the log lines come first
    assert summary.startswith("lb-fetch: warning: set listenbrainz.username")
    assert "settings.json moved aside as settings.json.corrupt-" in summary
    assert json.loads((data_dir / "job_status.json").read_text())["lb-fetch"]["last_run"]["outcome"] == "warning"


def test_it_runs_a_job_whose_status_file_is_damaged(subprocess_env, data_dir):
    write(data_dir, "job_status.json", {"count": "running", "lb-fetch": 7})
    result = run_cli(subprocess_env, "job", "count", "--once", script=JOB_SCRIPT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith(
        "count: warning: 1 runs so far; damaged data: job_status.json moved aside as job_status.json.corrupt-")
    status = json.loads((data_dir / "job_status.json").read_text())
    assert status["count"]["last_run"]["outcome"] == "warning"
    [moved] = data_dir.glob("job_status.json.corrupt-*")
    assert json.loads(moved.read_text()) == {"count": "running", "lb-fetch": 7}


@pytest.fixture
def small_disk(tmp_path):
    """A real filesystem of 200 kB (tmpfs; the tests run as root)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 1024)
        except OSError:  # full
            pass
    return filler


def test_it_leaves_a_damaged_settings_file_in_place_when_the_kept_part_cannot_be_written(small_disk):
    data_dir = small_disk / "data"
    raw = write(data_dir, "settings.json", DAMAGED_SETTINGS)
    repository = Repository(data_dir)
    repository.store.ensure_dir()
    filler = fill(small_disk)
    with pytest.raises(StorageError, match="the disk is full"):
        repository.saved_settings()
    assert (data_dir / "settings.json").read_bytes() == raw  # nothing lost, nothing half-done
    assert repository.quarantined_files() == []
    filler.unlink()
    assert repository.saved_settings() == KEPT_SETTINGS  # with room again, the next read repairs it
    [moved] = repository.settings_moved_aside()
    assert moved.read_bytes() == raw


def test_it_checks_the_queue_once_per_version_across_processes_and_every_hand_edit(data_dir, monkeypatch):
    from factories import make_queue_item

    Repository(data_dir).add_pending([make_queue_item() for _ in range(3)])  # written, so known sound
    checks = []
    real_check = shapes.check
    monkeypatch.setattr(shapes, "check", lambda shape, value: (checks.append(shape), real_check(shape, value)))

    assert Repository(data_dir).pending_count() == 3  # a new process: the version Resonance wrote
    assert shapes.PENDING_QUEUE not in checks

    queue_file = data_dir / "pending_queue.json"
    edited = json.loads(queue_file.read_text())
    edited["pending"][1]["mbid"] = 42  # a hand edit: valid JSON, wrong shape
    queue_file.write_text(json.dumps(edited))
    fresh = Repository(data_dir)
    assert fresh.pending_count() == 0
    assert shapes.PENDING_QUEUE in checks
    assert [path.name.split(".corrupt-")[0] for path in fresh.quarantined_files()] == ["pending_queue.json"]


def test_it_notes_a_checked_queue_as_sound_for_the_next_process_even_in_a_data_dir_never_locked(data_dir):
    from factories import make_queue_item

    data_dir.mkdir()
    (data_dir / "pending_queue.json").write_text(json.dumps({"pending": [make_queue_item()]}))  # never written by us
    assert Repository(data_dir).pending_count() == 1  # checked, and noted
    key = (data_dir / "pending_queue.json").stat()
    assert (data_dir / ".locks" / "pending_queue.json.sound").read_text() == \
        f"{key.st_ino} {key.st_mtime_ns} {key.st_size}\n"
