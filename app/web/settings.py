"""The settings form: grouped by service, env-fixed values read-only, secrets masked.

Only values that differ from the current ones are saved (a value saved from
the UI overrides the config file, so saving every default would pin it). A
password typed here is stored as a hash. "Test connection" uses the saved
settings with the form's values on top, without saving them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Blueprint, current_app, g, render_template, request
from marshmallow import fields, validate
from werkzeug.security import generate_password_hash

from app import household
from app.config import (
    MASK,
    SECTIONS,
    SETTINGS,
    Duration,
    Setting,
    Settings,
    StringList,
    validate_changes,
)
from app.web import connection_checks
from app.web.auth import admin_only, any_api_key, any_password_account, from_trusted_proxy
from app.web.context import (
    is_htmx,
    load_request_settings,
    render,
    repository,
    see_other,
    settings,
)
from app.web.errors import Problem
from app.web.present import duration_text

bp = Blueprint("settings", __name__)

SECTION_TITLES = {
    "general": "General", "web": "Web UI and sign-in", "schedule": "Schedules", "listenbrainz": "ListenBrainz",
    "musicbrainz": "MusicBrainz", "coverart": "Cover Art Archive", "lastfm": "Last.fm",
    "subsonic": "Subsonic / Navidrome", "catalog": "Catalog discovery", "slskd": "slskd downloads",
    "previews": "Previews",
}
#: The page's order: the four services a person connects first, how albums are found and fetched,
#: then any other section, and the web server and sign-in details last.
SERVICES = ("listenbrainz", "lastfm", "subsonic", "slskd")
PAGE_ORDER = SERVICES + ("general", "catalog", "previews", "schedule", "musicbrainz", "coverart")
LAST = ("web",)
#: Per section, what a person sets to connect it; the rest sits under "More settings".
ESSENTIAL = {
    "listenbrainz": ("username", "token"),
    "lastfm": ("api_key",),
    "subsonic": ("base_url", "username", "password"),
    "slskd": ("base_url", "api_key"),
    "general": ("approval_mode", "contact"),
    "web": ("auth", "username", "password", "password_hash", "api_key"),
}
#: Secrets a person never types: shown as set or not, with a way to replace them where that helps.
NOT_TYPED = {"web.secret_key", "web.password_hash"}
RESTART_NEEDED = {"web.host", "web.port", "web.workers", "web.threads"}


@dataclass
class FieldView:
    setting: Setting
    kind: str  # text, number, select, checkbox, password
    value: str
    options: tuple[str, ...] = ()
    step: str | None = None
    fixed_by: str | None = None  # the environment variable that sets it
    source: str = "default"
    errors: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.setting.name

    @property
    def is_set(self) -> bool:
        return self.value == MASK

    @property
    def label(self) -> str:
        return self.setting.title

    @property
    def html_id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    @property
    def essential(self) -> bool:
        return self.setting.key in ESSENTIAL.get(self.setting.section, ())


def _choices(field: fields.Field) -> tuple[str, ...]:
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return tuple(validator.choices)
    return ()


def display_value(setting: Setting, value) -> str:
    if setting.secret:
        return MASK if value else ""
    if isinstance(setting.field, Duration):
        return duration_text(value)
    if isinstance(setting.field, StringList):
        return ", ".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def field_view(setting: Setting, current: Settings, raw: dict, errors: dict) -> FieldView:
    field = setting.field
    value = display_value(setting, current.get(setting.name))
    if setting.name == "web.secret_key" and g.get("secret_key"):
        value = MASK  # generated and saved at the first request, maybe after these settings were read
    if setting.name in raw and not setting.secret:
        value = str(raw[setting.name])  # show what was typed when the form comes back with errors
    kind, options, step = "text", _choices(field), None
    if setting.name in NOT_TYPED:
        kind = "status"
    elif setting.secret:
        kind = "password"
    elif options:
        kind = "select"
    elif isinstance(field, fields.Boolean):
        kind = "checkbox"
    elif isinstance(field, fields.Integer):
        kind, step = "number", "1"
    elif isinstance(field, fields.Float):
        kind, step = "number", "any"
    source = current.source(setting.name)
    return FieldView(setting, kind, value, options, step, source[4:] if source.startswith("env:") else None,
                     source, tuple(errors.get(setting.name, ())))


def page_order() -> list[str]:
    """Every section in the page's order; one this module does not know goes before the web's."""
    known = [name for name in PAGE_ORDER if name in SECTIONS]
    others = [name for name in SECTIONS if name not in PAGE_ORDER and name not in LAST]
    return known + others + [name for name in LAST if name in SECTIONS]


def section_view(section: str, current: Settings, raw: dict | None = None, errors: dict | None = None) -> dict:
    raw, errors = raw or {}, errors or {}
    views = [field_view(s, current, raw, errors) for s in SETTINGS if s.section == section and not s.file_only]
    has_essentials = any(view.essential for view in views)
    essential = [view for view in views if view.essential or not has_essentials]
    more = [view for view in views if view not in essential]
    return {"name": section, "title": SECTION_TITLES.get(section, section.replace("_", " ").capitalize()),
            "service": section in SERVICES, "fields": views, "essential": essential, "more": more,
            "more_open": any(view.errors for view in more), "testable": section in connection_checks.CHECKS}


def form_sections(current: Settings, raw: dict | None = None, errors: dict | None = None) -> list[dict]:
    """The editable settings by section (file-only ones, such as the household, are shown on their own)."""
    sections = [section_view(section, current, raw, errors) for section in page_order()]
    return [section for section in sections if section["fields"]]


def first_error(sections: list[dict]) -> str | None:
    """The field the page puts the focus on: the first with an error, in the page's order."""
    for section in sections:
        for view in section["essential"] + section["more"]:
            if view.errors:
                return view.name
    return None


def household_view(current: Settings) -> dict:
    """The household as the settings page shows it: read-only, secrets masked."""
    listed = bool(current.get("household.members"))
    return {"members": household.members(current), "listed": listed,
            "source": current.source("household.members"), "config_path": current.config_path}


def member_sign_in(member: household.Member) -> str:
    """How a member can sign in, without a secret: "password set, API key set, proxy user bob"."""
    ways = ["password set"] if member.password_hash or member.password else []
    ways += ["API key set"] if member.api_key else []
    return ", ".join([*ways, f"proxy user {member.proxy_name}"])


def changes_from_form(form, current: Settings, sections: tuple[str, ...] = SECTIONS) -> dict[str, dict]:
    """section -> key -> raw text for every editable field the form sent."""
    changes: dict[str, dict] = {}
    for setting in SETTINGS:
        if setting.file_only or setting.section not in sections or current.from_env(setting.name) \
                or setting.name not in form:
            continue
        values = form.getlist(setting.name)
        changes.setdefault(setting.section, {})[setting.key] = values[-1]  # a checkbox comes after its hidden "false"
    return changes


def apply_changes(raw_changes: dict, current: Settings, clear: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """Validate and save; (what was saved, errors "section.key" -> messages). Nothing is saved on errors."""
    if not isinstance(raw_changes, dict) or not all(isinstance(v, dict) for v in raw_changes.values()):
        raise Problem(400, "Send settings as {section: {key: value}}.")
    clean, errors = validate_changes(raw_changes, current)
    web_changes = clean.get("web", {})
    if "password" in web_changes and current.from_env("web.password_hash"):
        errors["web.password"] = ["web.password_hash is set by the environment; change the password there."]
    if not errors and web_changes:
        errors.update(lockout_errors(clean, current))
    if errors:
        return {}, errors
    changes: dict[str, dict] = {}
    for section, values in clean.items():
        for key, value in values.items():
            if value != current.get(f"{section}.{key}"):
                changes.setdefault(section, {})[key] = value
    if "password" in changes.get("web", {}):
        # Kept as a hash, never as the text typed.
        changes["web"]["password_hash"] = generate_password_hash(changes["web"].pop("password"))
        changes["web"]["password"] = None
    for name in clear:
        section, _, key = name.partition(".")
        setting = next((s for s in SETTINGS if s.name == name and s.secret), None)
        if setting and not current.from_env(name):
            changes.setdefault(section, {})[key] = None
    if changes:
        repository().save_settings(changes)
        current_app.extensions["settings_cache"].forget()
    return changes, {}


def lockout_errors(clean: dict, current: Settings) -> dict:
    """Refuse sign-in changes that would shut out the person making them (scripts with the key excepted)."""
    if g.get("auth_method") == "api_key":
        return {}
    values = dict(current.values)
    values.update({f"{section}.{key}": value for section, vs in clean.items() for key, value in vs.items()})
    web = Settings(values, current.sources, current.config_path).web
    if web.auth == "proxy" and not (from_trusted_proxy(web) and request.headers.get(web.proxy_user_header)):
        return {"web.auth": ["This request did not come through a trusted proxy with a signed-in user "
                             "(web.trusted_proxies, web.proxy_user_header): switching would lock you out."]}
    changed = Settings(values, current.sources, current.config_path)
    if web.auth in ("basic", "api_key") and not any_password_account(changed) and not any_api_key(changed):
        return {"web.auth": ["Set web.username and a password (or an API key) first."]}
    return {}


def _page(status: int = 200, raw: dict | None = None, errors: dict | None = None, **context):
    sections = form_sections(settings(), raw, errors)
    return render("pages/settings.html", "partials/settings_form.html", status=status,
                  sections=sections, errors=errors or {}, first_error=first_error(sections),
                  labels={s.name: s.title for s in SETTINGS},
                  household=household_view(settings()), member_sign_in=member_sign_in,
                  restart_needed=RESTART_NEEDED, **context)


@bp.get("/settings")
def index():
    changed = [name for name in request.args.getlist("changed") if name in {s.name for s in SETTINGS}]
    return _page(saved=request.args.get("saved") == "1", changed=changed)


@bp.post("/settings")
@admin_only
def save():
    current = settings()
    raw_changes = changes_from_form(request.form, current)
    changes, errors = apply_changes(raw_changes, current, tuple(request.form.getlist("clear")))
    if errors:
        flat = {f"{section}.{key}": value for section, values in raw_changes.items() for key, value in values.items()}
        return _page(422, raw=flat, errors=errors)
    if is_htmx():
        load_request_settings()  # show what was just saved
        return _page(saved=True, changed=sorted(f"{s}.{k}" for s, v in changes.items() for k in v))
    return see_other("/settings", saved="1", changed=sorted(f"{s}.{k}" for s, v in changes.items() for k in v))


@bp.post("/settings/secret-key")
@admin_only
def new_secret_key():
    """Replace web.secret_key: the pages' signed tokens change with it, so the page is loaded anew."""
    if settings().from_env("web.secret_key"):
        raise Problem(409, f"web.secret_key is set by {settings().source('web.secret_key')[4:]}; change it there.")
    repository().save_settings({"web": {"secret_key": secrets.token_urlsafe(32)}})
    current_app.extensions["settings_cache"].forget()
    if is_htmx():  # the page's CSRF token is signed with the old key: a full load, not a swap
        return "", 204, {"HX-Redirect": "/settings?saved=1&changed=web.secret_key"}
    return see_other("/settings", saved="1", changed="web.secret_key")


def check_connection(service: str, form) -> tuple[bool, str]:
    """(ok, message) of the service's connection test with the form's values on top of the saved ones."""
    if service not in connection_checks.CHECKS:
        raise Problem(404, f"There is no connection test for {service}.")
    current = settings()
    raw_changes = changes_from_form(form, current, (service, "general"))
    clean, errors = validate_changes(raw_changes, current)
    if errors:
        return False, "Fix the highlighted values first: " + ", ".join(sorted(errors))
    values = dict(current.values)
    for section, section_values in clean.items():
        for key, value in section_values.items():
            values[f"{section}.{key}"] = value
    return connection_checks.run_check(service, Settings(values, current.sources, current.config_path))


@bp.post("/settings/test/<service>")
@admin_only
def test_connection(service: str):
    ok, message = check_connection(service, request.form)
    if is_htmx():
        return render_template("partials/connection_result.html", service=service, ok=ok, message=message)
    return _page(tested={"service": service, "ok": ok, "message": message})
