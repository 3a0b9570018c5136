"""What each data file must hold: its shape, checked as a whole every time a file is read.

A file that parses but has the wrong shape inside (a queue item that is not a
record, a status that is a number) would break whatever reads it later, so the
store treats it like a file that does not parse: moved aside, logged, reported.

Shapes are built from a few parts:

    TEXT, NUMBER, FLAG, ANYTHING      a JSON string, number, true/false, any value
    Maybe(shape)                      the shape, or null
    OneOf(shape, ...)                 any one of them
    Choice("a", "b")                  one of these texts
    ListOf(shape)                     an array whose every element is the shape
    MapOf(shape)                      an object whose every value is the shape
    Record(required={...}, optional={...})
                                      an object with these keys; other keys are
                                      allowed and kept, unchecked

``check(shape, value)`` raises ``ShapeError`` naming where the value is wrong,
e.g. ``pending[3].mbid: expected text, found a number``.

A 10,000-item queue must be checked in a few milliseconds (it is checked on
every cold page load), so each shape checks a whole column of values at once
with ``fits_all``: type sets built by ``map`` in C, one column per record key.
Only when that finds something wrong does ``check`` walk the value item by
item to say where.
"""

from __future__ import annotations

import json
from functools import partial
from itertools import chain, repeat
from operator import is_not
from typing import Any, Iterable

NULL = type(None)


class ShapeError(ValueError):
    """A value is not what its shape says; ``where`` is the path to it inside the file."""

    def __init__(self, expected: str, value: Any, where: str = ""):
        super().__init__(expected)
        self.expected = expected
        self.found = describe(value)
        self.where = where

    def inside(self, step: str) -> "ShapeError":
        self.where = step + self.where
        return self

    def __str__(self) -> str:
        return f"{self.where.lstrip('.') or 'the whole file'}: expected {self.expected}, found {self.found}"


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


MISSING = _Missing()

_JSON_NAMES = {NULL: "null", bool: "true/false", int: "a number", float: "a number", str: "text",
               list: "an array", dict: "an object", _Missing: "nothing"}


def describe(value: Any) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


class Shape:
    """``accepts``: Python types taken as they are without looking inside (for the fast paths);
    ``by_type``: a value fits exactly when its type is in ``accepts``.
    ``kind``: the container type a shape looks inside (dict, list), or None."""

    expected = "a value"
    accepts: frozenset = frozenset()
    by_type = False
    kind: type | None = None

    def check(self, value: Any) -> None:
        """Raise ShapeError at the first wrong place."""
        raise NotImplementedError

    def fits_all(self, values: Iterable[Any]) -> bool:
        """Whether every value fits (fast; says nothing about where)."""
        for value in values:
            if type(value) not in self.accepts:
                try:
                    self.check(value)
                except ShapeError:
                    return False
        return True


class Leaf(Shape):
    by_type = True

    def __init__(self, expected: str, *types: type):
        self.expected = expected
        self.accepts = frozenset(types)

    def check(self, value: Any) -> None:
        if type(value) not in self.accepts:
            raise ShapeError(self.expected, value)

    def fits_all(self, values: Iterable[Any]) -> bool:
        return set(map(type, values)) <= self.accepts


class _Anything(Shape):
    expected = "any value"

    def check(self, value: Any) -> None:
        return None

    def fits_all(self, values: Iterable[Any]) -> bool:
        return all(map(partial(is_not, MISSING), values))


TEXT = Leaf("text", str)
NUMBER = Leaf("a number", int, float)  # type(True) is bool: true/false is not a number here
FLAG = Leaf("true or false", bool)
ANYTHING = _Anything()


class Maybe(Shape):
    """The shape or null."""

    def __init__(self, shape: Shape):
        self.shape = shape
        self.expected = f"{shape.expected} or null"
        self.accepts = shape.accepts | {NULL}
        self.by_type = shape.by_type
        self.kind = shape.kind

    def check(self, value: Any) -> None:
        if value is None or type(value) in self.accepts:
            return
        try:
            self.shape.check(value)
        except ShapeError as error:
            if not error.where:
                error.expected = self.expected
            raise

    def fits_all(self, values: Iterable[Any]) -> bool:
        if self.by_type:
            return set(map(type, values)) <= self.accepts
        if isinstance(self.shape, _Container):
            return self.shape.fits_all(values, nullable=True)  # one pass fewer than filtering the nulls out
        return self.shape.fits_all(filter(partial(is_not, None), values))


class Choice(Shape):
    def __init__(self, *options: str):
        self.options = frozenset(options)
        self.expected = "one of " + ", ".join(json.dumps(option) for option in options)

    def check(self, value: Any) -> None:
        if type(value) is not str or value not in self.options:
            raise ShapeError(self.expected, value)

    def fits_all(self, values: Iterable[Any]) -> bool:
        values = list(values)
        return set(map(type, values)) <= {str} and set(values) <= self.options


class OneOf(Shape):
    """Any one of the shapes; a value is checked against the one made for its JSON type."""

    def __init__(self, *shapes: Shape):
        self.shapes = shapes
        self.expected = " or ".join(shape.expected for shape in shapes)
        self.accepts = frozenset().union(*(shape.accepts for shape in shapes))

    def _shape_for(self, kind: type) -> Shape | None:
        return next((shape for shape in self.shapes if kind in shape.accepts or kind is shape.kind), None)

    def check(self, value: Any) -> None:
        shape = self._shape_for(type(value))
        if shape is None:
            raise ShapeError(self.expected, value)
        shape.check(value)

    def fits_all(self, values: Iterable[Any]) -> bool:
        groups: dict[type, list] = {}
        for value in values:
            groups.setdefault(type(value), []).append(value)
        for kind, group in groups.items():
            shape = self._shape_for(kind)
            if shape is None or not shape.fits_all(group):
                return False
        return True


class _Container(Shape):
    """An array or object whose every element is ``item``."""

    expected = "a container"

    def __init__(self, item: Shape):
        self.item = item

    def elements(self, value):
        raise NotImplementedError

    def step(self, position) -> str:
        raise NotImplementedError

    def check(self, value: Any) -> None:
        if type(value) is not self.kind:
            raise ShapeError(self.expected, value)
        accepts, check = self.item.accepts, self.item.check
        for position, element in self.elements(value):
            if type(element) not in accepts:
                try:
                    check(element)
                except ShapeError as error:
                    raise error.inside(self.step(position)) from None

    def fits_all(self, values: Iterable[Any], nullable: bool = False) -> bool:
        values = list(values)
        if not set(map(type, values)) <= ({self.kind, NULL} if nullable else {self.kind}):
            return False
        # filter(None, ...) drops the nulls, and empty containers, which fit anyway.
        contents = map(self.kind.values, filter(None, values)) if self.kind is dict else filter(None, values)
        return self.item.fits_all(chain.from_iterable(contents))


class ListOf(_Container):
    kind = list
    expected = "an array"

    def elements(self, value):
        return enumerate(value)

    def step(self, position) -> str:
        return f"[{position}]"


class MapOf(_Container):
    """An object whose every value is the shape (its keys are whatever the file keys by)."""

    kind = dict
    expected = "an object"

    def elements(self, value):
        return value.items()

    def step(self, position) -> str:
        return f"[{json.dumps(position, ensure_ascii=False)}]"


class Record(Shape):
    """An object with required and optional keys, each of its shape; other keys are kept unchecked."""

    kind = dict
    expected = "an object"

    def __init__(self, required: dict[str, Shape] | None = None, optional: dict[str, Shape] | None = None):
        self.required = dict(required or {})
        self.optional = dict(optional or {})
        # (key, shape, the types taken without a look inside: a missing optional key among them)
        self._keys = [(key, shape, shape.accepts, True) for key, shape in self.required.items()]
        self._keys += [(key, shape, shape.accepts | {_Missing}, False) for key, shape in self.optional.items()]

    def extended(self, required: dict[str, Shape] | None = None, optional: dict[str, Shape] | None = None) -> "Record":
        return Record({**self.required, **(required or {})}, {**self.optional, **(optional or {})})

    def check(self, value: Any) -> None:
        if type(value) is not dict:
            raise ShapeError(self.expected, value)
        get = value.get
        for key, shape, accepts, _ in self._keys:
            element = get(key, MISSING)
            if type(element) in accepts:
                continue
            if element is MISSING:
                raise ShapeError(shape.expected, MISSING, f".{key}")
            try:
                shape.check(element)
            except ShapeError as error:
                raise error.inside(f".{key}") from None

    def fits_all(self, values: Iterable[Any]) -> bool:
        values = list(values)
        if not set(map(type, values)) <= {dict}:
            return False
        for key, shape, accepts, required in self._keys:
            column = map(dict.get, values, repeat(key), repeat(MISSING))  # one column: about 0.5 ms a 10,000
            if shape.by_type:
                if not set(map(type, column)) <= accepts:
                    return False
                continue
            if not required:
                if isinstance(shape, Maybe):  # missing or null: both fine, one pass fewer
                    column = map(dict.get, values, repeat(key))
                else:
                    column = filter(partial(is_not, MISSING), column)
            if not shape.fits_all(column):
                return False
        return True


def check(shape: Shape, value: Any) -> None:
    """Raise ShapeError, naming the place, when ``value`` does not fit ``shape``."""
    if not shape.fits_all([value]):
        shape.check(value)


# --- the data files -----------------------------------------------------------------
# What the code relies on, and what older files may hold (docs/data-files.md).

QUEUE_ITEM = Record(
    required={"artist": TEXT, "album": TEXT, "mbid": TEXT},
    optional={"type": TEXT, "added_at": Maybe(TEXT), "score": Maybe(NUMBER), "source": Maybe(TEXT),
              "similar_to": Maybe(ListOf(TEXT)), "source_track": Maybe(TEXT), "cover_url": Maybe(TEXT),
              "year": Maybe(NUMBER), "for_members": Maybe(ListOf(TEXT)), "release_date": Maybe(TEXT),
              "library_gap": Maybe(Record(optional={"owned": NUMBER, "total": NUMBER, "rank": Maybe(NUMBER)})),
              "source_recording": Maybe(TEXT), "ranking": Maybe(TEXT)},
)
PENDING_QUEUE = Record(optional={
    "pending": ListOf(QUEUE_ITEM),
    # Older files keep approved albums as bare MBIDs.
    "approved": ListOf(OneOf(TEXT, QUEUE_ITEM.extended(optional={"approved_at": Maybe(TEXT)}))),
    "rejected": ListOf(TEXT),
    # Files from before history/: the rejected albums' records (moved to history/ on first start).
    "rejected_info": MapOf(QUEUE_ITEM.extended(optional={"rejected_at": Maybe(TEXT)})),
    # Where decided.txt stood when the file was written ("decided", bytes), and the marks of that
    # write still to be appended there ("owed"). "segment" and "length": older files.
    "history": Record(optional={"segment": TEXT, "length": NUMBER, "decided": NUMBER, "owed": ListOf(TEXT)}),
})

#: One line of a history/YYYY-MM.jsonl segment: a decision and the album's record.
HISTORY_LINE = Record(required={"action": Choice("approve", "reject"), "item": QUEUE_ITEM},
                      optional={"at": Maybe(TEXT), "decided_by": Maybe(TEXT), "reason": Maybe(TEXT),
                                "noted_at": Maybe(TEXT)})

QUEUE_UNDO = MapOf(Record(
    required={"action": Choice("approve", "reject"), "at": TEXT, "expires_at": TEXT, "mbids": ListOf(TEXT)},
    optional={"kept_on_wishlist": ListOf(TEXT)},
))

LIST_OF_TEXT = ListOf(TEXT)  # processed.json, downloaded.json, blocked_artists.json, block_offers_dismissed.json

#: lb_feedback.json: recommendation feedback for ListenBrainz, queued by decisions, sent by lb-fetch.
LB_FEEDBACK = ListOf(Record(
    required={"album": TEXT, "recording_mbid": TEXT, "rating": TEXT, "queued_at": TEXT},
    optional={"decided_by": Maybe(TEXT), "sent_at": Maybe(TEXT), "failed": Maybe(TEXT), "attempts": Maybe(NUMBER)},
))

CATALOG_ARTISTS = Record(optional={
    "taken_at": Maybe(TEXT),
    "server": Maybe(TEXT),
    "artists": ListOf(Record(required={"name": TEXT},
                             optional={"mbid": Maybe(TEXT), "album_count": Maybe(NUMBER)})),
    "albums": ListOf(Record(required={"name": TEXT},
                            optional={"artist": Maybe(TEXT), "mbid": Maybe(TEXT), "release_group_mbid": Maybe(TEXT),
                                      "year": Maybe(NUMBER)})),
    "similar": MapOf(Record(optional={
        "artist": Maybe(TEXT), "asked_at": Maybe(TEXT), "lastfm_name": Maybe(TEXT), "unknown": Maybe(FLAG),
        "similar": Maybe(ListOf(Record(optional={"name": Maybe(TEXT), "mbid": Maybe(TEXT),
                                                 "match": Maybe(NUMBER)}))),
    })),
})

# Older files list artists as plain MBIDs or names.
CATALOG_DISCOVERED = ListOf(OneOf(TEXT, Record(optional={
    "name": Maybe(TEXT), "mbid": Maybe(TEXT), "discovered_at": Maybe(TEXT), "score": Maybe(NUMBER),
    "similar_to": Maybe(ListOf(TEXT)), "albums": Maybe(ListOf(TEXT)),
})))

# library-discovery: the discographies read from MusicBrainz per library artist (by artist MBID), and
# ListenBrainz's listen counts per release group.
_STORED_GROUP = Record(required={"mbid": TEXT}, optional={
    "title": Maybe(TEXT), "primary_type": Maybe(TEXT), "secondary_types": Maybe(ListOf(TEXT)), "date": Maybe(TEXT),
    "credit": Maybe(TEXT),
})
LIBRARY_SOURCES = Record(optional={
    "artists": MapOf(Record(optional={
        "name": Maybe(TEXT), "asked_at": Maybe(TEXT), "unknown": Maybe(FLAG), "groups": Maybe(ListOf(_STORED_GROUP)),
    })),
    "popularity": MapOf(Record(optional={"listens": Maybe(NUMBER), "users": Maybe(NUMBER), "asked_at": Maybe(TEXT)})),
})

LAST_RUN = Record(optional={
    "started_at": Maybe(TEXT), "finished_at": Maybe(TEXT), "seconds": Maybe(NUMBER), "trigger": Maybe(TEXT),
    "outcome": Maybe(TEXT), "summary": Maybe(TEXT), "error": Maybe(TEXT), "left": Maybe(TEXT),
})
JOB_STATUS = MapOf(Record(optional={
    "state": Maybe(TEXT), "started_at": Maybe(TEXT), "trigger": Maybe(TEXT), "next_run": Maybe(TEXT),
    "runner_started_at": Maybe(TEXT), "last_run": Maybe(LAST_RUN), "failed_in_a_row": Maybe(NUMBER),
}))

RUN_REQUESTS = MapOf(TEXT)

NOTIFICATION_MESSAGE = Record(
    required={"id": TEXT, "event": TEXT, "target": TEXT, "title": TEXT, "body": TEXT},
    optional={"created_at": Maybe(TEXT), "taken_at": Maybe(TEXT), "key": Maybe(TEXT)},
)
NOTIFICATION_DELIVERY = Record(
    required={"at": TEXT, "target": TEXT, "url": TEXT, "ok": FLAG},
    optional={"event": Maybe(TEXT), "title": Maybe(TEXT), "error": Maybe(TEXT)},
)
NOTIFICATIONS = Record(optional={
    "held": ListOf(NOTIFICATION_MESSAGE), "sending": ListOf(NOTIFICATION_MESSAGE),
    "deliveries": ListOf(NOTIFICATION_DELIVERY), "sent_keys": MapOf(TEXT),
})

JOB_LOG = ListOf(Record(required={"time": TEXT, "level": TEXT, "message": TEXT}, optional={"logger": TEXT}))

# settings.json: an object of sections; store.py checks each section and key with the
# setting's own field, so that one wrong key does not cost the others.
SETTINGS = Record()

_FILE_OF_A_FOLDER = Record(optional={"filename": Maybe(TEXT), "size": Maybe(NUMBER), "audio": Maybe(FLAG),
                                     "id": Maybe(TEXT), "state": Maybe(TEXT), "bytes": Maybe(NUMBER)})
_FOLDER = Record(optional={"user": Maybe(TEXT), "folder": Maybe(TEXT), "format": Maybe(TEXT),
                           "score": Maybe(NUMBER), "size": Maybe(NUMBER), "extras": Maybe(NUMBER)})
_CANDIDATE = _FOLDER.extended(optional={
    "files": Maybe(NUMBER), "accepted": Maybe(FLAG), "free_slot": Maybe(FLAG), "speed": Maybe(NUMBER),
    "queue": Maybe(NUMBER), "factors": Maybe(MapOf(ANYTHING)), "reasons": Maybe(ListOf(TEXT)),
    # What "Download this one" queues (the latest attempt's candidates).
    "file_list": Maybe(ListOf(Record(optional={"name": Maybe(TEXT), "size": Maybe(NUMBER), "audio": Maybe(FLAG),
                                               "full": Maybe(FLAG)}))),
})
DOWNLOAD_RECORD = Record(optional={
    "artist": Maybe(TEXT), "title": Maybe(TEXT), "kind": Maybe(TEXT), "state": Maybe(TEXT),
    "state_since": Maybe(TEXT), "created_at": Maybe(TEXT), "updated_at": Maybe(TEXT), "query": Maybe(TEXT),
    "attempt_count": Maybe(NUMBER), "next_retry_at": Maybe(TEXT), "reason": Maybe(TEXT),
    "album": Maybe(Record(optional={
        "title": Maybe(TEXT), "artist": Maybe(TEXT), "year": Maybe(NUMBER), "track_count": Maybe(NUMBER),
        "tracks": Maybe(ListOf(Record(optional={"title": Maybe(TEXT), "length": Maybe(NUMBER)}))),
    })),
    "attempts": Maybe(ListOf(Record(optional={
        "started_at": Maybe(TEXT), "finished_at": Maybe(TEXT), "outcome": Maybe(TEXT), "reason": Maybe(TEXT),
        "queries": Maybe(ListOf(Record(optional={"text": Maybe(TEXT), "state": Maybe(TEXT)}))),
        "candidates": Maybe(ListOf(_CANDIDATE)),
        "chosen": Maybe(_FOLDER.extended(optional={"files": Maybe(NUMBER)})),
    }))),
    "fallbacks": Maybe(ListOf(_FOLDER.extended(optional={"files": Maybe(ListOf(_FILE_OF_A_FOLDER))}))),
    "downloads": Maybe(ListOf(_FOLDER.extended(optional={
        "files": Maybe(ListOf(_FILE_OF_A_FOLDER)), "state": Maybe(TEXT), "reason": Maybe(TEXT),
        "queued_at": Maybe(TEXT), "ended_at": Maybe(TEXT), "last_progress_at": Maybe(TEXT),
        "remote_queued_since": Maybe(TEXT), "progress": Maybe(MapOf(Maybe(NUMBER))),
    }))),
    "cancel": Maybe(ListOf(Record(optional={"user": Maybe(TEXT), "filename": Maybe(TEXT), "id": Maybe(TEXT)}))),
    "failover_requested": Maybe(FLAG),
    "picked": Maybe(_FOLDER.extended(optional={"files": Maybe(ListOf(_FILE_OF_A_FOLDER))})),
    "events": Maybe(ListOf(Record(optional={"time": Maybe(TEXT), "text": Maybe(TEXT)}))),
    # What the import stage reports (app.downloads.Download).
    "import_reason": Maybe(TEXT), "import_failed_track": Maybe(TEXT), "import_note": Maybe(TEXT),
    "library_path": Maybe(TEXT), "library_url": Maybe(TEXT),
})
DOWNLOAD_HISTORY = Record(optional={
    "entries": MapOf(DOWNLOAD_RECORD),
    "users": MapOf(Record(optional={
        "failures": Maybe(NUMBER), "successes": Maybe(NUMBER), "recent_failures": Maybe(NUMBER),
        "last_failure_at": Maybe(TEXT), "last_success_at": Maybe(TEXT), "last_reason": Maybe(TEXT),
    })),
    "meta": Record(optional={"search_starts": ListOf(NUMBER)}),
})
