"""Marshmallow schemas for the records Resonance keeps in the data dir.

Records are validated where data comes in (a pipeline adding albums, the
API, a settings form). Reading the data files back does not re-validate
every field: what the repository wrote is already valid, and a page of a
10,000-item queue must load in milliseconds.
"""

from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from app.fields import Name

ITEM_TYPES = ("album", "track")


def utc_iso(moment: datetime) -> str:
    """Timestamps in the data files: ISO-8601 UTC with a Z, to the second (they compare as strings)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now_iso() -> str:
    return utc_iso(datetime.now(timezone.utc))


class QueueItemSchema(Schema):
    """One album (or track) suggested by a discovery source."""

    class Meta:
        unknown = EXCLUDE  # older files may carry keys this version does not use

    artist = Name(required=True)
    album = Name(required=True)
    mbid = fields.String(required=True, validate=validate.Length(min=1, max=100))
    type = fields.String(load_default="album", validate=validate.OneOf(ITEM_TYPES))
    added_at = fields.String(load_default=None, allow_none=True)
    score = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    source = fields.String(load_default="manual", validate=validate.Length(min=1, max=50))
    similar_to = fields.List(fields.String(), load_default=list)
    source_track = fields.String(load_default=None, allow_none=True)
    cover_url = fields.String(load_default=None, allow_none=True)
    year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1000, max=3000))
    # The ListenBrainz recording behind a listenbrainz suggestion (its feedback goes there).
    source_recording = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    # How past decisions moved a catalog suggestion ("ranked lower: 3 of 4 albums similar to Muse were rejected").
    ranking = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    # library-discovery's reasons: a new album's (first) release date, YYYY[-MM[-DD]], possibly ahead;
    # a missing album's place in the artist's discography.
    release_date = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Regexp(r"^\d{4}(-\d{2}(-\d{2})?)?$"))
    library_gap = fields.Nested(lambda: LibraryGapSchema(), load_default=None, allow_none=True)
    for_members = fields.List(fields.String(), load_default=list,
                              metadata={"description": "The household members it was recommended to (lb-fetch)"})

    @validates_schema
    def check_added_at(self, data, **kwargs):
        value = data.get("added_at")
        if value is None:
            return
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("Not an ISO-8601 date and time.", "added_at") from None


class LibraryGapSchema(Schema):
    """Why a missing album is suggested: the household owns ``owned`` of the artist's ``total`` studio
    albums, and this one is the ``rank``-th most listened of them on ListenBrainz (None: not known)."""

    owned = fields.Integer(required=True, validate=validate.Range(min=0))
    total = fields.Integer(required=True, validate=validate.Range(min=1))
    rank = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


queue_item_schema = QueueItemSchema()


def load_queue_items(raw_items: list[dict]) -> list[dict]:
    """Validate incoming items; fill added_at. Raises ValidationError naming the item index."""
    items = queue_item_schema.load(raw_items, many=True)
    now = utc_now_iso()
    for item in items:
        item["added_at"] = item["added_at"] or now
        # Keep the file lean: optional fields that carry nothing are left out.
        for key in ("score", "source_track", "cover_url", "year", "release_date", "library_gap", "source_recording",
                    "ranking"):
            if item.get(key) is None:
                item.pop(key, None)
        if not item["similar_to"]:
            item.pop("similar_to")
    return items
