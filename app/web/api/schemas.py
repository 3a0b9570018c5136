"""Marshmallow schemas of the JSON API: they validate input and generate the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.config import SECTIONS, SETTINGS, Duration, Setting, StringList
from app.records import QueueItemSchema
from app.repository import SORTS

MBID = fields.String(validate=validate.Length(min=1, max=100))


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"example": "invalid_input"})
    message = fields.String(required=True)
    details = fields.Raw(allow_none=True, metadata={"description": "Field -> messages for invalid input"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok"})
    version = fields.String()
    warnings = fields.List(fields.String())


class QueueQuerySchema(Schema):
    source = fields.String(load_default=None, validate=validate.Length(max=50),
                           metadata={"description": "listenbrainz, catalog or manual"})
    q = fields.String(load_default=None, validate=validate.Length(max=200),
                      metadata={"description": "Text in the artist or album"})
    sort = fields.String(load_default="date", validate=validate.OneOf(SORTS))
    order = fields.String(load_default=None, validate=validate.OneOf(("asc", "desc")),
                          metadata={"description": "Default: desc, except asc for artist"})
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class QueueItemOutSchema(QueueItemSchema):
    approved_at = fields.String(dump_only=True)
    rejected_at = fields.String(dump_only=True)


class QueuePageSchema(Schema):
    items = fields.List(fields.Nested(QueueItemOutSchema))
    total = fields.Integer(metadata={"description": "Items matching the filter"})
    offset = fields.Integer()
    limit = fields.Integer()


class SelectionSchema(Schema):
    """Which pending items: a list of MBIDs, or all that match a filter."""

    mbids = fields.List(MBID, validate=validate.Length(min=1, max=10_000))
    all = fields.Boolean(load_default=False, metadata={"description": "Every pending item matching source and q"})
    source = fields.String(load_default=None, validate=validate.Length(max=50))
    q = fields.String(load_default=None, validate=validate.Length(max=200))

    @validates_schema
    def one_way(self, data, **kwargs):
        if bool(data.get("mbids")) == bool(data.get("all")):
            raise ValidationError("Give either mbids or all: true.", "mbids")


class DecisionSchema(Schema):
    count = fields.Integer()
    items = fields.List(fields.Nested(QueueItemOutSchema))
    not_pending = fields.List(fields.String(), metadata={"description": "Requested MBIDs that were not pending"})


class WishlistEntryInSchema(Schema):
    artist = fields.String(required=True, validate=validate.Length(min=1, max=500))
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    kind = fields.String(load_default="album", validate=validate.OneOf(("album", "track")))
    force = fields.Boolean(load_default=False, load_only=True,
                           metadata={"description": "Add even when the library already has the album"})


class WishlistRowSchema(Schema):
    artist = fields.String()
    title = fields.String()
    kind = fields.String()
    text = fields.String(metadata={"description": "'Artist - Title', as slskd tools read it"})
    state = fields.String(metadata={"description": "wanted, searching, queued, downloading, completed, failed, "
                                                   "no_result (the downloader's record), or sent (in downloaded.json)"})
    label = fields.String()
    detail = fields.String(allow_none=True)


class MalformedLineSchema(Schema):
    line = fields.Integer()
    text = fields.String()
    error = fields.String()


class WishlistSchema(Schema):
    entries = fields.List(fields.Nested(WishlistRowSchema))
    malformed = fields.List(fields.Nested(MalformedLineSchema))


class RemovedSchema(Schema):
    removed = fields.Integer()


class LastRunSchema(Schema):
    started_at = fields.String()
    finished_at = fields.String()
    seconds = fields.Float()
    trigger = fields.String()
    outcome = fields.String(metadata={"description": "ok, skipped or failed"})
    summary = fields.String()
    error = fields.String(allow_none=True)


class JobSchema(Schema):
    name = fields.String()
    title = fields.String()
    state = fields.String(metadata={"description": "running, idle, stopped or never"})
    running = fields.Boolean(metadata={"description": "True only while a run holds the job's lock"})
    started_at = fields.String(allow_none=True)
    requested_at = fields.String(allow_none=True, metadata={"description": "A pending 'Run now'"})
    last_run = fields.Nested(LastRunSchema, allow_none=True)
    next_run = fields.String(allow_none=True)
    interval = fields.Integer(allow_none=True, metadata={"description": "Seconds between scheduled runs"})


class JobsSchema(Schema):
    jobs = fields.List(fields.Nested(JobSchema))


class LogLineSchema(Schema):
    time = fields.String()
    level = fields.String()
    logger = fields.String()
    message = fields.String()


class JobLogSchema(Schema):
    job = fields.String()
    lines = fields.List(fields.Nested(LogLineSchema))


class RunRequestedSchema(Schema):
    job = fields.String()
    requested_at = fields.String()


class ArtistSchema(Schema):
    artist = fields.String(required=True, validate=validate.Length(min=1, max=500))


class BlockedSchema(Schema):
    artist = fields.String()
    rejected = fields.Integer(metadata={"description": "Pending albums of the artist that were rejected"})


class BlocklistSchema(Schema):
    artists = fields.List(fields.String())


# --- settings: built from the SETTINGS table, so the document lists every key ---------


def _doc_field(setting: Setting) -> fields.Field:
    description = setting.help + (" Secret: read back only as set (\u2022\u2022\u2022) or empty." if setting.secret else "")
    meta = {"description": description}
    field = setting.field
    if isinstance(field, Duration):
        return fields.Raw(metadata={**meta, "type": "string",
                                    "description": description + ' Seconds, or "90s", "30m", "6h", "7d", "1w".'})
    if isinstance(field, StringList):
        return fields.List(fields.String(), metadata=meta)
    if isinstance(field, fields.Boolean):
        return fields.Boolean(metadata=meta)
    if isinstance(field, fields.Integer):
        return fields.Integer(metadata=meta)
    if isinstance(field, fields.Float):
        return fields.Float(metadata=meta)
    choices = [v.choices for v in field.validators if isinstance(v, validate.OneOf)]
    return fields.String(validate=validate.OneOf(choices[0]) if choices else None, metadata=meta)


def _section_schema(section: str) -> type[Schema]:
    return Schema.from_dict({s.key: _doc_field(s) for s in SETTINGS if s.section == section},
                            name=f"{section.capitalize()}SettingsSchema")


SettingsValuesSchema = Schema.from_dict(
    {section: fields.Nested(_section_schema(section)) for section in SECTIONS}, name="SettingsValuesSchema"
)


class SettingsSchema(Schema):
    settings = fields.Nested(SettingsValuesSchema, metadata={"description": "Every setting; secrets masked"})
    sources = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "'section.key' -> default, file, ui or env:NAME"})
    changed = fields.List(fields.String(), metadata={"description": "After an update: the keys saved"})
