"""The JSON API under /api/v1: queue, wishlist, downloads, jobs, settings, block list, health.

Handlers load their input through the marshmallow schemas in ``schemas``
(400 with the field messages when it is wrong), call the repository, and dump
their answer through a schema. The same schemas, attached to each handler by
``@doc``, generate /api/v1/openapi.json.
"""

from __future__ import annotations

import orjson
from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema, ValidationError

from app import __version__
from app.web.api import schemas as s
from app.web.context import repository
from app.web.errors import Problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def doc(summary: str, *, tag: str, query: type[Schema] | None = None, body: type[Schema] | None = None,
        responses: dict[int, type[Schema] | str] | None = None, public: bool = False, description: str = ""):
    """Attach what the OpenAPI document says about a handler."""

    def attach(view):
        view.openapi = {"summary": summary, "tag": tag, "query": query, "body": body, "public": public,
                        "responses": responses or {}, "description": description}
        return view

    return attach


def json_body(empty=None):
    """The request's JSON body (``empty`` when there is none); 400 when it cannot be read.

    The one place a body is parsed. orjson refuses what would break later: nesting
    deeper than 1024, lone surrogates ("\\ud800", which UTF-8 cannot store),
    NaN, numbers too large for a double, and bytes that are not UTF-8.
    """
    if not request.content_length:
        return empty
    if not request.is_json:
        raise Problem(400, "The body is not valid JSON.", details={"body": ["Send it as application/json."]})
    try:
        return orjson.loads(request.get_data(cache=True))
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "The body is not valid JSON.", details={"body": [str(exc)]}) from None


def load_body(schema: Schema) -> dict:
    data = json_body(empty={})
    if not isinstance(data, dict):
        raise Problem(400, "Send a JSON object.", details={"body": ["Not a JSON object."]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise Problem(400, "Invalid input.", details=exc.messages) from None


def load_json_object() -> dict:
    """A body checked only for its shape (settings are validated against the SETTINGS table)."""
    data = json_body()
    if not isinstance(data, dict):
        raise Problem(400, "Send a JSON object.")
    return data


def load_query(schema: Schema) -> dict:
    try:
        return schema.load(request.args.to_dict())
    except ValidationError as exc:
        raise Problem(400, "Invalid query parameters.", details=exc.messages) from None


def answer(schema: Schema, value, status: int = 200):
    response = jsonify(schema.dump(value))
    response.status_code = status
    return response


from app.web.api import downloads, views  # noqa: E402,F401  (routes register on bp)


@bp.get("/openapi.json")
@doc("This document", tag="meta", public=False)
def openapi():
    # apispec is loaded on the first request for the document, not in every worker at start.
    from app.web.api.openapi import openapi_document

    return jsonify(openapi_document(current_app))


@bp.get("/health")
@doc("Liveness: no auth, no secrets", tag="meta", responses={200: s.HealthSchema}, public=True)
def health():
    problems = [f"{path.name} was unreadable and moved aside" for path in repository().quarantined_files()]
    return answer(s.HealthSchema(), {"status": "ok", "version": __version__, "warnings": problems})

