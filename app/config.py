"""Settings: one validated object built from four layers.

    defaults  <  YAML file (RESONANCE_CONFIG)  <  saved from the web UI  <  environment

Every setting is declared once in ``SETTINGS`` below, with its marshmallow
field (type and validation), default and help text; the docs, the example
config, the settings form and the API all come from that table.

Environment: ``RESONANCE_<SECTION>__<KEY>`` for any setting (e.g.
``RESONANCE_SLSKD__API_KEY``), the architecture's names (``LB_FETCH_INTERVAL``,
``CATALOG_INTERVAL``, ``LIBRARY_INTERVAL``, ``SLSKD_INTERVAL``, ``LOG_LEVEL``), and ``<NAME>_FILE``
for either form to read the value from a file (Docker secrets).

A wrong value raises ``ConfigError`` whose messages name the key, the reason
and where the value came from. Secret values never appear in messages.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping
from urllib.parse import urlsplit

import yaml
from marshmallow import ValidationError, fields, validate

from app.fields import Secret, Text, WholeNumber, text_problem, validation_messages
from app.masking import notification_url_secrets
from app.text import strip_blanks
from app.vocabulary import AUDIO_EXTENSIONS, SECONDARY_TYPES

CONFIG_ENV = "RESONANCE_CONFIG"
DEFAULT_CONFIG_PATH = "./config.yaml"
ENV_PREFIX = "RESONANCE_"
MASK = "••••••••"


class ConfigError(Exception):
    """One or more settings are wrong; ``messages`` holds one line per problem."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("; ".join(messages))


# --- field types ------------------------------------------------------------

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"([0-9]{1,12})\s*([smhdw])")
#: The longest duration any setting takes: schedules, sleeps and date arithmetic
#: (``schedule``, ``Event.wait``, ``timedelta``, the downloader's doubling
#: retry delay) all stay far inside their limits below it.
MAX_DURATION = 365 * 86400


class Duration(fields.Field):
    """Seconds, given as a number ("3600") or with units ("6h", "1h30m", "7d", "1w"); one second to a year."""

    default_error_messages = {
        "invalid": 'Not a duration: use seconds or units like "90s", "30m", "6h", "7d", "1w".',
        "zero": "Must be at least one second.",
        "too_long": "Must be at most 365 days (52w1d).",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise self.make_error("invalid")
        text = str(int(value) if isinstance(value, float) else value).strip().lower().replace(" ", "")
        if re.fullmatch("[0-9]{1,12}", text):
            seconds = int(text)
        elif not text or len(text) > 100 or _DURATION_RE.sub("", text):
            raise self.make_error("invalid")
        else:
            seconds = sum(int(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_RE.findall(text))
        if seconds < 1:
            raise self.make_error("zero")
        if seconds > MAX_DURATION:
            raise self.make_error("too_long")
        return seconds

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class StringList(fields.Field):
    """A list of strings; from the environment as comma-separated text.

    ``check`` refuses an entry by raising ValidationError; ``choices`` are the
    only entries allowed (any case; kept as written in ``choices``).
    """

    default_error_messages = {"invalid": "Not a list of text values.", "too_many": "More than 100 entries."}

    def __init__(self, *, check=None, choices=None, **kwargs):
        super().__init__(**kwargs)
        self.check, self.choices = check, choices

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            entries = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                                                     for v in value):
            entries = [str(v).strip() for v in value]
            if not all(entries):  # a list says each entry; only comma-separated text may have gaps
                raise ValidationError("An entry is empty.")
        else:
            raise self.make_error("invalid")
        if len(entries) > 100:
            raise self.make_error("too_many")
        return [self._entry(entry) for entry in entries]

    def _entry(self, entry: str) -> str:
        problem = text_problem(entry) or (f"{entry[:40]}…: longer than 200 characters." if len(entry) > 200 else None)
        if problem:
            raise ValidationError(problem)
        if self.choices:
            known = {choice.casefold(): choice for choice in self.choices}
            if entry.casefold() not in known:
                raise ValidationError(f"{entry}: not one of {', '.join(self.choices)}.")
            entry = known[entry.casefold()]
        if self.check:
            self.check(entry)
        return entry

    def _serialize(self, value, attr, obj, **kwargs):
        return list(value)


NOTIFICATION_URL_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]{0,31}://[!-~]+$"
NOTIFICATION_URL_MAX = 2000


class NotificationUrls(StringList):
    """Apprise URLs (``ntfy://host/topic``, ``json://host/hook``, ``mailto://user:pass@host``...), one per entry.

    Only their form is checked here (Apprise itself is loaded when a message goes out); an
    entry is a secret, so no message quotes it.
    """

    def _entry(self, entry: str) -> str:
        if len(entry) > NOTIFICATION_URL_MAX:
            raise ValidationError(f"A notification URL is longer than {NOTIFICATION_URL_MAX} characters.")
        if not re.match(NOTIFICATION_URL_PATTERN, entry):
            raise ValidationError("Not an Apprise URL: scheme://... in printable ASCII, no spaces "
                                  "(e.g. ntfy://ntfy.example.com/topic; percent-encode other characters).")
        return entry


#: What a notification can be about; every one is on unless notifications.events leaves it out.
NOTIFICATION_EVENTS = ("new_suggestions", "album_ready", "album_given_up", "job_failing", "credentials_rejected")
QUIET_HOURS_PATTERN = r"^(([01]?[0-9]|2[0-3]):[0-5][0-9]-([01]?[0-9]|2[0-3]):[0-5][0-9])?$"
_QUIET_HOURS = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])-([01]?[0-9]|2[0-3]):([0-5][0-9])$")


def parse_quiet_hours(text: str) -> tuple[int, int] | None:
    """"22:00-07:00" -> (start, end) in minutes after midnight; None for "" (no quiet hours).
    A span that ends where it starts ("22:00-22:00") holds nothing."""
    match = _QUIET_HOURS.match(text or "")
    if not match:
        return None
    hour1, minute1, hour2, minute2 = map(int, match.groups())
    return hour1 * 60 + minute1, hour2 * 60 + minute2


def _quiet_hours(value: str) -> None:
    if value and parse_quiet_hours(value) is None:
        raise ValidationError('Not a span of hours: write HH:MM-HH:MM, e.g. "22:00-07:00".')


def _secret(max_length: int) -> fields.Field:
    return Secret(max_length=max_length)


def _url(required: bool = False) -> fields.Field:
    """An http(s) URL; empty is allowed for services that are optional."""

    def check(value: str) -> None:
        if not value and not required:
            return
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValidationError("Not an http:// or https:// URL.")
        try:
            urlsplit(value).port  # noqa: B018  (raises for a port out of range)
        except ValueError:
            raise ValidationError("Not an http:// or https:// URL: the port is not a number from 0 to 65535.") from None

    # The document's pattern is the plain form of what check() takes (it takes more: IPv6, user@host).
    pattern = r"https?://[A-Za-z0-9._~-]+(:[0-9]{1,4})?(/[!-~]*)?"
    return Text(max_length=1000, validate=check,
                metadata={"pattern": f"^{pattern}$" if required else f"^({pattern})?$"})


def _address_or_network(entry: str) -> None:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise ValidationError(f"{entry}: not an IP address or CIDR (e.g. 172.18.0.0/16).") from None


# Plain forms of what _address_or_network, _host and _header_name take, for the API's document.
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4_NETWORK_PATTERN = rf"^({_OCTET}\.){{3}}{_OCTET}(/([0-9]|[12][0-9]|3[0-2]))?$"
_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_PATTERN = rf"^{_LABEL}(\.{_LABEL})*$"
HEADER_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"


def _host(value: str) -> None:
    try:
        ipaddress.ip_address(value.removeprefix("[").removesuffix("]"))
    except ValueError:
        if not re.fullmatch(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?", value):
            raise ValidationError("Not an IP address or host name (e.g. 127.0.0.1, 0.0.0.0, localhost).") from None


def _header_name(value: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", value):
        raise ValidationError("Not an HTTP header name (letters, digits and - only, e.g. Remote-User).")


_TEMPLATE_FIELDS = ("albumartist", "artist", "album", "year", "disc", "discnumber", "track", "title", "ext")
#: A library path template: relative, no ".." part, known fields only (numbers may be padded: {track:02}),
#: ending in {ext}. The API document carries it, so a client knows before sending.
PATH_TEMPLATE_PATTERN = (r"^(?!/)(?!(?:.*/)?\.\.(?:/|$))"
                         r"(?:[^{}]|\{(?:albumartist|artist|album|disc|title|ext)\}"
                         r"|\{(?:track|discnumber|year)(?::0?[1-9])?\})*\{ext\}$")


def _path_template(value: str) -> None:
    """A library path template names only known fields and ends in the file's extension."""
    from string import Formatter

    if not re.fullmatch(PATH_TEMPLATE_PATTERN, value):
        raise ValidationError(f"Must be a relative path ending in .{{ext}}, using only the fields "
                              f"{', '.join(_TEMPLATE_FIELDS)} ({{track:02}} pads a number).")
    try:
        names = [name for _, name, _, _ in Formatter().parse(value) if name is not None]
        value.format(**{key: 1 if key in ("track", "discnumber", "year") else "x" for key in _TEMPLATE_FIELDS})
    except (ValueError, KeyError, IndexError) as exc:
        raise ValidationError(f"Not a path template: {exc}. Fields: {', '.join(_TEMPLATE_FIELDS)}.") from None
    unknown = sorted(set(names) - set(_TEMPLATE_FIELDS))
    if unknown:
        raise ValidationError(f"Unknown field {', '.join(unknown)}; fields: {', '.join(_TEMPLATE_FIELDS)}.")
    if not value.endswith("{ext}") or value.startswith("/") or ".." in value.split("/"):
        raise ValidationError("Must be a relative path ending in .{ext}.")


def _bool() -> fields.Field:
    # Strict on purpose: a typo like "ture" must fail, not silently mean False.
    return fields.Boolean(truthy={True, "true", "True", "TRUE", "1", 1, "yes"}, falsy={False, "false", "False", "FALSE", "0", 0, "no"})


def _int(low: int | None = None, high: int | None = None) -> fields.Field:
    return WholeNumber(validate=validate.Range(min=low, max=high))


def _float(low: float | None = None, high: float | None = None) -> fields.Field:
    return fields.Float(validate=validate.Range(min=low, max=high))


def _choice(*options: str) -> fields.Field:
    return fields.String(validate=validate.OneOf(options))


def _text(max_length: int = 1000) -> fields.Field:
    return Text(max_length=max_length)


class NotifyUrls(NotificationUrls):
    """A member's Apprise URLs in config.yaml: one URL or a list (never split at commas), each checked
    as ``notifications.urls`` are; secret, so a message says which one, never what it is."""

    default_error_messages = {"invalid": "Not a list of notification URLs."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value) or len(value) > 20:
            raise self.make_error("invalid")
        urls = [strip_blanks(v) for v in value if strip_blanks(v)]
        for number, url in enumerate(urls, 1):
            try:
                self._entry(url)
            except ValidationError:
                raise ValidationError(f"URL {number} is not a notification URL (scheme://..., e.g. ntfy://topic); "
                                      "the value is secret and not shown.") from None
        return urls


MEMBER_ROLES = ("admin", "member")
#: A member's keys in config.yaml: key -> (field, secret). Secrets are never shown or logged.
MEMBER_KEYS: dict[str, tuple[fields.Field, bool]] = {
    "name": (Text(min_length=1, max_length=100), False),
    "role": (fields.String(validate=validate.OneOf(MEMBER_ROLES)), False),
    "listenbrainz_user": (Text(max_length=200), False),
    "listenbrainz_token": (Secret(max_length=200), True),
    "password_hash": (Secret(max_length=500), True),
    "api_key": (Secret(max_length=500), True),
    "proxy_user": (Text(max_length=200), False),
    "notify": (NotifyUrls(), True),
}
MEMBER_SECRET_KEYS = tuple(key for key, (_, secret) in MEMBER_KEYS.items() if secret)


class MemberList(fields.Field):
    """household.members: a list of objects (see MEMBER_KEYS); from the environment as JSON or YAML text.

    Each entry comes back with every key (blank when not given, role "member"); messages name
    the entry and key ("members[2].role: ...") and never show a secret."""

    default_error_messages = {
        "invalid": "Not a list of members (each one name: ..., role: admin or member, ...).",
        "too_many": "More than 50 members.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            try:
                value = yaml.safe_load(value) if value.strip() else []
            except (yaml.YAMLError, RecursionError, ValueError):
                raise self.make_error("invalid") from None
        if value is None:
            value = []
        if not isinstance(value, (list, tuple)):
            raise self.make_error("invalid")
        if len(value) > 50:
            raise self.make_error("too_many")
        problems: list[str] = []
        members = [self._member(index, entry, problems) for index, entry in enumerate(value, 1)]
        if not problems:
            problems += self._clashes(members)
        if problems:
            raise ValidationError(problems)
        return members

    @staticmethod
    def _member(index: int, entry, problems: list[str]) -> dict:
        where = f"members[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected name: ..., role: ... (an object), found {type(entry).__name__}.")
            return {}
        member = {"name": "", "role": "member", "listenbrainz_user": "", "listenbrainz_token": "",
                  "password_hash": "", "api_key": "", "proxy_user": "", "notify": []}
        for key, raw in entry.items():
            if key not in MEMBER_KEYS:
                problems.append(f"{where}.{key}: not a member setting (one of {', '.join(MEMBER_KEYS)}).")
                continue
            field, secret = MEMBER_KEYS[key]
            try:
                member[key] = field.deserialize("" if raw is None and key != "notify" else raw)
            except ValidationError as exc:
                shown = "" if secret else f" (got {raw!r})"
                problems.append(f"{where}.{key}: {' '.join(validation_messages(exc))}{shown}")
        if "name" not in entry:
            problems.append(f"{where}.name: every member needs a name.")
        elif not member["name"].strip():
            problems.append(f"{where}.name: the name is empty.")
        return member

    @staticmethod
    def _clashes(members: list[dict]) -> list[str]:
        problems = []
        for key, what in (("name", "name"), ("proxy_user", "proxy user"), ("api_key", "API key")):
            seen: dict[str, int] = {}
            for index, member in enumerate(members, 1):
                value = (member.get(key) or member["name"] if key == "proxy_user" else member.get(key)) or ""
                if not value:
                    continue
                if value.casefold() in seen:
                    shown = "" if key == "api_key" else f" {value!r}"
                    first = seen[value.casefold()]
                    problems.append(f"members[{index}].{key}: the same {what}{shown} as members[{first}].")
                seen.setdefault(value.casefold(), index)
        return problems

    def _serialize(self, value, attr, obj, **kwargs):
        return value


#: Words of a key spelled as a person writes them, for labels made from keys.
_KEY_WORDS = {"url": "URL", "api": "API", "tls": "TLS", "mb": "MB", "id": "ID", "ip": "IP", "http": "HTTP",
              "lb": "ListenBrainz", "slskd": "slskd", "smtp": "SMTP", "ntfy": "ntfy"}


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    field: fields.Field
    default: Any
    help: str
    secret: bool = False
    env_aliases: tuple[str, ...] = ()
    #: Set in config.yaml or the environment only; the settings page and the API show it, never change it.
    file_only: bool = False
    #: What a person reads on the settings page; empty: made from the key (see ``title``).
    label: str = ""

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def title(self) -> str:
        """The label, or one made from the key ("min_bitrate" -> "Min bitrate", "base_url" -> "Base URL")."""
        if self.label:
            return self.label
        words = [_KEY_WORDS.get(word, word) for word in self.key.split("_")]
        text = " ".join(words)
        return text[:1].upper() + text[1:]

    @property
    def env_names(self) -> tuple[str, ...]:
        return (f"{ENV_PREFIX}{self.section.upper()}__{self.key.upper()}", *self.env_aliases)


S = Setting
SETTINGS: tuple[Setting, ...] = (
    # general
    S("general", "approval_mode", _choice("manual", "auto"), "manual",
      "manual: discoveries wait in the pending queue for approval; auto: they go straight to the wishlist.",
      label="New suggestions"),
    S("general", "log_level", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "INFO",
      "Log level of every process.", env_aliases=("LOG_LEVEL",), label="Log detail"),
    S("general", "contact", _text(200), "",
      "Your e-mail or URL, sent in the User-Agent; MusicBrainz asks clients for a contact.",
      label="Your contact (for MusicBrainz)"),
    # web UI
    S("web", "host", Text(max_length=100, validate=_host, metadata={"pattern": HOST_PATTERN}), "127.0.0.1",
      "Address the web UI listens on. 127.0.0.1 keeps it private to this machine; the container uses 0.0.0.0.",
      label="Listen address"),
    S("web", "port", _int(1, 65535), 8080, "Port of the web UI.", label="Port"),
    S("web", "auth", _choice("basic", "api_key", "proxy", "none"), "basic",
      "How people and scripts sign in: basic (username + password), api_key, proxy (Authelia and friends), none.",
      label="Sign-in method"),
    S("web", "username", _text(200), "", "HTTP Basic username.", label="Username"),
    S("web", "password", _secret(500), "", "HTTP Basic password (or give password_hash instead).", secret=True,
      label="Password"),
    S("web", "password_hash", _secret(500), "",
      "A werkzeug password hash used instead of a plain password.", secret=True, label="Stored password"),
    S("web", "api_key", _secret(500), "", "Key for scripts: 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.", secret=True,
      label="API key for scripts"),
    S("web", "proxy_groups_header",
      Text(max_length=100, validate=_header_name, metadata={"pattern": HEADER_NAME_PATTERN}), "Remote-Groups",
      "Header carrying the signed-in user's groups (comma-separated) from the proxy.", label="Proxy's groups header"),
    S("web", "proxy_admin_groups", StringList(), ["admins"],
      "Proxy groups whose users are admins; other proxy users are members (see household).",
      label="Proxy groups of admins"),
    S("web", "proxy_user_header",
      Text(max_length=100, validate=_header_name, metadata={"pattern": HEADER_NAME_PATTERN}), "Remote-User",
      "Header carrying the signed-in user from the proxy.", label="Proxy's user header"),
    S("web", "trusted_proxies", StringList(check=_address_or_network, metadata={"item_pattern": IPV4_NETWORK_PATTERN}),
      ["127.0.0.1/32", "::1/128"],
      "IP addresses or CIDRs (172.18.0.0/16) of the reverse proxies whose user header is trusted.",
      label="Trusted proxies"),
    S("web", "login_attempts", _int(1, 1000), 10,
      "Failed sign-ins (wrong password or API key) from one address within login_window before it is refused.",
      label="Failed sign-ins allowed"),
    S("web", "login_window", Duration(), 300,
      "The window for login_attempts, and how long an address that used them up is refused.",
      label="Failed sign-in window"),
    S("web", "workers", _int(1, 32), 1, "gunicorn worker processes; one with threads suits a household.",
      label="Web server processes"),
    S("web", "threads", _int(1, 64), 4, "Threads per gunicorn worker.", label="Threads per process"),
    S("web", "secret_key", _secret(500), "", "Key signing sessions and CSRF tokens; generated when empty.", secret=True,
      label="Signing key"),
    # household
    S("household", "members", MemberList(), [],
      "The people using this Resonance: name, role (admin or member), listenbrainz_user, listenbrainz_token, "
      "password_hash, api_key, proxy_user, notify (see Household). Empty: the web and listenbrainz settings are "
      "one admin.", file_only=True, label="Members"),
    # schedules
    S("schedule", "lb_fetch", Duration(), 6 * 3600, "How often lb-fetch runs.", env_aliases=("LB_FETCH_INTERVAL",),
      label="Time between ListenBrainz runs"),
    S("schedule", "catalog_discovery", Duration(), 7 * 86400, "How often catalog-discovery runs.",
      env_aliases=("CATALOG_INTERVAL",), label="Time between similar-artist runs"),
    S("schedule", "slskd_downloader", Duration(), 3600, "How often slskd-downloader runs.",
      env_aliases=("SLSKD_INTERVAL",), label="Time between download runs"),
    S("schedule", "run_on_start", _bool(), True, "Run each pipeline once when its runner starts.",
      label="Run each job when it starts"),
    S("schedule", "log_lines", _int(10, 5000), 300, "Recent log lines kept per job for the web UI.",
      label="Log lines kept per job"),
    # ListenBrainz
    S("listenbrainz", "base_url", _url(required=True), "https://api.listenbrainz.org", "ListenBrainz API.",
      label="ListenBrainz address"),
    S("listenbrainz", "username", _text(200), "", "Your ListenBrainz user name; lb-fetch is skipped while empty.",
      label="ListenBrainz user name"),
    S("listenbrainz", "token", _secret(200), "", "ListenBrainz user token (optional for the public endpoints).", secret=True,
      label="User token"),
    S("listenbrainz", "source", _choice("cf", "weekly", "both"), "cf",
      "cf: collaborative-filtering recommendations; weekly: the Weekly Exploration playlist; both.",
      label="Recommendations from"),
    S("listenbrainz", "fetch_count", _int(1, 1000), 100, "Recommendations fetched per run.",
      label="Recommendations per run"),
    S("listenbrainz", "mode", _choice("album", "track"), "album",
      "album: resolve recommendations to albums; track: keep single tracks.", label="Suggest"),
    S("listenbrainz", "skip_secondary_types", StringList(choices=SECONDARY_TYPES), [],
      "MusicBrainz secondary types to leave out, e.g. Live, Compilation (see Value formats).",
      label="Leave out album types"),
    # MusicBrainz and Cover Art Archive
    S("musicbrainz", "base_url", _url(required=True), "https://musicbrainz.org",
      "MusicBrainz server (a local mirror works too).", label="MusicBrainz address"),
    S("musicbrainz", "rate_limit", _float(0.1, 100), 1.0,
      "Requests per second; 1 is MusicBrainz's rule, a private mirror may allow more.", label="Requests per second"),
    S("coverart", "base_url", _url(required=True), "https://coverartarchive.org", "Cover Art Archive.",
      label="Cover Art Archive address"),
    # Last.fm
    S("lastfm", "base_url", _url(required=True), "https://ws.audioscrobbler.com/2.0/", "Last.fm API.",
      label="Last.fm address"),
    S("lastfm", "api_key", _secret(200), "", "Last.fm API key; catalog-discovery is skipped while empty.", secret=True,
      label="Last.fm API key"),
    # Subsonic (Navidrome)
    S("subsonic", "base_url", _url(), "", "Your Navidrome/Subsonic server, e.g. http://navidrome:4533.",
      label="Server address"),
    S("subsonic", "username", _text(200), "", "Subsonic user.", label="User name"),
    S("subsonic", "password", _secret(500), "", "Subsonic password.", secret=True, label="Password"),
    S("subsonic", "legacy_auth", _bool(), False,
      "Send the password hex-encoded (p=enc:) for servers without token auth, e.g. LDAP-backed ones.",
      label="Old-style password sign-in"),
    S("subsonic", "verify_tls", _bool(), True, "Check the server's TLS certificate.",
      label="Check the TLS certificate"),
    # previews (Deezer's 30-second previews, fetched and streamed by Resonance)
    S("previews", "enabled", _bool(), True,
      "Play buttons on the cards: 30-second previews from Deezer, fetched by Resonance (the browser never "
      "talks to Deezer).", label="Play previews"),
    S("previews", "deezer_url", _url(required=True), "https://api.deezer.com", "Deezer's public API.",
      label="Deezer address"),
    S("previews", "cache_mb", _int(1, 10000), 50,
      "Megabytes of previews kept on disk (data dir's cache/previews/); the oldest go first.",
      label="Preview cache size (MB)"),
    S("previews", "cache_age", Duration(), 86400, "How long a fetched preview is kept before it is fetched again.",
      label="Keep previews for"),
    # catalog-discovery
    S("catalog", "artists_per_run", _int(1, 10000), 50, "Library artists asked about on Last.fm per run.",
      label="Library artists per run"),
    S("catalog", "refresh_days", _int(1, 3650), 30, "Days before a library artist is asked about again.",
      label="Ask again about an artist after (days)"),
    S("catalog", "similar_limit", _int(1, 250), 50, "Similar artists requested per library artist.",
      label="Similar artists asked for"),
    S("catalog", "min_similarity", _float(0, 1), 0.3, "Smallest Last.fm match (0-1) a candidate needs.",
      label="Smallest similarity"),
    S("catalog", "max_artists_per_run", _int(1, 1000), 10, "New artists whose albums are added per run.",
      label="New artists per run"),
    S("catalog", "albums_per_artist", _int(1, 50), 2, "Albums added per new artist.", label="Albums per new artist"),
    S("catalog", "include_secondary_types", StringList(choices=SECONDARY_TYPES), [],
      "MusicBrainz secondary types to keep (Live, Compilation, Remix, Soundtrack, Demo...; see Value formats); "
      "all are left out by default.", label="Keep album types"),
    # learning from decisions (docs/discovery.md, "Learning from decisions")
    S("listenbrainz", "send_feedback", _bool(), False,
      "Send approvals and rejections of ListenBrainz suggestions back to ListenBrainz as recommendation "
      "feedback for the recording (with the deciding member's token, else listenbrainz.token; sent by lb-fetch).",
      label="Send feedback to ListenBrainz"),
    S("general", "block_offer_after", _int(0, 100), 3,
      "Rejected albums of one artist before Resonance offers to block them (\"don't like the artist\" "
      "offers at once); 0 never offers.", label="Offer to block an artist after (rejections)"),
    # library-discovery: new releases and missing albums of the library's artists
    S("schedule", "library_discovery", Duration(), 86400, "How often library-discovery runs.",
      env_aliases=("LIBRARY_INTERVAL",), label="Run library-discovery every"),
    S("library_discovery", "artists_per_run", _int(1, 10000), 100,
      "Library artists whose discography is read from MusicBrainz per run (one request each, about 1 per "
      "second); a large library is covered over several runs.", label="Discographies read per run"),
    S("library_discovery", "refresh_days", _int(1, 3650), 14,
      "Days before a library artist's discography is read again.", label="Read a discography again after (days)"),
    S("new_releases", "enabled", _bool(), True, "Suggest new albums of library artists (source: new release).",
      label="Suggest new albums"),
    S("new_releases", "window", _int(1, 365), 90,
      "Days: albums first released at most this long ago, or announced for at most this far ahead.",
      label="New means within (days)"),
    S("library_gaps", "enabled", _bool(), True,
      "Suggest the studio albums missing from library artists you own some albums of (source: missing).",
      label="Suggest missing albums"),
    S("library_gaps", "per_artist", _int(1, 50), 2, "Missing albums suggested per artist, most listened first.",
      label="Missing albums per artist"),
    S("library_gaps", "per_run", _int(1, 1000), 20, "Missing albums suggested per run, at most.",
      label="Missing albums per run"),
    # slskd-downloader
    S("slskd", "base_url", _url(), "http://localhost:5030", "slskd web address.", label="slskd address"),
    S("slskd", "url_base", _text(200), "/", "slskd's URL base path (web.url_base), e.g. /slskd.",
      label="slskd URL base path"),
    S("slskd", "api_key", _secret(500), "", "slskd API key.", secret=True, label="slskd API key"),
    S("slskd", "search_timeout", _int(5, 300), 15, "Seconds without new responses before a search ends.",
      label="Search ends after (seconds quiet)"),
    S("slskd", "max_concurrent_searches", _int(1, 2), 2, "Searches in flight at once.", label="Searches at once"),
    S("slskd", "searches_per_window", _int(1, 100), 34, "Searches allowed per window (Soulseek bans faster clients).",
      label="Searches per window"),
    S("slskd", "search_window", Duration(), 220, "The window for searches_per_window.", label="Search window"),
    S("slskd", "preferred_formats", StringList(choices=sorted(AUDIO_EXTENSIONS)), ["flac", "mp3"],
      "Formats in order of preference: file extensions the downloader knows as audio "
      f"({', '.join(sorted(AUDIO_EXTENSIONS))}).", label="Preferred formats"),
    S("slskd", "min_bitrate", _int(0, 5000), 192, "Lossy files below this bitrate (kbps) are not accepted.",
      label="Lowest bitrate (kbps)"),
    S("slskd", "include_extra_files", _bool(), True, "Download cover, .cue and .log files with the album.",
      label="Download cover, .cue and .log files"),
    S("slskd", "min_score", _float(0, 1), 0.6, "Folders scoring below this are not downloaded.",
      label="Lowest folder score"),
    S("slskd", "max_attempts", _int(1, 100), 6, "Searches per wishlist entry before it is given up.",
      label="Searches before giving up"),
    S("slskd", "retry_delay", Duration(), 3600,
      "Wait before an entry without an acceptable result is searched again; doubles after each search.",
      label="Wait before searching again"),
    S("slskd", "remote_queue_timeout", Duration(), 1800, "Give up on a peer that keeps us queued this long.",
      label="Give up on a peer's queue after"),
    S("slskd", "stall_timeout", Duration(), 3600, "Give up on a transfer that makes no progress this long.",
      label="Give up on a stalled transfer after"),
    # library import (after slskd's transfers complete: verify, tag, file, rescan; see docs/downloading.md)
    S("library", "mode", _choice("off", "import"), "off",
      "off: the downloader's work ends when slskd has the files; import: verify, tag and file each finished "
      "album into library_dir, then rescan the Subsonic server.",
      label="Import into the library"),
    S("library", "importer", _choice("builtin", "beets"), "builtin",
      "builtin: Resonance verifies, tags and files; beets: the verified folder goes to 'beet import' with the "
      "release's MusicBrainz id.",
      label="Importer"),
    S("library", "downloads_dir", _text(1000), "",
      "slskd's downloads folder as Resonance sees it (e.g. /downloads); its incomplete folder is not read.",
      label="slskd's downloads folder"),
    S("library", "library_dir", _text(1000), "", "The music library Navidrome scans (e.g. /music).",
      label="Music library folder"),
    S("library", "quarantine_dir", _text(1000), "",
      "Where files that fail the import go, each folder with a note of why; empty: _quarantine inside "
      "downloads_dir (same filesystem, so it is a rename).",
      label="Quarantine folder"),
    S("library", "path_template", Text(max_length=500, validate=_path_template,
                                       metadata={"pattern": PATH_TEMPLATE_PATTERN}),
      "{albumartist}/{year} - {album}/{disc}{track:02} {title}.{ext}",
      "Where a track goes inside library_dir. Fields: albumartist, artist, album, year, disc (\"1-\" on "
      "multi-disc albums, empty otherwise), discnumber, track, title, ext.",
      label="Path in the library"),
    S("library", "transfer", _choice("move", "copy", "hardlink"), "move",
      "move (a rename on one filesystem; across filesystems copy, fsync, compare, then delete), copy or "
      "hardlink.",
      label="Move, copy or hardlink"),
    S("library", "duration_tolerance", _int(1, 60), 5,
      "Seconds a track's length may differ from the MusicBrainz tracklist.",
      label="Length tolerance (seconds)"),
    S("library", "acoustid_key", _secret(200), "",
      "AcoustID application key; with fpcalc installed, every track is fingerprinted and checked.", secret=True,
      label="AcoustID key"),
    S("library", "acoustid_url", _url(required=True), "https://api.acoustid.org", "AcoustID's web service.",
      label="AcoustID address"),
    S("library", "scan_timeout", Duration(), 600,
      "How long to wait for the Subsonic server's rescan before the album is marked imported but not seen.",
      label="Wait for the rescan at most"),
    # notifications (through Apprise: ntfy, Gotify, Discord, Telegram, Matrix, e-mail, webhooks...)
    S("notifications", "urls",
      NotificationUrls(metadata={"item_pattern": NOTIFICATION_URL_PATTERN, "item_max_length": NOTIFICATION_URL_MAX}), [],
      "Apprise URLs that get the household's messages, e.g. ntfy://ntfy.example.com/TOPIC, "
      "json://hooks.example/resonance (see Notifications); each member may have their own too.", secret=True,
      label="Household notification URLs"),
    S("notifications", "base_url", _url(), "",
      "Resonance's own address for the links in messages, e.g. https://resonance.example; without it, no links.",
      label="Resonance's address for links"),
    S("notifications", "events", StringList(choices=NOTIFICATION_EVENTS), list(NOTIFICATION_EVENTS),
      "What sends a message: new_suggestions (one digest per run and member), album_ready (in the library, or "
      "downloaded), album_given_up, job_failing, credentials_rejected. Leave one out to switch it off.",
      label="Events that send a message"),
    S("notifications", "quiet_hours",
      Text(max_length=20, validate=_quiet_hours, metadata={"pattern": QUIET_HOURS_PATTERN}), "",
      'HH:MM-HH:MM in the household\'s time zone (TZ), e.g. "22:00-07:00": messages wait until it ends. '
      "Empty: none.", label="Quiet hours"),
    S("notifications", "failing_runs", _int(1, 100), 3, "A job failing this many runs in a row sends a message.",
      label="Failed runs in a row before a message"),
    S("notifications", "timeout", _int(1, 120), 10,
      "Seconds one delivery may take to connect, and again to be answered; it is not tried again.",
      label="Delivery timeout (seconds)"),
)
del S

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}
SECTIONS = tuple(dict.fromkeys(s.section for s in SETTINGS))


def _check(setting: Setting, value: Any, origin: str) -> tuple[Any, str | None]:
    try:
        return setting.field.deserialize(value), None
    except ValidationError as exc:
        if isinstance(setting.field, MemberList):  # one line per member problem, each naming its entry
            return None, "\n".join(f"{setting.section}.{message} [from {origin}]" if message.startswith("members[")
                                   else f"{setting.name}: {message} [from {origin}]"
                                   for message in validation_messages(exc))
        shown = "" if setting.secret else f" (got {value!r})"
        return None, f"{setting.name}: {' '.join(validation_messages(exc))}{shown} [from {origin}]"


# --- the settings object ------------------------------------------------------


@dataclass
class Settings:
    values: dict[str, Any]  # "section.key" -> value
    sources: dict[str, str] = dataclass_field(default_factory=dict)  # "section.key" -> default|file|ui|env:NAME
    config_path: Path | None = None

    def __getattr__(self, section: str) -> SimpleNamespace:
        if section not in SECTIONS:
            raise AttributeError(section)
        return SimpleNamespace(**{s.key: self.values[s.name] for s in SETTINGS if s.section == section})

    def get(self, name: str) -> Any:
        return self.values[name]

    def source(self, name: str) -> str:
        return self.sources.get(name, "default")

    def from_env(self, name: str) -> bool:
        return self.source(name).startswith("env:")

    def secret_values(self) -> list[str]:
        found: list[str] = []
        for s in SETTINGS:
            value = self.values[s.name]
            if not s.secret or not value or s.name == "household.members":
                continue
            if isinstance(s.field, NotificationUrls):  # a log line may quote only a URL's token or topic
                found += [part for url in value for part in notification_url_secrets(url)]
            elif isinstance(value, (list, tuple)):
                found += [str(item) for item in value]
            else:
                found.append(str(value))
        for member in self.values.get("household.members") or []:
            for key in MEMBER_SECRET_KEYS:
                entry = member.get(key)
                if key == "notify":
                    found += [part for url in entry or () for part in notification_url_secrets(url)]
                else:
                    found += [str(v) for v in entry if v] if isinstance(entry, list) else [str(entry)] if entry else []
        return found

    def redacted(self) -> dict[str, dict[str, Any]]:
        """Section -> key -> value, with secrets shown only as set (MASK) or unset ("")."""
        result: dict[str, dict[str, Any]] = {}
        for s in SETTINGS:
            value = self.values[s.name]
            if isinstance(s.field, MemberList):
                value = [masked_member(member) for member in value]
            result.setdefault(s.section, {})[s.key] = (MASK if value else "") if s.secret else value
        return result


def masked_member(member: Mapping[str, Any]) -> dict[str, Any]:
    """A member as settings show it: secrets as set (MASK) or unset (""); a notify URL as its scheme only."""
    shown = dict(member)
    for key in MEMBER_SECRET_KEYS:
        if key == "notify":
            shown[key] = [f"{url.partition('://')[0]}://{MASK}" for url in member.get(key) or []]
        else:
            shown[key] = MASK if member.get(key) else ""
    return shown


def _env_value(setting: Setting, env: Mapping[str, str]) -> tuple[str, str] | None:
    for name in setting.env_names:
        if name in env:
            return env[name], f"env:{name}"
        file_name = f"{name}_FILE"
        if file_name in env:
            try:
                return Path(env[file_name]).read_text(encoding="utf-8").strip(), f"env:{file_name}"
            except OSError as exc:
                raise ConfigError([f"{setting.name}: cannot read {env[file_name]} named by {file_name}: {exc.strerror}"])
    return None


def _unknown_env_names(env: Mapping[str, str]) -> list[str]:
    known = {name for s in SETTINGS for name in s.env_names}
    known |= {f"{name}_FILE" for name in known}
    return sorted(
        f"{name}: not a Resonance setting"
        for name in env
        if name.startswith(ENV_PREFIX) and "__" in name and name not in known
    )


def read_config_file(path: Path) -> dict[str, dict[str, Any]]:
    """The YAML file as section -> key -> value; missing file = empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: not valid YAML: nested too deeply"]) from None
    except ValueError:  # Python's limit on the digits of an integer (4300)
        raise ConfigError([f"{path}: not valid YAML: a number is too long"]) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError([f"{path}: expected sections (general:, web:, ...) each holding key: value lines"])
    return data


def _layer_errors(layer: Mapping[str, Any], origin: str) -> list[str]:
    errors = []
    for section, values in layer.items():
        for key in values or {}:
            if f"{section}.{key}" not in SETTINGS_BY_NAME:
                errors.append(f"{section}.{key}: not a Resonance setting [from {origin}]")
    return errors


def load_settings(saved: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings; ``saved`` is what the web UI stored (repository.saved_settings())."""
    env = os.environ if env is None else env
    path = Path(env.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)
    file_layer = read_config_file(path)
    saved = saved or {}
    errors = _layer_errors(file_layer, str(path)) + _layer_errors(saved, "settings saved in the web UI")
    errors += _unknown_env_names(env)
    values, sources = {}, {}
    for setting in SETTINGS:
        candidates = [(setting.default, "default")]
        if setting.key in file_layer.get(setting.section, {}) or {}:
            candidates.append((file_layer[setting.section][setting.key], str(path)))
        if setting.key in saved.get(setting.section, {}) and not setting.file_only:
            candidates.append((saved[setting.section][setting.key], "web UI"))
        from_env = _env_value(setting, env)
        if from_env:
            candidates.append(from_env)
        raw, origin = candidates[-1]
        value, error = _check(setting, raw, origin)
        if error:
            errors += error.splitlines()  # one line per problem (a member list can have several)
            continue
        values[setting.name] = value
        sources[setting.name] = {"default": "default", "web UI": "ui"}.get(origin, origin if origin.startswith("env:") else "file")
    if errors:
        raise ConfigError(errors)
    return Settings(values, sources, path)


def validate_changes(changes: Mapping[str, Mapping[str, Any]], current: Settings) -> tuple[dict, dict]:
    """Check changes from the web UI/API: (clean section->key->value, errors "section.key"->[messages]).

    A blank secret keeps the current value; settings fixed by the environment cannot change.
    """
    clean: dict[str, dict[str, Any]] = {}
    errors: dict[str, list[str]] = {}
    for section, values in changes.items():
        for key, raw in (values or {}).items():
            name = f"{section}.{key}"
            setting = SETTINGS_BY_NAME.get(name)
            if setting is None:
                errors[name] = ["Not a Resonance setting."]
                continue
            if setting.file_only:
                errors[name] = ["Set in the config file (or the environment), not here."]
                continue
            if setting.secret and (raw is None or (isinstance(raw, str) and strip_blanks(raw) in ("", MASK))):
                continue
            if current.from_env(name):
                errors[name] = [f"Set by the environment variable {current.source(name)[4:]}; change it there."]
                continue
            try:
                clean.setdefault(section, {})[key] = setting.field.deserialize(raw)
            except ValidationError as exc:
                errors[name] = validation_messages(exc)
    return clean, errors


def example_config() -> str:
    """config.example.yaml: every key with its default and help."""
    lines = ["# Resonance settings: every key with its default. See docs/configuration.md.", ""]
    for section in SECTIONS:
        lines.append(f"{section}:")
        for s in (s for s in SETTINGS if s.section == section):
            lines.append(f"  # {s.help}" + (" (secret)" if s.secret else ""))
            lines.append(f"  {s.key}: {yaml.safe_dump(s.default, default_flow_style=True, allow_unicode=True).strip().removesuffix('...').strip()}")
        lines.append("")
    return "\n".join(lines)


def configuration_reference() -> str:
    """The settings table of docs/configuration.md (kept in step with SETTINGS by a test)."""
    rows = []
    for section in SECTIONS:
        rows.append(f"\n### `{section}`\n")
        rows.append("| key | default | environment | meaning |")
        rows.append("|---|---|---|---|")
        for s in (s for s in SETTINGS if s.section == section):
            default = s.default if not isinstance(s.default, list) else ", ".join(s.default) or "(none)"
            default = "(empty)" if default == "" else default
            env = "<br>".join(f"`{name}`" for name in s.env_names)
            secret = " Secret: never shown or logged." if s.secret else ""
            rows.append(f"| `{s.key}` | `{default}` | {env} | *{s.title}*: {s.help}{secret} |")
    return "\n".join(rows) + "\n"
