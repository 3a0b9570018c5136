"""Notifications: what a run noticed, told to the household and its members through Apprise.

A pipeline notes what happened as it happens, one line at each place
(``suggestions_waiting``, ``album_ready``, ``album_given_up``); the job runner
sends what its run noted once the run is over (``send_run_notices``), with a
job failing several runs in a row and an upstream rejecting Resonance's
credentials (``listening_for_rejected_credentials``). So a run makes one digest
per member, never one message per album, and a delivery that fails or hangs
never fails the run that caused it.

    messages.py   notices -> one message per target (household, each member)
    targets.py    who gets what: the household's URLs and each member's
    delivery.py   quiet hours, at-most-once sending through Apprise, the record of deliveries

Nothing here imports Apprise: it is loaded when a message goes out.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator

log = logging.getLogger("resonance.notifications")


@dataclass(frozen=True)
class Notice:
    """One thing a run noticed that someone may want to hear about.

    ``event`` is one of config.NOTIFICATION_EVENTS; ``subject`` what it is about ("Artist – Album",
    a job, a service); ``detail`` the reason or error; ``for_members`` whose album it is (empty:
    everyone's); ``key`` when set, the same notice is not repeated within a day.
    """

    event: str
    subject: str
    detail: str = ""
    for_members: tuple[str, ...] = ()
    key: str | None = None


def _notices(ctx: Any) -> list[Notice] | None:
    return getattr(ctx, "notices", None)


def _album_name(record: Any) -> str:
    """"Artist – Album" of a queue record, a download record, or a wishlist key ("Artist - Album")."""
    if isinstance(record, str):
        return record
    get = record.get if isinstance(record, dict) else lambda key, default=None: getattr(record, key, default)
    album = get("album")
    if isinstance(album, dict):  # a download record's matched release group
        album = album.get("title")
    artist, album = get("artist") or "", album or get("title") or ""
    return f"{artist} – {album}" if artist and album else artist or album or "an album"


def _members_of(record: Any) -> tuple[str, ...]:
    if isinstance(record, str):
        return ()
    get = record.get if isinstance(record, dict) else lambda key, default=None: getattr(record, key, default)
    return tuple(get("for_members") or ())


def suggestions_waiting(ctx: Any, records: Iterable[Any]) -> None:
    """New queue items of this run (records or Suggestions): one digest per member when the run ends."""
    notices = _notices(ctx)
    if notices is not None:
        notices.extend(Notice("new_suggestions", _album_name(r), for_members=_members_of(r)) for r in records)


def album_ready(ctx: Any, record: Any, imported: bool = False) -> None:
    """An album in the library (``imported``), or downloaded: said only while the import is off,
    since with it on the album is told of once it is in the library."""
    notices = _notices(ctx)
    importing = getattr(getattr(ctx, "settings", None), "values", {}).get("library.mode", "off") == "import"
    if notices is not None and (imported or not importing):
        notices.append(Notice("album_ready", _album_name(record), "in the library" if imported else "downloaded",
                              _members_of(record)))


def album_given_up(ctx: Any, record: Any, reason: str) -> None:
    notices = _notices(ctx)
    if notices is not None:
        notices.append(Notice("album_given_up", _album_name(record), reason, _members_of(record)))


@contextlib.contextmanager
def listening_for_rejected_credentials(ctx: Any) -> Iterator[None]:
    """While the block runs, an upstream answering 401/403 (or its own "wrong key") is noted."""
    from app.clients import http

    notices = _notices(ctx)

    def heard(error: http.AuthError) -> None:
        if notices is not None:
            notices.append(Notice("credentials_rejected", error.service, error.message,
                                  key=f"credentials_rejected:{error.service}"))

    http.credentials_rejected_listeners.append(heard)
    try:
        yield
    finally:
        http.credentials_rejected_listeners.remove(heard)


def send_run_notices(ctx: Any, *, failed_in_a_row: int | None = None, error: str | None = None,
                     now: datetime | None = None) -> None:
    """Send what the run noted (and a job failing ``failed_in_a_row`` times, when that reaches the
    setting). Never raises: a notification problem is logged and recorded, the run stays as it was."""
    notices = list(_notices(ctx) or ())
    try:
        settings = ctx.settings
        if failed_in_a_row and failed_in_a_row == settings.notifications.failing_runs:
            notices.append(Notice("job_failing", ctx.job, error or ""))
        if not notices and not ctx.repository.held_notifications():
            return
        from app.notifications import delivery, messages

        delivery.deliver(ctx.repository, settings, messages.build(notices, settings, failed_in_a_row), now=now)
    except Exception:  # noqa: BLE001  (a notification must never fail the job that caused it)
        log.exception("notifications of %s not sent", getattr(ctx, "job", "a run"))
    finally:
        if _notices(ctx) is not None:
            ctx.notices.clear()
