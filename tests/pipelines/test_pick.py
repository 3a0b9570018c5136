"""'Download this one' against the sandbox: a folder chosen by hand replaces the automatic choice."""

from __future__ import annotations

import time

import pytest
from downloader_support import (  # noqa: F401
    enqueues,
    events,
    fresh_governor,
    sandbox,
    slskd_context,
    wish,
)

from app import download_actions
from app.downloads import NotAllowedInState, candidate_id
from app.pipelines.downloader import run_once
from app.pipelines.transfers import follow_transfers

KEY = "Slowdive - Souvlaki"
# A second mp3 rip of Souvlaki, slower and further behind in its queue than mp3hoarder's: ranked after it.
LATE_LARRY = {
    "username": "late_larry", "behaviour": "normal", "has_free_upload_slot": False, "upload_speed": 150000,
    "queue_length": 60,
    "shares": [{"folder": "E:\\Share\\Slowdive - Souvlaki (1993) [V0]",
                "release": "4e3e04db-fb36-506d-91be-395543c5d3ab", "quality": "mp3-v0"}],
}


def follow_until(ctx, key, done, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        follow_transfers(ctx)
        record = ctx.repository.download_record(key)
        if done(record):
            return record
        assert time.monotonic() < deadline, f"still {record.state}: {events(record)[-3:]}"
        time.sleep(0.2)


def candidate_of(record, user: str) -> dict:
    return next(c for c in record.attempts[-1]["candidates"] if c["user"] == user)


def requests_to(sandbox, method: str, prefix: str) -> list[int]:
    """Indexes in slskd's request log of the ``method`` requests whose path starts with ``prefix``."""
    return [i for i, r in enumerate(sandbox.requests("slskd")) if r.method == method and r.path.startswith(prefix)]


def search_count(sandbox) -> int:
    return len(requests_to(sandbox, "POST", "/api/v0/searches"))


def test_a_folder_picked_by_hand_replaces_the_download_in_flight(sandbox, slskd_context, repository):
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = slskd_context(stall_timeout=3600)  # stalled_sam's download stays in flight until it is replaced
    run_once(ctx)
    record = repository.download_record(KEY)
    assert record.state in ("queued", "downloading") and record.downloads[-1]["user"] == "stalled_sam"
    second = candidate_of(record, "mp3hoarder")
    assert record.attempts[-1]["candidates"].index(second) == 1  # the second best

    message, picked = download_actions.pick(repository, KEY, candidate_id(second))
    assert "mp3hoarder" in message and "stalled_sam" in message
    assert picked.state == "wanted" and picked.picked["user"] == "mp3hoarder"
    assert picked.downloads[-1]["state"] == "cancelled"
    assert {item["user"] for item in picked.cancel} == {"stalled_sam"}
    assert repository.run_requests().get("slskd-downloader")  # asked for a run at once
    searches = search_count(sandbox)

    run_once(ctx)
    record = repository.download_record(KEY)
    assert record.state in ("queued", "downloading", "completed")
    assert record.downloads[-1]["user"] == "mp3hoarder" and record.picked is None
    assert search_count(sandbox) == searches  # queued as chosen: no new search
    # mp3hoarder's files exactly, as the candidate listed them; stalled_sam's unfinished transfers
    # were all cancelled in slskd before they were enqueued: never two downloads of the album.
    queued = enqueues(sandbox)
    assert [user for user, _ in queued] == ["stalled_sam", "mp3hoarder"]
    assert len(queued[1][1]) == second["files"] + second["extras"]
    assert all(name.startswith(second["folder"] + "\\") for name in queued[1][1])
    cancels = requests_to(sandbox, "DELETE", "/api/v0/transfers/downloads/stalled_sam/")
    enqueue = requests_to(sandbox, "POST", "/api/v0/transfers/downloads/mp3hoarder")
    assert len(cancels) == len(picked.cancel) > 0 and max(cancels) < min(enqueue)
    still_running = [t for t in sandbox.slskd_state.transfers.values()
                     if t.username == "stalled_sam" and not t.state.startswith("Completed")]
    assert still_running == []

    record = follow_until(ctx, KEY, lambda r: r.state == "completed")
    assert record.downloads[-1]["user"] == "mp3hoarder"
    assert [d["state"] for d in record.downloads] == ["cancelled", "completed"]
    assert "chosen by hand: mp3hoarder" in " | ".join(events(record))


@pytest.mark.parametrize("behaviour", ["rejects", "offline"])
def test_when_the_folder_picked_fails_the_next_candidate_takes_over(sandbox, slskd_context, repository, behaviour):
    sandbox.slskd_state.add_user(LATE_LARRY)
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = slskd_context(stall_timeout=3600)
    run_once(ctx)
    record = repository.download_record(KEY)
    ranked = [c["user"] for c in record.attempts[-1]["candidates"] if c["accepted"]]
    assert ranked[:3] == ["stalled_sam", "mp3hoarder", "late_larry"]
    # mp3hoarder rejects the files once queued, or is offline when they are enqueued.
    sandbox.slskd_state.set_behaviour("mp3hoarder", behaviour)
    download_actions.pick(repository, KEY, candidate_id(candidate_of(record, "mp3hoarder")))
    assert [f["user"] for f in repository.download_record(KEY).fallbacks] == ["late_larry"]

    run_once(ctx)
    record = follow_until(ctx, KEY, lambda r: r.state == "completed")
    assert record.downloads[-1]["user"] == "late_larry"
    assert [user for user, _ in enqueues(sandbox)] == (
        ["stalled_sam", "mp3hoarder", "late_larry"] if behaviour == "rejects" else ["stalled_sam", "late_larry"])
    assert search_count(sandbox) == len(record.attempts[0]["queries"])  # one search, at the start
    if behaviour == "rejects":
        assert [(d["user"], d["state"]) for d in record.downloads] == [
            ("stalled_sam", "cancelled"), ("mp3hoarder", "failed"), ("late_larry", "completed")]


def test_a_pick_is_refused_once_the_album_is_downloaded(sandbox, slskd_context, repository):
    sandbox.slskd_state.set_behaviour("stalled_sam", "normal")
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = slskd_context()
    run_once(ctx)
    record = follow_until(ctx, KEY, lambda r: r.state == "completed")
    other = next(c for c in record.attempts[-1]["candidates"] if c["user"] != record.downloads[-1]["user"])
    with pytest.raises(NotAllowedInState) as refused:
        download_actions.pick(repository, KEY, candidate_id(other))
    assert refused.value.code == "already_downloaded"
    assert repository.download_record(KEY).to_dict() == record.to_dict()  # unchanged


def test_a_check_that_read_the_record_before_the_pick_does_not_bring_the_old_download_back(
        sandbox, slskd_context, repository, monkeypatch):
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = slskd_context(stall_timeout=3600)
    run_once(ctx)
    stale = repository.downloads_following()  # a transfer check (the page's, the runner's) read it just now
    record = repository.download_record(KEY)
    download_actions.pick(repository, KEY, candidate_id(candidate_of(record, "mp3hoarder")))
    monkeypatch.setattr(repository, "downloads_following", lambda: stale)
    follow_transfers(ctx)  # ... and writes its progress after the pick
    record = repository.download_record(KEY)
    assert (record.state, record.downloads[-1]["state"], record.picked["user"]) == ("wanted", "cancelled",
                                                                                   "mp3hoarder")
