"""Notices -> messages: one per event and target, so a run of forty albums is one message each.

Who hears what: the household's URLs get everything; a member gets the
suggestions and albums that are theirs (or everyone's, when an item names no
member), and, as an admin, failing jobs and rejected credentials.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from app.notifications import Notice
from app.notifications.targets import Target, targets

#: Albums named in one message; the rest are counted.
LISTED = 8
#: The services' own names, for people (the clients name them in lower case).
SERVICE_NAMES = {"listenbrainz": "ListenBrainz", "musicbrainz": "MusicBrainz", "lastfm": "Last.fm",
                 "subsonic": "Subsonic", "slskd": "slskd", "deezer": "Deezer", "coverart": "Cover Art Archive"}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _listed(lines: list[str]) -> str:
    shown = lines[:LISTED]
    more = len(lines) - len(shown)
    return "\n".join(shown + ([f"…and {more} more"] if more > 0 else []))


def link(settings, path: str) -> str:
    base = (settings.notifications.base_url or "").rstrip("/")
    return f"{base}{path}" if base else ""


def _for(target: Target, notice: Notice) -> bool:
    if target.member is None:
        return True
    if notice.event in ("job_failing", "credentials_rejected"):
        return target.admin
    return not notice.for_members or target.member in notice.for_members


def _message(event: str, target: Target, title: str, body: str, key: str | None = None) -> dict:
    message = {"id": uuid.uuid4().hex, "event": event, "target": target.id, "title": title, "body": body}
    if key:
        message["key"] = f"{key}:{target.id}"
    return message


def _suggestions(target: Target, notices: list[Notice], settings) -> dict:
    who = f" for {target.member}" if target.member else ""
    title = f"{_plural(len(notices), 'new suggestion')} waiting{who}"
    queue = link(settings, f"/?for={quote(target.member)}" if target.member else "/")
    body = _listed([n.subject for n in notices]) + (f"\n\nReview them: {queue}" if queue else "")
    return _message("new_suggestions", target, title, body)


def _albums_ready(target: Target, notices: list[Notice], settings) -> dict:
    in_library = all(n.detail == "in the library" for n in notices)
    where = "in your library" if in_library else "downloaded"
    title = f"{_plural(len(notices), 'album')} {where}"
    downloads = link(settings, "/downloads")
    body = _listed([n.subject for n in notices]) + (f"\n\n{downloads}" if downloads else "")
    return _message("album_ready", target, title, body)


def _given_up(target: Target, notices: list[Notice], settings) -> dict:
    title = f"{_plural(len(notices), 'album')} given up"
    downloads = link(settings, "/downloads")
    body = _listed([f"{n.subject}: {n.detail}" for n in notices]) + (f"\n\n{downloads}" if downloads else "")
    return _message("album_given_up", target, title, body)


def _job_failing(target: Target, notice: Notice, settings, failed_in_a_row: int | None) -> dict:
    runs = failed_in_a_row or settings.notifications.failing_runs
    jobs = link(settings, "/jobs")
    body = (f"Last error: {notice.detail}" if notice.detail else "") + (f"\n\n{jobs}" if jobs else "")
    title = f"{notice.subject} failed {_plural(runs, 'run')} in a row" if runs > 1 else f"{notice.subject} failed"
    return _message("job_failing", target, title, body.strip())


def _rejected(target: Target, notice: Notice, settings) -> dict:
    page = link(settings, "/settings")
    body = notice.detail + (f"\n\nCheck the settings: {page}" if page else "")
    service = SERVICE_NAMES.get(notice.subject, notice.subject)
    return _message("credentials_rejected", target, f"{service} rejected Resonance's credentials",
                    body.strip(), key=notice.key)


def build(notices: list[Notice], settings, failed_in_a_row: int | None = None) -> list[dict]:
    """The messages for ``notices``: one per event and target (one per service for rejected
    credentials), events switched off in notifications.events left out."""
    wanted = set(settings.notifications.events)
    notices = [n for n in notices if n.event in wanted]
    messages: list[dict] = []
    for target in targets(settings):
        if not target.urls:
            continue
        mine = [n for n in notices if _for(target, n)]
        by_event: dict[str, list[Notice]] = {}
        for notice in mine:
            by_event.setdefault(notice.event, []).append(notice)
        if by_event.get("new_suggestions"):
            messages.append(_suggestions(target, by_event["new_suggestions"], settings))
        if by_event.get("album_ready"):
            messages.append(_albums_ready(target, by_event["album_ready"], settings))
        if by_event.get("album_given_up"):
            messages.append(_given_up(target, by_event["album_given_up"], settings))
        for notice in by_event.get("job_failing", []):
            messages.append(_job_failing(target, notice, settings, failed_in_a_row))
        services = {}
        for notice in by_event.get("credentials_rejected", []):
            services.setdefault(notice.subject, notice)  # the first answer of each service says it
        messages += [_rejected(target, notice, settings) for notice in services.values()]
    return messages
