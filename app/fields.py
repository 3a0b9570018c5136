"""The rules every piece of input text and every number shares, as marshmallow fields.

The API schemas, the page forms, the settings and the records a discovery run
writes all load through these, so a value accepted in one place is accepted
everywhere and can be written to the data dir, logged and shown:

- text is valid Unicode (no lone surrogates such as ``"\\ud800"``, which JSON can
  carry but UTF-8 cannot store) with no control characters (tabs, NUL bytes,
  escape codes; a newline only where a field takes several lines);
- a name (artist, album, title) is such text, not blank, at most
  ``NAME_MAX_LENGTH`` characters;
- a whole number is 2, 2.0 or "2", never 2.5.
"""

from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate

from app.text import CONTROL_CHARACTERS, strip_blanks

NAME_MAX_LENGTH = 500

_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_CONTROL_BUT_NEWLINE = re.compile(f"(?!\n)[{CONTROL_CHARACTERS}]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is not acceptable text, or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Contains a character that is not valid text (a lone surrogate)."
    if (_CONTROL_BUT_NEWLINE if multiline else _CONTROL).search(value):
        return f"Contains a control character (a tab, {'' if multiline else 'a line break, '}a NUL byte…)."
    return None


class Text(fields.String):
    """Text under the rules above, ``min_length`` to ``max_length`` characters."""

    def __init__(self, *, max_length: int = 1000, min_length: int | None = None, multiline: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.multiline = multiline
        # A validator rather than a check in _deserialize, so the OpenAPI document shows the limits.
        self.validators.append(validate.Length(min=min_length, max=max_length))

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text, multiline=self.multiline)
        if problem:
            raise ValidationError(problem)
        return text


class Name(Text):
    """An artist, album or track name: text that is not blank, at most NAME_MAX_LENGTH characters."""

    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=NAME_MAX_LENGTH, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text and not text.strip():  # "" gets the Length message
            raise ValidationError("The name is empty.")
        return text


class WholeNumber(fields.Integer):
    """An integer: 2, 2.0, or "2" (text from a form, a YAML file or the environment); never 2.5."""

    def _validated(self, value):
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        if isinstance(value, str) and len(value.strip()) > 30:
            raise self.make_error("invalid")  # and never reaches int() with thousands of digits
        return super()._validated(value)


class Secret(Text):
    """A key, token or password: surrounding blanks are removed (a YAML ``|`` block ends
    in a newline); a control character inside is refused, and the value is never shown."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = strip_blanks(fields.String._deserialize(self, value, attr, data, **kwargs))
        problem = text_problem(text)
        if problem:
            raise ValidationError(f"{problem} A secret must be one line of visible characters.")
        return text


def validation_messages(error: ValidationError) -> list[str]:
    """A field's error messages as a list of text (marshmallow gives a list, or a dict for nested fields)."""
    return [str(message) for message in error.messages] if isinstance(error.messages, list) else [str(error.messages)]
