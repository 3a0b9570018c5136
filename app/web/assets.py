"""Static files from memory, gzip for text responses, and cache-busting asset URLs.

The static files are few and small: each is read once per process, gzipped
once, and sent from memory with an ETag. Pages link them as
``/static/css/app.css?v=<hash>``, so a browser may keep them for a year and a
changed file gets a new URL. Dynamic text responses (pages, partials, JSON) are
gzipped on the way out when the client accepts it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, abort, request, url_for
from werkzeug.security import safe_join

COMPRESSIBLE = frozenset({
    "text/html", "text/css", "text/plain", "text/javascript", "application/javascript",
    "application/json", "application/manifest+json", "image/svg+xml",
})
MIN_COMPRESS = 600  # bytes; below this gzip saves nothing worth the CPU
YEAR = 365 * 86400


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None
    mimetype: str
    etag: str
    mtime_ns: int


class StaticFiles:
    def __init__(self, folder: Path):
        self.folder = folder
        self._files: dict[str, StaticFile] = {}
        self._lock = threading.Lock()

    def get(self, filename: str) -> StaticFile | None:
        path_text = safe_join(str(self.folder), filename)
        if path_text is None:
            return None
        path = Path(path_text)
        try:
            mtime_ns = path.stat().st_mtime_ns
        except OSError:
            return None
        cached = self._files.get(filename)
        if cached and cached.mtime_ns == mtime_ns:
            return cached
        if not path.is_file():
            return None
        body = path.read_bytes()
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        gzipped = gzip.compress(body, 9, mtime=0) if mimetype in COMPRESSIBLE and len(body) >= MIN_COMPRESS else None
        entry = StaticFile(body, gzipped, mimetype, hashlib.sha256(body).hexdigest()[:16], mtime_ns)
        with self._lock:
            self._files[filename] = entry
        return entry


def accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def init_app(app: Flask) -> None:
    files = StaticFiles(Path(app.static_folder))
    app.extensions["static_files"] = files
    # Flask's own static route is replaced by one that serves from memory.
    app.view_functions["static"] = lambda filename: serve_static(files, filename)

    def asset(filename: str) -> str:
        entry = files.get(filename)
        return url_for("static", filename=filename, v=entry.etag[:10] if entry else None)

    app.jinja_env.globals["asset"] = asset

    @app.get("/manifest.webmanifest")
    def manifest() -> Response:
        """static/manifest.webmanifest with the icons at their versioned URLs: the same URLs
        the pages link, so a browser fetches each icon once and caches it for good."""
        entry = files.get("manifest.webmanifest")
        if entry is None:
            abort(404)
        document = json.loads(entry.body)
        for icon in document.get("icons", []):
            icon["src"] = asset(icon["src"].removeprefix("/static/"))
        response = Response(json.dumps(document, indent=2), mimetype="application/manifest+json")
        response.headers["Cache-Control"] = "no-cache"  # names the icons' current versions
        return response

    @app.after_request
    def compress(response: Response) -> Response:
        if response.mimetype in COMPRESSIBLE:
            response.vary.add("Accept-Encoding")
        if (
            request.endpoint == "static"
            or response.status_code < 200 or response.status_code in (204, 304) or response.status_code >= 600
            or response.mimetype not in COMPRESSIBLE
            or response.direct_passthrough or response.is_streamed
            or "Content-Encoding" in response.headers
            or not accepts_gzip()
        ):
            return response
        body = response.get_data()
        if len(body) < MIN_COMPRESS:
            return response
        response.set_data(gzip.compress(body, 6, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
        return response


def serve_static(files: StaticFiles, filename: str) -> Response:
    if "\x00" in filename:  # no file has one; the file system would refuse the name with ValueError
        abort(400, "Not a file name: it holds a NUL byte.")
    entry = files.get(filename)
    if entry is None:
        abort(404)
    use_gzip = entry.gzipped is not None and accepts_gzip()
    etag = entry.etag + ("-gz" if use_gzip else "")
    response = Response(mimetype=entry.mimetype)
    response.set_etag(etag)
    if request.args.get("v"):
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    if entry.gzipped is not None:
        response.vary.add("Accept-Encoding")
    if etag in request.if_none_match:
        response.status_code = 304
        return response
    if use_gzip:
        response.set_data(entry.gzipped)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response.set_data(entry.body)
    return response
