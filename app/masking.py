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
from dataclasses import dataclass
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


# --- notification URLs (Apprise) -----------------------------------------------
#
# An Apprise URL carries its secrets in every part: a password (mailto://bob:PASS@host),
# a token as the "host" (tgram://BOTTOKEN/chat, discord://WEBHOOK_ID/TOKEN), a token or
# topic as the path (json://host/hooks/TOKEN, ntfy://host/TOPIC: whoever knows the topic
# reads the messages), or a query value (?token=...). Shown, a URL keeps only what says
# where it goes: its scheme, a real host name or address, the port and a short user name.

URL_MASK = "***"
_SCHEME_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,31})://(?P<rest>.*)$", re.DOTALL)
_SHOWN_HOST = re.compile(  # localhost, an IPv4 or IPv6 address, a dotted name ending in a letter; a port
    r"^(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9-]+\.)+[A-Za-z][A-Za-z0-9-]*)"
    r"(?::\d{1,5})?$")
_SHOWN_USER = re.compile(r"^[A-Za-z0-9._-]{1,16}$")
#: Query keys whose values only tune delivery; every other value may be a secret.
_HARMLESS_QUERY_KEYS = {"format", "overflow", "cto", "rto", "priority", "mode", "method", "image", "verify",
                        "tags", "retry", "wait", "optional", "avatar", "tts", "batch", "footer", "silent"}


@dataclass(frozen=True)
class _UrlParts:
    scheme: str
    user: str
    password: str
    host: str
    path: str
    query: list[tuple[str, str]]


def _split_url(url: str) -> _UrlParts | None:
    match = _SCHEME_URL.match(url.strip())
    if not match:
        return None
    rest = match["rest"].partition("#")[0]
    rest, _, query = rest.partition("?")
    authority, _, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    user, _, password = userinfo.partition(":") if at else ("", "", "")
    pairs = [(key, value) for key, _, value in (part.partition("=") for part in query.split("&") if part)]
    return _UrlParts(match["scheme"], user, password, host, path, pairs)


def mask_notification_url(url: str) -> str:
    """An Apprise URL as it may be shown or logged: ``json://127.0.0.1:8090/***``,
    ``mailto://bob:***@example.com``, ``tgram://***/***``. Text that is no URL is masked whole."""
    parts = _split_url(url)
    if parts is None:
        return URL_MASK
    user = parts.user if _SHOWN_USER.match(parts.user or "-") else URL_MASK if parts.user else ""
    userinfo = f"{user}{':' + URL_MASK if parts.password else ''}@" if (parts.user or parts.password) else ""
    host = parts.host if _SHOWN_HOST.match(parts.host) else URL_MASK if parts.host else ""
    path = f"/{URL_MASK}" if parts.path.strip("/") else ""
    query = "&".join(f"{key}={value if key.lower() in _HARMLESS_QUERY_KEYS else URL_MASK}"
                     for key, value in parts.query)
    return f"{parts.scheme}://{userinfo}{host}{path}{'?' + query if query else ''}"


def notification_url_secrets(url: str) -> list[str]:
    """The secret parts of an Apprise URL (and the URL itself), for ``mask_secrets``: a log line
    that quotes only the token or the topic is masked too."""
    parts = _split_url(url)
    if parts is None:
        return [url]
    found = [url, parts.password, parts.path, *(segment for segment in parts.path.split("/") if len(segment) >= 8)]
    if not _SHOWN_USER.match(parts.user or "-"):
        found.append(parts.user)
    if not _SHOWN_HOST.match(parts.host):
        found.append(parts.host)
    found += [value for key, value in parts.query if key.lower() not in _HARMLESS_QUERY_KEYS]
    return [part for part in found if part]


def mask_notification_urls_in(text: str, urls: Iterable[str]) -> str:
    """``text`` with each URL shown masked and any other form of its secrets replaced by ``***``."""
    for url in sorted(urls, key=len, reverse=True):
        if url:
            text = text.replace(url, mask_notification_url(url))
    return mask_secrets(text, [secret for url in urls for secret in notification_url_secrets(url)])
