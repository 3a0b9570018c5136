"""'Download this one' in the model: which candidate, what it replaces, what fails over after it, refusals."""

import pytest
from download_factories import make_attempt, make_candidate, make_download, seed_download

from app import download_actions as actions
from app.downloads import (
    InvalidInput,
    NotAllowedInState,
    NotFound,
    candidate_folder,
    candidate_id,
    trim,
)

KEY = "Sigur Rós - ( )"
FOLDERS = {"nordicfan": "@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]", "lowq": "G:\\mp3\\Sigur Rós - ( )",
           "mp3hoarder": "D:\\Rips\\Sigur Ros - ( ) (2002) [V0]", "vinyl": "V:\\Sigur Rós\\( ) [FLAC]"}


def listed(user: str, extras: int = 1, tracks: int = 8) -> dict:
    """A candidate as the downloader records it: with its files (names relative to the folder)."""
    files = [{"name": "cover.jpg", "size": 90_000, "audio": False}][:extras]
    files += [{"name": f"{n:02d} - Untitled #{n}.flac", "size": 50_000_000, "audio": True} for n in range(1, tracks + 1)]
    score, accepted = {"nordicfan": (0.95, True), "lowq": (0.4, False), "mp3hoarder": (0.8, True),
                       "vinyl": (0.7, True)}[user]
    return make_candidate(user, FOLDERS[user], score, accepted, file_list=files)


def ranked() -> list[dict]:
    return [listed("nordicfan"), listed("lowq", extras=0), listed("mp3hoarder"), listed("vinyl")]


def test_a_candidate_becomes_the_folder_to_queue_with_its_full_paths():
    folder = candidate_folder(listed("nordicfan"))
    assert (folder["user"], folder["folder"], folder["format"]) == ("nordicfan", FOLDERS["nordicfan"], "flac")
    assert folder["files"][0] == {"filename": FOLDERS["nordicfan"] + "\\cover.jpg", "size": 90_000, "audio": False}
    assert len(folder["files"]) == 9 and all(f["audio"] for f in folder["files"][1:])
    # Recorded before candidates kept their files: nothing to queue, so not pickable.
    assert candidate_folder(make_candidate()) is None
    # The id is the same for the candidate, the folder queued from it and its download.
    assert candidate_id(listed("nordicfan")) == candidate_id(folder) == candidate_id(
        make_download("nordicfan", FOLDERS["nordicfan"]))
    assert candidate_id(listed("nordicfan")) != candidate_id(listed("mp3hoarder"))


def test_picking_a_folder_cancels_the_download_and_fails_over_from_its_position(repository):
    seed_download(repository, "Sigur Rós", "( )", "downloading", attempts=[make_attempt(*ranked())],
                  fallbacks=[candidate_folder(listed("mp3hoarder"))])
    message, record = actions.pick(repository, KEY, candidate_id(listed("lowq")))
    assert message == (f"{KEY}: the folder from lowq is queued within a minute, once the download from nordicfan "
                       "is cancelled.")
    assert record.state == "wanted" and record.next_retry_at is None
    assert record.picked == candidate_folder(listed("lowq", extras=0))
    # The acceptable folders ranked after the chosen one, in order (not the better one before it).
    assert [f["user"] for f in record.fallbacks] == ["mp3hoarder", "vinyl"]
    assert record.downloads[-1]["state"] == "cancelled"
    assert {c["id"] for c in record.cancel} == {f"id-{n}" for n in range(4, 9)}  # the 3 done are kept
    assert record.events[-1]["text"].startswith("wanted: chosen by hand: lowq: ")
    assert repository.download_record(KEY).to_dict() == record.to_dict()
    assert "slskd-downloader" in repository.run_requests()


def test_a_pick_for_an_entry_taken_off_the_wishlist_puts_it_back(repository):
    seed_download(repository, "Sigur Rós", "( )", "no_result", on_wishlist=False,
                  attempts=[make_attempt(*ranked(), outcome="no_result")])
    message, record = actions.pick(repository, KEY, candidate_id(listed("vinyl")))
    assert message.endswith("(it is back on the wishlist).") and record.fallbacks == []
    assert [e.text for e in repository.wishlist_entries()] == [KEY]


@pytest.mark.parametrize("state,fields,code", [
    ("completed", {}, "already_downloaded"),
    ("searching", {}, "searching"),
    ("no_result", {"unconfirmed_enqueue": {"user": "x", "folder": "y", "files": []}}, "enqueue_unconfirmed"),
    ("downloading", {}, "already_chosen"),  # the folder it is downloading
])
def test_a_pick_is_refused_when_it_cannot_apply(repository, state, fields, code):
    seed_download(repository, "Sigur Rós", "( )", state, attempts=[make_attempt(*ranked(), outcome=None)], **fields)
    before = repository.download_history()
    with pytest.raises(NotAllowedInState) as refused:
        actions.pick(repository, KEY, candidate_id(listed("nordicfan")))
    assert refused.value.code == code
    assert repository.download_history() == before and repository.run_requests() == {}


def test_an_unknown_or_malformed_candidate_is_refused_with_the_field(repository):
    seed_download(repository, "Sigur Rós", "( )", "no_result",
                  attempts=[make_attempt(make_candidate("old", "Old\\Folder"), number=1),
                            make_attempt(listed("vinyl"), number=2, outcome="no_result")])
    for wrong in (None, "", "XYZ", "0123456789abc", "0123456789AB"):
        with pytest.raises(InvalidInput) as invalid:
            actions.pick(repository, KEY, wrong)
        assert list(invalid.value.details) == ["candidate"], wrong
    # An older search's candidate, and one whose files were not kept, cannot be picked.
    for gone in (candidate_id(make_candidate("old", "Old\\Folder")), candidate_id(make_candidate())):
        with pytest.raises(NotFound) as missing:
            actions.pick(repository, KEY, gone)
        assert missing.value.details == {"candidate": ["No such candidate in the latest search."]}
    with pytest.raises(NotFound):
        actions.pick(repository, "Nobody - Nothing", candidate_id(listed("vinyl")))


def test_only_the_latest_search_keeps_the_files_and_not_once_in_the_library(repository):
    record = seed_download(repository, "Sigur Rós", "( )", "no_result",
                           attempts=[make_attempt(*ranked(), number=1), make_attempt(*ranked(), number=2)])
    assert all("file_list" not in c for c in record.attempts[0]["candidates"])
    assert all("file_list" in c for c in record.attempts[1]["candidates"])
    record.state = "in_library"
    trim(record)
    assert all("file_list" not in c for c in record.attempts[-1]["candidates"])


def test_the_shape_check_knows_the_files_of_a_candidate_and_the_folder_picked(repository):
    from app.repository import shapes

    seed_download(repository, "Sigur Rós", "( )", "downloading", attempts=[make_attempt(*ranked())])
    actions.pick(repository, KEY, candidate_id(listed("vinyl")))
    history = repository.download_history()
    shapes.check(shapes.DOWNLOAD_HISTORY, history)  # as written: sound
    damaged = {**history["entries"][KEY], "picked": {"user": "vinyl", "files": "every file"}}
    with pytest.raises(shapes.ShapeError):
        shapes.check(shapes.DOWNLOAD_HISTORY, {"entries": {KEY: damaged}})
    candidate = {**listed("vinyl"), "file_list": [{"name": 7, "size": "big"}]}
    with pytest.raises(shapes.ShapeError):
        shapes.check(shapes.DOWNLOAD_HISTORY, {"entries": {KEY: {"attempts": [make_attempt(candidate)]}}})
