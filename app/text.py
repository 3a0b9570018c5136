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


_UNITS = ((604800, "week"), (86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))


def every_text(seconds) -> str:
    """An interval in words: "every hour", "every 6 hours", "every 1 hour 30 minutes"."""
    seconds = int(seconds or 0)
    if seconds <= 0:
        return "never on its own"
    parts = []
    for size, unit in _UNITS:
        if seconds >= size:
            parts.append(count_of(seconds // size, unit))
            seconds %= size
    if len(parts) == 1 and parts[0].startswith("1 "):
        return "every " + parts[0][2:]
    return "every " + " ".join(parts)
