"""app.downloads: the typed record, its states and their changes, parsed and written by the repository."""

from pathlib import Path

import pytest
from download_factories import NOW, seed_download

from app import download_actions as actions
from app.downloads import (
    RECORD_FIELDS,
    STATES,
    Download,
    InvalidInput,
    NotAllowedInState,
    NotFound,
    into_library,
    quarantine,
    start_importing,
    start_verifying,
)
from app.pipelines import upstream

KEY = "Slowdive - Souvlaki"


def stored(repository, key: str = KEY) -> dict:
    return repository.download_history()["entries"][key]


def test_every_state_is_in_one_list_removed_and_the_import_states_included(repository):
    assert {"removed", "verifying", "importing", "in_library", "quarantined"} <= set(STATES)
    seed_download(repository, "Slowdive", "Souvlaki", "downloading")
    repository.remove_download(KEY)  # waits as "removed" until its transfers are cancelled
    assert repository.download_counts()["removed"] == 1
    assert repository.download_records() == []  # never shown


def test_the_repository_hands_out_typed_records_and_writes_them_back_as_they_were(repository):
    seed_download(repository, "Slowdive", "Souvlaki", "completed", shelf="kept by a newer version")
    record = repository.download_record(KEY)
    assert isinstance(record, Download)
    assert (record.key, record.state, record.attempt_count) == (KEY, "completed", 1)
    before = stored(repository)
    assert Download.from_dict(KEY, before).to_dict() == before  # an unknown field survives
    assert before["shelf"] == "kept by a newer version"
    assert set(before) - {"shelf", "failover_requested"} <= set(RECORD_FIELDS)


def test_a_completed_download_goes_through_the_import_states_into_the_library(repository):
    seed_download(repository, "Slowdive", "Souvlaki", "completed")
    repository.update_download_record(KEY, lambda r: start_verifying(r, NOW), now=NOW)
    assert repository.download_record(KEY).state == "verifying"
    repository.update_download_record(KEY, lambda r: start_importing(r, NOW), now=NOW)
    repository.update_download_record(
        KEY, lambda r: into_library(r, NOW, "/music/Slowdive/Souvlaki", "http://navidrome/app/#/album/1"), now=NOW)
    record = repository.download_record(KEY)
    assert (record.state, record.library_path, record.library_url) == (
        "in_library", "/music/Slowdive/Souvlaki", "http://navidrome/app/#/album/1")
    assert stored(repository)["library_path"] == "/music/Slowdive/Souvlaki"
    assert record.events[-1]["text"].startswith("in_library: ")


@pytest.mark.parametrize("from_state", ["verifying", "importing"])
def test_verifying_or_importing_can_end_in_quarantine_with_the_reason(repository, from_state):
    seed_download(repository, "Slowdive", "Souvlaki", "completed")
    repository.update_download_record(KEY, lambda r: start_verifying(r, NOW), now=NOW)
    if from_state == "importing":
        repository.update_download_record(KEY, lambda r: start_importing(r, NOW), now=NOW)
    repository.update_download_record(
        KEY, lambda r: quarantine(r, NOW, "track 3 is truncated", "03 - Alison.flac", "the next folder"), now=NOW)
    record = repository.download_record(KEY)
    assert (record.state, record.import_reason, record.import_failed_track, record.import_note) == (
        "quarantined", "track 3 is truncated", "03 - Alison.flac", "the next folder")


@pytest.mark.parametrize("state, move", [
    ("downloading", lambda r: start_verifying(r, NOW)),
    ("completed", lambda r: start_importing(r, NOW)),
    ("completed", lambda r: into_library(r, NOW, "/music/x")),
    ("completed", lambda r: quarantine(r, NOW, "bad")),
    ("failed", lambda r: quarantine(r, NOW, "bad")),
])
def test_a_move_the_rules_do_not_allow_is_refused_and_nothing_is_written(repository, state, move):
    seed_download(repository, "Slowdive", "Souvlaki", state)
    before = stored(repository)
    with pytest.raises(NotAllowedInState):
        repository.update_download_record(KEY, move, now="2026-02-01T00:00:00Z")
    assert stored(repository) == before


def test_an_unknown_state_is_refused(repository):
    seed_download(repository, "Slowdive", "Souvlaki", "wanted")
    from app.downloads import set_state

    with pytest.raises(ValueError):
        repository.update_download_record(KEY, lambda r: set_state(r, "lost", NOW), now=NOW)


def test_retry_refuses_a_download_in_the_library_and_searches_a_quarantined_one_again(repository):
    seed_download(repository, "Slowdive", "Souvlaki", "completed")
    repository.update_download_record(KEY, lambda r: start_verifying(r, NOW), now=NOW)
    repository.update_download_record(KEY, lambda r: start_importing(r, NOW), now=NOW)
    repository.update_download_record(KEY, lambda r: into_library(r, NOW, "/music/x"), now=NOW)
    with pytest.raises(NotAllowedInState) as refused:
        actions.retry(repository, KEY)
    assert refused.value.code == "already_downloaded"

    seed_download(repository, "Lush", "Spooky", "completed")
    other = "Lush - Spooky"
    repository.update_download_record(other, lambda r: start_verifying(r, NOW), now=NOW)
    repository.update_download_record(other, lambda r: quarantine(r, NOW, "wrong album"), now=NOW)
    message, record = actions.retry(repository, other)
    assert record.state == "wanted" and "searched again" in message


def test_the_actions_raise_domain_errors(repository):
    with pytest.raises(NotFound):
        actions.retry(repository, "Nobody - Nothing")
    with pytest.raises(InvalidInput) as missing:
        actions.remove(repository, "")
    assert missing.value.details == {"key": ["Missing data for required field."]}
    seed_download(repository, "Slowdive", "Souvlaki", "failed")
    with pytest.raises(InvalidInput):
        actions.search_again(repository, KEY, "   ")


def test_every_slskd_client_is_built_in_upstream():
    root = Path(__file__).resolve().parents[1] / "app"
    builders = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                      if "SlskdClient(" in path.read_text() and path.name != "slskd.py")
    assert builders == ["pipelines/upstream.py"]


def test_the_named_slskd_policies():
    from app.config import load_settings

    settings = load_settings({"slskd": {"base_url": "http://127.0.0.1:1", "api_key": "k"}})
    assert upstream.slskd(settings, upstream.SLSKD_SEARCH_START).http.retry.max_attempts == 1
    assert upstream.slskd(settings, upstream.SLSKD_PROBE).http.retry.max_attempts == 2
    assert upstream.slskd(settings, upstream.SLSKD_TRANSFERS).http.retry.max_attempts == 5
    assert upstream.slskd(settings, upstream.SLSKD_PAGE_PROBE).http.timeout == (2.0, 5.0)
    with pytest.raises(KeyError):
        upstream.slskd(settings, "FOREVER")
