"""Marshmallow schemas of the JSON API: they validate input and generate the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.config import MASK, SECTIONS, SETTINGS, Duration, Setting, StringList
from app.downloads import STATES as DOWNLOAD_STATES
from app.fields import Name, Text
from app.learning import REJECT_REASONS
from app.records import QueueItemSchema
from app.repository import DOWNLOAD_GROUPS, SORTS
from app.text import strip_blanks

MBID = Text(min_length=1, max_length=100, metadata={"example": "f5093c06-23e3-404f-aeaa-40f72885ee3a"})


class JSONBoolean(fields.Boolean):
    """true or false, as JSON has them: "yes", 1 or "on" are refused, as the document says."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"example": "invalid_input"})
    message = fields.String(required=True)
    details = fields.Raw(allow_none=True, metadata={"description": "Field -> messages for invalid input"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class DataDirHealthSchema(Schema):
    writable = fields.Boolean(metadata={"description": "A test write in the data folder worked"})
    problem = fields.String(allow_none=True, metadata={"example": "the data folder is not writable: the disk is full"})


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok", "description": "`ok` or `data_dir_not_writable`"})
    version = fields.String()
    warnings = fields.List(fields.String())
    data_dir = fields.Nested(DataDirHealthSchema)


class QueueQuerySchema(Schema):
    source = Text(load_default=None, max_length=50, metadata={"description": "listenbrainz, catalog or manual"})
    q = Text(load_default=None, max_length=200, metadata={"description": "Text in the artist or album"})
    for_ = fields.String(load_default=None, data_key="for", validate=validate.OneOf(("me",)),
                         metadata={"description": "me: only albums recommended to the signed-in member"})
    sort = fields.String(load_default="date", validate=validate.OneOf(SORTS))
    order = fields.String(load_default=None, validate=validate.OneOf(("asc", "desc")),
                          metadata={"description": "Default: desc, except asc for artist"})
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class QueueItemOutSchema(QueueItemSchema):
    approved_at = fields.String(dump_only=True)
    rejected_at = fields.String(dump_only=True)
    decided_by = fields.String(dump_only=True, metadata={"description": "The member who decided (when known)"})


class QueuePageSchema(Schema):
    items = fields.List(fields.Nested(QueueItemOutSchema))
    total = fields.Integer(metadata={"description": "Items matching the filter"})
    offset = fields.Integer()
    limit = fields.Integer()


class SelectionSchema(Schema):
    """Which pending items: a list of MBIDs, or all that match a filter (source and q go only with that)."""

    mbids = fields.List(MBID, validate=validate.Length(min=1, max=10_000),
                        metadata={"description": "These pending albums"})
    all = JSONBoolean(load_default=False, metadata={"description": "Every pending item matching source and q"})
    source = Text(load_default=None, max_length=50, metadata={"description": "Only this source (listenbrainz, "
                                                                             "catalog, manual)"})
    q = Text(load_default=None, max_length=200, metadata={"description": "Only items with this text in the "
                                                                         "artist or album"})
    for_ = fields.String(load_default=None, data_key="for", validate=validate.OneOf(("me",)),
                         metadata={"description": "me: only albums recommended to the signed-in member"})

    @validates_schema
    def one_way(self, data, **kwargs):
        if "mbids" in data and data["all"]:
            raise ValidationError("Give either mbids or all: true, not both.", "mbids")
        if "mbids" not in data and not data["all"]:
            raise ValidationError("Give mbids, or all: true.", "mbids")
        for name, key in (("source", "source"), ("q", "q"), ("for_", "for")):
            if "mbids" in data and data[name] is not None:
                raise ValidationError("Goes only with all: true, not with mbids.", key)

    @staticmethod
    def openapi_shape(generated: dict) -> dict:
        """The rule above as the document states it: one of two objects (a generated client gets two models)."""
        fields_ = generated["properties"]
        all_true = {key: value for key, value in fields_["all"].items() if key != "default"} | {"enum": [True]}
        by_mbid = {"title": "SelectionByMbid", "type": "object", "required": ["mbids"], "additionalProperties": False,
                   "properties": {"mbids": fields_["mbids"], "all": {**fields_["all"], "enum": [False]}}}
        matching = {"title": "SelectionMatching", "type": "object", "required": ["all"], "additionalProperties": False,
                    "properties": {"all": all_true, "source": fields_["source"], "q": fields_["q"],
                                   "for": fields_["for"]}}
        return {"description": "mbids, or all: true with an optional filter", "oneOf": [by_mbid, matching]}


class RejectSelectionSchema(SelectionSchema):
    """A selection to reject, with an optional reason kept in each decision's record."""

    reason = fields.String(load_default=None, validate=validate.OneOf(tuple(REJECT_REASONS)),
                           metadata={"description": "Why (optional): " + ", ".join(
                               f"{key} ({words})" for key, words in REJECT_REASONS.items())})

    @staticmethod
    def openapi_shape(generated: dict) -> dict:
        shape = SelectionSchema.openapi_shape(generated)
        for alternative in shape["oneOf"]:
            alternative["properties"]["reason"] = generated["properties"]["reason"]
            alternative["title"] = alternative["title"].replace("Selection", "RejectSelection")
        return {**shape, "description": shape["description"] + ", and an optional reason"}


class RefusalSchema(Schema):
    mbid = fields.String()
    reason = fields.String()


class DecisionSchema(Schema):
    count = fields.Integer()
    items = fields.List(fields.Nested(QueueItemOutSchema))
    not_pending = fields.List(fields.String(), metadata={"description": "Requested MBIDs that were not pending"})
    refused = fields.List(fields.Nested(RefusalSchema),
                          metadata={"description": "Pending albums an approve left pending, and why (a name "
                                                   "that is empty once control characters are taken out)"})


class WishlistEntryInSchema(Schema):
    artist = Name(required=True)
    title = Name(required=True)
    kind = fields.String(load_default="album", validate=validate.OneOf(("album", "track")))
    force = JSONBoolean(load_default=False, load_only=True,
                           metadata={"description": "Add even when the library already has the album"})


class WishlistRowSchema(Schema):
    artist = fields.String()
    title = fields.String()
    kind = fields.String()
    text = fields.String(metadata={"description": "'Artist - Title', as slskd tools read it"})
    state = fields.String(metadata={"description": "wanted, searching, queued, downloading, completed, failed, "
                                                   "no_result, verifying, importing, in_library, quarantined (the "
                                                   "download's record), or sent (in downloaded.json)"})
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
    outcome = fields.String(metadata={"description": "ok, skipped, failed, partial (part of the work is left for the "
                                                     "next run), or warning (a damaged data file was moved aside)"})
    summary = fields.String()
    error = fields.String(allow_none=True)
    left = fields.String(allow_none=True, metadata={"description": "what a partial run left for the next run"})


class JobSchema(Schema):
    name = fields.String()
    title = fields.String()
    state = fields.String(metadata={"description": "running, interrupted (a run's process ended before the run "
                                                   "finished; the next run clears it), idle, stopped or never"})
    running = fields.Boolean(metadata={"description": "True only while a run holds the job's lock"})
    started_at = fields.String(allow_none=True, metadata={"description": "When the running or interrupted run started"})
    requested_at = fields.String(allow_none=True, metadata={"description": "A pending 'Run now'"})
    due_at = fields.String(allow_none=True, metadata={
        "description": "A run asked for later: slskd-downloader's, 30 s after the last approval"})
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
    artist = Name(required=True)


class BlockedSchema(Schema):
    artist = fields.String()
    rejected = fields.Integer(metadata={"description": "Pending albums of the artist that were rejected"})


class BlocklistSchema(Schema):
    artists = fields.List(fields.String())


# --- who is asking -------------------------------------------------------------------------


class MeSchema(Schema):
    name = fields.String(metadata={"description": "The member's name (household.members, or the single-user admin)"})
    role = fields.String(validate=validate.OneOf(["admin", "member"]),
                         metadata={"description": "admin: may change settings and credentials; member: may decide, "
                                                  "add to the wishlist and run jobs"})
    admin = fields.Boolean(metadata={"description": "Whether the role is admin"})
    auth_method = fields.String(validate=validate.OneOf(["basic", "api_key", "proxy", "none"]),
                                metadata={"description": "How the request signed in"})
    listenbrainz_user = fields.String(metadata={"description": "The member's ListenBrainz user, or empty"})


# --- settings: built from the SETTINGS table, so the document lists every key ---------
#
# What the API returns and what it takes differ for some settings, and the document says
# both: a duration is returned as whole seconds (21600) and taken as seconds or as text
# with units ("6h"); a secret is returned as set (MASK) or not ("") and taken as its new
# value, or blank/null/MASK to keep it.


def _json_type_ok(field: fields.Field, value) -> bool:
    """Whether ``value`` has the JSON type the document gives a setting (the settings file and the
    environment are text, so the settings' own fields also take "true" or "8080": the API does not)."""
    # A number the field then checks: 2.0 is the integer 2 in JSON Schema, and 2.5 gets the field's message.
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(field, Duration):
        return isinstance(value, str) or number
    if isinstance(field, StringList):
        return isinstance(value, list) and all(isinstance(entry, str) for entry in value)
    if isinstance(field, fields.Boolean):
        return isinstance(value, bool)
    if isinstance(field, fields.Integer):
        return number
    if isinstance(field, fields.Float):
        return number
    return isinstance(value, str)


def _keeps_secret(value) -> bool:
    return value is None or (isinstance(value, str) and strip_blanks(value) in ("", MASK))


class SettingValue(fields.Field):
    """One setting in a PATCH body: the JSON type the document gives it, then the setting's own field
    (the one the settings file, the environment and the settings page load through)."""

    def __init__(self, setting: Setting, **kwargs):
        description = setting.help + (" Secret: blank, null or the mask keep the current value." if setting.secret
                                      else "")
        super().__init__(allow_none=setting.secret, metadata={"description": description}, **kwargs)
        self.setting = setting

    def _deserialize(self, value, attr, data, **kwargs):
        if self.setting.secret and _keeps_secret(value):
            return value  # validate_changes keeps the current secret
        if not _json_type_ok(self.setting.field, value):
            raise self.setting.field.make_error("invalid")  # the field's own message, as the settings page says it
        return self.setting.field.deserialize(value)


class SettingShown(fields.Field):
    """One setting as GET and PATCH /settings return it."""

    def __init__(self, setting: Setting, **kwargs):
        super().__init__(required=True, metadata={"description": setting.help}, **kwargs)
        self.setting = setting


class _SettingsSchema(Schema):
    error_messages = {"unknown": "Not a Resonance setting."}


def _section_schema(section: str, field: type[fields.Field], suffix: str, editable_only: bool = False) -> type[Schema]:
    return _SettingsSchema.from_dict(
        {s.key: field(s) for s in SETTINGS if s.section == section and not (editable_only and s.file_only)},
        name=f"{section.capitalize()}{suffix}Schema")


SettingsValuesSchema = _SettingsSchema.from_dict(
    {section: fields.Nested(_section_schema(section, SettingShown, "Settings"), required=True)
     for section in SECTIONS}, name="SettingsValuesSchema")

SettingsChangesSchema = _SettingsSchema.from_dict(
    # Settings set only in the config file (household.members) are not taken here.
    {section: fields.Nested(_section_schema(section, SettingValue, "SettingsChanges", editable_only=True))
     for section in SECTIONS if any(s.section == section and not s.file_only for s in SETTINGS)},
    name="SettingsChangesSchema")


class SettingsSchema(Schema):
    settings = fields.Nested(SettingsValuesSchema, metadata={"description": "Every setting; secrets masked"})
    sources = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "'section.key' -> default, file, ui or env:NAME"})
    changed = fields.List(fields.String(), metadata={"description": "After an update: the keys saved"})


# --- downloads ----------------------------------------------------------------------------

DOWNLOAD_KEY = Text(required=True, min_length=1, max_length=2000,
                             metadata={"description": "The wishlist entry's text, 'Artist - Title'", "example":
                                       "Sigur Rós - ( )"})


class DownloadsQuerySchema(Schema):
    group = fields.String(load_default=None, validate=validate.OneOf(tuple(DOWNLOAD_GROUPS)),
                          metadata={"description": "Only this group: active (searching, queued, downloading), "
                                                   "waiting (wanted, no_result), completed or failed. Default: all"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000),
                           metadata={"description": "Records per group, most recently updated first"})


class DownloadKeySchema(Schema):
    key = DOWNLOAD_KEY


class DownloadProgressSchema(Schema):
    files_done = fields.Integer(metadata={"description": "Audio files completed"})
    files_total = fields.Integer(metadata={"description": "Audio files in the folder"})
    bytes_done = fields.Integer()
    bytes_total = fields.Integer()
    speed = fields.Float(metadata={"description": "Bytes per second over the running transfers"})
    percent = fields.Float(metadata={"description": "0 to 100, by bytes"})


class DownloadFileSchema(Schema):
    filename = fields.String(metadata={"description": "The peer's full path"})
    name = fields.String(metadata={"description": "The file's name without its folders"})
    state = fields.String(allow_none=True, metadata={"description": "slskd's state, e.g. 'InProgress', "
                                                                    "'Completed, Succeeded'"})
    size = fields.Integer()
    bytes = fields.Integer(metadata={"description": "Bytes transferred"})
    audio = fields.Boolean()
    percent = fields.Float()


class TransferSchema(Schema):
    id = fields.String(metadata={"description": "The id of the candidate it was queued from"})
    user = fields.String(metadata={"description": "The Soulseek user it comes from"})
    folder = fields.String()
    format = fields.String(allow_none=True)
    score = fields.Float(allow_none=True)
    state = fields.String(allow_none=True,
                          metadata={"description": "queued, downloading, completed, failed, cancelled"})
    queued_at = fields.String(allow_none=True)
    ended_at = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    remote_queued_since = fields.String(allow_none=True)
    last_progress_at = fields.String(allow_none=True)
    progress = fields.Nested(DownloadProgressSchema)
    files = fields.List(fields.Nested(DownloadFileSchema))


class CandidateSchema(Schema):
    id = fields.String(metadata={"description": "What POST /downloads/pick takes to download this folder"})
    pickable = fields.Boolean(metadata={"description": "Its files are known, so it can be downloaded by hand "
                                                       "(the latest search's candidates)"})
    user = fields.String()
    folder = fields.String()
    format = fields.String(allow_none=True)
    files = fields.Integer(metadata={"description": "Audio files"})
    extras = fields.Integer(metadata={"description": "Cover, .cue, .log… coming along"})
    size = fields.Integer()
    score = fields.Float(metadata={"description": "0 to 1; queued only at slskd.min_score or more"})
    accepted = fields.Boolean(allow_none=True)
    free_slot = fields.Boolean(allow_none=True)
    speed = fields.Integer(allow_none=True)
    queue = fields.Integer(allow_none=True)
    factors = fields.Dict(keys=fields.String(), values=fields.Float(),
                          metadata={"description": "completeness, title, quality, reliability, free_slot, speed, "
                                                   "queue"})
    reasons = fields.List(fields.String(), metadata={"description": "One line per factor, in plain words"})


class SearchQueryRunSchema(Schema):
    text = fields.String()
    state = fields.String(allow_none=True)
    responses = fields.Integer()
    files = fields.Integer()


class AttemptSchema(Schema):
    number = fields.Integer()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True, metadata={"description": "queued, no_result, stopped, postponed, error"})
    reason = fields.String(allow_none=True)
    queries = fields.List(fields.Nested(SearchQueryRunSchema))
    candidates = fields.List(fields.Nested(CandidateSchema), metadata={"description": "The ten best"})
    considered = fields.Integer(metadata={"description": "Candidates scored in all"})
    best_score = fields.Float(allow_none=True)
    chosen = fields.Nested(CandidateSchema, allow_none=True)


class PickedSchema(Schema):
    id = fields.String()
    user = fields.String()
    folder = fields.String()
    format = fields.String(allow_none=True)


class DownloadEventSchema(Schema):
    time = fields.String(allow_none=True)
    text = fields.String()


SHOWN_STATES = tuple(state for state in DOWNLOAD_STATES if state != "removed")  # a removed one is never shown


class DownloadSchema(Schema):
    key = fields.String()
    artist = fields.String()
    title = fields.String()
    kind = fields.String(metadata={"description": "album or track"})
    state = fields.String(validate=validate.OneOf(SHOWN_STATES),
                          metadata={"description": "wanted, searching, queued, downloading, completed (downloaded), "
                                                   "failed, no_result; then the import stage's verifying, "
                                                   "importing, in_library, quarantined"})
    label = fields.String()
    state_since = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "Why it failed or found nothing"})
    next_retry_at = fields.String(allow_none=True)
    attempt_count = fields.Integer(metadata={"description": "Searches since the last Retry"})
    retry_due = fields.Boolean(metadata={"description": "Searched at the next run (next_retry_at passed or unset)"})
    query = fields.String(allow_none=True, metadata={"description": "The query typed in 'Search again', if any"})
    failover_requested = fields.Boolean()
    picked = fields.Nested(PickedSchema, allow_none=True,
                           metadata={"description": "The folder chosen by hand, queued at the next run"})
    can_pick = fields.Boolean(metadata={"description": "A candidate of the latest search can be downloaded by "
                                                       "hand now (not downloaded, not being searched)"})
    download = fields.Nested(TransferSchema, allow_none=True, metadata={"description": "The latest folder queued"})
    attempt = fields.Nested(AttemptSchema, allow_none=True, metadata={"description": "The latest search"})
    events = fields.List(fields.Nested(DownloadEventSchema), metadata={"description": "Newest first"})
    import_reason = fields.String(allow_none=True, metadata={"description": "Why the import stage quarantined it"})
    import_failed_track = fields.String(allow_none=True,
                                        metadata={"description": "The track that failed verification or import"})
    import_note = fields.String(allow_none=True, metadata={"description": "What the import stage tried next"})
    library_path = fields.String(allow_none=True, metadata={"description": "Where the album is in the library"})
    library_url = fields.String(allow_none=True, metadata={"description": "The album in Navidrome (http or https)"})


class DownloadDetailSchema(DownloadSchema):
    attempts = fields.List(fields.Nested(AttemptSchema), metadata={"description": "The last ten searches"})
    downloads = fields.List(fields.Nested(TransferSchema), metadata={"description": "The last ten folders queued"})


class LiveCheckSchema(Schema):
    problem = fields.String(allow_none=True, metadata={"description": "e.g. 'slskd unreachable: …'"})
    checked_at = fields.Float(allow_none=True, metadata={"description": "Epoch seconds of the last transfer check "
                                                                        "made for the Downloads page"})


class DownloadsSchema(Schema):
    active = fields.List(fields.Nested(DownloadSchema))
    waiting = fields.List(fields.Nested(DownloadSchema))
    completed = fields.List(fields.Nested(DownloadSchema))
    failed = fields.List(fields.Nested(DownloadSchema))
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "Records per group (before the limit)"})
    polling = fields.Boolean(metadata={"description": "Whether the Downloads page is refreshing itself: something "
                                                      "is active, or a run is going on or asked for"})
    live = fields.Nested(LiveCheckSchema)


class SearchText(Text):
    """What to search for: text that is not blank (the search folds white space and trims it)."""

    not_blank = True

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text and not text.strip():  # "" gets the Length message
            raise ValidationError("The query is empty.")
        return text


class DownloadSearchAgainSchema(Schema):
    key = DOWNLOAD_KEY
    query = SearchText(required=True, min_length=1, max_length=300,
                       metadata={"description": "Searched instead of the usual queries", "example": "sigur ros"})


class DownloadPickSchema(Schema):
    key = DOWNLOAD_KEY
    candidate = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{12}$"),
                              metadata={"description": "The candidate's id (12 hexadecimal digits), from the "
                                                       "latest search's candidates", "example": "3f2a9c0d41be"})


class DownloadRemoveSchema(Schema):
    key = DOWNLOAD_KEY
    keep_wishlist = JSONBoolean(load_default=False,
                                   metadata={"description": "Leave the entry on the wishlist (it is not searched "
                                                            "again unless retried)"})


class DownloadActionSchema(Schema):
    message = fields.String()
    download = fields.Nested(DownloadSchema, allow_none=True)
    run_requested_at = fields.String(allow_none=True, metadata={"description": "The downloader's 'Run now'"})
