"""30-second previews of an album, fetched from Deezer and streamed by Resonance.

``GET /previews/<mbid>`` lists the album's tracks that have a preview (JSON);
``GET /previews/<mbid>/<n>.mp3`` is the audio of track n; ``/previews/wishlist/<key>``
and ``…/<n>.mp3`` do the same for a wishlist entry (entries have no MBID). The browser only
ever talks to Resonance: the CSP stays ``media-src 'self'`` and Deezer never
sees the household's address. The album's artist and title come from the
pending item or the history record of that MBID, or from the wishlist entry.

Each album's track list is kept in memory a few minutes (a play asks for it
twice: the list, then the audio); the audio is kept on disk in the
repository's preview cache, bounded by ``previews.cache_mb`` and
``previews.cache_age``. Deezer failing, or having no such album, is "No
preview", never an error page.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import time
from typing import TYPE_CHECKING

from flask import Blueprint, current_app, g, jsonify, send_file, url_for

from app.repository import StorageError
from app.repository.previews import preview_name
from app.web.context import repository, settings
from app.web.errors import Problem
from app.wishlist import ALBUM, WishlistEntry

if TYPE_CHECKING:  # the HTTP stack (requests, OpenSSL: 6 MB) loads with the first preview asked for, not with the app
    from app.clients.deezer import DeezerClient, PreviewTrack

bp = Blueprint("previews", __name__)

_MBID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TRACKS_SECONDS = 600  # how long an album's track list is kept in memory
TRACKS_KEPT = 256  # albums whose track lists are kept at most
NO_PREVIEW = "No preview"
WISHLIST_KEY_LENGTH = 20


class TrackLists:
    """Albums' preview tracks kept in memory for a few minutes, the oldest dropped beyond ``TRACKS_KEPT``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lists: dict[tuple[str, str], tuple[float, list[PreviewTrack]]] = {}

    def get(self, key: tuple[str, str]) -> list[PreviewTrack] | None:
        with self._lock:
            kept = self._lists.get(key)
            if kept is None or time.monotonic() - kept[0] > TRACKS_SECONDS:
                return None
            return kept[1]

    def put(self, key: tuple[str, str], tracks: list[PreviewTrack]) -> None:
        with self._lock:
            self._lists.pop(key, None)
            self._lists[key] = (time.monotonic(), tracks)
            while len(self._lists) > TRACKS_KEPT:
                self._lists.pop(next(iter(self._lists)))


def _client() -> DeezerClient:
    from app.clients.deezer import DeezerClient
    from app.clients.http import RetryPolicy

    options = settings().previews
    # Someone is waiting with a finger on the button: one quick retry, then "No preview".
    retry = RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=1.0, max_total_wait=2.0)
    return DeezerClient(options.deezer_url, contact=settings().general.contact or None, timeout=(3.0, 10.0),
                        retry=retry)


def _check_enabled() -> None:
    if not settings().previews.enabled:
        raise Problem(404, "Previews are turned off in the settings.")


def _album(mbid: str) -> dict:
    _check_enabled()
    if not _MBID.match(mbid):
        raise Problem(404, "No such album.")
    item = repository().album_of(mbid.lower())
    if item is None or not item.get("artist") or not item.get("album"):
        raise Problem(404, "No such album in the queue or the history.")
    return item


def wishlist_key(entry: WishlistEntry) -> str:
    """A wishlist entry's name in preview URLs: entries have no MBID, and their text may hold anything."""
    return hashlib.sha1("\x1f".join(entry.key).encode("utf-8")).hexdigest()[:WISHLIST_KEY_LENGTH]


def _wishlist_album(key: str) -> dict:
    _check_enabled()
    entry = next((e for e in repository().wishlist_entries() if e.kind == ALBUM and wishlist_key(e) == key), None)
    if entry is None:
        raise Problem(404, "No such album on the wishlist.")
    return {"artist": entry.artist, "album": entry.title}


def _tracks(ident: str, item: dict) -> list[PreviewTrack]:
    """The album's tracks with a preview; raises UpstreamError when Deezer cannot be asked."""
    lists: TrackLists = current_app.extensions["preview_tracks"]
    key = (settings().previews.deezer_url, ident)
    tracks = lists.get(key)
    if tracks is None:
        tracks = _client().album_previews(item["artist"], item["album"])
        lists.put(key, tracks)
    return tracks


def _track_list(ident: str, item: dict, track_url) -> dict:
    from app.clients.http import UpstreamError

    try:
        tracks = _tracks(ident, item)
        message = "" if tracks else NO_PREVIEW
    except UpstreamError as exc:
        current_app.logger.warning("previews of %s: %s", ident, exc)
        tracks, message = [], f"{NO_PREVIEW}: Deezer did not answer"
    return {
        "artist": item["artist"],
        "album": item["album"],
        "tracks": [{"number": number, "title": track.title, "duration": track.duration, "url": track_url(number)}
                   for number, track in enumerate(tracks, start=1)],
        "message": message,
    }


def _audio(ident: str, item: dict, number: int):
    from app.clients.http import UpstreamError

    options = settings().previews
    cache = repository().preview_cache
    if not 1 <= number <= 999:
        raise Problem(404, NO_PREVIEW)
    name = preview_name(ident, number)
    body = cache.fresh(name, options.cache_age)
    if body is None:
        try:
            tracks = _tracks(ident, item)
            if not 1 <= number <= len(tracks):
                raise Problem(404, NO_PREVIEW)
            body = _client().preview_audio(tracks[number - 1].preview_url)
        except UpstreamError as exc:
            current_app.logger.warning("preview %s of %s: %s", number, ident, exc)
            raise Problem(404, f"{NO_PREVIEW}: Deezer did not answer") from None
        try:
            cache.put(name, body, max_bytes=options.cache_mb * 1024 * 1024, max_age=options.cache_age)
        except StorageError as exc:  # a full or read-only disk: play it anyway, uncached
            current_app.logger.warning("preview cache: %s", exc.reason)
    # Range requests answered (206): a browser's audio element asks for parts.
    response = send_file(io.BytesIO(body), mimetype="audio/mpeg", conditional=True, etag=False, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/previews/<mbid>")
def album(mbid: str):
    mbid = mbid.lower()
    answer = _track_list(mbid, _album(mbid), lambda n: url_for("previews.audio", mbid=mbid, number=n))
    return jsonify({"mbid": mbid, **answer})


@bp.get("/previews/<mbid>/<int:number>.mp3")
def audio(mbid: str, number: int):
    return _audio(mbid.lower(), _album(mbid), number)


@bp.get("/previews/wishlist/<key>")
def wishlist_album(key: str):
    answer = _track_list(f"wishlist-{key}", _wishlist_album(key),
                         lambda n: url_for("previews.wishlist_audio", key=key, number=n))
    return jsonify(answer)


@bp.get("/previews/wishlist/<key>/<int:number>.mp3")
def wishlist_audio(key: str, number: int):
    return _audio(f"wishlist-{key}", _wishlist_album(key), number)


def init_app(app) -> None:
    app.extensions["preview_tracks"] = TrackLists()

    @app.context_processor
    def previews_context():
        current = g.get("settings")
        return {"previews_on": bool(current and current.previews.enabled), "wishlist_preview_url": wishlist_preview_url}


def wishlist_preview_url(entry: WishlistEntry) -> str | None:
    """Where a wishlist row's play button asks for its previews; None for a single track."""
    return url_for("previews.wishlist_album", key=wishlist_key(entry)) if entry.kind == ALBUM else None
