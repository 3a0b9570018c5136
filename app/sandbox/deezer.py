"""Fake Deezer public API, and the CDN its previews come from, on one port.

``/search/album?q=artist:"…" album:"…"`` → albums of the catalogue whose
artist credit and title contain the quoted words; ``/album/{id}/tracks`` →
the front release's tracks, each with a ``preview`` URL on this port;
``/preview/{id}/{n}.mp3`` → a short real MP3 (a 3-second 440 Hz tone, made
once with LAME and shipped as data/preview-tone.mp3). Errors come as Deezer
sends them: HTTP 200 with ``{"error": {"type", "message", "code"}}``.

Tests take albums off Deezer (``state.missing.add(rg_id)``) or their previews
away (``state.no_previews.add(rg_id)``: every track's ``preview`` is "").
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from flask import Flask, Response, request

from app.sandbox.catalogue import Catalogue, ReleaseGroup, credit_text, fold, stable_int
from app.sandbox.core import SandboxSettings, SharedApp, catalogue_proxy, current_state, json_body

TONE_FILE = Path(__file__).with_name("data") / "preview-tone.mp3"
_TERM = re.compile(r'(artist|album):"([^"]*)"')


class DeezerState:
    def __init__(self, catalogue: Catalogue, settings: SandboxSettings, clock: Any) -> None:
        self.catalogue = catalogue
        self.settings = settings
        self.clock = clock
        self.missing: set[str] = set()  # release group ids Deezer does not have
        self.no_previews: set[str] = set()  # release group ids whose tracks have no preview

    def album_id(self, group: ReleaseGroup) -> int:
        return 100_000 + stable_int("deezer", group.id, modulo=900_000_000)

    def group_by_album_id(self, album_id: int) -> ReleaseGroup | None:
        # Small catalogues: a scan is fine and keeps the state free of an index to keep in step.
        return next((g for g in self.catalogue.release_groups.values()
                     if self.album_id(g) == album_id and g.id not in self.missing), None)


def create_app(state: DeezerState) -> Callable:
    """The WSGI app of this service, answering from ``state``."""
    return _APP.bind(state)


@lru_cache(maxsize=1)
def tone_mp3() -> bytes:
    return TONE_FILE.read_bytes()


def _error(kind: str, message: str, code: int) -> Response:
    return Response(json_body({"error": {"type": kind, "message": message, "code": code}}),
                    mimetype="application/json")


def _build_app() -> Flask:
    app = Flask(__name__)
    cat: Catalogue = catalogue_proxy()

    def state() -> DeezerState:
        return current_state()

    def artist_json(group: ReleaseGroup) -> dict[str, Any]:
        name = credit_text(group.credit)
        artist_id = stable_int("deezer-artist", name, modulo=10_000_000)
        return {"id": artist_id, "name": name, "link": f"https://www.deezer.com/artist/{artist_id}",
                "picture": f"https://api.deezer.com/artist/{artist_id}/image", "type": "artist"}

    def album_json(group: ReleaseGroup) -> dict[str, Any]:
        album_id = state().album_id(group)
        release = cat.front_release(group)
        return {
            "id": album_id, "title": group.title, "link": f"https://www.deezer.com/album/{album_id}",
            "cover": f"https://api.deezer.com/album/{album_id}/image",
            "genre_id": 0, "nb_tracks": release.track_count if release else 0,
            "record_type": (group.primary_type or "album").lower(),
            "tracklist": f"https://api.deezer.com/album/{album_id}/tracks",
            "explicit_lyrics": False, "artist": artist_json(group), "type": "album",
        }

    @app.errorhandler(404)
    def not_found(_error: Any) -> Response:
        return _error("DataException", "no data", 800)

    @app.get("/search/album")
    def search_album() -> Response:
        query = request.args.get("q", "")
        if not query.strip():
            return _error("MissingParameterException", "Missing parameters: q", 501)
        terms = {field: fold(words) for field, words in _TERM.findall(query)}
        if not terms:  # a free-text query: every word anywhere
            terms = {"any": fold(query)}
        limit = max(1, min(100, int(request.args.get("limit", 25) or 25)))
        found = []
        for group in cat.release_groups.values():
            if group.id in state().missing:
                continue
            artist, title = fold(credit_text(group.credit)), fold(group.title)
            if "artist" in terms and terms["artist"] not in artist:
                continue
            if "album" in terms and terms["album"] not in title:
                continue
            if "any" in terms and not all(word in f"{artist} {title}" for word in terms["any"].split()):
                continue
            found.append(album_json(group))
        return Response(json_body({"data": found[:limit], "total": len(found)}), mimetype="application/json")

    @app.get("/album/<int:album_id>/tracks")
    def album_tracks(album_id: int) -> Response:
        group = state().group_by_album_id(album_id)
        release = cat.front_release(group) if group else None
        if group is None or release is None:
            return _error("DataException", "no data", 800)
        rows = []
        for index, (medium, track) in enumerate(release.tracks(), start=1):
            preview = "" if group.id in state().no_previews else \
                f"http://{request.host}/preview/{album_id}/{index}.mp3"
            track_id = stable_int("deezer-track", track.id, modulo=3_000_000_000)
            rows.append({
                "id": track_id, "readable": True, "title": track.title, "title_short": track.title,
                "title_version": "", "isrc": "", "link": f"https://www.deezer.com/track/{track_id}",
                "duration": (track.length or 0) // 1000, "track_position": track.position,
                "disk_number": medium.position, "rank": 0, "explicit_lyrics": False,
                "preview": preview, "md5_image": "", "artist": artist_json(group), "type": "track",
            })
        return Response(json_body({"data": rows, "total": len(rows)}), mimetype="application/json")

    @app.get("/preview/<int:album_id>/<int:number>.mp3")
    def preview(album_id: int, number: int) -> Response:
        if state().group_by_album_id(album_id) is None:
            return Response("Not Found\n", status=404, mimetype="text/plain")
        return Response(tone_mp3(), mimetype="audio/mpeg", headers={"Cache-Control": "max-age=3600"})

    return app


_APP = SharedApp(_build_app)
