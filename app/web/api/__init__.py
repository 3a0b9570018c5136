"""The JSON API under /api/v1: queue, wishlist, downloads, jobs, settings, block list, health.

Handlers load their input through the marshmallow schemas in ``schemas``
(400 with the field messages when it is wrong), call the repository, and dump
their answer through a schema. The same schemas, attached to each handler by
``@doc``, generate /api/v1/openapi.json.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema, ValidationError

from app import __version__
from app.web.api import schemas as s
from app.web.context import repository
from app.web.errors import Problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def doc(summary: str, *, tag: str, query: type[Schema] | None = None, body: type[Schema] | None = None,
        responses: dict[int, type[Schema] | str] | None = None, public: bool = False, description: str = "",
        links: dict[str, dict] | None = None):
    """Attach what the OpenAPI document says about a handler.

    ``links``: OpenAPI links from its 2xx answer to the routes that act on what it lists
    (name -> {"operationId", "parameters" or "requestBody"}, with runtime expressions).
    """

    def attach(view):
        view.openapi = {"summary": summary, "tag": tag, "query": query, "body": body, "public": public,
                        "responses": responses or {}, "description": description, "links": links or {}}
        return view

    return attach


MAX_BODY_DEPTH = 20  # the deepest body the API takes is 3 levels: {"web": {"trusted_proxies": [...]}}


def json_body(empty=None):
    """The request's JSON body (``empty`` when there is none); a 400 when it cannot be taken.

    The one place a body is parsed: it refuses what is not JSON (bytes that are not
    UTF-8, NaN, Infinity), nesting deeper than MAX_BODY_DEPTH, and numbers with
    more digits than Python converts. Lone surrogates ("\\ud800") get through here
    and are refused by the field they are in, with its name (app.fields.Text).
    """
    if not request.content_length:
        return empty
    if not request.is_json:
        raise Problem(400, "The body is not valid JSON.", details={"body": ["Send it as application/json."]})
    too_deep = Problem(400, "The body is not valid JSON.",
                       details={"body": [f"Nested more than {MAX_BODY_DEPTH} levels deep."]})
    try:
        data = json.loads(request.get_data(cache=True), parse_constant=_not_json)
    except RecursionError:
        raise too_deep from None
    except UnicodeDecodeError:
        raise Problem(400, "The body is not valid JSON.", details={"body": ["Not UTF-8 text."]}) from None
    except (json.JSONDecodeError, NotJSON) as exc:
        raise Problem(400, "The body is not valid JSON.", details={"body": [str(exc)]}) from None
    except ValueError:  # Python's limit on the digits of an integer (4300)
        raise Problem(400, "The body is not valid JSON.", details={"body": ["A number is too long."]}) from None
    if _depth_over(data, MAX_BODY_DEPTH):
        raise too_deep
    return data


class NotJSON(ValueError):
    pass


def _not_json(constant: str):
    raise NotJSON(f"{constant} is not a JSON value.")


def _depth_over(data, limit: int) -> bool:
    """Whether lists and objects nest deeper than ``limit`` (without recursion)."""
    level = [data]
    for _ in range(limit):
        level = [child for value in level if isinstance(value, (list, dict))
                 for child in (value.values() if isinstance(value, dict) else value)]
        if not level:
            return False
    return any(isinstance(value, (list, dict)) for value in level)


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
@doc("Liveness: no auth, no secrets", tag="meta", responses={200: s.HealthSchema, 503: s.HealthSchema},
     public=True, description="503 with status `data_dir_not_writable` when a test write in the data "
     "folder fails (disk full, read-only, permission denied): the container then turns unhealthy.")
def health():
    problems = [f"{path.name} was unreadable and moved aside" for path in repository().quarantined_files()]
    storage = repository().write_problem()
    data_dir = {"writable": storage is None,
                "problem": f"the data folder is not writable: {storage.reason}" if storage else None}
    body = {"status": "ok" if storage is None else "data_dir_not_writable", "version": __version__,
            "warnings": problems, "data_dir": data_dir}
    return answer(s.HealthSchema(), body, status=200 if storage is None else 503)

