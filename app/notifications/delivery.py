"""Sending: quiet hours, at most once, through Apprise, every delivery recorded.

A message goes out at most once (see app/repository/notifications.py): it is
written to ``sending`` before the first attempt and recorded as delivered or
failed after the last. A delivery is not tried again: a reply that timed out
may hide a message that arrived, and a second copy is worse than a failure
shown on the Jobs page. Each attempt is bounded by notifications.timeout to
connect and again to be answered.

Quiet hours (notifications.quiet_hours, the household's time zone: the
server's, set by TZ) hold messages in the data dir; the first delivery after
they end, or a runner's look between runs, sends them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

from app.config import parse_quiet_hours
from app.masking import mask_notification_url, mask_notification_urls_in
from app.notifications.targets import Target, target_named, targets
from app.records import utc_iso
from app.text import count_of

log = logging.getLogger("resonance.notifications")

#: A keyed message (a service rejecting the credentials) is not repeated sooner than this.
REPEAT_AFTER = timedelta(hours=24)
#: A message taken for sending this long ago, and still not recorded, lost its sender.
STALE_AFTER = timedelta(minutes=15)


def in_quiet_hours(quiet_hours: str, now: datetime) -> bool:
    """Whether ``now`` falls in "HH:MM-HH:MM" (a span may run past midnight), in local time."""
    span = parse_quiet_hours(quiet_hours)
    if span is None:
        return False
    local = now.astimezone()
    minute = local.hour * 60 + local.minute
    start, end = span
    if start == end:
        return False
    return start <= minute < end if start < end else minute >= start or minute < end


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _with_timeouts(url: str, seconds: int) -> str:
    """The URL with Apprise's connect and read timeouts, unless it sets its own."""
    query = url.partition("?")[2]
    keys = {part.partition("=")[0].lower() for part in query.split("&") if part}
    extra = "&".join(f"{key}={seconds}" for key in ("cto", "rto") if key not in keys)
    if not extra:
        return url
    return f"{url}{'&' if query else '?' if '?' not in url else ''}{extra}"


class _AppriseLines(logging.Filter):
    """While one delivery runs: Apprise's log lines of this thread with the URL's secrets masked
    (a topic, a token), whatever the process's own log masks, and its warnings kept, since
    Apprise says why a delivery failed only in its log."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.thread = threading.get_ident()
        self.warnings: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread == self.thread:
            record.msg, record.args = mask_notification_urls_in(record.getMessage(), [self.url]), None
            if record.levelno >= logging.WARNING:
                self.warnings.append(record.msg)
        return True


def send_one(url: str, title: str, body: str, timeout: int) -> str | None:
    """Send one message to one Apprise URL: None when it was accepted, else why not."""
    import apprise  # loaded only when a message goes out

    asset = apprise.AppriseAsset(storage_mode=apprise.PersistentStoreMode.MEMORY)
    # The plugin itself, not an Apprise object: it sends in this thread, so its log lines
    # (where Apprise says why a delivery failed) are this delivery's.
    sender = apprise.Apprise.instantiate(_with_timeouts(url, timeout), asset=asset)
    if sender is None:
        return "Apprise does not know this URL (check its scheme and form)"
    lines = _AppriseLines(url)
    apprise_log = logging.getLogger("apprise")
    apprise_log.addFilter(lines)
    try:
        accepted = sender.notify(title=title, body=body)
    except Exception as exc:  # noqa: BLE001  (a plugin's own failure is this delivery's failure)
        return f"{type(exc).__name__}: {exc}"
    finally:
        apprise_log.removeFilter(lines)
    if accepted:
        return None
    return " ".join(lines.warnings[-2:]) or "the service did not accept the message"


@dataclass(frozen=True)
class Outcome:
    """One delivery, as shown: the URL masked, the error (masked) or None."""

    target: str
    url: str
    error: str | None


def _send_message(message: dict, target: Target, timeout: int, now: datetime,
                  send: Callable[[str, str, str, int], str | None]) -> Iterator[tuple[Outcome, dict]]:
    for url in target.urls:
        error = send(url, message["title"], message["body"], timeout)
        shown = mask_notification_url(url)
        if error:
            error = mask_notification_urls_in(error, [url])
            log.warning("notification %r to %s failed: %s", message["title"], shown, error)
        else:
            log.info("notification %r sent to %s", message["title"], shown)
        record = {"at": utc_iso(now), "target": target.id, "url": shown, "ok": error is None,
                  "event": message["event"], "title": message["title"], "error": error}
        yield Outcome(target.id, shown, error), record


def deliver(repository, settings, messages: list[dict], now: datetime | None = None,
            send: Callable[[str, str, str, int], str | None] = send_one) -> list[Outcome]:
    """Send ``messages`` (and any held ones) now, or hold them all through the quiet hours."""
    now = _now(now)
    if in_quiet_hours(settings.notifications.quiet_hours, now):
        if messages:
            kept = repository.hold_notifications(messages, now, REPEAT_AFTER)
            log.info("%s held until the quiet hours (%s) end", count_of(len(kept), "notification"),
                     settings.notifications.quiet_hours)
        return []
    repository.abandon_stale_notifications(now - STALE_AFTER - timedelta(seconds=4 * settings.notifications.timeout),
                                           now)
    if not messages and not repository.held_notifications():
        return []
    claimed = repository.claim_notifications(messages, now, REPEAT_AFTER, with_held=True)
    if not claimed:
        return []
    by_id = {target.id: target for target in targets(settings)}
    outcomes, records = [], []
    try:
        for message in claimed:
            target = by_id.get(message["target"])
            if target is None:  # a member who has left since the message was held
                continue
            for outcome, record in _send_message(message, target, settings.notifications.timeout, now, send):
                outcomes.append(outcome)
                records.append(record)
    finally:
        repository.finish_notifications([m["id"] for m in claimed], records)
    return outcomes


def release_held(repository, load_settings: Callable[[], object], now: datetime | None = None) -> list[Outcome]:
    """For a runner between runs: send the held messages once the quiet hours are over."""
    if not repository.held_notifications():
        return []  # the common case: one stat of notifications.json
    settings = load_settings()
    if in_quiet_hours(settings.notifications.quiet_hours, _now(now)):
        return []
    return deliver(repository, settings, [], now=now)


def send_test(repository, settings, target_id: str, now: datetime | None = None,
              send: Callable[[str, str, str, int], str | None] = send_one) -> list[Outcome] | None:
    """A test message to every URL of one target, now (quiet hours and events do not apply);
    None when there is no such target."""
    target = target_named(settings, target_id)
    if target is None:
        return None
    now = _now(now)
    message = {"id": "test", "event": "test", "target": target.id, "title": "Resonance test notification",
               "body": f"This is a test from Resonance's settings page, sent to {target.label}."}
    outcomes, records = [], []
    for outcome, record in _send_message(message, target, settings.notifications.timeout, now, send):
        outcomes.append(outcome)
        records.append(record)
    repository.finish_notifications([], records)
    return outcomes


def last_failure(repository) -> dict | None:
    """The newest delivery that failed among those kept (None when none did)."""
    deliveries = repository.notification_deliveries()
    for record in reversed(deliveries):
        if not record.get("ok"):
            return record
    return None
