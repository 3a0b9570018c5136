"""Following transfers: what slskd did with the folders Resonance queued.

``follow_transfers`` reads slskd's download list once and brings the record
of every album being downloaded up to date (download_history.json): queued
remotely, in progress (files done/total, bytes, speed), completed, or failed.
The downloader calls it at the start of each run; ``check_transfers`` is the
light version for a runner to call every minute or so between runs (it makes
no request at all while nothing is being downloaded).

An album fails when one of its audio files ends in any state but
``Completed, Succeeded`` (errored, rejected, timed out, aborted, cancelled),
when the peer keeps it remotely queued longer than
``slskd.remote_queue_timeout``, or when it makes no progress for longer than
``slskd.stall_timeout``. Its unfinished transfers are then cancelled in
slskd, the uploader is remembered as unreliable (not for a cancellation,
which may be the user's own), and the next-best folder from the album's last
search is queued; with none left, the album goes back to "wanted" and is
searched again by the next run. Non-audio files (cover, .cue, .log, .nfo)
never fail an album: it completes when all its audio files have.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from app import notifications
from app.clients.http import UpstreamError
from app.clients.slskd import EnqueueResult, NotConnected, PeerOffline, SlskdClient, Transfer
from app.downloads import Download, add_event, set_state
from app.pipelines import JobContext, RunResult, upstream
from app.repository import AlreadyLocked
from app.text import count_of

log = logging.getLogger("resonance.slskd-downloader")

TRANSFERS_LOCK = "slskd-transfers"  # one follower at a time: a fail-over must not happen twice
FOLLOW_LOCK_WAIT = 30.0
RUNNING_STATES = frozenset({"InProgress", "Initializing"})


# --------------------------------------------------------------------------- time helpers


def iso(epoch: float, precise: bool = False) -> str:
    """ISO-8601 UTC to the second, as everywhere in the data dir; ``precise`` keeps milliseconds (timers)."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    if precise:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# --------------------------------------------------------------------------- enqueue (shared with the downloader)


def folder_entry(user: str, folder: str, fmt: str, score: float, files: list[dict], **extra: Any) -> dict:
    """A folder as the history keeps it, ready to be queued: ``files`` = [{filename, size, audio}]."""
    return {"user": user, "folder": folder, "format": fmt, "score": round(score, 3), "files": files, **extra}


@dataclass
class EnqueueOutcome:
    accepted: bool
    reason: str | None = None
    offline: bool = False
    unconfirmed: bool = False  # slskd may have queued it; nothing else may be queued before we know


ENQUEUE_SENDS = 2  # a folder slskd surely did not queue is sent again once before the next folder


def queued_in_slskd(client: SlskdClient, user: str, files: list[dict]) -> list[Transfer]:
    """The folder's files slskd lists as queued, running or done from ``user`` (raises when it cannot tell)."""
    names = {f["filename"] for f in files}
    return [t for t in client.user_downloads(user) if t.filename in names and not t.failed]


def enqueue_folder(ctx: JobContext, client: SlskdClient, key: str, folder: dict, now: float,
                   attempt_chosen: dict | None = None) -> EnqueueOutcome:
    """Queue a folder's files in one request; on acceptance record it, then mark the entry downloaded.

    A request whose reply was lost or unreadable may have queued the files:
    slskd's transfer list decides (found: accepted, as if the reply had come;
    absent: sent again once). When even the list cannot be read, the folder
    is kept as ``unconfirmed_enqueue`` and nothing else is queued for the entry
    until the list answers (``settle_unconfirmed_enqueue``): never two albums.
    Raises ``NotConnected`` (the run should stop); other failures come back as
    an outcome so the caller can try the next folder.
    """
    files = folder["files"]
    user = folder["user"]
    refs = [(f["filename"], int(f.get("size") or 0)) for f in files]
    note = ""
    result: EnqueueResult | None = None
    failure: UpstreamError | None = None
    for sending in range(1, ENQUEUE_SENDS + 1):
        try:
            result = client.enqueue(user, refs)
            break
        except NotConnected:
            raise
        except PeerOffline as exc:
            _note(ctx, key, f"{user} is offline; enqueue refused ({exc.message})", now)
            return EnqueueOutcome(False, f"{user} is offline", offline=True)
        except UpstreamError as exc:
            failure = exc
        maybe_done = getattr(failure, "maybe_done", True)
        if maybe_done:
            try:
                found = queued_in_slskd(client, user, files)
            except NotConnected:
                raise
            except UpstreamError as check:
                text = (f"enqueue from {user}: the reply was lost ({failure.message}) and slskd's transfer list "
                        f"could not be read ({check.message}); checked again before anything else is queued")
                _keep_unconfirmed(ctx, key, folder, text, now)
                return EnqueueOutcome(False, "enqueue unconfirmed", unconfirmed=True)
            if found:
                result = EnqueueResult(tuple(found), detailed=True)
                note = "; the reply was lost, slskd's transfer list shows the files queued"
                log.info("%s: enqueue from %s: reply lost (%s), found in slskd's list", key, user, failure.message)
                break
        again = sending < ENQUEUE_SENDS and (failure.retryable or maybe_done)
        _note(ctx, key, f"enqueue from {user} failed: {failure.message}" + ("; sent again" if again else ""), now)
        if not again:
            break
    if result is None:
        return EnqueueOutcome(False, f"enqueue failed: {failure.message if failure else 'no answer'}")
    record_queued(ctx, key, folder, result, now, attempt_chosen, note)
    return EnqueueOutcome(True)


def record_queued(ctx: JobContext, key: str, folder: dict, result: EnqueueResult, now: float,
                  attempt_chosen: dict | None = None, note: str = "") -> None:
    """slskd accepted the folder: the download is recorded, then the entry marked downloaded."""
    files = folder["files"]
    by_name = {t.filename: t for t in result.enqueued}
    already = {f.filename for f in result.failed}
    recorded_files = [
        {"filename": f["filename"], "size": int(f.get("size") or 0), "audio": bool(f.get("audio", True)),
         "id": by_name[f["filename"]].id if f["filename"] in by_name else None,
         "state": by_name[f["filename"]].state if f["filename"] in by_name else "Requested", "bytes": 0}
        for f in files
    ]
    audio = sum(1 for f in recorded_files if f["audio"])
    download = {
        "user": folder["user"], "folder": folder["folder"], "format": folder.get("format"),
        "score": folder.get("score"), "queued_at": iso(now, precise=True), "state": "queued", "files": recorded_files,
        "progress": {"files_done": 0, "files_total": audio, "bytes_done": 0,
                     "bytes_total": sum(f["size"] for f in recorded_files), "speed": 0.0, "percent": 0.0},
        "last_progress_at": iso(now, precise=True), "remote_queued_since": None, "ended_at": None, "reason": None,
    }
    if already:
        note = f" ({len(already)} were already queued in slskd)" + note
    text = (f"{audio} audio files + {len(recorded_files) - audio} others from {folder['user']}: "
            f"{folder['folder']} [{(folder.get('format') or '?').upper()}, score {folder.get('score')}]{note}")

    def change(record: Download) -> None:
        record.downloads.append(download)
        record.reason = None
        record.next_retry_at = None
        record.failover_requested = False
        record.unconfirmed_enqueue = None
        record.picked = None  # one folder at a time: whatever is queued now is the album's download
        if attempt_chosen is not None and record.attempts:
            attempt = record.attempts[-1]
            attempt["chosen"] = attempt_chosen
            attempt["outcome"] = "queued"
            attempt["finished_at"] = iso(now)
        set_state(record, "queued", iso(now), text)

    ctx.repository.update_download_record(key, change, now=iso(now))
    # downloaded.json means "sent to slskd": written only now that slskd accepted the files.
    ctx.repository.mark_downloaded([key])
    log.info("%s: queued %s", key, text)


def _keep_unconfirmed(ctx: JobContext, key: str, folder: dict, text: str, now: float) -> None:
    def change(record: Download) -> None:
        record.unconfirmed_enqueue = folder
        add_event(record, text, iso(now))

    ctx.repository.update_download_record(key, change, now=iso(now))
    log.warning("%s: %s", key, text)


def settle_unconfirmed_enqueue(ctx: JobContext, client: SlskdClient, key: str, now: float) -> bool | None:
    """An entry's enqueue whose outcome is unknown, settled from slskd's transfer list.

    True: slskd has the files (recorded as queued); False: it has not (or there
    was nothing to settle), the entry may be searched; None: still unknown."""
    record = ctx.repository.download_record(key)
    folder = record.unconfirmed_enqueue if record is not None else None
    if not folder:
        return False
    try:
        found = queued_in_slskd(client, folder["user"], folder["files"])
    except NotConnected:
        raise
    except UpstreamError as exc:
        log.info("%s: the unconfirmed enqueue is still unknown: %s", key, exc)
        return None
    if found:
        record_queued(ctx, key, folder, EnqueueResult(tuple(found), detailed=True), now,
                      note="; the reply was lost, slskd's transfer list shows the files queued")
        return True

    def clear(r: Download) -> None:
        r.unconfirmed_enqueue = None
        add_event(r, f"the unconfirmed enqueue from {folder['user']} is not in slskd: not queued", iso(now))

    ctx.repository.update_download_record(key, clear, now=iso(now))
    return False


def enqueue_picked(ctx: JobContext, client: SlskdClient, key: str, now: float) -> str | None:
    """The folder chosen by hand on the Downloads page (``record.picked``), queued before any search.

    Waits while transfers of the previous folder are still to be cancelled (the
    run follows the transfers first, which cancels them): never two downloads of
    the album. A refusal continues with the fallbacks the choice left (the
    acceptable folders ranked after it). Returns "queued", "postponed" (wait for
    the next run) or None: nothing was picked, or nothing could be queued (search).
    Raises ``NotConnected``."""
    record = ctx.repository.download_record(key)
    if record is None or not record.picked:
        return None
    if record.cancel:
        log.info("%s: the chosen folder waits for the previous transfers to be cancelled", key)
        return "postponed"
    folder = record.picked

    def taken(r: Download) -> None:
        r.picked = None  # asked once: a refusal is not asked again at every run

    outcome = enqueue_folder(ctx, client, key, folder, now)
    if outcome.accepted:
        return "queued"
    ctx.repository.update_download_record(key, taken, now=iso(now))
    if outcome.unconfirmed:
        return "postponed"
    _note(ctx, key, f"the folder chosen by hand could not be queued ({outcome.reason}); trying the next one", now)
    failed_users = {folder["user"]} | {d.get("user") for d in record.downloads if d.get("state") == "failed"}
    outcome = _queue_next_fallback(ctx, client, record, failed_users, now)
    if outcome is None:
        return None
    return "queued" if outcome.accepted else "postponed"


def _note(ctx: JobContext, key: str, text: str, now: float) -> None:
    ctx.repository.update_download_record(key, lambda record: add_event(record, text, iso(now)),
                                          now=iso(now))


# --------------------------------------------------------------------------- album status


@dataclass
class AlbumStatus:
    """What the transfers say about one download."""

    files: list[dict]
    progress: dict
    completed: bool = False
    failed: str | None = None  # reason
    blame: bool = True  # the uploader is to blame (not a cancellation)
    running: bool = False
    remote_queued: bool = False
    started: bool = False


def _pick(transfers: dict[tuple[str, str], list[Transfer]], by_id: dict[str, Transfer], user: str,
          file: dict) -> Transfer | None:
    if file.get("id") and file["id"] in by_id:
        return by_id[file["id"]]
    candidates = transfers.get((user, file["filename"]))
    if not candidates:
        return None
    return max(candidates, key=lambda t: (t.requested_at or datetime.min.replace(tzinfo=timezone.utc)))


def album_status(download: dict, transfers: dict[tuple[str, str], list[Transfer]],
                 by_id: dict[str, Transfer]) -> AlbumStatus:
    user = download["user"]
    files = []
    speed = 0.0
    for old in download.get("files") or []:
        file = dict(old)
        transfer = _pick(transfers, by_id, user, file)
        if transfer is None:
            if not str(file.get("state") or "").startswith("Completed"):
                file["state"] = "Missing"
        else:
            file.update(id=transfer.id, state=transfer.state, bytes=transfer.bytes_transferred)
            if transfer.exception:
                file["exception"] = transfer.exception
            if transfer.state in RUNNING_STATES:
                speed += transfer.average_speed or 0.0
        files.append(file)
    audio = [f for f in files if f.get("audio", True)]
    succeeded = [f for f in audio if f.get("state") == "Completed, Succeeded"]
    failed = [f for f in audio if str(f.get("state") or "").startswith("Completed") and f not in succeeded]
    unfinished = [f for f in audio if not str(f.get("state") or "").startswith("Completed")]
    bytes_done = sum(int(f.get("bytes") or 0) for f in files)
    bytes_total = sum(int(f.get("size") or 0) for f in files)
    progress = {
        "files_done": len(succeeded), "files_total": len(audio), "bytes_done": bytes_done,
        "bytes_total": bytes_total, "speed": round(speed, 1),
        "percent": round(100.0 * bytes_done / bytes_total, 1) if bytes_total else 0.0,
    }
    status = AlbumStatus(files, progress)
    status.running = any(f.get("state") in RUNNING_STATES for f in unfinished)
    status.remote_queued = not status.running and any(f.get("state") == "Queued, Remotely" for f in unfinished)
    status.started = bool(succeeded) or status.running or bytes_done > 0
    if failed:
        first = failed[0]
        state = first.get("state") or ""
        detail = f" ({first['exception']})" if first.get("exception") else ""
        status.failed = (f"{len(failed)} of {len(audio)} audio files failed, e.g. "
                         f"{first['filename'].rsplit(chr(92), 1)[-1]}: {state}{detail}")
        status.blame = not all("Cancelled" in str(f.get("state")) for f in failed)
    elif audio and len(succeeded) == len(audio):
        status.completed = True
    return status


# --------------------------------------------------------------------------- following


@dataclass
class TransferReport:
    followed: int = 0
    completed: int = 0
    failed_over: int = 0
    searching_again: int = 0
    given_up: int = 0
    cancelled: int = 0
    imported: int = 0  # the import stage (app.pipelines.library_import)
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: "TransferReport") -> None:
        for name in ("followed", "completed", "failed_over", "searching_again", "given_up", "cancelled", "imported",
                     "quarantined"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def summary(self) -> str:
        parts = []
        if self.completed:
            parts.append(f"{count_of(self.completed, 'download')} completed")
        if self.imported:
            parts.append(f"{self.imported} imported into the library")
        if self.quarantined:
            parts.append(f"{self.quarantined} quarantined")
        if self.failed_over:
            parts.append(f"{self.failed_over} moved to the next folder")
        if self.searching_again:
            parts.append(f"{self.searching_again} to search again")
        if self.given_up:
            parts.append(f"{self.given_up} given up")
        active = self.followed - self.completed - self.failed_over - self.searching_again - self.given_up
        if active > 0:
            parts.append(f"{active} in progress")
        return ", ".join(parts) or "no downloads in progress"


def follow_transfers(ctx: JobContext, client: SlskdClient | None = None, *,
                     clock: Callable[[], float] = time.time) -> TransferReport:
    """Update every followed album from one read of slskd's download list."""
    report = TransferReport()
    records = ctx.repository.downloads_following()
    if not records:
        return report
    client = client or upstream.slskd(ctx.settings)
    transfers: dict[tuple[str, str], list[Transfer]] = {}
    by_id: dict[str, Transfer] = {}
    for transfer in client.downloads():
        transfers.setdefault((transfer.username, transfer.filename), []).append(transfer)
        by_id[transfer.id] = transfer
    for record in records:
        if ctx.stop_requested():
            break
        try:
            _follow_one(ctx, client, record, transfers, by_id, clock(), report)
        except NotConnected:
            raise
        except UpstreamError as exc:
            report.errors.append(f"{record.key}: {exc}")
            log.warning("%s: following the transfers failed: %s", record.key, exc)
    return report


def _cancel(client: SlskdClient, user: str, items: list[dict], by_id: dict[str, Transfer],
            transfers: dict[tuple[str, str], list[Transfer]]) -> int:
    """Cancel the unfinished transfers among ``items``; those dicts get state "Completed, Cancelled"."""
    cancelled = 0
    for item in items:
        transfer = _pick(transfers, by_id, user or item.get("user") or "", item)
        if transfer is None or transfer.is_complete:
            continue
        client.cancel_download(transfer.username, transfer.id)
        item["state"] = "Completed, Cancelled"
        cancelled += 1
    return cancelled


def _follow_one(ctx: JobContext, client: SlskdClient, record: Download, transfers, by_id, now: float,
                report: TransferReport) -> None:
    key = record.key
    repository = ctx.repository
    if record.cancel:
        for item in record.cancel:
            report.cancelled += _cancel(client, item.get("user") or "", [item], by_id, transfers)

        def cancelled(r: Download) -> None:
            r.cancel = []
        repository.update_download_record(key, cancelled, now=iso(now))
    if record.state == "removed":
        repository.forget_download(key)
        return
    if not record.active or not record.downloads:
        return
    report.followed += 1
    download = record.downloads[-1]
    status = album_status(download, transfers, by_id)
    s = ctx.settings.slskd
    failure, blame = status.failed, status.blame
    last_progress = epoch(download.get("last_progress_at")) or now
    old = download.get("progress") or {}
    moved = (status.progress["bytes_done"] > int(old.get("bytes_done") or 0)
             or status.progress["files_done"] > int(old.get("files_done") or 0))
    if moved:
        last_progress = now
    remote_since = epoch(download.get("remote_queued_since"))
    if status.remote_queued:
        # Not started yet: it has waited since it was queued, whenever we first looked.
        remote_since = remote_since or (now if status.started else epoch(download.get("queued_at")) or now)
    else:
        remote_since = None
    if failure is None and record.failover_requested:
        failure, blame = "retry asked on the Downloads page", False
    if failure is None and not status.completed:
        if status.remote_queued and not status.started and remote_since is not None \
                and now - remote_since > s.remote_queue_timeout:
            failure = f"remotely queued for more than {_duration(s.remote_queue_timeout)}"
        elif not (status.remote_queued and not status.started) and now - last_progress > s.stall_timeout:
            failure = f"no progress for more than {_duration(s.stall_timeout)}"
    if status.completed:
        _complete(ctx, key, download, status, now)
        report.completed += 1
        return
    if failure is not None:
        cancelled = _cancel(client, download["user"], status.files, by_id, transfers)
        report.cancelled += cancelled
        _fail_over(ctx, client, record, download, status, failure, blame, now, report)
        return
    state = "downloading" if status.started else "queued"
    new = {**download, "files": status.files, "progress": status.progress, "state": state,
           "last_progress_at": iso(last_progress, precise=True),
           "remote_queued_since": iso(remote_since, precise=True) if remote_since else None}

    def change(r: Download) -> Any:
        if not r.downloads or r.downloads[-1].get("queued_at") != download.get("queued_at") or not r.active:
            return False  # changed meanwhile (retry, remove, another folder chosen): leave it to the next check
        if r.downloads[-1] == new and r.state == state:
            return False
        r.downloads[-1] = new
        if r.state != state:
            set_state(r, state, iso(now), f"{status.progress['files_done']} of "
                                                   f"{status.progress['files_total']} files from {download['user']}")
    repository.update_download_record(key, change, now=iso(now))


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _complete(ctx: JobContext, key: str, download: dict, status: AlbumStatus, now: float) -> None:
    extras_failed = [f for f in status.files if not f.get("audio", True)
                     and str(f.get("state") or "").startswith("Completed") and f.get("state") != "Completed, Succeeded"]
    note = f"; {len(extras_failed)} non-audio files failed (ignored)" if extras_failed else ""

    from app.pipelines.library_import import import_on, mark_for_import

    importing = import_on(ctx)

    def change(record: Download) -> None:
        record.downloads[-1] = {**download, "files": status.files, "progress": status.progress,
                                "state": "completed", "ended_at": iso(now)}
        if importing:  # the other folders stay candidates until the import succeeds
            mark_for_import(record.downloads[-1])
        else:
            record.fallbacks = []
        record.reason = None
        record.failover_requested = False
        set_state(record, "completed", iso(now),
                           f"all {status.progress['files_total']} audio files from {download['user']}{note}")

    ctx.repository.update_download_record(key, change, now=iso(now))
    ctx.repository.note_download_user(download["user"], ok=True, now=iso(now))
    log.info("%s: download completed from %s", key, download["user"])
    notifications.album_ready(ctx, key)


def _fail_over(ctx: JobContext, client: SlskdClient, record: Download, download: dict, status: AlbumStatus,
               reason: str, blame: bool, now: float, report: TransferReport) -> None:
    key = record.key
    user = download["user"]
    log.warning("%s: download from %s failed: %s", key, user, reason)

    def failed(r: Download) -> None:
        r.downloads[-1] = {**download, "files": status.files, "progress": status.progress, "state": "failed",
                           "ended_at": iso(now), "reason": reason}
        r.reason = f"{user}: {reason}"
        r.failover_requested = False
        add_event(r, f"download from {user} failed: {reason}; its transfers were cancelled", iso(now))

    ctx.repository.update_download_record(key, failed, now=iso(now))
    if blame:
        ctx.repository.note_download_user(user, ok=False, reason=reason, now=iso(now))
    failed_users = {d.get("user") for d in record.downloads if d.get("state") in ("failed", "cancelled")}
    failed_users.add(user)
    outcome = _queue_next_fallback(ctx, client, record, failed_users, now)
    if outcome is not None and outcome.accepted:
        report.failed_over += 1
        return
    if outcome is not None:
        # Maybe queued: nothing else is, until the downloader's next run reads slskd's list.
        def wait_for_list(r: Download) -> None:
            r.next_retry_at = iso(now)
            set_state(r, "wanted", iso(now), "enqueue unconfirmed; slskd's list is read again first")

        ctx.repository.update_download_record(key, wait_for_list, now=iso(now))
        report.searching_again += 1
        return
    s = ctx.settings.slskd
    attempts = record.attempt_count

    def search_again(r: Download) -> None:
        r.fallbacks = []
        if attempts >= s.max_attempts:
            r.reason = f"gave up after {count_of(attempts, 'search', 'searches')}; last: {user}: {reason}"
            set_state(r, "failed", iso(now), r.reason)
        else:
            r.next_retry_at = iso(now)
            set_state(r, "wanted", iso(now), "no other folder from the last search; searching again")

    ctx.repository.update_download_record(key, search_again, now=iso(now))
    if attempts >= s.max_attempts:
        report.given_up += 1
        notifications.album_given_up(ctx, key, f"{user}: {reason}")
    else:
        report.searching_again += 1


def _queue_next_fallback(ctx: JobContext, client: SlskdClient, record: Download, failed_users: set,
                         now: float) -> EnqueueOutcome | None:
    """Queue the record's next fallback folder not from ``failed_users``, dropping each one tried.

    Returns the outcome that was accepted or unconfirmed (maybe queued: stop there), or None
    when no fallback could be queued."""
    for folder in list(record.fallbacks):
        _drop_fallback(ctx, record.key, folder, now)
        if folder["user"] in failed_users:
            continue
        outcome = enqueue_folder(ctx, client, record.key, folder, now)
        if outcome.accepted or outcome.unconfirmed:
            return outcome
    return None


def _drop_fallback(ctx: JobContext, key: str, folder: dict, now: float) -> None:
    def change(record: Download) -> None:
        record.fallbacks = [f for f in record.fallbacks
                               if not (f.get("user") == folder["user"] and f.get("folder") == folder["folder"]
                                       and f.get("format") == folder.get("format"))]

    ctx.repository.update_download_record(key, change, now=iso(now))


def check_transfers(ctx: JobContext, client: SlskdClient | None = None) -> RunResult:
    """The light check between runs: no request while nothing is followed; skipped while a run follows.

    Skipped too while Soulseek is disconnected: nothing moves then, and an
    outage must not count as a stalled peer.
    """
    if not ctx.repository.downloads_to_follow():
        return RunResult("no downloads to follow", skipped=True)
    client = client or upstream.slskd(ctx.settings)
    try:
        with ctx.repository.job_lock(TRANSFERS_LOCK):
            server = client.server_state()
            if not server.ready:
                return RunResult(f"Soulseek not connected ({server.state or 'Disconnected'})", skipped=True)
            report = follow_transfers(ctx, client)
    except AlreadyLocked:
        return RunResult("the transfers are being followed by another process", skipped=True)
    except UpstreamError as exc:
        log.info("transfer check skipped: %s", exc)
        return RunResult(f"{exc}", skipped=True)
    return RunResult(report.summary(), error="; ".join(report.errors) or None)


def follow_under_lock(ctx: JobContext, client: SlskdClient, wait: float = FOLLOW_LOCK_WAIT,
                      sleep: Callable[[float], None] = time.sleep) -> TransferReport:
    """``follow_transfers`` holding the transfers lock, waiting up to ``wait`` seconds for a check to end."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with ctx.repository.job_lock(TRANSFERS_LOCK):
                return follow_transfers(ctx, client)
        except AlreadyLocked:
            if time.monotonic() > deadline:
                report = TransferReport()
                report.errors.append("transfers not followed: another process held the lock")
                return report
            sleep(0.2)

