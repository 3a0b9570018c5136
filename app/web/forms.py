"""Page forms loaded through the API's schemas: the same rules, limits and messages as the API."""

from __future__ import annotations

from flask import request
from marshmallow import Schema, ValidationError, fields

from app.web.errors import Problem


class FormInvalid(Problem):
    """A page form with wrong fields: a 400 whose message names each field as the page labels it.

    ``errors`` (field -> messages) lets a page re-render its form with each message by its field.
    """

    def __init__(self, errors: dict, labels: dict[str, str]):
        message = " ".join(f"{labels.get(field, field)}: {' '.join(map(str, messages))}"
                           for field, messages in errors.items())
        super().__init__(400, message, details=errors)
        self.errors = errors


def form_values(schema: Schema, labels: dict[str, str] | None = None) -> dict:
    """This request's form fields that ``schema`` knows, loaded through it (the CSRF token, ``next``… left out)."""
    form = request.form
    values = {name: form[name] for name in schema.load_fields if name in form}
    for name, field in schema.load_fields.items():
        # A form sends text: a ticked checkbox ("1", "on") is the true that the API takes as JSON.
        if name in values and isinstance(field, fields.Boolean):
            values[name] = values[name] in ("1", "on", "true")
    try:
        return schema.load(values)
    except ValidationError as exc:
        raise FormInvalid(exc.messages, labels or {}) from None
