"""/api/v1/openapi.json, generated from the routes and the marshmallow schemas on them."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from app import __version__
from app.web.api.schemas import ErrorSchema

_PATH_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

DESCRIPTION = """Resonance's JSON API. Sign in as configured by `web.auth`: HTTP Basic,
`Authorization: Bearer KEY` or `X-API-Key: KEY`, or through the trusted reverse proxy.
Requests that change something send JSON (`Content-Type: application/json`).
Errors always have the shape `{"error": {"code", "message", "details"}}`."""


def _schema_name(resolver_schema) -> str:
    cls = resolver_schema if isinstance(resolver_schema, type) else type(resolver_schema)
    name = cls.__name__
    return name[:-6] if name.endswith("Schema") and name != "Schema" else name


def openapi_document(app: Flask) -> dict:
    cached = app.extensions.get("openapi")
    if cached is not None:
        return cached
    spec = APISpec(
        title="Resonance API", version=__version__, openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": DESCRIPTION},
    )
    for name, scheme in {
        "basic": {"type": "http", "scheme": "basic"},
        "bearer": {"type": "http", "scheme": "bearer"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }.items():
        spec.components.security_scheme(name, scheme)
    secured = [{"basic": []}, {"bearer": []}, {"apiKey": []}]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        meta = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if meta is None:
            continue
        path = _PATH_PARAM.sub(r"{\1}", rule.rule)
        operations = {}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict = {"summary": meta["summary"], "tags": [meta["tag"]], "responses": {},
                               "operationId": rule.endpoint.removeprefix("api.")}
            if meta["description"]:
                operation["description"] = meta["description"]
            parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                          for name in _PATH_PARAM.findall(rule.rule)]
            if meta["query"]:
                parameters.append({"in": "query", "schema": meta["query"]})
            if parameters:
                operation["parameters"] = parameters
            if meta["body"]:
                operation["requestBody"] = {"required": True,
                                            "content": {"application/json": {"schema": meta["body"]}}}
            for status, schema in meta["responses"].items():
                operation["responses"][str(status)] = {
                    "description": "Error" if status >= 400 else "OK",
                    "content": {"application/json": {"schema": schema}},
                }
            if not meta["responses"]:
                operation["responses"]["200"] = {"description": "OK"}
            if meta["public"]:
                operation["security"] = []
            else:
                operation["security"] = secured
                operation["responses"].setdefault("401", {"description": "Not signed in",
                                                          "content": {"application/json": {"schema": ErrorSchema}}})
                operation["responses"].setdefault("429", {
                    "description": "Too many failed sign-ins from this address; credentials are not checked until then",
                    "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
                    "content": {"application/json": {"schema": ErrorSchema}}})
            operations[method.lower()] = operation
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    app.extensions["openapi"] = document
    return document
