"""Small helpers for text shown to people: job summaries, pages, messages."""

from __future__ import annotations


def count_of(number: int, noun: str, plural: str | None = None) -> str:
    """``3 files``, ``1 file``; ``plural`` for nouns that do not just take an s (``entries``)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
