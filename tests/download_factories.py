"""Records of download_history.json for the Downloads page tests, shaped as the downloader writes them."""

from __future__ import annotations

from app.downloads import Download
from app.wishlist import WishlistEntry

NOW = "2026-01-11T10:00:00Z"


def make_candidate(user: str = "nordicfan", folder: str = "@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]",
                   score: float = 0.95, accepted: bool = True, **overrides) -> dict:
    candidate = {
        "user": user, "folder": folder, "format": "flac", "files": 8, "extras": 1, "size": 402112000,
        "score": score, "accepted": accepted, "free_slot": True, "speed": 2457600, "queue": 0,
        "factors": {"completeness": 1.0, "title": 1.0, "quality": 1.0},
        "reasons": ["completeness: all 8 tracks with matching lengths", "title: album named; artist named"],
    }
    candidate.update(overrides)
    return candidate


def make_attempt(*candidates: dict, number: int = 1, outcome: str = "queued", **overrides) -> dict:
    attempt = {
        "number": number, "started_at": NOW, "finished_at": NOW, "previous_state": "wanted",
        "queries": [{"text": "Sigur Rós ( )", "state": "Completed, TimedOut", "responses": 4, "files": 41}],
        "candidates": list(candidates), "considered": len(candidates),
        "best_score": candidates[0]["score"] if candidates else None, "outcome": outcome, "reason": None,
        "chosen": None,
    }
    attempt.update(overrides)
    return attempt


def make_download(user: str = "nordicfan", folder: str = "@@kfmzq\\Music\\Sigur Rós\\2002 - ( ) [FLAC]",
                  files_done: int = 3, files_total: int = 8, state: str = "downloading", **overrides) -> dict:
    files = [{"filename": f"{folder}\\{n:02d} - Untitled #{n}.flac", "size": 50_000_000, "audio": True,
              "id": f"id-{n}", "bytes": 50_000_000 if n <= files_done else 0,
              "state": "Completed, Succeeded" if n <= files_done else "Queued, Remotely"}
             for n in range(1, files_total + 1)]
    download = {
        "user": user, "folder": folder, "format": "flac", "score": 0.95, "queued_at": NOW, "state": state,
        "ended_at": None, "reason": None, "files": files,
        "progress": {"files_done": files_done, "files_total": files_total, "bytes_done": files_done * 50_000_000,
                     "bytes_total": files_total * 50_000_000, "speed": 1_250_000.0,
                     "percent": round(100.0 * files_done / files_total, 1) if files_total else 0.0},
        "last_progress_at": NOW, "remote_queued_since": None,
    }
    download.update(overrides)
    return download


STATE_DEFAULTS = {
    "searching": lambda: {"attempts": [make_attempt(outcome=None)]},
    "queued": lambda: {"attempt_count": 1, "attempts": [make_attempt(make_candidate())],
                       "downloads": [make_download(files_done=0, state="queued")]},
    "downloading": lambda: {"attempt_count": 1, "attempts": [make_attempt(make_candidate())],
                            "downloads": [make_download()]},
    "completed": lambda: {"attempt_count": 1, "attempts": [make_attempt(make_candidate())],
                          "downloads": [make_download(files_done=8, state="completed", ended_at=NOW)]},
    "failed": lambda: {"attempt_count": 6, "reason": "gave up after 6 searches; no acceptable result",
                       "attempts": [make_attempt(make_candidate("lowq", "G:\\mp3\\Sigur Rós - ( )", 0.23, False,
                                                                reasons=["quality: MP3, 128 kbps is below the "
                                                                         "minimum of 192"]),
                                                 number=6, outcome="no_result")]},
    "no_result": lambda: {"attempt_count": 1, "next_retry_at": "2099-01-01T00:00:00Z",
                          "reason": "no acceptable result: the best folder scored 0.45 (minimum 0.60)",
                          "attempts": [make_attempt(make_candidate("liveboot", "Sigur Rós - Live", 0.45, False,
                                                                   reasons=["title: looks like another release: "
                                                                            "live"]),
                                                    outcome="no_result")]},
    "wanted": lambda: {},
}


def seed_download(repository, artist: str = "Sigur Rós", title: str = "( )", state: str = "downloading",
                  on_wishlist: bool = True, kind: str = "album", updated_at: str | None = None,
                  **fields) -> Download:
    """A record in ``state`` (with what that state has: downloads, attempts, reason), saved; returns it."""
    entry = WishlistEntry.create(artist, title, kind)
    if on_wishlist:
        repository.add_to_wishlist([entry])
    if state in ("queued", "downloading", "completed"):
        repository.mark_downloaded([entry.text])

    def change(record: Download) -> None:
        for name, value in {"state": state, "state_since": NOW, **STATE_DEFAULTS[state](), **fields}.items():
            if hasattr(record, name) and name != "extra":
                setattr(record, name, value)
            else:
                record.extra[name] = value  # a field this version does not know
        record.events.append({"time": NOW, "text": f"{state}: made by a test"})

    return repository.update_download_record(entry.text, change, entry=entry, now=updated_at)
