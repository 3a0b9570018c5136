"""Following transfers against the sandbox: stalls, rejections, remote queues, completion, page actions."""

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

from app.pipelines.downloader import run_once
from app.pipelines.transfers import check_transfers, follow_transfers


def follow_until(ctx, key, done, timeout=15.0, seen=None):
    """Follow transfers every 0.2 s until ``done(record)``; ``seen`` collects every record state."""
    deadline = time.monotonic() + timeout
    while True:
        follow_transfers(ctx)
        record = ctx.repository.download_record(key)
        if seen is not None:
            seen.append(record)
        if done(record):
            return record
        assert time.monotonic() < deadline, f"still {record.state}: {events(record)[-3:]}"
        time.sleep(0.2)


def cancelled_ids(sandbox, user):
    return {r.path.rsplit("/", 1)[-1] for r in sandbox.requests("slskd")
            if r.method == "DELETE" and r.path.startswith(f"/api/v0/transfers/downloads/{user}/")}


def test_it_fails_over_to_the_next_candidate_when_a_peer_stalls(sandbox, slskd_context, repository):
    key = "Slowdive - Souvlaki"
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = slskd_context(stall_timeout=1)
    run_once(ctx)
    record = repository.download_record(key)
    assert record.downloads[-1]["user"] == "stalled_sam"
    # lowq's 128 kbps rip (no attributes) and lockedbox's locked FLAC are not fallbacks.
    assert [f["user"] for f in record.fallbacks] == ["mp3hoarder"]
    seen: list[dict] = []
    record = follow_until(ctx, key, lambda r: r.state == "completed", seen=seen)
    first, second = record.downloads[-2:]
    assert (first["user"], first["state"]) == ("stalled_sam", "failed")
    assert first["reason"] == "no progress for more than 1 s"
    assert (second["user"], second["state"]) == ("mp3hoarder", "completed")
    assert second["progress"]["files_done"] == second["progress"]["files_total"] == 10
    # Its transfers were cancelled in slskd, and the user is remembered.
    stalled_ids = {f["id"] for f in first["files"]}
    assert stalled_ids and stalled_ids <= cancelled_ids(sandbox, "stalled_sam") | {
        f["id"] for f in first["files"] if f["state"].startswith("Completed")}
    assert all(f["state"].startswith("Completed") for f in first["files"])
    users = repository.download_users()
    assert users["stalled_sam"]["recent_failures"] == 1
    assert users["stalled_sam"]["last_reason"].startswith("no progress")
    assert users["mp3hoarder"]["successes"] == 1
    # Progress was visible on the way: files done of total, bytes, speed.
    downloading = [r.downloads[-1]["progress"] for r in seen
                   if r.state == "downloading" and r.downloads[-1]["user"] == "mp3hoarder"]
    assert any(0 < p["bytes_done"] < p["bytes_total"] for p in downloading)
    # The history tells the story step by step.
    steps = [text.split(":")[0] for text in events(record)]
    assert steps[:1] == ['searched "Slowdive Souvlaki"']
    story = " | ".join(events(record))
    for fragment in ("queued: 10 audio files + 1 others from stalled_sam", "downloading: ",
                     "download from stalled_sam failed: no progress for more than 1 s; its transfers were cancelled",
                     "queued: 10 audio files + 0 others from mp3hoarder",
                     "completed: all 10 audio files from mp3hoarder"):
        assert fragment in story
    assert story.index("stalled_sam failed") < story.index("from mp3hoarder")
    assert repository.downloaded() == [key]


def test_it_fails_over_on_a_rejected_transfer_and_searches_an_exhausted_album_again(sandbox, slskd_context, repository):
    key = "Bon Iver - For Emma, Forever Ago"
    wish(repository, ("Bon Iver", "For Emma, Forever Ago"))
    ctx = slskd_context()
    run_once(ctx)
    assert repository.download_record(key).downloads[-1]["user"] == "rejecta"
    record = follow_until(ctx, key, lambda r: r.state == "wanted")
    rejected, errored = record.downloads[-2:]
    assert rejected["user"] == "rejecta"
    assert "Completed, Rejected (Transfer rejected: File not shared.)" in rejected["reason"]
    assert errored["user"] == "flaky" and "Completed, Errored" in errored["reason"]
    assert record.reason.startswith("flaky: ")
    assert events(record)[-1] == "wanted: no other folder from the last search; searching again"
    users = repository.download_users()
    assert users["rejecta"]["recent_failures"] == users["flaky"]["recent_failures"] == 1
    # The next run searches again (a new attempt), and both uploaders now rank lower.
    run_once(ctx)
    record = repository.download_record(key)
    assert record.attempt_count == 2
    candidates = record.attempts[-1]["candidates"]
    assert all("failed us 1 time" in " ".join(c["reasons"]) for c in candidates)


def test_it_gives_up_on_a_peer_that_keeps_us_remotely_queued(sandbox, slskd_context, repository):
    sandbox.slskd_state.set_behaviour("stalled_sam", "remote_queue")
    key = "The xx - xx"
    wish(repository, ("The xx", "xx"))
    ctx = slskd_context(remote_queue_timeout=1)
    run_once(ctx)
    record = follow_until(ctx, key, lambda r: r.state != "queued" or len(r.downloads) > 1)
    first = record.downloads[0]
    assert first["user"] == "stalled_sam" and first["reason"] == "remotely queued for more than 1 s"
    assert record.downloads[-1]["user"] == "queue_forever"


def test_it_counts_an_album_complete_despite_a_failed_nfo(sandbox, slskd_context, repository):
    key = "Múm - Finally We Are No One"
    wish(repository, ("Múm", "Finally We Are No One"))
    ctx = slskd_context()
    sandbox.settings.slskd_queue_seconds = 0.5
    run_once(ctx)
    (user, files), = enqueues(sandbox)
    assert user == "vinylripper" and [f.rsplit("\\", 1)[-1] for f in files[:2]] == ["folder.jpg", "info.nfo"]
    # The peer stops sharing the .nfo before its turn comes: that transfer is rejected, the tracks go on.
    peer = sandbox.catalogue.soulseek_users["vinylripper"]
    peer.files = [f for f in peer.files if not f.filename.endswith("info.nfo")]
    record = follow_until(ctx, key, lambda r: r.state in ("completed", "wanted"))
    assert record.state == "completed"
    download = record.downloads[-1]
    nfo = next(f for f in download["files"] if f["filename"].endswith("info.nfo"))
    assert nfo["state"] == "Completed, Rejected" and nfo["audio"] is False
    assert download["progress"]["files_done"] == download["progress"]["files_total"] == 11
    assert events(record)[-1] == "completed: all 11 audio files from vinylripper; 1 non-audio files failed (ignored)"


def test_it_makes_no_request_in_the_light_check_while_nothing_is_followed(sandbox, slskd_context, repository):
    ctx = slskd_context()
    result = check_transfers(ctx)
    assert result.skipped and result.summary == "no downloads to follow"
    assert sandbox.requests("slskd") == []
    sandbox.slskd_state.set_behaviour("rockvault", "remote_queue")  # keeps the album active for this test
    wish(repository, ("AC/DC", "Back in Black"))
    run_once(ctx)
    sandbox.clear_requests("slskd")
    with repository.job_lock("slskd-transfers"):  # a run is following them right now
        assert check_transfers(ctx).skipped
    assert sandbox.requests("slskd") == []
    result = check_transfers(ctx)
    assert [r.path for r in sandbox.requests("slskd")] == ["/api/v0/server", "/api/v0/transfers/downloads"]
    assert result.summary == "1 in progress"
    sandbox.slskd_state.connected = False
    assert check_transfers(ctx).summary == "Soulseek not connected (Disconnected)"


def test_it_cancels_an_active_download_in_slskd_when_removed(sandbox, slskd_context, repository):
    sandbox.slskd_state.set_behaviour("vinylripper", "remote_queue")
    key = "Múm - Finally We Are No One"
    wish(repository, ("Múm", "Finally We Are No One"))
    ctx = slskd_context()
    run_once(ctx)
    assert repository.remove_download(key) is True
    assert repository.wishlist_entries() == [] and repository.downloaded() == []
    assert repository.download_record(key).state == "removed"
    assert repository.download_records() == []  # hidden from the page meanwhile
    follow_transfers(ctx)
    assert repository.download_record(key) is None
    ids = {f for _u, fs in enqueues(sandbox) for f in fs}
    assert len(cancelled_ids(sandbox, "vinylripper")) == len(ids) == 13


def test_it_moves_a_retried_active_download_to_the_next_folder_without_blaming_the_peer(
        sandbox, slskd_context, repository):
    sandbox.slskd_state.set_behaviour("vinylripper", "remote_queue")
    key = "Múm - Finally We Are No One"
    wish(repository, ("Múm", "Finally We Are No One"))
    ctx = slskd_context()
    run_once(ctx)
    repository.retry_download(key)
    follow_transfers(ctx)
    record = repository.download_record(key)
    first, second = record.downloads[-2:]
    assert first["user"] == "vinylripper" and first["reason"] == "retry asked on the Downloads page"
    assert second["user"] != "vinylripper" and record.state == "queued"
    assert "vinylripper" not in repository.download_users()
    assert len(cancelled_ids(sandbox, "vinylripper")) == 13


def test_it_lists_and_counts_downloads_for_the_page(sandbox, slskd_context, repository):
    wish(repository, ("AC/DC", "Back in Black"), ("Portishead", "Dummy"))
    run_once(slskd_context())
    counts = repository.download_counts()
    assert counts["queued"] == 1 and counts["no_result"] == 1 and counts["completed"] == 0
    active = repository.download_records(("queued", "downloading"))
    assert [r.key for r in active] == ["AC/DC - Back in Black"]
    assert active[0].downloads[-1]["progress"]["files_total"] == 10


def test_it_only_clears_the_history_when_a_completed_download_is_removed(repository):
    entry, = wish(repository, ("AC/DC", "Back in Black"))
    repository.mark_downloaded([entry.text])
    repository.update_download_record(entry.text, lambda r: setattr(r, "state", "completed"), entry=entry)
    assert repository.retry_download(entry.text).state == "completed"  # nothing to retry
    assert repository.remove_download(entry.text) is True
    assert repository.download_record(entry.text) is None
    assert repository.wishlist_entries() == [entry] and repository.downloaded() == [entry.text]
    assert repository.remove_download(entry.text) is False


def test_it_needs_a_query_to_search_again_and_can_start_a_record(repository):
    entry, = wish(repository, ("Portishead", "Dummy"))
    with pytest.raises(ValueError):
        repository.search_download_again(entry.text, "   ")
    assert repository.search_download_again(entry.text, "dummy") is None  # no record, no entry given
    record = repository.search_download_again(entry.text, "dummy 1994", entry=entry)
    assert (record.state, record.query, record.attempt_count) == ("wanted", "dummy 1994", 0)
