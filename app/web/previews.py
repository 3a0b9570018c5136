"""30-second previews of an album, fetched from Deezer and streamed by Resonance.

``GET /previews/<mbid>`` lists the album's tracks that have a preview (JSON);
``GET /previews/<mbid>/<n>.mp3`` is the audio of track n. The browser only
ever talks to Resonance: the CSP stays ``media-src 'self'`` and Deezer never
sees the household's address. The album's artist and title come from the
pending item or the history record of that MBID.

Each album's track list is kept in memory a few minutes (a play asks for it
twice: the list, then the audio); the audio is kept on disk in the
repository's preview cache, bounded by ``previews.cache_mb`` and
``previews.cache_age``. Deezer failing, or having no such album, is "No
preview", never an error page.
"""

from __future__ import annotations

import io
import re
import threading
import time

from flask import Blueprint, current_app, g, jsonify, send_file, url_for

from app.clients.deezer import DeezerClient, PreviewTrack
from app.clients.http import RetryPolicy, UpstreamError
from app.repository import StorageError
from app.repository.previews import preview_name
from app.web.context import repository, settings
from app.web.errors import Problem

bp = Blueprint("previews", __name__)

_MBID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TRACKS_SECONDS = 600  # how long an album's track list is kept in memory
TRACKS_KEPT = 256  # albums whose track lists are kept at most
NO_PREVIEW = "No preview"
# Someone is waiting with a finger on the button: one quick retry, then "No preview".
PREVIEW_RETRY = RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=1.0, max_total_wait=2.0)


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
    options = settings().previews
    return DeezerClient(options.deezer_url, contact=settings().general.contact or None, timeout=(3.0, 10.0),
                        retry=PREVIEW_RETRY)


def _album(mbid: str) -> dict:
    if not settings().previews.enabled:
        raise Problem(404, "Previews are turned off in the settings.")
    if not _MBID.match(mbid):
        raise Problem(404, "No such album.")
    item = repository().album_of(mbid.lower())
    if item is None or not item.get("artist") or not item.get("album"):
        raise Problem(404, "No such album in the queue or the history.")
    return item


def _tracks(mbid: str, item: dict) -> list[PreviewTrack]:
    """The album's tracks with a preview; raises UpstreamError when Deezer cannot be asked."""
    lists: TrackLists = current_app.extensions["preview_tracks"]
    key = (settings().previews.deezer_url, mbid)
    tracks = lists.get(key)
    if tracks is None:
        tracks = _client().album_previews(item["artist"], item["album"])
        lists.put(key, tracks)
    return tracks


@bp.get("/previews/<mbid>")
def album(mbid: str):
    item = _album(mbid)
    try:
        tracks = _tracks(mbid, item)
        message = "" if tracks else NO_PREVIEW
    except UpstreamError as exc:
        current_app.logger.warning("previews of %s: %s", mbid, exc)
        tracks, message = [], f"{NO_PREVIEW}: Deezer did not answer"
    return jsonify({
        "mbid": mbid.lower(),
        "artist": item["artist"],
        "album": item["album"],
        "tracks": [{"number": number, "title": track.title, "duration": track.duration,
                    "url": url_for("previews.audio", mbid=mbid.lower(), number=number)}
                   for number, track in enumerate(tracks, start=1)],
        "message": message,
    })


@bp.get("/previews/<mbid>/<int:number>.mp3")
def audio(mbid: str, number: int):
    item = _album(mbid)
    options = settings().previews
    cache = repository().preview_cache
    name = preview_name(mbid, number)
    body = cache.fresh(name, options.cache_age)
    if body is None:
        try:
            tracks = _tracks(mbid, item)
            if not 1 <= number <= len(tracks):
                raise Problem(404, NO_PREVIEW)
            body = _client().preview_audio(tracks[number - 1].preview_url)
        except UpstreamError as exc:
            current_app.logger.warning("preview %s of %s: %s", number, mbid, exc)
            raise Problem(404, f"{NO_PREVIEW}: Deezer did not answer") from None
        try:
            cache.put(name, body, max_bytes=options.cache_mb * 1024 * 1024, max_age=options.cache_age)
        except StorageError as exc:  # a full or read-only disk: play it anyway, uncached
            current_app.logger.warning("preview cache: %s", exc.reason)
    # Range requests answered (206): a browser's audio element asks for parts.
    response = send_file(io.BytesIO(body), mimetype="audio/mpeg", conditional=True, etag=False, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def init_app(app) -> None:
    app.extensions["preview_tracks"] = TrackLists()

    @app.context_processor
    def previews_context():
        current = g.get("settings")
        return {"previews_on": bool(current and current.previews.enabled)}
