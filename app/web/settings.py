"""The settings form: grouped by service, env-fixed values read-only, secrets masked.

Only values that differ from the current ones are saved (a value saved from
the UI overrides the config file, so saving every default would pin it). A
password typed here is stored as a hash. "Test connection" uses the saved
settings with the form's values on top, without saving them.
"""

from __future__ import annotations

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
}
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
    if setting.name in raw and not setting.secret:
        value = str(raw[setting.name])  # show what was typed when the form comes back with errors
    kind, options, step = "text", _choices(field), None
    if setting.secret:
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


def form_sections(current: Settings, raw: dict | None = None, errors: dict | None = None) -> list[dict]:
    """The editable settings by section (file-only ones, such as the household, are shown on their own)."""
    raw, errors = raw or {}, errors or {}
    sections = [
        {"name": section, "title": SECTION_TITLES.get(section, section),
         "fields": [field_view(s, current, raw, errors) for s in SETTINGS if s.section == section and not s.file_only],
         "testable": section in connection_checks.CHECKS}
        for section in SECTIONS
    ]
    return [section for section in sections if section["fields"]]


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
    return render("pages/settings.html", "partials/settings_form.html", status=status,
                  sections=form_sections(settings(), raw, errors), errors=errors or {},
                  household=household_view(settings()),
                  member_sign_in=member_sign_in,
                  restart_needed=RESTART_NEEDED, **context)


@bp.get("/settings")
def index():
    return _page(saved=request.args.get("saved") == "1")


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
    return see_other("/settings", saved="1")


@bp.post("/settings/test/<service>")
@admin_only
def test_connection(service: str):
    if service not in connection_checks.CHECKS:
        raise Problem(404, f"There is no connection test for {service}.")
    current = settings()
    raw_changes = changes_from_form(request.form, current, (service, "general"))
    clean, errors = validate_changes(raw_changes, current)
    if errors:
        ok, message = False, "Fix the highlighted values first: " + ", ".join(sorted(errors))
    else:
        values = dict(current.values)
        for section, section_values in clean.items():
            for key, value in section_values.items():
                values[f"{section}.{key}"] = value
        ok, message = connection_checks.run_check(service, Settings(values, current.sources, current.config_path))
    if is_htmx():
        return render_template("partials/connection_result.html", service=service, ok=ok, message=message)
    return _page(tested={"service": service, "ok": ok, "message": message})
