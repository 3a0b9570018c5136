"""How records read on a page: labels, reasons, research links, times.

Everything here returns plain text or URLs; the templates escape it (Jinja's
autoescape), so names from outside never reach the page as markup.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

from flask import Flask

from app.household import names_text
from app.learning import REJECT_REASONS, reason_words
from app.text import count_of, every_text

SOURCE_LABELS = {"listenbrainz": "ListenBrainz", "catalog": "Similar artists", "new release": "New release",
                 "missing": "Missing album", "manual": "Added by hand"}


def source_label(source: str | None) -> str:
    return SOURCE_LABELS.get(source or "manual", (source or "manual").replace("_", " ").capitalize())


def why(item: dict, household: bool = False) -> str:
    """Why an album is in the queue, in a few words; in a household, whose listening it came from
    ("from Alice and Bob's listening: Go Do") rather than "your"."""
    members = names_text(item.get("for_members") or ()) if household else ""
    for_members = f", for {members}" if members else ""
    similar = [name for name in item.get("similar_to") or [] if name]
    if similar:
        shown = ", ".join(similar[:3]) + (f" and {len(similar) - 3} more" if len(similar) > 3 else "")
        return f"similar to {shown}{for_members}"
    if item.get("source_track"):
        whose = f"{members}'s" if members else "your"
        return f"from {whose} listening: {item['source_track']}"
    if item.get("release_date") and item.get("source") == "new release":
        return new_release_reason(item["artist"], item["release_date"]) + for_members
    if isinstance(item.get("library_gap"), dict):
        return library_gap_reason(item["artist"], item["library_gap"]) + for_members
    if item.get("source") == "listenbrainz":
        return f"recommended to {members} by ListenBrainz" if members else "recommended by ListenBrainz"
    return source_label(item.get("source")).lower() + for_members


def new_release_reason(artist: str, release_date: str, today: str | None = None) -> str:
    """"new album by Radiohead, out 2026-11-14"; "out on …" while the date is still ahead."""
    today = today or datetime.now(timezone.utc).date().isoformat()
    ahead = release_date > today[: len(release_date)]
    return f"new album by {artist}, out {'on ' if ahead else ''}{release_date}"


def library_gap_reason(artist: str, gap: dict) -> str:
    """"you have 3 of 9 Radiohead albums; this one is their most played"."""
    text = f"you have {gap.get('owned')} of {gap.get('total')} {artist} albums"
    rank = gap.get("rank")
    if rank == 1:
        return text + "; this one is their most played"
    if isinstance(rank, int) and rank > 1:
        return text + f"; this one is their {ordinal(rank)} most played"
    return text


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def score_text(score) -> str:
    if score is None:
        return ""
    value = float(score)
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def cover_url(item: dict) -> str | None:
    """The cover's address, only if it is plain http(s)."""
    url = item.get("cover_url")
    if isinstance(url, str) and url.startswith(("https://", "http://")) and not any(c in url for c in " \"'<>\\"):
        return url
    return None


def musicbrainz_url(item: dict) -> str:
    kind = "recording" if item.get("type") == "track" else "release-group"
    return f"https://musicbrainz.org/{kind}/{quote(item.get('mbid', ''), safe='')}"


def listenbrainz_url(item: dict) -> str:
    if item.get("type") == "track":
        return f"https://listenbrainz.org/search/?search_term={quote(item.get('artist', ''), safe='')}&search_type=artist"
    return f"https://listenbrainz.org/album/{quote(item.get('mbid', ''), safe='')}/"


def parse_time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def ago(value, now: datetime | None = None) -> str:
    """'3 min ago', 'in 2 h', '5 d ago': short, for a phone."""
    when = parse_time(value)
    if when is None:
        return "never" if not value else str(value)
    seconds = ((now or datetime.now(timezone.utc)) - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            text = f"{int(seconds // size)} {unit}"
            break
    else:
        return "just now" if not future else "in a moment"
    return f"in {text}" if future else f"{text} ago"


def duration_text(seconds) -> str:
    """Seconds as the shortest duration text the settings accept back ("6h", "1h30m", "90s")."""
    seconds = int(seconds)
    if seconds <= 0:
        return str(seconds)
    parts = []
    for size, unit in ((604800, "w"), (86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def local_time(value, now: datetime | None = None) -> str:
    """A moment in the household's time zone (the server's, set by TZ), with the zone:
    "14:05:09 CET" today, "6 Dec 14:05 CET" before."""
    when = parse_time(value)
    if when is None:
        return ""
    local = when.astimezone()  # the process's zone: TZ, as the container is given it
    today = (now or datetime.now(timezone.utc)).astimezone().date()
    return local.strftime("%H:%M:%S %Z" if local.date() == today else f"{local.day} %b %H:%M %Z")


# slskd's transfer states ("Completed, Succeeded") as people say them.
TRANSFER_STATE_WORDS = {
    "Requested": "asked for", "Queued, Remotely": "in the uploader's queue", "Queued, Locally": "queued",
    "Queued": "queued", "Initializing": "starting", "InProgress": "downloading",
    "Completed, Succeeded": "done", "Completed, Cancelled": "cancelled", "Completed, TimedOut": "timed out",
    "Completed, Errored": "failed", "Completed, Rejected": "refused by the uploader",
    "Completed, Aborted": "stopped", "Completed": "done", "Succeeded": "done",
}


def transfer_state(state) -> str:
    if not state:
        return "asked for"
    return TRANSFER_STATE_WORDS.get(str(state), str(state).replace("Completed, ", "").lower())


def sentence(text) -> str:
    """A job summary ("nothing to search") as a sentence, for text that goes on after it."""
    text = (text or "").strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def decision_text(verb: str, by, at, now: datetime | None = None) -> str:
    """ "Approved by Alice, 3 Dec 14:02 CET" (the day and minute in the household's zone, named);
    without a name (decided before households), "approved 5 d ago"."""
    when = parse_time(at)
    if not by:
        return f"{verb.lower()} {ago(at, now)}" if at else ""
    if when is None:
        return f"{verb} by {by}"
    local = when.astimezone()
    return f"{verb} by {by}, {local.day} {local.strftime('%b %H:%M %Z')}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        source_label=source_label, why=why, score=score_text, ago=ago, duration=duration_text, sentence=sentence,
        count=count_of, local_time=local_time, every=every_text, transfer_state=transfer_state,
        reason=reason_words,
    )
    app.jinja_env.globals.update(decision_text=decision_text)
    app.jinja_env.globals.update(cover_url=cover_url, musicbrainz_url=musicbrainz_url, listenbrainz_url=listenbrainz_url,
                                 reject_reasons=REJECT_REASONS)
