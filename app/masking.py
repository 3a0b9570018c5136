"""Secrets out of messages: the one place that knows every form a secret takes in a text.

A secret reaches a message in more shapes than its own: stripped of a
trailing newline, escaped by ``repr`` or JSON (``\\n``, ``\\\\``, ``\\"``,
``\\u00e9``), HTML-escaped, or percent-encoded in a query string. Each form,
and each form escaped once more (a JSON text quoting a repr), is masked.
Matching ignores case, so ``%2f`` and ``%2F`` both go; masking a little more
than needed is the safe side. Secrets shorter than ``MIN_LENGTH`` are left
alone: masking every "ab" would wreck messages and hide nothing.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, quote_plus

from app.text import strip_blanks

MESSAGE_MASK = "***"
MIN_LENGTH = 4
_URI_SAFE = "!#$&'()*+,/:;=?@[]~"  # what requests leaves as it is in a URL it is given


def _json_inner(text: str, ensure_ascii: bool) -> str:
    return json.dumps(text, ensure_ascii=ensure_ascii)[1:-1]


_ESCAPES = (
    lambda s: repr(s)[1:-1],
    lambda s: ascii(s)[1:-1],
    lambda s: repr(s.encode("utf-8", "surrogatepass"))[2:-1],
    lambda s: s.encode("unicode_escape").decode("ascii"),
    lambda s: _json_inner(s, True),
    lambda s: _json_inner(s, False),
    lambda s: _json_inner(s, True).replace("/", "\\/"),
    lambda s: html.escape(s),
    lambda s: html.escape(s, quote=False),
    lambda s: quote(s, safe=""),
    lambda s: quote_plus(s, safe=""),
    lambda s: quote(s, safe=_URI_SAFE),
)


def _escaped(forms: set[str]) -> set[str]:
    result = set(forms)
    for form in forms:
        for escape in _ESCAPES:
            try:
                result.add(escape(form))
            except UnicodeError:  # a lone surrogate has no UTF-8 form to percent-encode
                pass
    return result


def secret_forms(secret: str) -> set[str]:
    """Every text the secret may show up as: itself, stripped, and escaped once or twice."""
    twice = _escaped(_escaped({secret, strip_blanks(secret)}))
    return {form for form in twice if len(form) >= MIN_LENGTH}


def _trie_regex(words: set[str]) -> str:
    """One alternation shaped as a trie: a few hundred forms cost about as much as one.

    Longer branches come first, so a form containing another is masked whole.
    """
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def walk(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(char) + walk(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and not ends else "(?:" + "|".join(branches) + ")"
        return body + ("?" if ends else "")

    return walk(trie)


@lru_cache(maxsize=32)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern | None:
    forms = {form.lower() for secret in secrets for form in secret_forms(secret)}
    return re.compile(_trie_regex(forms), re.IGNORECASE) if forms else None


def mask_secrets(text: str, secrets: Iterable[str | None], mask: str = MESSAGE_MASK) -> str:
    """``text`` with every form of every secret (of at least MIN_LENGTH characters) replaced by ``mask``."""
    usable = tuple(sorted({str(s) for s in secrets if s and len(strip_blanks(str(s))) >= MIN_LENGTH}))
    pattern = _pattern(usable) if usable else None
    return pattern.sub(mask, text) if pattern is not None else text
