"""Fake Last.fm API 2.0 (``/2.0/``): ``artist.getSimilar`` and ``artist.getInfo``.

Errors follow Last.fm's habits: a JSON ``{"error": n, "message": …}`` body,
HTTP 200 for "artist not found" (6), 403 for a bad or suspended key (10/26),
error 29 above ~5 requests/s. Without ``format=json`` the answer is XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Callable
from urllib.parse import quote_plus

from flask import Flask, Response, request

from app.sandbox.catalogue import Catalogue, LastfmArtist
from app.sandbox.core import (
    LeakyBucket,
    SandboxSettings,
    SharedApp,
    catalogue_proxy,
    client_ip,
    json_body,
    state_proxy,
)

MESSAGES = {
    3: "Invalid Method - No method with that name in this package",
    6: "The artist you supplied could not be found",
    10: "Invalid API key - You must be granted a valid key by last.fm",
    26: "Suspended API key - Access for your account has been suspended, please contact Last.fm",
    29: "Rate Limit Exceeded - Your IP has made too many requests in a short period",
}
HTTP_STATUS = {3: 400, 6: 200, 10: 403, 26: 403, 29: 429}
MISSING_ARTIST = "Invalid parameters - Your request is missing a required parameter"
STAR = "2a96cbd8b46e442fc41c2b86b821562f.png"
IMAGE_SIZES = (("34s", "small"), ("64s", "medium"), ("174s", "large"), ("300x300", "extralarge"),
               ("300x300", "mega"), ("300x300", ""))
DEFAULT_LIMIT = 100
XML_ATTRIBUTES = {"size", "rel", "href"}  # JSON keys that are XML attributes in Last.fm's XML


class LastfmState:
    def __init__(self, catalogue: Catalogue, settings: SandboxSettings, clock: Any) -> None:
        self.catalogue = catalogue
        self.settings = settings
        self.clock = clock
        self.bucket = LeakyBucket(clock)


class LastfmError(Exception):
    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or MESSAGES[code])
        self.code, self.message = code, message or MESSAGES[code]


def create_app(state: LastfmState) -> Callable:
    """The WSGI app of this service, answering from ``state``."""
    return _APP.bind(state)


def _build_app() -> Flask:
    app = Flask(__name__)
    state: LastfmState = state_proxy()  # the serving sandbox's state, looked up per request
    cat: Catalogue = catalogue_proxy()

    def respond(payload: dict[str, Any], status: int = 200) -> Response:
        if request.values.get("format", "").lower() == "json":
            return Response(json_body(payload), status=status, mimetype="application/json")
        return Response(_as_xml(payload), status=status, mimetype="text/xml")

    @app.errorhandler(LastfmError)
    def lastfm_error(error: LastfmError) -> Response:
        return respond({"error": error.code, "message": error.message, "links": []}, HTTP_STATUS.get(error.code, 400))

    @app.route("/2.0/", methods=["GET", "POST"])
    def api() -> Response:
        if not state.bucket.allow(client_ip(request), state.settings.lastfm_rate, state.settings.lastfm_burst):
            raise LastfmError(29)
        api_key = request.values.get("api_key", "")
        if api_key in cat.lastfm_suspended_keys:
            raise LastfmError(26)
        if api_key not in cat.lastfm_api_keys:
            raise LastfmError(10)
        method = request.values.get("method", "").strip().lower()
        if method == "artist.getsimilar":
            return respond(_similar(_find_artist()))
        if method == "artist.getinfo":
            return respond(_info(_find_artist()))
        raise LastfmError(3)

    def _find_artist() -> LastfmArtist:
        mbid = request.values.get("mbid", "").strip()
        name = request.values.get("artist", "").strip()
        if mbid:  # by MBID only, even when a name is also given
            found = cat.lastfm_by_mbid(mbid)
        elif name:
            found = cat.lastfm_by_name(name, autocorrect=request.values.get("autocorrect") == "1")
        else:
            raise LastfmError(6, MISSING_ARTIST)
        if found is None:
            raise LastfmError(6)
        return found

    def _similar(artist: LastfmArtist) -> dict[str, Any]:
        limit = _limit()
        rows = sorted(artist.similar, key=lambda s: -s[1])[:limit]
        return {"similarartists": {
            "artist": [{"name": name, "mbid": mbid, "match": _match_text(match), "url": _url(name),
                        "image": _images(), "streamable": "0"} for name, match, mbid in rows],
            "@attr": {"artist": artist.name},
        }}

    def _info(artist: LastfmArtist) -> dict[str, Any]:
        body: dict[str, Any] = {"name": artist.name}
        if artist.mbid:
            body["mbid"] = artist.mbid
        body.update({
            "url": _url(artist.name), "image": _images(), "streamable": "0", "ontour": "0",
            "stats": {"listeners": str(artist.listeners), "playcount": str(artist.playcount)},
            "similar": {"artist": [{"name": n, "url": _url(n), "image": _images()}
                                   for n, _m, _id in sorted(artist.similar, key=lambda s: -s[1])[:5]]},
            "tags": {"tag": [{"name": t, "url": f"https://www.last.fm/tag/{quote_plus(t)}"} for t in artist.tags]},
            "bio": {
                "links": {"link": {"#text": "", "rel": "original", "href": _url(artist.name) + "/+wiki"}},
                "published": "09 Jan 2011, 12:41",
                "summary": f"{artist.name} is an artist in the Resonance sandbox. "
                           f"<a href=\"{_url(artist.name)}\">Read more on Last.fm</a>",
                "content": f"{artist.name} is an artist in the Resonance sandbox, tagged "
                           f"{', '.join(artist.tags) or 'nothing'}.",
            },
        })
        return {"artist": body}

    return app


def _limit() -> int:
    raw = request.values.get("limit", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_LIMIT


def _match_text(match: float) -> str:
    """Last.fm sends match as a string: "1" or "0.873412"."""
    if match >= 1:
        return "1"
    return f"{match:.6f}".rstrip("0").rstrip(".") or "0"


def _url(name: str) -> str:
    return "https://www.last.fm/music/" + quote_plus(name)


def _images() -> list[dict[str, str]]:
    return [{"#text": f"https://lastfm.freetls.fastly.net/i/u/{px}/{STAR}", "size": size} for px, size in IMAGE_SIZES]


def _as_xml(payload: dict[str, Any]) -> bytes:
    """Last.fm's XML form: ``<lfm status="ok">…</lfm>`` (JSON was derived from it:
    ``@attr`` = attributes, ``#text`` = element text, lists = repeated elements)."""
    root = ET.Element("lfm")
    if "error" in payload:
        root.set("status", "failed")
        error = ET.SubElement(root, "error", code=str(payload["error"]))
        error.text = payload["message"]
    else:
        root.set("status", "ok")
        for key, value in payload.items():
            _append_xml(root, key, value)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _append_xml(parent: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _append_xml(parent, tag, item)
        return
    element = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "@attr":
                for attr, text in inner.items():
                    element.set(attr, str(text))
            elif key == "#text":
                element.text = str(inner)
            elif key in XML_ATTRIBUTES and not isinstance(inner, (dict, list)):
                element.set(key, str(inner))
            else:
                _append_xml(element, key, inner)
    else:
        element.text = str(value)


_APP = SharedApp(_build_app)
