"""/api/v1/openapi.json, generated from the routes and the marshmallow schemas on them.

The schemas that load a request and dump an answer are the ones documented, so the
two cannot drift apart. What apispec cannot read from a field by itself is added
here from the same definitions the field checks against:

- text fields (app.fields): the characters they refuse, as a ``pattern``;
- settings (app.config.SETTINGS): the JSON type each takes and returns, a duration's
  two forms, a secret's mask;
- rules between fields (a schema's ``openapi_shape``, e.g. a ``oneOf`` of two objects);
- every status a route can answer, with the error body.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import fields, validate

from app import __version__
from app.config import _DURATION_UNITS, MASK, MAX_DURATION, MEMBER_KEYS, Duration, MemberList, StringList
from app.fields import Name, Secret, Text
from app.text import CONTROL_CHARACTERS
from app.web.api.schemas import ErrorSchema, SettingShown, SettingValue
from app.web.jobs import job_names

_PATH_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

DESCRIPTION = """Resonance's JSON API. Sign in as configured by `web.auth`: HTTP Basic,
`Authorization: Bearer KEY` or `X-API-Key: KEY`, or through the trusted reverse proxy.
Requests that change something send JSON (`Content-Type: application/json`).
Errors always have the shape `{"error": {"code", "message", "details"}}`; a 400 gives
the field messages in `details` (`{"field": ["message"]}`).

Stability: within `/api/v1` a field or route is never removed or renamed and a field never
changes type; new optional request fields, new answer fields and new routes may appear, so
clients must ignore fields they do not know."""

# Why each status can happen, for every route it applies to (see _statuses).
STATUS_TEXT = {
    400: "Invalid input: the body is not JSON, or a field is wrong (details: field -> messages)",
    401: "Not signed in, or wrong credentials",
    403: "Refused: a cross-site request, auth none asked by another host name, a proxy sign-in not from a "
         "trusted proxy, or no credentials configured yet (code setup_required)",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The body is larger than 1 MiB",
    415: "The body is not sent as application/json",
    422: "Valid input that cannot be carried out",
    429: "Too many failed sign-ins from this address; credentials are not checked until then",
    503: "The data folder cannot be written (disk full, read-only), or the settings are wrong",
}


# --- what a text field refuses, as a pattern -----------------------------------------------


def _char_class(chars: set[str]) -> str:
    """``chars`` as the inside of a regex character class, with \\u escapes (same in Python and JavaScript)."""
    codes = sorted(ord(c) for c in chars)
    parts, start = [], None
    for i, code in enumerate(codes):
        start = code if start is None else start
        if i + 1 == len(codes) or codes[i + 1] != code + 1:
            parts.append(f"\\u{start:04x}" + (f"-\\u{code:04x}" if code != start else ""))
            start = None
    return "".join(parts)


@lru_cache(maxsize=1)
def _classes() -> tuple[str, str, str]:
    """(control characters, the same without the newline, blanks str.strip() removes besides them)."""
    control = re.compile(f"[{CONTROL_CHARACTERS}]")
    bmp = [chr(code) for code in range(0xD800)] + [chr(code) for code in range(0xE000, 0x10000)]
    controls = {c for c in bmp if control.match(c)}
    blanks = {c for c in bmp if c.isspace()} - controls
    return _char_class(controls), _char_class(controls - {"\n"}), _char_class(blanks)


def text_pattern(field: Text) -> str:
    controls, controls_but_newline, blanks = _classes()
    if isinstance(field, Secret):  # blanks and control characters around it are trimmed; none inside
        return f"^[{controls}{blanks}]*[^{controls}]*[{controls}{blanks}]*$"
    if isinstance(field, Name) or getattr(field, "not_blank", False):
        return f"^[^{controls}]*[^{controls}{blanks}][^{controls}]*$"
    return f"^[^{controls_but_newline if field.multiline else controls}]*$"


def duration_pattern() -> str:
    """The text forms of a duration that are always within one second to MAX_DURATION: a number of one
    unit with fewer digits than the unit's maximum has ("6h", "90m", "3600")."""
    forms = []
    for unit, seconds in _DURATION_UNITS.items():
        digits = len(str(MAX_DURATION // seconds)) - 1
        forms.append(f"[1-9][0-9]{{0,{digits - 1}}}{unit}" + ("?" if unit == "s" else ""))
    return f"^({'|'.join(forms)})$"


def _text_rules(self, field, **kwargs) -> dict:
    if isinstance(field, Text) and "pattern" not in field.metadata:
        return {"pattern": text_pattern(field)}
    return {}


# --- settings: what each takes and returns ----------------------------------------------------


def _setting_taken(self, field, **kwargs) -> dict:
    if not isinstance(field, SettingValue):
        return {}
    setting, inner = field.setting, field.setting.field
    if isinstance(inner, Duration):
        shape = {"oneOf": [{"type": "integer", "minimum": 1, "maximum": MAX_DURATION},
                           {"type": "string", "pattern": duration_pattern()}]}
        note = ' Seconds, or text with a unit: "90s", "30m", "6h", "7d", "1w" (answers give seconds).'
    elif isinstance(inner, StringList):
        item = {"type": "string", "maxLength": inner.metadata.get("item_max_length", 200)}
        if inner.choices:
            item["enum"] = list(inner.choices)
        else:
            # an entry is never blank (a list with one is refused; only comma-separated text may have gaps)
            item["pattern"] = inner.metadata.get("item_pattern") or text_pattern(Name())
        shape, note = {"type": "array", "maxItems": 100, "items": item}, ""
    else:
        shape = {key: value for key, value in self.field2property(inner).items() if key not in ("default",)}
        note = ""
    shape["description"] = field.metadata["description"] + note
    if setting.secret:
        shape["nullable"] = True
    return shape


def _setting_shown(self, field, **kwargs) -> dict:
    if not isinstance(field, SettingShown):
        return {}
    setting, inner = field.setting, field.setting.field
    description = field.metadata["description"]
    if setting.secret:
        return {"type": "string", "enum": ["", MASK], "description": description + " Shown only as set or empty."}
    if isinstance(inner, Duration):
        return {"type": "integer", "minimum": 1, "description": description + " In seconds."}
    if isinstance(inner, StringList):
        return {"type": "array", "items": {"type": "string"}, "description": description}
    if isinstance(inner, MemberList):
        member = {key: ({"type": "array", "items": {"type": "string"}} if key == "notify" else {"type": "string"})
                  for key in MEMBER_KEYS}
        return {"type": "array", "items": {"type": "object", "properties": member},
                "description": description + " Secrets shown only as set or empty; notify URLs as their scheme."}
    if isinstance(inner, fields.Boolean):
        return {"type": "boolean", "description": description}
    if isinstance(inner, fields.Integer):
        return {"type": "integer", "description": description}
    if isinstance(inner, fields.Float):
        return {"type": "number", "description": description}
    choices = [v.choices for v in inner.validators if isinstance(v, validate.OneOf)]
    return {"type": "string", **({"enum": list(choices[0])} if choices else {}), "description": description}


# --- the document --------------------------------------------------------------------------------


def _schema_name(resolver_schema) -> str:
    cls = resolver_schema if isinstance(resolver_schema, type) else type(resolver_schema)
    name = cls.__name__
    return name[:-6] if name.endswith("Schema") and name != "Schema" else name


def _error(status: int) -> dict:
    return {"description": STATUS_TEXT.get(status, "Error"), "content": {"application/json": {"schema": ErrorSchema}}}


def _statuses(meta: dict, method: str, has_path_params: bool) -> dict[int, dict]:
    """The refusals a route can answer besides its own: from the steps every request goes through."""
    statuses = {503: _error(503)}
    if not meta["public"]:
        statuses.update({401: _error(401), 403: _error(403), 429: _error(429)})
        statuses[429]["headers"] = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
    if meta["query"] or meta["body"]:
        statuses[400] = _error(400)
    if method in ("POST", "PATCH", "PUT", "DELETE"):
        statuses.update({400: _error(400), 413: _error(413), 415: _error(415)})
    if has_path_params:
        statuses[404] = _error(404)
    return statuses


def openapi_document(app: Flask) -> dict:
    cached = app.extensions.get("openapi")
    if cached is not None:
        return cached
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(
        title="Resonance API", version=__version__, openapi_version="3.0.3",
        plugins=[plugin], info={"description": DESCRIPTION},
    )
    for rule_function in (_text_rules, _setting_taken, _setting_shown):
        plugin.converter.add_attribute_function(rule_function)
    for name, scheme in {
        "basic": {"type": "http", "scheme": "basic"},
        "bearer": {"type": "http", "scheme": "bearer"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }.items():
        spec.components.security_scheme(name, scheme)
    secured = [{"basic": []}, {"bearer": []}, {"apiKey": []}]
    shapes: dict[str, Callable[[dict], dict]] = {}  # schema name -> what states its rules between fields
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        meta = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if meta is None:
            continue
        path = _PATH_PARAM.sub(r"{\1}", rule.rule)
        path_params = _PATH_PARAM.findall(rule.rule)
        operations = {}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict = {"summary": meta["summary"], "tags": [meta["tag"]], "responses": {},
                               "operationId": rule.endpoint.removeprefix("api.")}
            if meta["description"]:
                operation["description"] = meta["description"]
            parameters = [{"in": "path", "name": name, "required": True, "schema": _path_schema(name)}
                          for name in path_params]
            if meta["query"]:
                parameters.append({"in": "query", "schema": meta["query"]})
            if parameters:
                operation["parameters"] = parameters
            if meta["body"]:
                operation["requestBody"] = {"required": True,
                                            "content": {"application/json": {"schema": meta["body"]}}}
                if hasattr(meta["body"], "openapi_shape"):
                    shapes[_schema_name(meta["body"])] = meta["body"].openapi_shape
            for status, schema in meta["responses"].items():
                operation["responses"][str(status)] = {
                    "description": STATUS_TEXT.get(status, "Error") if status >= 400 else "OK",
                    "content": {"application/json": {"schema": schema}},
                }
                if status < 300 and meta["links"]:
                    operation["responses"][str(status)]["links"] = meta["links"]
            if not meta["responses"]:
                operation["responses"]["200"] = {"description": "OK"}
            for status, response in _statuses(meta, method, bool(path_params)).items():
                operation["responses"].setdefault(str(status), response)
            operation["security"] = [] if meta["public"] else secured
            operations[method.lower()] = operation
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    for name, shape in shapes.items():
        schemas = document["components"]["schemas"]
        schemas[name] = shape(schemas[name])
    app.extensions["openapi"] = document
    return document


def _path_schema(name: str) -> dict:
    if name == "job":
        return {"type": "string", "enum": job_names()}
    return {"type": "string"}
