"""Fake ListenBrainz API (``/1/``): CF recommendations, created-for playlists,
playlist fetch, bulk metadata, fresh releases, release-group popularity,
token validation and recommendation feedback, with LB's per-IP fixed-window
rate limit and ``X-RateLimit-*`` headers on every response."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any, Callable

from flask import Flask, Response, g, request

from app.sandbox.catalogue import (
    Catalogue,
    Recording,
    Release,
    ReleaseGroup,
    stable_int,
)
from app.sandbox.core import (
    FixedWindow,
    SandboxSettings,
    SharedApp,
    catalogue_proxy,
    client_ip,
    json_body,
    state_proxy,
)

ALLOWED_INC = ("artist", "tag", "release", "recording", "release_group")
MAX_COUNT = 1000
MAX_BULK = 1000
MAX_FRESH_RELEASE_DAYS = 90
COUNTRY_NAMES = {
    "IS": "Iceland", "GB": "United Kingdom", "US": "United States", "CA": "Canada", "FR": "France",
    "DE": "Germany", "NO": "Norway", "AU": "Australia", "JP": "Japan", "BE": "Belgium",
}
PLAYLIST_EXT = "https://musicbrainz.org/doc/jspf#playlist"
TRACK_EXT = "https://musicbrainz.org/doc/jspf#track"
#: listenbrainz/db/model/recommendation_feedback.py: get_allowed_ratings()
FEEDBACK_RATINGS = ("like", "love", "dislike", "hate", "bad_recommendation")
RATE_LIMIT_TEXT = ("You have exceeded your rate limit. See the X-RateLimit-* response headers for more "
                   "information on your current rate limit.")


class ListenBrainzState:
    def __init__(self, catalogue: Catalogue, settings: SandboxSettings, clock: Any) -> None:
        self.catalogue = catalogue
        self.settings = settings
        self.clock = clock
        self.window = FixedWindow(clock)
        # Recommendation feedback as ListenBrainz keeps it: user name -> recording MBID -> rating
        # (one per user and recording: a second submit replaces the first, like LB's upsert).
        self.feedback: dict[str, dict[str, str]] = {}


class ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def create_app(state: ListenBrainzState) -> Callable:
    """The WSGI app of this service, answering from ``state``."""
    return _APP.bind(state)


def _build_app() -> Flask:
    app = Flask(__name__)
    state: ListenBrainzState = state_proxy()  # the serving sandbox's state, looked up per request
    cat: Catalogue = catalogue_proxy()

    def reply(data: Any, status: int = 200) -> Response:
        return Response(json_body(data), status=status, mimetype="application/json")

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return reply({"code": error.code, "error": error.message}, error.code)

    @app.errorhandler(404)
    def not_found(_error: Any) -> Response:
        return reply({"code": 404, "error": "Not Found"}, 404)

    @app.errorhandler(405)
    def bad_method(_error: Any) -> Response:
        return reply({"code": 405, "error": "Method Not Allowed"}, 405)

    @app.before_request
    def rate_limit() -> Response | None:
        limit = state.settings.listenbrainz_rate_limit
        if limit <= 0:
            g.verdict = None
            return None
        g.verdict = state.window.hit(client_ip(request), limit, state.settings.listenbrainz_rate_window)
        if not g.verdict.allowed:
            return reply({"code": 429, "error": RATE_LIMIT_TEXT}, 429)
        return None

    @app.after_request
    def rate_limit_headers(response: Response) -> Response:
        verdict = g.get("verdict")
        if verdict is not None:
            response.headers["X-RateLimit-Limit"] = str(verdict.limit)
            response.headers["X-RateLimit-Remaining"] = str(verdict.remaining)
            response.headers["X-RateLimit-Reset-In"] = str(verdict.reset_in)
            response.headers["X-RateLimit-Reset"] = str(verdict.reset_at)
        return response

    # ------------------------------------------------------------------ recommendations

    @app.get("/1/cf/recommendation/user/<user_name>/recording")
    def cf_recommendations(user_name: str) -> Response:
        listener = cat.listener(user_name)
        if listener is None:
            raise ApiError(404, f"Cannot find user: {user_name}")
        count = min(_non_negative("count", 25), MAX_COUNT)
        offset = _non_negative("offset", 0)
        if not listener.recommendations:
            return Response(status=204)
        page = listener.recommendations[offset:offset + count]
        return reply({"payload": {
            "model_id": listener.model_id,
            "model_url": listener.model_url,
            "mbids": [{"recording_mbid": r.recording_mbid, "score": r.score, "latest_listened_at": r.latest_listened_at}
                      for r in page],
            "entity": "recording",
            "user_name": user_name,
            "last_updated": listener.last_updated,
            "count": len(page),
            "total_mbid_count": len(listener.recommendations),
            "offset": offset,
        }})

    # ------------------------------------------------------------------ playlists

    @app.get("/1/user/<user_name>/playlists/createdfor")
    def created_for(user_name: str) -> Response:
        listener = cat.listener(user_name)
        if listener is None:
            raise ApiError(404, f"Cannot find user: {user_name}")
        count = _non_negative("count", 25)
        offset = _non_negative("offset", 0)
        playlists = sorted(listener.playlists, key=lambda p: p.date, reverse=True)
        page = playlists[offset:] if count == 0 else playlists[offset:offset + count]
        return reply({
            "playlists": [{"playlist": _jspf(p, tracks=[])} for p in page],
            "playlist_count": len(playlists),
            "offset": offset,
            "count": count,
        })

    @app.get("/1/playlist/<playlist_mbid>")
    def playlist(playlist_mbid: str) -> Response:
        if not _is_uuid(playlist_mbid):
            raise ApiError(400, "Provided playlist ID is invalid.")
        _check_optional_token()
        found = next((p for l in cat.listeners.values() for p in l.playlists if p.id == playlist_mbid.lower()), None)
        if found is None:
            raise ApiError(404, f"Cannot find playlist: {playlist_mbid}")
        with_metadata = request.args.get("fetch_metadata", "true").lower() != "false"
        tracks = [_jspf_track(r, with_metadata, found.date) for r in found.tracks]
        return reply({"playlist": _jspf(found, tracks=tracks)})

    def _jspf(p: Any, tracks: list[dict[str, Any]]) -> dict[str, Any]:
        extension: dict[str, Any] = {"public": True, "creator": "listenbrainz", "created_for": p.created_for,
                                     "last_modified_at": p.date}
        additional: dict[str, Any] = {"algorithm_metadata": {"source_patch": p.source_patch}}
        if p.expires_at:
            additional["expires_at"] = p.expires_at
        extension["additional_metadata"] = additional
        body: dict[str, Any] = {
            "creator": "listenbrainz",
            "title": p.title,
            "identifier": f"https://listenbrainz.org/playlist/{p.id}",
            "date": p.date,
        }
        if p.annotation:
            body["annotation"] = p.annotation
        body["extension"] = {PLAYLIST_EXT: extension}
        body["track"] = tracks
        return body

    def _jspf_track(recording_mbid: str, with_metadata: bool, added_at: str) -> dict[str, Any]:
        track: dict[str, Any] = {"identifier": [f"https://musicbrainz.org/recording/{recording_mbid}"]}
        extension: dict[str, Any] = {"added_by": "listenbrainz", "added_at": added_at}
        recording = cat.recordings.get(recording_mbid)
        if with_metadata and recording is not None and recording_mbid not in cat.uncached_recordings:
            track["title"] = recording.title
            track["creator"] = "".join(c.name + c.join for c in recording.credit)
            release = cat.chosen_release(recording.id)
            if release is not None:
                track["album"] = release.title
            if recording.length:
                track["duration"] = recording.length
            extension["artist_identifiers"] = [f"https://musicbrainz.org/artist/{c.artist_id}"
                                               for c in recording.credit]
            additional: dict[str, Any] = {}
            if release is not None and release.cover:
                additional["caa_id"] = cat.caa_image_id(release)
                additional["caa_release_mbid"] = release.id
            additional["artists"] = [{"artist_credit_name": c.name, "join_phrase": c.join, "artist_mbid": c.artist_id}
                                     for c in recording.credit]
            extension["additional_metadata"] = additional
        track["extension"] = {TRACK_EXT: extension}
        return track

    def _check_optional_token() -> None:
        """Playlist endpoints reject a *wrong* token even though the data is public."""
        header = request.headers.get("Authorization", "")
        if not header:
            return
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "token" or cat.listener_by_token(token.strip()) is None:
            raise ApiError(401, "Invalid authorization token.")

    # ------------------------------------------------------------------ bulk metadata

    @app.route("/1/metadata/recording/", methods=["GET", "POST"])
    def recording_metadata() -> Response:
        mbids, incs = _bulk_arguments("recording_mbids", "Recording")
        result = {}
        for mbid in mbids:
            recording = cat.recordings.get(mbid)
            if recording is None or mbid in cat.uncached_recordings:
                continue  # not in LB's metadata cache: simply absent
            result[mbid] = _recording_block(recording, incs)
        return reply(result)

    @app.route("/1/metadata/release_group/", methods=["GET", "POST"])
    def release_group_metadata() -> Response:
        mbids, incs = _bulk_arguments("release_group_mbids", "Release group")
        result = {}
        for mbid in mbids:
            group = cat.release_groups.get(mbid)
            if group is not None:
                result[mbid] = _release_group_block(group, incs)
        return reply(result)

    def _bulk_arguments(name: str, label: str) -> tuple[list[str], set[str]]:
        if request.method == "POST":
            data = request.get_json(silent=True)
            if not isinstance(data, dict):
                raise ApiError(400, "Invalid JSON document submitted.")
            raw_mbids = data.get(name)
            inc_text = data.get("inc", "") or ""
            if not isinstance(raw_mbids, list) or not raw_mbids:
                raise ApiError(400, f"{name} must be a non-empty list.")
            if len(raw_mbids) > MAX_BULK:
                raise ApiError(400, f"Too many {name}: at most {MAX_BULK} are allowed.")
        else:
            text = request.args.get(name, "")
            if not text.strip():
                raise ApiError(400, f"Parameter {name} is required.")
            raw_mbids = [m.strip() for m in text.split(",") if m.strip()]
            if len(raw_mbids) > MAX_BULK:  # the real server fails outright on huge GETs
                raise ApiError(500, "An unknown error occurred.")
            inc_text = request.args.get("inc", "")
        mbids = []
        for mbid in raw_mbids:
            if not isinstance(mbid, str) or not _is_uuid(mbid):
                raise ApiError(400, f"{label} mbid {mbid} is not valid.")
            mbids.append(mbid.lower())
        incs = set(inc_text.split())
        for inc in incs:
            if inc not in ALLOWED_INC:
                raise ApiError(400, f"invalid inc argument '{inc}'. Must be one of {', '.join(ALLOWED_INC)}.")
        return mbids, incs

    def _recording_block(recording: Recording, incs: set[str]) -> dict[str, Any]:
        block: dict[str, Any] = {"recording": _recording_part(recording)}
        if "artist" in incs:
            block["artist"] = _artist_part(recording.credit)
        release = cat.chosen_release(recording.id)
        if "release" in incs:
            block["release"] = _release_part(release) if release else {}
        if "tag" in incs:
            group = cat.release_group_of(release) if release else None
            block["tag"] = _tag_part(recording, group)
        return block

    def _recording_part(recording: Recording) -> dict[str, Any]:
        part: dict[str, Any] = {"name": recording.title}
        if recording.length:
            part["length"] = recording.length
        first = cat.first_release_date(recording.id)
        if first:
            part["first_release_date"] = first
        part["isrcs"] = list(recording.isrcs)
        part["rels"] = []
        return part

    def _artist_part(credit: list[Any]) -> dict[str, Any]:
        artists = []
        for c in credit:
            artist = cat.artists[c.artist_id]
            entry: dict[str, Any] = {"name": c.name, "join_phrase": c.join, "artist_mbid": artist.id}
            if artist.type:
                entry["type"] = artist.type
            if artist.begin:
                entry["begin_year"] = int(artist.begin[:4])
            if artist.end:
                entry["end_year"] = int(artist.end[:4])
            if artist.country in COUNTRY_NAMES:
                entry["area"] = COUNTRY_NAMES[artist.country]
            if artist.gender:
                entry["gender"] = artist.gender
            artists.append(entry)
        return {"name": "".join(c.name + c.join for c in credit),
                "artist_credit_id": stable_int("credit", *(c.artist_id for c in credit), modulo=3_000_000),
                "artists": artists}

    def _release_part(release: Release) -> dict[str, Any]:
        part: dict[str, Any] = {
            "mbid": release.id,
            "release_group_mbid": release.release_group_id,
            "name": release.title,
            "album_artist_name": "".join(c.name + c.join for c in release.credit),
        }
        if release.date:
            part["year"] = int(release.date[:4])
        if release.cover:
            part["caa_id"] = cat.caa_image_id(release)
            part["caa_release_mbid"] = release.id
        return part

    def _tag_part(recording: Recording, group: ReleaseGroup | None) -> dict[str, Any]:
        artist_tags = []
        for c in recording.credit:
            for tag in cat.artists[c.artist_id].tags:
                artist_tags.append({"tag": tag, "count": 1 + stable_int(tag, c.artist_id, modulo=12),
                                    "artist_mbid": c.artist_id})
        first_tags = cat.artists[recording.credit[0].artist_id].tags if recording.credit else []
        return {
            "recording": [{"tag": t, "count": 1 + stable_int(t, recording.id, modulo=9)} for t in first_tags[:1]],
            "artist": artist_tags,
            "release_group": ([{"tag": t, "count": 1 + stable_int(t, group.id, modulo=9)} for t in first_tags[:2]]
                              if group else []),
        }

    def _release_group_block(group: ReleaseGroup, incs: set[str]) -> dict[str, Any]:
        front = cat.front_release(group)
        part: dict[str, Any] = {"name": group.title}
        if group.first_release_date:
            part["date"] = group.first_release_date
        if group.primary_type:
            part["type"] = group.primary_type
        if front is not None:
            part["caa_id"] = cat.caa_image_id(front)
            part["caa_release_mbid"] = front.id
        part["rels"] = []
        block: dict[str, Any] = {"release_group": part}
        if "artist" in incs:
            block["artist"] = _artist_part(group.credit)
        if "tag" in incs:
            tags = cat.artists[group.credit[0].artist_id].tags
            block["tag"] = {"release_group": [{"tag": t, "count": 1 + stable_int(t, group.id, modulo=9)} for t in tags],
                            "artist": []}
        return block

    # ------------------------------------------------------------------ recommendation feedback

    def _user_of_token() -> Any:
        """validate_auth_header(): the listener whose token the Authorization header carries, else 401."""
        header = request.headers.get("Authorization", "")
        if not header:
            raise ApiError(401, "You need to provide an Authorization header.")
        scheme, _, token = header.partition(" ")
        listener = cat.listener_by_token(token.strip()) if scheme.lower() == "token" else None
        if listener is None:
            raise ApiError(401, "Invalid authorization token.")
        return listener

    @app.post("/1/recommendation/feedback/submit")
    def submit_recommendation_feedback() -> Response:
        listener = _user_of_token()
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or "recording_mbid" not in data or "rating" not in data:
            raise ApiError(400, "JSON document must contain recording_mbid and rating")
        if len(data) > 2:
            raise ApiError(400, "JSON document must only contain recording_mbid and rating")
        mbid, rating = data["recording_mbid"], data["rating"]
        if rating not in FEEDBACK_RATINGS:
            raise ApiError(400, "Invalid JSON document submitted: rating: Feedback can only have a value in "
                                f"{list(FEEDBACK_RATINGS)}")
        if not isinstance(mbid, str) or not _is_uuid(mbid):
            raise ApiError(400, f"Invalid JSON document submitted: recording_mbid: {mbid} is not a valid UUID")
        state.feedback.setdefault(listener.user_name, {})[mbid.lower()] = rating
        return reply({"status": "ok"})

    @app.get("/1/recommendation/feedback/user/<user_name>")
    def recommendation_feedback(user_name: str) -> Response:
        listener = cat.listener(user_name)
        if listener is None:
            raise ApiError(404, f"Cannot find user: {user_name}")
        given = state.feedback.get(listener.user_name, {})
        rows = [{"recording_mbid": mbid, "rating": rating} for mbid, rating in given.items()]
        return reply({"feedback": rows, "count": len(rows), "total_count": len(rows), "offset": 0,
                      "user_name": user_name})

    # ------------------------------------------------------------------ fresh releases, popularity

    @app.get("/1/user/<user_name>/fresh_releases")
    def fresh_releases(user_name: str) -> Response:
        listener = cat.listener(user_name)
        if listener is None:
            raise ApiError(404, f"User {user_name} not found")
        sort = request.args.get("sort", "release_date")
        if sort not in ("release_date", "artist_credit_name", "release_name", "confidence"):
            raise ApiError(400, "sort must be one of 'release_date', 'artist_credit_name', 'release_name', "
                                "or 'confidence'.")
        past, future = _flag("past"), _flag("future")
        raw_days = request.args.get("days", "14")
        if not re.fullmatch(r"-?\d+", raw_days.strip()):
            raise ApiError(400, f"Invalid days argument: {raw_days}")
        days = int(raw_days)
        if not 1 <= days <= MAX_FRESH_RELEASE_DAYS:
            raise ApiError(400, f"days must be between 1 and {MAX_FRESH_RELEASE_DAYS}.")
        today = datetime.date.today()
        start = today - datetime.timedelta(days=days) if past else today
        end = today + datetime.timedelta(days=days) if future else today
        releases = []
        for release_id in listener.fresh_releases:
            release = cat.releases[release_id]
            group = cat.release_group_of(release)
            try:
                released = datetime.date.fromisoformat(release.date)
            except ValueError:
                continue
            if start <= released <= end:
                releases.append({
                    "artist_credit_name": "".join(c.name + c.join for c in release.credit),
                    "artist_mbids": [c.artist_id for c in release.credit],
                    "caa_id": cat.caa_image_id(release) if release.cover else None,
                    "caa_release_mbid": release.id if release.cover else None,
                    "confidence": 1 + stable_int("confidence", release.id, modulo=4),
                    "release_date": release.date,
                    "release_group_mbid": group.id,
                    "release_group_primary_type": group.primary_type,
                    "release_group_secondary_type": group.secondary_types[0] if group.secondary_types else None,
                    "release_mbid": release.id,
                    "release_name": release.title,
                    "release_tags": None,
                })
        releases.sort(key=lambda r: r[sort], reverse=sort == "confidence")
        return reply({"payload": {"releases": releases, "user_id": user_name}})

    @app.post("/1/popularity/release-group")
    def release_group_popularity() -> Response:
        data = request.get_json(silent=True)
        mbids = data.get("release_group_mbids") if isinstance(data, dict) else None
        if not isinstance(mbids, list):
            raise ApiError(400, "release_group_mbids JSON element must be present and contain a list of "
                                "release_group_mbids")
        for mbid in mbids:
            if not isinstance(mbid, str) or not _is_uuid(mbid):
                raise ApiError(400, f"release_group_mbid {mbid} is not valid.")
        if not mbids:
            raise ApiError(400, "At least one valid release_group_mbid must be present.")
        if len(mbids) > MAX_BULK:
            raise ApiError(400, f"Maximum number of release_group_mbids that can be fetched at once is {MAX_BULK}")
        rows = []
        for mbid in mbids:
            group = cat.release_groups.get(mbid)
            count = cat.listen_count(group) if group is not None else None
            rows.append({"release_group_mbid": mbid, "total_listen_count": count,
                         "total_user_count": None if count is None else max(1, count // 12)})
        return reply(rows)

    # ------------------------------------------------------------------ tokens

    @app.get("/1/validate-token")
    def validate_token() -> Response:
        header = request.headers.get("Authorization", "")
        token = header.partition(" ")[2].strip() if header.lower().startswith("token ") else ""
        token = token or request.args.get("token", "")
        if not token:
            raise ApiError(400, "You need to provide an Authorization token.")
        listener = cat.listener_by_token(token)
        if listener is None:
            return reply({"code": 200, "message": "Token invalid.", "valid": False})
        return reply({"code": 200, "message": "Token valid.", "valid": True, "user_name": listener.user_name})

    return app


def _non_negative(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"\d+", raw.strip()):
        raise ApiError(400, f"'{name}' should be a non-negative integer")
    return int(raw)


def _flag(name: str) -> bool:
    """LB's boolean arguments: "true"/"false" (any case), default true."""
    raw = request.args.get(name)
    if raw is None:
        return True
    if raw.lower() not in ("true", "false"):
        raise ApiError(400, f"Invalid {name} argument: {raw}")
    return raw.lower() == "true"


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return len(text) == 36


_APP = SharedApp(_build_app)
