"""Small helpers for text shown to people: job summaries, pages, messages."""

from __future__ import annotations

import re

#: Control characters (Unicode's Cc: C0, DEL and C1) and the line and paragraph separators,
#: which browsers and JavaScript treat as line breaks: never part of a name or a secret.
CONTROL_CHARACTERS = "\x00-\x1f\x7f-\x9f\u2028\u2029"
_SURROUNDING_BLANKS = re.compile(f"^[\\s{CONTROL_CHARACTERS}]+|[\\s{CONTROL_CHARACTERS}]+$")


def strip_blanks(text: str) -> str:
    """``text`` without whitespace or control characters at either end."""
    return _SURROUNDING_BLANKS.sub("", text)


def count_of(number: int, noun: str, plural: str | None = None) -> str:
    """``3 files``, ``1 file``; ``plural`` for nouns that do not just take an s (``entries``)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
