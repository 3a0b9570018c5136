"""Fake Cover Art Archive plus the "archive.org" it redirects to, on one port.

``/release-group/{mbid}/front-250`` → 307 to a scheme-relative
``//host/download/mbid-{release}/…_thumb250.jpg`` → 302 to
``/storage/…`` → a small generated PNG. Albums without art give 404 text."""

from __future__ import annotations

import re
import struct
import zlib
from functools import lru_cache
from typing import Any, Callable

from flask import Flask, Response, request

from app.sandbox.catalogue import Catalogue, Release, stable_int
from app.sandbox.core import SandboxSettings, SharedApp, catalogue_proxy, json_body

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
THUMB_SIZES = {"250": 250, "500": 500, "1200": 1200}
ORIGINAL_SIZE = 1400


class CoverArtState:
    def __init__(self, catalogue: Catalogue, settings: SandboxSettings, clock: Any) -> None:
        self.catalogue = catalogue
        self.settings = settings
        self.clock = clock


def create_app(state: CoverArtState) -> Callable:
    """The WSGI app of this service, answering from ``state``."""
    return _APP.bind(state)


def _build_app() -> Flask:
    app = Flask(__name__)
    cat: Catalogue = catalogue_proxy()

    def text(body: str, status: int) -> Response:
        return Response(body + "\n", status=status, mimetype="text/plain")

    @app.after_request
    def open_cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @app.errorhandler(404)
    def not_found(_error: Any) -> Response:
        return text("Not Found", 404)

    # ------------------------------------------------------------------ coverartarchive.org

    @app.get("/release-group/<mbid>/<kind>")
    def release_group_image(mbid: str, kind: str) -> Response:
        if not _UUID.match(mbid):
            return text("invalid MBID specified", 400)
        size = _front_size(kind)
        if size is None:
            return text(f"{kind} not supported for release groups.", 400)
        group = cat.release_groups.get(mbid.lower())
        release = cat.front_release(group) if group else None
        if release is None:
            return text(f"No cover art found for release group {mbid}", 404)
        return _redirect_to_image(release, size)

    @app.get("/release-group/<mbid>")
    def release_group_listing(mbid: str) -> Response:
        if not _UUID.match(mbid):
            return text("invalid MBID specified", 400)
        group = cat.release_groups.get(mbid.lower())
        release = cat.front_release(group) if group else None
        if release is None:
            return text(f"No cover art found for release group {mbid}", 404)
        return _redirect(f"//{request.host}/download/mbid-{release.id}/index.json", 307)

    @app.get("/release/<mbid>/<kind>")
    def release_image(mbid: str, kind: str) -> Response:
        if not _UUID.match(mbid):
            return text("invalid MBID specified", 400)
        release = cat.releases.get(mbid.lower())
        if release is None or not release.cover:
            return text(f"No cover art found for release {mbid}", 404)
        size = _front_size(kind)
        if size is None:
            by_id = re.fullmatch(r"(\d+)(?:-(250|500|1200))?\.jpg", kind)
            if by_id and int(by_id.group(1)) == cat.caa_image_id(release):
                size = by_id.group(2) or ""
            elif kind.startswith("back") or by_id:
                return text(f"No cover art found for release {mbid}", 404)
            else:
                return text(f"{kind} is not a valid image request.", 400)
        return _redirect_to_image(release, size)

    @app.get("/release/<mbid>")
    def release_listing(mbid: str) -> Response:
        if not _UUID.match(mbid):
            return text("invalid MBID specified", 400)
        release = cat.releases.get(mbid.lower())
        if release is None or not release.cover:
            return text(f"No cover art found for release {mbid}", 404)
        return _redirect(f"//{request.host}/download/mbid-{release.id}/index.json", 307)

    def _redirect_to_image(release: Release, size: str) -> Response:
        image_id = cat.caa_image_id(release)
        suffix = f"_thumb{size}" if size else ""
        return _redirect(f"//{request.host}/download/mbid-{release.id}/mbid-{release.id}-{image_id}{suffix}.jpg", 307)

    # ------------------------------------------------------------------ archive.org

    @app.get("/download/<item>/<filename>")
    def archive_download(item: str, filename: str) -> Response:
        # archive.org hands each file over to a storage node with one more redirect.
        return _redirect(f"/storage/ia800{stable_int(item, modulo=900) + 100}/items/{item}/{filename}", 302)

    @app.get("/storage/<node>/items/<item>/<filename>")
    def archive_file(node: str, item: str, filename: str) -> Response:
        release = cat.releases.get(item.removeprefix("mbid-"))
        if release is None or not release.cover:
            return text("Item not found", 404)
        if filename == "index.json":
            return Response(json_body(_listing(release)), mimetype="application/json")
        match = re.fullmatch(rf"mbid-{release.id}-(\d+)(?:_thumb(250|500|1200))?\.jpg", filename)
        if not match or int(match.group(1)) != cat.caa_image_id(release):
            return text("File not found", 404)
        size = int(match.group(2)) if match.group(2) else ORIGINAL_SIZE
        body = cover_png(release.id, size)
        return Response(body, mimetype="image/png", headers={"Cache-Control": "max-age=86400"})

    def _listing(release: Release) -> dict[str, Any]:
        image_id = cat.caa_image_id(release)
        base = f"http://{request.host}/release/{release.id}/{image_id}"
        return {
            "images": [{
                "id": image_id, "types": ["Front"], "front": True, "back": False, "approved": True, "comment": "",
                "edit": 10_000_000 + stable_int("edit", release.id, modulo=90_000_000),
                "image": f"{base}.jpg",
                "thumbnails": {"250": f"{base}-250.jpg", "500": f"{base}-500.jpg", "1200": f"{base}-1200.jpg",
                               "small": f"{base}-250.jpg", "large": f"{base}-500.jpg"},
            }],
            "release": f"https://musicbrainz.org/release/{release.id}",
        }

    return app


def _front_size(kind: str) -> str | None:
    """"front" → "" (original), "front-250" → "250"; other sizes are served as the original."""
    if kind == "front":
        return ""
    match = re.fullmatch(r"front-(\d+)", kind)
    if not match:
        return None
    return match.group(1) if match.group(1) in THUMB_SIZES else ""


def _redirect(location: str, status: int) -> Response:
    response = Response("See: " + location + "\n", status=status, mimetype="text/plain")
    # Set the raw header so werkzeug does not turn the scheme-relative URL into an absolute one.
    response.headers["Location"] = location
    response.autocorrect_location_header = False
    return response


@lru_cache(maxsize=256)
def cover_png(seed: str, size: int) -> bytes:
    """A square PNG in two colours picked from ``seed`` (a background and a band)."""
    background = _colour(seed, "bg")
    band = _colour(seed, "band")
    margin = size // 8
    plain_row = b"\x00" + bytes(background) * size
    band_row = b"\x00" + bytes(background) * margin + bytes(band) * (size - 2 * margin) + bytes(background) * margin
    rows = []
    for y in range(size):
        rows.append(band_row if size // 3 <= y < 2 * size // 3 else plain_row)
    raw = b"".join(rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _colour(seed: str, salt: str) -> tuple[int, int, int]:
    value = stable_int("colour", salt, seed, modulo=2**24)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


_APP = SharedApp(_build_app)
