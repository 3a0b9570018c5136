"""What the Downloads page and the API can do to a download: Retry, Search again, Download this one
(pick a considered folder by hand), Remove, Run now.

Each action checks its input, changes the record through the repository (the
rules are ``app.downloads``'), asks the downloader's runner for a run so it acts
within seconds, and returns what to tell the person. A refusal is an
``app.downloads.DownloadError`` (``NotFound``, ``NotAllowedInState``,
``InvalidInput``); ``app.web.downloads.as_problem`` turns it into the page's
and the API's answer, in one place.
"""

from __future__ import annotations

from app.downloads import (
    DONE_STATES,
    Download,
    DownloadError,
    InvalidInput,
    NotAllowedInState,
    NotFound,
    ask_pick,
    ask_retry,
)
from app.records import utc_now_iso
from app.repository import Repository
from app.wishlist import WishlistEntry, normalise_name

JOB = "slskd-downloader"
#: Seconds from an approval to the downloader's run: past the Undo on screen, and each approval in a
#: row pushes it back, so approving card after card makes one run once the person pauses.
SEARCH_AFTER_APPROVAL = 30
MAX_KEY = 2000
MAX_QUERY = 300
CANDIDATE_ID_LENGTH = 12  # app.downloads.candidate_id: hex digits

__all__ = ["JOB", "MAX_KEY", "MAX_QUERY", "SEARCH_AFTER_APPROVAL", "DownloadError", "InvalidInput",
           "NotAllowedInState", "NotFound", "find", "pick", "remove", "retry", "run_now", "search_again", "search_soon"]


def search_soon(repo: Repository, settings) -> None:
    """Albums just put on the wishlist are searched within a minute, not at the downloader's next
    scheduled run (hourly by default); nothing is asked while slskd is not set up."""
    if settings.slskd.base_url:
        repo.request_run(JOB, after_seconds=SEARCH_AFTER_APPROVAL)


def find(repo: Repository, key) -> Download:
    """The download under ``key``; ``InvalidInput`` for a missing or overlong key, ``NotFound`` else."""
    if not isinstance(key, str) or not key:
        raise InvalidInput("Which download? The key is missing.", key=["Missing data for required field."])
    if len(key) > MAX_KEY:
        raise InvalidInput("That key is too long.", key=[f"Longer than maximum length {MAX_KEY}."])
    record = repo.download_record(key)
    if record is None or record.state == "removed":
        raise NotFound(f"There is no download for {key[:200]}.")
    return record


def _back_on_wishlist(repo: Repository, record: Download) -> bool:
    """Retry and Search again act through the wishlist: put the entry back if it was taken off."""
    try:
        entry = WishlistEntry.create(record.artist or "", record.title or "", record.kind or "album")
    except ValueError:
        return False
    return bool(repo.add_to_wishlist([entry]))


def retry(repo: Repository, key) -> tuple[str, Download]:
    """Retry: searched again at the next run; an active download moves on to the next candidate."""
    record = find(repo, key)
    now = utc_now_iso()
    updated = repo.change_download(key, lambda current: ask_retry(current, now), now=now)
    back = _back_on_wishlist(repo, updated)
    repo.request_run(JOB)
    if record.active:
        user = (record.current_download or {}).get("user") or "this user"
        return f"{key}: the folder from {user} is given up; the next candidate is tried within a minute.", updated
    again = " (it is back on the wishlist)" if back else ""
    return f"{key} is searched again at the next run{again}.", updated


def search_again(repo: Repository, key, query) -> tuple[str, Download]:
    """Search again with an edited query, at the next run (cancels any download of it)."""
    record = find(repo, key)
    text = normalise_name(query) if isinstance(query, str) else ""
    if not text:
        raise InvalidInput("Type what to search for.", query=["The query is empty."])
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"The query is too long (at most {MAX_QUERY} characters).",
                           query=[f"Longer than maximum length {MAX_QUERY}."])
    updated = repo.search_download_again(key, text)
    if updated is None:
        raise NotFound(f"There is no download for {key[:200]}.")
    back = _back_on_wishlist(repo, record)
    repo.request_run(JOB)
    return (f'{key} is searched as “{text}” at the next run' + (" (it is back on the wishlist)" if back else "")
            + "."), updated


def pick(repo: Repository, key, candidate) -> tuple[str, Download]:
    """"Download this one": the candidate (its id on the page) replaces the automatic choice. An active
    download's transfers are cancelled first; the chosen folder is queued at the next run, asked for now."""
    find(repo, key)
    if not isinstance(candidate, str) or not candidate:
        raise InvalidInput("Which folder? The candidate is missing.", candidate=["Missing data for required field."])
    if len(candidate) != CANDIDATE_ID_LENGTH or any(c not in "0123456789abcdef" for c in candidate):
        raise InvalidInput("That is not a candidate's id.",
                           candidate=[f"Not an id: {CANDIDATE_ID_LENGTH} lowercase hexadecimal digits."])
    now = utc_now_iso()
    chosen: dict = {}
    was_active: dict = {}

    def change(record: Download) -> None:
        was_active["user"] = (record.current_download or {}).get("user") if record.active else None
        chosen.update(ask_pick(record, candidate, now))

    updated = repo.change_download(key, change, now=now)
    back = _back_on_wishlist(repo, updated)
    repo.request_run(JOB)
    text = f"{key}: the folder from {chosen.get('user')} is queued within a minute"
    if was_active.get("user"):
        text += f", once the download from {was_active['user']} is cancelled"
    return text + (" (it is back on the wishlist)." if back else "."), updated


def remove(repo: Repository, key, keep_wishlist: bool = False) -> str:
    """Remove: its transfers are cancelled; it leaves the history and (unless ``keep_wishlist``) the wishlist."""
    record = find(repo, key)
    if not repo.remove_download(key, keep_wishlist=keep_wishlist):
        raise NotFound(f"There is no download for {key[:200]}.")
    repo.request_run(JOB)
    if record.state in DONE_STATES:
        return f"Removed {key} from the list (its files stay where slskd put them)."
    text = f"Removed {key}"
    if record.active:
        text += "; its transfers are cancelled in slskd within a minute"
    return text + ("; it stays on the wishlist." if keep_wishlist else " and took it off the wishlist.")


def run_now(repo: Repository) -> str:
    if repo.job_running(JOB):
        raise NotAllowedInState(f"{JOB} is running now; ask again when it has finished.", "running",
                                code="already_running")
    repo.request_run(JOB)
    return "The downloader runs within seconds (once its runner is started)."
