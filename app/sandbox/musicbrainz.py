"""Fake MusicBrainz web service (``/ws/2/``, JSON only).

Lookups (artist, recording, release, release-group), browses (release-group
by artist/release, release by release-group/artist/recording, recording by
artist/release) and a small Lucene-like search. Enforces the User-Agent rule
and the 1 request/second per-IP limit with MB's 503 body."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any, Callable

from flask import Flask, Response, request

from app.sandbox.catalogue import (
    Artist,
    Catalogue,
    Credit,
    Recording,
    Release,
    ReleaseGroup,
    fold,
    stable_int,
    words,
)
from app.sandbox.core import (
    LeakyBucket,
    SandboxSettings,
    SharedApp,
    catalogue_proxy,
    client_ip,
    iso_utc,
    json_body,
    state_proxy,
)

HELP = "For usage, please see: https://musicbrainz.org/development/mmd"
RATE_LIMIT_TEXT = ("Your requests are exceeding the allowable rate limit. Please see "
                   "http://wiki.musicbrainz.org/XMLWebService for more information.")
MAX_LINKED = 25  # lookups list at most 25 linked entities
MAX_LIMIT = 100

PRIMARY_TYPE_IDS = {
    "Album": "f529b476-6e62-324f-b0aa-1f3e33d313fc", "Single": "d6038452-8ee0-3f68-affc-2de9a1ede0b9",
    "EP": "6d0c5bf6-7a33-3420-a519-44fc63eedebf", "Broadcast": "3b2e49e1-2875-37b8-9fa9-1f7cf3f49900",
    "Other": "4fc3be2b-de1e-396b-a933-beb8f1607a22",
}
PRIMARY_ORDER = ["Album", "Single", "EP", "Other", "Broadcast"]
SECONDARY_TYPE_IDS = {
    "Compilation": "dd2a21e1-0c00-3729-a7a0-de60b84eb5d1", "Soundtrack": "22a628ad-c082-3c4f-b1b6-d41665107b88",
    "Spokenword": "66b8a13e-43ff-3ac0-ac6c-73659d3817c6", "Interview": "12af3f5e-ce2a-3941-8b93-d482884031e5",
    "Audiobook": "499a387e-6195-333e-91c0-9592bfec535e", "Live": "6fd474e2-6b58-3102-9d17-d6f7eb7da0a0",
    "Remix": "0c60f497-ff81-3818-befd-abfc84a4858b", "DJ-mix": "0d47f47a-3fe5-3d69-ac9d-d566c23968bf",
    "Mixtape/Street": "15c1b1f5-d893-3375-a1db-e180c5ae15ed", "Demo": "81598169-0d6c-3bce-b4be-866fa658eda3",
}
STATUS_IDS = {
    "Official": "4e304316-386d-3409-af2e-78857eec5cfe", "Promotion": "518ffc83-5cde-34df-8627-81bff5093d92",
    "Bootleg": "1156806e-d06a-38bd-83f0-cf2284a808b9", "Pseudo-Release": "41121bb9-3413-3818-8a9a-9742318349aa",
}
RELEASE_STATUSES = {"official", "promotion", "bootleg", "pseudo-release", "withdrawn", "cancelled"}
ARTIST_TYPE_IDS = {"Group": "e431f5f6-b5d2-343d-8b36-72607fffb74b", "Person": "b6e035f4-3ce9-331c-97df-83397230b0df"}
GENDER_IDS = {"Male": "36d3d30a-839d-3eda-8cb3-29be4384e4a9", "Female": "93452b5a-a947-30c8-934f-6a4056b151c2"}
FORMAT_IDS = {"CD": "9712d52a-4509-3d4b-a1a2-67c88c643e31", "Digital Media": "907a28d9-b3b2-3ef6-89a8-7b18d91d4794"}
PACKAGING_IDS = {"Jewel Case": "ec27701a-4a22-37f4-bfac-6616e0f9750a",
                 "Digipak": "8f931351-d2e2-310f-afc6-37b89ddba246"}
AREAS = {
    "IS": "Iceland", "GB": "United Kingdom", "US": "United States", "CA": "Canada", "FR": "France",
    "DE": "Germany", "NO": "Norway", "AU": "Australia", "JP": "Japan", "BE": "Belgium",
    "XW": "[Worldwide]", "XE": "Europe",
}
LANGUAGES = {"IS": "isl", "JP": "jpn", "FR": "fra", "DE": "deu", "NO": "nor"}
_NS = uuid.UUID("0b5d2c61-7e3f-4a8b-9c1d-2e3f4a5b6c7d")

INCS = {
    "artist": {"aliases", "tags", "genres", "release-groups", "releases", "recordings", "ratings", "annotation",
               "url-rels", "artist-rels", "media"},
    "recording": {"artists", "artist-credits", "releases", "release-groups", "media", "isrcs", "tags", "genres",
                  "aliases", "discids", "ratings", "annotation", "url-rels", "artist-rels", "work-rels"},
    "release": {"artists", "artist-credits", "labels", "recordings", "release-groups", "media", "discids", "isrcs",
                "tags", "genres", "aliases", "annotation", "recording-level-rels", "url-rels", "artist-rels"},
    "release-group": {"artists", "artist-credits", "releases", "media", "tags", "genres", "aliases", "annotation",
                      "ratings", "url-rels"},
}
BROWSE_INCS = {
    "release-group": {"artists", "artist-credits", "tags", "genres", "aliases", "ratings", "annotation"},
    "release": {"artists", "artist-credits", "labels", "recordings", "release-groups", "media", "discids", "isrcs",
                "tags", "genres", "aliases", "annotation"},
    "recording": {"artists", "artist-credits", "isrcs", "tags", "genres", "aliases", "ratings", "annotation"},
}
BROWSE_LINKS = {  # the browse links the sandbox simulates (MB has a few more)
    "release-group": ("artist", "release"),
    "release": ("release-group", "artist", "recording"),
    "recording": ("artist", "release"),
}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class MusicBrainzState:
    def __init__(self, catalogue: Catalogue, settings: SandboxSettings, clock: Any) -> None:
        self.catalogue = catalogue
        self.settings = settings
        self.clock = clock
        self.bucket = LeakyBucket(clock)
        self._name_words: dict[str, tuple[int, dict[str, list[Any]]]] = {}
        self._lock = threading.Lock()

    def search_candidates(self, entity: str, constraints: list[tuple[str, str]]) -> list[Any]:
        """Entities worth scoring: those sharing a word with the name the query asks for
        (all of them when it asks for none), so bench-size searches stay fast."""
        collection = self._collection(entity)
        name_field = SEARCH_FIELDS[entity][0]
        wanted = {w for field, value in constraints if field == name_field for w in words(value)}
        if not wanted:
            return list(collection.values())
        index = self._index(entity, collection)
        found: dict[str, Any] = {}
        for word in wanted:
            for item in index.get(word, ()):
                found[item.id] = item
        return list(found.values())

    def _collection(self, entity: str) -> dict[str, Any]:
        cat = self.catalogue
        return {"artist": cat.artists, "release-group": cat.release_groups, "release": cat.releases,
                "recording": cat.recordings}[entity]

    def _index(self, entity: str, collection: dict[str, Any]) -> dict[str, list[Any]]:
        with self._lock:
            cached = self._name_words.get(entity)
            if cached is not None and cached[0] == len(collection):
                return cached[1]
            index: dict[str, list[Any]] = {}
            for item in collection.values():
                names = [item.name, item.sort_name, *item.aliases] if entity == "artist" else [item.title]
                for word in {w for name in names for w in words(name)}:
                    index.setdefault(word, []).append(item)
            self._name_words[entity] = (len(collection), index)
            return index


class WsError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def create_app(state: MusicBrainzState) -> Callable:
    """The WSGI app of this service, answering from ``state``."""
    return _APP.bind(state)


def _build_app() -> Flask:
    app = Flask(__name__)
    state: MusicBrainzState = state_proxy()  # the serving sandbox's state, looked up per request
    cat: Catalogue = catalogue_proxy()
    shapes = _Shapes(cat)

    def reply(data: Any, status: int = 200) -> Response:
        return Response(json_body(data), status=status, mimetype="application/json")

    @app.errorhandler(WsError)
    def ws_error(error: WsError) -> Response:
        return reply({"error": error.message, "help": HELP}, error.status)

    @app.errorhandler(404)
    def not_found(_error: Any) -> Response:
        return reply({"error": "Not Found", "help": HELP}, 404)

    @app.before_request
    def gatekeeper() -> Response | None:
        # Missing User-Agent: the sandbox answers 503 (older docs say 403).
        if not request.headers.get("User-Agent", "").strip() or not state.bucket.allow(
                client_ip(request), state.settings.musicbrainz_rate, state.settings.musicbrainz_burst):
            response = reply({"error": RATE_LIMIT_TEXT}, 503)
            if state.settings.musicbrainz_retry_after is not None:
                response.headers["Retry-After"] = str(state.settings.musicbrainz_retry_after)
            return response
        wants_json = request.args.get("fmt") == "json" or "application/json" in request.headers.get("Accept", "")
        if not wants_json:
            return Response("The sandbox only speaks JSON: add fmt=json (the real service would answer XML).\n",
                            status=406, mimetype="text/plain")
        return None

    # ------------------------------------------------------------------ lookups

    @app.get("/ws/2/<entity>/<mbid>")
    def lookup(entity: str, mbid: str) -> Response:
        if entity not in INCS:
            raise WsError(404, "Not Found")
        if not _UUID.match(mbid):
            raise WsError(400, "Invalid mbid.")
        incs = _incs(INCS[entity], entity)
        mbid = cat.resolve(mbid.lower())
        if entity == "artist":
            artist = cat.artists.get(mbid) or _missing()
            return reply(shapes.artist(artist, incs, lookup=True))
        if entity == "recording":
            recording = cat.recordings.get(mbid) or _missing()
            status_filter, type_filter = _release_filters(incs, allow_status="releases" in incs,
                                                          allow_type=bool(incs & {"releases", "release-groups"}))
            return reply(shapes.recording(recording, incs, status_filter, type_filter))
        if entity == "release":
            release = cat.releases.get(mbid) or _missing()
            return reply(shapes.release(release, incs))
        group = cat.release_groups.get(mbid) or _missing()
        status_filter, type_filter = _release_filters(incs, allow_status="releases" in incs, allow_type=False)
        return reply(shapes.release_group(group, incs, status_filter=status_filter))

    # ------------------------------------------------------------------ browse + search

    @app.get("/ws/2/<entity>")
    def browse_or_search(entity: str) -> Response:
        if entity not in INCS:
            raise WsError(404, "Not Found")
        if "query" in request.args:
            return reply(_search(entity))
        links = [name for name in BROWSE_LINKS.get(entity, ()) if name in request.args]
        if len(links) != 1:
            raise WsError(400, "Invalid browse/search request: give exactly one linked entity or a query.")
        link = links[0]
        if not _UUID.match(request.args[link]):
            raise WsError(400, "Invalid mbid.")
        linked_id = cat.resolve(request.args[link].lower())
        limit, offset = _limit_offset()
        incs = _incs(BROWSE_INCS[entity], entity)
        if entity == "release-group":
            return reply(_browse_release_groups(link, linked_id, incs, limit, offset))
        if entity == "release":
            return reply(_browse_releases(link, linked_id, incs, limit, offset))
        return reply(_browse_recordings(link, linked_id, incs, limit, offset))

    def _browse_release_groups(link: str, linked_id: str, incs: set[str], limit: int, offset: int) -> dict[str, Any]:
        if "status" in request.args:
            raise WsError(400, "status is not a valid parameter unless releases are requested.")
        website_default = request.args.get("release-group-status", "all")
        if website_default not in ("all", "website-default"):
            raise WsError(400, "Invalid release-group-status parameter.")
        _, type_filter = _release_filters(incs, allow_status=False, allow_type=True)
        if link == "artist":
            if linked_id not in cat.artists:
                _missing()
            groups = [cat.release_groups[g] for g in cat.artist_release_groups.get(linked_id, [])]
        else:  # release
            release = cat.releases.get(linked_id) or _missing()
            groups = [cat.release_group_of(release)]
        groups = [g for g in groups if type_filter is None or type_filter(g)]
        if website_default == "website-default":
            groups = [g for g in groups
                      if any(r.status in ("Official", None) for r in cat.releases_of(g))]
        groups.sort(key=_release_group_order)
        page = groups[offset:offset + limit]
        return {"release-group-count": len(groups), "release-group-offset": offset,
                "release-groups": [shapes.release_group(g, incs) for g in page]}

    def _browse_releases(link: str, linked_id: str, incs: set[str], limit: int, offset: int) -> dict[str, Any]:
        status_filter, type_filter = _release_filters(incs, allow_status=True, allow_type=True)
        if link == "release-group":
            group = cat.release_groups.get(linked_id) or _missing()
            releases = cat.releases_of(group)
        elif link == "artist":
            if linked_id not in cat.artists:
                _missing()
            releases = [r for g in cat.artist_release_groups.get(linked_id, [])
                        for r in cat.releases_of(cat.release_groups[g])]
        else:  # recording
            if linked_id not in cat.recordings:
                _missing()
            releases = cat.releases_of_recording(linked_id)
        releases = [r for r in releases if _release_passes(cat, r, status_filter, type_filter)]
        releases.sort(key=lambda r: (r.date or "9999", r.id))
        page = releases[offset:offset + limit]
        return {"release-count": len(releases), "release-offset": offset,
                "releases": [shapes.release(r, incs) for r in page]}

    def _browse_recordings(link: str, linked_id: str, incs: set[str], limit: int, offset: int) -> dict[str, Any]:
        if link == "artist":
            if linked_id not in cat.artists:
                _missing()
            recordings = [r for r in cat.recordings.values() if any(c.artist_id == linked_id for c in r.credit)]
        else:  # release
            release = cat.releases.get(linked_id) or _missing()
            recordings = list({t.recording_id: cat.recordings[t.recording_id] for _m, t in release.tracks()}.values())
        recordings.sort(key=lambda r: (fold(r.title), r.id))
        page = recordings[offset:offset + limit]
        return {"recording-count": len(recordings), "recording-offset": offset,
                "recordings": [shapes.recording(r, incs, None, None) for r in page]}

    def _search(entity: str) -> dict[str, Any]:
        if entity not in SEARCH_FIELDS:
            raise WsError(400, f"Search is not supported for {entity} in the sandbox.")
        limit, offset = _limit_offset()
        constraints = parse_lucene(request.args.get("query", ""), default_field=SEARCH_FIELDS[entity][0])
        if not constraints:
            raise WsError(400, "Invalid query: nothing to search for.")
        candidates = state.search_candidates(entity, constraints)
        scored = []
        for item in candidates:
            score = _score(cat, entity, item, constraints)
            if score > 0:
                scored.append((score, item))
        scored.sort(key=lambda pair: (-pair[0], fold(getattr(pair[1], "name", None) or pair[1].title), pair[1].id))
        page = scored[offset:offset + limit]
        list_key = {"artist": "artists", "release-group": "release-groups", "release": "releases",
                    "recording": "recordings"}[entity]
        return {"created": iso_utc(state.clock.time()), "count": len(scored), "offset": offset,
                list_key: [shapes.search_item(entity, item, score) for score, item in page]}

    return app


# --------------------------------------------------------------------------- request parsing


def _missing() -> Any:
    raise WsError(404, "Not Found")


def _incs(allowed: set[str], entity: str) -> set[str]:
    # "inc=a+b" arrives as "a b" once the query string is decoded; accept both.
    raw = request.args.get("inc", "")
    incs = {part for part in re.split(r"[+\s]+", raw) if part}
    for inc in incs:
        if inc not in allowed:
            raise WsError(400, f"{inc} is not a valid inc parameter for the {entity} resource.")
    if "artists" in incs:
        incs.add("artist-credits")
    return incs


def _limit_offset() -> tuple[int, int]:
    raw_limit, raw_offset = request.args.get("limit", ""), request.args.get("offset", "")
    if (raw_limit and not raw_limit.isdigit()) or (raw_offset and not raw_offset.isdigit()):
        raise WsError(400, "The 'limit' and 'offset' parameters must be positive integers")
    limit = int(raw_limit) if raw_limit and int(raw_limit) > 0 else 25
    return min(limit, MAX_LIMIT), int(raw_offset or 0)


def _release_filters(incs: set[str], allow_status: bool, allow_type: bool) -> tuple[Any, Any]:
    """``status=official`` and ``type=album|live`` narrowing, valid only where MB allows them."""
    status_filter = type_filter = None
    if "status" in request.args:
        if not allow_status:
            raise WsError(400, "status is not a valid parameter unless releases are requested.")
        wanted = {s.strip().lower() for s in request.args["status"].split("|") if s.strip()}
        if not wanted or not wanted <= RELEASE_STATUSES:
            raise WsError(400, f"{request.args['status']} is not a valid release status.")
        status_filter = wanted
    if "type" in request.args:
        if not allow_type:
            raise WsError(400, "type is not a valid parameter unless releases or release groups are requested.")
        wanted = {t.strip().lower() for t in request.args["type"].split("|") if t.strip()}
        primaries = {p.lower() for p in PRIMARY_TYPE_IDS} & wanted
        secondaries = {s.lower() for s in SECONDARY_TYPE_IDS} & wanted
        if not wanted or wanted - primaries - secondaries:
            raise WsError(400, f"{request.args['type']} is not a valid release group type.")

        def type_filter(group: ReleaseGroup) -> bool:
            if primaries and (group.primary_type or "").lower() not in primaries:
                return False
            if secondaries and not secondaries & {s.lower() for s in group.secondary_types}:
                return False
            return True
    return status_filter, type_filter


def _release_passes(cat: Catalogue, release: Release, status_filter: set[str] | None, type_filter: Any) -> bool:
    if status_filter is not None and (release.status or "").lower() not in status_filter:
        return False
    return type_filter is None or type_filter(cat.release_group_of(release))


def _release_group_order(group: ReleaseGroup) -> tuple[Any, ...]:
    primary = PRIMARY_ORDER.index(group.primary_type) if group.primary_type in PRIMARY_ORDER else len(PRIMARY_ORDER)
    return (primary, tuple(sorted(group.secondary_types)), group.first_release_date or "9999", fold(group.title))



# --------------------------------------------------------------------------- search

SEARCH_FIELDS = {
    "artist": ("artist", {"artist", "name", "alias", "sortname", "country", "type", "arid", "tag"}),
    "release-group": ("releasegroup", {"releasegroup", "release", "artist", "artistname", "primarytype",
                                       "secondarytype", "type", "rgid", "arid", "tag", "status"}),
    "release": ("release", {"release", "releasegroup", "artist", "artistname", "status", "primarytype",
                            "secondarytype", "reid", "rgid", "arid", "country", "barcode", "tracks"}),
    "recording": ("recording", {"recording", "artist", "artistname", "release", "releasegroup", "arid", "rid",
                                "reid", "rgid", "isrc", "primarytype", "secondarytype", "status", "tag"}),
}
_TOKEN = re.compile(r'(?:([A-Za-z][\w-]*):)?(?:"((?:[^"\\]|\\.)*)"|((?:[^\s()"\\]|\\.)+))')
_OPERATORS = {"AND", "OR", "NOT", "&&", "||", "+", "-"}


def parse_lucene(query: str, default_field: str) -> list[tuple[str, str]]:
    """``artist:"Sigur Rós" AND recording:Hoppípolla`` → [(artist, Sigur Rós), (recording, Hoppípolla)].
    Unfielded words are joined into one value for the entity's default field."""
    constraints: list[tuple[str, str]] = []
    loose: list[str] = []
    for match in _TOKEN.finditer(query):
        field, quoted, bare = match.group(1), match.group(2), match.group(3)
        value = quoted if quoted is not None else bare
        if field is None and value in _OPERATORS:
            continue
        value = re.sub(r"\\(.)", r"\1", value)
        if field is None:
            loose.append(value)
        else:
            constraints.append((field.lower(), value))
    if loose:
        constraints.insert(0, (default_field, " ".join(loose)))
    return constraints


def text_similarity(query: str, candidates: list[str]) -> float:
    """1.0 for an exact (folded) match, less for partial word overlap, 0 for none."""
    best = 0.0
    wanted = words(query)
    folded_query = " ".join(fold(query).split())
    for candidate in candidates:
        if not candidate:
            continue
        if " ".join(fold(candidate).split()) == folded_query:
            return 1.0
        if not wanted:  # all punctuation, like "( )": only an exact match counts
            continue
        have = words(candidate)
        if not have:
            continue
        common = len(set(wanted) & set(have))
        if common == 0:
            continue
        coverage = common / len(set(wanted))
        precision = common / len(set(have))
        best = max(best, 0.95 * coverage * (0.55 + 0.45 * precision))
    return best


def _score(cat: Catalogue, entity: str, item: Any, constraints: list[tuple[str, str]]) -> int:
    allowed = SEARCH_FIELDS[entity][1]
    total, scored = 0.0, 0
    for field, value in constraints:
        if field not in allowed:
            continue
        result = _field_match(cat, entity, item, field, value)
        if result is None:
            continue
        if result <= 0:
            return 0
        total += result
        scored += 1
    return int(round(100 * total / scored)) if scored else 0


def _field_match(cat: Catalogue, entity: str, item: Any, field: str, value: str) -> float | None:
    """Similarity of one field constraint (None: field does not apply to this entity)."""
    if entity == "artist":
        artist: Artist = item
        if field in ("artist", "name"):
            return text_similarity(value, [artist.name, artist.sort_name, *artist.aliases])
        if field == "alias":
            return text_similarity(value, artist.aliases)
        if field == "sortname":
            return text_similarity(value, [artist.sort_name])
        if field == "country":
            return 1.0 if fold(value) == fold(artist.country or "") else 0.0
        if field == "type":
            return 1.0 if fold(value) == fold(artist.type or "") else 0.0
        if field == "arid":
            return 1.0 if value.lower() == artist.id else 0.0
        if field == "tag":
            return 1.0 if fold(value) in {fold(t) for t in artist.tags} else 0.0
        return None
    if entity == "recording":
        recording: Recording = item
        releases = cat.releases_of_recording(recording.id)
        groups = [cat.release_group_of(r) for r in releases]
        if field == "recording":
            return text_similarity(value, [recording.title])
        if field in ("rid",):
            return 1.0 if value.lower() == recording.id else 0.0
        if field == "isrc":
            return 1.0 if value.upper() in recording.isrcs else 0.0
        return _credit_or_group_match(cat, field, value, recording.credit, releases, groups)
    if entity == "release":
        release: Release = item
        group = cat.release_group_of(release)
        if field == "release":
            return text_similarity(value, [release.title])
        if field == "reid":
            return 1.0 if value.lower() == release.id else 0.0
        if field == "country":
            return 1.0 if fold(value) == fold(release.country or "") else 0.0
        if field == "barcode":
            return 1.0 if value == (release.barcode or "") else 0.0
        if field == "tracks":
            return 1.0 if value.isdigit() and int(value) == release.track_count else 0.0
        return _credit_or_group_match(cat, field, value, release.credit, [release], [group])
    group: ReleaseGroup = item
    releases = cat.releases_of(group)
    if field == "releasegroup":
        return text_similarity(value, [group.title])
    if field == "release":
        return text_similarity(value, [r.title for r in releases])
    return _credit_or_group_match(cat, field, value, group.credit, releases, [group])


def _credit_or_group_match(cat: Catalogue, field: str, value: str, credit: list[Credit],
                           releases: list[Release], groups: list[ReleaseGroup]) -> float | None:
    if field == "artist":
        names = ["".join(c.name + c.join for c in credit)]
        for c in credit:
            artist = cat.artists[c.artist_id]
            names += [c.name, artist.name, artist.sort_name, *artist.aliases]
        return text_similarity(value, names)
    if field == "artistname":
        return text_similarity(value, [cat.artists[c.artist_id].name for c in credit])
    if field == "arid":
        return 1.0 if value.lower() in {c.artist_id for c in credit} else 0.0
    if field == "release":
        return text_similarity(value, [r.title for r in releases])
    if field == "releasegroup":
        return text_similarity(value, [g.title for g in groups])
    if field == "reid":
        return 1.0 if value.lower() in {r.id for r in releases} else 0.0
    if field == "rgid":
        return 1.0 if value.lower() in {g.id for g in groups} else 0.0
    if field in ("primarytype", "type"):
        return 1.0 if fold(value) in {fold(g.primary_type or "") for g in groups} else 0.0
    if field == "secondarytype":
        return 1.0 if fold(value) in {fold(s) for g in groups for s in g.secondary_types} else 0.0
    if field == "status":
        return 1.0 if fold(value) in {fold(r.status or "") for r in releases} else 0.0
    if field == "tag":
        tags = {fold(t) for c in credit for t in cat.artists[c.artist_id].tags}
        return 1.0 if fold(value) in tags else 0.0
    return None


# --------------------------------------------------------------------------- JSON shapes


class _Shapes:
    """Builds MB's JSON for catalogue objects."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat

    # -- artists and credits

    def artist(self, artist: Artist, incs: set[str], lookup: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": artist.id, "name": artist.name, "sort-name": artist.sort_name,
            "type": artist.type, "type-id": ARTIST_TYPE_IDS.get(artist.type or ""),
            "disambiguation": artist.disambiguation, "country": artist.country,
        }
        if artist.country in AREAS:
            data["area"] = _area(artist.country)
        data["life-span"] = {"begin": artist.begin, "end": artist.end, "ended": artist.end is not None}
        if artist.gender:
            data["gender"], data["gender-id"] = artist.gender, GENDER_IDS.get(artist.gender)
        if lookup:
            data["isnis"], data["ipis"] = [], []
        if "aliases" in incs:
            data["aliases"] = [_alias(a) for a in artist.aliases]
        if "tags" in incs:
            data["tags"] = [{"count": 1 + stable_int(t, artist.id, modulo=9), "name": t} for t in artist.tags]
        if "genres" in incs:
            data["genres"] = [{"count": 1 + stable_int(t, artist.id, modulo=9), "name": t, "disambiguation": "",
                               "id": str(uuid.uuid5(_NS, "genre:" + t))} for t in artist.tags]
        if "release-groups" in incs:
            groups = sorted((self.cat.release_groups[g] for g in self.cat.artist_release_groups.get(artist.id, [])),
                            key=_release_group_order)
            data["release-groups"] = [self.release_group(g, set()) for g in groups[:MAX_LINKED]]
        if "releases" in incs:
            releases = [r for g in self.cat.artist_release_groups.get(artist.id, [])
                        for r in self.cat.releases_of(self.cat.release_groups[g])]
            data["releases"] = [self.release(r, set()) for r in releases[:MAX_LINKED]]
        return data

    def credit(self, credit: list[Credit]) -> list[dict[str, Any]]:
        result = []
        for c in credit:
            artist = self.cat.artists[c.artist_id]
            result.append({"name": c.name, "joinphrase": c.join, "artist": {
                "id": artist.id, "name": artist.name, "sort-name": artist.sort_name,
                "disambiguation": artist.disambiguation, "type": artist.type,
                "type-id": ARTIST_TYPE_IDS.get(artist.type or ""), "country": artist.country,
            }})
        return result

    # -- release groups

    def release_group(self, group: ReleaseGroup, incs: set[str],
                      status_filter: set[str] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": group.id, "title": group.title, "disambiguation": group.disambiguation,
            "first-release-date": group.first_release_date,
            "primary-type": group.primary_type, "primary-type-id": PRIMARY_TYPE_IDS.get(group.primary_type or ""),
            "secondary-types": list(group.secondary_types),
            "secondary-type-ids": _secondary_ids(group.secondary_types),
        }
        if "artist-credits" in incs:
            data["artist-credit"] = self.credit(group.credit)
        if "releases" in incs:
            releases = [r for r in self.cat.releases_of(group)
                        if status_filter is None or (r.status or "").lower() in status_filter]
            data["releases"] = [self.release(r, incs - {"releases", "artist-credits"}) for r in releases[:MAX_LINKED]]
        if "tags" in incs:
            tags = self.cat.artists[group.credit[0].artist_id].tags
            data["tags"] = [{"count": 1 + stable_int(t, group.id, modulo=9), "name": t} for t in tags]
        return data

    # -- releases

    def release(self, release: Release, incs: set[str]) -> dict[str, Any]:
        cat = self.cat
        data: dict[str, Any] = {
            "id": release.id, "title": release.title, "status": release.status,
            "status-id": STATUS_IDS.get(release.status or "") if release.status else None,
            "date": release.date, "country": release.country,
        }
        if release.country and release.date:
            data["release-events"] = [{"date": release.date, "area": _area(release.country)}]
        else:
            data["release-events"] = []
        artist_country = cat.artists[release.credit[0].artist_id].country or ""
        data.update({
            "barcode": release.barcode, "quality": "normal",
            "packaging": release.packaging, "packaging-id": PACKAGING_IDS.get(release.packaging or ""),
            "disambiguation": release.disambiguation,
            "text-representation": {"language": LANGUAGES.get(artist_country, "eng"),
                                    "script": "Jpan" if artist_country == "JP" else "Latn"},
            "cover-art-archive": {"artwork": release.cover, "count": 1 if release.cover else 0,
                                  "front": release.cover, "back": False, "darkened": False},
        })
        if "artist-credits" in incs:
            data["artist-credit"] = self.credit(release.credit)
        if "release-groups" in incs:
            data["release-group"] = self.release_group(cat.release_group_of(release),
                                                       {"artist-credits"} & incs)
        if incs & {"media", "recordings"}:
            data["media"] = [self.medium(release, m, incs) for m in release.media]
        return data

    def medium(self, release: Release, medium: Any, incs: set[str], only_track: Any = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "position": medium.position, "format": medium.format,
            "format-id": (FORMAT_IDS.get(medium.format) or _made_up_id("format", medium.format))
            if medium.format else None,
            "id": _made_up_id("medium", release.id, medium.position), "title": medium.title,
            "track-count": len(medium.tracks),
        }
        if "recordings" in incs or only_track is not None:
            tracks = [only_track] if only_track is not None else medium.tracks
            data["track-offset"] = (only_track.position - 1) if only_track is not None else 0
            data["tracks"] = [self.track(t, incs) for t in tracks]
        return data

    def track(self, track: Any, incs: set[str]) -> dict[str, Any]:
        recording = self.cat.recordings[track.recording_id]
        data: dict[str, Any] = {
            "id": track.id, "position": track.position, "number": track.number, "title": track.title,
            "length": track.length,
            "recording": {"id": recording.id, "title": recording.title, "length": recording.length,
                          "disambiguation": recording.disambiguation, "video": False,
                          "first-release-date": self.cat.first_release_date(recording.id)},
        }
        if "artist-credits" in incs:
            data["artist-credit"] = self.credit(track.credit)
            data["recording"]["artist-credit"] = self.credit(recording.credit)
        if "isrcs" in incs:
            data["recording"]["isrcs"] = list(recording.isrcs)
        return data

    # -- recordings

    def recording(self, recording: Recording, incs: set[str], status_filter: set[str] | None,
                  type_filter: Any) -> dict[str, Any]:
        cat = self.cat
        data: dict[str, Any] = {
            "id": recording.id, "title": recording.title, "length": recording.length,
            "disambiguation": recording.disambiguation, "video": False,
        }
        first = cat.first_release_date(recording.id)
        if first:
            data["first-release-date"] = first
        if "artist-credits" in incs:
            data["artist-credit"] = self.credit(recording.credit)
        if "isrcs" in incs:
            data["isrcs"] = list(recording.isrcs)
        if "releases" in incs:
            releases = []
            for release in cat.releases_of_recording(recording.id):
                if not _release_passes(cat, release, status_filter, type_filter):
                    continue
                entry = self.release(release, incs & {"artist-credits", "release-groups"})
                if "media" in incs:
                    entry["media"] = [self.medium(release, m, set(), only_track=t)
                                      for r, m, t in cat.recording_tracks[recording.id] if r is release]
                releases.append(entry)
            data["releases"] = releases[:MAX_LINKED]
        if "tags" in incs and recording.credit:
            data["tags"] = [{"count": 1, "name": t} for t in cat.artists[recording.credit[0].artist_id].tags[:1]]
        return data

    # -- search items (empty fields omitted, integer score)

    def search_item(self, entity: str, item: Any, score: int) -> dict[str, Any]:
        cat = self.cat
        if entity == "artist":
            artist: Artist = item
            data: dict[str, Any] = {"id": artist.id}
            if artist.type:
                data["type"], data["type-id"] = artist.type, ARTIST_TYPE_IDS.get(artist.type)
            data["score"] = score
            data["name"], data["sort-name"] = artist.name, artist.sort_name
            if artist.country:
                data["country"] = artist.country
                data["area"] = {k: v for k, v in _area(artist.country).items() if k in ("id", "name", "sort-name")}
                data["area"]["type"] = "Country"
            life_span: dict[str, Any] = {}
            if artist.begin:
                life_span["begin"] = artist.begin
            if artist.end:
                life_span["end"] = artist.end
            life_span["ended"] = True if artist.end else None
            data["life-span"] = life_span
            if artist.disambiguation:
                data["disambiguation"] = artist.disambiguation
            if artist.aliases:
                data["aliases"] = [_alias(a) for a in artist.aliases]
            if artist.tags:
                data["tags"] = [{"count": 1 + stable_int(t, artist.id, modulo=9), "name": t} for t in artist.tags]
            return data
        if entity == "release-group":
            group: ReleaseGroup = item
            releases = cat.releases_of(group)
            data = {"id": group.id, "score": score, "title": group.title}
            if group.primary_type:
                data["primary-type"] = group.primary_type
                data["primary-type-id"] = PRIMARY_TYPE_IDS.get(group.primary_type)
            if group.secondary_types:
                data["secondary-types"] = list(group.secondary_types)
                data["secondary-type-ids"] = _secondary_ids(group.secondary_types)
            if group.first_release_date:
                data["first-release-date"] = group.first_release_date
            data["count"] = len(releases)
            data["artist-credit"] = self.credit(group.credit)
            data["releases"] = [{"id": r.id, "title": r.title, "status": r.status,
                                 "status-id": STATUS_IDS.get(r.status or "")} for r in releases]
            return data
        if entity == "release":
            release: Release = item
            data = {"id": release.id, "score": score}
            data.update(self.release(release, {"artist-credits", "release-groups", "media"}))
            data["track-count"] = release.track_count
            return data
        recording: Recording = item
        data = {"id": recording.id, "score": score, "title": recording.title}
        if recording.length:
            data["length"] = recording.length
        data["video"] = None
        data["artist-credit"] = self.credit(recording.credit)
        first = cat.first_release_date(recording.id)
        if first:
            data["first-release-date"] = first
        releases = []
        for release, medium, track in cat.recording_tracks.get(recording.id, []):
            group = cat.release_group_of(release)
            rg: dict[str, Any] = {"id": group.id, "type-id": PRIMARY_TYPE_IDS.get(group.primary_type or ""),
                                  "title": group.title, "primary-type": group.primary_type}
            if group.secondary_types:
                rg["secondary-types"] = list(group.secondary_types)
            entry: dict[str, Any] = {"id": release.id, "status-id": STATUS_IDS.get(release.status or ""),
                                     "count": 1, "title": release.title, "status": release.status,
                                     "release-group": rg}
            if release.date:
                entry["date"] = release.date
            if release.country:
                entry["country"] = release.country
            entry["track-count"] = release.track_count
            entry["media"] = [{"position": medium.position, "format": medium.format,
                               "track": [{"id": track.id, "number": track.number, "title": track.title,
                                          "length": track.length}],
                               "track-count": len(medium.tracks), "track-offset": track.position - 1}]
            releases.append(entry)
        data["releases"] = releases
        if recording.isrcs:
            data["isrcs"] = list(recording.isrcs)
        return data


def _area(country: str) -> dict[str, Any]:
    name = AREAS.get(country, country)
    return {"id": _made_up_id("area", country), "name": name, "sort-name": name,
            "iso-3166-1-codes": [country], "disambiguation": "", "type": None, "type-id": None}


def _alias(name: str) -> dict[str, Any]:
    return {"name": name, "sort-name": name, "type": "Search hint", "type-id": None, "primary": None,
            "locale": None, "begin": None, "end": None, "ended": False}


def _secondary_ids(names: list[str]) -> list[str]:
    return [SECONDARY_TYPE_IDS.get(s) or _made_up_id("secondary", s) for s in names]


def _made_up_id(*parts: Any) -> str:
    return str(uuid.uuid5(_NS, ":".join(str(p) for p in parts)))


_APP = SharedApp(_build_app)
