"""The import stage of slskd-downloader: completed downloads go to the household's library.

With ``library.mode: import``, a download that completes is marked for import
(``downloads[-1]["import"] = "pending"``; downloads completed before import was
switched on are left alone). Each run of the downloader, after following the
transfers and before searching, imports the marked ones (``app.importer``):

    completed → verifying → importing → in_library
    verifying | importing → quarantined → the next candidate folder from another peer (queued, as
    the failover of ``app.pipelines.transfers`` does); with none left it stays quarantined,
    on the wishlist, until Retry searches again

A quarantine is the uploader's fault: the peer is trusted less. A MusicBrainz
outage leaves the download in ``verifying`` (tried again next run); an album
filed but not yet shown by the Subsonic server stays ``importing`` and is looked
for again next run. One import at a time across processes (a job lock).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from app import notifications
from app.clients.http import UpstreamError
from app.downloads import Download, DownloadError, add_event, into_library, quarantine, set_state, start_importing, start_verifying
from app.pipelines import JobContext, RunResult, upstream
from app.pipelines.transfers import (
    TRANSFERS_LOCK,
    TransferReport,
    _drop_fallback,
    check_transfers,
    enqueue_folder,
    iso,
)
from app.repository import AlreadyLocked

log = logging.getLogger(__name__)

IMPORT_LOCK = "library-import"
PENDING = "pending"
#: How long a failover waits for a transfer check holding the transfers lock.
LOCK_WAIT = 30.0


def import_on(ctx: JobContext) -> bool:
    return ctx.settings.library.mode == "import"


def mark_for_import(download: dict) -> None:
    """Called as a download completes (``transfers._complete``) while import is on."""
    download["import"] = PENDING


def waiting_for_import(record: Download) -> bool:
    current = record.current_download or {}
    return (record.state == "completed" and current.get("import") == PENDING) or record.state in ("verifying",
                                                                                                 "importing")


def interrupted(record: Download) -> bool:
    """Importing but not yet filed: the process importing it stopped (the import lock rules out another)."""
    return record.state == "importing" and not record.library_path


def build_importer(ctx: JobContext, progress: Callable[[str], None], planned=None):
    from app.clients.acoustid import AcoustIdClient
    from app.clients.coverart import fetch_release_front
    from app.clients.http import HttpClient
    from app.importer import Importer, ImportServices, ImportSettings
    from app.importer.filing import Owner

    settings = ctx.settings
    lib = settings.library
    art = HttpClient("coverart", contact=settings.general.contact or None)

    def learn(edition) -> None:
        ctx.repository.add_library_album(
            artist=edition.artist, artist_mbid=edition.artist_mbids[0] if edition.artist_mbids else None,
            album=edition.title, release_mbid=edition.mbid, release_group_mbid=edition.release_group_mbid)

    services = ImportServices(
        musicbrainz=upstream.musicbrainz(settings, ctx.repository),
        subsonic=upstream.subsonic(settings) if settings.subsonic.base_url else None,
        acoustid=AcoustIdClient(lib.acoustid_key, lib.acoustid_url) if lib.acoustid_key else None,
        cover=lambda mbid: fetch_release_front(art, settings.coverart.base_url, mbid),
        learn_album=learn, owner=Owner.from_env())
    return Importer(ImportSettings.from_settings(settings), services, progress, planned)


def just_completed(record: Download) -> bool:
    return record.state == "completed" and (record.current_download or {}).get("import") == PENDING


def import_completed(ctx: JobContext, client, clock: Callable[[], float] = time.time, *,
                     new_only: bool = False) -> TransferReport:
    """Import every download waiting for it (``new_only``: those just completed, not the ones waiting
    for MusicBrainz or the server); the report counts failovers like ``follow_transfers``."""
    report = TransferReport()
    if not import_on(ctx):
        return report
    waiting = [r for r in ctx.repository.download_records(("completed", "verifying", "importing"))
               if (just_completed(r) if new_only else waiting_for_import(r))]
    if not waiting:
        return report
    if not ctx.settings.library.downloads_dir or not ctx.settings.library.library_dir:
        report.errors.append("library.mode is import, but library.downloads_dir or library.library_dir is not set")
        return report
    try:
        with ctx.repository.job_lock(IMPORT_LOCK):
            for record in waiting:
                if ctx.stop_requested():
                    break
                try:
                    _import_one(ctx, client, record, clock, report)
                except (DownloadError, UpstreamError) as exc:  # changed meanwhile, or slskd down for a failover
                    report.errors.append(f"{record.key}: import: {exc}")
                    log.warning("%s: import: %s", record.key, exc)
    except AlreadyLocked:
        report.errors.append("another process is importing")
    return report


def check_transfers_and_import(ctx: JobContext) -> RunResult:
    """The runner's check between runs: transfers followed, then any album that just completed imported
    (so an album is in the library minutes after its last file, not at the next hourly run)."""
    result = check_transfers(ctx)
    if not import_on(ctx) or not any(just_completed(r) for r in ctx.repository.download_records(("completed",))):
        return result
    report = import_completed(ctx, None, new_only=True)
    parts = [p for p in (None if result.skipped else result.summary, report.summary()) if p]
    errors = [e for e in (result.error, "; ".join(report.errors) or None) if e]
    return RunResult("; ".join(parts), error="; ".join(errors) or None)


def _import_one(ctx: JobContext, client, record: Download, clock, report: TransferReport) -> None:
    from app.importer import IMPORTING, IN_LIBRARY, QUARANTINED, ImportJob

    key = record.key
    repository = ctx.repository
    download = dict(record.current_download or {})
    if interrupted(record):
        record = _resume(ctx, record, clock)
        if record.state != "completed":
            return
        download = dict(record.current_download or {})
    if record.state == "importing":
        _look_again(ctx, record, clock)
        return
    group = (record.album or {}).get("release_group")
    if not group:
        def unverifiable(r: Download) -> None:
            r.current_download["import"] = "skipped"
            r.import_note = "not imported: MusicBrainz does not know this album, so there is nothing to verify against"
            add_event(r, r.import_note, iso(clock()))
        repository.update_download_record(key, unverifiable, now=iso(clock()))
        return

    def progress(state: str) -> None:
        def change(r: Download) -> Any:
            if state == "verifying":
                if r.state == "verifying":  # tried again after an upstream outage
                    return False
                start_verifying(r, iso(clock()), f"checking the files from {download.get('user')}")
            else:
                start_importing(r, iso(clock()), f"tagging and filing into {ctx.settings.library.library_dir}")
        repository.update_download_record(key, change, now=iso(clock()))

    files = [f["filename"] for f in download.get("files") or [] if f.get("state") == "Completed, Succeeded"]
    job = ImportJob(group, record.artist, (record.album or {}).get("title") or record.title,
                    download.get("user") or "", tuple(files),
                    next_step=_next_step(record))
    def planned(moves) -> None:
        def keep(r: Download) -> None:
            r.current_download["filing"] = {"mode": ctx.settings.library.transfer,
                                            "moves": [[str(a), str(b)] for a, b in moves]}
        repository.update_download_record(key, keep, now=iso(clock()))

    outcome = build_importer(ctx, progress, planned).run(job)
    now = iso(clock())
    if outcome.state == QUARANTINED:
        report.quarantined += 1
        _quarantined(ctx, client, record, download, outcome, clock, report)
        return

    def change(r: Download) -> None:
        if outcome.state == IN_LIBRARY:
            r.fallbacks = []
            r.current_download["import"] = "done"
            into_library(r, now, outcome.library_path, outcome.library_url or None, outcome.note)
        elif outcome.state == IMPORTING:  # filed; the server does not show it yet
            r.current_download["imported_release"] = outcome.release_mbid
            r.library_path = outcome.library_path
            r.import_note = outcome.note
            add_event(r, f"importing: {outcome.note}", now)
        else:  # an upstream was down: tried again next run
            r.import_note = outcome.note
            add_event(r, f"verifying: {outcome.note}", now)
    repository.update_download_record(key, change, now=now)
    if outcome.state == IN_LIBRARY:
        report.imported += 1
        notifications.album_ready(ctx, key, imported=True)
    log.info("%s: import %s: %s", key, outcome.state, outcome.note)


def _resume(ctx: JobContext, record: Download, clock) -> Download:
    """An import cut off while tagging or filing: a filing that had finished goes on to the rescan; one cut
    off half-way is undone (every file back where slskd put it) and the album is imported again."""
    from pathlib import Path

    from app.importer.filing import resume_interrupted

    filing = (record.current_download or {}).get("filing") or {}
    moves = [(Path(a), Path(b)) for a, b in filing.get("moves") or []]
    finished = bool(moves) and resume_interrupted(moves, filing.get("mode") or "move",
                                                  Path(ctx.settings.library.library_dir))
    now = iso(clock())

    def change(r: Download) -> None:
        r.current_download.pop("filing", None)
        if finished:
            r.library_path = str(moves[0][1].parent)
            add_event(r, "importing: the filing cut off by a stop had finished; the server is asked next", now)
        else:
            r.current_download["import"] = PENDING
            set_state(r, "completed", now, "the import was cut off by a stop; anything filed was taken back, "
                      "and it is imported again")
    log.warning("%s: an import cut off by a stop is %s", record.key, "finished" if finished else "started again")
    saved = ctx.repository.update_download_record(record.key, change, now=now)
    return saved if saved is not None else record


def _next_step(record: Download) -> str:
    others = [f for f in record.fallbacks if f.get("user") != (record.current_download or {}).get("user")]
    if others:
        return f"the next candidate folder, from {others[0].get('user')}, is queued"
    return "no other candidate folder: the download stays quarantined, on the wishlist, until Retry searches again"


def _quarantined(ctx: JobContext, client, record: Download, download: dict, outcome, clock,
                 report: TransferReport) -> None:
    """Quarantined: the peer is trusted less and the next candidate folder from another peer is queued (the
    failover of a failed transfer). With none left the download stays quarantined, on the wishlist, until a
    Retry searches again."""
    key = record.key
    user = download.get("user") or ""
    now = iso(clock())
    reason = f"import: {outcome.reason}"

    def change(r: Download) -> None:
        r.downloads[-1] = {**download, "state": "quarantined", "ended_at": now, "reason": reason}
        r.reason = f"{user}: {reason}"
        quarantine(r, now, f"{user}: {outcome.reason}", outcome.failed_track or None, outcome.note)
        r.import_reason = outcome.reason
    ctx.repository.update_download_record(key, change, now=now)
    ctx.repository.note_download_user(user, ok=False, reason=reason, now=now)
    client = client or upstream.slskd(ctx.settings)
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            with ctx.repository.job_lock(TRANSFERS_LOCK):  # one failover at a time, as for transfers
                next_step = _next_folder(ctx, client, key, clock, report)
            break
        except AlreadyLocked:
            if time.monotonic() > deadline:
                next_step = "the next candidate folder is queued at the next run"
                break
            time.sleep(0.2)
    held = f"files in {outcome.quarantine_path}"

    def note(r: Download) -> None:
        r.import_note = f"{next_step} ({held})"
    ctx.repository.update_download_record(key, note, now=iso(clock()))


def _next_folder(ctx: JobContext, client, key: str, clock, report: TransferReport) -> str:
    record = ctx.repository.download_record(key)
    if record is None or record.state != "quarantined":
        return "nothing: the download was changed meanwhile"
    tried = {d.get("user") for d in record.downloads if d.get("state") in ("failed", "cancelled", "quarantined")}
    for folder in list(record.fallbacks):
        _drop_fallback(ctx, key, folder, clock())
        if folder["user"] in tried:
            continue
        outcome = enqueue_folder(ctx, client, key, folder, clock())
        if outcome.accepted:
            report.failed_over += 1
            return f"queued the next candidate folder, from {folder['user']}"
        if outcome.unconfirmed:
            def wait_for_list(r: Download) -> None:
                r.next_retry_at = iso(clock())
                set_state(r, "wanted", iso(clock()), "enqueue unconfirmed; slskd's list is read again first")
            ctx.repository.update_download_record(key, wait_for_list, now=iso(clock()))
            return f"asked slskd for the folder from {folder['user']} (not confirmed yet)"
    return "no other candidate folder is left; Retry searches again"


def _look_again(ctx: JobContext, record: Download, clock) -> None:
    """An album filed earlier that the server did not show: ask for a scan again and look for it."""
    from app.clients.http import UpstreamError
    from app.importer.rescan import navidrome_link, rescan_and_find

    if not ctx.settings.subsonic.base_url or not record.album:
        return
    release = (record.current_download or {}).get("imported_release") or record.album.get("release") or ""
    try:
        found = rescan_and_find(upstream.subsonic(ctx.settings), release_mbid=release,
                                album=record.album.get("title") or record.title, artist=record.artist,
                                timeout=ctx.settings.library.scan_timeout)
    except UpstreamError as exc:
        log.info("%s: the Subsonic server could not be asked: %s", record.key, exc)
        return
    if found.album is None:
        return
    now = iso(clock())
    album_id = found.album.id

    def change(r: Download) -> None:
        r.fallbacks = []
        (r.current_download or {})["import"] = "done"
        into_library(r, now, r.library_path or "", navidrome_link(ctx.settings.subsonic.base_url, album_id),
                     found.note)
    ctx.repository.update_download_record(record.key, change, now=now)
    log.info("%s: now in the library", record.key)
    notifications.album_ready(ctx, record.key, imported=True)
